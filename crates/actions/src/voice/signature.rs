//! Retell's webhook signature: `x-retell-signature: v=<unix ms>,d=<hex>`,
//! where `d` is HMAC-SHA256 keyed with the API key of the account that
//! placed the call, over the raw body followed by the decimal timestamp
//! (as `retell-sdk`'s `webhook_auth` signs and verifies; golden values from
//! `scripts/retell-golden.py`). Accepted within five minutes of `now`,
//! compared in constant time.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signature's timestamp may be from now, either way.
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

/// Why a signature was refused (for the log; the caller only gets a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No `x-retell-signature` header.
    #[error("no signature")]
    Missing,
    /// Not `v=<digits>,d=<64 hex digits>`.
    #[error("malformed signature")]
    Malformed,
    /// Older or newer than [`WINDOW_MS`].
    #[error("signature outside the five-minute window")]
    Expired,
    /// The digest does not match.
    #[error("signature does not match")]
    Mismatch,
}

/// The timestamp and digest of a well-formed header.
pub fn parse(header: &str) -> Result<(i64, [u8; 32]), Refused> {
    let (v, d) = header.split_once(",d=").ok_or(Refused::Malformed)?;
    let v = v.strip_prefix("v=").ok_or(Refused::Malformed)?;
    if v.is_empty() || v.len() > 15 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refused::Malformed);
    }
    if d.len() != 64 || !d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Refused::Malformed);
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(d, &mut digest).map_err(|_| Refused::Malformed)?;
    Ok((v.parse().map_err(|_| Refused::Malformed)?, digest))
}

fn mac(key: &str, body: &[u8], ms: i64) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
    m.update(body);
    m.update(ms.to_string().as_bytes());
    m
}

/// The header Retell would send for `body` at `ms` (tests, tools).
pub fn sign(key: &str, body: &[u8], ms: i64) -> String {
    let d = mac(key, body, ms).finalize().into_bytes();
    format!("v={ms},d={}", hex::encode(d))
}

/// Whether `header` signs `body` with `key`, within the window of `now`.
pub fn verify(key: &str, body: &[u8], header: &str, now: DateTime<Utc>) -> Result<(), Refused> {
    let (ms, digest) = parse(header)?;
    // `abs_diff`: never an overflow, whatever the parsed time.
    if now.timestamp_millis().abs_diff(ms) > WINDOW_MS.unsigned_abs() {
        return Err(Refused::Expired);
    }
    // `verify_slice` compares in constant time.
    mac(key, body, ms)
        .verify_slice(&digest)
        .map_err(|_| Refused::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    /// Printed by `scripts/retell-golden.py` with retell-sdk 6.2.13
    /// (`retell.lib.webhook_auth.symmetric["sign"]`).
    #[test]
    fn golden_signatures_of_the_official_sdk() {
        let cases = [
            (
                "key_retell_golden_1",
                1_796_385_600_000,
                r#"{"event":"call_started","call":{"call_id":"call_golden_1","call_status":"ongoing"}}"#,
                "v=1796385600000,d=b93de1d47aa51ae44d71154c45913fe87d4b3a444747647a35f6724edd546122",
            ),
            (
                "key_retell_golden_2",
                1_796_385_612_345,
                "{\"event\":\"call_ended\",\"call\":{\"call_id\":\"c2\",\"transcript\":\"Agent: Grüß Gott\\nUser: ¡hola!\"}}",
                "v=1796385612345,d=14d8b415e3c9f1e632d3c732f46e1ce7dbb06c1eda60d2a20b7bbec67b1e49ac",
            ),
        ];
        for (key, ms, body, golden) in cases {
            assert_eq!(sign(key, body.as_bytes(), ms), golden);
            assert_eq!(verify(key, body.as_bytes(), golden, at(ms + 1000)), Ok(()));
        }
    }

    #[test]
    fn forged_expired_and_malformed_signatures_are_refused() {
        let body = br#"{"event":"call_ended"}"#;
        let ms = 1_800_000_000_000;
        let good = sign("k", body, ms);
        assert_eq!(verify("k", body, &good, at(ms + WINDOW_MS)), Ok(()));
        assert_eq!(
            verify("k", body, &good, at(ms + WINDOW_MS + 1)),
            Err(Refused::Expired)
        );
        assert_eq!(
            verify("k", body, &good, at(ms - WINDOW_MS - 1)),
            Err(Refused::Expired)
        );
        assert_eq!(verify("other", body, &good, at(ms)), Err(Refused::Mismatch));
        assert_eq!(
            verify("k", b"{\"event\":\"call_started\"}", &good, at(ms)),
            Err(Refused::Mismatch)
        );
        // The largest timestamp the header may hold (15 digits) is expired;
        // the ends of i64 are not timestamps at all.
        let header = sign("k", body, 999_999_999_999_999);
        assert_eq!(verify("k", body, &header, at(ms)), Err(Refused::Expired));
        for extreme in [i64::MIN, i64::MAX] {
            let header = sign("k", body, extreme);
            assert_eq!(verify("k", body, &header, at(ms)), Err(Refused::Malformed));
        }
        // The timestamp is signed: moving it breaks the digest.
        let moved = good.replace(&format!("v={ms}"), &format!("v={}", ms + 1));
        assert_eq!(verify("k", body, &moved, at(ms)), Err(Refused::Mismatch));
        for bad in [
            "",
            "v=1,d=zz",
            "d=00,v=1",
            &good.to_uppercase(),
            &format!("{good}0"),
        ] {
            assert_eq!(
                verify("k", body, bad, at(ms)),
                Err(Refused::Malformed),
                "{bad}"
            );
        }
    }
}

//! Bounces and complaints that arrive after delivery, from the relay or
//! mail provider, through `POST /api/webhooks/bounces`.
//!
//! A call is signed with its organization's webhook secret: the headers
//! name the organization and a Unix timestamp, and carry
//! `HMAC-SHA256(secret, "{timestamp}.{raw body}")` in hex. The signature is
//! checked before the body is even parsed, and a timestamp more than
//! [`TOLERANCE_SECS`] away from now is refused, so a captured call cannot be
//! replayed later. Whatever fails (no such organization, no secret, a bad
//! or old signature) is the same `Unauthenticated`: the caller learns
//! nothing about which.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use neuracrm_domain::{BounceType, Email, OrgId};
use neuracrm_store::campaigns::BounceOutcome;
use sha2::Sha256;

use crate::sessions::{hex, random};
use crate::{Access, ActionError, ActionResult, Caller, Crm};

/// How far a call's timestamp may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// A webhook call as received: what its headers say and its raw body.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The organization the call is for (a header).
    pub organization: Option<&'a str>,
    /// Unix seconds when it was signed (a header).
    pub timestamp: Option<&'a str>,
    /// The HMAC in hex, optionally prefixed `sha256=` (a header).
    pub signature: Option<&'a str>,
    /// The body exactly as received.
    pub body: &'a [u8],
}

/// Makes (or replaces) the organization's webhook secret and returns it:
/// the only time it is shown. Admins only; the old secret stops verifying
/// at once.
pub async fn rotate_secret(crm: &Crm, caller: &Caller) -> ActionResult<String> {
    caller.require(Access::Admins)?;
    let secret = format!("whsec_{}", hex(&random::<32>()?));
    crm.store
        .campaigns()
        .set_webhook_secret(caller.org, &secret)
        .await?;
    Ok(secret)
}

/// The signature `secret` makes of a call (for senders and tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex(&mac(secret, timestamp, body).finalize().into_bytes())
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(format!("{timestamp}.").as_bytes());
    m.update(body);
    m
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Verifies a call and applies its report: a hard bounce or a complaint
/// suppresses the address and marks the latest message sent to it
/// (`bounced`, or `complained_at`); a soft bounce counts and suppresses at
/// `soft_limit`. `Unauthenticated` unless the signature verifies (nothing
/// is read from the body before); 422 for a body that is not a report.
pub async fn receive(
    crm: &Crm,
    call: Signed<'_>,
    soft_limit: u32,
    now: DateTime<Utc>,
) -> ActionResult<BounceOutcome> {
    let org = verify(crm, call, now).await?;
    let (email, kind) = report(call.body)?;
    Ok(crm
        .store
        .campaigns()
        .bounce(org, email.as_str(), kind, soft_limit, now)
        .await?)
}

/// The report of a verified call: `{"email", "type": "hard" | "soft" |
/// "complaint"}`, each error naming its field.
fn report(body: &[u8]) -> ActionResult<(Email, BounceType)> {
    let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| ActionError::invalid("body", format!("not a JSON object: {e}")))?;
    if let Some(k) = v.keys().find(|k| !["email", "type"].contains(&k.as_str())) {
        return Err(ActionError::invalid(k.as_str(), "unknown field"));
    }
    let text = |f: &'static str| {
        v.get(f)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ActionError::invalid(f, "required, a string"))
    };
    let email = Email::parse(text("email")?)
        .map_err(|_| ActionError::invalid("email", "not an e-mail address"))?;
    Ok((email, BounceType::parse_field(text("type")?, "type")?))
}

async fn verify(crm: &Crm, call: Signed<'_>, now: DateTime<Utc>) -> ActionResult<OrgId> {
    let refused = || ActionError::BadSignature("the webhook signature does not verify");
    let org = call
        .organization
        .and_then(|o| o.trim().parse::<i64>().ok())
        .map(OrgId)
        .ok_or_else(refused)?;
    let timestamp = call
        .timestamp
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or_else(refused)?;
    // `abs_diff`: the header may hold any i64, and a subtraction overflows.
    if now.timestamp().abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(refused());
    }
    let given = call
        .signature
        .map(|s| s.trim().trim_start_matches("sha256="))
        .and_then(unhex)
        .ok_or_else(refused)?;
    let secret = crm
        .store
        .campaigns()
        .webhook_secret(org)
        .await?
        .ok_or_else(refused)?;
    // Constant-time comparison.
    mac(&secret, timestamp, call.body)
        .verify_slice(&given)
        .map_err(|_| refused())?;
    Ok(org)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_the_timestamp_and_the_body() {
        let s = sign("k", 100, b"{}");
        assert_eq!(s.len(), 64);
        assert_ne!(s, sign("k", 101, b"{}"));
        assert_ne!(s, sign("k", 100, b"{ }"));
        assert_ne!(s, sign("l", 100, b"{}"));
        assert_eq!(unhex(&s).unwrap().len(), 32);
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}

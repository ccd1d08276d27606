//! The signed links of campaign messages. A link names its recipient row
//! and carries an HMAC of it under a key derived from the deployment's
//! secret, so it is never a guessable id: whoever holds the link may act for
//! that one recipient (unsubscribe with one click, RFC 8058), and nobody can
//! make one for another.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The key and the public address links are made with.
pub struct Links {
    key: [u8; 32],
    base: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Bytes of the HMAC a link carries (128 bits).
const TAG: usize = 16;

impl Links {
    /// Links under `public_url` (e.g. `https://crm.example.com`), signed
    /// with a key derived from `secret` (the deployment's JWT secret: the
    /// same on every instance, and never the key itself).
    pub fn new(secret: &[u8], public_url: &str) -> Links {
        let mut h = Sha256::new();
        h.update(b"neuracrm-campaign-links:");
        h.update(secret);
        Links {
            key: h.finalize().into(),
            base: public_url.trim_end_matches('/').to_string(),
        }
    }

    fn mac(&self, what: &str, recipient: i64) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{what}:{recipient}").as_bytes());
        mac
    }

    /// The one-click unsubscribe URL of a recipient.
    pub fn unsubscribe_url(&self, recipient: i64) -> String {
        let tag = self.mac("unsubscribe", recipient).finalize().into_bytes();
        let hex: String = tag[..TAG].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}/u/{recipient}.{hex}", self.base)
    }

    /// The recipient an unsubscribe token names, when its signature holds.
    pub fn verify_unsubscribe(&self, token: &str) -> Option<i64> {
        let (id, hex) = token.split_once('.')?;
        let recipient: i64 = id.parse().ok()?;
        if hex.len() != TAG * 2 || !hex.is_ascii() {
            return None;
        }
        let tag: Vec<u8> = (0..TAG)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
            .collect::<Result<_, _>>()
            .ok()?;
        self.mac("unsubscribe", recipient)
            .verify_truncated_left(&tag)
            .ok()
            .map(|()| recipient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_as_signed() {
        let l = Links::new(b"secret", "https://crm.example.com/");
        let url = l.unsubscribe_url(42);
        let token = url.strip_prefix("https://crm.example.com/u/").unwrap();
        assert_eq!(l.verify_unsubscribe(token), Some(42));
        let forged = token.replacen("42.", "43.", 1);
        assert_eq!(l.verify_unsubscribe(&forged), None);
        assert_eq!(Links::new(b"other", "x").verify_unsubscribe(token), None);
        assert_eq!(l.verify_unsubscribe("42"), None);
        assert_eq!(l.verify_unsubscribe("42.zz"), None);
    }
}

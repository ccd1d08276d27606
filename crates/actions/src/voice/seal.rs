//! Organizations' Retell API keys at rest: sealed with ChaCha20-Poly1305
//! under a deployment key, bound to their organization (its id is the
//! associated data, so a sealed key copied to another organization's row
//! does not open).
//!
//! The deployment key is SHA-256 of `retell.encryption_key` when that is
//! set, else HMAC-SHA256 of `jwt_secret` over a fixed label: a deployment
//! needs no new secret, and one that rotates its JWT secret can pin the
//! sealing key with `retell.encryption_key` first. A key sealed under
//! another deployment key does not open: the organization sets it again.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use neuracrm_domain::OrgId;
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1.";

/// Seals and opens API keys; its key never prints.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

/// A sealed key did not open (another deployment key, or altered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the organization's stored Retell API key cannot be opened with this deployment's key; set it again"
)]
pub struct Unsealable;

impl Sealer {
    /// From `retell.encryption_key` when set, else derived from the JWT secret.
    pub fn new(encryption_key: Option<&str>, jwt_secret: &str) -> Sealer {
        let key: [u8; 32] = match encryption_key {
            Some(k) => Sha256::digest(k.as_bytes()).into(),
            None => {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(jwt_secret.as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(b"neuracrm/retell-api-key/v1");
                mac.finalize().into_bytes().into()
            }
        };
        Sealer { key }
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.key))
    }

    /// `v1.<hex nonce ++ ciphertext>`.
    pub fn seal(&self, org: OrgId, secret: &str) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let aad = org.0.to_string();
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("sealing cannot fail for in-memory input");
        format!("{PREFIX}{}{}", hex::encode(nonce), hex::encode(ct))
    }

    /// The key `sealed` holds, if it opens for `org`.
    pub fn open(&self, org: OrgId, sealed: &str) -> Result<String, Unsealable> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() > 12)
            .ok_or(Unsealable)?;
        let aad = org.0.to_string();
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(&raw[..12]),
                Payload {
                    msg: &raw[12..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Unsealable)?;
        String::from_utf8(plain).map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_for_its_organization_and_deployment() {
        let s = Sealer::new(None, "jwt-secret-of-this-deployment");
        let sealed = s.seal(OrgId(7), "key_live_abc");
        assert!(!sealed.contains("key_live_abc"));
        assert_ne!(
            sealed,
            s.seal(OrgId(7), "key_live_abc"),
            "a fresh nonce each time"
        );
        assert_eq!(s.open(OrgId(7), &sealed).unwrap(), "key_live_abc");
        assert_eq!(s.open(OrgId(8), &sealed), Err(Unsealable));
        let other = Sealer::new(Some("pinned"), "jwt-secret-of-this-deployment");
        assert_eq!(other.open(OrgId(7), &sealed), Err(Unsealable));
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 2.., "00");
        assert_eq!(s.open(OrgId(7), &tampered), Err(Unsealable));
        assert_eq!(format!("{s:?}"), "Sealer(***)");
    }
}

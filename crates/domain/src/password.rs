//! Password policy and hashing (argon2id, PHC strings).
//!
//! Hashing is deliberately slow (tens of milliseconds): servers call it off the
//! async runtime. The plain password is wrapped in [`Password`], whose `Debug`
//! never shows it.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::DomainError;

/// A plain-text password that met the policy. `Debug` prints `***`.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Shortest password accepted.
    pub const MIN_LEN: usize = 8;
    /// Longest password accepted (bounds hashing cost).
    pub const MAX_LEN: usize = 256;

    /// Accepts a password of 8 to 256 characters.
    pub fn parse(raw: &str) -> Result<Password, DomainError> {
        let n = raw.chars().count();
        if n < Self::MIN_LEN {
            return Err(DomainError::OutOfRange {
                field: "password",
                min: Self::MIN_LEN as f64,
                max: Self::MAX_LEN as f64,
            });
        }
        if n > Self::MAX_LEN {
            return Err(DomainError::TooLong {
                field: "password",
                max: Self::MAX_LEN,
            });
        }
        Ok(Password(raw.to_string()))
    }

    /// The argon2id PHC string of this password, with a fresh random salt.
    pub fn hash(&self) -> String {
        hash(&self.0)
    }
}

/// Hashes a password with argon2id and a fresh salt.
pub fn hash(plain: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(plain.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Only impossible parameter combinations fail; the defaults are valid.
        .unwrap_or_default()
}

/// Checks a password against a stored PHC string; a malformed hash verifies
/// nothing.
pub fn verify(plain: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(plain.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let p = Password::parse("correct horse").unwrap();
        let (a, b) = (p.hash(), p.hash());
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("correct horse", "not-a-hash"));
    }

    #[test]
    fn policy_and_debug() {
        assert_eq!(Password::parse("short").unwrap_err().field(), "password");
        assert!(Password::parse(&"x".repeat(257)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("s3cret-pass").unwrap()),
            "Password(***)"
        );
    }
}

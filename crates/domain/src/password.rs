//! Password policy and hashing (argon2id, PHC strings).
//!
//! The policy: 8 to 256 characters, not one of the 10,000 most common
//! passwords (a list shipped inside the binary, `common_passwords.txt`,
//! compared ignoring case), and, where the user is known
//! ([`Password::parse_for`]), not built from their e-mail address or name.
//!
//! Hashing is deliberately slow (tens of milliseconds): servers call it off the
//! async runtime. The plain password is wrapped in [`Password`], whose `Debug`
//! never shows it.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::{DomainError, PasswordWeakness};

/// The common-password list: one lowercase password a line, `#` comments
/// (its source and licence are in its header).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// The list as a set, built on first use.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Whether `raw` (ignoring case and surrounding white space) is one of the
/// most common passwords.
pub fn is_common(raw: &str) -> bool {
    COMMON.contains(raw.trim().to_lowercase().as_str())
}

/// Shortest e-mail local part, name or part of a name that a password must
/// not contain: shorter ones ("al", "li") occur in passwords by chance.
const MIN_PERSONAL_LEN: usize = 4;

/// Whether `raw` is, or contains (ignoring case and white space), the e-mail
/// address, its local part, the name, or a part of either (split at anything
/// but letters and digits) of at least [`MIN_PERSONAL_LEN`] characters.
fn is_personal(raw: &str, email: &str, name: &str) -> bool {
    let compact = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let long_enough = |s: &String| s.chars().count() >= MIN_PERSONAL_LEN;
    let parts = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .map(compact)
            .filter(long_enough)
            .collect()
    };
    let password = compact(raw);
    let email = compact(email);
    let local = email.rsplit_once('@').map_or("", |(local, _)| local);
    let mut needles: Vec<String> = Vec::new();
    if !email.is_empty() {
        needles.push(email.clone());
    }
    needles.extend(Some(local.to_string()).filter(long_enough));
    needles.extend(parts(local));
    needles.extend(Some(compact(name)).filter(long_enough));
    needles.extend(parts(name));
    needles.iter().any(|n| password.contains(n.as_str()))
}

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

    /// Accepts a password of 8 to 256 characters that is not one of the most
    /// common passwords ([`is_common`]). Where the user's e-mail address and
    /// name are known, use [`Password::parse_for`].
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
        if is_common(raw) {
            return Err(DomainError::WeakPassword {
                field: "password",
                weakness: PasswordWeakness::Common,
            });
        }
        Ok(Password(raw.to_string()))
    }

    /// [`Password::parse`], and refuses a password that is or contains
    /// (ignoring case and white space) the user's e-mail address, its local
    /// part, their name, or a part of the local part or name, counting only
    /// those of at least 4 characters (the whole address always counts):
    /// for `ada.lovelace@acme.io` and `Ada Lovelace`, `lovelace1815` is
    /// refused, `ada-is-great` is not.
    pub fn parse_for(raw: &str, email: &str, name: &str) -> Result<Password, DomainError> {
        let password = Self::parse(raw)?;
        if is_personal(raw, email, name) {
            return Err(DomainError::WeakPassword {
                field: "password",
                weakness: PasswordWeakness::Personal,
            });
        }
        Ok(password)
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

    fn weakness(r: Result<Password, DomainError>) -> Option<PasswordWeakness> {
        match r {
            Err(DomainError::WeakPassword { field, weakness }) => {
                assert_eq!(field, "password");
                Some(weakness)
            }
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn the_common_list_loads_whole() {
        assert_eq!(COMMON.len(), 10_000);
        assert!(COMMON.iter().all(|p| p.chars().count() >= Password::MIN_LEN
            && *p == p.to_lowercase()
            && !p.starts_with('#')));
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for p in [
            "12345678",
            "password",
            "Password",
            "PASSWORD",
            "pAsSwOrD",
            "password123",
            " qwertyuiop ",
            "iloveyou",
        ] {
            assert_eq!(
                weakness(Password::parse(p)),
                Some(PasswordWeakness::Common),
                "{p}"
            );
            assert_eq!(
                weakness(Password::parse_for(p, "ada@acme.io", "Ada Lovelace")),
                Some(PasswordWeakness::Common),
                "{p}"
            );
        }
        let e = Password::parse("password").unwrap_err();
        assert_eq!(e.field(), "password");
        assert_eq!(
            e.to_string(),
            "password is one of the most commonly used passwords; choose one that is \
             harder to guess (a few unrelated words work well)"
        );
        // Too short is still said as such, not as common.
        assert!(matches!(
            Password::parse("1234567"),
            Err(DomainError::OutOfRange { .. })
        ));
    }

    #[test]
    fn passwords_made_of_the_users_email_or_name_are_refused() {
        let personal = |p: &str, email: &str, name: &str| {
            weakness(Password::parse_for(p, email, name)) == Some(PasswordWeakness::Personal)
        };
        // Equal to the e-mail, in any case; containing it.
        assert!(personal("ada@acme.io", "ada@acme.io", "Ada"));
        assert!(personal("ADA@ACME.IO", "ada@acme.io", "Ada"));
        assert!(personal("my ada@acme.io!", "Ada@Acme.io", "Ada"));
        // Its local part, or a part of it, of 4 characters or more.
        assert!(personal(
            "grace.hopper!1906",
            "grace.hopper@navy.mil",
            "G H"
        ));
        assert!(personal("HopperRules77", "grace.hopper@navy.mil", "G H"));
        assert!(!personal("al-is-on-the-way", "al@acme.io", "Al"));
        // The name, or a part of it, of 4 characters or more, spaces ignored.
        assert!(personal("lovelace-1815", "ada@acme.io", "Ada Lovelace"));
        assert!(personal("AdaLovelace!!", "x@acme.io", "Ada Lovelace"));
        assert!(personal("ada love lace 99", "x@acme.io", "Ada Lovelace"));
        assert!(!personal("ada-is-great", "x@acme.io", "Ada Lovelace"));
        let e = Password::parse_for("lovelace-1815", "ada@acme.io", "Ada Lovelace").unwrap_err();
        assert_eq!(
            e.to_string(),
            "password must not contain your e-mail address or name"
        );
        assert_eq!(e.field(), "password");
    }

    #[test]
    fn a_decent_passphrase_is_accepted() {
        for (p, email, name) in [
            (
                "correct horse battery",
                "admin@acme.example.com",
                "Acme Admin",
            ),
            (
                "violet stapler orbit",
                "ada.lovelace@acme.io",
                "Ada Lovelace",
            ),
            ("Tr0ub4dor&3x", "x@y.io", ""),
        ] {
            assert!(Password::parse(p).is_ok(), "{p}");
            assert!(Password::parse_for(p, email, name).is_ok(), "{p}");
        }
    }
}

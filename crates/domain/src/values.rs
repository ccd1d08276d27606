//! Validated values. Each type can only be built through its parser, so a value
//! that exists is valid.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A trimmed, lower-cased, plausible e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321's path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses an address for the field `email`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::parse_field(raw, "email")
    }

    /// Parses an address, naming `field` in the error.
    pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DomainError::Empty { field });
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(DomainError::TooLong {
                field,
                max: Self::MAX_LEN,
            });
        }
        let invalid = || DomainError::InvalidEmail { field };
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let plausible_local = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let plausible_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let no_bad_chars = !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
        if plausible_local && plausible_domain && no_bad_chars && !domain.contains('@') {
            Ok(Email(s.to_lowercase()))
        } else {
            Err(invalid())
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a required, trimmed, non-empty text of at most `max` characters.
pub fn required_text(raw: &str, field: &'static str, max: usize) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(DomainError::Empty { field });
    }
    if s.chars().count() > max {
        return Err(DomainError::TooLong { field, max });
    }
    Ok(s.to_string())
}

/// Parses an optional text: `None`, empty or blank becomes `None`; otherwise the
/// trimmed text, at most `max` characters.
pub fn optional_text(
    raw: Option<&str>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > max => Err(DomainError::TooLong { field, max }),
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// An amount of money in integer cents, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Cents(i64);

impl Cents {
    /// Zero.
    pub const ZERO: Cents = Cents(0);

    /// Accepts a non-negative amount for the field `value_cents`.
    pub fn new(cents: i64) -> Result<Self, DomainError> {
        Self::for_field(cents, "value_cents")
    }

    /// Accepts a non-negative amount, naming `field` in the error.
    pub fn for_field(cents: i64, field: &'static str) -> Result<Self, DomainError> {
        if cents < 0 {
            Err(DomainError::Negative { field })
        } else {
            Ok(Cents(cents))
        }
    }

    /// The amount in cents.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Parses an amount written in currency units, as people type it in a
    /// spreadsheet: `1500`, `1500.5`, `1500.50`, `1,500.50` (commas as
    /// thousands separators only), at most two decimals, never negative.
    pub fn parse_amount(raw: &str, field: &'static str) -> Result<Self, DomainError> {
        let bad = || DomainError::BadNumber {
            field,
            expected: "an amount like 1500 or 1,500.50 (at most two decimals)",
        };
        let s: String = raw.trim().chars().filter(|c| *c != ',').collect();
        if s.starts_with('-') {
            return Err(DomainError::Negative { field });
        }
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        if whole.is_empty()
            || frac.len() > 2
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac))
            .map(Cents)
            .ok_or_else(bad)
    }
}

impl TryFrom<i64> for Cents {
    type Error = DomainError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Cents::new(v)
    }
}

impl From<Cents> for i64 {
    fn from(c: Cents) -> Self {
        c.0
    }
}

/// Parses a calendar date written `YYYY-MM-DD`.
pub fn parse_date(raw: &str, field: &'static str) -> Result<NaiveDate, DomainError> {
    let s = raw.trim();
    // chrono accepts some loose forms (e.g. missing zero padding); a stable API
    // wants exactly ten characters.
    if s.len() != 10 {
        return Err(DomainError::BadDate {
            field,
            format: "YYYY-MM-DD",
        });
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| DomainError::BadDate {
        field,
        format: "YYYY-MM-DD",
    })
}

/// Checks that a count-like number (company size, duration) is not negative.
pub fn non_negative(v: i64, field: &'static str) -> Result<i64, DomainError> {
    if v < 0 {
        Err(DomainError::Negative { field })
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_as_people_type_them() {
        let ok = |s: &str| Cents::parse_amount(s, "budget").unwrap().get();
        assert_eq!(ok("1500"), 150_000);
        assert_eq!(ok(" 1500.5 "), 150_050);
        assert_eq!(ok("1,500.05"), 150_005);
        assert_eq!(ok("0.99"), 99);
        for bad in [
            "",
            "abc",
            "1.234",
            "1.2.3",
            ".5",
            "1e3",
            "12 000",
            "99999999999999999999",
        ] {
            let err = Cents::parse_amount(bad, "budget").unwrap_err();
            assert_eq!(err.field(), "budget", "{bad}");
        }
        assert_eq!(
            Cents::parse_amount("-5", "budget").unwrap_err(),
            DomainError::Negative { field: "budget" }
        );
    }

    #[test]
    fn email_is_normalised() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_are_rejected_naming_the_field() {
        for bad in [
            "plainaddress",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "ada..b@example.com",
            ".ada@example.com",
            "ada@example..com",
            "ada@-example.com,",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.field(), "email", "{bad}");
            assert!(err.to_string().contains("e-mail"), "{bad}: {err}");
        }
        assert_eq!(
            Email::parse("   ").unwrap_err(),
            DomainError::Empty { field: "email" }
        );
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(matches!(
            Email::parse(&long),
            Err(DomainError::TooLong { .. })
        ));
    }

    #[test]
    fn email_deserialisation_validates() {
        let ok: Email = serde_json::from_str("\"x@y.io\"").unwrap();
        assert_eq!(ok.as_str(), "x@y.io");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }

    #[test]
    fn negative_money_is_rejected() {
        assert_eq!(
            Cents::new(-1),
            Err(DomainError::Negative {
                field: "value_cents"
            })
        );
        assert_eq!(Cents::new(0).unwrap().get(), 0);
        assert!(serde_json::from_str::<Cents>("-5").is_err());
        assert_eq!(serde_json::from_str::<Cents>("125").unwrap().get(), 125);
    }

    #[test]
    fn empty_names_are_rejected() {
        assert_eq!(
            required_text(" \t", "first_name", 100),
            Err(DomainError::Empty {
                field: "first_name"
            })
        );
        assert_eq!(required_text(" Ada ", "first_name", 100).unwrap(), "Ada");
        assert!(matches!(
            required_text(&"x".repeat(101), "first_name", 100),
            Err(DomainError::TooLong { max: 100, .. })
        ));
        assert_eq!(optional_text(Some("  "), "phone", 10).unwrap(), None);
    }

    #[test]
    fn dates_must_be_iso() {
        assert_eq!(
            parse_date("2026-02-28", "expected_close").unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        for bad in [
            "28/02/2026",
            "2026-2-28",
            "2026-02-30",
            "tomorrow",
            "",
            "2026-02-28T00:00:00Z",
        ] {
            assert_eq!(
                parse_date(bad, "expected_close"),
                Err(DomainError::BadDate {
                    field: "expected_close",
                    format: "YYYY-MM-DD"
                }),
                "{bad}"
            );
        }
    }
}

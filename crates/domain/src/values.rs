//! Validated values. Each type can only be built through its parser, so a value
//! that exists is valid.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{self, Deserializer};
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

/// An amount of money in integer cents, from 0 to [`Cents::MAX`].
///
/// The maximum (10^13 currency units) is far above any deal a CRM records,
/// and low enough that a whole book of such amounts sums without overflow
/// (the store sums money exactly in two 64-bit halves; see its
/// `forecasts` module). Every parse of an amount (JSON bodies, CSV cells)
/// refuses more; a value stored before the maximum existed reads as the
/// maximum ([`Cents::saturating`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "i64")]
pub struct Cents(i64);

impl Cents {
    /// Zero.
    pub const ZERO: Cents = Cents(0);

    /// The largest amount accepted: 10^15 cents, i.e. 10^13 currency units.
    pub const MAX: Cents = Cents(1_000_000_000_000_000);

    /// [`Cents::MAX`] as people read it, for error messages.
    pub const MAX_TEXT: &'static str = "1000000000000000 cents (10^13 currency units)";

    /// Accepts an amount from 0 to [`Cents::MAX`] for the field `value_cents`.
    pub fn new(cents: i64) -> Result<Self, DomainError> {
        Self::for_field(cents, "value_cents")
    }

    /// Accepts an amount from 0 to [`Cents::MAX`], naming `field` in the
    /// error.
    pub fn for_field(cents: i64, field: &'static str) -> Result<Self, DomainError> {
        if cents < 0 {
            Err(DomainError::Negative { field })
        } else if cents > Self::MAX.0 {
            Err(DomainError::AboveMaximum {
                field,
                max: Self::MAX_TEXT,
            })
        } else {
            Ok(Cents(cents))
        }
    }

    /// Any amount brought into range: below 0 reads as 0, above the maximum
    /// as [`Cents::MAX`]. For values read back from storage that were
    /// written before the maximum existed, never for input.
    pub fn saturating(cents: i64) -> Self {
        Cents(cents.clamp(0, Self::MAX.0))
    }

    /// The amount in cents.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Parses an amount written in currency units, as people type it in a
    /// spreadsheet: `1500`, `1500.5`, `12500.50`, `12,500.50` (commas only
    /// between groups of three digits: `1,2,3` or `12,50` are refused rather
    /// than guessed at), at most two decimals, never negative, at most
    /// 10^13 units ([`Cents::MAX`]).
    pub fn parse_amount(raw: &str, field: &'static str) -> Result<Self, DomainError> {
        let bad = || DomainError::BadNumber {
            field,
            expected: "an amount like 12500.50 or 12,500.50 (at most two decimals)",
        };
        let s = raw.trim();
        if s.starts_with('-') {
            return Err(DomainError::Negative { field });
        }
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty()
            || frac.len() > 2
            || !whole.bytes().all(|b| b.is_ascii_digit() || b == b',')
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        if whole.contains(',') {
            let mut groups = whole.split(',');
            let first = groups.next().unwrap_or_default();
            let thousands = (1..=3).contains(&first.len())
                && !first.starts_with('0')
                && groups.all(|g| g.len() == 3);
            if !thousands {
                return Err(DomainError::BadNumber {
                    field,
                    expected: "an amount whose commas separate thousands (groups of three digits, like 12,500.50)",
                });
            }
        }
        let digits: String = whole.chars().filter(|c| *c != ',').collect();
        let digits = digits.trim_start_matches('0');
        let above = || DomainError::AboveMaximum {
            field,
            max: "10000000000000 (10^13 currency units)",
        };
        // More than 14 digits is above the maximum whatever they are (and
        // would not fit the arithmetic below).
        if digits.len() > 14 {
            return Err(above());
        }
        let whole: i64 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| bad())?
        };
        let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let cents = whole * 100 + frac;
        if cents > Self::MAX.0 {
            return Err(above());
        }
        Ok(Cents(cents))
    }
}

impl<'de> Deserialize<'de> for Cents {
    /// A whole number from 0 to [`Cents::MAX`]. The messages do not name the
    /// field (the deserialiser does not know it): they are the end of a
    /// sentence the front end begins with the field's name.
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Cents;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number of cents")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cents, E> {
                if v < 0 {
                    Err(E::custom("must not be negative"))
                } else {
                    self.visit_u64(v as u64)
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cents, E> {
                if v > Cents::MAX.0 as u64 {
                    Err(E::custom(format_args!(
                        "must be at most {}",
                        Cents::MAX_TEXT
                    )))
                } else {
                    Ok(Cents(v as i64))
                }
            }
        }
        de.deserialize_i64(Visitor)
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

/// The first day a date or time of a record, a filter or a CSV cell may
/// fall on.
pub const MIN_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");
/// The last day a date or time of a record, a filter or a CSV cell may
/// fall on.
pub const MAX_DATE: NaiveDate = NaiveDate::from_ymd_opt(2200, 12, 31).expect("a valid date");

fn in_bounds(d: NaiveDate) -> bool {
    (MIN_DATE..=MAX_DATE).contains(&d)
}

/// The end of the out-of-range sentence, shared by every message about it.
const OUTSIDE_DATES: &str = "must fall between 1900-01-01 and 2200-12-31";

/// A calendar date from [`MIN_DATE`] to [`MAX_DATE`] (1900-01-01 to
/// 2200-12-31): what a date of a record's input, of a filter or of a CSV
/// cell is. Wider years are refused rather than stored (a deal "won" in
/// year 1 makes a revenue history of 24,000 months). Records read back
/// plain dates: one stored before the range existed still reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedDate(NaiveDate);

impl BoundedDate {
    /// Accepts `d` when in range, naming `field` in the error.
    pub fn new(d: NaiveDate, field: &'static str) -> Result<Self, DomainError> {
        if in_bounds(d) {
            Ok(BoundedDate(d))
        } else {
            Err(DomainError::OutsideDates { field })
        }
    }

    /// The date.
    pub fn get(self) -> NaiveDate {
        self.0
    }
}

impl From<BoundedDate> for NaiveDate {
    fn from(d: BoundedDate) -> Self {
        d.0
    }
}

impl std::fmt::Display for BoundedDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for BoundedDate {
    /// `YYYY-MM-DD` within the range; messages as [`Cents`]' (the end of a
    /// sentence about the field).
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = BoundedDate;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a date in the form YYYY-MM-DD")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<BoundedDate, E> {
                let d: NaiveDate = s
                    .parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(s), &self))?;
                if in_bounds(d) {
                    Ok(BoundedDate(d))
                } else {
                    Err(E::custom(OUTSIDE_DATES))
                }
            }
        }
        de.deserialize_str(Visitor)
    }
}

/// A time (UTC) on a day from [`MIN_DATE`] to [`MAX_DATE`]: what a time of a
/// record's input or of a filter is (see [`BoundedDate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BoundedTime(DateTime<Utc>);

impl BoundedTime {
    /// Accepts `t` when its day (in UTC) is in range, naming `field` in the
    /// error.
    pub fn new(t: DateTime<Utc>, field: &'static str) -> Result<Self, DomainError> {
        if in_bounds(t.date_naive()) {
            Ok(BoundedTime(t))
        } else {
            Err(DomainError::OutsideDates { field })
        }
    }

    /// The time.
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

impl From<BoundedTime> for DateTime<Utc> {
    fn from(t: BoundedTime) -> Self {
        t.0
    }
}

impl<'de> Deserialize<'de> for BoundedTime {
    /// An RFC 3339 time within the range; messages as [`BoundedDate`]'s.
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = BoundedTime;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a date and time in RFC 3339 form, like 2026-03-31T12:00:00Z")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<BoundedTime, E> {
                let t: DateTime<Utc> = s
                    .parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(s), &self))?;
                if in_bounds(t.date_naive()) {
                    Ok(BoundedTime(t))
                } else {
                    Err(E::custom(OUTSIDE_DATES))
                }
            }
        }
        de.deserialize_str(Visitor)
    }
}

/// Parses a calendar date written `YYYY-MM-DD` (exactly), within
/// [`MIN_DATE`]..=[`MAX_DATE`].
pub fn parse_date(raw: &str, field: &'static str) -> Result<BoundedDate, DomainError> {
    let s = raw.trim();
    let bad = || DomainError::BadDate {
        field,
        format: "YYYY-MM-DD",
    };
    // chrono accepts some loose forms (e.g. missing zero padding); a stable API
    // wants exactly ten characters.
    if s.len() != 10 {
        return Err(bad());
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
    BoundedDate::new(d, field)
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
        assert_eq!(ok("12,500.50"), 1_250_050);
        assert_eq!(ok("12500.50"), 1_250_050);
        assert_eq!(ok("1,234,567"), 123_456_700);
        assert_eq!(ok("0.99"), 99);
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("10,000,000,000,000.00"), Cents::MAX.get());
        for bad in [
            "", "abc", "1.234", "1.2.3", ".5", "1e3", "12 000", ",500", "1,500,",
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
    fn digit_groups_must_be_thousands() {
        for bad in ["1,2,3", "12,50", "1234,567", "1,5000", "0,500", "1,23.45"] {
            let err = Cents::parse_amount(bad, "budget").unwrap_err();
            assert!(
                err.to_string().contains("commas separate thousands"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn amounts_above_the_maximum_are_refused() {
        for bad in [
            "10000000000000.01",
            "10,000,000,000,001",
            "99999999999999999999",
        ] {
            let err = Cents::parse_amount(bad, "budget").unwrap_err();
            assert!(
                matches!(
                    err,
                    DomainError::AboveMaximum {
                        field: "budget",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        assert_eq!(Cents::new(Cents::MAX.get()), Ok(Cents::MAX));
        assert!(matches!(
            Cents::for_field(Cents::MAX.get() + 1, "budget_cents"),
            Err(DomainError::AboveMaximum {
                field: "budget_cents",
                ..
            })
        ));
        assert_eq!(Cents::saturating(i64::MAX), Cents::MAX);
        assert_eq!(Cents::saturating(-3), Cents::ZERO);
    }

    #[test]
    fn money_deserialises_within_bounds_with_messages_in_words() {
        let err = |json: &str| serde_json::from_str::<Cents>(json).unwrap_err().to_string();
        assert_eq!(
            serde_json::from_str::<Cents>("1000000000000000").unwrap(),
            Cents::MAX
        );
        assert!(err("1000000000000001").starts_with("must be at most 1000000000000000 cents"));
        assert!(err("9223372036854775807").starts_with("must be at most"));
        assert!(err("18446744073709551615").starts_with("must be at most"));
        assert!(err("-1").starts_with("must not be negative"));
        assert!(err("1.5").contains("expected a whole number of cents"));
        assert!(err(r#""lots""#).contains("expected a whole number of cents"));
    }

    #[test]
    fn dates_and_times_are_bounded() {
        let d = |s: &str| serde_json::from_str::<BoundedDate>(&format!("\"{s}\""));
        let t = |s: &str| serde_json::from_str::<BoundedTime>(&format!("\"{s}\""));
        assert_eq!(d("1900-01-01").unwrap().get(), MIN_DATE);
        assert_eq!(d("2200-12-31").unwrap().get(), MAX_DATE);
        assert!(t("1900-01-01T00:00:00Z").is_ok());
        assert!(t("2200-12-31T23:59:59.999Z").is_ok());
        for bad in ["1899-12-31", "2201-01-01", "0001-01-01", "9999-12-31"] {
            let e = d(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("must fall between 1900-01-01 and 2200-12-31"),
                "{bad}: {e}"
            );
        }
        for bad in [
            "1899-12-31T23:59:59Z",
            "2201-01-01T00:00:00Z",
            "2200-12-31T23:00:00-05:00",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
        assert!(
            d("tomorrow")
                .unwrap_err()
                .to_string()
                .contains("expected a date in the form YYYY-MM-DD")
        );
        assert!(
            t("noon")
                .unwrap_err()
                .to_string()
                .contains("expected a date and time in RFC 3339 form")
        );
        assert_eq!(
            parse_date("1899-12-31", "expected_decision"),
            Err(DomainError::OutsideDates {
                field: "expected_decision"
            })
        );
        assert_eq!(
            DomainError::OutsideDates {
                field: "expected_close"
            }
            .to_string(),
            "expected_close must fall between 1900-01-01 and 2200-12-31"
        );
        let noon = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(BoundedTime::new(noon, "closed_at").unwrap().get(), noon);
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
            parse_date("2026-02-28", "expected_close").unwrap().get(),
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

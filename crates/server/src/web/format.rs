//! How figures and times read on a page: money with thousands separators,
//! times relative when recent with the full date beside.

use chrono::{DateTime, Utc};

/// `$12,500` (whole units) or `$12,500.50`.
pub fn money(units: f64) -> String {
    if !units.is_finite() {
        return "—".into();
    }
    let cents = (units * 100.0).round() as i128;
    let neg = cents < 0;
    let cents = cents.abs();
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if neg { "-" } else { "" };
    if frac == 0 {
        format!("{sign}${grouped}")
    } else {
        format!("{sign}${grouped}.{frac:02}")
    }
}

/// Money stored in cents.
pub fn cents(c: i64) -> String {
    money(c as f64 / 100.0)
}

/// "3 minutes ago", "yesterday", "12 days ago"; the date beyond a month.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    match secs {
        s if s < 0 => full(t),
        0..=59 => "just now".into(),
        60..=3599 => format!("{} ago", count(secs / 60, "minute")),
        3600..=86_399 => format!("{} ago", count(secs / 3600, "hour")),
        86_400..=172_799 => "yesterday".into(),
        s if s < 31 * 86_400 => format!("{} ago", count(s / 86_400, "day")),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

/// "1 contact", "3 contacts": a count with its noun (one taking an `s`).
pub fn count(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The full time, for a `title`.
pub fn full(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A score with one decimal at most: `84.5`, `62`.
pub fn score(s: f64) -> String {
    let r = (s * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// `technology` → `Technology`; `closed_won` → `Closed won`.
pub fn words(s: &str) -> String {
    let s = s.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn money_groups_thousands_and_keeps_cents() {
        assert_eq!(money(12_500.0), "$12,500");
        assert_eq!(money(1_234_567.5), "$1,234,567.50");
        assert_eq!(money(-980.0), "-$980");
        assert_eq!(money(0.0), "$0");
        assert_eq!(cents(123_456), "$1,234.56");
        assert_eq!(money(f64::NAN), "—");
    }

    #[test]
    fn times_read_relative_when_recent() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        assert_eq!(ago(now - chrono::Duration::seconds(20), now), "just now");
        assert_eq!(ago(now - chrono::Duration::minutes(1), now), "1 minute ago");
        assert_eq!(ago(now - chrono::Duration::hours(5), now), "5 hours ago");
        assert_eq!(ago(now - chrono::Duration::hours(30), now), "yesterday");
        assert_eq!(ago(now - chrono::Duration::days(12), now), "12 days ago");
        assert_eq!(ago(now - chrono::Duration::days(90), now), "2026-09-07");
        assert_eq!(words("closed_won"), "Closed won");
        assert_eq!(score(84.46), "84.5");
        assert_eq!(score(62.0), "62");
    }
}

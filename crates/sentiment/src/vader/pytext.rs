//! Python `str` semantics that VADER's behaviour depends on.
//!
//! vaderSentiment splits on `str.split()`, strips with `str.strip()` and
//! `str.strip(string.punctuation)`, and tests emphasis with `str.isupper()`.
//! Rust's nearest equivalents differ at the edges (Python counts the
//! information separators U+001C..U+001F as whitespace; `isupper` rejects
//! titlecase letters), and parity with the reference is the point of the port,
//! so the exact Python rules live here, in one place, with tests.

#[cfg(test)]
use std::borrow::Cow;

/// `str.isspace()` for one character (CPython 3.11, Unicode 14).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `s.strip()` with no argument.
pub(crate) fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// `s.split()` with no argument: runs of whitespace separate, no empty items.
pub(crate) fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_space).filter(|w| !w.is_empty())
}

/// `string.punctuation`: the 32 ASCII punctuation characters.
fn is_ascii_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// VADER's `_strip_punc_if_word`: strip leading/trailing ASCII punctuation
/// unless that leaves two characters or fewer (then the token was probably an
/// emoticon such as `:)` and is kept whole).
pub(crate) fn strip_punc_if_word(token: &str) -> &str {
    let stripped = token.trim_matches(is_ascii_punct);
    // Python's len() counts code points.
    if stripped.chars().nth(2).is_none() {
        token
    } else {
        stripped
    }
}

/// Titlecase letters (general category Lt), which make `isupper()` false.
fn is_titlecase(c: char) -> bool {
    matches!(c,
        '\u{1c5}' | '\u{1c8}' | '\u{1cb}' | '\u{1f2}'
        | '\u{1f88}'..='\u{1f8f}'
        | '\u{1f98}'..='\u{1f9f}'
        | '\u{1fa8}'..='\u{1faf}'
        | '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}')
}

/// `s.isupper()`: at least one uppercase character and no lowercase or
/// titlecase one (digits and punctuation are neutral, so `"A1!"` is upper).
pub(crate) fn is_upper(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return !b.iter().any(u8::is_ascii_lowercase) && b.iter().any(u8::is_ascii_uppercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// Append `s.lower()` to `out` without an intermediate allocation for ASCII.
pub(crate) fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&s.to_lowercase());
    }
}

/// `s.lower()`, borrowing when nothing changes (the common case).
#[cfg(test)]
pub(crate) fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_includes_python_information_separators() {
        assert!(is_space('\u{1c}'));
        assert!(is_space('\u{3000}'));
        assert!(!is_space('\u{180e}'));
        assert!(!is_space('\u{200b}'));
        let words: Vec<&str> = split(" a\u{1f}b\u{a0}\u{a0}c\t").collect();
        assert_eq!(words, ["a", "b", "c"]);
        assert_eq!(strip("\u{85} x \u{2029}"), "x");
    }

    #[test]
    fn punctuation_is_kept_on_short_tokens() {
        assert_eq!(strip_punc_if_word(":)"), ":)");
        assert_eq!(strip_punc_if_word("(ok)"), "(ok)");
        assert_eq!(strip_punc_if_word("great!!!"), "great");
        assert_eq!(strip_punc_if_word("'don't'"), "don't");
        assert_eq!(strip_punc_if_word("«über»"), "«über»");
        assert_eq!(strip_punc_if_word("...éé..."), "...éé...");
    }

    #[test]
    fn isupper_matches_python() {
        assert!(is_upper("GREAT"));
        assert!(is_upper("A1!"));
        assert!(!is_upper("123"));
        assert!(!is_upper(":)"));
        assert!(!is_upper("GREAt"));
        assert!(!is_upper("\u{1c5}A"));
        assert!(is_upper("ÜBER"));
    }

    #[test]
    fn lower_borrows_when_unchanged() {
        assert!(matches!(lower("fine"), Cow::Borrowed(_)));
        assert_eq!(lower("FiNE"), "fine");
        assert_eq!(lower("ÜBER"), "über");
        let mut buf = String::from("x");
        push_lower(&mut buf, "ΣΑΣ");
        push_lower(&mut buf, "OK");
        assert_eq!(buf, "xσας".to_owned() + "ok");
    }
}

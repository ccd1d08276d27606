//! Case-insensitive whole-word phrase matching over titles and descriptions.
//!
//! Every wording rule (seniority, urgency, budget, industry synonyms, offline
//! intent) is a table of phrases. One Aho-Corasick automaton per table is built
//! once (per [`crate::Scorer`] or per process for the static tables) and then
//! scans text without lower-casing or copying it, which keeps
//! [`crate::Scorer::score`] free of per-lead allocations.
//!
//! Matching is leftmost-longest, so a longer phrase that starts earlier wins
//! over the phrases inside it: "vice president" is not also "president",
//! "product owner" is not "owner", "not approved" is not "approved". A match is
//! kept only at word boundaries ("cto" does not match inside "director").

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};

/// A compiled phrase table: pattern index `i` is the `i`-th phrase given.
#[derive(Debug, Clone)]
pub(crate) struct PhraseMatcher {
    automaton: AhoCorasick,
}

impl PhraseMatcher {
    /// Compiles one of the process-wide tables as a full DFA: the fastest to
    /// search, and built once. Fails only if the automaton would be too
    /// large, which these small tables never are; callers map the error.
    pub(crate) fn new<I, P>(phrases: I) -> Result<Self, aho_corasick::BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        Self::build(phrases, Some(AhoCorasickKind::DFA))
    }

    /// Compiles a per-organization table (industries) with the automaton kind
    /// aho-corasick picks: a server may hold one per organization, and the
    /// industry text is short, so memory matters more than search speed.
    pub(crate) fn new_compact<I, P>(phrases: I) -> Result<Self, aho_corasick::BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        Self::build(phrases, None)
    }

    fn build<I, P>(
        phrases: I,
        kind: Option<AhoCorasickKind>,
    ) -> Result<Self, aho_corasick::BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(kind)
            .build(phrases)?;
        Ok(Self { automaton })
    }

    /// Calls `f(pattern_index, start)` for each whole-word match, left to right.
    pub(crate) fn for_each_word_match(&self, text: &str, mut f: impl FnMut(usize)) {
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let input = Input::new(bytes).span(at..bytes.len());
            let Some(m) = self.automaton.find(input) else {
                return;
            };
            if is_boundary(bytes, m.start(), m.end()) {
                f(m.pattern().as_usize());
                at = m.end();
            } else {
                // A rejected match may hide a valid one that starts inside it.
                at = m.start() + 1;
            }
        }
    }

    /// The first whole-word match, if any.
    pub(crate) fn first_word_match(&self, text: &str) -> Option<usize> {
        let mut first = None;
        self.for_each_word_match(text, |i| {
            if first.is_none() {
                first = Some(i);
            }
        });
        first
    }
}

/// True when the bytes around `start..end` are not word characters. Non-ASCII
/// bytes count as word characters (letters such as "é" belong to a word).
fn is_boundary(bytes: &[u8], start: usize, end: usize) -> bool {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    let before_ok = start == 0 || bytes.get(start - 1).is_none_or(|&b| !is_word(b));
    let after_ok = bytes.get(end).is_none_or(|&b| !is_word(b));
    before_ok && after_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(phrases: &[&str], text: &str) -> Vec<usize> {
        let m = PhraseMatcher::new(phrases).unwrap();
        let mut out = Vec::new();
        m.for_each_word_match(text, |i| out.push(i));
        out
    }

    #[test]
    fn matches_whole_words_only_case_insensitively() {
        assert_eq!(matches(&["cto"], "Director of Sales"), Vec::<usize>::new());
        assert_eq!(matches(&["cto"], "CTO"), vec![0]);
        assert_eq!(matches(&["cto"], "Acting CTO, interim"), vec![0]);
        assert_eq!(matches(&["it"], "with it."), vec![0]);
        assert_eq!(matches(&["it"], "digital"), Vec::<usize>::new());
    }

    #[test]
    fn longer_phrase_starting_earlier_wins() {
        let p = ["president", "vice president"];
        assert_eq!(matches(&p, "Vice President, Sales"), vec![1]);
        assert_eq!(matches(&p, "President"), vec![0]);
    }

    #[test]
    fn rejected_match_does_not_hide_a_later_valid_one() {
        // "xceo" is rejected at a boundary; "ceo" right after is still found.
        assert_eq!(matches(&["ceo", "xceo"], "axceo ceo"), vec![0]);
    }

    #[test]
    fn non_ascii_text_is_handled_without_panics() {
        assert_eq!(matches(&["ceo"], "Président-ceo ünd ceoé"), vec![0]);
        assert_eq!(matches(&["ceo"], "日本語"), Vec::<usize>::new());
        assert_eq!(matches(&["ceo"], ""), Vec::<usize>::new());
    }
}

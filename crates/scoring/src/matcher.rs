//! Case-insensitive whole-word phrase matching over titles and descriptions.
//!
//! Every wording rule (seniority, urgency, budget, industry synonyms, offline
//! intent) is a table of phrases. A [`PhraseMatcher`] compiles one or more
//! tables into one Aho-Corasick automaton, built once (per [`crate::Scorer`]
//! or per process for the static tables), and then scans text without
//! lower-casing or copying it, which keeps [`crate::Scorer::score`] free of
//! per-lead allocations. Tables read from the same text share an automaton,
//! so the text is scanned once for all of them (urgency, budget and intent
//! wording: a third of the batch scorer's matching time).
//!
//! Each table is matched as if alone, leftmost-longest: a longer phrase that
//! starts earlier wins over the phrases inside it ("vice president" is not
//! also "president", "product owner" is not "owner", "not approved" is not
//! "approved"). A match is kept only at word boundaries ("cto" does not match
//! inside "director"); a rejected match may hide a valid one that starts
//! inside it.
//!
//! How: the automaton reports every occurrence of every phrase (overlapping
//! search), and each table's leftmost-longest walk is replayed over its own
//! occurrences, in start order. Text holds few occurrences, so the replay
//! costs next to nothing beside the scan.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use smallvec::SmallVec;

/// One or more compiled phrase tables: a match names its table and the
/// phrase's index in it.
#[derive(Debug, Clone)]
pub(crate) struct PhraseMatcher {
    automaton: AhoCorasick,
    /// Automaton pattern → (table, index in the table).
    origin: Vec<(usize, usize)>,
    tables: usize,
}

/// An occurrence: start, end, automaton pattern.
type Occurrence = (usize, usize, usize);

impl PhraseMatcher {
    /// Compiles one of the process-wide tables as a full DFA: the fastest to
    /// search, and built once. Fails only if the automaton would be too
    /// large, which these small tables never are; callers map the error.
    pub(crate) fn new<I, P>(phrases: I) -> Result<Self, aho_corasick::BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        Self::tables([phrases], Some(AhoCorasickKind::DFA))
    }

    /// Compiles several process-wide tables read from the same text into one
    /// full DFA (see [`PhraseMatcher::for_each_table_match`]).
    pub(crate) fn new_tables<T, I, P>(tables: T) -> Result<Self, aho_corasick::BuildError>
    where
        T: IntoIterator<Item = I>,
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        Self::tables(tables, Some(AhoCorasickKind::DFA))
    }

    /// Compiles a per-organization table (industries) with the automaton kind
    /// aho-corasick picks: a server may hold one per organization, and the
    /// industry text is short, so memory matters more than search speed.
    pub(crate) fn new_compact<I, P>(phrases: I) -> Result<Self, aho_corasick::BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        Self::tables([phrases], None)
    }

    fn tables<T, I, P>(
        tables: T,
        kind: Option<AhoCorasickKind>,
    ) -> Result<Self, aho_corasick::BuildError>
    where
        T: IntoIterator<Item = I>,
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let mut phrases = Vec::new();
        let mut origin = Vec::new();
        let mut count = 0;
        for (t, table) in tables.into_iter().enumerate() {
            for (i, p) in table.into_iter().enumerate() {
                phrases.push(p);
                origin.push((t, i));
            }
            count = t + 1;
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(phrases)?;
        Ok(Self {
            automaton,
            origin,
            tables: count,
        })
    }

    /// Calls `f(index)` for each whole-word match of the first table, left to
    /// right.
    pub(crate) fn for_each_word_match(&self, text: &str, mut f: impl FnMut(usize)) {
        self.for_each_table_match(text, |table, i| {
            if table == 0 {
                f(i)
            }
        });
    }

    /// Calls `f(table, index)` for each whole-word match of each table: a
    /// table's matches left to right, the tables one after the other, each
    /// exactly as if it had been searched alone.
    pub(crate) fn for_each_table_match(&self, text: &str, mut f: impl FnMut(usize, usize)) {
        let bytes = text.as_bytes();
        let mut found: SmallVec<[Occurrence; 16]> = self
            .automaton
            .find_overlapping_iter(bytes)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        if found.is_empty() {
            return;
        }
        // Start order; at one start the longest first, then table order.
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        for table in 0..self.tables {
            let mut at = 0;
            for &(start, end, pattern) in &found {
                let Some(&(t, i)) = self.origin.get(pattern) else {
                    continue;
                };
                if t != table || start < at {
                    continue;
                }
                // The leftmost-longest match of this table from `at`.
                if is_boundary(bytes, start, end) {
                    f(t, i);
                    at = end;
                } else {
                    at = start + 1;
                }
            }
        }
    }

    /// The first whole-word match of the first table, if any.
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

    /// The matcher as it was before tables shared an automaton: one
    /// leftmost-longest automaton per table, restarted after each match.
    fn oracle(phrases: &[&str]) -> impl Fn(&str) -> Vec<usize> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(phrases)
            .unwrap();
        move |text| {
            let bytes = text.as_bytes();
            let (mut out, mut at) = (Vec::new(), 0);
            while at < bytes.len() {
                let input = aho_corasick::Input::new(bytes).span(at..bytes.len());
                let Some(m) = ac.find(input) else { break };
                if is_boundary(bytes, m.start(), m.end()) {
                    out.push(m.pattern().as_usize());
                    at = m.end();
                } else {
                    at = m.start() + 1;
                }
            }
            out
        }
    }

    #[test]
    fn shared_automaton_matches_each_table_as_if_alone() {
        use crate::rules::{BUDGET_PHRASES, INTENT_PHRASES, URGENCY_PHRASES};
        let tables: Vec<Vec<&str>> = [URGENCY_PHRASES, BUDGET_PHRASES, INTENT_PHRASES]
            .iter()
            .map(|t| t.iter().map(|(p, _)| *p).collect())
            .collect();
        let shared = PhraseMatcher::new_tables(&tables).unwrap();
        let alone: Vec<PhraseMatcher> = tables
            .iter()
            .map(|t| PhraseMatcher::new(t).unwrap())
            .collect();
        let oracles: Vec<_> = tables.iter().map(|t| oracle(t)).collect();
        // Words of every table plus their fragments, glued by spaces,
        // punctuation or nothing, so phrases overlap across tables, sit
        // inside words and run into each other.
        let mut words: Vec<String> = tables.iter().flatten().map(|p| p.to_string()).collect();
        for p in tables.iter().flatten() {
            words.extend(p.split(' ').map(str::to_uppercase));
            if p.len() > 3 {
                words.push(p[1..].to_string());
                words.push(p[..p.len() - 2].to_string());
            }
        }
        words.extend(["x", "é", "not", "no", "the", "1"].map(String::from));
        let glue = [" ", " ", ", ", "", "-", "\n", "é"];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut matched = 0;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..1 + next(12) {
                text.push_str(&words[next(words.len())]);
                text.push_str(glue[next(glue.len())]);
            }
            let mut got = vec![Vec::new(); tables.len()];
            shared.for_each_table_match(&text, |t, i| got[t].push(i));
            for t in 0..tables.len() {
                let want = oracles[t](&text);
                assert_eq!(got[t], want, "table {t} on {text:?}");
                matched += want.len();
                // A table alone agrees too.
                let mut one = Vec::new();
                alone[t].for_each_word_match(&text, |i| one.push(i));
                assert_eq!(one, want, "alone, table {t} on {text:?}");
            }
        }
        assert!(
            matched > 20_000,
            "the texts exercise the tables: {matched} matches"
        );
    }

    #[test]
    fn non_ascii_text_is_handled_without_panics() {
        assert_eq!(matches(&["ceo"], "Président-ceo ünd ceoé"), vec![0]);
        assert_eq!(matches(&["ceo"], "日本語"), Vec::<usize>::new());
        assert_eq!(matches(&["ceo"], ""), Vec::<usize>::new());
    }
}

//! VADER: rule-based sentiment, ported from vaderSentiment 3.3.2.
//!
//! VADER (Hutto & Gilbert, ICWSM 2014) sums lexicon valences per token and
//! adjusts them with rules: boosters and dampeners ("very", "kind of"),
//! capitalisation emphasis, negation within three tokens ("not", "never so",
//! "without", "no"), the contrastive "but", "least", a few idioms ("the
//! bomb"), "!" and "?" amplification; the sum is squashed into a compound in
//! [-1, 1] and the token valences give neg/neu/pos proportions.
//!
//! The goal is parity with the Python package, quirks included, because users
//! compare our scores with published ones. The quirks kept on purpose are
//! named where they happen (search for "quirk"). The lexicon and emoji table
//! are the package's own data files (MIT), compiled in.
//!
//! ```
//! use neuracrm_sentiment::SentimentIntensityAnalyzer;
//! let vader = SentimentIntensityAnalyzer::new();
//! let s = vader.polarity_scores("The onboarding call went GREAT, thanks!");
//! assert!(s.compound > 0.5);
//! ```

mod pytext;
mod rules;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::hash::FastMap;

const LEXICON: &str = include_str!("../../data/vader_lexicon.txt");
const EMOJI_LEXICON: &str = include_str!("../../data/emoji_utf8_lexicon.txt");

/// VADER's four scores, rounded as Python's `polarity_scores` rounds them:
/// `neg`, `neu`, `pos` to 3 decimals and `compound` to 4.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Share of the text's sentiment mass that is negative, in [0, 1].
    pub neg: f64,
    /// Share that is neutral, in [0, 1].
    pub neu: f64,
    /// Share that is positive, in [0, 1].
    pub pos: f64,
    /// Normalised sum of valences, in [-1, 1].
    pub compound: f64,
}

impl Scores {
    /// One CSV line `neg,neu,pos,compound`, each with 4 decimals, formatted as
    /// Python's `f"{x:.4f}"` formats the rounded values (round-half-even on
    /// the exact binary value, `-0.0000` for negative zero).
    pub fn to_csv_line(&self) -> String {
        format!(
            "{:.4},{:.4},{:.4},{:.4}",
            self.neg, self.neu, self.pos, self.compound
        )
    }
}

/// The VADER analyser: immutable, `Send + Sync`, cheap to clone; scoring
/// allocates only per-call scratch. The compiled-in tables are parsed once
/// per process and shared by every analyser built with [`new`](Self::new)
/// (model files rebuild one on every load).
#[derive(Debug, Clone)]
pub struct SentimentIntensityAnalyzer {
    tables: Arc<Tables>,
}

#[derive(Debug)]
struct Tables {
    /// Lexicon valences and booster values by lowercase word: one probe per token.
    words: FastMap<Box<str>, WordInfo>,
    lexicon_len: usize,
    emojis: HashMap<char, Box<str>>,
}

/// The parsed compiled-in tables: constant data, built on first use.
static SHIPPED: OnceLock<Arc<Tables>> = OnceLock::new();

/// What VADER knows about a lowercase word.
#[derive(Debug, Clone, Copy, Default)]
struct WordInfo {
    valence: Option<f64>,
    booster: Option<f64>,
    negation: bool,
}

impl Default for SentimentIntensityAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentimentIntensityAnalyzer {
    /// Parse the compiled-in vaderSentiment 3.3.2 lexicon and emoji table.
    pub fn new() -> Self {
        let tables = SHIPPED.get_or_init(|| Self::from_tables(LEXICON, EMOJI_LEXICON).tables);
        Self {
            tables: Arc::clone(tables),
        }
    }

    /// Build from lexicon text (`word\tmean\t...` lines) and emoji text
    /// (`emoji\tdescription` lines) in the package's formats. Lines that do
    /// not have two tab-separated fields, or whose valence is not a number, are
    /// skipped (Python would raise; skipping keeps construction infallible).
    pub fn from_tables(lexicon: &str, emojis: &str) -> Self {
        let mut lex: FastMap<Box<str>, WordInfo> = FastMap::default();
        for line in lexicon.trim_end_matches('\n').split('\n') {
            let mut fields = pytext::strip(line).split('\t');
            if let (Some(word), Some(measure)) = (fields.next(), fields.next())
                && let Ok(v) = measure.parse::<f64>()
            {
                lex.entry(Box::from(word)).or_default().valence = Some(v);
            }
        }
        let mut emoji_map = HashMap::new();
        for line in emojis.trim_end_matches('\n').split('\n') {
            let mut fields = pytext::strip(line).split('\t');
            if let (Some(key), Some(description)) = (fields.next(), fields.next()) {
                // Python walks the text one code point at a time, so only
                // single-code-point keys can ever match (quirk: sequences such
                // as flags or skin tones are never replaced).
                let mut chars = key.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    emoji_map.insert(c, Box::from(description));
                }
            }
        }
        let lexicon_len = lex.len();
        for (word, value) in rules::boosters() {
            lex.entry(Box::from(word)).or_default().booster = Some(value);
        }
        for word in rules::negations() {
            lex.entry(Box::from(word)).or_default().negation = true;
        }
        Self {
            tables: Arc::new(Tables {
                words: lex,
                lexicon_len,
                emojis: emoji_map,
            }),
        }
    }

    /// Number of lexicon entries (7,506 for the shipped table).
    pub fn lexicon_len(&self) -> usize {
        self.tables.lexicon_len
    }

    /// Number of single-code-point emoji descriptions.
    pub fn emoji_len(&self) -> usize {
        self.tables.emojis.len()
    }

    /// Valence of a lowercased word, if it is in the lexicon.
    pub fn valence(&self, word: &str) -> Option<f64> {
        self.tables.words.get(word).and_then(|w| w.valence)
    }

    fn word_info(&self, word: &str) -> Option<WordInfo> {
        self.tables.words.get(word).copied()
    }

    /// Score a text exactly as vaderSentiment 3.3.2's `polarity_scores`.
    pub fn polarity_scores(&self, text: &str) -> Scores {
        let text = self.replace_emojis(text);
        let text = pytext::strip(&text);
        let sentiments = rules::token_sentiments(self, text);
        rules::score_valence(&sentiments, text)
    }

    /// Replace each emoji by its description, separated from a preceding
    /// non-space character by one space (but not from a following one, quirk).
    fn replace_emojis<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if text.is_ascii() {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut prev_space = true;
        for c in text.chars() {
            if let Some(description) = self.tables.emojis.get(&c) {
                if !prev_space {
                    out.push(' ');
                }
                out.push_str(description);
                prev_space = false;
            } else {
                out.push(c);
                prev_space = c == ' ';
            }
        }
        std::borrow::Cow::Owned(out)
    }
}

/// Python's `round(x, ndigits)`: the float nearest to the correctly rounded
/// (half-even on the exact binary value) decimal. Rust's fixed-precision
/// formatting rounds the same way, so a format/parse round trip reproduces it.
pub(crate) fn py_round(x: f64, ndigits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Fast path: k / 10^n with k and 10^n exact is the correctly rounded
    // decimal, and k is certain unless x·10^n lies within a hair of a tie.
    let p = 10f64.powi(ndigits);
    let scaled = x * p;
    let frac = scaled - scaled.floor();
    if scaled.abs() < 1e15 && (frac - 0.5).abs() > 1e-6 {
        let r = scaled.round() / p;
        // round() of a small negative gives -0.0, as Python does
        return r;
    }
    let n = ndigits.max(0) as usize;
    format!("{x:.n$}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tables_parse_completely() {
        let v = SentimentIntensityAnalyzer::new();
        // Counts from Python: len(SentimentIntensityAnalyzer().lexicon) and
        // the number of single-code-point keys of .emojis (vaderSentiment 3.3.2).
        assert_eq!(v.lexicon_len(), 7506);
        assert_eq!(v.emoji_len(), 1212);
        assert_eq!(v.valence("good"), Some(1.9));
        assert_eq!(v.valence(":)"), Some(2.0));
    }

    #[test]
    fn py_round_is_half_even_on_exact_value() {
        assert_eq!(py_round(0.0625, 3), 0.062);
        assert_eq!(py_round(0.1875, 3), 0.188);
        assert_eq!(py_round(2.5, 0), 2.0);
        assert_eq!(py_round(-0.00001, 4).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn csv_line_formats_like_python() {
        let s = Scores {
            neg: 0.0,
            neu: 0.125,
            pos: 0.875,
            compound: -0.0,
        };
        assert_eq!(s.to_csv_line(), "0.0000,0.1250,0.8750,-0.0000");
    }

    #[test]
    fn random_texts_never_panic_and_stay_in_range() {
        // Words chosen to trigger every rule at every position, including
        // the start and end of the text where the rules look 1-3 tokens away.
        const PIECES: &[&str] = &[
            "no", "NO", "not", "never", "so", "this", "without", "doubt", "but", "BUT", "least",
            "at", "very", "VERY", "kind", "of", "kinda", "the", "bomb", "shit", "kiss", "death",
            "to", "die", "for", "yeah", "right", "good", "GOOD", "bad", "Great", "isn't", "!", "?",
            "??", "!!!", ":)", ":(", "😀", "💔", "\u{1f}", "\u{a0}", " ", "\n", "ΣΑΣ", "İ", "...",
            "-", "'", "or", "nor", "happy", "sad", "",
        ];
        let vader = SentimentIntensityAnalyzer::new();
        let mut state = 0x1234_5678_u64;
        for _ in 0..3000 {
            let mut text = String::new();
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (state >> 60) as usize;
            for _ in 0..n {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(PIECES[(state >> 33) as usize % PIECES.len()]);
                if state & 1 == 0 {
                    text.push(' ');
                }
            }
            let s = vader.polarity_scores(&text);
            assert!((-1.0..=1.0).contains(&s.compound), "{text:?}: {s:?}");
            let total = s.neg + s.neu + s.pos;
            assert!(
                total == 0.0 || (total - 1.0).abs() <= 0.002,
                "{text:?}: {s:?}"
            );
        }
    }

    #[test]
    fn emoji_gets_a_space_before_but_not_after() {
        let v = SentimentIntensityAnalyzer::new();
        assert_eq!(
            v.replace_emojis("ok😁fine"),
            "ok beaming face with smiling eyesfine"
        );
    }
}

//! VADER's per-token rules and the final scoring, kept apart from table
//! loading so that each rule reads as the paper states it.
//!
//! Every token is looked up once (lowercase form, lexicon valence, booster
//! value, ALL-CAPS flag); the rules then work on those arrays. The Python
//! original re-lowercases the whole sentence inside each negation check, which
//! is most of the reason this port is much faster.

use super::{Scores, SentimentIntensityAnalyzer, py_round, pytext};

/// Increase in intensity from a booster word ("very").
const B_INCR: f64 = 0.293;
/// Decrease from a dampener ("kind of").
const B_DECR: f64 = -0.293;
/// Extra intensity for an ALL-CAPS word among mixed-case text.
const C_INCR: f64 = 0.733;
/// Multiplier applied by a negation.
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// Single-token boosters of BOOSTER_DICT (+0.293).
const BOOSTERS: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

/// Single-token dampeners of BOOSTER_DICT (-0.293). The multi-word ones
/// ("kind of", "sort of", "just enough") only matter as n-grams, see
/// [`booster_phrase`].
const DAMPENERS: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
    "sort-of",
];

/// Every single-token booster or dampener with its value; the analyser folds
/// them into its word table so that a token costs one hash probe.
pub(super) fn boosters() -> impl Iterator<Item = (&'static str, f64)> {
    BOOSTERS
        .iter()
        .map(|w| (*w, B_INCR))
        .chain(DAMPENERS.iter().map(|w| (*w, B_DECR)))
}

/// Two-word dampeners of BOOSTER_DICT.
fn booster_phrase(a: &str, b: &str) -> Option<f64> {
    matches!((a, b), ("just", "enough") | ("kind", "of") | ("sort", "of")).then_some(B_DECR)
}

/// SPECIAL_CASES of two words.
fn special_pair(a: &str, b: &str) -> Option<f64> {
    Some(match (a, b) {
        ("the", "shit") | ("the", "bomb") => 3.0,
        ("bad", "ass") => 1.5,
        ("bus", "stop") => 0.0,
        ("yeah", "right") => -2.0,
        ("beating", "heart") => 3.5,
        _ => return None,
    })
}

/// SPECIAL_CASES of three words. ("badass" is a one-word key in Python that
/// can never match a joined n-gram, so it has no effect there either.)
fn special_triple(a: &str, b: &str, c: &str) -> Option<f64> {
    Some(match (a, b, c) {
        ("kiss", "of", "death") => -1.5,
        ("to", "die", "for") => 3.0,
        _ => return None,
    })
}

/// Every negation word, for the analyser's word table.
pub(super) fn negations() -> impl Iterator<Item = &'static str> {
    NEGATE.iter().copied()
}

/// What the rules need to know about each token, computed once.
struct Token {
    /// Byte range of the lowercased token in [`Sentence::lower`].
    start: usize,
    end: usize,
    valence: Option<f64>,
    booster: Option<f64>,
    upper: bool,
    /// `negated([word])`: a NEGATE word, or any word containing "n't".
    negated: bool,
}

struct Sentence {
    /// All lowercased tokens, back to back (one allocation per text).
    lower: String,
    tokens: Vec<Token>,
    cap_diff: bool,
}

impl Sentence {
    fn w(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.lower[t.start..t.end]
    }

    fn in_lexicon(&self, i: usize) -> bool {
        self.tokens[i].valence.is_some()
    }

    /// `scalar_inc_dec`: the push a booster at `j` gives to `valence`.
    fn scalar(&self, j: usize, valence: f64) -> f64 {
        let t = &self.tokens[j];
        let Some(b) = t.booster else { return 0.0 };
        let mut scalar = if valence < 0.0 { -b } else { b };
        if t.upper && self.cap_diff {
            // quirk: a zero valence counts as negative here
            if valence > 0.0 {
                scalar += C_INCR;
            } else {
                scalar -= C_INCR;
            }
        }
        scalar
    }

    /// `_negation_check` for the token `start + 1` places before `i`.
    fn negation(&self, valence: f64, start: usize, i: usize) -> f64 {
        let is = |k: usize, a: &str, b: &str| self.w(k) == a || self.w(k) == b;
        let negated = |k: usize| self.tokens[k].negated;
        match start {
            0 if negated(i - 1) => valence * N_SCALAR,
            1 if self.w(i - 2) == "never" && is(i - 1, "so", "this") => valence * 1.25,
            1 if self.w(i - 2) == "without" && self.w(i - 1) == "doubt" => valence,
            1 if negated(i - 2) => valence * N_SCALAR,
            // quirk: Python's `a and b or c` makes "so"/"this" right before
            // the word boost it even without "never".
            2 if (self.w(i - 3) == "never" && is(i - 2, "so", "this"))
                || is(i - 1, "so", "this") =>
            {
                valence * 1.25
            }
            2 if self.w(i - 3) == "without"
                && (self.w(i - 2) == "doubt" || self.w(i - 1) == "doubt") =>
            {
                valence
            }
            2 if negated(i - 3) => valence * N_SCALAR,
            _ => valence,
        }
    }

    /// `_special_idioms_check`, only ever reached with `i >= 3`.
    fn special_idioms(&self, mut valence: f64, i: usize) -> f64 {
        let (w3, w2, w1, w0) = (self.w(i - 3), self.w(i - 2), self.w(i - 1), self.w(i));
        // First match wins among the n-grams that end at or before `i`.
        if let Some(v) = special_pair(w1, w0)
            .or_else(|| special_triple(w2, w1, w0))
            .or_else(|| special_pair(w2, w1))
            .or_else(|| special_triple(w3, w2, w1))
            .or_else(|| special_pair(w3, w2))
        {
            valence = v;
        }
        let n = self.tokens.len();
        if n - 1 > i
            && let Some(v) = special_pair(w0, self.w(i + 1))
        {
            valence = v;
        }
        if n - 1 > i + 1
            && let Some(v) = special_triple(w0, self.w(i + 1), self.w(i + 2))
        {
            valence = v;
        }
        // quirk: a preceding "kind of" is added, whatever the sign.
        for (a, b) in [(w3, w2), (w2, w1)] {
            if let Some(v) = booster_phrase(a, b) {
                valence += v;
            }
        }
        valence
    }

    /// `_least_check`: "least good" negates, "at least" / "very least" do not.
    fn least(&self, valence: f64, i: usize) -> f64 {
        let negates = i > 0
            && !self.in_lexicon(i - 1)
            && self.w(i - 1) == "least"
            && (i == 1 || (self.w(i - 2) != "at" && self.w(i - 2) != "very"));
        if negates { valence * N_SCALAR } else { valence }
    }

    /// `sentiment_valence` for a token known to be in the lexicon.
    fn valence(&self, i: usize, lexicon_value: f64) -> f64 {
        let n = self.tokens.len();
        let mut valence = lexicon_value;
        // "no" before a lexicon word negates it instead of counting itself.
        if self.w(i) == "no" && i + 1 < n && self.in_lexicon(i + 1) {
            valence = 0.0;
        }
        if (i > 0 && self.w(i - 1) == "no")
            || (i > 1 && self.w(i - 2) == "no")
            || (i > 2 && self.w(i - 3) == "no" && matches!(self.w(i - 1), "or" | "nor"))
        {
            valence = lexicon_value * N_SCALAR;
        }
        if self.tokens[i].upper && self.cap_diff {
            // quirk: a zero valence (a negating "NO") becomes negative
            if valence > 0.0 {
                valence += C_INCR;
            } else {
                valence -= C_INCR;
            }
        }
        for start in 0..3 {
            if i > start && !self.in_lexicon(i - start - 1) {
                let s = self.scalar(i - start - 1, valence);
                let damp = [1.0, 0.95, 0.9][start];
                valence += if s != 0.0 { s * damp } else { s };
                valence = self.negation(valence, start, i);
                if start == 2 {
                    valence = self.special_idioms(valence, i);
                }
            }
        }
        self.least(valence, i)
    }
}

/// One valence per whitespace token of `text` (emojis already replaced), with
/// the "but" rule applied.
pub(super) fn token_sentiments(vader: &SentimentIntensityAnalyzer, text: &str) -> Vec<f64> {
    let mut lower = String::with_capacity(text.len());
    let mut tokens = Vec::with_capacity(text.len() / 4 + 1);
    for raw in pytext::split(text) {
        let word = pytext::strip_punc_if_word(raw);
        let start = lower.len();
        pytext::push_lower(&mut lower, word);
        let info = vader.word_info(&lower[start..]);
        tokens.push(Token {
            start,
            end: lower.len(),
            valence: info.and_then(|w| w.valence),
            booster: info.and_then(|w| w.booster),
            upper: pytext::is_upper(word),
            negated: info.is_some_and(|w| w.negation) || lower[start..].contains("n't"),
        });
    }
    let n_upper = tokens.iter().filter(|t| t.upper).count();
    let sentence = Sentence {
        cap_diff: n_upper > 0 && n_upper < tokens.len(),
        lower,
        tokens,
    };
    let n = sentence.tokens.len();
    let mut sentiments = Vec::with_capacity(n);
    for (i, token) in sentence.tokens.iter().enumerate() {
        let v = if token.booster.is_some()
            || (sentence.w(i) == "kind" && i + 1 < n && sentence.w(i + 1) == "of")
        {
            // modifiers carry no sentiment of their own
            0.0
        } else if let Some(lex) = token.valence {
            sentence.valence(i, lex)
        } else {
            0.0
        };
        sentiments.push(v);
    }
    if let Some(bi) = (0..n).find(|&i| sentence.w(i) == "but") {
        but_shift(&mut sentiments, bi);
    }
    sentiments
}

/// `_but_check`: halve what precedes the first "but", boost what follows by
/// half. quirk: Python rewrites `sentiments[sentiments.index(value)]`, the
/// FIRST element equal to the value at hand, so when an already scaled value
/// equals a later one (0.95 after halving 1.9, say) the earlier token is
/// scaled again and the later one not at all. We reproduce that, since it
/// changes scores of real sentences.
fn but_shift(sentiments: &mut [f64], bi: usize) {
    for pos in 0..sentiments.len() {
        let v = sentiments[pos];
        if v == 0.0 {
            continue; // scaling zero changes nothing
        }
        let si = sentiments[..=pos]
            .iter()
            .position(|&x| x == v)
            .unwrap_or(pos);
        if si < bi {
            sentiments[si] = v * 0.5;
        } else if si > bi {
            sentiments[si] = v * 1.5;
        }
    }
}

/// "!" adds 0.292 each (at most 4); two or three "?" add 0.18 each, more add 0.96.
fn punctuation_emphasis(text: &str) -> f64 {
    let ep = text.bytes().filter(|&b| b == b'!').count().min(4);
    let qm = text.bytes().filter(|&b| b == b'?').count();
    let qm_amp = match qm {
        0 | 1 => 0.0,
        2 | 3 => qm as f64 * 0.18,
        _ => 0.96,
    };
    ep as f64 * 0.292 + qm_amp
}

/// `normalize`: x / sqrt(x² + 15), clamped to [-1, 1].
fn normalize(score: f64) -> f64 {
    (score / (score * score + 15.0).sqrt()).clamp(-1.0, 1.0)
}

/// `score_valence`: compound and proportions from the token valences.
pub(super) fn score_valence(sentiments: &[f64], text: &str) -> Scores {
    if sentiments.is_empty() {
        return Scores {
            neg: 0.0,
            neu: 0.0,
            pos: 0.0,
            compound: 0.0,
        };
    }
    // Left-to-right summation, as CPython 3.11's sum() (3.12 compensates).
    let mut sum: f64 = sentiments.iter().fold(0.0, |acc, &s| acc + s);
    let amp = punctuation_emphasis(text);
    if sum > 0.0 {
        sum += amp;
    } else if sum < 0.0 {
        sum -= amp;
    }
    let compound = normalize(sum);

    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0f64, 0.0f64, 0u32);
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0; // +1 compensates for neutral words counted as 1
        } else if s < 0.0 {
            neg_sum += s - 1.0;
        } else {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += amp;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= amp;
    }
    let total = pos_sum + neg_sum.abs() + f64::from(neu_count);
    Scores {
        neg: py_round((neg_sum / total).abs(), 3),
        neu: py_round((f64::from(neu_count) / total).abs(), 3),
        pos: py_round((pos_sum / total).abs(), 3),
        compound: py_round(compound, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn but_shift_rewrites_the_first_equal_value() {
        // Python 3.11: S._but_check(['a','b','but','c'], [1.9, 0.95, 0, -2.5])
        // -> [0.475, 0.95, 0, -3.75]; S._but_check(['but','a','b'], [0, 2.0, 3.0])
        // -> [0, 4.5, 3.0].
        let mut s = [1.9, 0.95, 0.0, -2.5];
        but_shift(&mut s, 2);
        assert_eq!(s, [0.475, 0.95, 0.0, -3.75]);
        let mut s = [0.0, 2.0, 3.0];
        but_shift(&mut s, 0);
        assert_eq!(s, [0.0, 4.5, 3.0]);
    }

    #[test]
    fn question_marks_count_from_two() {
        assert_eq!(punctuation_emphasis("really?"), 0.0);
        assert_eq!(punctuation_emphasis("really??"), 2.0 * 0.18);
        assert_eq!(punctuation_emphasis("?!?!?!?"), 0.96 + 3.0 * 0.292);
        assert_eq!(punctuation_emphasis("!!!!!!"), 4.0 * 0.292);
    }

    #[test]
    fn normalize_is_bounded() {
        assert_eq!(normalize(0.0), 0.0);
        assert!(normalize(1e300) <= 1.0);
        assert!(normalize(-1e300) >= -1.0);
    }
}

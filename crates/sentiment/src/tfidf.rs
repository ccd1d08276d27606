//! TF-IDF features, compatible with scikit-learn's `TfidfVectorizer`.
//!
//! The classifiers need a fixed-length, sparse representation of a text whose
//! numbers mean the same at training and at prediction time. We follow
//! scikit-learn so that results can be compared with the Python peer:
//!
//! - tokens: the text is lowercased, then every maximal run of two or more
//!   word characters (`(?u)\b\w\w+\b`: letters, digits, `_`) is a token;
//! - n-grams: unigrams then bigrams (`"a b"`, joined with one space);
//! - vocabulary: terms with document frequency ≥ `min_df`, then the
//!   `max_features` most frequent by total count (ties: alphabetical), indexed
//!   alphabetically;
//! - `idf = ln((1 + n) / (1 + df)) + 1` (`smooth_idf=True`), fitted on the
//!   training texts only and stored with the model;
//! - `tf` = raw count, or `1 + ln(count)` with `sublinear_tf`;
//! - each row is scaled to unit Euclidean length (`norm='l2'`).
//!
//! Known difference: Rust's `char::is_alphanumeric` also accepts the
//! combining vowel signs of some scripts (Unicode Other_Alphabetic), which
//! Python's `\w` does not; English text is unaffected.

use serde::{Deserialize, Serialize};

use crate::hash::FastMap;
use crate::{Error, Result};

/// Options of the vectoriser. `Default` is scikit-learn's defaults except
/// `ngram_max = 2` and `max_features = Some(5000)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TfidfConfig {
    /// Largest n-gram length (1 = words only, 2 = words and word pairs).
    pub ngram_max: usize,
    /// Keep at most this many terms (the most frequent), `None` for all.
    pub max_features: Option<usize>,
    /// Ignore terms that occur in fewer documents than this.
    pub min_df: usize,
    /// Use `1 + ln(tf)` instead of the raw count.
    pub sublinear_tf: bool,
}

impl Default for TfidfConfig {
    fn default() -> Self {
        Self {
            ngram_max: 2,
            max_features: Some(5000),
            min_df: 1,
            sublinear_tf: false,
        }
    }
}

/// A sparse row: strictly increasing feature indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseRow {
    /// Feature indices, strictly increasing.
    pub indices: Vec<u32>,
    /// One value per index.
    pub values: Vec<f64>,
}

/// A fitted TF-IDF vectoriser: vocabulary and IDF weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TfidfParts", into = "TfidfParts")]
pub struct TfidfVectorizer {
    config: TfidfConfig,
    /// Terms in index order (alphabetical).
    terms: Vec<String>,
    idf: Vec<f64>,
    index: FastMap<Box<str>, u32>,
}

/// The serialised form: the lookup map is rebuilt, and checked, on load.
#[derive(Serialize, Deserialize)]
struct TfidfParts {
    config: TfidfConfig,
    terms: Vec<String>,
    idf: Vec<f64>,
}

impl From<TfidfVectorizer> for TfidfParts {
    fn from(v: TfidfVectorizer) -> Self {
        Self {
            config: v.config,
            terms: v.terms,
            idf: v.idf,
        }
    }
}

impl TryFrom<TfidfParts> for TfidfVectorizer {
    type Error = Error;

    fn try_from(p: TfidfParts) -> Result<Self> {
        if p.terms.len() != p.idf.len() {
            return Err(Error::InvalidModel(format!(
                "vocabulary has {} terms but IDF has {} weights",
                p.terms.len(),
                p.idf.len()
            )));
        }
        if p.idf.iter().any(|w| !w.is_finite() || *w < 1.0) {
            return Err(Error::InvalidModel(
                "IDF weights must be finite and >= 1".into(),
            ));
        }
        if p.terms.len() > u32::MAX as usize {
            return Err(Error::InvalidModel("vocabulary too large".into()));
        }
        let mut index = FastMap::default();
        for (i, t) in p.terms.iter().enumerate() {
            if index.insert(Box::from(t.as_str()), i as u32).is_some() {
                return Err(Error::InvalidModel(format!(
                    "duplicate vocabulary term {t:?}"
                )));
            }
        }
        Ok(Self {
            config: p.config,
            terms: p.terms,
            idf: p.idf,
            index,
        })
    }
}

/// Lowercase `text` and return its tokens: maximal runs of ≥ 2 word characters.
pub fn tokenize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    lower
        .split(|c: char| !is_word(c))
        .filter(|t| t.chars().nth(1).is_some())
        .map(str::to_owned)
        .collect()
}

/// Call `f` on every n-gram of `tokens` (unigrams first, then bigrams, ...).
fn for_each_ngram(tokens: &[String], ngram_max: usize, buf: &mut String, mut f: impl FnMut(&str)) {
    for t in tokens {
        f(t);
    }
    for n in 2..=ngram_max {
        for window in tokens.windows(n) {
            buf.clear();
            for (k, t) in window.iter().enumerate() {
                if k > 0 {
                    buf.push(' ');
                }
                buf.push_str(t);
            }
            f(buf);
        }
    }
}

impl TfidfVectorizer {
    /// Learn the vocabulary and IDF from the training texts.
    pub fn fit<S: AsRef<str>>(texts: &[S], config: TfidfConfig) -> Result<Self> {
        if config.ngram_max == 0 {
            return Err(Error::InvalidOption("ngram_max must be at least 1".into()));
        }
        if config.max_features == Some(0) {
            return Err(Error::InvalidOption(
                "max_features must be at least 1".into(),
            ));
        }
        if texts.is_empty() {
            return Err(Error::NotEnoughData("no texts to fit TF-IDF on".into()));
        }
        // term -> (document frequency, total count, last document seen)
        let mut stats: FastMap<Box<str>, (u32, u64, u32)> = FastMap::default();
        let mut buf = String::new();
        for (d, text) in texts.iter().enumerate() {
            let d = d as u32;
            let tokens = tokenize(text.as_ref());
            for_each_ngram(&tokens, config.ngram_max, &mut buf, |term| {
                if let Some(s) = stats.get_mut(term) {
                    s.1 += 1;
                    if s.2 != d {
                        s.0 += 1;
                        s.2 = d;
                    }
                } else {
                    stats.insert(Box::from(term), (1, 1, d));
                }
            });
        }
        let mut kept: Vec<(Box<str>, u32, u64)> = stats
            .into_iter()
            .filter(|(_, (df, _, _))| *df as usize >= config.min_df)
            .map(|(t, (df, tf, _))| (t, df, tf))
            .collect();
        kept.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(limit) = config.max_features
            && kept.len() > limit
        {
            // Most frequent first; a stable sort keeps ties alphabetical, as
            // scikit-learn's `argsort(-tfs, kind="stable")`.
            kept.sort_by_key(|k| std::cmp::Reverse(k.2));
            kept.truncate(limit);
            kept.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        if kept.is_empty() {
            return Err(Error::NotEnoughData(
                "no term survives tokenisation and min_df; texts need words of two or more characters".into(),
            ));
        }
        let n = texts.len() as f64;
        let idf = kept
            .iter()
            .map(|(_, df, _)| ((1.0 + n) / (1.0 + f64::from(*df))).ln() + 1.0)
            .collect();
        let terms: Vec<String> = kept.into_iter().map(|(t, _, _)| t.into_string()).collect();
        TfidfVectorizer::try_from(TfidfParts { config, terms, idf })
    }

    /// The options this vectoriser was fitted with.
    pub fn config(&self) -> TfidfConfig {
        self.config
    }

    /// Number of features (vocabulary size).
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when the vocabulary is empty (never for a fitted vectoriser).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The vocabulary in feature-index order.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The IDF weight of each feature.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }

    /// Feature index of a term, if it is in the vocabulary.
    pub fn index_of(&self, term: &str) -> Option<u32> {
        self.index.get(term).copied()
    }

    /// The L2-normalised TF-IDF row of one text (empty if no term is known).
    pub fn transform(&self, text: &str) -> SparseRow {
        let tokens = tokenize(text);
        let mut counts: Vec<(u32, u32)> = Vec::with_capacity(tokens.len() * self.config.ngram_max);
        let mut buf = String::new();
        for_each_ngram(&tokens, self.config.ngram_max, &mut buf, |term| {
            if let Some(&i) = self.index.get(term) {
                counts.push((i, 1));
            }
        });
        counts.sort_unstable_by_key(|c| c.0);
        counts.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 += 1;
            }
            same
        });
        let mut row = SparseRow {
            indices: Vec::with_capacity(counts.len()),
            values: Vec::with_capacity(counts.len()),
        };
        for (i, c) in counts {
            let tf = if self.config.sublinear_tf {
                1.0 + f64::from(c).ln()
            } else {
                f64::from(c)
            };
            row.indices.push(i);
            row.values.push(tf * self.idf[i as usize]);
        }
        let norm = row.values.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            for v in &mut row.values {
                *v /= norm;
            }
        }
        row
    }

    /// Transform many texts.
    pub fn transform_all<S: AsRef<str>>(&self, texts: &[S]) -> Vec<SparseRow> {
        texts.iter().map(|t| self.transform(t.as_ref())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn tokens_follow_sklearn_pattern() {
        assert_eq!(
            tokenize("I can't SEE a_b, x 42 café!"),
            ["can", "see", "a_b", "42", "café"]
        );
        assert!(tokenize("a b c ! ?").is_empty());
    }

    /// Worked example, unigrams only, smooth IDF, raw tf, l2 norm.
    ///
    /// docs: d0 = "good service", d1 = "bad service", d2 = "good good price"
    /// vocabulary (alphabetical): bad=0, good=1, price=2, service=3
    /// df: bad 1, good 2, price 1, service 2; n = 3
    /// idf(df=1) = ln(4/2) + 1 = 1 + ln 2 = 1.6931471805599454
    /// idf(df=2) = ln(4/3) + 1 = 1.2876820724517808
    /// d2 raw: good 2 × 1.28768… = 2.5753641449035616, price 1.6931471805599454
    /// |d2| = sqrt(2.5753641449…² + 1.6931471805…²) = 3.0820849848...
    /// d2 = [good 0.8355915…, price 0.5493512…]
    /// (scikit-learn 1.9.1: TfidfVectorizer().fit_transform(docs)[2] is
    /// [0, 0.8355915419449176, 0.5493512310263033, 0].)
    #[test]
    fn three_document_example_by_hand() {
        let docs = ["good service", "bad service", "good good price"];
        let config = TfidfConfig {
            ngram_max: 1,
            max_features: None,
            min_df: 1,
            sublinear_tf: false,
        };
        let v = TfidfVectorizer::fit(&docs, config).unwrap();
        assert_eq!(v.terms(), ["bad", "good", "price", "service"]);
        let idf1 = 1.0 + 2f64.ln();
        let idf2 = 1.0 + (4.0f64 / 3.0).ln();
        assert!(close(v.idf()[0], idf1) && close(v.idf()[1], idf2));
        assert!(close(v.idf()[2], idf1) && close(v.idf()[3], idf2));

        let row = v.transform(docs[2]);
        assert_eq!(row.indices, [1, 2]);
        let (g, p) = (2.0 * idf2, idf1);
        let norm = (g * g + p * p).sqrt();
        assert!(close(row.values[0], g / norm), "{:?}", row.values);
        assert!(close(row.values[1], p / norm));
        assert!(close(row.values[0], 0.835_591_541_944_917_6));
        assert!(close(row.values[1], 0.549_351_231_026_303_3));

        // d0: equal idf for good/service -> both 1/sqrt 2.
        let row = v.transform(docs[0]);
        assert!(close(row.values[0], std::f64::consts::FRAC_1_SQRT_2));
        // Unknown words only -> empty row, no NaN.
        assert_eq!(v.transform("zzz qqq"), SparseRow::default());
    }

    #[test]
    fn bigrams_min_df_cap_and_sublinear() {
        let docs = ["very good call", "very good demo", "bad call"];
        let config = TfidfConfig {
            ngram_max: 2,
            max_features: Some(3),
            min_df: 2,
            sublinear_tf: true,
        };
        let v = TfidfVectorizer::fit(&docs, config).unwrap();
        // df>=2: call(2), good(2), very(2), "very good"(2); counts all 2 ->
        // ties keep alphabetical order: call, good, very.
        assert_eq!(v.terms(), ["call", "good", "very"]);
        let v = TfidfVectorizer::fit(
            &docs,
            TfidfConfig {
                max_features: None,
                ..config
            },
        )
        .unwrap();
        assert_eq!(v.index_of("very good"), Some(3));
        let row = v.transform("call call");
        assert_eq!(row.indices, [0]);
        assert!(close(row.values[0], 1.0));
    }

    #[test]
    fn serde_round_trip_rebuilds_the_index_and_rejects_mismatch() {
        let v =
            TfidfVectorizer::fit(&["good service", "bad service"], TfidfConfig::default()).unwrap();
        let json = serde_json::to_string(&v).unwrap();
        let back: TfidfVectorizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.index_of("service"), v.index_of("service"));
        let bad = json.replace("\"idf\":[", "\"idf\":[1.5,");
        assert!(serde_json::from_str::<TfidfVectorizer>(&bad).is_err());
    }
}

//! The trained sentiment model and its file format.
//!
//! A model file travels between machines and outlives the binary that wrote
//! it, so loading must reject anything that is not exactly what we wrote —
//! and do so with an error, never a panic, and never by running code (the
//! payload is plain data; there is no pickle-style deserialisation here).
//!
//! Layout (little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 16 | magic `NEURACRM-SENTMDL` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 8 | payload length |
//! | 8 | FNV-1a 64 checksum of the payload |
//! | n | payload: JSON of the vocabulary, IDF, classifier, labels, metrics |
//!
//! FNV-1a detects every single-byte change (each step is a bijection of the
//! state), which is what a damaged file looks like; it is not a signature.

use serde::{Deserialize, Serialize};

use crate::forest::RandomForest;
use crate::logreg::LogisticRegression;
use crate::tfidf::{SparseRow, TfidfVectorizer};
use crate::{Error, Label, Result, SentimentIntensityAnalyzer};

/// First bytes of every model file.
pub const MAGIC: &[u8; 16] = b"NEURACRM-SENTMDL";
/// The payload format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 16 + 4 + 8 + 8;

/// The fitted classifier inside a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum Classifier {
    /// A random forest over TF-IDF features.
    RandomForest(RandomForest),
    /// Multinomial logistic regression over TF-IDF features.
    LogisticRegression(LogisticRegression),
}

impl Classifier {
    fn predict_proba(&self, row: &SparseRow) -> Vec<f64> {
        match self {
            Classifier::RandomForest(m) => m.predict_proba(row),
            Classifier::LogisticRegression(m) => m.predict_proba(row),
        }
    }

    fn n_classes(&self) -> usize {
        match self {
            Classifier::RandomForest(m) => m.n_classes(),
            Classifier::LogisticRegression(m) => m.n_classes(),
        }
    }

    /// Short name: `rf` or `logreg`.
    pub fn name(&self) -> &'static str {
        match self {
            Classifier::RandomForest(_) => "rf",
            Classifier::LogisticRegression(_) => "logreg",
        }
    }
}

/// Held-out figures stored with a model, so that whoever loads it knows how
/// good it was when trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    /// Held-out accuracy.
    pub accuracy: f64,
    /// Held-out macro-F1 over the model's labels.
    pub macro_f1: f64,
    /// Training rows.
    pub n_train: usize,
    /// Held-out rows.
    pub n_test: usize,
}

/// Number of VADER features appended after the TF-IDF ones: neg, neu, pos,
/// max(compound, 0), max(−compound, 0) — all non-negative, so that zero
/// still means "absent" to the sparse forest.
pub const VADER_FEATURES: usize = 5;

/// The VADER analyser a model uses for its extra features; rebuilt (not
/// stored) on load, and equal to any other since the lexicon is compiled in.
#[derive(Debug, Clone, Default)]
pub struct VaderFeatures(pub(crate) SentimentIntensityAnalyzer);

impl PartialEq for VaderFeatures {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The feature row of a text: L2-normalised TF-IDF, then (when enabled) the
/// VADER features at indices `vectorizer.len()..+5`.
pub(crate) fn featurize(
    vectorizer: &TfidfVectorizer,
    vader: Option<&SentimentIntensityAnalyzer>,
    text: &str,
) -> SparseRow {
    let mut row = vectorizer.transform(text);
    if let Some(vader) = vader {
        let s = vader.polarity_scores(text);
        let base = vectorizer.len() as u32;
        let extra = [
            s.neg,
            s.neu,
            s.pos,
            s.compound.max(0.0),
            (-s.compound).max(0.0),
        ];
        for (k, v) in extra.into_iter().enumerate() {
            if v > 0.0 {
                row.indices.push(base + k as u32);
                row.values.push(v);
            }
        }
    }
    row
}

/// Vectoriser + classifier + class labels: everything needed to predict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentModel {
    /// TF-IDF vocabulary and IDF, fitted on the training split only.
    pub vectorizer: TfidfVectorizer,
    /// Whether VADER's scores are appended to the TF-IDF features.
    pub vader_features: bool,
    /// The analyser behind `vader_features` (not serialised).
    #[serde(skip)]
    pub vader: VaderFeatures,
    /// The classifier over those features.
    pub classifier: Classifier,
    /// Class `i` of the classifier is `labels[i]` (2 or 3 labels, in order).
    pub labels: Vec<Label>,
    /// Held-out metrics measured at training time.
    pub metrics: ModelMetrics,
    /// `neuracrm-sentiment` version that wrote the model.
    pub written_by: String,
}

/// One prediction of a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// Most probable label.
    pub label: Label,
    /// Its probability.
    pub confidence: f64,
    /// Probability of negative, neutral, positive (0 for a class the model
    /// was not trained on).
    pub probabilities: [f64; 3],
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl SentimentModel {
    /// Predict one text.
    pub fn predict(&self, text: &str) -> Prediction {
        let vader = self.vader_features.then_some(&self.vader.0);
        let row = featurize(&self.vectorizer, vader, text);
        let p = self.classifier.predict_proba(&row);
        let mut probabilities = [0.0; 3];
        for (label, prob) in self.labels.iter().zip(&p) {
            probabilities[*label as usize] = *prob;
        }
        // First maximum in class order, as numpy's argmax.
        let (mut best, mut best_p) = (0, f64::NEG_INFINITY);
        for (i, &q) in p.iter().enumerate() {
            if q > best_p {
                best = i;
                best_p = q;
            }
        }
        Prediction {
            label: self.labels.get(best).copied().unwrap_or(Label::Neutral),
            confidence: best_p.max(0.0),
            probabilities,
        }
    }

    /// Serialise to the file format described in the module docs.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = serde_json::to_vec(self).map_err(|e| Error::InvalidModel(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Parse and validate a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(Error::NotAModel);
        }
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated {
                expected: HEADER_LEN as u64,
                found: bytes.len() as u64,
            });
        }
        let word = |at: usize, n: usize| {
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(&bytes[at..at + n]);
            u64::from_le_bytes(buf)
        };
        let version = word(16, 4) as u32;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let expected = word(20, 8);
        let checksum = word(28, 8);
        let payload = &bytes[HEADER_LEN..];
        let found = payload.len() as u64;
        if found < expected {
            return Err(Error::Truncated { expected, found });
        }
        if found > expected {
            return Err(Error::InvalidModel(format!(
                "{} unexpected bytes after the payload",
                found - expected
            )));
        }
        if fnv1a(payload) != checksum {
            return Err(Error::ChecksumMismatch);
        }
        let model: SentimentModel =
            serde_json::from_slice(payload).map_err(|e| Error::InvalidModel(e.to_string()))?;
        model.validate()?;
        Ok(model)
    }

    /// Write the model to `path`.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        std::fs::write(path, self.to_bytes()?)?;
        Ok(())
    }

    /// Read and validate a model from `path`.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Self::from_bytes(&std::fs::read(path)?)
    }

    fn validate(&self) -> Result<()> {
        let n = self.labels.len();
        if !(2..=3).contains(&n) || self.labels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::InvalidModel(
                "labels must be 2 or 3 distinct classes in order".into(),
            ));
        }
        if self.classifier.n_classes() != n {
            return Err(Error::InvalidModel(
                "classifier and labels disagree on the number of classes".into(),
            ));
        }
        let d = self.vectorizer.len()
            + if self.vader_features {
                VADER_FEATURES
            } else {
                0
            };
        match &self.classifier {
            Classifier::RandomForest(m) => m.validate(d),
            Classifier::LogisticRegression(m) => m.validate(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn foreign_and_short_files_are_named_errors() {
        assert!(matches!(
            SentimentModel::from_bytes(b""),
            Err(Error::NotAModel)
        ));
        assert!(matches!(
            SentimentModel::from_bytes(b"\x89PNG\r\n\x1a\n0000000000"),
            Err(Error::NotAModel)
        ));
        assert!(matches!(
            SentimentModel::from_bytes(b"NEURACRM-SENTMDL\x01\0"),
            Err(Error::Truncated { .. })
        ));
        let mut v2 = MAGIC.to_vec();
        v2.extend_from_slice(&2u32.to_le_bytes());
        v2.extend_from_slice(&[0; 16]);
        assert!(matches!(
            SentimentModel::from_bytes(&v2),
            Err(Error::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        ));
    }
}

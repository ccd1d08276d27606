//! The model file must round-trip exactly and reject anything else with an
//! error: foreign files, truncation, flipped bytes, and payloads that parse
//! but do not make sense. Nothing here may panic.

use neuracrm_sentiment::forest::ForestConfig;
use neuracrm_sentiment::model::{FORMAT_VERSION, MAGIC};
use neuracrm_sentiment::{Algorithm, Error, SentimentModel, TrainOptions};

use crate::common::synthetic;

fn model(algorithm: Algorithm) -> SentimentModel {
    let options = TrainOptions {
        algorithm,
        forest: ForestConfig {
            n_trees: 3,
            ..ForestConfig::default()
        },
        ..TrainOptions::default()
    };
    neuracrm_sentiment::train(&synthetic(90), &options)
        .unwrap()
        .0
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A well-formed file around an arbitrary payload.
fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Tiny deterministic generator for the fuzz loops.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[test]
fn round_trip_is_exact_for_both_algorithms() {
    for algorithm in [Algorithm::RandomForest, Algorithm::LogisticRegression] {
        let m = model(algorithm);
        let bytes = m.to_bytes().unwrap();
        assert_eq!(&bytes[..16], MAGIC);
        let back = SentimentModel::from_bytes(&bytes).unwrap();
        assert!(back == m, "round trip changed the model");
        for text in ["great demo", "the invoice is wrong", "", "未知"] {
            assert_eq!(back.predict(text), m.predict(text));
        }
    }
}

#[test]
fn foreign_files_are_not_models() {
    for bytes in [
        &b""[..],
        b"{\"vectorizer\": {}}",
        b"\x80\x04\x95pickle",
        b"PK\x03\x04zipfile........................",
    ] {
        assert!(
            matches!(SentimentModel::from_bytes(bytes), Err(Error::NotAModel)),
            "{bytes:?}"
        );
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = model(Algorithm::LogisticRegression).to_bytes().unwrap();
    for len in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        let err = SentimentModel::from_bytes(&bytes[..len]).unwrap_err();
        if len >= 36 {
            assert!(matches!(err, Error::Truncated { .. }), "len {len}: {err}");
        }
    }
    let mut longer = bytes.clone();
    longer.push(b' ');
    assert!(matches!(
        SentimentModel::from_bytes(&longer),
        Err(Error::InvalidModel(_))
    ));
}

#[test]
fn random_byte_flips_are_always_rejected_never_panic() {
    let bytes = model(Algorithm::RandomForest).to_bytes().unwrap();
    let mut rng = Lcg(42);
    for _ in 0..3000 {
        let mut b = bytes.clone();
        let flips = 1 + rng.next(3);
        for _ in 0..flips {
            let at = rng.next(b.len());
            b[at] ^= 1 << rng.next(8);
        }
        assert!(
            SentimentModel::from_bytes(&b).is_err(),
            "a flipped file was accepted"
        );
    }
}

#[test]
fn checksummed_payload_mutations_never_panic_and_loaded_models_predict() {
    // Re-checksum after each mutation so the validation of the payload itself
    // is exercised, not just the checksum.
    for algorithm in [Algorithm::RandomForest, Algorithm::LogisticRegression] {
        let bytes = model(algorithm).to_bytes().unwrap();
        let payload = &bytes[36..];
        let mut rng = Lcg(7);
        let digits = b"0123456789-e.";
        let mut accepted = 0;
        for _ in 0..1500 {
            let mut p = payload.to_vec();
            let at = rng.next(p.len());
            // Mostly change digits (indices, thresholds, sizes) so the JSON
            // still parses and the semantic checks get the work.
            p[at] = if p[at].is_ascii_digit() {
                digits[rng.next(digits.len())]
            } else {
                p[at] ^ 0x01
            };
            if let Ok(m) = SentimentModel::from_bytes(&wrap(&p)) {
                accepted += 1;
                for text in ["great demo, the team loved it", "broken and slow", ""] {
                    let pred = m.predict(text);
                    assert!(pred.confidence.is_finite());
                }
            }
        }
        // Some digit changes are harmless (a probability's last digit): the
        // loop must have exercised the accepted path too.
        assert!(accepted > 0, "{algorithm}: no mutation was accepted");
    }
}

#[test]
fn inconsistent_payloads_are_invalid_models() {
    let m = model(Algorithm::RandomForest);
    let mut json: serde_json::Value = serde_json::from_slice(&m.to_bytes().unwrap()[36..]).unwrap();
    let check =
        |v: &serde_json::Value| SentimentModel::from_bytes(&wrap(&serde_json::to_vec(v).unwrap()));

    let mut one_label = json.clone();
    one_label["labels"] = serde_json::json!(["positive"]);
    assert!(matches!(check(&one_label), Err(Error::InvalidModel(_))));

    let mut short_idf = json.clone();
    short_idf["vectorizer"]["idf"].as_array_mut().unwrap().pop();
    assert!(matches!(check(&short_idf), Err(Error::InvalidModel(_))));

    let mut cycle = json.clone();
    cycle["classifier"]["trees"][0]["left"][0] = serde_json::json!(0);
    assert!(matches!(check(&cycle), Err(Error::InvalidModel(_))));

    json["classifier"]["trees"][0]["feature"][0] = serde_json::json!(1_000_000);
    assert!(matches!(check(&json), Err(Error::InvalidModel(_))));
}

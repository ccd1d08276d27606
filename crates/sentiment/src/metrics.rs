//! Classification metrics as scikit-learn computes them (`accuracy_score`,
//! `f1_score(average="macro", zero_division=0)`), so that our reports and the
//! Python peer's can be compared number for number.

use crate::Label;

/// Share of predictions equal to the gold label (0 for empty input).
pub fn accuracy(gold: &[Label], pred: &[Label]) -> f64 {
    let n = gold.len().min(pred.len());
    if n == 0 {
        return 0.0;
    }
    let hits = gold.iter().zip(pred).filter(|(g, p)| g == p).count();
    hits as f64 / n as f64
}

/// Unweighted mean over `labels` of each label's F1 = 2·tp / (2·tp + fp + fn);
/// a label with no gold and no predicted rows scores 0 (`zero_division=0`).
pub fn macro_f1(gold: &[Label], pred: &[Label], labels: &[Label]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let total: f64 = labels
        .iter()
        .map(|&l| {
            let (mut tp, mut fp, mut fneg) = (0u64, 0u64, 0u64);
            for (&g, &p) in gold.iter().zip(pred) {
                match (g == l, p == l) {
                    (true, true) => tp += 1,
                    (false, true) => fp += 1,
                    (true, false) => fneg += 1,
                    (false, false) => {}
                }
            }
            let denom = 2 * tp + fp + fneg;
            if denom == 0 {
                0.0
            } else {
                (2 * tp) as f64 / denom as f64
            }
        })
        .sum();
    total / labels.len() as f64
}

/// The distinct labels of `gold`, in class order.
pub fn labels_present(gold: &[Label]) -> Vec<Label> {
    Label::ALL
        .into_iter()
        .filter(|l| gold.contains(l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::{Negative as N, Neutral as U, Positive as P};

    #[test]
    fn worked_by_hand() {
        // gold: P P P N N U ; pred: P P N N P P
        // P: tp 2, fp 2 (rows 5, 6), fn 1 (row 3) -> F1 = 4/7
        // N: tp 1, fp 1 (row 3), fn 1 (row 5)     -> F1 = 2/4 = 1/2
        // U: tp 0, fp 0, fn 1                     -> F1 = 0
        // macro = (4/7 + 1/2 + 0) / 3 = 15/42 = 0.357142857...
        let gold = [P, P, P, N, N, U];
        let pred = [P, P, N, N, P, P];
        assert_eq!(accuracy(&gold, &pred), 3.0 / 6.0);
        let f1 = macro_f1(&gold, &pred, &[N, U, P]);
        assert!((f1 - 15.0 / 42.0).abs() < 1e-15, "{f1}");
        // Only the two labels of a binary data set are averaged.
        let f1 = macro_f1(&gold[..5], &pred[..5], &[N, P]);
        // P: tp 2, fp 1, fn 1 -> 4/6; N: tp 1, fp 1, fn 1 -> 2/4
        assert!((f1 - (4.0 / 6.0 + 0.5) / 2.0).abs() < 1e-15, "{f1}");
    }

    #[test]
    fn empty_and_perfect() {
        assert_eq!(accuracy(&[], &[]), 0.0);
        assert_eq!(macro_f1(&[P, N], &[P, N], &[N, P]), 1.0);
        assert_eq!(labels_present(&[P, P, N]), [N, P]);
    }
}

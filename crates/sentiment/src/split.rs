//! Stratified train/test split, so that held-out scores are measured on a
//! test set with the same class (and source) mix as the data, as
//! scikit-learn's `train_test_split(..., stratify=...)` does.

use crate::rng::Rng;
use crate::{Error, Result};

/// Indices of the training and test rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training row indices, increasing.
    pub train: Vec<usize>,
    /// Test row indices, increasing.
    pub test: Vec<usize>,
}

/// Split `0..strata.len()` so that the test set holds `ceil(test_fraction ×
/// n)` rows (scikit-learn's rounding) and each stratum contributes in
/// proportion: every stratum gets the floor of its share, and the remaining
/// rows go to the strata with the largest fractional parts (ties to the larger
/// stratum, then the first seen). Rows within a stratum are chosen by a
/// shuffle seeded with `seed`, so the split is reproducible.
pub fn stratified_split<K: Ord + Clone>(
    strata: &[K],
    test_fraction: f64,
    seed: u64,
) -> Result<Split> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::InvalidOption(format!(
            "test fraction must be in (0, 1), got {test_fraction}"
        )));
    }
    let n = strata.len();
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n < 2 || n_test == 0 || n_test >= n {
        return Err(Error::NotEnoughData(format!(
            "cannot split {n} rows {test_fraction} for testing"
        )));
    }
    let mut groups: std::collections::BTreeMap<K, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, k) in strata.iter().enumerate() {
        groups.entry(k.clone()).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let shares: Vec<f64> = groups
        .iter()
        .map(|g| g.len() as f64 * n_test as f64 / n as f64)
        .collect();
    let mut take: Vec<usize> = shares.iter().map(|s| s.floor() as usize).collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = shares[a] - shares[a].floor();
        let fb = shares[b] - shares[b].floor();
        fb.total_cmp(&fa)
            .then(groups[b].len().cmp(&groups[a].len()))
    });
    let mut missing = n_test - take.iter().sum::<usize>();
    for &g in order.iter().cycle() {
        if missing == 0 {
            break;
        }
        if take[g] < groups[g].len() {
            take[g] += 1;
            missing -= 1;
        }
    }
    let mut rng = Rng::new(seed);
    let (mut train, mut test) = (Vec::with_capacity(n - n_test), Vec::with_capacity(n_test));
    for (mut g, k) in groups.into_iter().zip(take) {
        rng.shuffle(&mut g);
        test.extend_from_slice(&g[..k]);
        train.extend_from_slice(&g[k..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_sizes_and_disjointness() {
        // 50 a, 30 b, 20 c; 20% -> exactly 10, 6, 4 in test.
        let strata: Vec<char> = (0..100)
            .map(|i| {
                if i < 50 {
                    'a'
                } else if i < 80 {
                    'b'
                } else {
                    'c'
                }
            })
            .collect();
        let s = stratified_split(&strata, 0.2, 42).unwrap();
        assert_eq!(s.test.len(), 20);
        assert_eq!(s.train.len(), 80);
        let count = |c| s.test.iter().filter(|&&i| strata[i] == c).count();
        assert_eq!((count('a'), count('b'), count('c')), (10, 6, 4));
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn rounding_follows_ceil_and_largest_remainder() {
        // n = 11, 20% -> ceil(2.2) = 3 test rows; shares 7*3/11 = 1.91, 4*3/11 = 1.09
        // floors 1 + 1, the extra row goes to the larger remainder (the 7).
        let strata = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
        let s = stratified_split(&strata, 0.2, 1).unwrap();
        assert_eq!(s.test.len(), 3);
        assert_eq!(s.test.iter().filter(|&&i| strata[i] == 0).count(), 2);
    }

    #[test]
    fn seed_determines_the_split() {
        let strata: Vec<u8> = (0..200).map(|i| (i % 3) as u8).collect();
        let a = stratified_split(&strata, 0.2, 42).unwrap();
        assert_eq!(a, stratified_split(&strata, 0.2, 42).unwrap());
        assert_ne!(a, stratified_split(&strata, 0.2, 43).unwrap());
    }

    #[test]
    fn rejects_bad_fractions_and_tiny_data() {
        assert!(stratified_split(&[1, 2, 3], 0.0, 1).is_err());
        assert!(stratified_split(&[1, 2, 3], 1.0, 1).is_err());
        assert!(stratified_split(&[1], 0.5, 1).is_err());
    }
}

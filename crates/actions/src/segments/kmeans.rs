//! k-means clustering for segment suggestions: a seeded k-means++ start,
//! Lloyd's iterations, the mean silhouette that chooses k, and the adjusted
//! Rand index the tests report. Pure: no IO, no clock, no global random
//! state, so a fit is a function of its points and its seed.
//!
//! Hand-written rather than `linfa-clustering`: the whole of it is about
//! two hundred lines; the random numbers come from a SplitMix64 of our own,
//! so a seed gives the same clusters whatever a dependency upgrade does to
//! `rand`'s generators (linfa takes any `Rng` and its defaults have changed
//! between releases); and it adds no `ndarray` stack to the build of a
//! crate that every front end compiles.
//!
//! ```
//! use neuracrm_actions::segments::kmeans::{Points, kmeans};
//! let p = Points::new(1, vec![0.0, 0.1, 0.2, 10.0, 10.1, 10.2]);
//! let fit = kmeans(&p, 2, 7);
//! assert_eq!(fit.labels[0], fit.labels[2]);
//! assert_ne!(fit.labels[0], fit.labels[3]);
//! ```

/// Points of `dim` coordinates each, stored row after row.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    dim: usize,
    data: Vec<f64>,
}

impl Points {
    /// `data.len()` must be a multiple of `dim` (a partial last row is
    /// dropped).
    pub fn new(dim: usize, mut data: Vec<f64>) -> Points {
        let dim = dim.max(1);
        data.truncate(data.len() / dim * dim);
        Points { dim, data }
    }

    /// How many points.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Coordinates per point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The `i`-th point.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The points at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Points {
        let mut data = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Points {
            dim: self.dim,
            data,
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): small, fast, and fixed for
/// good, so a seed means the same numbers in every version.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize % n.max(1)
    }
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// A clustering: each point's cluster and each cluster's centre.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Cluster of each point, `0..k`.
    pub labels: Vec<usize>,
    /// Centre of each cluster (the mean of its points).
    pub centres: Vec<Vec<f64>>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
}

impl Fit {
    /// The cluster whose centre is nearest to `p` (the lower index on a tie).
    pub fn nearest(&self, p: &[f64]) -> usize {
        nearest(&self.centres, p).0
    }
}

fn nearest(centres: &[Vec<f64>], p: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centre) in centres.iter().enumerate() {
        let d = dist2(p, centre);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

/// Starts tried per fit; the one with the least inertia is kept.
pub const STARTS: u64 = 3;
/// Lloyd iterations at most per start.
pub const MAX_ITERATIONS: usize = 100;

/// Clusters `points` into `k` groups (`k` at least 1, at most the number of
/// points): [`STARTS`] k-means++ starts drawn from `seed`, each iterated
/// until no point changes cluster, keeping the tightest.
pub fn kmeans(points: &Points, k: usize, seed: u64) -> Fit {
    let k = k.clamp(1, points.len().max(1));
    let mut rng = SplitMix64::new(seed);
    let mut best: Option<Fit> = None;
    for _ in 0..STARTS {
        let fit = lloyd(points, plus_plus(points, k, &mut rng));
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            best = Some(fit);
        }
    }
    best.unwrap_or(Fit {
        labels: Vec::new(),
        centres: Vec::new(),
        inertia: 0.0,
    })
}

/// The k-means++ start (Arthur and Vassilvitskii 2007): the first centre
/// uniformly, each next one with probability proportional to its squared
/// distance from the nearest centre chosen so far.
fn plus_plus(points: &Points, k: usize, rng: &mut SplitMix64) -> Vec<Vec<f64>> {
    let n = points.len();
    if n == 0 {
        return Vec::new();
    }
    let mut centres = vec![points.row(rng.below(n)).to_vec()];
    let mut d2: Vec<f64> = (0..n).map(|i| dist2(points.row(i), &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d2.iter().sum();
        let next = if total > 0.0 {
            let mut target = rng.next_f64() * total;
            let mut pick = n - 1;
            for (i, d) in d2.iter().enumerate() {
                if target < *d {
                    pick = i;
                    break;
                }
                target -= d;
            }
            pick
        } else {
            // Every point sits on a centre already: any will do.
            rng.below(n)
        };
        let c = points.row(next).to_vec();
        for (i, d) in d2.iter_mut().enumerate() {
            *d = d.min(dist2(points.row(i), &c));
        }
        centres.push(c);
    }
    centres
}

/// Lloyd's iterations from `centres`. A cluster left empty is re-seeded
/// with the point farthest from its centre, and the iterations go on.
fn lloyd(points: &Points, mut centres: Vec<Vec<f64>>) -> Fit {
    let (n, dim, k) = (points.len(), points.dim(), centres.len());
    let mut labels = vec![usize::MAX; n];
    let mut dists = vec![0.0; n];
    let mut inertia = 0.0;
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        inertia = 0.0;
        for (i, label) in labels.iter_mut().enumerate() {
            let (c, d) = nearest(&centres, points.row(i));
            inertia += d;
            dists[i] = d;
            if *label != c {
                *label = c;
                changed = true;
            }
        }
        let mut sums = vec![vec![0.0; dim]; k];
        let mut counts = vec![0usize; k];
        for (i, &c) in labels.iter().enumerate() {
            counts[c] += 1;
            for (s, x) in sums[c].iter_mut().zip(points.row(i)) {
                *s += x;
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                // Re-seed an empty cluster with the worst-served point
                // (each empty cluster a different one).
                let far = (0..n)
                    .max_by(|&a, &b| dists[a].total_cmp(&dists[b]))
                    .unwrap_or(0);
                centres[c] = points.row(far).to_vec();
                dists[far] = f64::NEG_INFINITY;
                changed = true;
                continue;
            }
            centres[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
        }
        if !changed {
            break;
        }
    }
    Fit {
        labels,
        centres,
        inertia,
    }
}

/// The mean silhouette of a clustering (Rousseeuw 1987) over the points at
/// `sample` (indices into `points`), each point's distances taken to the
/// other sampled points only, as scikit-learn's `silhouette_score` with
/// `sample_size` does. A point alone in its cluster scores 0. Between -1
/// and 1; higher is better separated.
pub fn silhouette(points: &Points, labels: &[usize], k: usize, sample: &[usize]) -> f64 {
    if sample.len() < 2 || k < 2 {
        return 0.0;
    }
    let mut total = 0.0;
    let mut sums = vec![0.0; k];
    let mut counts = vec![0usize; k];
    for &i in sample {
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        let p = points.row(i);
        for &j in sample {
            if i != j {
                let c = labels[j];
                sums[c] += dist2(p, points.row(j)).sqrt();
                counts[c] += 1;
            }
        }
        let own = labels[i];
        if counts[own] == 0 {
            continue;
        }
        let a = sums[own] / counts[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && counts[c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    total / sample.len() as f64
}

/// `n` distinct indices of `0..len` drawn with `rng` (all of them, in
/// order, when `n >= len`), in increasing order.
pub fn sample_indices(len: usize, n: usize, rng: &mut SplitMix64) -> Vec<usize> {
    if n >= len {
        return (0..len).collect();
    }
    // A partial Fisher–Yates shuffle.
    let mut all: Vec<usize> = (0..len).collect();
    for i in 0..n {
        let j = i + rng.below(len - i);
        all.swap(i, j);
    }
    let mut picked = all[..n].to_vec();
    picked.sort_unstable();
    picked
}

/// Standardises each coordinate to mean 0 and standard deviation 1 (a
/// constant coordinate becomes 0); returns the means and deviations used,
/// to place other points the same way.
pub fn standardise(points: &mut Points) -> Scaler {
    let (n, dim) = (points.len(), points.dim());
    let mut mean = vec![0.0; dim];
    for i in 0..n {
        for (m, x) in mean.iter_mut().zip(points.row(i)) {
            *m += x / n as f64;
        }
    }
    let mut sd = vec![0.0; dim];
    for i in 0..n {
        for ((s, x), m) in sd.iter_mut().zip(points.row(i)).zip(&mean) {
            *s += (x - m) * (x - m) / n as f64;
        }
    }
    let scaler = Scaler {
        mean,
        sd: sd.into_iter().map(f64::sqrt).collect(),
    };
    for row in points.data.chunks_mut(dim) {
        scaler.apply(row);
    }
    scaler
}

/// The means and standard deviations of a standardisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    /// Mean of each coordinate.
    pub mean: Vec<f64>,
    /// Standard deviation of each coordinate.
    pub sd: Vec<f64>,
}

impl Scaler {
    /// Standardises one point in place.
    pub fn apply(&self, row: &mut [f64]) {
        for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.sd) {
            // A deviation at rounding level is a constant coordinate.
            *x = if *s > 1e-9 * (1.0 + m.abs()) {
                (*x - m) / s
            } else {
                0.0
            };
        }
    }
}

/// The adjusted Rand index of two labellings of the same points (Hubert
/// and Arabie 1985): 1 for the same partition, about 0 for chance.
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 1.0;
    }
    let ka = a.iter().max().map_or(0, |m| m + 1);
    let kb = b.iter().max().map_or(0, |m| m + 1);
    let mut table = vec![vec![0u64; kb]; ka];
    for i in 0..n {
        table[a[i]][b[i]] += 1;
    }
    let pairs = |x: u64| (x * x.saturating_sub(1) / 2) as f64;
    let index: f64 = table.iter().flatten().map(|&x| pairs(x)).sum();
    let rows: f64 = table.iter().map(|r| pairs(r.iter().sum())).sum();
    let cols: f64 = (0..kb)
        .map(|j| pairs(table.iter().map(|r| r[j]).sum()))
        .sum();
    let expected = rows * cols / pairs(n as u64);
    let max = (rows + cols) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three round clusters of `per` points each around known centres,
    /// drawn from `seed`; returns the points and the true labels.
    fn blobs(per: usize, seed: u64) -> (Points, Vec<usize>) {
        let centres = [[0.0, 0.0, 0.0], [6.0, 6.0, 0.0], [0.0, 6.0, 6.0]];
        let mut rng = SplitMix64::new(seed);
        let mut data = Vec::new();
        let mut truth = Vec::new();
        for i in 0..per * centres.len() {
            let c = i % centres.len();
            for x in centres[c] {
                // A sum of uniforms: roughly normal, spread about 1.
                let noise: f64 = (0..6).map(|_| rng.next_f64() - 0.5).sum::<f64>() * 1.4;
                data.push(x + noise);
            }
            truth.push(c);
        }
        (Points::new(3, data), truth)
    }

    #[test]
    fn it_finds_known_clusters_and_the_silhouette_picks_their_number() {
        let (points, truth) = blobs(300, 11);
        let all: Vec<usize> = (0..points.len()).collect();
        let mut best = (0, f64::MIN);
        for k in 2..=8 {
            let fit = kmeans(&points, k, 42);
            let s = silhouette(&points, &fit.labels, k, &all);
            if s > best.1 {
                best = (k, s);
            }
        }
        assert_eq!(best.0, 3, "silhouette chose k = {} ({})", best.0, best.1);
        let fit = kmeans(&points, 3, 42);
        let ari = adjusted_rand_index(&truth, &fit.labels);
        println!("adjusted Rand index against the true clusters: {ari:.4}");
        assert!(ari > 0.98, "adjusted Rand index {ari}");
    }

    #[test]
    fn a_seed_gives_the_same_clusters_every_time() {
        let (points, _) = blobs(200, 5);
        let a = kmeans(&points, 4, 9);
        assert_eq!(a, kmeans(&points, 4, 9));
        // Another seed may start elsewhere; with four clusters over three
        // blobs the split differs for some seed.
        assert!((1..20).any(|s| kmeans(&points, 4, s).labels != a.labels));
    }

    #[test]
    fn the_adjusted_rand_index_is_one_for_the_same_partition_and_near_zero_for_chance() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        let mut rng = SplitMix64::new(3);
        let a: Vec<usize> = (0..5000).map(|_| rng.below(4)).collect();
        let b: Vec<usize> = (0..5000).map(|_| rng.below(4)).collect();
        assert!(adjusted_rand_index(&a, &b).abs() < 0.01);
        // scikit-learn 1.5: adjusted_rand_score([0,0,1,1,2,2],[0,0,1,2,2,2]) = 0.4444444444444444
        let v = adjusted_rand_index(&[0, 0, 1, 1, 2, 2], &[0, 0, 1, 2, 2, 2]);
        assert!((v - 4.0 / 9.0).abs() < 1e-12, "{v}");
    }

    #[test]
    fn the_silhouette_matches_a_hand_count() {
        // Two clusters on a line: {0, 1} and {4}. Point 0: a = 1, b = 4,
        // s = 0.75; point 1: a = 1, b = 3, s = 2/3; point 4 is alone: 0.
        let p = Points::new(1, vec![0.0, 1.0, 4.0]);
        let s = silhouette(&p, &[0, 0, 1], 2, &[0, 1, 2]);
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12, "{s}");
    }

    #[test]
    fn standardising_gives_mean_zero_and_unit_spread() {
        let mut p = Points::new(2, vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0]);
        let s = standardise(&mut p);
        assert_eq!(s.mean, vec![3.0, 5.0]);
        let col: Vec<f64> = (0..3).map(|i| p.row(i)[0]).collect();
        let sd = (8.0f64 / 3.0).sqrt();
        assert_eq!(col, vec![-2.0 / sd, 0.0, 2.0 / sd]);
        assert_eq!(p.row(1)[1], 0.0, "a constant coordinate becomes 0");
    }

    #[test]
    fn more_clusters_than_distinct_points_still_labels_every_point() {
        // Five identical points and one apart, asked for four clusters.
        let p = Points::new(1, vec![1.0, 1.0, 1.0, 1.0, 1.0, 9.0]);
        let fit = kmeans(&p, 4, 1);
        assert_eq!(fit.centres.len(), 4);
        assert!(fit.labels.iter().all(|&c| c < 4), "{:?}", fit.labels);
        assert_ne!(fit.labels[0], fit.labels[5]);
        assert_eq!(fit.inertia, 0.0);
    }
}

//! Random forest on sparse features (scikit-learn's defaults: gini,
//! bootstrap, `max_features = sqrt`, trees grown until pure), trees trained in
//! parallel with `std::thread::scope`.
//!
//! Why sparse-aware: a TF-IDF row has a few dozen non-zeros out of thousands
//! of features. A node therefore looks only at the features its samples
//! actually contain: a feature absent from every sample of the node is
//! constant there, and scikit-learn's splitter skips constant features and
//! keeps drawing until it has `max_features` non-constant ones. Drawing
//! uniformly among the node's non-constant features is the same distribution,
//! found in time proportional to the node's non-zeros instead of the
//! vocabulary size.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;
use crate::tfidf::SparseRow;
use crate::{Error, Result};

/// Training options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestConfig {
    /// Number of trees.
    pub n_trees: usize,
    /// Features tried per split; `None` = floor(sqrt(n_features)).
    pub max_features: Option<usize>,
    /// Deepest allowed node; `None` grows until leaves are pure.
    pub max_depth: Option<usize>,
    /// Seed of the bootstrap and feature draws (tree `t` uses a stream
    /// derived from `seed` and `t`, so results do not depend on threads).
    pub seed: u64,
    /// Worker threads; 0 = available parallelism.
    pub threads: usize,
}

impl Default for ForestConfig {
    fn default() -> Self {
        Self {
            n_trees: 100,
            max_features: None,
            max_depth: None,
            seed: 42,
            threads: 0,
        }
    }
}

const LEAF: u32 = u32::MAX;

/// A node walks its rows when that touches fewer non-zeros than scanning
/// `mtry` columns would, within this factor (measured on the VADER gold set:
/// 0.5, 8 and 32 were slower than 2).
const ROW_FACTOR: f64 = 2.0;

/// One tree as flat arrays. Internal node `i`: go to `left[i]` when
/// `x[feature[i]] <= threshold[i]`, else `right[i]`; children always have a
/// larger index than their parent (checked on load, so no cycles). Leaf `i`
/// has `feature[i] == u32::MAX` and its class probabilities at
/// `proba[left[i] * n_classes ..]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tree {
    feature: Vec<u32>,
    threshold: Vec<f32>,
    left: Vec<u32>,
    right: Vec<u32>,
    proba: Vec<f32>,
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    n_classes: usize,
    n_features: usize,
    trees: Vec<Tree>,
}

/// Compressed sparse rows, f32 like scikit-learn's tree input.
struct Csr {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Csr {
    fn new(rows: &[SparseRow]) -> Self {
        let mut m = Csr {
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        };
        for r in rows {
            for (&j, &v) in r.indices.iter().zip(&r.values) {
                // Only positive entries are stored; TF-IDF has no others.
                if v > 0.0 {
                    m.indices.push(j);
                    m.values.push(v as f32);
                }
            }
            m.indptr.push(m.indices.len());
        }
        m
    }

    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }
}

/// The same matrix by columns, to scan one feature's non-zeros.
struct Csc {
    indptr: Vec<usize>,
    rows: Vec<u32>,
    values: Vec<f32>,
}

impl Csc {
    fn new(x: &Csr, n_features: usize) -> Self {
        let mut indptr = vec![0usize; n_features + 1];
        for &j in &x.indices {
            indptr[j as usize + 1] += 1;
        }
        for j in 0..n_features {
            indptr[j + 1] += indptr[j];
        }
        let mut fill = indptr.clone();
        let mut rows = vec![0u32; x.indices.len()];
        let mut values = vec![0f32; x.indices.len()];
        for i in 0..x.indptr.len() - 1 {
            let (idx, val) = x.row(i);
            for (&j, &v) in idx.iter().zip(val) {
                let at = &mut fill[j as usize];
                rows[*at] = i as u32;
                values[*at] = v;
                *at += 1;
            }
        }
        Csc {
            indptr,
            rows,
            values,
        }
    }

    fn col(&self, j: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[j], self.indptr[j + 1]);
        (&self.rows[a..b], &self.values[a..b])
    }
}

/// Per-thread scratch, sized to the vocabulary and the data once.
struct Scratch {
    /// Per-feature statistics of the current node, one cache line apart at
    /// most (the row walk touches them in random order).
    stats: Vec<FeatureStat>,
    now: u32,
    present: Vec<u32>,
    offsets: Vec<usize>,
    entries: Vec<(f32, u32)>,
    /// A permutation of all features, drawn from by the column strategy.
    features: Vec<u32>,
    /// Position of each sample in the tree's sample array (`u32::MAX` when
    /// the bootstrap left it out): node membership is a range test.
    pos: Vec<u32>,
    right: Vec<u32>,
}

/// What the row walk learns about one feature in one node; `stamp` says
/// which node the other fields belong to, so nothing needs clearing.
#[derive(Clone, Copy, Default)]
struct FeatureStat {
    stamp: u32,
    count: u32,
    min: f32,
    max: f32,
    chosen: u32,
    slot: u32,
}

impl Scratch {
    fn new(n_features: usize, n_samples: usize) -> Self {
        Self {
            stats: vec![FeatureStat::default(); n_features],
            now: 0,
            present: Vec::new(),
            offsets: Vec::new(),
            entries: Vec::new(),
            features: (0..n_features as u32).collect(),
            pos: vec![u32::MAX; n_samples],
            right: Vec::new(),
        }
    }
}

type Counts = [f64; 3];

fn gini_proxy(c: &Counts, w: f64) -> f64 {
    if w <= 0.0 {
        0.0
    } else {
        c.iter().map(|x| x * x).sum::<f64>() / w
    }
}

struct Builder<'a> {
    x: &'a Csr,
    xc: &'a Csc,
    y: &'a [usize],
    n_classes: usize,
    mtry: usize,
    max_depth: usize,
    /// Mean non-zeros per row and per column, to pick a strategy per node.
    row_nnz: f64,
    col_nnz: f64,
}

struct BestSplit {
    feature: u32,
    threshold: f32,
    proxy: f64,
}

/// Score every threshold of one feature. `entries` are the node's samples
/// that have the feature (value > 0); the others sit at 0, left of every
/// threshold. Keeps the best split (largest gini proxy) in `best`.
fn evaluate_feature(
    feature: u32,
    entries: &mut [(f32, u32)],
    y: &[usize],
    weight: &[u32],
    counts: &Counts,
    best: &mut Option<BestSplit>,
) {
    entries.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let w_total: f64 = counts.iter().sum();
    let mut left = *counts;
    for &(_, i) in entries.iter() {
        left[y[i as usize]] -= f64::from(weight[i as usize]);
    }
    let mut wl: f64 = left.iter().sum();
    let consider = |left: &Counts, wl: f64, lo: f32, hi: f32, best: &mut Option<BestSplit>| {
        let mut right = *counts;
        for (r, l) in right.iter_mut().zip(left) {
            *r -= l;
        }
        let proxy = gini_proxy(left, wl) + gini_proxy(&right, w_total - wl);
        if best.as_ref().is_none_or(|b| proxy > b.proxy) {
            // Midpoint, as scikit-learn; if it rounds up to `hi`, use `lo`.
            let mut threshold = lo / 2.0 + hi / 2.0;
            if threshold >= hi || !threshold.is_finite() {
                threshold = lo;
            }
            *best = Some(BestSplit {
                feature,
                threshold,
                proxy,
            });
        }
    };
    if wl > 0.5 {
        consider(&left, wl, 0.0, entries[0].0, best);
    }
    for p in 0..entries.len().saturating_sub(1) {
        let (v, i) = entries[p];
        let w = f64::from(weight[i as usize]);
        left[y[i as usize]] += w;
        wl += w;
        let next = entries[p + 1].0;
        if next > v {
            consider(&left, wl, v, next, best);
        }
    }
}

impl Builder<'_> {
    fn grow(&self, rng: &mut Rng, s: &mut Scratch) -> Tree {
        let n = self.y.len();
        let mut weight = vec![0u32; n];
        for _ in 0..n {
            weight[rng.below(n)] += 1;
        }
        let mut samples: Vec<u32> = (0..n as u32).filter(|&i| weight[i as usize] > 0).collect();
        // Per-tree state must not leak from the previous tree of this thread,
        // or the forest would depend on the thread count.
        for (k, f) in s.features.iter_mut().enumerate() {
            *f = k as u32;
        }
        s.pos.fill(u32::MAX);
        for (k, &i) in samples.iter().enumerate() {
            s.pos[i as usize] = k as u32;
        }
        let mut tree = Tree {
            feature: vec![LEAF],
            threshold: vec![0.0],
            left: vec![0],
            right: vec![0],
            proba: Vec::new(),
        };
        let counts_of = |ids: &[u32]| {
            let mut c = [0.0; 3];
            for &i in ids {
                c[self.y[i as usize]] += f64::from(weight[i as usize]);
            }
            c
        };
        let root_counts = counts_of(&samples);
        // (node index, start, end, depth, class counts)
        let mut stack = vec![(0usize, 0usize, samples.len(), 0usize, root_counts)];
        while let Some((node, start, end, depth, counts)) = stack.pop() {
            let pure = counts.iter().filter(|&&c| c > 0.0).count() <= 1;
            let split = if pure || end - start < 2 || depth >= self.max_depth {
                None
            } else if (end - start) as f64 * self.row_nnz
                <= ROW_FACTOR * self.mtry as f64 * self.col_nnz
            {
                self.best_split_rows(&samples[start..end], &weight, &counts, rng, s)
            } else {
                self.best_split_columns(start, end, &weight, &counts, rng, s)
            };
            let Some(best) = split else {
                let total: f64 = counts.iter().sum();
                tree.feature[node] = LEAF;
                tree.left[node] = (tree.proba.len() / self.n_classes) as u32;
                tree.proba
                    .extend(counts[..self.n_classes].iter().map(|&c| (c / total) as f32));
                continue;
            };
            // The samples with x[feature] > threshold go right.
            s.right.clear();
            let f = best.feature as usize;
            let (rows, vals) = self.xc.col(f);
            if (end - start) * 8 < rows.len() {
                for &i in &samples[start..end] {
                    let (idx, val) = self.x.row(i as usize);
                    if let Ok(p) = idx.binary_search(&best.feature)
                        && val[p] > best.threshold
                    {
                        s.right.push(i);
                    }
                }
            } else {
                for (&i, &v) in rows.iter().zip(vals) {
                    let p = s.pos[i as usize] as usize;
                    if (start..end).contains(&p) && v > best.threshold {
                        s.right.push(i);
                    }
                }
            }
            // Move them to the end of the node's range; only they move.
            let mut hi = end;
            for &i in &s.right {
                let p = s.pos[i as usize] as usize;
                hi -= 1;
                let other = samples[hi];
                samples.swap(p, hi);
                s.pos[other as usize] = p as u32;
                s.pos[i as usize] = hi as u32;
            }
            let right_counts = counts_of(&s.right);
            let mut left_counts = counts;
            for (l, r) in left_counts.iter_mut().zip(right_counts) {
                *l -= r;
            }
            let (l, r) = (tree.feature.len(), tree.feature.len() + 1);
            for _ in 0..2 {
                tree.feature.push(LEAF);
                tree.threshold.push(0.0);
                tree.left.push(0);
                tree.right.push(0);
            }
            tree.feature[node] = best.feature;
            tree.threshold[node] = best.threshold;
            tree.left[node] = l as u32;
            tree.right[node] = r as u32;
            stack.push((r, hi, end, depth + 1, right_counts));
            stack.push((l, start, hi, depth + 1, left_counts));
        }
        tree
    }

    /// Small nodes: walk the node's rows to find the features present, draw
    /// `mtry` of the non-constant ones, gather their values.
    fn best_split_rows(
        &self,
        node: &[u32],
        weight: &[u32],
        counts: &Counts,
        rng: &mut Rng,
        s: &mut Scratch,
    ) -> Option<BestSplit> {
        s.now = s.now.wrapping_add(1).max(1);
        let stamp = s.now;
        s.present.clear();
        for &i in node {
            let (idx, val) = self.x.row(i as usize);
            for (&f, &v) in idx.iter().zip(val) {
                let st = &mut s.stats[f as usize];
                if st.stamp != stamp {
                    *st = FeatureStat {
                        stamp,
                        count: 0,
                        min: v,
                        max: v,
                        chosen: 0,
                        slot: 0,
                    };
                    s.present.push(f);
                }
                st.count += 1;
                st.min = st.min.min(v);
                st.max = st.max.max(v);
            }
        }
        let n_node = node.len() as u32;
        let stats = &s.stats;
        s.present.retain(|&f| {
            let st = &stats[f as usize];
            st.count < n_node || st.min < st.max
        });
        if s.present.is_empty() {
            return None;
        }
        // Partial Fisher–Yates: the first `k` are a uniform sample.
        let k = self.mtry.min(s.present.len());
        for i in 0..k {
            let j = i + rng.below(s.present.len() - i);
            s.present.swap(i, j);
        }
        s.offsets.clear();
        s.offsets.push(0);
        let mut total = 0;
        for (slot, &f) in s.present[..k].iter().enumerate() {
            let st = &mut s.stats[f as usize];
            st.chosen = stamp;
            st.slot = slot as u32;
            total += st.count as usize;
            s.offsets.push(total);
        }
        s.entries.clear();
        s.entries.resize(total, (0.0, 0));
        let mut fill: Vec<usize> = s.offsets[..k].to_vec();
        for &i in node {
            let (idx, val) = self.x.row(i as usize);
            for (&f, &v) in idx.iter().zip(val) {
                let st = &s.stats[f as usize];
                if st.chosen == stamp {
                    let slot = st.slot as usize;
                    s.entries[fill[slot]] = (v, i);
                    fill[slot] += 1;
                }
            }
        }
        let mut best = None;
        for slot in 0..k {
            let entries = &mut s.entries[s.offsets[slot]..s.offsets[slot + 1]];
            evaluate_feature(s.present[slot], entries, self.y, weight, counts, &mut best);
        }
        best
    }

    /// Large nodes: draw features from the whole vocabulary, scan each one's
    /// column for the node's samples, skip the constant ones (as
    /// scikit-learn does), stop after `mtry` usable features.
    fn best_split_columns(
        &self,
        start: usize,
        end: usize,
        weight: &[u32],
        counts: &Counts,
        rng: &mut Rng,
        s: &mut Scratch,
    ) -> Option<BestSplit> {
        let d = s.features.len();
        let n_node = end - start;
        let (mut drawn, mut found) = (0, 0);
        let mut best = None;
        while found < self.mtry && drawn < d {
            let j = drawn + rng.below(d - drawn);
            s.features.swap(drawn, j);
            let f = s.features[drawn];
            drawn += 1;
            s.entries.clear();
            let (rows, vals) = self.xc.col(f as usize);
            for (&i, &v) in rows.iter().zip(vals) {
                if (start..end).contains(&(s.pos[i as usize] as usize)) {
                    s.entries.push((v, i));
                }
            }
            if s.entries.is_empty() {
                continue;
            }
            if s.entries.len() == n_node {
                let first = s.entries[0].0;
                if s.entries.iter().all(|e| e.0 == first) {
                    continue;
                }
            }
            found += 1;
            evaluate_feature(f, &mut s.entries, self.y, weight, counts, &mut best);
        }
        best
    }
}

impl RandomForest {
    /// Fit on rows `x` with class indices `y` in `0..n_classes` (2 or 3).
    pub fn fit(
        x: &[SparseRow],
        y: &[usize],
        n_classes: usize,
        n_features: usize,
        config: &ForestConfig,
    ) -> Result<Self> {
        if x.is_empty() || x.len() != y.len() {
            return Err(Error::NotEnoughData(
                "random forest needs one label per row".into(),
            ));
        }
        if !(2..=3).contains(&n_classes) || y.iter().any(|&c| c >= n_classes) {
            return Err(Error::NotEnoughData(
                "random forest needs two or three classes".into(),
            ));
        }
        if config.n_trees == 0
            || config.max_features == Some(0)
            || n_features == 0
            || x.len() > u32::MAX as usize
        {
            return Err(Error::InvalidOption(
                "need at least one tree, feature and feature per split".into(),
            ));
        }
        let csr = Csr::new(x);
        let csc = Csc::new(&csr, n_features);
        let builder = Builder {
            x: &csr,
            xc: &csc,
            row_nnz: csr.indices.len() as f64 / x.len() as f64,
            col_nnz: csr.indices.len() as f64 / n_features as f64,
            y,
            n_classes,
            mtry: config
                .max_features
                .unwrap_or(((n_features as f64).sqrt() as usize).max(1)),
            max_depth: config.max_depth.unwrap_or(usize::MAX),
        };
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            t => t,
        }
        .min(config.n_trees);
        let mut trees: Vec<Option<Tree>> = vec![None; config.n_trees];
        std::thread::scope(|scope| {
            let chunks: Vec<_> = (0..threads)
                .map(|w| {
                    let builder = &builder;
                    scope.spawn(move || {
                        let mut scratch = Scratch::new(n_features, y.len());
                        (w..config.n_trees)
                            .step_by(threads)
                            .map(|t| {
                                let mut rng = Rng::new(
                                    config.seed ^ (t as u64).wrapping_mul(0xA076_1D64_78BD_642F),
                                );
                                (t, builder.grow(&mut rng, &mut scratch))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for handle in chunks {
                // A worker can only fail by panicking, which our code does not do;
                // if it ever did, its trees stay None and are reported below.
                if let Ok(done) = handle.join() {
                    for (t, tree) in done {
                        trees[t] = Some(tree);
                    }
                }
            }
        });
        let trees: Option<Vec<Tree>> = trees.into_iter().collect();
        let trees = trees.ok_or_else(|| Error::InvalidOption("a training thread failed".into()))?;
        Ok(Self {
            n_classes,
            n_features,
            trees,
        })
    }

    /// Mean of the trees' leaf class probabilities (scikit-learn's
    /// `predict_proba`).
    pub fn predict_proba(&self, row: &SparseRow) -> Vec<f64> {
        let k = self.n_classes;
        let mut out = vec![0.0; k];
        for tree in &self.trees {
            let mut node = 0usize;
            // Depth is bounded by the node count; validated trees always reach a leaf.
            for _ in 0..tree.feature.len() {
                let f = tree.feature[node];
                if f == LEAF {
                    let base = tree.left[node] as usize * k;
                    for (o, p) in out.iter_mut().zip(&tree.proba[base..base + k]) {
                        *o += f64::from(*p);
                    }
                    break;
                }
                let v = row
                    .indices
                    .binary_search(&f)
                    .map_or(0.0, |p| row.values[p] as f32);
                node = if v <= tree.threshold[node] {
                    tree.left[node]
                } else {
                    tree.right[node]
                } as usize;
            }
        }
        let n = self.trees.len().max(1) as f64;
        out.iter_mut().for_each(|o| *o /= n);
        out
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Total number of nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.trees.iter().map(|t| t.feature.len()).sum()
    }

    /// Check a deserialised forest: every index in range, children after
    /// parents (so traversal terminates), probabilities finite.
    pub(crate) fn validate(&self, n_features: usize) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidModel(format!("random forest: {m}")));
        if self.n_features != n_features
            || !(2..=3).contains(&self.n_classes)
            || self.trees.is_empty()
        {
            return bad("shape does not match the vocabulary");
        }
        for t in &self.trees {
            let n = t.feature.len();
            if n == 0 || t.threshold.len() != n || t.left.len() != n || t.right.len() != n {
                return bad("node arrays differ in length");
            }
            if t.proba.len() % self.n_classes != 0 || t.proba.iter().any(|p| !p.is_finite()) {
                return bad("leaf probabilities malformed");
            }
            let leaves = t.proba.len() / self.n_classes;
            for i in 0..n {
                if t.feature[i] == LEAF {
                    if t.left[i] as usize >= leaves {
                        return bad("leaf points outside the probability table");
                    }
                } else if t.feature[i] as usize >= n_features
                    || !t.threshold[i].is_finite()
                    || t.left[i] as usize <= i
                    || t.right[i] as usize <= i
                    || t.left[i] as usize >= n
                    || t.right[i] as usize >= n
                {
                    return bad("node points outside the tree or backwards");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(u32, f64)]) -> SparseRow {
        SparseRow {
            indices: pairs.iter().map(|p| p.0).collect(),
            values: pairs.iter().map(|p| p.1).collect(),
        }
    }

    fn toy() -> (Vec<SparseRow>, Vec<usize>) {
        // class = which of features 0/1/2 is present; feature 3 is noise.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..60u32 {
            let c = (i % 3) as usize;
            let mut r = vec![(c as u32, 0.5 + f64::from(i % 7) / 10.0)];
            if i % 2 == 0 {
                r.push((3, 0.3));
            }
            x.push(row(&r));
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn learns_a_separable_problem() {
        let (x, y) = toy();
        let config = ForestConfig {
            n_trees: 15,
            ..ForestConfig::default()
        };
        let f = RandomForest::fit(&x, &y, 3, 4, &config).unwrap();
        f.validate(4).unwrap();
        for (r, &c) in x.iter().zip(&y) {
            let p = f.predict_proba(r);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-6);
            let arg = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(arg, c, "{p:?}");
        }
    }

    #[test]
    fn same_seed_same_forest_whatever_the_thread_count() {
        let (x, y) = toy();
        let one = ForestConfig {
            n_trees: 6,
            threads: 1,
            seed: 7,
            ..ForestConfig::default()
        };
        let two = ForestConfig { threads: 2, ..one };
        let a = RandomForest::fit(&x, &y, 3, 4, &one).unwrap();
        assert_eq!(a, RandomForest::fit(&x, &y, 3, 4, &two).unwrap());
        let other = RandomForest::fit(&x, &y, 3, 4, &ForestConfig { seed: 8, ..one }).unwrap();
        assert_ne!(a, other);
    }

    #[test]
    fn validate_rejects_backward_links() {
        let (x, y) = toy();
        let config = ForestConfig {
            n_trees: 1,
            ..ForestConfig::default()
        };
        let mut f = RandomForest::fit(&x, &y, 3, 4, &config).unwrap();
        f.trees[0].left[0] = 0;
        assert!(f.validate(4).is_err());
    }
}

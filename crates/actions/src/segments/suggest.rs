//! Suggested segments: the organization's contacts clustered by k-means
//! over their metrics, each cluster described in words, and saved as a
//! static segment on request.
//!
//! The features ([`FEATURES`]) are standardised (mean 0, deviation 1),
//! money on a log scale first (`ln(1 + dollars)`: a few large accounts
//! would otherwise be clusters of their own). An organization of more than
//! [`SAMPLE`] contacts is clustered on a systematic sample of them (`id %
//! every = seed % every`, pushed into the metrics statement, so only the
//! sample's metrics are grouped); k runs from 2 to 8 and the k with the
//! best mean silhouette (on at most [`SILHOUETTE_SAMPLE`] of them) wins. A
//! cluster is described by the features on which its centre lies at least
//! half a deviation from the average, strongest first. Everything is drawn
//! from the seed: the same seed over the same data gives the same
//! suggestions, which is how [`save`] finds again the cluster a user saw.

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use neuracrm_domain::segments::{Rule, Segment, SegmentKind};
use neuracrm_domain::{ContactId, EventKind, NewSegment, OrgId};
use neuracrm_store::Store;
use neuracrm_store::segments::{ContactMetrics, Scope};
use serde::Serialize;

use super::kmeans::{self, Fit, Points, Scaler, SplitMix64};
use super::{SegmentStats, stats_of};
use crate::records::Record;
use crate::{ActionError, ActionResult, Caller, Crm};

/// Most contacts clustered; a larger organization is sampled.
pub const SAMPLE: usize = 20_000;
/// Most contacts whose silhouette is averaged to choose k.
pub const SILHOUETTE_SAMPLE: usize = 3_000;
/// The numbers of clusters tried.
pub const KS: RangeInclusive<usize> = 2..=8;
/// The seed when none is given.
pub const DEFAULT_SEED: u64 = 17;
/// How far (in deviations) a centre must lie from the average for the
/// feature to be named in its description.
pub const NOTABLE: f64 = 0.5;
/// Most features named in a description.
pub const WORDS: usize = 3;

/// A feature of the clustering and its words.
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// Its name in responses.
    pub name: &'static str,
    /// Said of a cluster above the average.
    pub high: &'static str,
    /// Said of a cluster below it.
    pub low: &'static str,
    value: fn(&ContactMetrics, DateTime<Utc>) -> Option<f64>,
}

/// `ln(1 + dollars)` of an amount in cents.
fn money(cents: i64) -> f64 {
    (cents.max(0) as f64 / 100.0).ln_1p()
}

/// Days since the last activity are capped here (and a contact without
/// one counts as this quiet).
pub const QUIET_DAYS: f64 = 365.0;

/// The features, in the order of a centre's coordinates.
pub const FEATURES: &[Feature] = &[
    Feature {
        name: "won_value",
        high: "high value",
        low: "low value",
        value: |m, _| Some(money(m.won_value_cents)),
    },
    Feature {
        name: "won_deals",
        high: "many won deals",
        low: "few won deals",
        value: |m, _| Some(m.won_deals as f64),
    },
    Feature {
        name: "open_value",
        high: "large open pipeline",
        low: "small open pipeline",
        value: |m, _| Some(money(m.open_value_cents)),
    },
    Feature {
        name: "open_deals",
        high: "many open deals",
        low: "few open deals",
        value: |m, _| Some(m.open_deals as f64),
    },
    Feature {
        name: "activities_30d",
        high: "active in the last 30 days",
        low: "quiet in the last 30 days",
        value: |m, _| Some(m.activities_30d as f64),
    },
    Feature {
        name: "days_since_activity",
        high: "no activity for a long time",
        low: "recently in touch",
        value: |m, now| {
            Some(m.last_activity_at.map_or(QUIET_DAYS, |t| {
                ((now - t).num_seconds() as f64 / 86_400.0).clamp(0.0, QUIET_DAYS)
            }))
        },
    },
    Feature {
        name: "conversion_rate",
        high: "high conversion",
        low: "low conversion",
        value: |m, _| m.conversion_rate,
    },
    Feature {
        name: "avg_lead_score",
        high: "high lead scores",
        low: "low lead scores",
        value: |m, _| m.avg_lead_score,
    },
];

/// The features of each contact, a missing value (no closed deal, no
/// scored lead) replaced by the mean of those present (given in
/// `fill`, or computed here and returned).
fn features(
    metrics: &[ContactMetrics],
    now: DateTime<Utc>,
    fill: Option<&[f64]>,
) -> (Points, Vec<f64>) {
    let raw: Vec<Vec<Option<f64>>> = metrics
        .iter()
        .map(|m| FEATURES.iter().map(|f| (f.value)(m, now)).collect())
        .collect();
    let fill = match fill {
        Some(f) => f.to_vec(),
        None => (0..FEATURES.len())
            .map(|j| {
                let (n, s) = raw
                    .iter()
                    .filter_map(|r| r[j])
                    .fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
                if n > 0 { s / n as f64 } else { 0.0 }
            })
            .collect(),
    };
    let data = raw
        .iter()
        .flat_map(|r| r.iter().zip(&fill).map(|(x, f)| x.unwrap_or(*f)))
        .collect();
    (Points::new(FEATURES.len(), data), fill)
}

/// How a cluster's centre differs from the average on one feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CentreValue {
    /// The feature ([`FEATURES`]).
    pub feature: &'static str,
    /// The mean of the cluster's members, in the feature's own units (log
    /// dollars for money, days, counts, rates).
    pub mean: f64,
    /// The same in deviations from the average of all contacts clustered.
    pub z: f64,
}

/// One suggested segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// Its number in this answer (largest first), as [`save`] takes it.
    pub cluster: usize,
    /// How it differs from the average, in words ("high value, active in
    /// the last 30 days, few open deals").
    pub description: String,
    /// Contacts of the organization it holds (estimated from the sample
    /// when the organization was sampled).
    pub size: u64,
    /// Its share of the contacts clustered.
    pub share: f64,
    /// Its centre, feature by feature.
    pub centre: Vec<CentreValue>,
    /// The stats of its clustered members (of the sampled ones when the
    /// organization was sampled).
    pub stats: SegmentStats,
}

/// The mean silhouette of one k.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KScore {
    /// Clusters.
    pub k: usize,
    /// Mean silhouette (-1..1, higher is better separated).
    pub silhouette: f64,
}

/// The suggestions of an organization.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestions {
    /// The seed everything was drawn from.
    pub seed: u64,
    /// Contacts of the organization.
    pub contacts: u64,
    /// Contacts clustered (all of them up to [`SAMPLE`]).
    pub sampled: u64,
    /// The clusters chosen.
    pub k: usize,
    /// The silhouette of each k tried.
    pub silhouettes: Vec<KScore>,
    /// The clusters, largest first.
    pub clusters: Vec<Suggestion>,
}

/// A clustering of the (sampled) contacts, clusters numbered largest
/// first, and what it takes to place another contact in it.
struct Model {
    metrics: Vec<ContactMetrics>,
    points: Points,
    scaler: Scaler,
    fit: Fit,
}

/// Reads the sample's metrics (all contacts up to [`SAMPLE`]) and
/// standardises their features. `None` when the organization has fewer
/// than two contacts.
async fn sample(
    store: &Store,
    org: OrgId,
    seed: u64,
    now: DateTime<Utc>,
) -> ActionResult<Option<(u64, Vec<ContactMetrics>, Points, Vec<f64>, Scaler)>> {
    let store = store.segments();
    let contacts = store.contact_count(org).await?;
    let scope = if contacts as usize > SAMPLE {
        let every = (contacts as usize).div_ceil(SAMPLE) as i64;
        Scope::Sample {
            every,
            offset: (seed % every as u64) as i64,
        }
    } else {
        Scope::All
    };
    let mut metrics = store.metrics_without_rfm(org, scope, now).await?;
    if metrics.len() > SAMPLE {
        let keep = kmeans::sample_indices(metrics.len(), SAMPLE, &mut SplitMix64::new(seed));
        metrics = keep.into_iter().map(|i| metrics[i].clone()).collect();
    }
    if metrics.len() < 2 {
        return Ok(None);
    }
    let (mut points, fill) = features(&metrics, now, None);
    let scaler = kmeans::standardise(&mut points);
    Ok(Some((contacts, metrics, points, fill, scaler)))
}

/// The fit of `k` clusters with its clusters renumbered largest first
/// (then by centre, so the order does not depend on the start).
fn fit_ordered(points: &Points, k: usize, seed: u64) -> Fit {
    let fit = kmeans::kmeans(points, k, seed);
    let k = fit.centres.len();
    let mut sizes = vec![0usize; k];
    fit.labels.iter().for_each(|&c| sizes[c] += 1);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            fit.centres[a]
                .partial_cmp(&fit.centres[b])
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut rank = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        rank[old] = new;
    }
    Fit {
        labels: fit.labels.iter().map(|&c| rank[c]).collect(),
        centres: order.iter().map(|&c| fit.centres[c].clone()).collect(),
        inertia: fit.inertia,
    }
}

fn describe(z: &[f64]) -> String {
    let mut notable: Vec<(usize, f64)> = z
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.abs() >= NOTABLE)
        .collect();
    // Strongest first, to two decimals (then in the order of FEATURES), so
    // rounding noise does not reorder equal differences.
    let strength = |v: f64| (v.abs() * 100.0).round() as i64;
    notable.sort_by_key(|&(j, v)| (std::cmp::Reverse(strength(v)), j));
    let words: Vec<&str> = notable
        .iter()
        .take(WORDS)
        .map(|&(j, v)| {
            if v > 0.0 {
                FEATURES[j].high
            } else {
                FEATURES[j].low
            }
        })
        .collect();
    if words.is_empty() {
        "close to the average on every count".into()
    } else {
        words.join(", ")
    }
}

/// Clusters the caller's organization's contacts and describes the
/// clusters (`seed` defaults to [`DEFAULT_SEED`]). An organization with
/// fewer than two contacts gets no clusters.
pub async fn suggest(crm: &Crm, caller: &Caller, seed: Option<u64>) -> ActionResult<Suggestions> {
    caller.require(<Segment as Record>::READ)?;
    suggestions_of(
        &crm.store,
        caller.org,
        seed.unwrap_or(DEFAULT_SEED),
        Utc::now(),
    )
    .await
}

/// The suggestions of `org` as of `now` (what [`suggest`] answers, with no
/// caller: `neuracrm segments bench` measures it).
pub async fn suggestions_of(
    store: &Store,
    org: OrgId,
    seed: u64,
    now: DateTime<Utc>,
) -> ActionResult<Suggestions> {
    let Some((contacts, metrics, points, _, scaler)) = sample(store, org, seed, now).await? else {
        return Ok(Suggestions {
            seed,
            contacts: store.segments().contact_count(org).await?,
            sampled: 0,
            k: 0,
            silhouettes: Vec::new(),
            clusters: Vec::new(),
        });
    };
    let clustered = metrics.len();
    let model = tokio::task::spawn_blocking(move || {
        let judged = kmeans::sample_indices(
            points.len(),
            SILHOUETTE_SAMPLE,
            &mut SplitMix64::new(seed ^ 0x5111_4E77),
        );
        let mut scores = Vec::new();
        let mut best: Option<(f64, Fit)> = None;
        for k in KS.filter(|&k| k < points.len()) {
            let fit = fit_ordered(&points, k, seed);
            let s = kmeans::silhouette(&points, &fit.labels, k, &judged);
            scores.push(KScore { k, silhouette: s });
            if best.as_ref().is_none_or(|(b, _)| s > *b) {
                best = Some((s, fit));
            }
        }
        let fit = best.map(|(_, f)| f);
        (scores, fit, points, metrics)
    })
    .await
    .map_err(|e| ActionError::Internal(format!("clustering: {e}")))?;
    let (silhouettes, Some(fit), points, metrics) = model else {
        return Err(ActionError::Internal("no k to try".into()));
    };
    let model = Model {
        metrics,
        points,
        scaler,
        fit,
    };
    Ok(Suggestions {
        seed,
        contacts,
        sampled: clustered as u64,
        k: model.fit.centres.len(),
        silhouettes,
        clusters: clusters(&model, contacts, now),
    })
}

fn clusters(model: &Model, contacts: u64, now: DateTime<Utc>) -> Vec<Suggestion> {
    let n = model.points.len();
    (0..model.fit.centres.len())
        .map(|c| {
            let members: Vec<usize> = (0..n).filter(|&i| model.fit.labels[i] == c).collect();
            let share = members.len() as f64 / n as f64;
            let centre = FEATURES
                .iter()
                .enumerate()
                .map(|(j, f)| {
                    let z = model.fit.centres[c][j];
                    CentreValue {
                        feature: f.name,
                        mean: model.scaler.mean[j] + z * model.scaler.sd[j],
                        z,
                    }
                })
                .collect();
            let of: Vec<ContactMetrics> =
                members.iter().map(|&i| model.metrics[i].clone()).collect();
            Suggestion {
                cluster: c,
                description: describe(&model.fit.centres[c]),
                size: (share * contacts as f64).round() as u64,
                share,
                centre,
                stats: stats_of(&of, now),
            }
        })
        .collect()
}

/// Which suggestion to save, and as what.
#[derive(Debug, Clone, PartialEq)]
pub struct SaveSuggestion {
    /// The new segment's name.
    pub name: String,
    /// The seed of the suggestions shown.
    pub seed: u64,
    /// Their number of clusters.
    pub k: usize,
    /// The cluster's number among them.
    pub cluster: usize,
}

/// The rule a saved suggestion carries: it selects no contact (every
/// contact has a creation time), so the members are the cluster's
/// snapshot only; a new rule makes a new snapshot, as for any static
/// segment.
pub fn saved_rule() -> serde_json::Value {
    serde_json::json!({"field": "created_at", "operand": "is_empty"})
}

/// Saves a suggested cluster as a static segment: the clustering is made
/// again from `seed` and `k` (the same clusters over the same data), then
/// every contact of the organization is placed in its nearest cluster and
/// those of `cluster` are the segment's members. Publishes
/// `segment_created`.
pub async fn save(crm: &Crm, caller: &Caller, input: SaveSuggestion) -> ActionResult<Segment> {
    caller.require(<Segment as Record>::WRITE)?;
    if !KS.contains(&input.k) {
        return Err(ActionError::invalid(
            "k",
            format!("k must be from {} to {}", KS.start(), KS.end()),
        ));
    }
    if input.cluster >= input.k {
        return Err(ActionError::invalid(
            "cluster",
            format!("cluster must be below k ({})", input.k),
        ));
    }
    let now = Utc::now();
    let Some((_, _, points, fill, scaler)) =
        sample(&crm.store, caller.org, input.seed, now).await?
    else {
        return Err(ActionError::invalid(
            "k",
            "the organization has too few contacts to cluster",
        ));
    };
    if input.k >= points.len() {
        return Err(ActionError::invalid(
            "k",
            format!("k must be below the contacts clustered ({})", points.len()),
        ));
    }
    let (k, seed) = (input.k, input.seed);
    let fit = tokio::task::spawn_blocking(move || fit_ordered(&points, k, seed))
        .await
        .map_err(|e| ActionError::Internal(format!("clustering: {e}")))?;
    let all = crm
        .store
        .segments()
        .metrics_without_rfm(caller.org, Scope::All, now)
        .await?;
    let (every, _) = features(&all, now, Some(&fill));
    let mut members = Vec::new();
    for (i, m) in all.iter().enumerate() {
        let mut row = every.row(i).to_vec();
        scaler.apply(&mut row);
        if fit.nearest(&row) == input.cluster {
            members.push(ContactId(m.contact_id));
        }
    }
    let description = format!(
        "Suggested segment: {} (k-means, seed {}, k {}, cluster {}, saved {})",
        describe(&fit.centres[input.cluster]),
        input.seed,
        input.k,
        input.cluster,
        now.format("%Y-%m-%d %H:%M UTC")
    );
    let new = NewSegment {
        name: input.name,
        description: Some(description),
        kind: SegmentKind::Static,
        rule: saved_rule(),
    };
    let rule: Rule = new.parsed_rule()?;
    let (segment, _) = crm
        .store
        .segments()
        .create(caller.org, Some(caller.user), &new, &rule, &members, now)
        .await?;
    crm.publish(
        caller.org,
        EventKind::SegmentCreated {
            id: segment.id,
            size: segment.size,
        },
    );
    Ok(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_centre_is_described_by_its_strongest_differences() {
        let mut z = vec![0.0; FEATURES.len()];
        z[0] = 1.5; // won value
        z[4] = 0.9; // activities in 30 days
        z[3] = -0.7; // open deals
        z[6] = 0.2; // not notable
        assert_eq!(
            describe(&z),
            "high value, active in the last 30 days, few open deals"
        );
        assert_eq!(
            describe(&vec![0.1; FEATURES.len()]),
            "close to the average on every count"
        );
    }
}

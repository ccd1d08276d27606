//! `score-bench` (hidden): how fast and how good batch lead scoring is, on
//! whatever database `--db` names (SQLite or PostgreSQL, seeded with
//! `neuracrm seed`).
//!
//! Speed: `score --all` end to end (read, score, write back), then, in the
//! same run and with the same engine and `now`, the specification's
//! per-lead-query approach on an evenly spread sample (one query for the lead
//! and its contact, one for its activities, one UPDATE per lead), and the
//! ratio of the two. The sample's scores are checked against the batch's, so
//! both did the same work.
//!
//! Quality: the ROC AUC of the stored score against the won/lost outcome of
//! the leads' deals, and the won rate per category.
//!
//! This rewrites every lead's score (as `score --all` does): run it on a
//! benchmark database, not on one whose history you care about.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use neuracrm_domain::{LeadId, OrgId};
use neuracrm_jobs::scoring::{ScoreOptions, facts, org_config, score_leads};
use neuracrm_scoring::{OfflineIntent, Scorer, stored};
use neuracrm_server::Settings;
use neuracrm_store::scoring::{ActivityTotals, LeadFactsRow};
use neuracrm_store::{Sql, Store};
use serde::Serialize;

use super::open_store;
use crate::cli::ScoreBenchArgs;

#[derive(Debug, Serialize)]
struct Report {
    backend: String,
    organizations: usize,
    leads: i64,
    activities: i64,
    batch: Speed,
    per_lead: Speed,
    /// Batch leads/s over per-lead leads/s.
    ratio: f64,
    /// Sampled leads whose per-lead score equals the batch's.
    agreement: u64,
    quality: Quality,
}

#[derive(Debug, Serialize)]
struct Speed {
    leads: u64,
    failed: u64,
    seconds: f64,
    leads_per_second: f64,
}

impl Speed {
    fn new(leads: u64, failed: u64, seconds: f64) -> Self {
        Speed {
            leads,
            failed,
            seconds,
            leads_per_second: leads as f64 / seconds.max(1e-9),
        }
    }
}

#[derive(Debug, Serialize)]
struct Quality {
    won: u64,
    lost: u64,
    roc_auc: Option<f64>,
    /// (category, won, lost, won rate) from hot to cold.
    won_rate_by_category: Vec<CategoryRate>,
}

#[derive(Debug, Serialize)]
struct CategoryRate {
    category: Option<String>,
    won: i64,
    lost: i64,
    won_rate: Option<f64>,
}

pub async fn bench(settings: Settings, a: ScoreBenchArgs) -> Result<()> {
    let store = open_store(&settings).await?;
    let db = store.db();
    let (leads,): (i64,) = db
        .fetch_one(Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM leads"))
        .await?;
    if leads == 0 {
        bail!(
            "no leads in {}: seed it first (neuracrm seed --db URL --orgs 1 --leads 100000 --activities 1000000 ...)",
            neuracrm_store::db::redact_url(&settings.database_url)
        );
    }
    let (activities,): (i64,) = db
        .fetch_one(Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM activities"))
        .await?;
    let orgs = store.organizations().ids().await?;
    let now = Utc::now();

    eprintln!("scoring {leads} leads with the batch (score --all)...");
    let opts = ScoreOptions {
        org: None,
        all: true,
        chunk: a.chunk,
        now,
        // Offline: the per-lead comparison below reads intent offline too,
        // and a benchmark must not call (or bill) an LLM.
        intent: Default::default(),
        ..ScoreOptions::default()
    };
    let s = score_leads(&store, &opts, |_| {}).await?;
    let batch = Speed::new(s.successful, s.failed, s.seconds);

    let sample = sample_ids(&store, a.sample).await?;
    eprintln!(
        "scoring a sample of {} leads one by one (2 queries + 1 UPDATE each)...",
        sample.len()
    );
    let mut scorers = HashMap::new();
    for &org in &orgs {
        let config = org_config(&store, org).await?;
        scorers.insert(org.0, Scorer::new(&config)?);
    }
    let offline = OfflineIntent::new();
    let mut agreement = 0;
    let mut failed = 0;
    let started = Instant::now();
    for &(org, id) in &sample {
        match per_lead(&store, &scorers[&org], &offline, OrgId(org), id, now).await {
            Ok((total, stored)) => agreement += u64::from(Some(total) == stored),
            Err(e) => {
                failed += 1;
                tracing::warn!(lead = id, error = %e, "per-lead scoring failed");
            }
        }
    }
    let per_lead = Speed::new(
        sample.len() as u64 - failed,
        failed,
        started.elapsed().as_secs_f64(),
    );

    let quality = quality(&store).await?;
    let report = Report {
        backend: format!("{:?}", db.backend()).to_lowercase(),
        organizations: orgs.len(),
        leads,
        activities,
        ratio: batch.leads_per_second / per_lead.leads_per_second.max(1e-9),
        batch,
        per_lead,
        agreement,
        quality,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}

fn print(r: &Report) {
    println!(
        "{}: {} organizations, {} leads, {} activities",
        r.backend, r.organizations, r.leads, r.activities
    );
    println!(
        "batch (score --all, read + score + write back): {} leads in {:.2} s = {:.0} leads/s ({} failed)",
        r.batch.leads, r.batch.seconds, r.batch.leads_per_second, r.batch.failed
    );
    println!(
        "per-lead queries (2 queries + 1 UPDATE per lead), sample: {} leads in {:.2} s = {:.0} leads/s ({} failed)",
        r.per_lead.leads, r.per_lead.seconds, r.per_lead.leads_per_second, r.per_lead.failed
    );
    println!("ratio: batch is {:.1}x the per-lead approach", r.ratio);
    println!(
        "agreement: {}/{} sampled scores identical to the batch's",
        r.agreement,
        r.per_lead.leads + r.per_lead.failed
    );
    let q = &r.quality;
    match q.roc_auc {
        Some(auc) => println!(
            "ROC AUC of the score on won/lost deals: {auc:.4} ({} won, {} lost)",
            q.won, q.lost
        ),
        None => println!(
            "ROC AUC: needs won and lost deals with scored leads ({} won, {} lost)",
            q.won, q.lost
        ),
    }
    for c in &q.won_rate_by_category {
        println!(
            "  {:<9} won rate {:>6} ({} won, {} lost)",
            c.category.as_deref().unwrap_or("unscored"),
            c.won_rate
                .map(|w| format!("{:.1}%", w * 100.0))
                .unwrap_or_else(|| "-".into()),
            c.won,
            c.lost
        );
    }
}

/// About `n` (organization, lead) pairs spread evenly over the id range.
async fn sample_ids(store: &Store, n: u32) -> Result<Vec<(i64, i64)>> {
    let all: Vec<(i64, i64)> = store
        .db()
        .fetch_all(Sql::new(
            "SELECT organization_id, id FROM leads ORDER BY id",
        ))
        .await?;
    let step = (all.len() / n.max(1) as usize).max(1);
    Ok(all.into_iter().step_by(step).take(n as usize).collect())
}

/// An activity: type, duration, occurred at, recorded at.
type ActivityRow = (String, Option<i64>, DateTime<Utc>, DateTime<Utc>);

/// The specification's way: the lead with its contact, then its activities,
/// aggregated here, then one UPDATE. The activities query gets the same
/// planner hint as the batch (`+organization_id`, so SQLite reads them by
/// `lead_id`): without it each lead costs a scan of its organization's
/// activities, and the comparison would measure the planner, not the design. Returns the score and the score the
/// batch stored before.
async fn per_lead(
    store: &Store,
    scorer: &Scorer,
    offline: &OfflineIntent,
    org: OrgId,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(f64, Option<f64>)> {
    let db = store.db();
    let mut row: LeadFactsRow = db
        .fetch_one(
            Sql::new(
                "SELECT l.id, l.title, l.description, l.budget_cents, l.expected_decision, l.score, \
                 l.score_category, l.score_updated_at, l.updated_at, l.contact_id, c.industry, c.company_size, c.job_title \
                 FROM leads l LEFT JOIN contacts c ON c.organization_id = l.organization_id AND c.id = l.contact_id \
                 WHERE l.organization_id = $1 AND l.id = $2",
            )
            .arg(org)
            .arg(id),
        )
        .await
        .with_context(|| format!("lead {id}"))?;
    let acts: Vec<ActivityRow> = db
        .fetch_all(
            Sql::new(
                "SELECT type, duration_seconds, occurred_at, created_at FROM activities \
                 WHERE +organization_id = $1 AND lead_id = $2",
            )
            .arg(org)
            .arg(id),
        )
        .await?;
    let count = |kind: &str| acts.iter().filter(|a| a.0 == kind).count() as i64;
    row.activity = Some(ActivityTotals {
        lead_id: id,
        opens: Some(count("email_open")),
        clicks: Some(count("email_click")),
        website_seconds: Some(
            acts.iter()
                .filter(|a| a.0 == "website_visit")
                .map(|a| a.1.unwrap_or(0))
                .sum(),
        ),
        activity_count: Some(acts.len() as i64),
        last_activity_at: acts.iter().map(|a| a.2).max(),
        last_recorded_at: acts.iter().map(|a| a.3).max(),
    });
    let score = scorer.score(&facts(&row, offline), now);
    db.execute(
        Sql::new(
            "UPDATE leads SET score = $1, score_category = $2, score_confidence = $3, \
             score_factors = $4, score_updated_at = $5 WHERE organization_id = $6 AND id = $7",
        )
        .arg(score.total)
        .arg(score.category.name())
        .arg(score.confidence)
        // The batch's stored form, bound as JSON (the PostgreSQL column is JSONB).
        .arg(serde_json::from_str::<serde_json::Value>(&stored::encode(&score)).unwrap_or_default())
        .arg(now)
        .arg(org)
        .arg(LeadId(id)),
    )
    .await?;
    Ok((score.total, row.score))
}

/// ROC AUC of the stored score on the leads of won and lost deals, and the
/// won rate per category.
async fn quality(store: &Store) -> Result<Quality> {
    let db = store.db();
    let mut rows: Vec<(f64, bool)> = db
        .fetch_all::<(f64, String)>(Sql::new(
            "SELECT l.score, d.status FROM deals d \
             JOIN leads l ON l.organization_id = d.organization_id AND l.id = d.lead_id \
             WHERE d.status IN ('won', 'lost') AND l.score IS NOT NULL",
        ))
        .await?
        .into_iter()
        .map(|(s, status)| (s, status == "won"))
        .collect();
    let won = rows.iter().filter(|r| r.1).count() as u64;
    let lost = rows.len() as u64 - won;
    let mut by_category: Vec<CategoryRate> = db
        .fetch_all::<(Option<String>, i64, i64)>(Sql::new(
            "SELECT l.score_category AS category, \
             CAST(SUM(CASE WHEN d.status = 'won' THEN 1 ELSE 0 END) AS BIGINT) AS won, \
             CAST(SUM(CASE WHEN d.status = 'lost' THEN 1 ELSE 0 END) AS BIGINT) AS lost \
             FROM deals d JOIN leads l ON l.organization_id = d.organization_id AND l.id = d.lead_id \
             WHERE d.status IN ('won', 'lost') GROUP BY l.score_category",
        ))
        .await?
        .into_iter()
        .map(|(category, won, lost)| CategoryRate {
            category,
            won,
            lost,
            won_rate: (won + lost > 0).then(|| won as f64 / (won + lost) as f64),
        })
        .collect();
    let rank = |c: &Option<String>| match c.as_deref() {
        Some("hot") => 0,
        Some("warm") => 1,
        Some("lukewarm") => 2,
        Some("cold") => 3,
        _ => 4,
    };
    by_category.sort_by_key(|c| rank(&c.category));
    Ok(Quality {
        won,
        lost,
        roc_auc: roc_auc(&mut rows),
        won_rate_by_category: by_category,
    })
}

/// The Mann-Whitney form of the ROC AUC: the probability that a random
/// positive scores above a random negative, ties counting half. Sorting
/// makes it O(n log n), so a million deals cost a second, not hours.
fn roc_auc(rows: &mut [(f64, bool)]) -> Option<f64> {
    let pos = rows.iter().filter(|r| r.1).count() as f64;
    let neg = rows.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' (average, 1-based) ranks.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < rows.len() {
        let mut j = i;
        while j < rows.len() && rows[j].0 == rows[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += avg_rank * rows[i..j].iter().filter(|r| r.1).count() as f64;
        i = j;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

#[cfg(test)]
mod tests {
    use super::roc_auc;

    #[test]
    fn roc_auc_matches_the_pairwise_definition() {
        let mut rows = vec![
            (0.9, true),
            (0.8, false),
            (0.7, true),
            (0.7, false),
            (0.3, true),
            (0.1, false),
        ];
        // Pairs (pos, neg): 0.9 beats 3; 0.7 beats 0.1, ties 0.7 (0.5), loses
        // to 0.8; 0.3 beats 0.1 only: (3 + 1.5 + 1) / 9.
        let auc = roc_auc(&mut rows).unwrap();
        assert!((auc - 5.5 / 9.0).abs() < 1e-12, "{auc}");
        assert_eq!(roc_auc(&mut [(1.0, true)]), None);
        let mut perfect = vec![(2.0, true), (1.0, false)];
        assert_eq!(roc_auc(&mut perfect), Some(1.0));
    }
}

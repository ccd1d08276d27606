//! Set-based reads and writes for lead scoring: the facts of a chunk of
//! leads in one query (contact joined, activities aggregated by GROUP BY), the
//! scores of a chunk written back in one statement, an organization's scoring
//! configuration, and the scoring analytics (each one aggregate query).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain::{LeadId, OrgId};

use crate::audit::{self, Action};
use crate::db::{Db, Sql};
use crate::{Result, StoreError};

/// Batch-scoring repository.
#[derive(Debug, Clone, Copy)]
pub struct ScoringData<'a> {
    pub(crate) db: &'a Db,
}

/// Everything the scorer reads about one lead: the lead with its contact's
/// fields, and its activity totals.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LeadFactsRow {
    /// The lead.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Stated budget.
    pub budget_cents: Option<i64>,
    /// Expected decision date.
    pub expected_decision: Option<NaiveDate>,
    /// Current score.
    pub score: Option<f64>,
    /// Current category.
    pub score_category: Option<String>,
    /// When the current score was computed.
    pub score_updated_at: Option<DateTime<Utc>>,
    /// Last change of the lead's own fields.
    pub updated_at: DateTime<Utc>,
    /// The lead's contact, whose fields follow.
    pub contact_id: Option<i64>,
    /// The contact's industry.
    pub industry: Option<String>,
    /// The contact's company size.
    pub company_size: Option<i64>,
    /// The contact's job title.
    pub job_title: Option<String>,
    /// Its activities' totals (`None`: it has none), read by a second query
    /// and joined by [`ScoringData::facts`].
    #[sqlx(skip)]
    pub activity: Option<ActivityTotals>,
}

crate::sqlite_read::sqlite_row!(LeadFactsRow {
    id,
    title,
    description,
    budget_cents,
    expected_decision,
    score,
    score_category,
    score_updated_at,
    updated_at,
    contact_id,
    industry,
    company_size,
    job_title,
} default {
    activity
});

/// A lead's activities, aggregated in one pass over the chunk's activities.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct ActivityTotals {
    /// The lead.
    pub lead_id: i64,
    /// E-mail opens.
    pub opens: Option<i64>,
    /// E-mail clicks.
    pub clicks: Option<i64>,
    /// Seconds on the web site.
    pub website_seconds: Option<i64>,
    /// All activities.
    pub activity_count: Option<i64>,
    /// When the latest activity happened.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// When the latest activity was recorded (newer than the score: stale).
    pub last_recorded_at: Option<DateTime<Utc>>,
}

crate::sqlite_read::sqlite_row!(ActivityTotals {
    lead_id,
    opens,
    clicks,
    website_seconds,
    activity_count,
    last_activity_at,
    last_recorded_at,
});

/// A score to write.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreWrite {
    /// The lead.
    pub lead_id: LeadId,
    /// Total 0–100.
    pub score: f64,
    /// Category name.
    pub category: String,
    /// Confidence 0–1.
    pub confidence: f64,
    /// Factor breakdown and recommendations, as JSON text (serialized once,
    /// straight from the engine's types: building a `serde_json::Value` per
    /// lead costs more than scoring it).
    pub factors: String,
    /// Whether the score differs from the one read with the lead's facts. A
    /// hint for the write: the history gets a row whenever the *stored*
    /// score or category differs from the new one when it is written.
    pub changed: bool,
}

/// SQLite's side of [`ScoringData::write`], on the bulk-write connection.
fn write_sqlite(
    conn: &rusqlite::Connection,
    org: OrgId,
    scores: &[ScoreWrite],
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let at = crate::Param::from(at);
    let mut full = conn.prepare_cached(
        "UPDATE leads SET score = ?1, score_category = ?2, score_confidence = ?3, \
         score_factors = ?4, score_updated_at = ?5 WHERE organization_id = ?6 AND id = ?7",
    )?;
    // Only while the stored score and category are the new ones.
    let kept = "UPDATE leads SET score_confidence = ?1, score_factors = ?2, score_updated_at = ?3 \
         WHERE organization_id = ?4 AND id = ?5 AND score = ?6 AND score_category = ?7";
    let mut kept = conn.prepare_cached(kept)?;
    let mut history = conn.prepare_cached(
        "INSERT INTO lead_score_history (organization_id, lead_id, score, category, confidence, scored_at) \
         SELECT organization_id, id, ?3, ?4, ?5, ?6 FROM leads WHERE organization_id = ?1 AND id = ?2 \
         AND (score IS NULL OR score <> ?3 OR score_category IS NULL OR score_category <> ?4)",
    )?;
    for s in scores {
        let (id, category) = (s.lead_id.0, s.category.as_str());
        // A score the chunk found unchanged is most likely still the stored
        // one: then only the breakdown and the time are written.
        if !s.changed {
            let params = (s.confidence, &s.factors, &at, org.0, id, s.score, category);
            if kept.execute(params)? == 1 {
                continue;
            }
        }
        history.execute((org.0, id, s.score, category, s.confidence, &at))?;
        full.execute((s.score, category, s.confidence, &s.factors, &at, org.0, id))?;
    }
    Ok(())
}

/// The lead and contact facts of a range of leads, in id order.
const LEADS: &str = "SELECT l.id, l.title, l.description, l.budget_cents, l.expected_decision, l.score, \
    l.score_category, l.score_updated_at, l.updated_at, l.contact_id, c.industry, c.company_size, c.job_title \
    FROM leads l \
    LEFT JOIN contacts c ON c.organization_id = l.organization_id AND c.id = l.contact_id \
    WHERE l.organization_id = $1 AND l.id >= $2 AND l.id <= $3 ORDER BY l.id";

/// [`LEADS`] without the contact's fields, which come from [`ContactFacts`]:
/// the join is a random lookup in `contacts` per lead, a third of the query
/// (on the 1M-lead benchmark, in Python on the same SQLite: 3.0-3.6 s for
/// the joined reads against 1.6 s without and 0.13 s for reading all 200,000
/// contacts once).
const LEADS_ONLY: &str = "SELECT l.id, l.title, l.description, l.budget_cents, l.expected_decision, l.score, \
    l.score_category, l.score_updated_at, l.updated_at, l.contact_id, CAST(NULL AS TEXT) AS industry, \
    CAST(NULL AS BIGINT) AS company_size, CAST(NULL AS TEXT) AS job_title \
    FROM leads l WHERE l.organization_id = $1 AND l.id >= $2 AND l.id <= $3 ORDER BY l.id";

/// The contact fields the scorer reads; a filter on `organization_id` follows.
const CONTACT_FIELDS: &str =
    "SELECT id, industry, company_size, job_title FROM contacts WHERE organization_id = ";

/// One contact's fields the scorer reads.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct ContactRow {
    id: i64,
    industry: Option<String>,
    company_size: Option<i64>,
    job_title: Option<String>,
}

crate::sqlite_read::sqlite_row!(ContactRow {
    id,
    industry,
    company_size,
    job_title,
});

/// The scorer's fields of every contact of an organization, read once per
/// batch so that each chunk of leads reads no contact ([`ScoringData::facts`]).
/// Industries and job titles are shared between the contacts that have the
/// same one: an organization has few distinct values of either. About 32
/// bytes a contact (and up to 32 more where ids are dense);
/// [`ScoringData::contact_facts`] declines to hold more than a given number.
#[derive(Debug, Clone, Default)]
pub struct ContactFacts {
    /// Contact ids, ascending...
    ids: Vec<i64>,
    /// ...and their fields: industry, company size, job title (indexes into
    /// `texts`, `u32::MAX` for none).
    fields: Vec<(u32, Option<i64>, u32)>,
    texts: Vec<Arc<str>>,
    /// Where ids are dense (at most [`ContactFacts::SPREAD`] times as many
    /// ids between the first and last as contacts): each id's position
    /// (`u32::MAX`: none), indexed by `id - ids[0]`, so a lead's contact is
    /// one lookup instead of a binary search over every contact (measured as
    /// 5 % of the batch at 200,000 contacts).
    positions: Vec<u32>,
}

impl ContactFacts {
    const NONE: u32 = u32::MAX;
    const SPREAD: usize = 8;

    fn new(mut rows: Vec<ContactRow>) -> Self {
        // Read in id order already, mostly: then this is one pass.
        rows.sort_unstable_by_key(|r| r.id);
        let mut interned: std::collections::HashMap<String, u32> = Default::default();
        let mut facts = ContactFacts {
            ids: Vec::with_capacity(rows.len()),
            fields: Vec::with_capacity(rows.len()),
            ..Default::default()
        };
        let mut intern = |text: Option<String>, texts: &mut Vec<Arc<str>>| match text {
            None => Self::NONE,
            Some(t) => *interned.entry(t).or_insert_with_key(|t| {
                texts.push(Arc::from(t.as_str()));
                (texts.len() - 1) as u32
            }),
        };
        for r in rows {
            facts.ids.push(r.id);
            let industry = intern(r.industry, &mut facts.texts);
            let title = intern(r.job_title, &mut facts.texts);
            facts.fields.push((industry, r.company_size, title));
        }
        if let (Some(&first), Some(&last)) = (facts.ids.first(), facts.ids.last()) {
            let span = usize::try_from(last.abs_diff(first)).unwrap_or(usize::MAX);
            if span < facts.ids.len().saturating_mul(Self::SPREAD) {
                facts.positions = vec![Self::NONE; span + 1];
                for (i, &id) in facts.ids.iter().enumerate() {
                    facts.positions[(id - first) as usize] = i as u32;
                }
            }
        }
        facts
    }

    /// The position of contact `id`, if held.
    fn position(&self, id: i64) -> Option<usize> {
        if self.positions.is_empty() {
            return self.ids.binary_search(&id).ok();
        }
        let slot = usize::try_from(id.checked_sub(*self.ids.first()?)?).ok()?;
        match *self.positions.get(slot)? {
            Self::NONE => None,
            i => Some(i as usize),
        }
    }

    /// How many contacts are held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no contact is held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn text(&self, i: u32) -> Option<String> {
        self.texts.get(i as usize).map(|t| t.to_string())
    }

    /// Gives `lead` its contact's fields; false when it has a contact this
    /// set does not hold (its fields are left as they were).
    fn fill(&self, lead: &mut LeadFactsRow) -> bool {
        let Some(contact) = lead.contact_id else {
            return true;
        };
        let Some(i) = self.position(contact) else {
            return false;
        };
        let (industry, size, title) = self.fields[i];
        lead.industry = self.text(industry);
        lead.company_size = size;
        lead.job_title = self.text(title);
        true
    }
}

/// The activity aggregates of the same range, one pass over the covering
/// index `activities_scoring`, in lead order. Merged with [`LEADS`] in
/// [`ScoringData::facts`]: as one query, SQLite materialized this and built
/// an automatic index to join it, which cost more than both reads. An
/// activity's organization is its lead's (a composite foreign key), so
/// leads of other organizations whose ids fall in the range yield groups
/// that match no lead of [`LEADS`]; the filter keeps them out of the pass
/// anyway. `+organization_id` (a no-op unary plus, valid on both backends)
/// keeps SQLite's planner from choosing the `(organization_id,
/// occurred_at)` index, which reads every activity of the organization.
/// `FILTER` rather than `SUM(CASE ...)`: SQLite skips the aggregate step for
/// the other types instead of adding a zero (reading the 10M activities,
/// measured in Python on the same SQLite: 3.3-3.4 s against 3.8-4.6 s).
const ACTIVITY_AGGREGATES: &str = "SELECT lead_id, \
    CAST(COUNT(*) FILTER (WHERE type = 'email_open') AS BIGINT) AS opens, \
    CAST(COUNT(*) FILTER (WHERE type = 'email_click') AS BIGINT) AS clicks, \
    CAST(COALESCE(SUM(duration_seconds) FILTER (WHERE type = 'website_visit'), 0) AS BIGINT) AS website_seconds, \
    CAST(COUNT(*) AS BIGINT) AS activity_count, \
    MAX(occurred_at) AS last_activity_at, MAX(created_at) AS last_recorded_at \
    FROM activities WHERE +organization_id = $1 AND lead_id >= $2 AND lead_id <= $3 \
    GROUP BY lead_id ORDER BY lead_id";

/// Gives each lead its activity totals; both lists are in lead order.
fn merge(mut leads: Vec<LeadFactsRow>, totals: Vec<ActivityTotals>) -> Vec<LeadFactsRow> {
    let mut totals = totals.into_iter().peekable();
    for l in &mut leads {
        while totals.next_if(|a| a.lead_id < l.id).is_some() {}
        l.activity = totals.next_if(|a| a.lead_id == l.id);
    }
    leads
}

impl ScoringData<'_> {
    /// The id range `[first, last]` of the next `limit` leads of `org` after
    /// `after`, or `None` when there are no more.
    pub async fn next_range(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
    ) -> Result<Option<(i64, i64)>> {
        let first: Option<(i64,)> = self
            .db
            .fetch_optional(
                Sql::new("SELECT id FROM leads WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT 1")
                    .arg(org)
                    .arg(after),
            )
            .await?;
        let Some((first,)) = first else {
            return Ok(None);
        };
        let last: Option<(i64,)> = self
            .db
            .fetch_optional(
                Sql::new(
                    "SELECT id FROM leads WHERE organization_id = $1 AND id >= $2 ORDER BY id \
                     LIMIT 1 OFFSET $3",
                )
                .arg(org)
                .arg(first)
                .arg(limit.max(1) as i64 - 1),
            )
            .await?;
        let last = match last {
            Some((id,)) => id,
            None => {
                let (max,): (i64,) = self
                    .db
                    .fetch_one(
                        Sql::new(
                            "SELECT CAST(MAX(id) AS BIGINT) FROM leads WHERE organization_id = $1",
                        )
                        .arg(org),
                    )
                    .await?;
                max
            }
        };
        Ok(Some((first, last)))
    }

    /// How many leads `org` has (the length of a batch's progress bar).
    pub async fn lead_count(&self, org: OrgId) -> Result<u64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM leads WHERE organization_id = $1")
                    .arg(org),
            )
            .await?;
        Ok(n.max(0) as u64)
    }

    /// The scorer's fields of every contact of `org`, or `None` when it has
    /// more than `max` (then [`ScoringData::facts`] joins them per chunk).
    pub async fn contact_facts(&self, org: OrgId, max: u64) -> Result<Option<ContactFacts>> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Sql::new(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM contacts WHERE organization_id = $1",
                )
                .arg(org),
            )
            .await?;
        if n.max(0) as u64 > max {
            return Ok(None);
        }
        let rows: Vec<ContactRow> = self
            .db
            .fetch_all_fast({
                let mut q = Sql::new(CONTACT_FIELDS);
                q.bind(org).push(" ORDER BY id");
                q
            })
            .await?;
        Ok(Some(ContactFacts::new(rows)))
    }

    /// The scorer's fields of these contacts of `org`.
    async fn contacts_by_id(&self, org: OrgId, ids: &[i64]) -> Result<ContactFacts> {
        let mut rows: Vec<ContactRow> = Vec::new();
        for ids in ids.chunks(500) {
            let mut q = Sql::new(CONTACT_FIELDS);
            q.bind(org).push(" AND id IN (");
            for (i, id) in ids.iter().enumerate() {
                q.push(if i > 0 { ", " } else { "" }).bind(*id);
            }
            q.push(")");
            rows.append(&mut self.db.fetch_all_fast(q).await?);
        }
        Ok(ContactFacts::new(rows))
    }

    /// The facts of `org`'s leads with ids in `[first, last]`, in id order:
    /// the leads with their contact's fields and their activities'
    /// aggregates, read side by side on two connections and merged. The
    /// contact's fields come from `contacts` when given (those it does not
    /// hold, created since it was read, by one more query), else from a join.
    pub async fn facts(
        &self,
        org: OrgId,
        first: i64,
        last: i64,
        contacts: Option<&ContactFacts>,
    ) -> Result<Vec<LeadFactsRow>> {
        let query = if contacts.is_some() {
            LEADS_ONLY
        } else {
            LEADS
        };
        let leads = self
            .db
            .fetch_all_fast(Sql::new(query).arg(org).arg(first).arg(last));
        let activities = self
            .db
            .fetch_all_fast(Sql::new(ACTIVITY_AGGREGATES).arg(org).arg(first).arg(last));
        let (mut leads, activities): (Vec<LeadFactsRow>, _) = tokio::try_join!(leads, activities)?;
        if let Some(contacts) = contacts {
            let mut missing = Vec::new();
            for lead in &mut leads {
                if !contacts.fill(lead) {
                    missing.extend(lead.contact_id);
                }
            }
            if !missing.is_empty() {
                // Contacts created (or moved) since the set was read.
                missing.sort_unstable();
                missing.dedup();
                // Holds only those: filling every lead from it fills them.
                let late = self.contacts_by_id(org, &missing).await?;
                for lead in &mut leads {
                    late.fill(lead);
                }
            }
        }
        Ok(merge(leads, activities))
    }

    /// Writes a chunk of scores in one transaction, with a history row for
    /// each lead whose stored score or category differs from its new one.
    /// Leads that no longer exist are skipped.
    ///
    /// On a SQLite file each lead is one run of statements prepared once per
    /// chunk (`Db::sqlite_write`), and a score found unchanged only writes its
    /// breakdown, confidence and time, leaving `score` and `score_category`
    /// (and their index entries) alone. Elsewhere the same, 500 leads a
    /// statement.
    ///
    /// `scores` is shared, not copied, with the blocking thread that writes
    /// it on SQLite: pass an `Arc` to keep it, or a slice to have it copied.
    pub async fn write(
        &self,
        org: OrgId,
        scores: impl Into<Arc<[ScoreWrite]>>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let scores: Arc<[ScoreWrite]> = scores.into();
        if scores.is_empty() {
            return Ok(());
        }
        let rows = Arc::clone(&scores);
        if let Some(done) = self
            .db
            .sqlite_write(move |conn| write_sqlite(conn, org, &rows, at))
            .await
        {
            return done;
        }
        let mut tx = self.db.begin().await?;
        // SQLite stores JSON as text; PostgreSQL's column is JSONB.
        let factors = match tx.backend() {
            crate::Backend::Sqlite => "v.factors",
            crate::Backend::Postgres => "CAST(v.factors AS JSONB)",
        };
        // Wider statements are fewer round trips. The same logic as on a
        // SQLite file, 500 leads a statement: unchanged scores first, guarded;
        // the rest (and those whose stored score moved) with their history.
        let values = |rows: &[&ScoreWrite], with_factors: bool| {
            let mut q = Sql::new("WITH v (id, score, category, confidence");
            q.push(if with_factors {
                ", factors) AS (VALUES "
            } else {
                ") AS (VALUES "
            });
            for (i, s) in rows.iter().enumerate() {
                q.push(if i > 0 { ", (" } else { "(" })
                    .bind(s.lead_id)
                    .push(", ")
                    .bind(s.score)
                    .push(", ")
                    .bind(s.category.as_str())
                    .push(", ")
                    .bind(s.confidence);
                if with_factors {
                    q.push(", ").bind(s.factors.as_str());
                }
                q.push(")");
            }
            q
        };
        for chunk in scores.chunks(500) {
            let (kept, mut full): (Vec<&ScoreWrite>, Vec<&ScoreWrite>) =
                chunk.iter().partition(|s| !s.changed);
            if !kept.is_empty() {
                let mut q = values(&kept, true);
                q.push(") UPDATE leads SET score_confidence = v.confidence, score_factors = ")
                    .push(factors)
                    .push(", score_updated_at = ")
                    .bind(at)
                    .push(" FROM v WHERE leads.organization_id = ")
                    .bind(org)
                    // Not `leads.score = v.score`: PostgreSQL then walks
                    // the (organization_id, score) index, every lead of
                    // that score, instead of looking each id up.
                    .push(
                        " AND leads.id = v.id AND leads.score IS NOT DISTINCT FROM v.score \
                         AND leads.score_category IS NOT DISTINCT FROM v.category RETURNING leads.id",
                    );
                let done: std::collections::HashSet<i64> = tx
                    .fetch_all::<(i64,)>(q)
                    .await?
                    .into_iter()
                    .map(|(id,)| id)
                    .collect();
                full.extend(kept.into_iter().filter(|s| !done.contains(&s.lead_id.0)));
            }
            if full.is_empty() {
                continue;
            }
            // The history first, while the stored scores are the old ones.
            // Joining the leads table skips leads deleted meanwhile.
            let mut h = values(&full, false);
            h.push(
                ") INSERT INTO lead_score_history (organization_id, lead_id, score, category, confidence, scored_at) \
                 SELECT l.organization_id, l.id, v.score, v.category, v.confidence, ",
            )
            .bind(at)
            .push(" FROM v JOIN leads l ON l.id = v.id AND l.organization_id = ")
            .bind(org)
            .push(
                " WHERE l.score IS NULL OR l.score <> v.score \
                 OR l.score_category IS NULL OR l.score_category <> v.category",
            );
            tx.execute(h).await?;

            let mut q = values(&full, true);
            q.push(
                ") UPDATE leads SET score = v.score, score_category = v.category, \
                 score_confidence = v.confidence, score_factors = ",
            )
            .push(factors)
            .push(", score_updated_at = ")
            .bind(at)
            .push(" FROM v WHERE leads.organization_id = ")
            .bind(org)
            .push(" AND leads.id = v.id");
            tx.execute(q).await?;
        }
        tx.commit().await
    }

    /// A lead's score history, newest first.
    pub async fn history(&self, org: OrgId, lead: LeadId, limit: u32) -> Result<Vec<ScorePoint>> {
        let rows: Vec<ScorePoint> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT score, category, confidence, scored_at FROM lead_score_history \
                     WHERE organization_id = $1 AND lead_id = $2 ORDER BY scored_at DESC, id DESC LIMIT $3",
                )
                .arg(org)
                .arg(lead)
                .arg(limit as i64),
            )
            .await?;
        Ok(rows)
    }

    /// Clears every score time of `org` so the next batch rescores all its
    /// leads (after a configuration change).
    pub async fn mark_all_stale(&self, org: OrgId) -> Result<u64> {
        Ok(self
            .db
            .execute(
                Sql::new("UPDATE leads SET score_updated_at = NULL WHERE organization_id = $1")
                    .arg(org),
            )
            .await?)
    }
}

/// Leads of one category (`None`: never scored).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct CategoryCount {
    /// The stored category word.
    pub category: Option<String>,
    /// How many leads.
    pub leads: i64,
}

/// Leads grouped by one key, with their average score.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct GroupScore {
    /// The group (a source word, or an industry as recorded; `None`: none).
    pub key: Option<String>,
    /// Leads in the group.
    pub leads: i64,
    /// Of which scored.
    pub scored: i64,
    /// Average score of the scored ones (`None` when none is).
    pub average_score: Option<f64>,
}

/// A lead whose score moved within the analytics window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ScoreMove {
    /// The lead.
    pub lead_id: i64,
    /// Its title.
    pub title: String,
    /// Its score when the window opened (or its first score in the window).
    pub old_score: f64,
    /// Its latest score.
    pub new_score: f64,
    /// Its latest category.
    pub category: String,
}

/// An organization's scoring analytics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoringAnalytics {
    /// Leads per category, unscored ones under `None`.
    pub distribution: Vec<CategoryCount>,
    /// Average score per lead source.
    pub by_source: Vec<GroupScore>,
    /// Average score per industry (the largest groups).
    pub by_industry: Vec<GroupScore>,
    /// The leads whose score moved most since the window opened, largest
    /// absolute move first.
    pub top_movers: Vec<ScoreMove>,
}

/// Industries reported by [`ScoringData::analytics`] (the largest groups):
/// industry is free text, so an organization can have thousands.
pub const ANALYTICS_INDUSTRIES: i64 = 25;

const MOVERS: &str = "WITH moved AS (\
        SELECT DISTINCT lead_id FROM lead_score_history WHERE organization_id = $1 AND scored_at >= $2), \
    h AS (SELECT h.lead_id, h.score, h.category, \
        ROW_NUMBER() OVER (PARTITION BY h.lead_id ORDER BY h.scored_at DESC, h.id DESC) AS newest, \
        ROW_NUMBER() OVER (PARTITION BY h.lead_id ORDER BY \
            CASE WHEN h.scored_at < $2 THEN 0 ELSE 1 END, \
            CASE WHEN h.scored_at < $2 THEN h.scored_at END DESC, h.scored_at, h.id) AS base \
      FROM lead_score_history h JOIN moved m ON m.lead_id = h.lead_id \
      WHERE h.organization_id = $1) \
    SELECT n.lead_id, l.title, b.score AS old_score, n.score AS new_score, n.category \
    FROM h n JOIN h b ON b.lead_id = n.lead_id AND b.base = 1 \
    JOIN leads l ON l.organization_id = $1 AND l.id = n.lead_id \
    WHERE n.newest = 1 AND n.score <> b.score \
    ORDER BY ABS(n.score - b.score) DESC, n.lead_id LIMIT $3";

impl ScoringData<'_> {
    /// Stores `config` as the organization's `settings.scoring` (other
    /// settings kept) and marks every lead of the organization for
    /// re-scoring, in one transaction, with an audit entry. Returns how many
    /// leads were marked. The caller validates the configuration.
    pub async fn set_config(
        &self,
        org: OrgId,
        actor: Option<neuracrm_domain::UserId>,
        config: serde_json::Value,
    ) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let mut q = Sql::new("SELECT settings FROM organizations WHERE id = $1").arg(org);
        if tx.backend() == crate::Backend::Postgres {
            // SQLite's write transaction already serializes writers.
            q.push(" FOR UPDATE");
        }
        let row: Option<(sqlx::types::Json<serde_json::Value>,)> = tx.fetch_optional(q).await?;
        let (sqlx::types::Json(mut settings),) = row.ok_or(StoreError::NotFound {
            entity: "organization",
        })?;
        if !settings.is_object() {
            settings = serde_json::json!({});
        }
        settings["scoring"] = config;
        tx.execute(
            Sql::new("UPDATE organizations SET settings = $1 WHERE id = $2")
                .arg(settings)
                .arg(org),
        )
        .await?;
        let marked = tx
            .execute(
                Sql::new("UPDATE leads SET score_updated_at = NULL WHERE organization_id = $1")
                    .arg(org),
            )
            .await?;
        audit::record(&mut tx, org, actor, Action::Update, "scoring_config", org.0).await?;
        tx.commit().await?;
        Ok(marked)
    }

    /// The organization's scoring analytics: leads per category, average
    /// score per source and per industry, and the `movers` leads whose score
    /// moved most since `since` (from the score history). Four aggregate
    /// queries, whatever the number of leads.
    pub async fn analytics(
        &self,
        org: OrgId,
        since: DateTime<Utc>,
        movers: u32,
    ) -> Result<ScoringAnalytics> {
        let distribution: Vec<CategoryCount> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT score_category AS category, CAST(COUNT(*) AS BIGINT) AS leads \
                     FROM leads WHERE organization_id = $1 GROUP BY score_category \
                     ORDER BY (score_category IS NULL), score_category",
                )
                .arg(org),
            )
            .await?;
        let by_source: Vec<GroupScore> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT source AS key, CAST(COUNT(*) AS BIGINT) AS leads, \
                     CAST(COUNT(score) AS BIGINT) AS scored, AVG(score) AS average_score \
                     FROM leads WHERE organization_id = $1 GROUP BY source ORDER BY source",
                )
                .arg(org),
            )
            .await?;
        let by_industry: Vec<GroupScore> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT c.industry AS key, CAST(COUNT(*) AS BIGINT) AS leads, \
                     CAST(COUNT(l.score) AS BIGINT) AS scored, AVG(l.score) AS average_score \
                     FROM leads l LEFT JOIN contacts c \
                       ON c.organization_id = l.organization_id AND c.id = l.contact_id \
                     WHERE l.organization_id = $1 GROUP BY c.industry \
                     ORDER BY COUNT(*) DESC, (c.industry IS NULL), c.industry LIMIT $2",
                )
                .arg(org)
                .arg(ANALYTICS_INDUSTRIES),
            )
            .await?;
        let top_movers = self.top_movers(org, since, movers).await?;
        Ok(ScoringAnalytics {
            distribution,
            by_source,
            by_industry,
            top_movers,
        })
    }
}

impl ScoringData<'_> {
    /// The `n` leads whose score moved most since `since` (from the score
    /// history), largest absolute move first: the part of
    /// [`analytics`](Self::analytics) the dashboard shows.
    pub async fn top_movers(
        &self,
        org: OrgId,
        since: DateTime<Utc>,
        n: u32,
    ) -> Result<Vec<ScoreMove>> {
        Ok(self
            .db
            .fetch_all(Sql::new(MOVERS).arg(org).arg(since).arg(n as i64))
            .await?)
    }
}

/// One entry of a lead's score history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ScorePoint {
    /// The score.
    pub score: f64,
    /// Its category.
    pub category: String,
    /// Its confidence.
    pub confidence: f64,
    /// When it was computed.
    pub scored_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(id: i64) -> LeadFactsRow {
        LeadFactsRow {
            id,
            title: format!("lead {id}"),
            description: None,
            budget_cents: None,
            expected_decision: None,
            score: None,
            score_category: None,
            score_updated_at: None,
            updated_at: DateTime::UNIX_EPOCH,
            contact_id: None,
            industry: None,
            company_size: None,
            job_title: None,
            activity: None,
        }
    }

    fn acts(lead_id: i64, n: i64) -> ActivityTotals {
        ActivityTotals {
            lead_id,
            opens: Some(n),
            activity_count: Some(n),
            ..ActivityTotals::default()
        }
    }

    #[test]
    fn contact_facts_find_dense_and_sparse_ids_alike() {
        let contact = |id: i64| ContactRow {
            id,
            industry: Some(format!("industry {}", id % 3)),
            company_size: Some(id * 10),
            job_title: (id % 2 == 0).then(|| "CTO".to_string()),
        };
        // Dense (with gaps, given out of order), then sparse.
        for ids in [vec![12, 10, 11, 15, 14], vec![3, 1_000_000, 7, -5]] {
            let facts = ContactFacts::new(ids.iter().map(|&id| contact(id)).collect());
            assert_eq!(facts.positions.is_empty(), ids.len() == 4, "{ids:?}");
            for &id in &ids {
                let mut l = lead(1);
                l.contact_id = Some(id);
                assert!(facts.fill(&mut l), "{id}");
                let want = contact(id);
                assert_eq!(
                    (l.industry, l.company_size, l.job_title),
                    (want.industry, want.company_size, want.job_title)
                );
            }
            for absent in [13, 9, 16, 0, i64::MIN, i64::MAX] {
                let mut l = lead(1);
                l.contact_id = Some(absent);
                assert!(!facts.fill(&mut l), "{absent}");
                assert_eq!(l.industry, None);
            }
            // A lead without a contact needs none.
            assert!(facts.fill(&mut lead(1)));
        }
        // Three industries and one title, each held once.
        let facts = ContactFacts::new((0..100).map(contact).collect());
        assert_eq!(facts.texts.len(), 4);
    }

    #[test]
    fn merge_pairs_each_lead_with_its_own_group_only() {
        // Leads 2 and 5 have no activities; 3 and 6 are another
        // organization's leads inside the id range (groups with no lead).
        let leads = vec![lead(1), lead(2), lead(4), lead(5), lead(7)];
        let groups = vec![
            acts(1, 10),
            acts(3, 30),
            acts(4, 40),
            acts(6, 60),
            acts(7, 70),
        ];
        let rows = merge(leads, groups);
        let got: Vec<(i64, Option<i64>)> = rows
            .iter()
            .map(|r| (r.id, r.activity.as_ref().and_then(|a| a.opens)))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, Some(10)),
                (2, None),
                (4, Some(40)),
                (5, None),
                (7, Some(70))
            ]
        );
        assert_eq!(merge(vec![lead(1)], vec![]).len(), 1);
        assert!(merge(vec![], vec![acts(1, 1)]).is_empty());
    }
}

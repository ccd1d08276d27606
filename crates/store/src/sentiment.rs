//! Stored sentiment of activities (`activity_sentiment`): the texts to
//! analyse, read a chunk at a time; results written a chunk per statement; and
//! the set-based summary queries (trend per week or month, most negative
//! items) behind `GET /api/sentiment/summary`.
//!
//! An activity carries customer text when its type is a note, a received
//! e-mail or a call ([`ActivityType::carries_customer_text`]) and its body is
//! not blank. Every statement is scoped to one organization.

use chrono::{DateTime, Utc};
use neuracrm_domain::{ActivityId, ActivityType, ContactId, LeadId, OrgId};
use serde::Serialize;

use crate::db::{Backend, Db, Sql};
use crate::tables::word;
use crate::{Result, StoreError};

/// Rows per write statement (8 parameters each, far below either backend's
/// limit on bound parameters).
const WRITE_CHUNK: usize = 500;

/// Sentiment repository.
#[derive(Debug, Clone, Copy)]
pub struct SentimentData<'a> {
    pub(crate) db: &'a Db,
}

/// An activity's type and body, to be analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityText {
    /// The activity.
    pub id: ActivityId,
    /// Its type.
    pub kind: ActivityType,
    /// Its body.
    pub body: Option<String>,
}

impl ActivityText {
    /// The text to analyse: the body of a customer-text activity, when it is
    /// not blank.
    pub fn customer_text(&self) -> Option<&str> {
        customer_text(self.kind, self.body.as_deref())
    }
}

/// The text sentiment reads from an activity of type `kind` with `body`:
/// customer-text types only, blank bodies excluded.
pub fn customer_text(kind: ActivityType, body: Option<&str>) -> Option<&str> {
    body.filter(|b| kind.carries_customer_text() && !b.trim().is_empty())
}

#[derive(sqlx::FromRow)]
struct TextRow {
    id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    body: Option<String>,
}

impl TryFrom<TextRow> for ActivityText {
    type Error = StoreError;
    fn try_from(r: TextRow) -> Result<Self> {
        Ok(ActivityText {
            id: ActivityId(r.id),
            kind: word("activity", &r.kind)?,
            body: r.body,
        })
    }
}

/// One result to store.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentWrite {
    /// The activity.
    pub activity_id: ActivityId,
    /// `negative`, `neutral` or `positive`.
    pub label: &'static str,
    /// How sure, in [0, 1].
    pub confidence: f64,
    /// Negative score.
    pub negative: f64,
    /// Neutral score.
    pub neutral: f64,
    /// Positive score.
    pub positive: f64,
    /// VADER's compound score, in [−1, 1].
    pub compound: f64,
    /// `vader` or `model`.
    pub method: &'static str,
}

/// A stored result.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoredSentiment {
    /// The activity.
    pub activity_id: i64,
    /// `negative`, `neutral` or `positive`.
    pub label: String,
    /// How sure, in [0, 1].
    pub confidence: f64,
    /// Negative score.
    pub negative: f64,
    /// Neutral score.
    pub neutral: f64,
    /// Positive score.
    pub positive: f64,
    /// VADER's compound score.
    pub compound: f64,
    /// `vader` or `model`.
    pub method: String,
    /// When it was computed.
    pub analyzed_at: DateTime<Utc>,
}

const STORED: &str =
    "activity_id, label, confidence, negative, neutral, positive, compound, method, analyzed_at";

/// Which activities a summary covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole organization.
    Organization,
    /// A contact's timeline: its own activities and those of its leads and deals.
    Contact(ContactId),
    /// A lead's activities and those of the deals it became.
    Lead(LeadId),
}

/// The width of a trend bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// ISO weeks, starting on Monday (UTC).
    Week,
    /// Calendar months (UTC).
    Month,
}

/// One bucket of the trend, as stored rows aggregate into it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BucketRow {
    /// First day of the bucket, `YYYY-MM-DD`.
    pub bucket: String,
    /// Analysed activities.
    pub count: i64,
    /// Mean compound score.
    pub average_compound: Option<f64>,
    /// Negative ones.
    pub negative: i64,
    /// Neutral ones.
    pub neutral: i64,
    /// Positive ones.
    pub positive: i64,
}

/// A negative activity, for the summary's "most negative" list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NegativeRow {
    /// The activity.
    pub activity_id: i64,
    /// Its type.
    #[sqlx(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Its compound score.
    pub compound: f64,
    /// Its confidence.
    pub confidence: f64,
    /// Its body.
    pub body: Option<String>,
    /// The lead it belongs to.
    pub lead_id: Option<i64>,
    /// The contact it belongs to.
    pub contact_id: Option<i64>,
}

/// What the sentiment of a period is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    /// The activity's type (note, call, received e-mail).
    ActivityType,
    /// The source of the activity's lead (`none` for activities without a lead).
    LeadSource,
}

/// The sentiment of one group of a [`Breakdown`].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct GroupRow {
    /// The activity type or lead source, or `none`.
    pub key: String,
    /// Analysed activities.
    pub count: i64,
    /// Mean compound score.
    pub average_compound: Option<f64>,
    /// Negative ones.
    pub negative: i64,
    /// Neutral ones.
    pub neutral: i64,
    /// Positive ones.
    pub positive: i64,
}

/// The aggregate columns of a trend bucket or a breakdown group, over the
/// analysed activities `s` joined to their activities `a`, up to the
/// organization's id.
const COUNTS_FROM: &str = "CAST(COUNT(*) AS BIGINT) AS count, AVG(s.compound) AS average_compound, \
     CAST(SUM(CASE WHEN s.label = 'negative' THEN 1 ELSE 0 END) AS BIGINT) AS negative, \
     CAST(SUM(CASE WHEN s.label = 'neutral' THEN 1 ELSE 0 END) AS BIGINT) AS neutral, \
     CAST(SUM(CASE WHEN s.label = 'positive' THEN 1 ELSE 0 END) AS BIGINT) AS positive \
     FROM activity_sentiment s JOIN activities a \
     ON a.organization_id = s.organization_id AND a.id = s.activity_id";

/// Appends `AND a.id IN ($n, ...)`.
fn push_ids(q: &mut Sql, column: &str, ids: &[ActivityId]) {
    q.push(" AND ").push(column).push(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind(*id);
    }
    q.push(")");
}

/// Appends the scope's filter on the activities aliased `a`.
fn push_scope(q: &mut Sql, org: OrgId, scope: Scope) {
    match scope {
        Scope::Organization => {}
        Scope::Contact(c) => {
            q.push(" AND (a.contact_id = ").bind(c);
            q.push(" OR a.lead_id IN (SELECT id FROM leads WHERE organization_id = ")
                .bind(org);
            q.push(" AND contact_id = ").bind(c);
            q.push(") OR a.deal_id IN (SELECT id FROM deals WHERE organization_id = ")
                .bind(org);
            q.push(" AND contact_id = ").bind(c).push("))");
        }
        Scope::Lead(l) => {
            q.push(" AND (a.lead_id = ").bind(l);
            q.push(" OR a.deal_id IN (SELECT id FROM deals WHERE organization_id = ")
                .bind(org);
            q.push(" AND lead_id = ").bind(l).push("))");
        }
    }
}

/// Appends the `WHERE` of a summary: `org`'s analysed activities `s`, of
/// `scope`, that happened in `[from, to)`.
fn push_window(q: &mut Sql, org: OrgId, scope: Scope, from: DateTime<Utc>, to: DateTime<Utc>) {
    q.push(" WHERE s.organization_id = ")
        .bind(org)
        .push(" AND a.occurred_at >= ")
        .bind(from)
        .push(" AND a.occurred_at < ")
        .bind(to);
    push_scope(q, org, scope);
}

/// The first day of `a.occurred_at`'s bucket as `YYYY-MM-DD` text. Times are
/// RFC 3339 text on SQLite (whose date functions read them, offset
/// included) and TIMESTAMPTZ on PostgreSQL; both are bucketed in UTC.
fn bucket_expr(backend: Backend, g: Granularity) -> &'static str {
    match (backend, g) {
        // 'weekday 0' moves forward to Sunday (or stays on one); 6 days back is
        // that week's Monday.
        (Backend::Sqlite, Granularity::Week) => "date(a.occurred_at, 'weekday 0', '-6 days')",
        (Backend::Sqlite, Granularity::Month) => "strftime('%Y-%m-01', a.occurred_at)",
        (Backend::Postgres, Granularity::Week) => {
            "to_char(date_trunc('week', a.occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
        }
        (Backend::Postgres, Granularity::Month) => {
            "to_char(date_trunc('month', a.occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
        }
    }
}

/// The customer-text condition on the activities aliased `a`, as SQL (a
/// pre-filter: [`customer_text`] has the last word on what is blank).
const HAS_CUSTOMER_TEXT: &str = "a.type IN ('note', 'email_received', 'call') \
     AND a.body IS NOT NULL AND TRIM(a.body) <> ''";

impl SentimentData<'_> {
    /// The type and body of `org`'s activities among `ids` (others, and ids of
    /// other organizations, are absent from the answer).
    pub async fn texts(&self, org: OrgId, ids: &[ActivityId]) -> Result<Vec<ActivityText>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q =
            Sql::new("SELECT a.id, a.type, a.body FROM activities a WHERE a.organization_id = ");
        q.bind(org);
        push_ids(&mut q, "a.id", ids);
        q.push(" ORDER BY a.id");
        let rows: Vec<TextRow> = self.db.fetch_all(q).await?;
        rows.into_iter().map(ActivityText::try_from).collect()
    }

    /// Up to `limit` of `org`'s activities with customer text and no stored
    /// sentiment whose id is above `after`, in id order.
    pub async fn unanalyzed(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ActivityText>> {
        let mut q =
            Sql::new("SELECT a.id, a.type, a.body FROM activities a WHERE a.organization_id = ");
        q.bind(org)
            .push(" AND a.id > ")
            .bind(after)
            .push(" AND ")
            .push(HAS_CUSTOMER_TEXT)
            .push(
                " AND NOT EXISTS (SELECT 1 FROM activity_sentiment s \
                 WHERE s.organization_id = a.organization_id AND s.activity_id = a.id) \
                 ORDER BY a.id LIMIT ",
            )
            .bind(limit.max(1) as i64);
        let rows: Vec<TextRow> = self.db.fetch_all(q).await?;
        rows.into_iter().map(ActivityText::try_from).collect()
    }

    /// Stores (or replaces) results for `org`'s activities, one statement per
    /// 500 rows, all in one transaction; activities deleted meanwhile are
    /// skipped. Returns the rows written.
    pub async fn write(
        &self,
        org: OrgId,
        rows: &[SentimentWrite],
        at: DateTime<Utc>,
    ) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin().await?;
        let mut written = 0;
        for chunk in rows.chunks(WRITE_CHUNK) {
            let mut q = Sql::new(
                "WITH v (id, label, confidence, negative, neutral, positive, compound, method) AS (VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(r.activity_id)
                    .push(", ")
                    .bind(r.label)
                    .push(", ")
                    .bind(r.confidence)
                    .push(", ")
                    .bind(r.negative)
                    .push(", ")
                    .bind(r.neutral)
                    .push(", ")
                    .bind(r.positive)
                    .push(", ")
                    .bind(r.compound)
                    .push(", ")
                    .bind(r.method)
                    .push(")");
            }
            // Joining activities skips rows deleted since they were read (the
            // foreign key would reject them); `WHERE true` lets SQLite parse
            // the ON CONFLICT clause after a join.
            q.push(
                ") INSERT INTO activity_sentiment (organization_id, activity_id, label, confidence, \
                 negative, neutral, positive, compound, method, analyzed_at) \
                 SELECT a.organization_id, a.id, v.label, v.confidence, v.negative, v.neutral, \
                 v.positive, v.compound, v.method, ",
            )
            .bind(at)
            .push(" FROM v JOIN activities a ON a.id = v.id AND a.organization_id = ")
            .bind(org)
            .push(
                " WHERE true ON CONFLICT (organization_id, activity_id) DO UPDATE SET \
                 label = excluded.label, confidence = excluded.confidence, \
                 negative = excluded.negative, neutral = excluded.neutral, \
                 positive = excluded.positive, compound = excluded.compound, \
                 method = excluded.method, analyzed_at = excluded.analyzed_at",
            );
            written += tx.execute(q).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Removes the stored results of `org`'s activities among `ids` (an
    /// activity whose text was cleared); returns the rows removed.
    pub async fn clear(&self, org: OrgId, ids: &[ActivityId]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut q = Sql::new("DELETE FROM activity_sentiment WHERE organization_id = ");
        q.bind(org);
        push_ids(&mut q, "activity_id", ids);
        Ok(self.db.execute(q).await?)
    }

    /// The stored results of `org`'s activities among `ids`.
    pub async fn get_many(&self, org: OrgId, ids: &[ActivityId]) -> Result<Vec<StoredSentiment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new("SELECT ");
        q.push(STORED)
            .push(" FROM activity_sentiment WHERE organization_id = ")
            .bind(org);
        push_ids(&mut q, "activity_id", ids);
        Ok(self.db.fetch_all(q).await?)
    }

    /// The stored result of one of `org`'s activities, if any.
    pub async fn get(&self, org: OrgId, id: ActivityId) -> Result<Option<StoredSentiment>> {
        Ok(self.get_many(org, &[id]).await?.into_iter().next())
    }

    /// The trend: per bucket of `granularity`, the count, mean compound and
    /// label counts of `scope`'s analysed activities that happened in
    /// `[from, to)`, in bucket order (empty buckets absent).
    pub async fn trend(
        &self,
        org: OrgId,
        scope: Scope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        granularity: Granularity,
    ) -> Result<Vec<BucketRow>> {
        let bucket = bucket_expr(self.db.backend(), granularity);
        let mut q = Sql::new("SELECT ");
        q.push(bucket).push(" AS bucket, ").push(COUNTS_FROM);
        push_window(&mut q, org, scope, from, to);
        q.push(" GROUP BY ").push(bucket).push(" ORDER BY 1");
        Ok(self.db.fetch_all(q).await?)
    }

    /// The sentiment of `scope`'s analysed activities that happened in
    /// `[from, to)`, per activity type or per source of their lead, the
    /// largest group first.
    pub async fn breakdown(
        &self,
        org: OrgId,
        scope: Scope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: Breakdown,
    ) -> Result<Vec<GroupRow>> {
        let key = match by {
            Breakdown::ActivityType => "a.type",
            Breakdown::LeadSource => "COALESCE(l.source, 'none')",
        };
        let mut q = Sql::new("SELECT ");
        q.push(key).push(" AS key, ").push(COUNTS_FROM);
        if by == Breakdown::LeadSource {
            q.push(
                " LEFT JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
            );
        }
        push_window(&mut q, org, scope, from, to);
        q.push(" GROUP BY ").push(key).push(" ORDER BY 2 DESC, 1");
        Ok(self.db.fetch_all(q).await?)
    }

    /// The `limit` most negative of `scope`'s activities labelled negative
    /// that happened in `[from, to)`: lowest compound first, then the most
    /// recent.
    pub async fn most_negative(
        &self,
        org: OrgId,
        scope: Scope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<NegativeRow>> {
        let mut q = Sql::new(
            "SELECT a.id AS activity_id, a.type, a.occurred_at, s.compound, s.confidence, a.body, \
             a.lead_id, a.contact_id \
             FROM activity_sentiment s JOIN activities a \
             ON a.organization_id = s.organization_id AND a.id = s.activity_id \
             WHERE s.organization_id = ",
        );
        q.bind(org)
            .push(" AND s.label = 'negative' AND a.occurred_at >= ")
            .bind(from)
            .push(" AND a.occurred_at < ")
            .bind(to);
        push_scope(&mut q, org, scope);
        q.push(" ORDER BY s.compound ASC, a.occurred_at DESC, a.id DESC LIMIT ")
            .bind(limit as i64);
        Ok(self.db.fetch_all(q).await?)
    }
}

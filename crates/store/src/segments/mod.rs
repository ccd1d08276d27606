//! Customer segments: the segments, their members (with the time each
//! entered), the per-contact metrics and the evaluation of rules
//! ([`sql`] has the SQL and says why it is shaped so).

use chrono::{DateTime, Utc};
use neuracrm_domain::segments::{Rule, Segment, SegmentKind};
use neuracrm_domain::{ContactId, NewSegment, OrgId, SegmentId, UserId};
use serde::Serialize;
use sqlx::types::Json;

use crate::audit::{self, Action};
use crate::db::{Db, Sql};
use crate::tables::{push_in, word};
use crate::{Page, Paged, Result, StoreError};

pub mod sql;

pub use sql::{RULES_PER_STATEMENT, Scope, compile, compile_many};

/// Segment repository.
#[derive(Debug, Clone, Copy)]
pub struct Segments<'a> {
    pub(crate) db: &'a Db,
}

const COLUMNS: &str = "id, organization_id, name, description, kind, rule, size, refreshed_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct SegmentRow {
    id: i64,
    organization_id: i64,
    name: String,
    description: Option<String>,
    kind: String,
    rule: Json<serde_json::Value>,
    size: i64,
    refreshed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SegmentRow> for Segment {
    type Error = StoreError;
    fn try_from(r: SegmentRow) -> Result<Self> {
        let corrupt = |message: String| StoreError::Corrupt {
            entity: "segment",
            message,
        };
        Ok(Segment {
            id: SegmentId(r.id),
            organization_id: OrgId(r.organization_id),
            name: r.name,
            description: r.description,
            kind: word::<SegmentKind>("segment", &r.kind)?,
            rule: Rule::parse(&r.rule.0).map_err(|e| corrupt(e.to_string()))?,
            size: r.size,
            refreshed_at: r.refreshed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A segment named on a contact: which segments hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SegmentRef {
    /// The segment.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// When the contact entered it.
    pub entered_at: DateTime<Utc>,
}

/// One member as listed: who, and since when.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct MemberRow {
    /// The contact.
    pub contact_id: i64,
    /// When it entered the segment.
    pub entered_at: DateTime<Utc>,
    /// The contact's first name.
    pub first_name: String,
    /// Its family name.
    pub last_name: Option<String>,
    /// Its e-mail.
    pub email: Option<String>,
    /// Its company.
    pub company: Option<String>,
}

/// What a membership write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Applied {
    /// Contacts inserted.
    pub entered: u64,
    /// Contacts deleted.
    pub left: u64,
    /// Members after the write.
    pub size: i64,
}

/// The metrics of one contact, as the issue names them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactMetrics {
    /// The contact.
    pub contact_id: i64,
    /// Leads naming the contact.
    pub total_leads: i64,
    /// Deals naming the contact.
    pub total_deals: i64,
    /// Of which won.
    pub won_deals: i64,
    /// Of which lost.
    pub lost_deals: i64,
    /// Of which open.
    pub open_deals: i64,
    /// Sum of the deals' values.
    pub total_deal_value_cents: i64,
    /// Mean deal value (none without deals).
    pub avg_deal_value_cents: Option<f64>,
    /// Sum of the won deals' values.
    pub won_value_cents: i64,
    /// Sum of the open deals' values.
    pub open_value_cents: i64,
    /// Close time of the first won deal.
    pub first_won_at: Option<DateTime<Utc>>,
    /// Close time of the last won deal.
    pub last_won_at: Option<DateTime<Utc>>,
    /// Activities naming the contact or one of its leads or deals, each once.
    pub total_activities: i64,
    /// The latest of them.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Of them, in the last 30 days.
    pub activities_30d: i64,
    /// Of them, in the last 90 days.
    pub activities_90d: i64,
    /// Mean score of the scored leads.
    pub avg_lead_score: Option<f64>,
    /// Compound sentiment (-1..1) of the latest analysed activity.
    pub latest_sentiment: Option<f64>,
    /// Won / (won + lost); none without closed deals.
    pub conversion_rate: Option<f64>,
    /// Activities per month since the contact was created (at least one
    /// month counted).
    pub activity_score: f64,
    /// Won value plus the open value weighted by the conversion rate, in
    /// cents: what the customer is worth, realised and expected.
    pub customer_value_score: f64,
    /// RFM recency score 1–5 among the organization's customers (5: won
    /// most recently); none for a contact without a won deal.
    pub rfm_recency: Option<i64>,
    /// RFM frequency score 1–5 (won deals).
    pub rfm_frequency: Option<i64>,
    /// RFM monetary score 1–5 (won value).
    pub rfm_monetary: Option<i64>,
    /// The RFM segment from the recency and frequency scores.
    pub rfm_segment: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MetricsRow {
    contact_id: i64,
    created_at: DateTime<Utc>,
    total_leads: i64,
    avg_lead_score: Option<f64>,
    total_deals: i64,
    won_deals: i64,
    lost_deals: i64,
    open_deals: i64,
    value_hi: i64,
    value_lo: i64,
    won_hi: i64,
    won_lo: i64,
    open_hi: i64,
    open_lo: i64,
    first_won_at: Option<DateTime<Utc>>,
    last_won_at: Option<DateTime<Utc>>,
    total_activities: i64,
    last_activity_at: Option<DateTime<Utc>>,
    activities_30d: i64,
    activities_90d: i64,
    latest_sentiment: Option<f64>,
    rfm_recency: Option<i64>,
    rfm_frequency: Option<i64>,
    rfm_monetary: Option<i64>,
    rfm_segment: Option<String>,
}

crate::sqlite_read::sqlite_row!(MetricsRow {
    contact_id,
    created_at,
    total_leads,
    avg_lead_score,
    total_deals,
    won_deals,
    lost_deals,
    open_deals,
    value_hi,
    value_lo,
    won_hi,
    won_lo,
    open_hi,
    open_lo,
    first_won_at,
    last_won_at,
    total_activities,
    last_activity_at,
    activities_30d,
    activities_90d,
    latest_sentiment,
    rfm_recency,
    rfm_frequency,
    rfm_monetary,
    rfm_segment,
});

/// A contact id, read by the fast path of a SQLite file (reads of every
/// contact or member return up to millions of them).
#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}
crate::sqlite_read::sqlite_row!(IdRow { id });

/// A contact and the bit mask of the rules that select it.
#[derive(sqlx::FromRow)]
struct MaskRow {
    id: i64,
    mask: i64,
}
crate::sqlite_read::sqlite_row!(MaskRow { id, mask });

/// Joins two halves of a sum of cents, saturating at `i64::MAX`.
fn join(hi: i64, lo: i64) -> i64 {
    let v = hi as i128 * 100_000_000 + lo as i128;
    v.clamp(0, i64::MAX as i128) as i64
}

impl ContactMetrics {
    fn from_row(r: MetricsRow, now: DateTime<Utc>) -> ContactMetrics {
        let total = join(r.value_hi, r.value_lo);
        let won = join(r.won_hi, r.won_lo);
        let open = join(r.open_hi, r.open_lo);
        let closed = r.won_deals + r.lost_deals;
        let conversion_rate = (closed > 0).then(|| r.won_deals as f64 / closed as f64);
        let days = (now - r.created_at).num_milliseconds() as f64 / 86_400_000.0;
        let months = days / sql::DAYS_PER_MONTH;
        let months = if months > 1.0 { months } else { 1.0 };
        ContactMetrics {
            contact_id: r.contact_id,
            total_leads: r.total_leads,
            total_deals: r.total_deals,
            won_deals: r.won_deals,
            lost_deals: r.lost_deals,
            open_deals: r.open_deals,
            total_deal_value_cents: total,
            avg_deal_value_cents: (r.total_deals > 0).then(|| total as f64 / r.total_deals as f64),
            won_value_cents: won,
            open_value_cents: open,
            first_won_at: r.first_won_at,
            last_won_at: r.last_won_at,
            total_activities: r.total_activities,
            last_activity_at: r.last_activity_at,
            activities_30d: r.activities_30d,
            activities_90d: r.activities_90d,
            avg_lead_score: r.avg_lead_score,
            latest_sentiment: r.latest_sentiment,
            conversion_rate,
            activity_score: r.total_activities as f64 / months,
            customer_value_score: won as f64 + open as f64 * conversion_rate.unwrap_or(0.0),
            rfm_recency: r.rfm_recency,
            rfm_frequency: r.rfm_frequency,
            rfm_monetary: r.rfm_monetary,
            rfm_segment: r.rfm_segment,
        }
    }
}

/// Contacts written per membership statement.
const CHUNK: usize = 500;

impl Segments<'_> {
    /// Creates a segment with `members` (the evaluation of its rule) in one
    /// transaction.
    pub async fn create(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewSegment,
        rule: &Rule,
        members: &[ContactId],
        now: DateTime<Utc>,
    ) -> Result<(Segment, Applied)> {
        let mut tx = self.db.begin().await?;
        let q = Sql::new(
            "INSERT INTO segments (organization_id, name, description, kind, rule, size, \
             refreshed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6, $6) \
             RETURNING id",
        )
        .arg(org)
        .arg(new.name.trim())
        .arg(new.description.clone())
        .arg(new.kind.as_str())
        .arg(rule.to_json())
        .arg(now);
        let (id,): (i64,) = tx.fetch_one(q).await?;
        let applied = write_members(&mut tx, org, SegmentId(id), members, &[], now).await?;
        audit::record(&mut tx, org, actor, Action::Create, "segment", id).await?;
        let row: SegmentRow = tx.fetch_one(select_one(org, SegmentId(id))).await?;
        tx.commit().await?;
        Ok((row.try_into()?, applied))
    }

    /// One segment of the organization.
    pub async fn get(&self, org: OrgId, id: SegmentId) -> Result<Segment> {
        let row: SegmentRow = self
            .db
            .fetch_optional(select_one(org, id))
            .await?
            .ok_or(StoreError::NotFound { entity: "segment" })?;
        row.try_into()
    }

    /// A page of the organization's segments, newest first.
    pub async fn list(&self, org: OrgId, page: Page) -> Result<Paged<Segment>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM segments WHERE organization_id = ")
            .bind(org)
            .push(" ORDER BY id DESC LIMIT ")
            .bind(page.limit as i64 + 1)
            .push(" OFFSET ")
            .bind(page.offset as i64);
        let rows: Vec<SegmentRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(Segment::try_from)
    }

    /// The organization's dynamic segments, in id order.
    pub async fn dynamic(&self, org: OrgId) -> Result<Vec<Segment>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM segments WHERE organization_id = ")
            .bind(org)
            .push(" AND kind = 'dynamic' ORDER BY id");
        let rows: Vec<SegmentRow> = self.db.fetch_all(q).await?;
        rows.into_iter().map(Segment::try_from).collect()
    }

    /// The organizations with at least one dynamic segment.
    pub async fn orgs_with_dynamic(&self) -> Result<Vec<OrgId>> {
        let rows: Vec<(i64,)> = self
            .db
            .fetch_all(Sql::new(
                "SELECT DISTINCT organization_id FROM segments WHERE kind = 'dynamic' \
                 ORDER BY organization_id",
            ))
            .await?;
        Ok(rows.into_iter().map(|(o,)| OrgId(o)).collect())
    }

    /// Changes name, description and rule (a `None` keeps the field);
    /// returns the segment before and after.
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: SegmentId,
        name: Option<&str>,
        description: Option<Option<&str>>,
        rule: Option<&Rule>,
    ) -> Result<(Segment, Segment)> {
        let mut tx = self.db.begin().await?;
        let mut q = select_one(org, id);
        if tx.backend() == crate::Backend::Postgres {
            q.push(" FOR UPDATE");
        }
        let old: Segment = tx
            .fetch_optional::<SegmentRow>(q)
            .await?
            .ok_or(StoreError::NotFound { entity: "segment" })?
            .try_into()?;
        let q = Sql::new(
            "UPDATE segments SET name = $1, description = $2, rule = $3, updated_at = $4 \
             WHERE organization_id = $5 AND id = $6",
        )
        .arg(name.map_or(old.name.clone(), |n| n.trim().to_string()))
        .arg(description.map_or(old.description.clone(), |d| d.map(str::to_string)))
        .arg(rule.unwrap_or(&old.rule).to_json())
        .arg(Utc::now())
        .arg(org)
        .arg(id);
        tx.execute(q).await?;
        audit::record(&mut tx, org, actor, Action::Update, "segment", id.0).await?;
        let new: SegmentRow = tx.fetch_one(select_one(org, id)).await?;
        tx.commit().await?;
        Ok((old, new.try_into()?))
    }

    /// Deletes a segment and its memberships.
    pub async fn delete(&self, org: OrgId, actor: Option<UserId>, id: SegmentId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                Sql::new("DELETE FROM segments WHERE organization_id = $1 AND id = $2")
                    .arg(org)
                    .arg(id),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound { entity: "segment" });
        }
        audit::record(&mut tx, org, actor, Action::Delete, "segment", id.0).await?;
        tx.commit().await
    }

    /// The ids of the contacts `rule` selects now, in id order (one
    /// statement: [`compile`]).
    pub async fn evaluate(
        &self,
        org: OrgId,
        rule: &Rule,
        now: DateTime<Utc>,
    ) -> Result<Vec<ContactId>> {
        self.sync(org, now, sql::Needs::of(rule).rfm()).await?;
        let rows: Vec<IdRow> = self
            .db
            .fetch_all_fast(compile(self.db.backend(), org, rule, now))
            .await?;
        Ok(rows.into_iter().map(|r| ContactId(r.id)).collect())
    }

    /// How many contacts `rule` selects now, and the first `sample` of them
    /// in id order: what a preview shows, without reading every id.
    pub async fn count_and_sample(
        &self,
        org: OrgId,
        rule: &Rule,
        now: DateTime<Utc>,
        sample: usize,
    ) -> Result<(u64, Vec<ContactId>)> {
        self.sync(org, now, sql::Needs::of(rule).rfm()).await?;
        let compiled = compile(self.db.backend(), org, rule, now);
        // The same placeholders, wrapped: the prefix binds nothing.
        let count = Sql {
            text: format!("SELECT CAST(COUNT(*) AS BIGINT) FROM ({}) s", compiled.text),
            params: compiled.params.clone(),
        };
        let (n,): (i64,) = self.db.fetch_one(count).await?;
        let mut first = compiled;
        first.push(" LIMIT ").bind(sample as i64);
        let rows: Vec<IdRow> = self.db.fetch_all_fast(first).await?;
        Ok((
            n.max(0) as u64,
            rows.into_iter().map(|r| ContactId(r.id)).collect(),
        ))
    }

    /// The ids of the contacts each of `rules` selects now, in id order:
    /// what [`Segments::evaluate`] gives for each, from one statement per
    /// [`RULES_PER_STATEMENT`] rules ([`compile_many`]), so the metrics
    /// the rules name are computed once for all of them.
    pub async fn evaluate_many(
        &self,
        org: OrgId,
        rules: &[&Rule],
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<ContactId>>> {
        let rfm = rules.iter().any(|r| sql::Needs::of(r).rfm());
        self.sync(org, now, rfm).await?;
        let mut out = vec![Vec::new(); rules.len()];
        for (chunk_no, chunk) in rules.chunks(RULES_PER_STATEMENT).enumerate() {
            let rows: Vec<MaskRow> = self
                .db
                .fetch_all_fast(compile_many(self.db.backend(), org, chunk, now))
                .await?;
            let base = chunk_no * RULES_PER_STATEMENT;
            for MaskRow { id, mask } in rows {
                for (i, ids) in out[base..base + chunk.len()].iter_mut().enumerate() {
                    if mask & (1 << i) != 0 {
                        ids.push(ContactId(id));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The segment's members' ids, in id order.
    pub async fn member_ids(&self, org: OrgId, id: SegmentId) -> Result<Vec<ContactId>> {
        let mut q = Sql::new("SELECT contact_id AS id FROM segment_members WHERE ");
        push_members_filter(&mut q, "", org, id);
        q.push(" ORDER BY contact_id");
        let rows: Vec<IdRow> = self.db.fetch_all_fast(q).await?;
        Ok(rows.into_iter().map(|r| ContactId(r.id)).collect())
    }

    /// Inserts `entered` (those that are contacts of `org` and not members
    /// yet, entering at `now`) and deletes `left`, in one transaction, and
    /// records the segment's size and refresh time. Counts what it wrote.
    /// `None` (nothing written) when the segment was changed since
    /// `version` (its `updated_at` when its rule was evaluated): the
    /// difference was computed from a rule it no longer has.
    pub async fn apply(
        &self,
        org: OrgId,
        id: SegmentId,
        version: DateTime<Utc>,
        entered: &[ContactId],
        left: &[ContactId],
        now: DateTime<Utc>,
    ) -> Result<Option<Applied>> {
        let mut tx = self.db.begin().await?;
        let mut q = select_one(org, id);
        if tx.backend() == crate::Backend::Postgres {
            q.push(" FOR UPDATE");
        }
        let current = tx
            .fetch_optional::<SegmentRow>(q)
            .await?
            .ok_or(StoreError::NotFound { entity: "segment" })?;
        if current.updated_at != version {
            return Ok(None);
        }
        let applied = write_members(&mut tx, org, id, entered, left, now).await?;
        tx.commit().await?;
        Ok(Some(applied))
    }

    /// A page of the segment's members in contact id order.
    pub async fn members(&self, org: OrgId, id: SegmentId, page: Page) -> Result<Paged<MemberRow>> {
        let mut q = Sql::new(
            "SELECT m.contact_id, m.entered_at, c.first_name, c.last_name, c.email, c.company \
             FROM segment_members m JOIN contacts c \
             ON c.organization_id = m.organization_id AND c.id = m.contact_id WHERE ",
        );
        push_members_filter(&mut q, "m.", org, id);
        q.push(" ORDER BY m.contact_id LIMIT ")
            .bind(page.limit as i64 + 1)
            .push(" OFFSET ")
            .bind(page.offset as i64);
        let rows: Vec<MemberRow> = self.db.fetch_all(q).await?;
        Ok(Paged::from_overfetch(rows, page))
    }

    /// The segments holding the contact, by name.
    pub async fn of_contact(&self, org: OrgId, contact: ContactId) -> Result<Vec<SegmentRef>> {
        Ok(self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT s.id, s.name, m.entered_at FROM segment_members m \
                     JOIN segments s ON s.organization_id = m.organization_id AND s.id = m.segment_id \
                     WHERE m.organization_id = $1 AND m.contact_id = $2 ORDER BY s.name, s.id",
                )
                .arg(org)
                .arg(contact),
            )
            .await?)
    }

    /// [`Segments::metrics`] without the RFM scores (all `None`), which
    /// rank every customer of the organization whatever the scope: what
    /// the suggestions read of their sample.
    pub async fn metrics_without_rfm(
        &self,
        org: OrgId,
        scope: Scope<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ContactMetrics>> {
        self.read_metrics(org, scope, now, false).await
    }

    /// How many contacts the organization has.
    pub async fn contact_count(&self, org: OrgId) -> Result<u64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Sql::new("SELECT COUNT(*) FROM contacts WHERE organization_id = $1").arg(org),
            )
            .await?;
        Ok(n.max(0) as u64)
    }

    /// The organization's customers (contacts with a won deal) counted by
    /// RFM recency and frequency score: `(r, f, customers)` for every cell
    /// that holds one, in (r, f) order; the scores are those the metrics
    /// and the rules see.
    pub async fn rfm_grid(&self, org: OrgId) -> Result<Vec<(i64, i64, i64)>> {
        self.sync(org, Utc::now(), true).await?;
        Ok(self.db.fetch_all(sql::rfm_grid(org)).await?)
    }

    /// The metrics of the contacts in `scope` as of `now`, in contact id
    /// order: the stored metrics brought up to date ([`Segments::sync`]),
    /// then one statement that reads them.
    pub async fn metrics(
        &self,
        org: OrgId,
        scope: Scope<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ContactMetrics>> {
        self.read_metrics(org, scope, now, true).await
    }

    async fn read_metrics(
        &self,
        org: OrgId,
        scope: Scope<'_>,
        now: DateTime<Utc>,
        rfm: bool,
    ) -> Result<Vec<ContactMetrics>> {
        if matches!(scope, Scope::Contacts([])) {
            return Ok(Vec::new());
        }
        self.sync(org, now, rfm).await?;
        let rows: Vec<MetricsRow> = self
            .db
            .fetch_all_fast(sql::metrics(org, scope, rfm))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ContactMetrics::from_row(r, now))
            .collect())
    }
}

/// What a [`Segments::sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Synced {
    /// Contacts whose stored metrics were computed again.
    pub recomputed: u64,
    /// Whether every contact of the organization was (the first sync, or
    /// more than one in [`FULL_SHARE`] stale, and more than one chunk).
    pub full: bool,
    /// Whether the RFM scores were ranked again.
    pub rfm: bool,
}

/// A sync computes every contact of the organization again (one pass of
/// grouped subqueries) rather than the stale ones by id once more than one
/// in this many is stale.
pub const FULL_SHARE: u64 = 10;

/// Stale contacts computed per statement.
const SYNC_CHUNK: usize = 500;

/// The per-organization state of the stored metrics.
#[derive(sqlx::FromRow)]
struct SyncState {
    windows_at: Option<DateTime<Utc>>,
    rfm_stale: bool,
    dirty: i64,
}

impl Segments<'_> {
    /// Brings the organization's stored metrics up to date as of `now`
    /// (and its RFM scores too when `rfm`): the contacts marked stale by
    /// the triggers of migration 0024 (any write to their deals,
    /// activities, sentiment, or the leads and deals their activities go
    /// through) and those whose 30- or 90-day counts changed since the
    /// counts' time (activities that crossed a window's edge) are computed
    /// again, by id, in one transaction; the first sync of an organization,
    /// or one that finds more than one contact in [`FULL_SHARE`] stale,
    /// computes every contact. The RFM scores are ranked again when a
    /// customer's metrics changed. Checked first on a reader: when nothing
    /// is stale, nothing is written. Every read of the metrics and every
    /// rule evaluation of this repository calls it first.
    pub async fn sync(&self, org: OrgId, now: DateTime<Utc>, rfm: bool) -> Result<Synced> {
        let state: Option<SyncState> = self.db.fetch_optional(state_of(org)).await?;
        let stale = match &state {
            None => true,
            Some(s) if s.dirty != 0 || (rfm && s.rfm_stale) => true,
            Some(SyncState {
                windows_at: Some(at),
                ..
            }) => {
                *at != now && {
                    let (n,): (i64,) = self.db.fetch_one(sql::any_crossed(org, *at, now)).await?;
                    n != 0
                }
            }
            Some(_) => true,
        };
        if !stale {
            return Ok(Synced::default());
        }
        let started = std::time::Instant::now();
        let mut tx = self.db.begin().await?;
        tx.execute(
            Sql::new(
                "INSERT INTO contact_metrics_state (organization_id, windows_at, rfm_stale) \
                 VALUES ($1, NULL, TRUE) ON CONFLICT (organization_id) DO NOTHING",
            )
            .arg(org),
        )
        .await?;
        // Taken again under the lock (PostgreSQL: the state row, so two
        // syncs of one organization run one after the other; SQLite: the
        // write lock `begin` took).
        let mut q = state_of(org);
        if tx.backend() == crate::Backend::Postgres {
            q.push(" FOR UPDATE OF s");
        }
        let state: SyncState = tx.fetch_one(q).await?;
        let mut done = Synced::default();
        let mut rfm_stale = state.rfm_stale;
        // Only the marks committed before this point are taken: a write
        // committed later leaves its mark for the next sync.
        let mut ids: Vec<i64> = tx
            .fetch_all::<(i64,)>(
                Sql::new(
                    "DELETE FROM contact_metrics_dirty WHERE organization_id = $1 \
                     RETURNING contact_id",
                )
                .arg(org),
            )
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        match state.windows_at {
            Some(at) if at != now => {
                for q in sql::crossed(org, at, now) {
                    ids.extend(tx.fetch_all::<(i64,)>(q).await?.into_iter().map(|(id,)| id));
                }
            }
            _ => {}
        }
        ids.sort_unstable();
        ids.dedup();
        // Counting the contacts (a scan of the organization's) only when
        // there are enough stale ones for the answer to matter.
        let many = ids.len() > SYNC_CHUNK && {
            let (contacts,): (i64,) = tx
                .fetch_one(
                    Sql::new("SELECT COUNT(*) FROM contacts WHERE organization_id = $1").arg(org),
                )
                .await?;
            ids.len() as u64 * FULL_SHARE > contacts.max(0) as u64
        };
        if state.windows_at.is_none() || many {
            tx.execute(Sql::new("DELETE FROM contact_metrics WHERE organization_id = $1").arg(org))
                .await?;
            done.recomputed = tx.execute(sql::compute(org, Scope::All, now)).await?;
            done.full = true;
            rfm_stale = true;
        } else {
            for chunk in ids.chunks(SYNC_CHUNK) {
                let chunk: Vec<ContactId> = chunk.iter().map(|&id| ContactId(id)).collect();
                // The RFM scores move only when a customer's won deals do
                // (not when, say, its window counts do): compared before
                // and after; or when a contact is gone (its scores went
                // with it).
                let before: Vec<Won> = tx.fetch_all(won_of(org, &chunk)).await?;
                let mut q = Sql::new("DELETE FROM contact_metrics WHERE organization_id = ");
                q.bind(org);
                push_in(&mut q, "contact_id", &chunk);
                tx.execute(q).await?;
                let written = tx
                    .execute(sql::compute(org, Scope::Contacts(&chunk), now))
                    .await?;
                let after: Vec<Won> = tx.fetch_all(won_of(org, &chunk)).await?;
                if before != after || written < chunk.len() as u64 {
                    rfm_stale = true;
                }
                done.recomputed += written;
            }
        }
        let computed = started.elapsed();
        if rfm && rfm_stale {
            for q in sql::rank_rfm(org) {
                tx.execute(q).await?;
            }
            rfm_stale = false;
            done.rfm = true;
        }
        tx.execute(
            Sql::new(
                "UPDATE contact_metrics_state SET windows_at = $1, rfm_stale = $2 \
                 WHERE organization_id = $3",
            )
            .arg(now)
            .arg(rfm_stale)
            .arg(org),
        )
        .await?;
        tx.commit().await?;
        if done.full && self.db.backend() == crate::Backend::Postgres {
            // Every row of the organization was written again: without
            // fresh statistics PostgreSQL planned the next narrow
            // recompute's reads of `contact_metrics` for a table of a few
            // thousand rows (a scan of the organization's million per chunk
            // of 500: 1.9 s each, measured with auto_explain).
            self.db
                .execute(Sql::new("ANALYZE contact_metrics, contact_rfm"))
                .await?;
        }
        tracing::debug!(
            org = org.0,
            recomputed = done.recomputed,
            full = done.full,
            rfm = done.rfm,
            compute_ms = computed.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "stored segment metrics synced"
        );
        Ok(done)
    }

    /// Forgets the organization's stored metrics: the next sync computes
    /// every contact (what `segments bench` times, and a way out should the
    /// stored rows ever be doubted).
    pub async fn forget_metrics(&self, org: OrgId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        for table in [
            "contact_metrics_state",
            "contact_metrics_dirty",
            "contact_rfm",
            "contact_rfm_cells",
            "contact_metrics",
        ] {
            tx.execute(
                Sql::new(&format!("DELETE FROM {table} WHERE organization_id = $1")).arg(org),
            )
            .await?;
        }
        tx.commit().await
    }

    /// Marks contacts stale as a write to their records would (what
    /// `segments bench` times the sync of, without changing any record).
    pub async fn mark_stale(&self, org: OrgId, ids: &[ContactId]) -> Result<()> {
        let mut tx = self.db.begin().await?;
        for chunk in ids.chunks(SYNC_CHUNK) {
            let mut q = Sql::new(
                "INSERT INTO contact_metrics_dirty (organization_id, contact_id) \
                 SELECT organization_id, id FROM contacts WHERE organization_id = ",
            );
            q.bind(org);
            push_in(&mut q, "id", chunk);
            q.push(" ON CONFLICT DO NOTHING");
            tx.execute(q).await?;
        }
        tx.commit().await
    }
}

/// A customer's won figures, which its RFM scores are ranked by:
/// (contact, won deals, last won, won value in two halves).
type Won = (i64, i64, Option<DateTime<Utc>>, i64, i64);

/// The won figures of the customers among `ids`, in id order.
fn won_of(org: OrgId, ids: &[ContactId]) -> Sql {
    let mut q = Sql::new(
        "SELECT contact_id, won_deals, last_won_at, won_hi, won_lo \
         FROM contact_metrics WHERE won_deals > 0 AND organization_id = ",
    );
    q.bind(org);
    push_in(&mut q, "contact_id", ids);
    q.push(" ORDER BY contact_id");
    q
}

/// The organization's sync state and whether a contact is marked stale.
fn state_of(org: OrgId) -> Sql {
    Sql::new(
        "SELECT s.windows_at AS windows_at, s.rfm_stale AS rfm_stale, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM contact_metrics_dirty d \
         WHERE d.organization_id = s.organization_id) THEN 1 ELSE 0 END AS BIGINT) AS dirty \
         FROM contact_metrics_state s WHERE s.organization_id = $1",
    )
    .arg(org)
}

/// ` AND <column> IN (the members of segment `id` of `org`)`: the lead and
/// contact lists' segment filter.
pub(crate) fn push_member_of(q: &mut Sql, org: OrgId, id: SegmentId, column: &str) {
    q.push(" AND ")
        .push(column)
        .push(" IN (SELECT contact_id FROM segment_members WHERE ");
    push_members_filter(q, "", org, id);
    q.push(")");
}

/// `<alias>segment_id = $s AND +<alias>organization_id = $o`: the rows of
/// `segment_members` of one segment, read by the primary key (segment,
/// contact) and so in contact order. Written plainly, SQLite chose the
/// index (organization, contact) instead, which also gives contact order,
/// and read every membership of the organization: 0.30 s rather than
/// 0.07 s for a segment of 555,071 of 3.87M memberships, twice per segment
/// in a refresh (its members, then its size). The unary `+` keeps the
/// organization a filter on both backends.
pub(crate) fn push_members_filter(q: &mut Sql, alias: &str, org: OrgId, id: SegmentId) {
    q.push(alias)
        .push("segment_id = ")
        .bind(id)
        .push(" AND +")
        .push(alias)
        .push("organization_id = ")
        .bind(org);
}

fn select_one(org: OrgId, id: SegmentId) -> Sql {
    let mut q = Sql::new("SELECT ");
    q.push(COLUMNS)
        .push(" FROM segments WHERE organization_id = ")
        .bind(org)
        .push(" AND id = ")
        .bind(id);
    q
}

/// The membership writes of [`Segments::apply`], inside `tx`.
async fn write_members(
    tx: &mut crate::Tx,
    org: OrgId,
    id: SegmentId,
    entered: &[ContactId],
    left: &[ContactId],
    now: DateTime<Utc>,
) -> Result<Applied> {
    let mut applied = Applied::default();
    for chunk in left.chunks(CHUNK) {
        let mut q = Sql::new("DELETE FROM segment_members WHERE organization_id = ");
        q.bind(org).push(" AND segment_id = ").bind(id);
        push_in(&mut q, "contact_id", chunk);
        applied.left += tx.execute(q).await?;
    }
    for chunk in entered.chunks(CHUNK) {
        // Through `contacts`: an id of another organization, or of a contact
        // deleted since the rule was evaluated, enters nothing.
        let mut q = Sql::new(
            "INSERT INTO segment_members (organization_id, segment_id, contact_id, entered_at) \
             SELECT organization_id, ",
        );
        q.bind(id)
            .push(", id, ")
            .bind(now)
            .push(" FROM contacts WHERE organization_id = ")
            .bind(org);
        push_in(&mut q, "id", chunk);
        q.push(" ON CONFLICT (segment_id, contact_id) DO NOTHING");
        applied.entered += tx.execute(q).await?;
    }
    let mut q = Sql::new("UPDATE segments SET size = (SELECT COUNT(*) FROM segment_members WHERE ");
    push_members_filter(&mut q, "", org, id);
    q.push("), refreshed_at = ")
        .bind(now)
        .push(" WHERE organization_id = ")
        .bind(org)
        .push(" AND id = ")
        .bind(id)
        .push(" RETURNING size");
    let (size,): (i64,) = tx.fetch_one(q).await?;
    applied.size = size;
    Ok(applied)
}

#[cfg(test)]
mod tests;

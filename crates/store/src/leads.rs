//! Leads: opportunities being qualified, with their latest score.

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain::{
    BoundedDate, BoundedTime, Cents, ContactId, Lead, LeadId, LeadPatch, LeadSource, LeadStatus,
    NewLead, OrgId, SegmentId, UserId,
};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use crate::audit::{self, Action};
use crate::contacts::Upserted;
use crate::db::{Db, Sql, Tx};
use crate::tables::{
    CONTACT_NAME_TEXT, LEAD_TEXT, SearchPlan, Table, filter_eq, filter_range, order_and_page,
    order_nulls_last_and_page, push_matched_from, search_plan, search_text, stored_cents, word,
};
use crate::{Page, Paged, Result, Sort, StoreError};

pub(crate) const COLUMNS: &str = "id, organization_id, contact_id, owner_id, title, description, status, \
     source, budget_cents, expected_decision, score, score_factors, score_confidence, score_category, \
     score_updated_at, created_at, updated_at";

/// [`COLUMNS`] with `score_factors` read as NULL (typed as the column on both
/// backends): what lists select unless asked for the breakdown.
static COLUMNS_WITHOUT_FACTORS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    COLUMNS.replace(
        "score_factors,",
        "CASE WHEN 1 = 0 THEN score_factors END AS score_factors,",
    )
});

/// Lead repository.
#[derive(Debug, Clone, Copy)]
pub struct Leads<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct LeadRow {
    id: i64,
    organization_id: i64,
    contact_id: Option<i64>,
    owner_id: Option<i64>,
    title: String,
    description: Option<String>,
    status: String,
    source: String,
    budget_cents: Option<i64>,
    expected_decision: Option<NaiveDate>,
    score: Option<f64>,
    score_factors: Option<Json<serde_json::Value>>,
    score_confidence: Option<f64>,
    score_category: Option<String>,
    score_updated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

crate::sqlite_read::sqlite_row!(LeadRow {
    id,
    organization_id,
    contact_id,
    owner_id,
    title,
    description,
    status,
    source,
    budget_cents,
    expected_decision,
    score,
    score_factors,
    score_confidence,
    score_category,
    score_updated_at,
    created_at,
    updated_at,
});

impl TryFrom<LeadRow> for Lead {
    type Error = StoreError;
    fn try_from(r: LeadRow) -> Result<Self> {
        Ok(Lead {
            id: LeadId(r.id),
            organization_id: OrgId(r.organization_id),
            contact_id: r.contact_id.map(ContactId),
            owner_id: r.owner_id.map(UserId),
            title: r.title,
            description: r.description,
            status: word("lead", &r.status)?,
            source: word("lead", &r.source)?,
            budget_cents: r
                .budget_cents
                .map(|c| stored_cents("lead", r.id, "budget_cents", c))
                .transpose()?,
            expected_decision: r.expected_decision,
            score: r.score,
            score_factors: r.score_factors.map(|j| j.0),
            score_confidence: r.score_confidence,
            score_category: r.score_category,
            score_updated_at: r.score_updated_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Filters of the lead list; unset fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadFilter {
    /// Status.
    pub status: Option<LeadStatus>,
    /// Source.
    pub source: Option<LeadSource>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// Score category as stored (`hot`, `warm`, `lukewarm`, `cold`).
    pub category: Option<String>,
    /// Score at least.
    pub min_score: Option<f64>,
    /// Score below.
    pub max_score: Option<f64>,
    /// Case-insensitive substring of the title, or of the contact's name or company.
    pub q: Option<String>,
    /// Created at or after.
    pub created_from: Option<BoundedTime>,
    /// Created before.
    pub created_to: Option<BoundedTime>,
    /// Leads of the contacts in this segment (of the organization: another
    /// organization's segment selects nothing).
    pub segment_id: Option<SegmentId>,
    /// Read each lead's score breakdown too (not a filter: what to read).
    /// Lists leave it out by default: at about 1.8 KB a lead it made a page
    /// of 50 five times larger and the list half as fast.
    pub with_factors: bool,
}

/// Sort orders of the lead list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadSort {
    /// Creation time (default, newest first).
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Score (unscored leads last in either direction).
    Score,
    /// Title.
    Title,
    /// Budget.
    Budget,
    /// Expected decision date.
    ExpectedDecision,
}

impl LeadSort {
    fn column(self) -> &'static str {
        match self {
            LeadSort::CreatedAt => "created_at",
            LeadSort::UpdatedAt => "updated_at",
            LeadSort::Score => "score",
            LeadSort::Title => "title",
            LeadSort::Budget => "budget_cents",
            LeadSort::ExpectedDecision => "expected_decision",
        }
    }

    /// Whether the column can be empty (unscored leads, no budget, ...).
    fn nullable(self) -> bool {
        matches!(
            self,
            LeadSort::Score | LeadSort::Budget | LeadSort::ExpectedDecision
        )
    }
}

fn bind_fields(q: Sql, l: &NewLead) -> Sql {
    q.arg(l.contact_id)
        .arg(l.owner_id)
        .arg(l.title.trim())
        .arg(l.description.clone())
        .arg(l.status)
        .arg(l.source)
        .arg(l.budget_cents)
        .arg(l.expected_decision)
}

/// [`bind_fields`] of a lead as it is (its decision date may predate the
/// date range: it is kept as stored).
fn bind_record(q: Sql, l: &Lead) -> Sql {
    q.arg(l.contact_id)
        .arg(l.owner_id)
        .arg(l.title.trim())
        .arg(l.description.clone())
        .arg(l.status)
        .arg(l.source)
        .arg(l.budget_cents)
        .arg(l.expected_decision)
}

async fn check_refs(
    tx: &mut Tx,
    org: OrgId,
    contact: Option<ContactId>,
    owner: Option<UserId>,
) -> Result<()> {
    Table::Contacts
        .check_ref(tx, org, contact.map(|c| c.0), "contact_id")
        .await?;
    Table::Users
        .check_ref(tx, org, owner.map(|u| u.0), "owner_id")
        .await
}

/// A lead named by its natural key (contact and title), as an import row
/// gives it. Fields left `None` keep their stored value on update, and take
/// their defaults (status `new`, source `other`) on create.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadUpsert {
    /// The contact the lead belongs to.
    pub contact_id: ContactId,
    /// Title; with the contact, identifies the lead (case-insensitive).
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Status.
    pub status: Option<LeadStatus>,
    /// Source.
    pub source: Option<LeadSource>,
    /// Budget.
    pub budget_cents: Option<Cents>,
    /// Expected decision date.
    pub expected_decision: Option<BoundedDate>,
}

impl Leads<'_> {
    /// Creates the lead of `u.contact_id` titled `u.title` (compared without
    /// regard to case), or updates the given fields of that lead when it
    /// exists, inside the caller's transaction: importing the same file twice
    /// creates no duplicates.
    pub async fn upsert_by_contact_title(
        &self,
        tx: &mut Tx,
        org: OrgId,
        actor: Option<UserId>,
        u: &LeadUpsert,
    ) -> Result<(Lead, Upserted)> {
        let new = NewLead {
            contact_id: Some(u.contact_id),
            owner_id: None,
            title: u.title.trim().to_string(),
            description: u.description.clone(),
            status: u.status.unwrap_or(LeadStatus::New),
            source: u.source.unwrap_or(LeadSource::Other),
            budget_cents: u.budget_cents,
            expected_decision: u.expected_decision,
        };
        new.validate()?;
        check_refs(tx, org, new.contact_id, new.owner_id).await?;
        let existing: Option<(i64,)> = tx
            .fetch_optional(
                Sql::new(
                    "SELECT id FROM leads WHERE organization_id = $1 AND contact_id = $2 \
                     AND LOWER(title) = LOWER($3) ORDER BY id LIMIT 1",
                )
                .arg(org)
                .arg(u.contact_id)
                .arg(new.title.clone()),
            )
            .await?;
        let now = Utc::now();
        let (row, outcome): (LeadRow, _) = match existing {
            Some((id,)) => {
                let mut q = Sql::new(
                    "UPDATE leads SET description = COALESCE($1, description), \
                     status = COALESCE($2, status), source = COALESCE($3, source), \
                     budget_cents = COALESCE($4, budget_cents), \
                     expected_decision = COALESCE($5, expected_decision), updated_at = $6 \
                     WHERE organization_id = $7 AND id = $8 RETURNING ",
                )
                .arg(u.description.clone())
                .arg(u.status)
                .arg(u.source)
                .arg(u.budget_cents)
                .arg(u.expected_decision)
                .arg(now)
                .arg(org)
                .arg(id);
                q.push(COLUMNS);
                (tx.fetch_one(q).await?, Upserted::Updated)
            }
            None => {
                let q = Sql::new(
                    "INSERT INTO leads (contact_id, owner_id, title, description, status, source, \
                     budget_cents, expected_decision, organization_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ",
                );
                let mut q = bind_fields(q, &new).arg(org).arg(now);
                q.push(COLUMNS);
                (tx.fetch_one(q).await?, Upserted::Created)
            }
        };
        let action = match outcome {
            Upserted::Created => Action::Create,
            Upserted::Updated => Action::Update,
        };
        audit::record(tx, org, actor, action, "lead", row.id).await?;
        Ok((row.try_into()?, outcome))
    }

    /// Creates a lead.
    pub async fn create(&self, org: OrgId, actor: Option<UserId>, new: &NewLead) -> Result<Lead> {
        new.validate()?;
        let mut tx = self.db.begin().await?;
        check_refs(&mut tx, org, new.contact_id, new.owner_id).await?;
        let q = Sql::new(
            "INSERT INTO leads (contact_id, owner_id, title, description, status, source, budget_cents, \
             expected_decision, organization_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ",
        );
        let mut q = bind_fields(q, new).arg(org).arg(Utc::now());
        q.push(COLUMNS);
        let row: LeadRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Create, "lead", row.id).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// One lead of the organization.
    pub async fn get(&self, org: OrgId, id: LeadId) -> Result<Lead> {
        let row: LeadRow = Table::Leads.get_fast(self.db, COLUMNS, org, id.0).await?;
        row.try_into()
    }

    /// The titles of those of `ids` that are leads of the organization, in
    /// id order (a deleted or foreign id is left out): what a list that
    /// names the leads its rows point at reads, once per page.
    pub async fn titles(&self, org: OrgId, ids: &[LeadId]) -> Result<Vec<(LeadId, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new("SELECT id, title FROM leads WHERE organization_id = ");
        q.bind(org);
        crate::tables::push_in(&mut q, "id", ids);
        q.push(" ORDER BY id");
        let rows: Vec<(i64, String)> = self.db.fetch_all(q).await?;
        Ok(rows.into_iter().map(|(id, t)| (LeadId(id), t)).collect())
    }

    /// A page of the organization's leads.
    pub async fn list(
        &self,
        org: OrgId,
        f: &LeadFilter,
        sort: Sort<LeadSort>,
        page: Page,
    ) -> Result<Paged<Lead>> {
        let mut q = Sql::new("SELECT ");
        q.push(if f.with_factors {
            COLUMNS
        } else {
            &COLUMNS_WITHOUT_FACTORS
        });
        let text = search_text(f.q.as_deref());
        let plan = match text {
            Some(t) => search_plan(self.db, &[&LEAD_TEXT, &CONTACT_NAME_TEXT], t).await?,
            None => SearchPlan::Scan,
        };
        match text {
            // The title, or the contact's name or company.
            Some(t) if plan == SearchPlan::Index => {
                let via = Some((&CONTACT_NAME_TEXT, "contact_id"));
                push_matched_from(&mut q, "leads", &LEAD_TEXT, via, org, t);
            }
            _ => {
                q.push(" FROM leads");
            }
        }
        q.push(" WHERE organization_id = ").bind(org);
        filter_eq(&mut q, "status", f.status);
        filter_eq(&mut q, "source", f.source);
        filter_eq(&mut q, "owner_id", f.owner_id);
        filter_eq(&mut q, "contact_id", f.contact_id);
        filter_eq(&mut q, "score_category", f.category.clone());
        filter_range(&mut q, "score", f.min_score, f.max_score);
        filter_range(&mut q, "created_at", f.created_from, f.created_to);
        if let Some(s) = f.segment_id {
            crate::segments::push_member_of(&mut q, org, s, "contact_id");
        }
        if let Some(text) = text.filter(|_| plan == SearchPlan::Scan) {
            q.push(" AND (");
            LEAD_TEXT.push_match(&mut q, plan, org, "id", text);
            q.push(" OR ");
            CONTACT_NAME_TEXT.push_match(&mut q, plan, org, "contact_id", text);
            q.push(")");
        }
        if sort.by.nullable() {
            order_nulls_last_and_page(&mut q, sort.by.column(), sort.dir, page);
        } else {
            order_and_page(&mut q, sort.by.column(), sort.dir, page);
        }
        let rows: Vec<LeadRow> = self.db.fetch_all_fast(q).await?;
        Paged::from_overfetch(rows, page).try_map(Lead::try_from)
    }

    /// Applies a patch; returns the lead before and after.
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: LeadId,
        patch: &LeadPatch,
    ) -> Result<(Lead, Lead)> {
        let mut tx = self.db.begin().await?;
        let row: LeadRow = Table::Leads
            .get_for_update(&mut tx, COLUMNS, org, id.0)
            .await?;
        let old = Lead::try_from(row)?;
        let new = update_in(&mut tx, org, actor, &old, patch).await?;
        tx.commit().await?;
        Ok((old, new))
    }

    /// Deletes a lead. Its deals and activities are kept and detached; its
    /// score history goes with it.
    pub async fn delete(&self, org: OrgId, actor: Option<UserId>, id: LeadId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        Table::Leads
            .check_ref(&mut tx, org, Some(id.0), "id")
            .await
            .map_err(|_| StoreError::NotFound { entity: "lead" })?;
        for table in [Table::Deals, Table::Activities] {
            table.detach(&mut tx, "lead_id", org, id.0).await?;
        }
        tx.execute(
            Sql::new("DELETE FROM lead_score_history WHERE organization_id = $1 AND lead_id = $2")
                .arg(org)
                .arg(id),
        )
        .await?;
        Table::Leads.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, "lead", id.0).await?;
        tx.commit().await
    }
}

/// Reads the lead of the organization within `tx`, locked for the rest of
/// it (404 when it is not the organization's).
pub(crate) async fn get_for_update(tx: &mut Tx, org: OrgId, id: LeadId) -> Result<Lead> {
    let row: LeadRow = Table::Leads.get_for_update(tx, COLUMNS, org, id.0).await?;
    row.try_into()
}

/// Applies `patch` to `old` (the lead as read in `tx`) within `tx`, with
/// its audit entry; the lead after it. A caller commits it with a change of
/// its own (a call's record that its analysis filled the lead).
pub(crate) async fn update_in(
    tx: &mut Tx,
    org: OrgId,
    actor: Option<UserId>,
    old: &Lead,
    patch: &LeadPatch,
) -> Result<Lead> {
    let mut new = old.clone();
    new.apply(patch)?;
    check_refs(tx, org, new.contact_id, new.owner_id).await?;
    let q = Sql::new(
        "UPDATE leads SET contact_id = $1, owner_id = $2, title = $3, description = $4, status = $5, \
         source = $6, budget_cents = $7, expected_decision = $8, updated_at = $9 \
         WHERE organization_id = $10 AND id = $11 RETURNING ",
    );
    let mut q = bind_record(q, &new).arg(Utc::now()).arg(org).arg(old.id);
    q.push(COLUMNS);
    let row: LeadRow = tx.fetch_one(q).await?;
    audit::record(tx, org, actor, Action::Update, "lead", old.id.0).await?;
    row.try_into()
}

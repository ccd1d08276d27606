//! Deals: the pipeline, and the won deals revenue comes from.

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain::{
    BoundedDate, BoundedTime, ContactId, Deal, DealId, DealPatch, DealStage, DealStatus, LeadId,
    NewDeal, OrgId, UserId,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Action};
use crate::db::{Db, Sql, Tx};
use crate::tables::{
    Table, filter_eq, filter_range, filter_search, order_and_page, stored_cents, word,
};
use crate::{Page, Paged, Result, Sort, StoreError};

pub(crate) const COLUMNS: &str = "id, organization_id, contact_id, lead_id, owner_id, title, value_cents, \
     stage, status, expected_close, closed_at, created_at, updated_at";

/// Deal repository.
#[derive(Debug, Clone, Copy)]
pub struct Deals<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct DealRow {
    id: i64,
    organization_id: i64,
    contact_id: Option<i64>,
    lead_id: Option<i64>,
    owner_id: Option<i64>,
    title: String,
    value_cents: i64,
    stage: String,
    status: String,
    expected_close: Option<NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DealRow> for Deal {
    type Error = StoreError;
    fn try_from(r: DealRow) -> Result<Self> {
        Ok(Deal {
            id: DealId(r.id),
            organization_id: OrgId(r.organization_id),
            contact_id: r.contact_id.map(ContactId),
            lead_id: r.lead_id.map(LeadId),
            owner_id: r.owner_id.map(UserId),
            title: r.title,
            value_cents: stored_cents("deal", r.id, "value_cents", r.value_cents)?,
            stage: word("deal", &r.stage)?,
            status: word("deal", &r.status)?,
            expected_close: r.expected_close,
            closed_at: r.closed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Filters of the deal list; unset fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DealFilter {
    /// Stage.
    pub stage: Option<DealStage>,
    /// Status.
    pub status: Option<DealStatus>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// Lead.
    pub lead_id: Option<LeadId>,
    /// Case-insensitive substring of the title.
    pub q: Option<String>,
    /// Closed at or after.
    pub closed_from: Option<BoundedTime>,
    /// Closed before.
    pub closed_to: Option<BoundedTime>,
    /// Expected to close on or after.
    pub expected_close_from: Option<BoundedDate>,
    /// Expected to close before.
    pub expected_close_to: Option<BoundedDate>,
    /// Created at or after.
    pub created_from: Option<BoundedTime>,
    /// Created before.
    pub created_to: Option<BoundedTime>,
}

/// Sort orders of the deal list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealSort {
    /// Creation time (default, newest first).
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Value.
    Value,
    /// Expected close date.
    ExpectedClose,
    /// Close time.
    ClosedAt,
    /// Title.
    Title,
}

impl DealSort {
    fn column(self) -> &'static str {
        match self {
            DealSort::CreatedAt => "created_at",
            DealSort::UpdatedAt => "updated_at",
            DealSort::Value => "value_cents",
            DealSort::ExpectedClose => "expected_close",
            DealSort::ClosedAt => "closed_at",
            DealSort::Title => "title",
        }
    }
}

async fn check_refs(
    tx: &mut Tx,
    org: OrgId,
    contact: Option<ContactId>,
    lead: Option<LeadId>,
    owner: Option<UserId>,
) -> Result<()> {
    Table::Contacts
        .check_ref(tx, org, contact.map(|c| c.0), "contact_id")
        .await?;
    Table::Leads
        .check_ref(tx, org, lead.map(|l| l.0), "lead_id")
        .await?;
    Table::Users
        .check_ref(tx, org, owner.map(|u| u.0), "owner_id")
        .await
}

impl Deals<'_> {
    /// Creates a deal; a deal created won or lost is stamped closed now unless
    /// a close time is given.
    pub async fn create(&self, org: OrgId, actor: Option<UserId>, new: &NewDeal) -> Result<Deal> {
        new.validate()?;
        let mut tx = self.db.begin().await?;
        check_refs(&mut tx, org, new.contact_id, new.lead_id, new.owner_id).await?;
        let now = Utc::now();
        let mut q = Sql::new(
            "INSERT INTO deals (contact_id, lead_id, owner_id, title, value_cents, stage, status, \
             expected_close, closed_at, organization_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ",
        )
        .arg(new.contact_id)
        .arg(new.lead_id)
        .arg(new.owner_id)
        .arg(new.title.trim())
        .arg(new.value_cents)
        .arg(new.stage)
        .arg(new.stage.status())
        .arg(new.expected_close)
        .arg(new.effective_closed_at(now))
        .arg(org)
        .arg(now);
        q.push(COLUMNS);
        let row: DealRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Create, "deal", row.id).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// One deal of the organization.
    pub async fn get(&self, org: OrgId, id: DealId) -> Result<Deal> {
        let row: DealRow = Table::Deals.get(self.db, COLUMNS, org, id.0).await?;
        row.try_into()
    }

    /// A page of the organization's deals.
    pub async fn list(
        &self,
        org: OrgId,
        f: &DealFilter,
        sort: Sort<DealSort>,
        page: Page,
    ) -> Result<Paged<Deal>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM deals WHERE organization_id = ")
            .bind(org);
        filter_eq(&mut q, "stage", f.stage);
        filter_eq(&mut q, "status", f.status);
        filter_eq(&mut q, "owner_id", f.owner_id);
        filter_eq(&mut q, "contact_id", f.contact_id);
        filter_eq(&mut q, "lead_id", f.lead_id);
        filter_range(&mut q, "closed_at", f.closed_from, f.closed_to);
        filter_range(
            &mut q,
            "expected_close",
            f.expected_close_from,
            f.expected_close_to,
        );
        filter_range(&mut q, "created_at", f.created_from, f.created_to);
        filter_search(&mut q, &["title"], f.q.as_deref());
        order_and_page(&mut q, sort.by.column(), sort.dir, page);
        let rows: Vec<DealRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(Deal::try_from)
    }

    /// Applies a patch; returns the deal before and after.
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: DealId,
        patch: &DealPatch,
    ) -> Result<(Deal, Deal)> {
        let mut tx = self.db.begin().await?;
        let row: DealRow = Table::Deals
            .get_for_update(&mut tx, COLUMNS, org, id.0)
            .await?;
        let old = Deal::try_from(row)?;
        let mut new = old.clone();
        let now = Utc::now();
        new.apply(patch, now)?;
        check_refs(&mut tx, org, new.contact_id, new.lead_id, new.owner_id).await?;
        let mut q = Sql::new(
            "UPDATE deals SET contact_id = $1, lead_id = $2, owner_id = $3, title = $4, value_cents = $5, \
             stage = $6, status = $7, expected_close = $8, closed_at = $9, updated_at = $10 \
             WHERE organization_id = $11 AND id = $12 RETURNING ",
        )
        .arg(new.contact_id)
        .arg(new.lead_id)
        .arg(new.owner_id)
        .arg(new.title.as_str())
        .arg(new.value_cents)
        .arg(new.stage)
        .arg(new.status)
        .arg(new.expected_close)
        .arg(new.closed_at)
        .arg(now)
        .arg(org)
        .arg(id);
        q.push(COLUMNS);
        let row: DealRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Update, "deal", id.0).await?;
        tx.commit().await?;
        Ok((old, row.try_into()?))
    }

    /// Deletes a deal; its activities are kept and detached.
    pub async fn delete(&self, org: OrgId, actor: Option<UserId>, id: DealId) -> Result<Deal> {
        let mut tx = self.db.begin().await?;
        let row: DealRow = Table::Deals
            .get_for_update(&mut tx, COLUMNS, org, id.0)
            .await?;
        Table::Activities
            .detach(&mut tx, "deal_id", org, id.0)
            .await?;
        Table::Deals.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, "deal", id.0).await?;
        tx.commit().await?;
        row.try_into()
    }
}

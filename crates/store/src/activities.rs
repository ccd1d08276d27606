//! Activities: e-mails, visits, calls, meetings and notes, the raw material of
//! engagement scoring and sentiment.

use chrono::{DateTime, Utc};
use neuracrm_domain::{
    Activity, ActivityId, ActivityPatch, ActivityType, BoundedTime, ContactId, DealId, LeadId,
    NewActivity, OrgId, UserId,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Action};
use crate::db::{Db, Sql, Tx};
use crate::tables::{Table, filter_eq, filter_range, order_and_page, word};
use crate::{Page, Paged, Result, SortDir, StoreError};

pub(crate) const COLUMNS: &str = "id, organization_id, type, lead_id, deal_id, contact_id, user_id, subject, \
     body, duration_seconds, occurred_at, created_at";

/// Activity repository.
#[derive(Debug, Clone, Copy)]
pub struct Activities<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: i64,
    organization_id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    lead_id: Option<i64>,
    deal_id: Option<i64>,
    contact_id: Option<i64>,
    user_id: Option<i64>,
    subject: Option<String>,
    body: Option<String>,
    duration_seconds: Option<i64>,
    occurred_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl TryFrom<ActivityRow> for Activity {
    type Error = StoreError;
    fn try_from(r: ActivityRow) -> Result<Self> {
        Ok(Activity {
            id: ActivityId(r.id),
            organization_id: OrgId(r.organization_id),
            kind: word("activity", &r.kind)?,
            lead_id: r.lead_id.map(LeadId),
            deal_id: r.deal_id.map(DealId),
            contact_id: r.contact_id.map(ContactId),
            user_id: r.user_id.map(UserId),
            subject: r.subject,
            body: r.body,
            duration_seconds: r.duration_seconds,
            occurred_at: r.occurred_at,
            created_at: r.created_at,
        })
    }
}

/// Filters of the activity list; unset fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityFilter {
    /// Type.
    pub kind: Option<ActivityType>,
    /// Lead.
    pub lead_id: Option<LeadId>,
    /// Deal.
    pub deal_id: Option<DealId>,
    /// Contact (its own activities only).
    pub contact_id: Option<ContactId>,
    /// Everything about a contact: its own activities and those of its leads
    /// and deals (the contact's timeline).
    pub timeline_of: Option<ContactId>,
    /// Recording user.
    pub user_id: Option<UserId>,
    /// Happened at or after.
    pub occurred_from: Option<BoundedTime>,
    /// Happened before.
    pub occurred_to: Option<BoundedTime>,
}

impl Activities<'_> {
    /// Records an activity.
    pub async fn create(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewActivity,
    ) -> Result<Activity> {
        let mut tx = self.db.begin().await?;
        let a = create_in(&mut tx, org, actor, new).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// One activity of the organization.
    pub async fn get(&self, org: OrgId, id: ActivityId) -> Result<Activity> {
        let row: ActivityRow = Table::Activities.get(self.db, COLUMNS, org, id.0).await?;
        row.try_into()
    }

    /// A page of the organization's activities, by time of occurrence.
    pub async fn list(
        &self,
        org: OrgId,
        f: &ActivityFilter,
        dir: SortDir,
        page: Page,
    ) -> Result<Paged<Activity>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM activities WHERE organization_id = ")
            .bind(org);
        filter_eq(&mut q, "type", f.kind);
        filter_eq(&mut q, "lead_id", f.lead_id);
        filter_eq(&mut q, "deal_id", f.deal_id);
        filter_eq(&mut q, "contact_id", f.contact_id);
        filter_eq(&mut q, "user_id", f.user_id);
        filter_range(&mut q, "occurred_at", f.occurred_from, f.occurred_to);
        if let Some(c) = f.timeline_of {
            q.push(" AND (contact_id = ").bind(c);
            q.push(" OR lead_id IN (SELECT id FROM leads WHERE organization_id = ")
                .bind(org);
            q.push(" AND contact_id = ").bind(c);
            q.push(") OR deal_id IN (SELECT id FROM deals WHERE organization_id = ")
                .bind(org);
            q.push(" AND contact_id = ").bind(c).push("))");
        }
        order_and_page(&mut q, "occurred_at", dir, page);
        let rows: Vec<ActivityRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(Activity::try_from)
    }

    /// Applies a patch; returns the activity after it.
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: ActivityId,
        patch: &ActivityPatch,
    ) -> Result<Activity> {
        let mut tx = self.db.begin().await?;
        let row: ActivityRow = Table::Activities
            .get_for_update(&mut tx, COLUMNS, org, id.0)
            .await?;
        let mut a = Activity::try_from(row)?;
        a.apply(patch)?;
        let mut q = Sql::new(
            "UPDATE activities SET subject = $1, body = $2, duration_seconds = $3, occurred_at = $4 \
             WHERE organization_id = $5 AND id = $6 RETURNING ",
        )
        .arg(a.subject.clone())
        .arg(a.body.clone())
        .arg(a.duration_seconds)
        .arg(a.occurred_at)
        .arg(org)
        .arg(id);
        q.push(COLUMNS);
        let row: ActivityRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Update, "activity", id.0).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// Deletes an activity.
    pub async fn delete(&self, org: OrgId, actor: Option<UserId>, id: ActivityId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        Table::Activities.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, "activity", id.0).await?;
        tx.commit().await
    }
}

/// Records an activity within `tx` (its references checked there), so that
/// a caller can commit it with a change of its own (a call's transcript
/// activity and the call's link to it).
pub(crate) async fn create_in(
    tx: &mut Tx,
    org: OrgId,
    actor: Option<UserId>,
    new: &NewActivity,
) -> Result<Activity> {
    new.validate()?;
    Table::Leads
        .check_ref(tx, org, new.lead_id.map(|v| v.0), "lead_id")
        .await?;
    Table::Deals
        .check_ref(tx, org, new.deal_id.map(|v| v.0), "deal_id")
        .await?;
    Table::Contacts
        .check_ref(tx, org, new.contact_id.map(|v| v.0), "contact_id")
        .await?;
    Table::Users
        .check_ref(tx, org, new.user_id.map(|v| v.0), "user_id")
        .await?;
    let now = Utc::now();
    let mut q = Sql::new(
        "INSERT INTO activities (type, lead_id, deal_id, contact_id, user_id, subject, body, \
         duration_seconds, occurred_at, organization_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
    )
    .arg(new.kind)
    .arg(new.lead_id)
    .arg(new.deal_id)
    .arg(new.contact_id)
    .arg(new.user_id)
    .arg(new.subject.clone())
    .arg(new.body.clone())
    .arg(new.duration_seconds)
    .arg(new.occurred_at.map_or(now, BoundedTime::get))
    .arg(org)
    .arg(now);
    q.push(COLUMNS);
    let row: ActivityRow = tx.fetch_one(q).await?;
    audit::record(tx, org, actor, Action::Create, "activity", row.id).await?;
    row.try_into()
}

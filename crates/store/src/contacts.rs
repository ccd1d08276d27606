//! Contacts: the people at customers and prospects.

use chrono::{DateTime, Utc};
use neuracrm_domain::{
    BoundedTime, Contact, ContactId, ContactPatch, Email, NewContact, OrgId, SegmentId, UserId,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Action};
use crate::db::{Db, Sql, Tx};
use crate::tables::{
    CONTACT_TEXT, SearchPlan, Table, filter_eq, filter_range, order_and_page, push_matched_from,
    search_plan, search_text,
};
use crate::{Page, Paged, Result, Sort, StoreError};

pub(crate) const COLUMNS: &str = "id, organization_id, first_name, last_name, email, phone, company, \
     job_title, industry, company_size, owner_id, created_at, updated_at";

/// Contact repository.
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    id: i64,
    organization_id: i64,
    first_name: String,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    company_size: Option<i64>,
    owner_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ContactRow> for Contact {
    type Error = StoreError;
    fn try_from(r: ContactRow) -> Result<Self> {
        Ok(Contact {
            id: ContactId(r.id),
            organization_id: OrgId(r.organization_id),
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email.map(|e| Email::parse(&e)).transpose().map_err(|e| {
                StoreError::Corrupt {
                    entity: "contact",
                    message: e.to_string(),
                }
            })?,
            phone: r.phone,
            company: r.company,
            job_title: r.job_title,
            industry: r.industry,
            company_size: r.company_size,
            owner_id: r.owner_id.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Filters of the contact list; unset fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactFilter {
    /// Case-insensitive substring of name, e-mail or company.
    pub q: Option<String>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Exact industry.
    pub industry: Option<String>,
    /// Created at or after.
    pub created_from: Option<BoundedTime>,
    /// Created before.
    pub created_to: Option<BoundedTime>,
    /// Members of this segment (of the organization: another
    /// organization's segment selects nothing).
    pub segment_id: Option<SegmentId>,
}

/// Sort orders of the contact list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactSort {
    /// Newest first by default.
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Family name, then first name.
    Name,
    /// Company.
    Company,
}

impl ContactSort {
    fn column(self) -> &'static str {
        match self {
            ContactSort::CreatedAt => "created_at",
            ContactSort::UpdatedAt => "updated_at",
            ContactSort::Name => "last_name",
            ContactSort::Company => "company",
        }
    }
}

/// Outcome of an upsert on a natural key (a contact's e-mail, a lead's
/// contact and title).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new record was created.
    Created,
    /// The existing record with the same key was updated.
    Updated,
}

fn bind_fields(q: Sql, c: &NewContact) -> Sql {
    q.arg(c.first_name.trim())
        .arg(c.last_name.clone())
        .arg(c.email.clone())
        .arg(c.phone.clone())
        .arg(c.company.clone())
        .arg(c.job_title.clone())
        .arg(c.industry.clone())
        .arg(c.company_size)
        .arg(c.owner_id)
}

impl Contacts<'_> {
    /// Creates a contact.
    pub async fn create(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewContact,
    ) -> Result<Contact> {
        new.validate()?;
        let mut tx = self.db.begin().await?;
        Table::Users
            .check_ref(&mut tx, org, new.owner_id.map(|u| u.0), "owner_id")
            .await?;
        let now = Utc::now();
        let q = Sql::new(
            "INSERT INTO contacts (first_name, last_name, email, phone, company, job_title, industry, \
             company_size, owner_id, organization_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ",
        );
        let mut q = bind_fields(q, new).arg(org).arg(now);
        q.push(COLUMNS);
        let row: ContactRow = tx
            .fetch_one(q)
            .await
            .map_err(|e| StoreError::unique(e, "contact", &["email"]))?;
        audit::record(&mut tx, org, actor, Action::Create, "contact", row.id).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// Creates the contact, or updates the one of this organization with the
    /// same e-mail (imports use this so that importing twice duplicates nothing).
    pub async fn upsert_by_email(
        &self,
        tx: &mut Tx,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewContact,
    ) -> Result<(Contact, Upserted)> {
        new.validate()?;
        Table::Users
            .check_ref(tx, org, new.owner_id.map(|u| u.0), "owner_id")
            .await?;
        let existing: Option<(i64,)> = match &new.email {
            Some(email) => {
                tx.fetch_optional(
                    Sql::new("SELECT id FROM contacts WHERE organization_id = $1 AND email = $2")
                        .arg(org)
                        .arg(email.clone()),
                )
                .await?
            }
            None => None,
        };
        let now = Utc::now();
        let (row, outcome): (ContactRow, _) = match existing {
            Some((id,)) => {
                let q = Sql::new(
                    "UPDATE contacts SET first_name = $1, last_name = $2, email = $3, phone = $4, \
                     company = $5, job_title = $6, industry = $7, company_size = $8, owner_id = $9, \
                     updated_at = $10 WHERE organization_id = $11 AND id = $12 RETURNING ",
                );
                let mut q = bind_fields(q, new).arg(now).arg(org).arg(id);
                q.push(COLUMNS);
                (tx.fetch_one(q).await?, Upserted::Updated)
            }
            None => {
                let q = Sql::new(
                    "INSERT INTO contacts (first_name, last_name, email, phone, company, job_title, industry, \
                     company_size, owner_id, organization_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ",
                );
                let mut q = bind_fields(q, new).arg(org).arg(now);
                q.push(COLUMNS);
                (tx.fetch_one(q).await?, Upserted::Created)
            }
        };
        let action = match outcome {
            Upserted::Created => Action::Create,
            Upserted::Updated => Action::Update,
        };
        audit::record(tx, org, actor, action, "contact", row.id).await?;
        Ok((row.try_into()?, outcome))
    }

    /// The id of the organization's contact with this e-mail, inside the
    /// caller's transaction.
    pub async fn id_by_email(
        &self,
        tx: &mut Tx,
        org: OrgId,
        email: &Email,
    ) -> Result<Option<ContactId>> {
        let row: Option<(i64,)> = tx
            .fetch_optional(
                Sql::new("SELECT id FROM contacts WHERE organization_id = $1 AND email = $2")
                    .arg(org)
                    .arg(email.clone()),
            )
            .await?;
        Ok(row.map(|(id,)| ContactId(id)))
    }

    /// One contact of the organization.
    pub async fn get(&self, org: OrgId, id: ContactId) -> Result<Contact> {
        let row: ContactRow = Table::Contacts.get(self.db, COLUMNS, org, id.0).await?;
        row.try_into()
    }

    /// A page of the organization's contacts.
    pub async fn list(
        &self,
        org: OrgId,
        f: &ContactFilter,
        sort: Sort<ContactSort>,
        page: Page,
    ) -> Result<Paged<Contact>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS);
        let text = search_text(f.q.as_deref());
        let plan = match text {
            Some(t) => search_plan(self.db, &[&CONTACT_TEXT], t).await?,
            None => SearchPlan::Scan,
        };
        match text {
            Some(t) if plan == SearchPlan::Index => {
                push_matched_from(&mut q, "contacts", &CONTACT_TEXT, None, org, t);
            }
            _ => {
                q.push(" FROM contacts");
            }
        }
        q.push(" WHERE organization_id = ").bind(org);
        filter_eq(&mut q, "owner_id", f.owner_id);
        filter_eq(&mut q, "industry", f.industry.clone());
        filter_range(&mut q, "created_at", f.created_from, f.created_to);
        if let Some(s) = f.segment_id {
            crate::segments::push_member_of(&mut q, org, s, "id");
        }
        if let Some(text) = text.filter(|_| plan == SearchPlan::Scan) {
            q.push(" AND ");
            CONTACT_TEXT.push_match(&mut q, plan, org, "id", text);
        }
        order_and_page(&mut q, sort.by.column(), sort.dir, page);
        let rows: Vec<ContactRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(Contact::try_from)
    }

    /// Applies a patch; returns the contact before and after.
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: ContactId,
        patch: &ContactPatch,
    ) -> Result<(Contact, Contact)> {
        let mut tx = self.db.begin().await?;
        let row: ContactRow = Table::Contacts
            .get_for_update(&mut tx, COLUMNS, org, id.0)
            .await?;
        let old = Contact::try_from(row)?;
        let mut new = old.clone();
        new.apply(patch)?;
        Table::Users
            .check_ref(&mut tx, org, new.owner_id.map(|u| u.0), "owner_id")
            .await?;
        let q = Sql::new(
            "UPDATE contacts SET first_name = $1, last_name = $2, email = $3, phone = $4, company = $5, \
             job_title = $6, industry = $7, company_size = $8, owner_id = $9, updated_at = $10 \
             WHERE organization_id = $11 AND id = $12 RETURNING ",
        );
        let mut q = bind_fields(q, &new.as_new())
            .arg(Utc::now())
            .arg(org)
            .arg(id);
        q.push(COLUMNS);
        let row: ContactRow = tx
            .fetch_one(q)
            .await
            .map_err(|e| StoreError::unique(e, "contact", &["email"]))?;
        audit::record(&mut tx, org, actor, Action::Update, "contact", id.0).await?;
        tx.commit().await?;
        Ok((old, row.try_into()?))
    }

    /// Deletes a contact. Its leads, deals and activities are kept and detached.
    pub async fn delete(&self, org: OrgId, actor: Option<UserId>, id: ContactId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        Table::Contacts
            .check_ref(&mut tx, org, Some(id.0), "id")
            .await
            .map_err(|_| StoreError::NotFound { entity: "contact" })?;
        for table in [Table::Leads, Table::Deals, Table::Activities] {
            table.detach(&mut tx, "contact_id", org, id.0).await?;
        }
        Table::Contacts.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, "contact", id.0).await?;
        tx.commit().await
    }
}

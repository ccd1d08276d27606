//! E-mail templates, campaigns, their frozen recipient lists (the
//! per-recipient send log) and the organizations' suppression lists.
//!
//! The send path is built so that a crash neither skips nor silently doubles
//! a recipient: [`Campaigns::claim`] commits `sending` with a lease and an
//! attempt *before* the sender talks to SMTP, [`Campaigns::record`] commits
//! the outcome after. A row whose lease runs out (its sender died) is claimed
//! again and reported as in doubt; nothing else is ever sent twice, and no
//! row is ever passed over (there is no checkpoint to move ahead of a send:
//! each row's status is its own checkpoint).

use chrono::{DateTime, Utc};
use neuracrm_domain::{
    Campaign, CampaignId, CampaignPatch, CampaignStatus, CampaignTarget, EmailTemplate,
    EmailTemplateId, EmailTemplatePatch, NewCampaign, NewEmailTemplate, OrgId, RecipientId,
    RecipientStatus, SegmentId, TargetFilter, UserId,
};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use crate::audit::{self, Action};
use crate::db::{Backend, Db, Sql, Tx};
use crate::tables::{Table, filter_eq, order_and_page, word};
use crate::{Page, Paged, Result, SortDir, StoreError};

mod bounces;

pub use bounces::BounceOutcome;

const TEMPLATE_COLUMNS: &str =
    "id, organization_id, name, subject, html, text, created_at, updated_at";
const CAMPAIGN_COLUMNS: &str = "id, organization_id, name, template_id, target, status, \
     scheduled_at, started_at, finished_at, error, created_by, created_at, updated_at";
const RECIPIENT_COLUMNS: &str = "id, record_type, record_id, contact_id, email, name, status, \
     skip_reason, attempts, next_attempt_at, smtp_reply, subject, sent_at, opened_at, clicked_at, \
     unsubscribed_at, complained_at";

/// Templates, campaigns, recipients and suppressions.
#[derive(Debug, Clone, Copy)]
pub struct Campaigns<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: i64,
    organization_id: i64,
    name: String,
    subject: String,
    html: String,
    text: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<TemplateRow> for EmailTemplate {
    fn from(r: TemplateRow) -> Self {
        EmailTemplate {
            id: EmailTemplateId(r.id),
            organization_id: OrgId(r.organization_id),
            name: r.name,
            subject: r.subject,
            html: r.html,
            text: r.text,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: i64,
    organization_id: i64,
    name: String,
    template_id: i64,
    target: Json<serde_json::Value>,
    status: String,
    scheduled_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    error: Option<String>,
    created_by: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = StoreError;
    fn try_from(r: CampaignRow) -> Result<Self> {
        Ok(Campaign {
            id: CampaignId(r.id),
            organization_id: OrgId(r.organization_id),
            name: r.name,
            template_id: EmailTemplateId(r.template_id),
            target: serde_json::from_value(r.target.0).map_err(|e| StoreError::Corrupt {
                entity: "campaign",
                message: e.to_string(),
            })?,
            status: word("campaign", &r.status)?,
            scheduled_at: r.scheduled_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            error: r.error,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// One recipient of a campaign: its row of the send log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    /// Id.
    pub id: RecipientId,
    /// `contact` or `lead`.
    pub record_type: String,
    /// The contact's or lead's id.
    pub record_id: i64,
    /// The contact whose address it is.
    pub contact_id: Option<i64>,
    /// The address, when the record has one.
    pub email: Option<String>,
    /// The recipient's name.
    pub name: Option<String>,
    /// Where it stands.
    pub status: RecipientStatus,
    /// Why it was skipped: `no_address`, `suppressed` or `duplicate`.
    pub skip_reason: Option<String>,
    /// SMTP attempts so far.
    pub attempts: i64,
    /// When a pending row is next tried (after a temporary failure).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The SMTP server's last reply (or the connection error).
    pub smtp_reply: Option<String>,
    /// The subject as sent.
    pub subject: Option<String>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// First open.
    pub opened_at: Option<DateTime<Utc>>,
    /// First click.
    pub clicked_at: Option<DateTime<Utc>>,
    /// When the recipient unsubscribed.
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// When the recipient complained (a spam report, by webhook).
    pub complained_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct RecipientRow {
    id: i64,
    record_type: String,
    record_id: i64,
    contact_id: Option<i64>,
    email: Option<String>,
    name: Option<String>,
    status: String,
    skip_reason: Option<String>,
    attempts: i64,
    next_attempt_at: Option<DateTime<Utc>>,
    smtp_reply: Option<String>,
    subject: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    opened_at: Option<DateTime<Utc>>,
    clicked_at: Option<DateTime<Utc>>,
    unsubscribed_at: Option<DateTime<Utc>>,
    complained_at: Option<DateTime<Utc>>,
}

impl TryFrom<RecipientRow> for Recipient {
    type Error = StoreError;
    fn try_from(r: RecipientRow) -> Result<Self> {
        Ok(Recipient {
            id: RecipientId(r.id),
            record_type: r.record_type,
            record_id: r.record_id,
            contact_id: r.contact_id,
            email: r.email,
            name: r.name,
            status: word("recipient", &r.status)?,
            skip_reason: r.skip_reason,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            smtp_reply: r.smtp_reply,
            subject: r.subject,
            sent_at: r.sent_at,
            opened_at: r.opened_at,
            clicked_at: r.clicked_at,
            unsubscribed_at: r.unsubscribed_at,
            complained_at: r.complained_at,
        })
    }
}

/// What a message is personalised with: the recipient's contact, lead,
/// owner and organization, read in one query.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct RecipientFacts {
    /// The recipient row (0 for a preview).
    pub recipient_id: i64,
    /// The address.
    pub email: Option<String>,
    /// Times tried before this claim (0 for a first send).
    pub attempts: i64,
    /// Whether this claim takes over a row whose sender died mid-send.
    pub in_doubt: bool,
    /// Contact fields.
    pub first_name: Option<String>,
    /// Contact fields.
    pub last_name: Option<String>,
    /// Contact fields.
    pub company: Option<String>,
    /// Contact fields.
    pub job_title: Option<String>,
    /// Contact fields.
    pub industry: Option<String>,
    /// Contact fields.
    pub phone: Option<String>,
    /// Lead fields (none for a contact target).
    pub lead_id: Option<i64>,
    /// Lead fields.
    pub lead_title: Option<String>,
    /// Lead fields.
    pub lead_score: Option<f64>,
    /// Lead fields.
    pub lead_category: Option<String>,
    /// The owner (of the lead, else the contact, else the campaign's author).
    pub owner_name: Option<String>,
    /// The owner's address.
    pub owner_email: Option<String>,
    /// The organization's name.
    pub organization: String,
}

/// A recipient's outcome, as the sender reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted by the server.
    Sent {
        /// The server's reply.
        reply: String,
        /// The subject as sent.
        subject: String,
    },
    /// A temporary failure (4xx, dropped connection): tried again at `retry_at`,
    /// or failed for good when `retry_at` is `None`.
    Retry {
        /// The reply or error.
        reply: String,
        /// When to try again; `None`: give up.
        retry_at: Option<DateTime<Utc>>,
    },
    /// Refused for good (5xx): bounced, and the address suppressed.
    Bounced {
        /// The reply.
        reply: String,
    },
}

/// A campaign's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CampaignStats {
    /// Rows frozen (skipped included).
    pub total: i64,
    /// Waiting.
    pub pending: i64,
    /// Claimed now.
    pub sending: i64,
    /// Accepted.
    pub sent: i64,
    /// Given up after temporary failures.
    pub failed: i64,
    /// Refused for good.
    pub bounced: i64,
    /// Skipped: no address.
    pub skipped_no_address: i64,
    /// Skipped: suppressed address.
    pub skipped_suppressed: i64,
    /// Skipped: address already a recipient.
    pub skipped_duplicate: i64,
    /// Opened (people, not mail-provider prefetches).
    pub opened: i64,
    /// Clicked.
    pub clicked: i64,
    /// Unsubscribed.
    pub unsubscribed: i64,
}

/// What an open or a click is about: the recipient's lead or contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    /// The organization.
    pub org: OrgId,
    /// The lead, for a lead target.
    pub lead_id: Option<i64>,
    /// The contact.
    pub contact_id: Option<i64>,
    /// The subject as sent.
    pub subject: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EngagementRow {
    organization_id: i64,
    record_type: String,
    record_id: i64,
    contact_id: Option<i64>,
    subject: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    opened_at: Option<DateTime<Utc>>,
    clicked_at: Option<DateTime<Utc>>,
}

/// A suppressed address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Suppression {
    /// The address (lower case).
    pub email: String,
    /// `unsubscribed`, `bounced`, `complaint` or `manual`.
    pub reason: String,
    /// Since when.
    pub created_at: DateTime<Utc>,
}

fn ids_json(ids: impl IntoIterator<Item = i64>) -> serde_json::Value {
    serde_json::Value::Array(ids.into_iter().map(Into::into).collect())
}

/// ` AND <column> IN (the ids of the bound JSON array)`, in each dialect.
fn filter_ids(q: &mut Sql, backend: Backend, column: &str, ids: serde_json::Value) {
    q.push(" AND ").push(column);
    match backend {
        Backend::Sqlite => q
            .push(" IN (SELECT value FROM json_each(")
            .bind(ids)
            .push("))"),
        Backend::Postgres => q
            .push(" IN (SELECT jsonb_array_elements_text(")
            .bind(ids)
            .push(")::bigint)"),
    };
}

/// The target's rows: `(record id, contact id, email, name)` selected from
/// the organization's contacts or leads.
fn target_rows(q: &mut Sql, backend: Backend, org: OrgId, target: &CampaignTarget) -> &'static str {
    let (ids, filter, kind) = match target {
        CampaignTarget::Contacts { ids, filter } => {
            q.push(
                "SELECT c.id AS record_id, c.id AS contact_id, c.email AS email, \
                 TRIM(c.first_name || ' ' || COALESCE(c.last_name, '')) AS name \
                 FROM contacts c WHERE c.organization_id = ",
            )
            .bind(org);
            (
                ids.as_ref().map(|v| ids_json(v.iter().map(|i| i.0))),
                filter,
                "contact",
            )
        }
        CampaignTarget::Leads { ids, filter } => {
            q.push(
                "SELECT l.id AS record_id, c.id AS contact_id, c.email AS email, \
                 TRIM(COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, '')) AS name \
                 FROM leads l LEFT JOIN contacts c ON c.organization_id = l.organization_id \
                 AND c.id = l.contact_id WHERE l.organization_id = ",
            )
            .bind(org);
            (
                ids.as_ref().map(|v| ids_json(v.iter().map(|i| i.0))),
                filter,
                "lead",
            )
        }
        // Its members as they are now: the list is frozen from them.
        CampaignTarget::Segment { segment_id } => {
            q.push(
                "SELECT c.id AS record_id, c.id AS contact_id, c.email AS email, \
                 TRIM(c.first_name || ' ' || COALESCE(c.last_name, '')) AS name \
                 FROM segment_members m JOIN contacts c ON c.organization_id = m.organization_id \
                 AND c.id = m.contact_id WHERE ",
            );
            crate::segments::push_members_filter(q, "m.", org, *segment_id);
            return "contact";
        }
    };
    let lead = kind == "lead";
    let p = if lead { "l." } else { "c." };
    if let Some(ids) = ids {
        filter_ids(q, backend, &format!("{p}id"), ids);
    }
    let f = filter.clone().unwrap_or_default();
    let TargetFilter {
        owner_id,
        industry,
        status,
        category,
        min_score,
    } = f;
    filter_eq(q, &format!("{p}owner_id"), owner_id.map(|u| u.0));
    filter_eq(q, "c.industry", industry);
    if lead {
        filter_eq(q, "l.status", status.map(|s| s.as_str()));
        filter_eq(q, "l.score_category", category);
        if let Some(m) = min_score {
            q.push(" AND l.score >= ").bind(m);
        }
    }
    kind
}

impl Campaigns<'_> {
    // ---- templates ----

    /// Creates a template.
    pub async fn create_template(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewEmailTemplate,
    ) -> Result<EmailTemplate> {
        new.validate()?;
        let mut tx = self.db.begin().await?;
        let mut q = Sql::new(
            "INSERT INTO email_templates (organization_id, name, subject, html, text, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ",
        )
        .arg(org)
        .arg(new.name.trim())
        .arg(new.subject.clone())
        .arg(new.html.clone())
        .arg(new.text.clone())
        .arg(Utc::now());
        q.push(TEMPLATE_COLUMNS);
        let row: TemplateRow = tx.fetch_one(q).await?;
        audit::record(
            &mut tx,
            org,
            actor,
            Action::Create,
            "email_template",
            row.id,
        )
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// One template of the organization.
    pub async fn template(&self, org: OrgId, id: EmailTemplateId) -> Result<EmailTemplate> {
        let row: TemplateRow = Table::EmailTemplates
            .get(self.db, TEMPLATE_COLUMNS, org, id.0)
            .await?;
        Ok(row.into())
    }

    /// A page of the organization's templates, newest first.
    pub async fn templates(&self, org: OrgId, page: Page) -> Result<Paged<EmailTemplate>> {
        let mut q = Sql::new("SELECT ");
        q.push(TEMPLATE_COLUMNS)
            .push(" FROM email_templates WHERE organization_id = ")
            .bind(org);
        order_and_page(&mut q, "created_at", SortDir::Desc, page);
        let rows: Vec<TemplateRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(|r| Ok::<_, StoreError>(r.into()))
    }

    /// Changes a template; returns it before and after.
    pub async fn update_template(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: EmailTemplateId,
        patch: &EmailTemplatePatch,
    ) -> Result<(EmailTemplate, EmailTemplate)> {
        let mut tx = self.db.begin().await?;
        let row: TemplateRow = Table::EmailTemplates
            .get_for_update(&mut tx, TEMPLATE_COLUMNS, org, id.0)
            .await?;
        let old = EmailTemplate::from(row);
        let mut new = old.clone();
        new.apply(patch)?;
        let mut q = Sql::new(
            "UPDATE email_templates SET name = $1, subject = $2, html = $3, text = $4, \
             updated_at = $5 WHERE organization_id = $6 AND id = $7 RETURNING ",
        )
        .arg(new.name.trim())
        .arg(new.subject.clone())
        .arg(new.html.clone())
        .arg(new.text.clone())
        .arg(Utc::now())
        .arg(org)
        .arg(id.0);
        q.push(TEMPLATE_COLUMNS);
        let row: TemplateRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Update, "email_template", id.0).await?;
        tx.commit().await?;
        Ok((old, row.into()))
    }

    /// Deletes a template no campaign uses (409 otherwise).
    pub async fn delete_template(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: EmailTemplateId,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        Table::EmailTemplates
            .check_ref(&mut tx, org, Some(id.0), "id")
            .await
            .map_err(|_| Table::EmailTemplates.not_found())?;
        let used: Option<(i64,)> = tx
            .fetch_optional(
                Sql::new(
                    "SELECT id FROM campaigns WHERE organization_id = $1 AND template_id = $2 LIMIT 1",
                )
                .arg(org)
                .arg(id.0),
            )
            .await?;
        if used.is_some() {
            return Err(StoreError::Conflict {
                entity: "campaign",
                field: "template_id",
            });
        }
        Table::EmailTemplates.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, "email_template", id.0).await?;
        tx.commit().await
    }

    // ---- campaigns ----

    /// Checks that the target's ids all name records of the organization
    /// (a campaign can never reach another organization's records).
    async fn check_target(&self, tx: &mut Tx, org: OrgId, target: &CampaignTarget) -> Result<()> {
        let (table, ids) = match target {
            CampaignTarget::Contacts { ids: Some(ids), .. } => {
                (Table::Contacts, ids.iter().map(|i| i.0).collect::<Vec<_>>())
            }
            CampaignTarget::Leads { ids: Some(ids), .. } => {
                (Table::Leads, ids.iter().map(|i| i.0).collect())
            }
            CampaignTarget::Segment { segment_id } => {
                return Table::Segments
                    .check_ref(tx, org, Some(segment_id.0), "target")
                    .await;
            }
            _ => return Ok(()),
        };
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let mut q = Sql::new("SELECT COUNT(*) FROM ");
        q.push(table.name())
            .push(" WHERE organization_id = ")
            .bind(org);
        filter_ids(
            &mut q,
            tx.backend(),
            "id",
            ids_json(distinct.iter().copied()),
        );
        let (found,): (i64,) = tx.fetch_one(q).await?;
        if found as usize != distinct.len() {
            return Err(StoreError::BadReference {
                field: "target",
                entity: table.entity(),
            });
        }
        Ok(())
    }

    /// Creates a draft campaign.
    pub async fn create(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewCampaign,
    ) -> Result<Campaign> {
        new.validate()?;
        let mut tx = self.db.begin().await?;
        Table::EmailTemplates
            .check_ref(&mut tx, org, Some(new.template_id.0), "template_id")
            .await?;
        self.check_target(&mut tx, org, &new.target).await?;
        let target = serde_json::to_value(&new.target).expect("a target serialises");
        let mut q = Sql::new(
            "INSERT INTO campaigns (organization_id, name, template_id, target, status, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, 'draft', $5, $6, $6) RETURNING ",
        )
        .arg(org)
        .arg(new.name.trim())
        .arg(new.template_id.0)
        .arg(target)
        .arg(actor)
        .arg(Utc::now());
        q.push(CAMPAIGN_COLUMNS);
        let row: CampaignRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Create, "campaign", row.id).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// One campaign of the organization.
    pub async fn get(&self, org: OrgId, id: CampaignId) -> Result<Campaign> {
        let row: CampaignRow = Table::Campaigns
            .get(self.db, CAMPAIGN_COLUMNS, org, id.0)
            .await?;
        row.try_into()
    }

    /// A page of the organization's campaigns, newest first.
    pub async fn list(
        &self,
        org: OrgId,
        status: Option<CampaignStatus>,
        page: Page,
    ) -> Result<Paged<Campaign>> {
        let mut q = Sql::new("SELECT ");
        q.push(CAMPAIGN_COLUMNS)
            .push(" FROM campaigns WHERE organization_id = ")
            .bind(org);
        filter_eq(&mut q, "status", status.map(|s| s.as_str()));
        order_and_page(&mut q, "created_at", SortDir::Desc, page);
        let rows: Vec<CampaignRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(Campaign::try_from)
    }

    /// Changes a draft; returns it before and after (409 unless a draft).
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: CampaignId,
        patch: &CampaignPatch,
    ) -> Result<(Campaign, Campaign)> {
        let mut tx = self.db.begin().await?;
        let row: CampaignRow = Table::Campaigns
            .get_for_update(&mut tx, CAMPAIGN_COLUMNS, org, id.0)
            .await?;
        let old = Campaign::try_from(row)?;
        if old.status != CampaignStatus::Draft {
            return Err(not_draft());
        }
        let mut new = old.clone();
        new.apply(patch)?;
        Table::EmailTemplates
            .check_ref(&mut tx, org, Some(new.template_id.0), "template_id")
            .await?;
        self.check_target(&mut tx, org, &new.target).await?;
        let target = serde_json::to_value(&new.target).expect("a target serialises");
        let mut q = Sql::new(
            "UPDATE campaigns SET name = $1, template_id = $2, target = $3, updated_at = $4 \
             WHERE organization_id = $5 AND id = $6 RETURNING ",
        )
        .arg(new.name.trim())
        .arg(new.template_id.0)
        .arg(target)
        .arg(Utc::now())
        .arg(org)
        .arg(id.0);
        q.push(CAMPAIGN_COLUMNS);
        let row: CampaignRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Update, "campaign", id.0).await?;
        tx.commit().await?;
        Ok((old, row.try_into()?))
    }

    /// Deletes a campaign that is not scheduled, sending or paused, with
    /// its send log.
    pub async fn delete(&self, org: OrgId, actor: Option<UserId>, id: CampaignId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let row: CampaignRow = Table::Campaigns
            .get_for_update(&mut tx, CAMPAIGN_COLUMNS, org, id.0)
            .await?;
        let c = Campaign::try_from(row)?;
        if matches!(
            c.status,
            CampaignStatus::Scheduled | CampaignStatus::Sending | CampaignStatus::Paused
        ) {
            return Err(StoreError::Conflict {
                entity: "campaign",
                field: "status",
            });
        }
        tx.execute(Sql::new("DELETE FROM campaign_recipients WHERE campaign_id = $1").arg(id.0))
            .await?;
        Table::Campaigns.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, "campaign", id.0).await?;
        tx.commit().await
    }

    /// Moves a campaign from one of `from` to `to` (409 from any other
    /// status); `scheduled_at` is set when given, `finished_at` when `to`
    /// ends it. Returns it before and after.
    pub async fn transition(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: CampaignId,
        from: &[CampaignStatus],
        to: CampaignStatus,
        scheduled_at: Option<DateTime<Utc>>,
    ) -> Result<(Campaign, Campaign)> {
        let mut tx = self.db.begin().await?;
        let row: CampaignRow = Table::Campaigns
            .get_for_update(&mut tx, CAMPAIGN_COLUMNS, org, id.0)
            .await?;
        let old = Campaign::try_from(row)?;
        if !from.contains(&old.status) {
            return Err(StoreError::Conflict {
                entity: "campaign",
                field: "status",
            });
        }
        let now = Utc::now();
        let ends = matches!(
            to,
            CampaignStatus::Cancelled | CampaignStatus::Completed | CampaignStatus::Failed
        );
        let mut q = Sql::new(
            "UPDATE campaigns SET status = $1, scheduled_at = COALESCE($2, scheduled_at), \
             finished_at = $3, updated_at = $4 WHERE organization_id = $5 AND id = $6 RETURNING ",
        )
        .arg(to.as_str())
        .arg(scheduled_at)
        .arg(ends.then_some(now))
        .arg(now)
        .arg(org)
        .arg(id.0);
        q.push(CAMPAIGN_COLUMNS);
        let row: CampaignRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, actor, Action::Update, "campaign", id.0).await?;
        tx.commit().await?;
        Ok((old, row.try_into()?))
    }

    /// The scheduled campaigns due at `now` (of `org`, or of all).
    pub async fn due(
        &self,
        org: Option<OrgId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(OrgId, CampaignId)>> {
        let mut q = Sql::new(
            "SELECT organization_id, id FROM campaigns WHERE status = 'scheduled' AND scheduled_at <= ",
        );
        q.bind(now);
        filter_eq(&mut q, "organization_id", org);
        q.push(" ORDER BY scheduled_at, id");
        let rows: Vec<(i64, i64)> = self.db.fetch_all(q).await?;
        Ok(rows
            .into_iter()
            .map(|(o, c)| (OrgId(o), CampaignId(c)))
            .collect())
    }

    /// The scheduled campaigns of `org` whose target is `segment` (id and
    /// name): they freeze their recipients from it when they start.
    pub async fn scheduled_to_segment(
        &self,
        org: OrgId,
        segment: SegmentId,
    ) -> Result<Vec<(CampaignId, String)>> {
        let rows: Vec<(i64, String, Json<serde_json::Value>)> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT id, name, target FROM campaigns \
                     WHERE organization_id = $1 AND status = 'scheduled' ORDER BY id",
                )
                .arg(org),
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter(|(_, _, target)| {
                matches!(
                    serde_json::from_value(target.0.clone()),
                    Ok(CampaignTarget::Segment { segment_id }) if segment_id == segment
                )
            })
            .map(|(id, name, _)| (CampaignId(id), name))
            .collect())
    }

    /// The campaigns sending now (of `org`, or of all).
    pub async fn sending(&self, org: Option<OrgId>) -> Result<Vec<(OrgId, CampaignId)>> {
        let mut q = Sql::new("SELECT organization_id, id FROM campaigns WHERE status = 'sending'");
        filter_eq(&mut q, "organization_id", org);
        q.push(" ORDER BY id");
        let rows: Vec<(i64, i64)> = self.db.fetch_all(q).await?;
        Ok(rows
            .into_iter()
            .map(|(o, c)| (OrgId(o), CampaignId(c)))
            .collect())
    }

    /// Starts a due scheduled campaign: freezes its recipient list (one row
    /// per address; no address, suppressed and duplicate rows kept as
    /// `skipped` with why) and sets it `sending`, in one transaction.
    /// `None` when it is no longer scheduled (another instance started it,
    /// or a user paused or cancelled it). A campaign whose target segment
    /// was deleted is set `failed` instead, with the reason naming it (the
    /// segment's delete is refused while a campaign is scheduled to it, so
    /// this is a draft scheduled afterwards, or a delete that raced it).
    pub async fn start(&self, org: OrgId, id: CampaignId) -> Result<Option<Campaign>> {
        let mut tx = self.db.begin().await?;
        let row: CampaignRow = Table::Campaigns
            .get_for_update(&mut tx, CAMPAIGN_COLUMNS, org, id.0)
            .await?;
        let c = Campaign::try_from(row)?;
        if c.status != CampaignStatus::Scheduled {
            return Ok(None);
        }
        let now = Utc::now();
        if let CampaignTarget::Segment { segment_id } = c.target
            && Table::Segments
                .check_ref(&mut tx, org, Some(segment_id.0), "target")
                .await
                .is_err()
        {
            let mut q = Sql::new(
                "UPDATE campaigns SET status = 'failed', error = $1, finished_at = $2, \
                 updated_at = $2 WHERE organization_id = $3 AND id = $4 RETURNING ",
            )
            .arg(format!(
                "its target segment {segment_id} no longer exists: it was deleted after the \
                 campaign was written; change the target and schedule it again"
            ))
            .arg(now)
            .arg(org)
            .arg(id.0);
            q.push(CAMPAIGN_COLUMNS);
            let row: CampaignRow = tx.fetch_one(q).await?;
            tx.commit().await?;
            return Ok(Some(row.try_into()?));
        }
        let mut inner = Sql::default();
        let kind = target_rows(&mut inner, tx.backend(), org, &c.target);
        let mut q = Sql::new(
            "INSERT INTO campaign_recipients (campaign_id, organization_id, record_type, record_id, \
             contact_id, email, name, status, skip_reason, updated_at) SELECT ",
        );
        q.bind(id.0).push(", ").bind(org).push(", ").bind(kind).push(
            ", t.record_id, t.contact_id, t.email, t.name, \
             CASE WHEN t.email IS NULL OR t.rn > 1 OR t.suppressed = 1 THEN 'skipped' ELSE 'pending' END, \
             CASE WHEN t.email IS NULL THEN 'no_address' WHEN t.suppressed = 1 THEN 'suppressed' \
             WHEN t.rn > 1 THEN 'duplicate' END, ",
        );
        q.bind(now).push(
            " FROM (SELECT r.*, CASE WHEN s.email IS NULL THEN 0 ELSE 1 END AS suppressed, \
             ROW_NUMBER() OVER (PARTITION BY r.email ORDER BY r.record_id) AS rn FROM (",
        );
        // Splice the target's select in, renumbering its placeholders.
        let offset = q.params.len();
        q.push(&renumber(&inner.text, offset));
        q.params.extend(inner.params);
        q.push(") r LEFT JOIN suppressions s ON s.organization_id = ")
            .bind(org)
            .push(" AND s.email = r.email) t ORDER BY t.record_id");
        tx.execute(q).await?;
        let mut q = Sql::new(
            "UPDATE campaigns SET status = 'sending', started_at = $1, updated_at = $1 \
             WHERE organization_id = $2 AND id = $3 RETURNING ",
        )
        .arg(now)
        .arg(org)
        .arg(id.0);
        q.push(CAMPAIGN_COLUMNS);
        let row: CampaignRow = tx.fetch_one(q).await?;
        tx.commit().await?;
        // PostgreSQL plans the claims from the table's statistics, which
        // know nothing yet of the rows just frozen: with them, each claim's
        // read of 16 rows by key was planned as a walk of every recipient
        // of the organization (1 s a claim at 100,000 recipients; 0.2 ms
        // once analysed). SQLite's plans do not depend on them here.
        // On SQLite, the write connection gives back the page cache the
        // freeze filled (every target row read, every recipient written):
        // the sender's claims and records run on the bulk-write
        // connection, and the two caches together took the bench's peak
        // memory from 147 to 228 MB.
        self.db
            .execute(Sql::new(match self.db.backend() {
                Backend::Postgres => "ANALYZE campaign_recipients",
                Backend::Sqlite => "PRAGMA shrink_memory",
            }))
            .await?;
        Ok(Some(row.try_into()?))
    }

    /// Claims up to `n` of a sending campaign's rows for this sender: due
    /// pending rows and rows whose lease ran out (their sender died; marked
    /// `in_doubt`), in id order. Committed before anything is sent: status
    /// `sending`, one more attempt, the lease until `lease_until`. On
    /// PostgreSQL `FOR UPDATE SKIP LOCKED` lets instances claim side by
    /// side; on SQLite the one writer serialises the claims. Returns the
    /// claimed rows with what their messages are personalised with.
    pub async fn claim(
        &self,
        org: OrgId,
        id: CampaignId,
        ask: ClaimAsk,
    ) -> Result<Vec<RecipientFacts>> {
        let claim = Claim {
            backend: self.db.backend(),
            org,
            id,
            ask,
        };
        // On a SQLite file: the same statements on the bulk-write
        // connection, prepared once, in one hand-off to its thread (through
        // sqlx, each statement and each row is a pair of thread switches).
        if let Some(done) = self
            .db
            .sqlite_write(move |conn| {
                let mut claimed: Vec<Candidate> = Vec::new();
                for step in 0..2 {
                    if let Some(q) = claim.candidates(step, claimed.len()) {
                        claimed.extend(crate::sqlite_read::query::<Candidate>(conn, &q)?);
                    }
                }
                if claimed.is_empty() {
                    return Ok(Vec::new());
                }
                crate::sqlite_read::execute(conn, &claim.mark(&claimed))?;
                let facts = crate::sqlite_read::query(conn, &claim.facts(&claimed))?;
                Ok(Claim::in_doubt(facts, &claimed))
            })
            .await
        {
            return done;
        }
        let mut tx = self.db.begin().await?;
        let mut claimed: Vec<Candidate> = Vec::new();
        for step in 0..2 {
            if let Some(q) = claim.candidates(step, claimed.len()) {
                claimed.extend(tx.fetch_all::<Candidate>(q).await?);
            }
        }
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        tx.execute(claim.mark(&claimed)).await?;
        let facts = tx.fetch_all(claim.facts(&claimed)).await?;
        tx.commit().await?;
        Ok(Claim::in_doubt(facts, &claimed))
    }

    /// What a preview of the organization's `record_type` record `id`
    /// (`contact` or `lead`) is personalised with.
    pub async fn facts_of(&self, org: OrgId, record_type: &str, id: i64) -> Result<RecipientFacts> {
        let lead = record_type == "lead";
        let mut q = Sql::new(
            "SELECT CAST(0 AS BIGINT) AS recipient_id, c.email AS email, CAST(0 AS BIGINT) AS attempts, FALSE AS in_doubt, \
             c.first_name, c.last_name, c.company, c.job_title, c.industry, c.phone, \
             l.id AS lead_id, l.title AS lead_title, l.score AS lead_score, \
             l.score_category AS lead_category, u.name AS owner_name, u.email AS owner_email, \
             o.name AS organization FROM organizations o ",
        );
        if lead {
            q.push(
                "JOIN leads l ON l.organization_id = o.id LEFT JOIN contacts c ON \
                 c.organization_id = o.id AND c.id = l.contact_id LEFT JOIN users u ON \
                 u.organization_id = o.id AND u.id = COALESCE(l.owner_id, c.owner_id) \
                 WHERE o.id = ",
            )
            .bind(org)
            .push(" AND l.id = ")
            .bind(id);
        } else {
            q.push(
                "JOIN contacts c ON c.organization_id = o.id LEFT JOIN leads l ON 1 = 0 \
                 LEFT JOIN users u ON u.organization_id = o.id AND u.id = c.owner_id WHERE o.id = ",
            )
            .bind(org)
            .push(" AND c.id = ")
            .bind(id);
        }
        self.db
            .fetch_optional(q)
            .await?
            .ok_or(StoreError::NotFound {
                entity: if lead { "lead" } else { "contact" },
            })
    }

    /// Records the outcomes of claimed rows (only rows still `sending`
    /// change): the deliveries and retries in one statement, the bounces in
    /// one transaction that also suppresses their addresses.
    pub async fn record(&self, org: OrgId, outcomes: &[(i64, Outcome)]) -> Result<()> {
        let now = Utc::now();
        type Outcomes<'a> = Vec<&'a (i64, Outcome)>;
        let (bounced, rest): (Outcomes, Outcomes) = outcomes
            .iter()
            .partition(|(_, o)| matches!(o, Outcome::Bounced { .. }));
        if !rest.is_empty() {
            // One statement for them all, its own transaction; on a SQLite
            // file on the bulk-write connection, where the claims run (one
            // page cache for both).
            let q = record_sql(org, &rest, now);
            let fast = q.clone();
            match self
                .db
                .sqlite_write(move |conn| crate::sqlite_read::execute(conn, &fast))
                .await
            {
                Some(done) => {
                    done?;
                }
                None => {
                    self.db.execute(q).await?;
                }
            }
        }
        if bounced.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (id, outcome) in bounced {
            let Outcome::Bounced { reply } = outcome else {
                continue;
            };
            let bounced: Option<(Option<String>,)> = tx
                .fetch_optional(
                    Sql::new(
                        "UPDATE campaign_recipients SET status = 'bounced', smtp_reply = $1, \
                         lease_until = NULL, updated_at = $2 \
                         WHERE organization_id = $3 AND id = $4 AND status = 'sending' \
                         RETURNING email",
                    )
                    .arg(reply.as_str())
                    .arg(now)
                    .arg(org)
                    .arg(*id),
                )
                .await?;
            if let Some((Some(email),)) = bounced {
                suppress_in(&mut tx, org, &email, "bounced", now).await?;
            }
        }
        tx.commit().await
    }

    /// When a sending campaign has no row left to send, or to retry, marks
    /// it completed; returns whether it did. The earliest retry still due
    /// is returned otherwise (`Err(Some(at))`), or `Err(None)` when rows are
    /// ready or in flight.
    pub async fn complete_if_done(
        &self,
        org: OrgId,
        id: CampaignId,
    ) -> Result<std::result::Result<(), Option<DateTime<Utc>>>> {
        let mut tx = self.db.begin().await?;
        let open: Option<(i64, Option<DateTime<Utc>>)> = tx
            .fetch_optional(
                Sql::new(
                    "SELECT COUNT(*), MAX(next_attempt_at) FROM campaign_recipients \
                     WHERE campaign_id = $1 AND organization_id = $2 \
                     AND status IN ('pending', 'sending') HAVING COUNT(*) > 0",
                )
                .arg(id.0)
                .arg(org),
            )
            .await?;
        if let Some((_, next)) = open {
            return Ok(Err(next));
        }
        let now = Utc::now();
        tx.execute(
            Sql::new(
                "UPDATE campaigns SET status = 'completed', finished_at = $1, updated_at = $1 \
                 WHERE organization_id = $2 AND id = $3 AND status = 'sending'",
            )
            .arg(now)
            .arg(org)
            .arg(id.0),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Fails a sending campaign with the reason.
    pub async fn fail(&self, org: OrgId, id: CampaignId, reason: &str) -> Result<()> {
        let now = Utc::now();
        self.db
            .execute(
                Sql::new(
                    "UPDATE campaigns SET status = 'failed', error = $1, finished_at = $2, \
                     updated_at = $2 WHERE organization_id = $3 AND id = $4",
                )
                .arg(reason)
                .arg(now)
                .arg(org)
                .arg(id.0),
            )
            .await?;
        Ok(())
    }

    /// Messages of the organization the server accepted since `since` (the
    /// hourly limit).
    pub async fn sent_since(&self, org: OrgId, since: DateTime<Utc>) -> Result<i64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Sql::new(
                    "SELECT COUNT(*) FROM campaign_recipients WHERE organization_id = $1 \
                     AND status = 'sent' AND sent_at >= $2",
                )
                .arg(org)
                .arg(since),
            )
            .await?;
        Ok(n)
    }

    /// When a row of the sending campaigns (of `org`) next becomes
    /// claimable: the earliest retry still to come, or the earliest lease of
    /// another sender to run out.
    pub async fn next_retry(&self, org: Option<OrgId>) -> Result<Option<DateTime<Utc>>> {
        let mut q = Sql::new(
            "SELECT MIN(CASE WHEN r.status = 'pending' THEN r.next_attempt_at ELSE r.lease_until END) \
             FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id \
             WHERE c.status = 'sending' AND r.status IN ('pending', 'sending')",
        );
        filter_eq(&mut q, "c.organization_id", org);
        let (at,): (Option<DateTime<Utc>>,) = self.db.fetch_one(q).await?;
        Ok(at)
    }

    /// A campaign's current status (for a sender to notice a pause or a
    /// cancellation between batches).
    pub async fn status(&self, org: OrgId, id: CampaignId) -> Result<CampaignStatus> {
        Ok(self.get(org, id).await?.status)
    }

    /// Releases the rows a sender claimed but did not send (a pause or a
    /// cancellation seen before sending): back to pending, the attempt undone.
    pub async fn release(&self, org: OrgId, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q = Sql::new(
            "UPDATE campaign_recipients SET status = 'pending', attempts = attempts - 1, \
             lease_until = NULL WHERE status = 'sending' AND +organization_id = ",
        );
        q.bind(org);
        filter_ids(
            &mut q,
            self.db.backend(),
            "id",
            ids_json(ids.iter().copied()),
        );
        self.db.execute(q).await?;
        Ok(())
    }

    /// `(done, total)` of a campaign's rows (`done`: no longer pending or
    /// sending), for the sender's progress: counted off the
    /// (campaign_id, status, id) index alone, where [`Campaigns::stats`]
    /// reads every row (once a second over 100,000 rows, that read alone
    /// filled a reader's page cache with the whole table).
    pub async fn progress(&self, org: OrgId, id: CampaignId) -> Result<(i64, i64)> {
        self.get(org, id).await?;
        let q = Sql::new(
            "SELECT COALESCE(SUM(CASE WHEN status = 'pending' OR status = 'sending' THEN 0 \
             ELSE 1 END), 0), COUNT(*) FROM campaign_recipients WHERE campaign_id = $1",
        )
        .arg(id.0);
        Ok(self.db.fetch_one(q).await?)
    }

    /// A campaign's counts (404 for another organization's).
    pub async fn stats(&self, org: OrgId, id: CampaignId) -> Result<CampaignStats> {
        self.get(org, id).await?;
        let q = Sql::new(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
             COALESCE(SUM(CASE WHEN status = 'sending' THEN 1 ELSE 0 END), 0) AS sending, \
             COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0) AS sent, \
             COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed, \
             COALESCE(SUM(CASE WHEN status = 'bounced' THEN 1 ELSE 0 END), 0) AS bounced, \
             COALESCE(SUM(CASE WHEN skip_reason = 'no_address' THEN 1 ELSE 0 END), 0) AS skipped_no_address, \
             COALESCE(SUM(CASE WHEN skip_reason = 'suppressed' THEN 1 ELSE 0 END), 0) AS skipped_suppressed, \
             COALESCE(SUM(CASE WHEN skip_reason = 'duplicate' THEN 1 ELSE 0 END), 0) AS skipped_duplicate, \
             COUNT(opened_at) AS opened, COUNT(clicked_at) AS clicked, \
             COUNT(unsubscribed_at) AS unsubscribed \
             FROM campaign_recipients WHERE campaign_id = $1 AND organization_id = $2",
        )
        .arg(id.0)
        .arg(org);
        Ok(self.db.fetch_one(q).await?)
    }

    /// A page of a campaign's send log, in id order.
    pub async fn recipients(
        &self,
        org: OrgId,
        id: CampaignId,
        status: Option<RecipientStatus>,
        page: Page,
    ) -> Result<Paged<Recipient>> {
        self.get(org, id).await?;
        let mut q = Sql::new("SELECT ");
        q.push(RECIPIENT_COLUMNS)
            .push(" FROM campaign_recipients WHERE organization_id = ")
            .bind(org)
            .push(" AND campaign_id = ")
            .bind(id.0);
        filter_eq(&mut q, "status", status.map(|s| s.as_str()));
        order_and_page(&mut q, "id", SortDir::Asc, page);
        let rows: Vec<RecipientRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(Recipient::try_from)
    }

    /// Unsubscribes a recipient row (named by a signed link, so not scoped
    /// by a caller): stamps `unsubscribed_at` once and suppresses its address
    /// in its organization. `None` when no such row (or it has no address).
    pub async fn unsubscribe(&self, recipient: i64) -> Result<Option<(OrgId, String)>> {
        let mut tx = self.db.begin().await?;
        let row: Option<(i64, Option<String>)> = tx
            .fetch_optional(
                Sql::new("SELECT organization_id, email FROM campaign_recipients WHERE id = $1")
                    .arg(recipient),
            )
            .await?;
        let Some((org, Some(email))) = row else {
            return Ok(None);
        };
        let now = Utc::now();
        tx.execute(
            Sql::new(
                "UPDATE campaign_recipients SET unsubscribed_at = $1 \
                 WHERE id = $2 AND unsubscribed_at IS NULL",
            )
            .arg(now)
            .arg(recipient),
        )
        .await?;
        suppress_in(&mut tx, OrgId(org), &email, "unsubscribed", now).await?;
        tx.commit().await?;
        Ok(Some((OrgId(org), email)))
    }

    /// Records an open (`click: false`) or a click of a recipient's message
    /// (named by a signed link, so not scoped by a caller). An open before
    /// `human_after` past delivery is a mail provider's prefetch: counted in
    /// `machine_opens` only. Returns what the engagement is about and
    /// whether it is the first of its kind by a person, `None` for a
    /// machine open or an unknown row.
    pub async fn engage(
        &self,
        recipient: i64,
        click: bool,
        now: DateTime<Utc>,
        human_after: chrono::Duration,
    ) -> Result<Option<(Engagement, bool)>> {
        let mut tx = self.db.begin().await?;
        let row: Option<EngagementRow> = tx
            .fetch_optional(
                Sql::new(
                    "SELECT organization_id, record_type, record_id, contact_id, subject, sent_at, \
                     opened_at, clicked_at FROM campaign_recipients WHERE id = $1",
                )
                .arg(recipient),
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        if !click && r.sent_at.is_some_and(|at| now - at < human_after) {
            tx.execute(
                Sql::new("UPDATE campaign_recipients SET machine_opens = machine_opens + 1 WHERE id = $1")
                    .arg(recipient),
            )
            .await?;
            tx.commit().await?;
            return Ok(None);
        }
        let first = if click {
            r.clicked_at.is_none()
        } else {
            r.opened_at.is_none()
        };
        // A click is also an open by a person.
        let q = if click {
            "UPDATE campaign_recipients SET clicked_at = COALESCE(clicked_at, $1), \
             opened_at = COALESCE(opened_at, $1) WHERE id = $2"
        } else {
            "UPDATE campaign_recipients SET opened_at = COALESCE(opened_at, $1) WHERE id = $2"
        };
        tx.execute(Sql::new(q).arg(now).arg(recipient)).await?;
        tx.commit().await?;
        let lead = r.record_type == "lead";
        Ok(Some((
            Engagement {
                org: OrgId(r.organization_id),
                lead_id: lead.then_some(r.record_id),
                contact_id: r.contact_id,
                subject: r.subject,
            },
            first,
        )))
    }

    // ---- suppressions ----

    /// A page of the organization's suppressed addresses, newest first.
    pub async fn suppressions(&self, org: OrgId, page: Page) -> Result<Paged<Suppression>> {
        let mut q =
            Sql::new("SELECT email, reason, created_at FROM suppressions WHERE organization_id = ");
        q.bind(org);
        q.push(" ORDER BY created_at DESC, email LIMIT ")
            .bind(page.limit as i64 + 1)
            .push(" OFFSET ")
            .bind(page.offset as i64);
        let rows: Vec<Suppression> = self.db.fetch_all(q).await?;
        Ok(Paged::from_overfetch(rows, page))
    }

    /// Suppresses an address (kept as it was when already suppressed).
    pub async fn suppress(&self, org: OrgId, email: &str, reason: &str) -> Result<Suppression> {
        let mut tx = self.db.begin().await?;
        suppress_in(&mut tx, org, email, reason, Utc::now()).await?;
        tx.commit().await?;
        Ok(self
            .db
            .fetch_one(
                Sql::new(
                    "SELECT email, reason, created_at FROM suppressions \
                     WHERE organization_id = $1 AND email = $2",
                )
                .arg(org)
                .arg(email),
            )
            .await?)
    }

    /// Lifts a suppression (404 when the address is not suppressed).
    pub async fn unsuppress(&self, org: OrgId, email: &str) -> Result<()> {
        let n = self
            .db
            .execute(
                Sql::new("DELETE FROM suppressions WHERE organization_id = $1 AND email = $2")
                    .arg(org)
                    .arg(email),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound {
                entity: "suppression",
            });
        }
        Ok(())
    }
}

fn not_draft() -> StoreError {
    StoreError::Conflict {
        entity: "campaign",
        field: "status",
    }
}

/// The claimed rows' personalisation: contact, lead, owner, organization.
fn facts_select() -> Sql {
    Sql::new(
        "SELECT r.id AS recipient_id, r.email AS email, r.attempts - 1 AS attempts, \
         FALSE AS in_doubt, c.first_name, c.last_name, c.company, c.job_title, c.industry, \
         c.phone, l.id AS lead_id, l.title AS lead_title, l.score AS lead_score, \
         l.score_category AS lead_category, u.name AS owner_name, u.email AS owner_email, \
         o.name AS organization FROM campaign_recipients r \
         JOIN campaigns k ON k.id = r.campaign_id \
         JOIN organizations o ON o.id = r.organization_id \
         LEFT JOIN contacts c ON c.organization_id = r.organization_id AND c.id = r.contact_id \
         LEFT JOIN leads l ON r.record_type = 'lead' AND l.organization_id = r.organization_id \
         AND l.id = r.record_id \
         LEFT JOIN users u ON u.organization_id = r.organization_id \
         AND u.id = COALESCE(l.owner_id, c.owner_id, k.created_by)",
    )
}

/// A claimed row's id, and whether its sender's lease ran out (1) or it
/// was pending (0).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
struct Candidate {
    id: i64,
    was: i64,
}
crate::sqlite_read::sqlite_row!(Candidate { id, was });

crate::sqlite_read::sqlite_row!(RecipientFacts {
    recipient_id,
    email,
    attempts,
    first_name,
    last_name,
    company,
    job_title,
    industry,
    phone,
    lead_id,
    lead_title,
    lead_score,
    lead_category,
    owner_name,
    owner_email,
    organization,
} default { in_doubt });

/// What a sender asks of a claim ([`Campaigns::claim`]).
#[derive(Debug, Clone, Copy)]
pub struct ClaimAsk {
    /// Rows at most.
    pub n: u32,
    /// What is due is due at this time.
    pub now: DateTime<Utc>,
    /// The lease of the claimed rows.
    pub lease_until: DateTime<Utc>,
    /// Whether to take rows whose lease ran out. A sender that still has
    /// messages of its own on the wire says no: their leases may have run
    /// out too (a slow relay), and it would send them again.
    pub take_over: bool,
    /// Pending rows after this id only: the highest this sender has
    /// claimed in its pass over the campaign (0: from the start; rows
    /// skipped behind a taken-over one wait for the next pass). On
    /// PostgreSQL the rows a pass has already moved on leave dead entries
    /// at the start of the index's pending range until a vacuum, which
    /// every claim from the start would walk again: at 100,000
    /// recipients, the most frequent statement of a run.
    pub after: i64,
}

/// The statements of one claim ([`Campaigns::claim`]), the same whichever
/// connection runs them.
#[derive(Debug, Clone, Copy)]
struct Claim {
    backend: Backend,
    org: OrgId,
    id: CampaignId,
    ask: ClaimAsk,
}

impl Claim {
    /// Step 0: the rows of a sender whose lease ran out (when taking over);
    /// step 1: the due pending ones; each a range of the (campaign_id,
    /// status, id) index in id order that stops after the rows still wanted
    /// (`None`: none are).
    /// (One read with `status = 'pending' OR status = 'sending'` sorted
    /// every row of the campaign for each claim: 100,000 rows for 16.)
    fn candidates(&self, step: usize, have: usize) -> Option<Sql> {
        let ask = &self.ask;
        let left = i64::from(ask.n) - have as i64;
        if left <= 0 || (step == 0 && !ask.take_over) {
            return None;
        }
        let (status, due, was) = if step == 0 {
            ("sending", "lease_until < $3 AND id > $5", 1)
        } else {
            (
                "pending",
                "(next_attempt_at IS NULL OR next_attempt_at <= $3) AND id > $5",
                0,
            )
        };
        let mut q = Sql::new(&format!(
            "SELECT id, CAST({was} AS BIGINT) AS was FROM campaign_recipients \
             WHERE campaign_id = $1 AND status = '{status}' AND organization_id = $2 \
             AND {due} ORDER BY id LIMIT $4"
        ))
        .arg(self.id.0)
        .arg(self.org)
        .arg(ask.now)
        .arg(left)
        .arg(if step == 0 { 0 } else { ask.after });
        if self.backend == Backend::Postgres {
            q.push(" FOR UPDATE SKIP LOCKED");
        }
        Some(q)
    }

    /// The claimed rows `sending`, one more attempt, under the lease; by
    /// key. (`+organization_id` keeps SQLite off the (organization_id,
    /// email) index, which it took for these ids and read every recipient
    /// of the organization: twice a batch.)
    fn mark(&self, claimed: &[Candidate]) -> Sql {
        let mut q = Sql::new(
            "UPDATE campaign_recipients SET status = 'sending', attempts = attempts + 1, \
             lease_until = $1, updated_at = $2 WHERE +organization_id = $3",
        )
        .arg(self.ask.lease_until)
        .arg(self.ask.now)
        .arg(self.org);
        filter_ids(
            &mut q,
            self.backend,
            "id",
            ids_json(claimed.iter().map(|c| c.id)),
        );
        q
    }

    /// What the claimed rows' messages are personalised with, in id order.
    fn facts(&self, claimed: &[Candidate]) -> Sql {
        let mut q = facts_select();
        q.push(" WHERE +r.organization_id = ").bind(self.org);
        filter_ids(
            &mut q,
            self.backend,
            "r.id",
            ids_json(claimed.iter().map(|c| c.id)),
        );
        q.push(" ORDER BY r.id");
        q
    }

    /// `facts` with the rows taken over from a dead sender marked.
    fn in_doubt(mut facts: Vec<RecipientFacts>, claimed: &[Candidate]) -> Vec<RecipientFacts> {
        for f in &mut facts {
            f.in_doubt = claimed.iter().any(|c| c.id == f.recipient_id && c.was == 1);
        }
        facts
    }
}

/// The write that records deliveries and retries (bounces are recorded
/// with their suppression: [`Campaigns::record`]): one `UPDATE ... FROM` a
/// list of values.
fn record_sql(org: OrgId, outcomes: &[&(i64, Outcome)], now: DateTime<Utc>) -> Sql {
    let mut q = Sql::new("WITH v (id, status, reply, subject, retry_at) AS (VALUES ");
    let rows = outcomes.iter().filter_map(|(id, o)| match o {
        Outcome::Sent { reply, subject } => Some((id, "sent", reply, Some(subject.as_str()), None)),
        Outcome::Retry { reply, retry_at } => Some((
            id,
            if retry_at.is_some() {
                "pending"
            } else {
                "failed"
            },
            reply,
            None,
            *retry_at,
        )),
        Outcome::Bounced { .. } => None,
    });
    for (i, (id, status, reply, subject, retry_at)) in rows.enumerate() {
        q.push(if i > 0 { ", (" } else { "(" })
            .bind(*id)
            .push(", ")
            .bind(status)
            .push(", ")
            .bind(reply.as_str())
            .push(", ")
            .bind(subject)
            .push(", ")
            .bind(retry_at)
            .push(")");
    }
    q.push(
        ") UPDATE campaign_recipients SET status = v.status, smtp_reply = v.reply, \
         subject = COALESCE(v.subject, campaign_recipients.subject), \
         sent_at = CASE WHEN v.status = 'sent' THEN ",
    )
    .bind(now)
    .push(
        " ELSE campaign_recipients.sent_at END, \
         next_attempt_at = CASE WHEN v.status = 'sent' THEN campaign_recipients.next_attempt_at \
         ELSE v.retry_at END, lease_until = NULL, updated_at = ",
    )
    .bind(now)
    .push(" FROM v WHERE campaign_recipients.organization_id = ")
    .bind(org)
    .push(" AND campaign_recipients.id = v.id AND campaign_recipients.status = 'sending'");
    q
}

/// `text` with each `$N` placeholder moved up by `offset`.
fn renumber(text: &str, offset: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((_, ch)) = chars.next() {
        if ch == '$' {
            let mut n = String::new();
            while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            match n.parse::<usize>() {
                Ok(v) => out.push_str(&format!("${}", v + offset)),
                Err(_) => out.push('$'),
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// Suppresses an address inside a transaction (kept as it was when already
/// suppressed): the one place an address joins the suppression list, for a
/// bounce at send time, a bounce or complaint reported later, an
/// unsubscribe and an address added by hand.
pub(crate) async fn suppress_in(
    tx: &mut Tx,
    org: OrgId,
    email: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        Sql::new(
            "INSERT INTO suppressions (organization_id, email, reason, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (organization_id, email) DO NOTHING",
        )
        .arg(org)
        .arg(email)
        .arg(reason)
        .arg(now),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn renumber_moves_placeholders() {
        assert_eq!(
            super::renumber("a = $1 AND b = $12", 3),
            "a = $4 AND b = $15"
        );
    }
}

//! E-mail campaigns: templates (checked when saved, previewed for a chosen
//! recipient), campaigns (written while draft, then scheduled, paused,
//! resumed, cancelled), the organization's suppression list, and the
//! sender ([`send`]) that the API, the CLI and the scheduler all run.
//!
//! Who may do what: everyone reads; admins and managers write.

use chrono::{DateTime, Utc};
use neuracrm_domain::{
    Campaign, CampaignId, CampaignPatch, CampaignStatus, ContactId, Email, EmailTemplate,
    EmailTemplateId, EmailTemplatePatch, EventKind, LeadId, NewCampaign, NewEmailTemplate, OrgId,
    RecipientStatus,
};
use neuracrm_store::campaigns::{CampaignStats, Recipient, Suppression};
use neuracrm_store::{Page, Paged};

use crate::records::{List, Record};
use crate::{Access, ActionError, ActionResult, Caller, Crm};

pub mod bounces;
pub mod links;
pub mod render;
pub mod send;
pub mod smtp;

pub use render::{Compiled, Context, Rendered};

impl Record for EmailTemplate {
    type Id = EmailTemplateId;
    type New = NewEmailTemplate;
    type Patch = EmailTemplatePatch;
    type Filter = ();
    type Sort = ();
    type View = EmailTemplate;

    const WRITE: Access = Access::Managers;

    fn check_new(_: &Caller, new: &NewEmailTemplate) -> ActionResult<()> {
        new.validate()?;
        Compiled::new(new).map(drop)
    }

    async fn insert(crm: &Crm, caller: &Caller, new: &NewEmailTemplate) -> ActionResult<Self> {
        Ok(crm
            .store
            .campaigns()
            .create_template(caller.org, Some(caller.user), new)
            .await?)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: EmailTemplateId) -> ActionResult<Self> {
        Ok(crm.store.campaigns().template(org, id).await?)
    }

    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: EmailTemplateId,
        patch: &EmailTemplatePatch,
    ) -> ActionResult<(Self, Self)> {
        // The template as it would be, checked before it is written.
        let mut next = crm.store.campaigns().template(caller.org, id).await?;
        next.apply(patch)?;
        Compiled::new(&next.as_new())?;
        Ok(crm
            .store
            .campaigns()
            .update_template(caller.org, Some(caller.user), id, patch)
            .await?)
    }

    async fn remove(crm: &Crm, caller: &Caller, id: EmailTemplateId) -> ActionResult<()> {
        Ok(crm
            .store
            .campaigns()
            .delete_template(caller.org, Some(caller.user), id)
            .await?)
    }

    async fn find(crm: &Crm, org: OrgId, q: &List<Self>) -> ActionResult<Paged<Self>> {
        Ok(crm.store.campaigns().templates(org, q.page).await?)
    }

    fn view(self) -> Self {
        self
    }
    fn created(&self) -> Option<EventKind> {
        None
    }
    fn updated(_: &Self, _: &Self) -> Option<EventKind> {
        None
    }
    fn deleted(_: EmailTemplateId) -> Option<EventKind> {
        None
    }
}

impl Record for Campaign {
    type Id = CampaignId;
    type New = NewCampaign;
    type Patch = CampaignPatch;
    type Filter = Option<CampaignStatus>;
    type Sort = ();
    type View = Campaign;

    const WRITE: Access = Access::Managers;

    fn check_new(_: &Caller, new: &NewCampaign) -> ActionResult<()> {
        Ok(new.validate()?)
    }

    async fn insert(crm: &Crm, caller: &Caller, new: &NewCampaign) -> ActionResult<Self> {
        Ok(crm
            .store
            .campaigns()
            .create(caller.org, Some(caller.user), new)
            .await?)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: CampaignId) -> ActionResult<Self> {
        Ok(crm.store.campaigns().get(org, id).await?)
    }

    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: CampaignId,
        patch: &CampaignPatch,
    ) -> ActionResult<(Self, Self)> {
        crm.store
            .campaigns()
            .update(caller.org, Some(caller.user), id, patch)
            .await
            .map_err(|e| not_while("changed", e.into()))
    }

    async fn remove(crm: &Crm, caller: &Caller, id: CampaignId) -> ActionResult<()> {
        crm.store
            .campaigns()
            .delete(caller.org, Some(caller.user), id)
            .await
            .map_err(|e| match ActionError::from(e) {
                ActionError::Conflict { field, .. } if field == "status" => ActionError::Conflict {
                    field,
                    message:
                        "a scheduled, sending or paused campaign cannot be deleted: cancel it first"
                            .into(),
                },
                other => other,
            })
    }

    async fn find(crm: &Crm, org: OrgId, q: &List<Self>) -> ActionResult<Paged<Self>> {
        Ok(crm.store.campaigns().list(org, q.filter, q.page).await?)
    }

    fn view(self) -> Self {
        self
    }
    fn created(&self) -> Option<EventKind> {
        None
    }
    fn updated(_: &Self, _: &Self) -> Option<EventKind> {
        None
    }
    fn deleted(_: CampaignId) -> Option<EventKind> {
        None
    }
}

/// A status conflict said in words.
fn not_while(what: &str, e: ActionError) -> ActionError {
    match e {
        ActionError::Conflict { field, .. } if field == "status" => ActionError::Conflict {
            field,
            message: format!("only a draft campaign can be {what}"),
        },
        other => other,
    }
}

/// The recipient a preview or a test send is personalised for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// A contact of the organization.
    Contact(ContactId),
    /// A lead of the organization (its contact's fields, its own).
    Lead(LeadId),
}

/// A template rendered for one of the organization's contacts or leads
/// (404 when either is not the caller's).
pub async fn preview(
    crm: &Crm,
    caller: &Caller,
    id: EmailTemplateId,
    sample: Sample,
) -> ActionResult<Rendered> {
    let t = crm.store.campaigns().template(caller.org, id).await?;
    preview_draft(crm, caller, &t.as_new(), Some(sample)).await
}

/// A template as it is being written (not saved) rendered for a contact
/// or lead of the organization, or, without one, for a recipient whose
/// fields are all empty: the editor's live preview. A template that does
/// not compile is refused as on saving (422 naming the line and column).
pub async fn preview_draft(
    crm: &Crm,
    caller: &Caller,
    draft: &NewEmailTemplate,
    sample: Option<Sample>,
) -> ActionResult<Rendered> {
    caller.require(Access::Anyone)?;
    draft.validate()?;
    let compiled = Compiled::new(draft)?;
    let facts = match sample {
        Some(Sample::Contact(c)) => Some(("contact", c.0)),
        Some(Sample::Lead(l)) => Some(("lead", l.0)),
        None => None,
    };
    let facts = match facts {
        Some((kind, rid)) => {
            crm.store
                .campaigns()
                .facts_of(caller.org, kind, rid)
                .await?
        }
        None => Default::default(),
    };
    compiled.render(&Context::of(&facts, "#unsubscribe-preview".into()))
}

/// Schedules a draft for `at` (absent: now). The template must still
/// compile (422 otherwise).
pub async fn schedule(
    crm: &Crm,
    caller: &Caller,
    id: CampaignId,
    at: Option<DateTime<Utc>>,
) -> ActionResult<Campaign> {
    caller.require(Access::Managers)?;
    let c = crm.store.campaigns().get(caller.org, id).await?;
    let t = crm
        .store
        .campaigns()
        .template(caller.org, c.template_id)
        .await?;
    Compiled::new(&t.as_new())?;
    let at = at.unwrap_or_else(Utc::now);
    move_to(
        crm,
        caller,
        id,
        &[CampaignStatus::Draft],
        CampaignStatus::Scheduled,
        Some(at),
    )
    .await
    .map_err(|e| not_while("scheduled", e))
}

/// Pauses a scheduled or sending campaign: its senders stop after the
/// messages in flight (within a second).
pub async fn pause(crm: &Crm, caller: &Caller, id: CampaignId) -> ActionResult<Campaign> {
    let from = [CampaignStatus::Scheduled, CampaignStatus::Sending];
    move_to(crm, caller, id, &from, CampaignStatus::Paused, None)
        .await
        .map_err(|e| status_conflict(e, "only a scheduled or sending campaign can be paused"))
}

/// Resumes a paused campaign: sending again if it had started, else
/// scheduled again.
pub async fn resume(crm: &Crm, caller: &Caller, id: CampaignId) -> ActionResult<Campaign> {
    caller.require(Access::Managers)?;
    let c = crm.store.campaigns().get(caller.org, id).await?;
    let to = if c.started_at.is_some() {
        CampaignStatus::Sending
    } else {
        CampaignStatus::Scheduled
    };
    move_to(crm, caller, id, &[CampaignStatus::Paused], to, None)
        .await
        .map_err(|e| status_conflict(e, "only a paused campaign can be resumed"))
}

/// Cancels a campaign for good (its unsent recipients stay unsent).
pub async fn cancel(crm: &Crm, caller: &Caller, id: CampaignId) -> ActionResult<Campaign> {
    let from = [
        CampaignStatus::Draft,
        CampaignStatus::Scheduled,
        CampaignStatus::Sending,
        CampaignStatus::Paused,
    ];
    move_to(crm, caller, id, &from, CampaignStatus::Cancelled, None)
        .await
        .map_err(|e| status_conflict(e, "the campaign has already ended"))
}

fn status_conflict(e: ActionError, message: &str) -> ActionError {
    match e {
        ActionError::Conflict { field, .. } if field == "status" => ActionError::Conflict {
            field,
            message: message.into(),
        },
        other => other,
    }
}

async fn move_to(
    crm: &Crm,
    caller: &Caller,
    id: CampaignId,
    from: &[CampaignStatus],
    to: CampaignStatus,
    at: Option<DateTime<Utc>>,
) -> ActionResult<Campaign> {
    caller.require(Access::Managers)?;
    let (_, c) = crm
        .store
        .campaigns()
        .transition(caller.org, Some(caller.user), id, from, to, at)
        .await?;
    crm.publish(
        caller.org,
        EventKind::CampaignStatusChanged { id, status: to },
    );
    Ok(c)
}

/// A campaign's counts.
pub async fn stats(crm: &Crm, caller: &Caller, id: CampaignId) -> ActionResult<CampaignStats> {
    Ok(crm.store.campaigns().stats(caller.org, id).await?)
}

/// A page of a campaign's send log.
pub async fn recipients(
    crm: &Crm,
    caller: &Caller,
    id: CampaignId,
    status: Option<RecipientStatus>,
    page: Page,
) -> ActionResult<Paged<Recipient>> {
    Ok(crm
        .store
        .campaigns()
        .recipients(caller.org, id, status, page)
        .await?)
}

/// A page of the organization's suppressed addresses.
pub async fn suppressions(
    crm: &Crm,
    caller: &Caller,
    page: Page,
) -> ActionResult<Paged<Suppression>> {
    Ok(crm.store.campaigns().suppressions(caller.org, page).await?)
}

/// Suppresses an address by hand (admins and managers).
pub async fn suppress(crm: &Crm, caller: &Caller, email: &Email) -> ActionResult<Suppression> {
    caller.require(Access::Managers)?;
    Ok(crm
        .store
        .campaigns()
        .suppress(caller.org, email.as_str(), "manual")
        .await?)
}

/// Lifts a suppression (admins and managers; 404 when not suppressed).
pub async fn unsuppress(crm: &Crm, caller: &Caller, email: &Email) -> ActionResult<()> {
    caller.require(Access::Managers)?;
    Ok(crm
        .store
        .campaigns()
        .unsuppress(caller.org, email.as_str())
        .await?)
}

/// Unsubscribes the recipient a signed link names (no login: the link is
/// the authority): its address joins its organization's suppression list
/// and the send log records when. `NotFound` for a link that does not
/// verify; unsubscribing twice changes nothing.
pub async fn unsubscribe(crm: &Crm, token: &str) -> ActionResult<()> {
    let rid = crm
        .links
        .as_ref()
        .and_then(|l| l.verify_unsubscribe(token))
        .ok_or_else(|| ActionError::NotFound("unsubscribe link".into()))?;
    crm.store
        .campaigns()
        .unsubscribe(rid)
        .await?
        .ok_or_else(|| ActionError::NotFound("unsubscribe link".into()))?;
    Ok(())
}

/// Opens sooner than this after delivery are mail providers fetching the
/// message (prefetch, scanning), not people: left out of opens and
/// engagement.
pub const MACHINE_OPEN_SECS: i64 = 10;

/// Records an open of the message a signed pixel link names. The first open
/// by a person is logged as an `email_open` activity on the recipient's lead
/// or contact (so the lead score's engagement counts it) and published;
/// machine opens and a link that does not verify change nothing visible.
pub async fn track_open(crm: &Crm, token: &str) -> ActionResult<()> {
    let Some(rid) = crm.links.as_ref().and_then(|l| l.verify_open(token)) else {
        return Ok(());
    };
    engage(crm, rid, false).await
}

/// Records a click of a tracked link and returns where it goes: only the
/// URL the link was signed for (`NotFound` otherwise). Every click is
/// logged as an `email_click` activity and published.
pub async fn track_click(crm: &Crm, token: &str, url: &str) -> ActionResult<()> {
    let rid = crm
        .links
        .as_ref()
        .and_then(|l| l.verify_click(token, url))
        .ok_or_else(|| ActionError::NotFound("link".into()))?;
    engage(crm, rid, true).await
}

async fn engage(crm: &Crm, rid: i64, click: bool) -> ActionResult<()> {
    let human_after = chrono::Duration::seconds(MACHINE_OPEN_SECS);
    let Some((e, first)) = crm
        .store
        .campaigns()
        .engage(rid, click, Utc::now(), human_after)
        .await?
    else {
        return Ok(());
    };
    if !click && !first {
        return Ok(());
    }
    let kind = if click {
        neuracrm_domain::ActivityType::EmailClick
    } else {
        neuracrm_domain::ActivityType::EmailOpen
    };
    let new = neuracrm_domain::NewActivity {
        kind,
        lead_id: e.lead_id.map(LeadId),
        deal_id: None,
        contact_id: e.contact_id.map(ContactId),
        user_id: None,
        subject: e.subject,
        body: None,
        duration_seconds: None,
        occurred_at: None,
    };
    let a = crm.store.activities().create(e.org, None, &new).await?;
    crm.publish(
        e.org,
        EventKind::ActivityLogged {
            id: a.id,
            activity_type: kind,
            lead_id: new.lead_id,
            contact_id: new.contact_id,
        },
    );
    Ok(())
}

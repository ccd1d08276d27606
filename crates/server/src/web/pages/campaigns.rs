//! `/campaigns`: the organization's campaigns and a new one's form; and
//! `/campaigns/{id}`: one campaign (compose while draft: name, template,
//! target; schedule, pause, resume, cancel), its counts and progress,
//! refreshed live by the `/live` stream's `campaign_progress` and
//! `campaign_status_changed` events, and its send log. The same actions as
//! `/api/campaigns`; everyone reads, admins and managers act.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use neuracrm_actions::campaigns;
use neuracrm_actions::records;
use neuracrm_actions::{Access, ActionError, ActionResult};
use neuracrm_domain::{
    Campaign, CampaignId, CampaignPatch, CampaignStatus, CampaignTarget, EmailTemplate,
    EmailTemplateId, NewCampaign, RecipientStatus, Segment, SegmentId,
};
use neuracrm_store::Page;
use neuracrm_store::campaigns::{CampaignStats, Recipient};
use serde::Deserialize;

use super::settings::{Done, FormError, after_form, form_page};
use crate::web::forms::chosen;
use crate::web::layout::Shell;
use crate::web::listing::{Choice, Pager, choices, every, first, rows};
use crate::web::session::{CsrfForm, NoFields, WebUser};
use crate::web::{PageResult, format};

/// Rows of the send log a page shows.
const LOG_PAGE: i64 = 50;

/// A campaign of the list.
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub status: &'static str,
    pub when: String,
}

/// What the compose form holds: the name, the template and the target
/// (`contacts`, `leads`, or `segment:{id}`).
#[derive(Debug, Default, Deserialize)]
pub struct ComposeForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub template_id: String,
    #[serde(default)]
    pub target: String,
}

impl ComposeForm {
    fn of(c: &Campaign) -> ComposeForm {
        ComposeForm {
            name: c.name.clone(),
            template_id: c.template_id.0.to_string(),
            target: match &c.target {
                CampaignTarget::Contacts { .. } => "contacts".into(),
                CampaignTarget::Leads { .. } => "leads".into(),
                CampaignTarget::Segment { segment_id } => format!("segment:{}", segment_id.0),
            },
        }
    }

    fn parse(&self) -> ActionResult<NewCampaign> {
        let template_id = chosen(&self.template_id, "template_id", "choose a template")?;
        let template_id = EmailTemplateId(template_id);
        let target = match self.target.as_str() {
            "contacts" => CampaignTarget::Contacts {
                ids: None,
                filter: None,
            },
            "leads" => CampaignTarget::Leads {
                ids: None,
                filter: None,
            },
            other => match other.strip_prefix("segment:").map(str::parse) {
                Some(Ok(s)) => CampaignTarget::Segment {
                    segment_id: SegmentId(s),
                },
                _ => return Err(ActionError::invalid("target", "choose whom to mail")),
            },
        };
        Ok(NewCampaign {
            name: self.name.trim().to_string(),
            template_id,
            target,
        })
    }
}

/// The selects of the compose form: the templates and the targets.
pub struct Compose {
    pub form: ComposeForm,
    pub templates: Vec<Choice>,
    pub targets: Vec<Choice>,
}

async fn compose(user: &WebUser, form: ComposeForm) -> ActionResult<Compose> {
    let templates = every::<EmailTemplate>(&user.crm, &user.caller).await?;
    let segments = every::<Segment>(&user.crm, &user.caller).await?;
    let choice = |value: String, label: String, current: &str| Choice {
        selected: value == current,
        value,
        label,
    };
    let mut targets = vec![
        choice("contacts".into(), "All contacts".into(), &form.target),
        choice("leads".into(), "All leads".into(), &form.target),
    ];
    targets.extend(segments.into_iter().map(|s| {
        choice(
            format!("segment:{}", s.id.0),
            format!("Segment: {} ({} contacts)", s.name, s.size),
            &form.target,
        )
    }));
    Ok(Compose {
        templates: templates
            .into_iter()
            .map(|t| choice(t.id.0.to_string(), t.name, &form.template_id))
            .collect(),
        targets,
        form,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns.html")]
pub struct CampaignsPage {
    shell: Shell,
    campaigns: Vec<CampaignRow>,
    more: bool,
    can_write: bool,
    compose: Compose,
    error: Option<FormError>,
}

form_page!(CampaignsPage, CampaignPage);

async fn list_page(
    user: &WebUser,
    form: ComposeForm,
    error: Option<FormError>,
) -> PageResult<CampaignsPage> {
    let now = Utc::now();
    let most = Page::MAX_LIMIT as i64;
    let found = first::<Campaign>(&user.crm, &user.caller, None, (), most).await?;
    let (campaigns, more) = rows(found, |c| CampaignRow {
        id: c.id.0,
        status: c.status.as_str(),
        when: when(&c, now),
        name: c.name,
    });
    Ok(CampaignsPage {
        shell: Shell::new(user, "Campaigns", "/campaigns"),
        more,
        campaigns,
        can_write: Access::Managers.admits(user.caller.role),
        compose: compose(user, form).await?,
        error,
    })
}

/// What a campaign's status says about when.
fn when(c: &Campaign, now: DateTime<Utc>) -> String {
    match (c.status, c.scheduled_at, c.finished_at) {
        (_, _, Some(f)) => format!("ended {}", format::ago(f, now)),
        (CampaignStatus::Scheduled, Some(at), _) => format!("due {}", format::full(at)),
        _ => format!("created {}", format::ago(c.created_at, now)),
    }
}

/// `GET /campaigns`.
pub async fn list(user: WebUser) -> PageResult<CampaignsPage> {
    list_page(&user, ComposeForm::default(), None).await
}

/// `POST /campaigns`: a draft (admins and managers), then its page.
pub async fn create(CsrfForm(user, f): CsrfForm<ComposeForm>) -> Response {
    let result = match f.parse() {
        Ok(new) => records::create::<Campaign>(&user.crm, &user.caller, new).await,
        Err(e) => Err(e),
    };
    let to = match &result {
        Ok(c) => format!("/campaigns/{}?done=created", c.id.0),
        Err(_) => String::new(),
    };
    after_form(result, &to, async |e| list_page(&user, f, Some(e)).await).await
}

/// One row of the send log as shown.
pub struct LogRow {
    pub email: String,
    pub name: String,
    pub status: &'static str,
    pub why: String,
    pub attempts: i64,
    pub sent: String,
    pub opened: bool,
    pub clicked: bool,
    pub unsubscribed: bool,
}

impl LogRow {
    fn of(r: Recipient) -> LogRow {
        LogRow {
            email: r.email.unwrap_or_default(),
            name: r.name.unwrap_or_default(),
            status: r.status.as_str(),
            why: r.skip_reason.or(r.smtp_reply).unwrap_or_default(),
            attempts: r.attempts,
            sent: r.sent_at.map(format::full).unwrap_or_default(),
            opened: r.opened_at.is_some(),
            clicked: r.clicked_at.is_some(),
            unsubscribed: r.unsubscribed_at.is_some(),
        }
    }
}

/// The send log's previous and next pages of a campaign page, with its
/// status filter.
fn log_pager(id: CampaignId, status: Option<RecipientStatus>, offset: i64, more: bool) -> Pager {
    let at = |offset: i64| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = status {
            q.append_pair("status", s.as_str());
        }
        if offset > 0 {
            q.append_pair("offset", &offset.to_string());
        }
        format!("/campaigns/{id}?{}", q.finish())
    };
    Pager {
        page: (offset / LOG_PAGE) as u32 + 1,
        here: at(offset),
        prev: (offset > 0).then(|| at((offset - LOG_PAGE).max(0))),
        next: more.then(|| at(offset + LOG_PAGE)),
    }
}

/// `?status=&offset=&done=` of a campaign page.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    status: Option<String>,
    offset: Option<i64>,
    done: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign.html")]
pub struct CampaignPage {
    shell: Shell,
    c: Campaign,
    status: &'static str,
    target: String,
    template: String,
    stats: CampaignStats,
    /// Ended rows, percent.
    percent: i64,
    log: Vec<LogRow>,
    statuses: Vec<Choice>,
    /// The log's pages, each keeping the status filter.
    pager: Pager,
    /// Shown only while the campaign is a draft and the user may act.
    compose: Option<Compose>,
    can_act: bool,
    error: Option<FormError>,
    done: Option<&'static str>,
}

impl CampaignPage {
    /// Whether `action` is possible in the campaign's status.
    fn may(&self, action: &str) -> bool {
        use CampaignStatus::*;
        self.can_act
            && match action {
                "schedule" => self.c.status == Draft,
                "pause" => matches!(self.c.status, Scheduled | Sending),
                "resume" => self.c.status == Paused,
                "cancel" => matches!(self.c.status, Draft | Scheduled | Sending | Paused),
                _ => false,
            }
    }
}

async fn campaign_page(
    user: &WebUser,
    id: i64,
    q: LogQuery,
    form: Option<ComposeForm>,
    error: Option<FormError>,
) -> PageResult<CampaignPage> {
    let (crm, caller) = (&user.crm, &user.caller);
    let c = records::get::<Campaign>(crm, caller, CampaignId(id)).await?;
    let stats = campaigns::stats(crm, caller, c.id).await?;
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<RecipientStatus>().ok());
    let offset = q.offset.unwrap_or(0).max(0);
    let page = Page::parse(Some(LOG_PAGE), Some(offset)).map_err(ActionError::query)?;
    let log = campaigns::recipients(crm, caller, c.id, status, page).await?;
    let template = records::get::<EmailTemplate>(crm, caller, c.template_id)
        .await
        .map(|t| t.name)
        .unwrap_or_default();
    let target = match &c.target {
        CampaignTarget::Contacts { ids: Some(ids), .. } => format!("{} contacts", ids.len()),
        CampaignTarget::Contacts {
            filter: Some(_), ..
        } => "contacts by filter".into(),
        CampaignTarget::Contacts { .. } => "all contacts".into(),
        CampaignTarget::Leads { ids: Some(ids), .. } => format!("{} leads", ids.len()),
        CampaignTarget::Leads {
            filter: Some(_), ..
        } => "leads by filter".into(),
        CampaignTarget::Leads { .. } => "all leads".into(),
        CampaignTarget::Segment { segment_id } => records::get::<Segment>(crm, caller, *segment_id)
            .await
            .map(|s| format!("segment {}", s.name))
            .unwrap_or_else(|_| "a deleted segment".into()),
    };
    let can_act = Access::Managers.admits(caller.role);
    let compose = if can_act && c.status == CampaignStatus::Draft {
        let form = form.unwrap_or_else(|| ComposeForm::of(&c));
        Some(compose(user, form).await?)
    } else {
        None
    };
    let ended = stats.total - stats.pending - stats.sending;
    let done = Done { done: q.done }.say(&[
        ("created", "Created: compose it, then schedule it."),
        ("saved", "Saved."),
        ("schedule", "Scheduled."),
        ("pause", "Paused."),
        ("resume", "Resumed."),
        ("cancel", "Cancelled."),
    ]);
    let mut statuses = choices(RecipientStatus::WORDS, status.map(RecipientStatus::as_str));
    statuses.insert(
        0,
        Choice {
            value: String::new(),
            label: "any".into(),
            selected: status.is_none(),
        },
    );
    Ok(CampaignPage {
        shell: Shell::new(user, c.name.clone(), "/campaigns"),
        status: c.status.as_str(),
        target,
        template,
        percent: if stats.total > 0 {
            ended * 100 / stats.total
        } else {
            0
        },
        stats,
        pager: log_pager(c.id, status, offset, log.has_more),
        log: log.items.into_iter().map(LogRow::of).collect(),
        statuses,
        compose,
        can_act,
        error,
        done,
        c,
    })
}

/// `GET /campaigns/{id}` (another organization's: not found).
pub async fn show(
    Path(id): Path<i64>,
    user: WebUser,
    Query(q): Query<LogQuery>,
) -> PageResult<CampaignPage> {
    campaign_page(&user, id, q, None, None).await
}

/// `POST /campaigns/{id}`: changes the draft (admins and managers).
pub async fn save(Path(id): Path<i64>, CsrfForm(user, f): CsrfForm<ComposeForm>) -> Response {
    let result = match f.parse() {
        Ok(n) => {
            let patch = CampaignPatch {
                name: Some(n.name),
                template_id: Some(n.template_id),
                target: Some(n.target),
            };
            records::update::<Campaign>(&user.crm, &user.caller, CampaignId(id), patch).await
        }
        Err(e) => Err(e),
    };
    let to = format!("/campaigns/{id}?done=saved");
    after_form(result, &to, async |e| {
        campaign_page(&user, id, LogQuery::default(), Some(f), Some(e)).await
    })
    .await
}

/// The schedule form: when, as the browser's `datetime-local` (UTC).
#[derive(Debug, Default, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    scheduled_at: String,
}

/// `POST /campaigns/{id}/schedule`: at the time given, in UTC (blank: now).
pub async fn schedule(Path(id): Path<i64>, CsrfForm(user, f): CsrfForm<ScheduleForm>) -> Response {
    let at = match f.scheduled_at.trim() {
        "" => Ok(None),
        raw => NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
            .map(|t| Some(t.and_utc()))
            .map_err(|_| {
                ActionError::invalid("scheduled_at", "a date and time, e.g. 2027-01-31T09:00")
            }),
    };
    let result = match at {
        Ok(at) => campaigns::schedule(&user.crm, &user.caller, CampaignId(id), at).await,
        Err(e) => Err(e),
    };
    let to = format!("/campaigns/{id}?done=schedule");
    after_form(result, &to, async |e| {
        campaign_page(&user, id, LogQuery::default(), None, Some(e)).await
    })
    .await
}

/// `POST /campaigns/{id}/{pause|resume|cancel}` (admins and managers).
pub async fn act(
    Path((id, action)): Path<(i64, String)>,
    CsrfForm(user, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    let (crm, caller, cid) = (&user.crm, &user.caller, CampaignId(id));
    let result = match action.as_str() {
        "pause" => campaigns::pause(crm, caller, cid).await,
        "resume" => campaigns::resume(crm, caller, cid).await,
        "cancel" => campaigns::cancel(crm, caller, cid).await,
        _ => Err(ActionError::NotFound("page".into())),
    };
    let to = format!("/campaigns/{id}?done={action}");
    after_form(result, &to, async |e| {
        campaign_page(&user, id, LogQuery::default(), None, Some(e)).await
    })
    .await
}

//! The sender: one pipeline, read top to bottom. Start the scheduled
//! campaigns that are due (freezing their recipients) → for each sending
//! campaign, claim a batch of recipients under a lease (committed before
//! anything is sent) → render each message → send them through the SMTP
//! connection pool → record every outcome (committed after). The API's
//! "schedule now", the CLI's `campaigns process` and the scheduler all run
//! [`process`].
//!
//! Crash safety: a row is `sending` with a lease before its message leaves,
//! and `sent` only once the server accepted it. A sender killed in between
//! leaves its rows `sending`; when their lease runs out the next claim takes
//! them again, logs them as in doubt, and sends them with the same
//! Message-ID (derived from the campaign and the recipient), so a copy the
//! dead sender had delivered is recognisably the same message. Nothing is
//! skipped (each row is its own checkpoint) and at most the rows in flight
//! at the kill (`smtp.connections`) can arrive twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use neuracrm_domain::{CampaignId, CampaignStatus, Email, EmailTemplateId, EventKind, OrgId};
use neuracrm_store::campaigns::{Outcome, RecipientFacts};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::links::Links;
use super::smtp::{Failure, Pool};
use super::{Compiled, Context, Rendered, Sample};
use crate::{Access, ActionError, ActionResult, Caller, Crm};

/// How the sender talks to SMTP and paces itself. `url` may carry a
/// password: it is never logged, and errors never quote it.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`,
    /// with `user:password@` when the relay wants them.
    pub url: String,
    /// The default sender (`Name <address>` or an address).
    pub from: String,
    /// SMTP connections in the pool, and messages in flight at once.
    pub connections: u32,
    /// Messages a second from this process (none: as fast as the relay takes them).
    pub rate_per_second: Option<u32>,
    /// Messages an hour per organization (none: no limit).
    pub hourly_limit: Option<u32>,
    /// Attempts before a temporarily failing recipient is given up.
    pub max_attempts: u32,
    /// The first retry's delay; each further one doubles it.
    pub retry_after: Duration,
    /// How long a claim holds its rows; a sender gone quiet longer than this
    /// is taken over (its rows then in doubt).
    pub lease: Duration,
    /// How long one SMTP conversation may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("url", &"[secret]")
            .field("from", &self.from)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

/// The SMTP connections ([`super::smtp`]) and the pace of this process.
pub struct Mailer {
    pool: Pool,
    from: Mailbox,
    settings: MailSettings,
    next_slot: Mutex<tokio::time::Instant>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The transport of `settings`. The error never quotes the URL.
    pub fn new(settings: MailSettings) -> Result<Mailer, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|_| format!("smtp.from is not an e-mail address: {}", settings.from))?;
        let pool = Pool::new(&settings.url, settings.connections, settings.timeout)?;
        Ok(Mailer {
            pool,
            from,
            settings,
            next_slot: Mutex::new(tokio::time::Instant::now()),
        })
    }

    /// The settings it sends with.
    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    /// Closes the idle connections (`QUIT`), when a run is over.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Waits for this process's next sending slot (`rate_per_second`).
    async fn pace(&self) {
        let Some(rate) = self.settings.rate_per_second.filter(|r| *r > 0) else {
            return;
        };
        let at = {
            let mut next = self.next_slot.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + Duration::from_secs(1) / rate;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Sends one message; the outcome as the send log records it.
    async fn send(&self, msg: Message, attempts: i64, rendered: &Rendered) -> Outcome {
        self.pace().await;
        match self.pool.send(msg.envelope(), &msg.formatted()).await {
            Ok(r) => Outcome::Sent {
                reply: format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" ")),
                subject: rendered.subject.clone(),
            },
            Err(Failure::Permanent(reply)) => Outcome::Bounced { reply },
            Err(Failure::Temporary(reply)) => {
                let tried = attempts as u32 + 1;
                let retry_at = (tried < self.settings.max_attempts).then(|| {
                    let wait = self.settings.retry_after * 2u32.saturating_pow(tried - 1);
                    Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()
                });
                Outcome::Retry { reply, retry_at }
            }
        }
    }
}

/// The Message-ID of a campaign's message to a recipient: the same for
/// every attempt, so that a copy re-sent after a crash is recognisably the
/// same message.
pub fn message_id(campaign: CampaignId, recipient: i64, from: &Mailbox) -> String {
    let digest = Sha256::digest(format!("neuracrm-campaign:{campaign}:{recipient}"));
    let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("<c{campaign}.r{recipient}.{tag}@{}>", from.email.domain())
}

fn build(
    from: &Mailbox,
    to: &str,
    name: &str,
    rendered: &Rendered,
    id: String,
    unsubscribe: Option<&str>,
) -> Result<Message, String> {
    let to: Mailbox = Mailbox::new(
        (!name.is_empty()).then(|| name.to_string()),
        to.parse().map_err(|_| format!("{to} is not an address"))?,
    );
    let mut msg = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject.clone())
        .message_id(Some(id))
        .multipart(MultiPart::alternative_plain_html(
            rendered.text.clone(),
            rendered.html.clone(),
        ))
        .map_err(|e| e.to_string())?;
    if let Some(url) = unsubscribe {
        let h = msg.headers_mut();
        h.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>, <mailto:{}?subject=unsubscribe>", from.email),
        ));
        h.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ));
    }
    Ok(msg)
}

/// The mailer, or a clear refusal when no SMTP server is configured.
fn mailer(crm: &Crm) -> ActionResult<&Arc<Mailer>> {
    crm.mailer.as_ref().ok_or_else(|| ActionError::Conflict {
        field: "smtp".into(),
        message: "no SMTP server is configured (set smtp.url)".into(),
    })
}

/// Mails a template, rendered for one of the organization's contacts or
/// leads, to `to` (admins and managers). Returns the server's reply.
pub async fn send_test(
    crm: &Crm,
    caller: &Caller,
    id: EmailTemplateId,
    sample: Sample,
    to: &Email,
) -> ActionResult<String> {
    caller.require(Access::Managers)?;
    let rendered = super::preview(crm, caller, id, sample).await?;
    let mailer = mailer(crm)?;
    let mid = format!(
        "<test.t{id}.{}@{}>",
        Utc::now().timestamp_micros(),
        mailer.from.email.domain()
    );
    let msg = build(&mailer.from, to.as_str(), "", &rendered, mid, None)
        .map_err(|m| ActionError::invalid("to", m))?;
    match mailer
        .send(msg, i64::from(mailer.settings.max_attempts), &rendered)
        .await
    {
        Outcome::Sent { reply, .. } => Ok(reply),
        Outcome::Bounced { reply } | Outcome::Retry { reply, .. } => Err(ActionError::Invalid {
            field: "to".into(),
            message: format!("the SMTP server refused the message: {reply}"),
        }),
    }
}

/// What a run of [`process`] did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Scheduled campaigns it started (their recipients frozen).
    pub started: Vec<i64>,
    /// Campaigns it completed.
    pub completed: Vec<i64>,
    /// Messages the server accepted.
    pub sent: u64,
    /// Temporary failures to be retried.
    pub retried: u64,
    /// Recipients given up after the last attempt.
    pub failed: u64,
    /// Recipients refused for good (and suppressed).
    pub bounced: u64,
    /// Rows taken over from a sender that died mid-send (sent again with the
    /// same Message-ID).
    pub in_doubt: u64,
    /// Campaigns left for later: retries not yet due, or the hourly limit.
    pub waiting: Vec<i64>,
}

/// Told of each batch, for a progress bar.
pub trait Progress: Send + Sync {
    /// A batch of `campaign` was recorded: `done` of `total` rows have ended.
    fn batch(&self, campaign: CampaignId, done: u64, total: u64);
}

impl Progress for () {
    fn batch(&self, _: CampaignId, _: u64, _: u64) {}
}

/// Starts the due scheduled campaigns (of `org`, or of every organization)
/// and sends every sending campaign until it has no recipient left that is
/// due now, or until it is paused or cancelled.
pub async fn process(
    crm: &Crm,
    org: Option<OrgId>,
    progress: &dyn Progress,
) -> ActionResult<Report> {
    let mailer = mailer(crm)?.clone();
    let store = crm.store.campaigns();
    let mut report = Report::default();
    for (o, id) in store.due(org, Utc::now()).await? {
        let Some(c) = store.start(o, id).await? else {
            continue;
        };
        if c.status == CampaignStatus::Failed {
            tracing::warn!(organization = %o, campaign = %id, reason = c.error.as_deref().unwrap_or_default(), "campaign failed to start");
        } else {
            tracing::info!(organization = %o, campaign = %id, "campaign started: recipients frozen");
            report.started.push(id.0);
        }
        crm.publish(
            o,
            EventKind::CampaignStatusChanged {
                id,
                status: c.status,
            },
        );
    }
    for (o, id) in store.sending(org).await? {
        send_campaign(crm, &mailer, o, id, progress, &mut report).await?;
    }
    Ok(report)
}

async fn send_campaign(
    crm: &Crm,
    mailer: &Mailer,
    org: OrgId,
    id: CampaignId,
    progress: &dyn Progress,
    report: &mut Report,
) -> ActionResult<()> {
    let store = crm.store.campaigns();
    let campaign = store.get(org, id).await?;
    let template = store.template(org, campaign.template_id).await?;
    let compiled = match Compiled::new(&template.as_new()) {
        Ok(c) => c,
        Err(e) => {
            // Saved templates compile; one that no longer does fails the campaign.
            store.fail(org, id, &e.to_string()).await?;
            crm.publish(
                org,
                EventKind::CampaignStatusChanged {
                    id,
                    status: CampaignStatus::Failed,
                },
            );
            return Ok(());
        }
    };
    let s = &mailer.settings;
    let batch = (s.connections.max(1) * 4).min(200);
    let mut announced: Option<std::time::Instant> = None;
    loop {
        // A pause or a cancellation takes effect before the next batch.
        if store.status(org, id).await? != CampaignStatus::Sending {
            return Ok(());
        }
        let mut n = batch;
        if let Some(limit) = s.hourly_limit {
            let sent = store
                .sent_since(org, Utc::now() - chrono::Duration::hours(1))
                .await?;
            n = n.min((limit as i64 - sent).max(0) as u32);
            if n == 0 {
                report.waiting.push(id.0);
                return Ok(());
            }
        }
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(s.lease).unwrap_or_default();
        let claimed = store.claim(org, id, n, now, lease_until).await?;
        if claimed.is_empty() {
            match store.complete_if_done(org, id).await? {
                Ok(()) => {
                    tracing::info!(organization = %org, campaign = %id, "campaign completed");
                    crm.publish(
                        org,
                        EventKind::CampaignStatusChanged {
                            id,
                            status: CampaignStatus::Completed,
                        },
                    );
                    report.completed.push(id.0);
                }
                Err(_) => report.waiting.push(id.0),
            }
            return Ok(());
        }
        let doubt: Vec<i64> = claimed
            .iter()
            .filter(|f| f.in_doubt)
            .map(|f| f.recipient_id)
            .collect();
        if !doubt.is_empty() {
            tracing::warn!(
                organization = %org, campaign = %id, recipients = ?doubt,
                "taking over recipients whose sender died mid-send: in doubt, sent again with the same Message-ID"
            );
            report.in_doubt += doubt.len() as u64;
        }
        // Each message's outcome is committed before its connection takes
        // the next one, so at a kill at most `connections` messages are sent
        // and not yet recorded. Outcomes that arrive together share a commit.
        let recorder = Recorder::default();
        let outcomes: Vec<ActionResult<Outcome>> = futures_util::stream::iter(claimed)
            .map(|f| async {
                let (rid, o) = send_recipient(mailer, crm.links.as_deref(), id, &compiled, f).await;
                recorder.record(crm, org, rid, o.clone()).await.map(|()| o)
            })
            .buffer_unordered(s.connections.max(1) as usize)
            .collect()
            .await;
        for o in outcomes {
            match o? {
                Outcome::Sent { .. } => report.sent += 1,
                Outcome::Bounced { .. } => report.bounced += 1,
                Outcome::Retry {
                    retry_at: Some(_), ..
                } => report.retried += 1,
                Outcome::Retry { retry_at: None, .. } => report.failed += 1,
            }
        }
        // The counts (one aggregate over the campaign's rows) for the
        // progress bar and the live pages, at most once a second.
        if announced.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
            announced = Some(std::time::Instant::now());
            let stats = store.stats(org, id).await?;
            let total = stats.total as u64;
            let done = total - (stats.pending + stats.sending) as u64;
            progress.batch(id, done, total);
            crm.publish(org, EventKind::CampaignProgress { id, done, total });
        }
    }
}

/// How often a sending campaign's progress is counted and announced.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Group commit of outcomes: whoever holds the lock commits every outcome
/// queued so far; a caller returns once its own outcome is committed.
#[derive(Default)]
struct Recorder {
    queue: std::sync::Mutex<Vec<(i64, Outcome)>>,
    commit: Mutex<()>,
}

impl Recorder {
    async fn record(&self, crm: &Crm, org: OrgId, rid: i64, o: Outcome) -> ActionResult<()> {
        self.queue.lock().expect("not poisoned").push((rid, o));
        let _turn = self.commit.lock().await;
        let batch = std::mem::take(&mut *self.queue.lock().expect("not poisoned"));
        if !batch.is_empty() {
            crm.store.campaigns().record(org, &batch).await?;
        }
        Ok(())
    }
}

/// Renders, builds and sends one recipient's message (links tracked, the
/// unsubscribe headers set): the step the batch sender runs for each claimed
/// row, and that the benchmark's one-at-a-time baseline runs alone.
pub async fn send_recipient(
    mailer: &Mailer,
    links: Option<&Links>,
    campaign: CampaignId,
    compiled: &Compiled,
    f: RecipientFacts,
) -> (i64, Outcome) {
    let rid = f.recipient_id;
    let unsubscribe = links.map(|l| l.unsubscribe_url(rid));
    let ctx = Context::of(&f, unsubscribe.clone().unwrap_or_default());
    let rendered = match compiled.render(&ctx) {
        Ok(mut r) => {
            if let Some(l) = links {
                r.html = super::links::track(&r.html, rid, l);
            }
            r
        }
        Err(e) => {
            return (
                rid,
                Outcome::Retry {
                    reply: format!("rendering failed: {e}"),
                    retry_at: None,
                },
            );
        }
    };
    let name = format!(
        "{} {}",
        f.first_name.as_deref().unwrap_or_default(),
        f.last_name.as_deref().unwrap_or_default()
    );
    let to = f.email.as_deref().unwrap_or_default();
    let mid = message_id(campaign, rid, &mailer.from);
    match build(
        &mailer.from,
        to,
        name.trim(),
        &rendered,
        mid,
        unsubscribe.as_deref(),
    ) {
        Ok(msg) => (rid, mailer.send(msg, f.attempts, &rendered).await),
        Err(e) => (rid, Outcome::Bounced { reply: e }),
    }
}

/// When a recipient of `org`'s sending campaigns next becomes claimable (a
/// retry falls due, or a dead sender's lease runs out), if any: the CLI
/// waits for it; the scheduler comes back on its next tick.
pub async fn next_retry(crm: &Crm, org: Option<OrgId>) -> ActionResult<Option<DateTime<Utc>>> {
    Ok(crm.store.campaigns().next_retry(org).await?)
}

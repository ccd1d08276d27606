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
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use neuracrm_domain::{CampaignId, CampaignStatus, Email, EmailTemplateId, EventKind, OrgId};
use neuracrm_store::campaigns::{ClaimAsk, Outcome, RecipientFacts};
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
    let connections = s.connections.max(1) as usize;
    // A claim is a few messages per connection, and the next one is taken
    // while the last rows of this one are sending (the stream below pulls
    // it as soon as a connection is free), so no connection waits for a
    // batch's slowest message. Kept small: a sender killed mid-send leaves
    // the rest of its claim to be taken over as in doubt.
    let batch = (s.connections.max(1) * CLAIM_PER_CONNECTION).min(256);
    // The hourly limit, as an allowance for this run: rows claimed count
    // against it at once (their outcomes are recorded later).
    let allowance = match s.hourly_limit {
        Some(limit) => {
            let sent = store
                .sent_since(org, Utc::now() - chrono::Duration::hours(1))
                .await?;
            Some((i64::from(limit) - sent).max(0) as u64)
        }
        None => None,
    };
    let run = Run {
        crm,
        org,
        id,
        batch,
        lease: s.lease,
        allowance: std::sync::Mutex::new(allowance),
        stop: std::sync::Mutex::new(None),
        gate: Gate::default(),
        in_doubt: AtomicU64::new(0),
        released: std::sync::Mutex::new(Vec::new()),
        after: AtomicI64::new(0),
    };
    let recorder = Recorder::default();
    let (run, recorder, compiled) = (&run, &recorder, &compiled);
    // Announced at most once a second while it sends, and once at the end.
    let mut announced = std::time::Instant::now();
    let mut recorded = false;
    let stop = loop {
        // The claims, one batch after another, as one stream of rows. (Both
        // streams are boxed where they are made, so that their `Send` is
        // proven for this run's lifetime: left to the spawned task that
        // calls `process`, the compiler asks it for every lifetime and fails.)
        let rows: BoxStream<'_, ActionResult<RecipientFacts>> =
            futures_util::stream::unfold(false, move |ended| next_claim(run, ended))
                .flat_map(|batch| {
                    futures_util::stream::iter(match batch {
                        Ok(rows) => rows.into_iter().map(Ok).collect::<Vec<_>>(),
                        Err(e) => vec![Err(e)],
                    })
                })
                .boxed();
        // Each message's outcome is committed before its connection takes
        // the next one, so at a kill at most `connections` messages are sent
        // and not yet recorded. Outcomes that arrive together share a commit.
        let mut outcomes: BoxStream<'_, ActionResult<Option<Outcome>>> = rows
            .map(move |row| deliver(run, mailer, recorder, compiled, row))
            .buffer_unordered(connections)
            .boxed();
        let mut delivered = 0u64;
        while let Some(o) = outcomes.next().await {
            match o? {
                None => continue,
                Some(Outcome::Sent { .. }) => report.sent += 1,
                Some(Outcome::Bounced { .. }) => report.bounced += 1,
                Some(Outcome::Retry {
                    retry_at: Some(_), ..
                }) => report.retried += 1,
                Some(Outcome::Retry { retry_at: None, .. }) => report.failed += 1,
            }
            delivered += 1;
            recorded = true;
            if announced.elapsed() >= PROGRESS_EVERY {
                announced = std::time::Instant::now();
                announce(crm, progress, org, id).await?;
            }
        }
        let stop = run.stop.lock().expect("not poisoned").take();
        run.after.store(0, Ordering::Relaxed);
        // The last claim came back empty while messages were still on the
        // wire, and one of them may have come due again (a retry without a
        // wait): claim once more. A pass that sends nothing is the end.
        if stop != Some(Stop::Drained) || delivered == 0 {
            break stop;
        }
    };
    report.in_doubt += run.in_doubt.load(Ordering::Relaxed);
    let released = std::mem::take(&mut *run.released.lock().expect("not poisoned"));
    store.release(org, &released).await?;
    if recorded {
        announce(crm, progress, org, id).await?;
    }
    match stop {
        Some(Stop::Drained) => match store.complete_if_done(org, id).await? {
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
        },
        Some(Stop::Limit) => report.waiting.push(id.0),
        Some(Stop::NotSending) | None => {}
    }
    Ok(())
}

/// The next claim of a run, as `stream::unfold` wants it (`ended`: the
/// last one failed).
fn next_claim<'a>(
    run: &'a Run<'a>,
    ended: bool,
) -> BoxFuture<'a, Option<(ActionResult<Vec<RecipientFacts>>, bool)>> {
    async move {
        if ended {
            return None;
        }
        match run.claim().await {
            Ok(Some(rows)) => Some((Ok(rows), false)),
            Ok(None) => None,
            Err(e) => Some((Err(e), true)),
        }
    }
    .boxed()
}

/// Sends one claimed row and records its outcome (`None`: the campaign
/// stopped sending first, and the row goes back).
fn deliver<'a>(
    run: &'a Run<'a>,
    mailer: &'a Mailer,
    recorder: &'a Recorder,
    compiled: &'a Compiled,
    row: ActionResult<RecipientFacts>,
) -> BoxFuture<'a, ActionResult<Option<Outcome>>> {
    async move {
        let f = row?;
        let (crm, org, id) = (run.crm, run.org, run.id);
        // A pause or a cancellation takes effect before the next message
        // (read at most every `GATE_EVERY`): the row goes back.
        if !run.gate.open(crm, org, id, false).await? {
            run.released
                .lock()
                .expect("not poisoned")
                .push(f.recipient_id);
            return Ok(None);
        }
        let (rid, o) = send_recipient(mailer, crm.links.as_deref(), id, compiled, f).await;
        recorder.record(crm, org, rid, o.clone()).await?;
        Ok(Some(o))
    }
    .boxed()
}

/// Rows claimed per connection at a time (16 at once for the default 4
/// connections: 4 times as many measured no faster).
const CLAIM_PER_CONNECTION: u32 = 4;

/// Counts a campaign's rows and tells the progress bar and the live pages.
async fn announce(
    crm: &Crm,
    progress: &dyn Progress,
    org: OrgId,
    id: CampaignId,
) -> ActionResult<()> {
    let (done, total) = crm.store.campaigns().progress(org, id).await?;
    let (done, total) = (done.max(0) as u64, total.max(0) as u64);
    progress.batch(id, done, total);
    crm.publish(org, EventKind::CampaignProgress { id, done, total });
    Ok(())
}

/// Why a run of one campaign stopped claiming.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    /// No row is due now: done, or retries and other senders' rows left.
    Drained,
    /// This run used up the organization's hourly allowance.
    Limit,
    /// Paused, cancelled or ended by someone else.
    NotSending,
}

/// One run over one sending campaign: what its claims share.
struct Run<'a> {
    crm: &'a Crm,
    org: OrgId,
    id: CampaignId,
    batch: u32,
    lease: Duration,
    allowance: std::sync::Mutex<Option<u64>>,
    stop: std::sync::Mutex<Option<Stop>>,
    gate: Gate,
    in_doubt: AtomicU64,
    released: std::sync::Mutex<Vec<i64>>,
    /// The highest row this pass claimed (0: none yet): the next claim
    /// starts after it, and takes over rows whose lease ran out only while
    /// it is 0, before any message of the pass is on the wire (a lease
    /// that ran out since may be the pass's own, still sending).
    after: AtomicI64,
}

impl Run<'_> {
    /// The next batch of rows, or `None` (and why in `stop`) when the
    /// campaign is no longer sending, the allowance is spent or no row is due.
    async fn claim(&self) -> ActionResult<Option<Vec<RecipientFacts>>> {
        let stop = |why| {
            *self.stop.lock().expect("not poisoned") = Some(why);
            Ok(None)
        };
        if !self.gate.open(self.crm, self.org, self.id, true).await? {
            return stop(Stop::NotSending);
        }
        let n = match *self.allowance.lock().expect("not poisoned") {
            Some(left) => (left.min(u64::from(self.batch))) as u32,
            None => self.batch,
        };
        if n == 0 {
            return stop(Stop::Limit);
        }
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(self.lease).unwrap_or_default();
        let after = self.after.load(Ordering::Relaxed);
        let claimed = self
            .crm
            .store
            .campaigns()
            .claim(
                self.org,
                self.id,
                ClaimAsk {
                    n,
                    now,
                    lease_until,
                    take_over: after == 0,
                    after,
                },
            )
            .await?;
        if let Some(last) = claimed.iter().map(|f| f.recipient_id).max() {
            self.after.store(last, Ordering::Relaxed);
        }
        if claimed.is_empty() {
            return stop(Stop::Drained);
        }
        if let Some(left) = self.allowance.lock().expect("not poisoned").as_mut() {
            *left = left.saturating_sub(claimed.len() as u64);
        }
        let doubt: Vec<i64> = claimed
            .iter()
            .filter(|f| f.in_doubt)
            .map(|f| f.recipient_id)
            .collect();
        if !doubt.is_empty() {
            tracing::warn!(
                organization = %self.org, campaign = %self.id, recipients = ?doubt,
                "taking over recipients whose sender died mid-send: in doubt, sent again with the same Message-ID"
            );
            self.in_doubt
                .fetch_add(doubt.len() as u64, Ordering::Relaxed);
        }
        Ok(Some(claimed))
    }
}

/// Whether the campaign is still sending, read again at most every
/// [`GATE_EVERY`] so that a pause or a cancellation takes effect within a
/// second without a read per message.
#[derive(Default)]
struct Gate {
    last: Mutex<Option<(tokio::time::Instant, bool)>>,
}

/// How long a campaign's status, once read, is trusted.
const GATE_EVERY: Duration = Duration::from_millis(250);

impl Gate {
    /// The status as last read, or read again when that is too old (or
    /// `now`). Once seen closed it stays closed for this run.
    async fn open(&self, crm: &Crm, org: OrgId, id: CampaignId, now: bool) -> ActionResult<bool> {
        let mut last = self.last.lock().await;
        if let Some((at, open)) = *last
            && (!open || (!now && at.elapsed() < GATE_EVERY))
        {
            return Ok(open);
        }
        let open = crm.store.campaigns().status(org, id).await? == CampaignStatus::Sending;
        *last = Some((tokio::time::Instant::now(), open));
        Ok(open)
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

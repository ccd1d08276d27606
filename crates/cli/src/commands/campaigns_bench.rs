//! `campaigns bench` (hidden): how fast a large personalised campaign with
//! tracked links goes out, end to end, to an SMTP sink on a local port (run
//! in this process: it speaks SMTP over TCP, counts each message and keeps
//! none), and in the same run the specification's approach on a sample for
//! the ratio.
//!
//! Ours: the campaign over every contact of `--org` (seed them first with
//! `neuracrm seed --orgs 1 --contacts 100000`) is scheduled, frozen and sent
//! by `send::process`, the sender of the CLI and the scheduler, through
//! `smtp.connections` pooled connections; messages/s counts from scheduling
//! to completion, and the peak resident memory (VmHWM) is read at the end of
//! it, before the baseline runs.
//!
//! The specification's approach, on the first `--baseline` of those
//! contacts: one query per recipient for its personalisation, one SMTP
//! connection, one commit per message.
//!
//! It adds a template and two campaigns to the organization: run it on a
//! benchmark database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use neuracrm_actions::Crm;
use neuracrm_actions::campaigns::Compiled;
use neuracrm_actions::campaigns::links::Links;
use neuracrm_actions::campaigns::send::{self, Mailer};
use neuracrm_domain::{
    CampaignId, CampaignStatus, CampaignTarget, ContactId, NewCampaign, NewEmailTemplate, OrgId,
    RecipientStatus,
};
use neuracrm_server::Settings;
use neuracrm_store::{Page, Sql, Store};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::open_store;

#[derive(Debug, Serialize)]
struct Report {
    backend: String,
    connections: u32,
    ours: Speed,
    /// Peak resident memory of the process after our run, MB.
    peak_rss_mb: f64,
    baseline: Speed,
    /// Our messages/s over the baseline's.
    ratio: f64,
    /// Messages the sink received, both runs.
    received: u64,
}

#[derive(Debug, Serialize)]
struct Speed {
    messages: u64,
    seconds: f64,
    messages_per_second: f64,
}

impl Speed {
    fn new(messages: u64, seconds: f64) -> Speed {
        Speed {
            messages,
            seconds,
            messages_per_second: messages as f64 / seconds.max(1e-9),
        }
    }
}

/// A template as a real campaign has: personalised subject and body, the
/// owner's name, two links (tracked) and the unsubscribe link.
const HTML: &str = "<html><body><h1>Hello {{ contact.first_name }},</h1>\
<p>As {{ contact.job_title or 'a leader' }} at {{ contact.company or 'your company' }} \
in {{ contact.industry or 'your industry' }}, you will want to see what is new this quarter.</p>\
<p><a href=\"https://example.com/offer?utm_source=bench\">See the offer</a> or \
<a href=\"https://example.com/book\">book a call with {{ owner.name }}</a>.</p>\
<p>Kind regards,<br>{{ owner.name }}<br>{{ organization.name }}</p>\
<p><small><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></small></p></body></html>";

pub async fn bench(settings: Settings, org: i64, baseline: u32, json: bool) -> Result<()> {
    let store = open_store(&settings).await?;
    let org = super::org_arg(&store, Some(org))
        .await?
        .expect("an organization was named");
    let sink = Sink::start().await?;
    // The configured pool and timeouts, to the sink, unpaced.
    let mut smtp = settings.smtp.clone();
    smtp.url = Some(neuracrm_server::configuration::Secret::new(format!(
        "smtp://127.0.0.1:{}",
        sink.port
    )));
    (smtp.user, smtp.password) = (None, None);
    (smtp.rate_per_second, smtp.hourly_limit_per_org) = (None, None);
    let mail = smtp.mail_settings().expect("a URL was set");
    let connections = mail.connections;
    let crm = crm(
        &store,
        &settings,
        Mailer::new(mail.clone()).map_err(|e| anyhow!(e))?,
    )?;

    let c = store.campaigns();
    let template = c
        .create_template(
            org,
            None,
            &NewEmailTemplate {
                name: "bench".into(),
                subject: "{{ contact.first_name }}, news from {{ organization.name }}".into(),
                html: HTML.into(),
                text: None,
            },
        )
        .await?;
    let campaign = |name: &str, target| NewCampaign {
        name: name.into(),
        template_id: template.id,
        target,
    };
    let all = CampaignTarget::Contacts {
        ids: None,
        filter: None,
    };
    let ours = c.create(org, None, &campaign("bench", all)).await?;

    // Ours: scheduled now, then sent to the end by the sender.
    let started = Instant::now();
    schedule(&store, org, ours.id).await?;
    let mut sent = 0;
    loop {
        let r = send::process(&crm, Some(org), &())
            .await
            .map_err(|e| anyhow!(e.to_string()))?;
        sent += r.sent;
        if r.completed.contains(&ours.id.0) {
            break;
        }
        if r.waiting.is_empty() && r.sent == 0 {
            bail!("the campaign stopped before completing: {r:?}");
        }
    }
    let ours_speed = Speed::new(sent, started.elapsed().as_secs_f64());
    let peak_rss_mb = peak_rss_mb();
    if sent == 0 {
        bail!(
            "no contact of organization {} has an address: seed some first",
            org.0
        );
    }

    // The specification's approach on a sample of the same contacts.
    let ids: Vec<ContactId> = first_contacts(&store, org, baseline).await?;
    let target = CampaignTarget::Contacts {
        ids: Some(ids),
        filter: None,
    };
    let spec = c
        .create(org, None, &campaign("bench baseline", target))
        .await?;
    schedule(&store, org, spec.id).await?;
    c.start(org, spec.id).await?;
    let one = {
        let mut m = mail;
        m.connections = 1;
        Mailer::new(m).map_err(|e| anyhow!(e))?
    };
    let started = Instant::now();
    let sent = one_at_a_time(
        &crm,
        &one,
        org,
        spec.id,
        &Compiled::new(&template.as_new())?,
    )
    .await?;
    let base_speed = Speed::new(sent, started.elapsed().as_secs_f64());

    let report = Report {
        backend: format!("{:?}", store.db().backend()),
        connections,
        ratio: ours_speed.messages_per_second / base_speed.messages_per_second.max(1e-9),
        ours: ours_speed,
        peak_rss_mb,
        baseline: base_speed,
        received: sink.received.load(Ordering::Relaxed),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}: {} messages in {:.1} s = {:.0} msg/s over {} connections, peak RSS {:.0} MB; \
             the specification's approach (a query, one connection, a commit per message): \
             {} in {:.1} s = {:.0} msg/s; ratio {:.1}x",
            report.backend,
            report.ours.messages,
            report.ours.seconds,
            report.ours.messages_per_second,
            report.connections,
            report.peak_rss_mb,
            report.baseline.messages,
            report.baseline.seconds,
            report.baseline.messages_per_second,
            report.ratio
        );
    }
    Ok(())
}

fn crm(store: &Store, settings: &Settings, mailer: Mailer) -> Result<Crm> {
    let events = Arc::new(neuracrm_events::BroadcastBus::default());
    let intent = neuracrm_jobs::intent::IntentService::new(None, 0).context("intent service")?;
    let sentiment = neuracrm_jobs::sentiment::SentimentService::new(None);
    let mut crm = Crm::new(store.clone(), events, Arc::new(intent), Arc::new(sentiment));
    crm.mailer = Some(Arc::new(mailer));
    // Links are signed as in production (a bench key when none is set).
    crm.links =
        Some(Arc::new(settings.links().unwrap_or_else(|| {
            Links::new(b"bench", "http://localhost:8000")
        })));
    Ok(crm)
}

async fn schedule(store: &Store, org: OrgId, id: CampaignId) -> Result<()> {
    store
        .campaigns()
        .transition(
            org,
            None,
            id,
            &[CampaignStatus::Draft],
            CampaignStatus::Scheduled,
            Some(chrono::Utc::now()),
        )
        .await?;
    Ok(())
}

async fn first_contacts(store: &Store, org: OrgId, n: u32) -> Result<Vec<ContactId>> {
    let rows: Vec<(i64,)> = store
        .db()
        .fetch_all(
            Sql::new(
                "SELECT id FROM contacts WHERE organization_id = $1 AND email IS NOT NULL \
                 ORDER BY id LIMIT $2",
            )
            .arg(org)
            .arg(i64::from(n.max(1))),
        )
        .await?;
    Ok(rows.into_iter().map(|(i,)| ContactId(i)).collect())
}

/// The specification's loop: for each recipient, one query for what it is
/// personalised with, the message over the one connection, one commit.
async fn one_at_a_time(
    crm: &Crm,
    mailer: &Mailer,
    org: OrgId,
    id: CampaignId,
    compiled: &Compiled,
) -> Result<u64> {
    let c = crm.store.campaigns();
    let mut rows = Vec::new();
    let mut page = Page::parse(Some(200), Some(0)).map_err(|e| anyhow!(e.to_string()))?;
    loop {
        let p = c
            .recipients(org, id, Some(RecipientStatus::Pending), page)
            .await?;
        rows.extend(p.items.iter().map(|r| (r.id.0, r.record_id)));
        if !p.has_more {
            break;
        }
        page.offset += u64::from(page.limit);
    }
    // The rows are ours alone: `record` takes rows that are being sent.
    crm.store
        .db()
        .execute(
            Sql::new("UPDATE campaign_recipients SET status = 'sending' WHERE campaign_id = $1")
                .arg(id.0),
        )
        .await?;
    let mut sent = 0;
    for (rid, contact) in rows {
        let mut facts = c.facts_of(org, "contact", contact).await?;
        facts.recipient_id = rid;
        let (_, outcome) =
            send::send_recipient(mailer, crm.links.as_deref(), id, compiled, facts).await;
        if matches!(outcome, neuracrm_store::campaigns::Outcome::Sent { .. }) {
            sent += 1;
        }
        c.record(org, &[(rid, outcome)]).await?;
    }
    Ok(sent)
}

/// The process's peak resident memory (Linux `VmHWM`), MB; 0 elsewhere.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An SMTP server on a free local port that accepts every message, counts
/// it and keeps nothing.
struct Sink {
    port: u16,
    received: Arc<AtomicU64>,
}

impl Sink {
    async fn start() -> Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let _ = converse(socket, &count).await;
                });
            }
        });
        Ok(Sink { port, received })
    }
}

async fn converse(socket: tokio::net::TcpStream, count: &AtomicU64) -> std::io::Result<()> {
    let (r, mut w) = socket.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = Vec::new();
    let mut in_data = false;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if in_data {
            if line == b".\r\n" {
                in_data = false;
                count.fetch_add(1, Ordering::Relaxed);
                w.write_all(b"250 2.0.0 OK queued\r\n").await?;
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let answer: &[u8] = match &verb[..] {
            b"EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            b"DATA" => {
                in_data = true;
                b"354 go ahead\r\n"
            }
            b"QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 OK\r\n",
        };
        w.write_all(answer).await?;
    }
}

//! `campaigns process`: the sender of the scheduler, run once until the due
//! campaigns are done (the same action, `neuracrm_actions::campaigns::send::process`).

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use neuracrm_actions::Crm;
use neuracrm_actions::campaigns::send::{self, Mailer, Progress, Report};
use neuracrm_domain::CampaignId;
use neuracrm_server::Settings;

use super::open_store;
use crate::cli::ProcessArgs;

/// A progress bar over the campaign being sent (hidden when stderr is not
/// a terminal).
struct Bar(ProgressBar);

impl Progress for Bar {
    fn batch(&self, campaign: CampaignId, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
        self.0.set_message(format!("campaign {campaign}"));
    }
}

pub async fn process(settings: Settings, a: ProcessArgs) -> Result<()> {
    let store = open_store(&settings).await?;
    let org = super::org_arg(&store, a.org).await?;
    let mail = settings.smtp.mail_settings().ok_or_else(|| {
        anyhow!("no SMTP server is configured: set smtp.url (NEURACRM_SMTP__URL)")
    })?;
    let mailer = Mailer::new(mail).map_err(|e| anyhow!(e))?;
    let events = Arc::new(neuracrm_events::BroadcastBus::default());
    let intent = neuracrm_jobs::intent::IntentService::new(None, 0).context("intent service")?;
    let sentiment = neuracrm_jobs::sentiment::SentimentService::new(None);
    let mut crm = Crm::new(store, events, Arc::new(intent), Arc::new(sentiment));
    crm.mailer = Some(Arc::new(mailer));
    // The same signer as the servers', so their unsubscribe links verify.
    crm.links = Some(Arc::new(settings.links().ok_or_else(|| {
        anyhow!(
            "no JWT secret configured: set NEURACRM_JWT_SECRET (it signs the unsubscribe links)"
        )
    })?));

    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} recipients ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let bar = Bar(bar);
    let mut total = Report::default();
    // Until nothing is due: a run that leaves retries waits for the first.
    loop {
        let r = send::process(&crm, org, &bar)
            .await
            .map_err(|e| anyhow!(e.to_string()))?;
        let waiting = !r.waiting.is_empty();
        merge(&mut total, r);
        if !waiting {
            break;
        }
        match send::next_retry(&crm, org)
            .await
            .map_err(|e| anyhow!(e.to_string()))?
        {
            Some(at) => {
                let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
            // Held back by the hourly limit: later runs go on.
            None => break,
        }
    }
    bar.0.finish_and_clear();
    if let Some(m) = &crm.mailer {
        m.close().await;
    }
    if a.json {
        println!("{}", serde_json::to_string(&total)?);
    } else {
        println!(
            "started {} campaigns, completed {}: {} sent, {} retried, {} failed, {} bounced, {} in doubt (taken over from a sender that died)",
            total.started.len(),
            total.completed.len(),
            total.sent,
            total.retried,
            total.failed,
            total.bounced,
            total.in_doubt
        );
    }
    Ok(())
}

fn merge(total: &mut Report, r: Report) {
    total.started.extend(r.started);
    total.completed.extend(r.completed);
    total.sent += r.sent;
    total.retried += r.retried;
    total.failed += r.failed;
    total.bounced += r.bounced;
    total.in_doubt += r.in_doubt;
    total.waiting = r.waiting;
}

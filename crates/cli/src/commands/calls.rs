//! `calls sync`: the scheduler's look-up of calls whose webhooks never came
//! and retry of call events whose effects failed, run once (the same
//! action, `neuracrm_actions::voice::webhook::sync`).

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use neuracrm_actions::Crm;
use neuracrm_actions::voice::VoiceService;
use neuracrm_server::Settings;

use super::open_store;

pub async fn sync(
    settings: Settings,
    grace_secs: Option<u64>,
    limit: usize,
    json: bool,
) -> Result<()> {
    let store = open_store(&settings).await?;
    let options = settings.voice_options().ok_or_else(|| {
        anyhow!("no JWT secret configured: set NEURACRM_JWT_SECRET (organizations' Retell keys are sealed with a key derived from it)")
    })?;
    let voice = VoiceService::new(options).map_err(|e| anyhow!("retell: {e}"))?;
    let events = Arc::new(neuracrm_events::BroadcastBus::default());
    let intent = neuracrm_jobs::intent::IntentService::new(settings.llm.clone(), 0)
        .context("intent service")?;
    let sentiment =
        neuracrm_jobs::sentiment::SentimentService::new(settings.sentiment_model.clone());
    let mut crm = Crm::new(store, events, Arc::new(intent), Arc::new(sentiment));
    crm.voice = Some(Arc::new(voice));
    let grace =
        chrono::Duration::seconds(grace_secs.unwrap_or(settings.retell.sync_grace_secs) as i64);
    let report =
        neuracrm_actions::voice::webhook::sync(&crm, chrono::Utc::now(), grace, limit.max(1))
            .await
            .map_err(|e| anyhow!(e.to_string()))?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} overdue calls asked about: {} events applied ({} with effects queued), {} that Retell could not tell us about",
            report.checked, report.applied, report.queued, report.failed
        );
        println!(
            "earlier call events' effects retried: {} done, {} failed again",
            report.retried.done, report.retried.failed
        );
    }
    Ok(())
}

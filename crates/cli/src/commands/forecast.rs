//! `forecast run` and `forecast cleanup` (the forecast cycle, also run daily
//! by `serve`), and `forecast eval`, the engine's hold-out benchmark harness.

use anyhow::{Context, Result, bail};
use neuracrm_domain::OrgId;
use neuracrm_events::BroadcastBus;
use neuracrm_forecast::eval::{EvalOptions, run_eval};
use neuracrm_jobs::forecasting::{CycleOptions, ModelStatus, cleanup, run_cycle};
use neuracrm_server::Settings;

use super::open_store;
use crate::cli::ForecastCommand;

pub async fn run(cmd: ForecastCommand, settings: Settings) -> Result<()> {
    match cmd {
        ForecastCommand::Run { org, json } => {
            let store = open_store(&settings).await?;
            // No subscriber in this process: `forecast_updated` reaches the
            // servers' caches once the bus fans out across processes.
            let bus = BroadcastBus::default();
            let opts = CycleOptions {
                org: org.map(OrgId),
                ..CycleOptions::default()
            };
            let summary = run_cycle(&store, &bus, &opts)
                .await
                .context("running the forecast cycle")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "forecast cycle: {} ({:.1} s)",
                    summary.line(),
                    summary.seconds
                );
                for m in &summary.models {
                    let detail = match m.status {
                        ModelStatus::Stored => format!(
                            "{} months from {}, best single model {}",
                            m.periods,
                            m.origin.as_deref().unwrap_or("?"),
                            m.best_model.as_deref().unwrap_or("?")
                        ),
                        _ => m.message.clone().unwrap_or_default(),
                    };
                    println!(
                        "  org {:<4} model {:<4} {:<40} {:<21} {}",
                        m.organization_id,
                        m.model_id,
                        m.name,
                        m.status.as_str(),
                        detail
                    );
                }
            }
            for e in &summary.errors {
                eprintln!("  {e}");
            }
            let failed = summary.count(ModelStatus::Failed);
            if !summary.errors.is_empty() {
                bail!("{} organizations could not be read", summary.errors.len());
            }
            if failed > 0 {
                bail!(
                    "{failed} of {} forecasting models failed (see the summary)",
                    summary.models.len()
                );
            }
        }
        ForecastCommand::Cleanup { days, org, json } => {
            let store = open_store(&settings).await?;
            let deleted = cleanup(&store, org.map(OrgId), days, chrono::Utc::now())
                .await
                .context("deleting old forecast results")?;
            if json {
                println!("{}", serde_json::json!({ "deleted": deleted }));
            } else {
                println!("deleted {deleted} forecast results older than {days} days");
            }
        }
        ForecastCommand::Eval {
            csv,
            h,
            models,
            every,
            threads,
            json,
        } => {
            if h == 0 || every == 0 || threads == 0 {
                bail!("--h, --every and --threads must be at least 1");
            }
            let opts = EvalOptions {
                path: csv.clone(),
                h,
                models: models
                    .split(',')
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .collect(),
                every,
                threads,
                ..EvalOptions::default()
            };
            let report =
                run_eval(&opts).with_context(|| format!("evaluating {}", csv.display()))?;
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{report}");
            }
        }
    }
    Ok(())
}

//! One module per command.

mod backup;
mod calls;
mod campaigns;
mod campaigns_bench;
mod forecast;
mod score;
mod score_bench;
mod seed;
mod segments;
mod sentiment;
mod serve;

use anyhow::{Context, Result};
use neuracrm_server::Settings;
use neuracrm_store::{ConnectOptions, Store};

use crate::cli::{Cli, Command};

/// Runs the chosen command.
pub async fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(&cli.config, &cli.common)?;
    crate::telemetry::init(&settings.log);
    match cli.command {
        Command::Sentiment(crate::cli::SentimentCommand::Backfill { org, chunk, json }) => {
            sentiment::backfill(settings, org, chunk, json).await
        }
        Command::Sentiment(cmd) => sentiment::run(cmd),
        Command::Forecast(cmd) => forecast::run(cmd, settings).await,
        Command::Serve => serve::serve(settings).await,
        Command::Demo => serve::demo(settings, cli.common.database_url.is_some()).await,
        Command::Migrate => {
            open_store(&settings).await?;
            println!(
                "migrations applied to {}",
                neuracrm_store::db::redact_url(&settings.database_url)
            );
            Ok(())
        }
        Command::Backup(args) => backup::backup(settings, args).await,
        Command::Seed(args) => seed::seed(settings, args).await,
        Command::Campaigns(crate::cli::CampaignsCommand::Process(args)) => {
            campaigns::process(settings, args).await
        }
        Command::Calls(crate::cli::CallsCommand::Sync {
            grace_secs,
            limit,
            json,
        }) => calls::sync(settings, grace_secs, limit, json).await,
        Command::Campaigns(crate::cli::CampaignsCommand::Bench {
            org,
            baseline,
            json,
        }) => campaigns_bench::bench(settings, org, baseline, json).await,
        Command::Score(args) => score::score(settings, args).await,
        Command::ScoreBench(args) => score_bench::bench(settings, args).await,
        Command::Segments(crate::cli::SegmentsCommand::Update { org, json }) => {
            segments::update(settings, org, json).await
        }
        Command::Segments(crate::cli::SegmentsCommand::Bench {
            org,
            sample,
            baseline_rules,
            empty_create,
            json,
        }) => {
            let how = segments::BenchHow {
                sample,
                baseline_rules,
                empty_create,
            };
            segments::bench(settings, org, how, json).await
        }
    }
}

/// Checks that `--org` names an organization (the error names the flag).
pub async fn check_org(store: &Store, org: Option<neuracrm_domain::OrgId>) -> Result<()> {
    org_arg(store, org.map(|o| o.0)).await.map(|_| ())
}

/// The organization of `--org`, checked to exist (every one when absent).
pub async fn org_arg(store: &Store, org: Option<i64>) -> Result<Option<neuracrm_domain::OrgId>> {
    let Some(o) = org.map(neuracrm_domain::OrgId) else {
        return Ok(None);
    };
    store
        .organizations()
        .get(o)
        .await
        .with_context(|| format!("--org {}", o.0))?;
    Ok(Some(o))
}

/// Opens (and migrates) the configured database with a message that names it.
pub async fn open_store(settings: &Settings) -> Result<Store> {
    let opts = ConnectOptions {
        max_connections: settings.db_max_connections,
        ..Default::default()
    };
    Store::open(&settings.database_url, &opts)
        .await
        .with_context(|| {
            format!(
                "opening {}",
                neuracrm_store::db::redact_url(&settings.database_url)
            )
        })
}

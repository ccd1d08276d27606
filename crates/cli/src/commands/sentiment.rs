//! `sentiment score | train | eval | analyze`: glue over `neuracrm-sentiment`;
//! `sentiment backfill`: glue over `neuracrm_jobs::sentiment::backfill`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use neuracrm_sentiment::{
    Analyzer, SentimentIntensityAnalyzer, SentimentModel, TrainOptions, evaluate_csv, score_csv,
    train_csv,
};

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use neuracrm_domain::OrgId;
use neuracrm_jobs::JobError;
use neuracrm_jobs::sentiment::{BackfillOptions, SentimentService, backfill as run_backfill};
use neuracrm_server::Settings;
use neuracrm_store::StoreError;

use super::open_store;
use crate::cli::SentimentCommand;

fn open(path: &Path) -> Result<BufReader<File>> {
    Ok(BufReader::new(
        File::open(path).with_context(|| format!("opening {}", path.display()))?,
    ))
}

fn load_model(path: Option<&Path>) -> Result<Option<SentimentModel>> {
    path.map(|p| SentimentModel::load(p).with_context(|| format!("loading model {}", p.display())))
        .transpose()
}

pub fn run(cmd: SentimentCommand) -> Result<()> {
    match cmd {
        SentimentCommand::Score { csv, column } => {
            let vader = SentimentIntensityAnalyzer::new();
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            score_csv(&vader, open(&csv)?, &column, &mut out)
                .with_context(|| format!("scoring {}", csv.display()))?;
            out.flush()?;
        }
        SentimentCommand::Train {
            csv,
            out,
            algorithm,
            json,
        } => {
            let options = TrainOptions {
                algorithm: algorithm.parse().context("--algorithm")?,
                ..Default::default()
            };
            let (model, report) = train_csv(open(&csv)?, &options)
                .with_context(|| format!("training on {}", csv.display()))?;
            model
                .save(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
                println!("model written to {}", out.display());
            }
        }
        SentimentCommand::Eval { csv, model, json } => {
            let vader = SentimentIntensityAnalyzer::new();
            let model = load_model(model.as_deref())?;
            let report = evaluate_csv(open(&csv)?, &vader, model.as_ref())
                .with_context(|| format!("evaluating {}", csv.display()))?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!("{report}");
            }
        }
        SentimentCommand::Analyze { text, model } => {
            let analysis = Analyzer::with_model(load_model(model.as_deref())?).analyze(&text);
            println!("{}", serde_json::to_string_pretty(&analysis)?);
        }
        SentimentCommand::Backfill { .. } => {
            anyhow::bail!("`sentiment backfill` runs through `backfill`, not `run`")
        }
    }
    Ok(())
}

/// `sentiment backfill [--org ID] [--chunk N] [--json]`.
pub async fn backfill(settings: Settings, org: Option<i64>, chunk: u32, json: bool) -> Result<()> {
    if chunk == 0 {
        anyhow::bail!("--chunk must be at least 1");
    }
    let store = open_store(&settings).await?;
    let service = SentimentService::new(settings.sentiment_model.clone());
    let opts = BackfillOptions {
        org: org.map(OrgId),
        chunk,
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} {pos} activities read ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let summary = run_backfill(&store, &service, &opts, |n| bar.inc(n))
        .await
        .map_err(|e| match (&e, org) {
            (JobError::Store(StoreError::NotFound { .. }), Some(id)) => {
                anyhow::anyhow!("organization {id} not found")
            }
            _ => anyhow::Error::new(e).context("sentiment backfill"),
        })?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    let c = &summary.counts;
    println!(
        "analysed {} activities in {} organizations (negative {}, neutral {}, positive {}), \
         {} without text, {} failed, in {:.1} s ({:.0} activities/s)",
        c.analyzed,
        summary.organizations,
        c.negative,
        c.neutral,
        c.positive,
        c.skipped,
        summary.failed,
        summary.seconds,
        c.analyzed as f64 / summary.seconds.max(1e-9)
    );
    Ok(())
}

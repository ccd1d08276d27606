//! `sentiment score | train | eval | analyze`: glue over `neuracrm-sentiment`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use neuracrm_sentiment::{
    Analyzer, SentimentIntensityAnalyzer, SentimentModel, TrainOptions, evaluate_csv, score_csv,
    train_csv,
};

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
    }
    Ok(())
}

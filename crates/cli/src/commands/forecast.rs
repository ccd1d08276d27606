//! `forecast eval`: the forecasting engine's hold-out benchmark harness.

use anyhow::{Context, Result, bail};
use neuracrm_forecast::eval::{EvalOptions, run_eval};

use crate::cli::ForecastCommand;

pub fn run(cmd: ForecastCommand) -> Result<()> {
    match cmd {
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

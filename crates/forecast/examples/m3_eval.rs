//! Hold-out evaluation on a `series_id,date,value` CSV, until the CLI wires it in.
//!
//! ```text
//! cargo run --release -p neuracrm-forecast --example m3_eval -- \
//!     /work/shared/data/m3_monthly.csv --h 18 --every 7 --models ensemble,ets,theta
//! ```
//! Flags: `--h N`, `--every K`, `--threads T`, `--models a,b,c`, `--json`.

use neuracrm_forecast::eval::{EvalOptions, run_eval};

fn main() {
    let mut opts = EvalOptions {
        models: [
            "ensemble",
            "auto_arima",
            "ets",
            "theta",
            "regression",
            "prophet",
            "seasonal_naive",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        ..EvalOptions::default()
    };
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |flag: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{flag} needs a value");
                std::process::exit(2)
            })
        };
        let number = |flag: &str, v: String| -> usize {
            v.parse().unwrap_or_else(|_| {
                eprintln!("{flag}: {v:?} is not a number");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--h" => opts.h = number("--h", value("--h")),
            "--every" => opts.every = number("--every", value("--every")),
            "--threads" => opts.threads = number("--threads", value("--threads")),
            "--models" => {
                opts.models = value("--models")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect()
            }
            "--json" => json = true,
            _ => opts.path = a.into(),
        }
    }
    match run_eval(&opts) {
        Ok(report) if json => println!("{}", report.to_json()),
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}

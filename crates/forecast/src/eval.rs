//! Hold-out evaluation harness: the figures behind every accuracy claim.
//!
//! Reads a long-format CSV (`series_id,date,value`), holds out the last `h`
//! points of each series, fits every requested model on the rest and scores
//! the forecasts the way the M3/M4 competitions do (sMAPE, MASE against the
//! in-sample seasonal naive, 95% interval coverage). The peers' Python script
//! uses the same definitions, so the two tables can be compared line by line.
//! A model that errors or returns non-finite values counts as a failure and is
//! scored with the seasonal naive forecast instead, as the peer script does.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::metrics::{coverage, mase, median, smape};
use crate::naive::SeasonalNaive;
use crate::{Forecast, ForecastError, Model, model_by_name};

/// What to evaluate and how.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// CSV file with a header and columns `series_id,date,value`.
    pub path: PathBuf,
    /// Held-out points per series (18 is the official M3 monthly horizon).
    pub h: usize,
    /// Season length (12 for monthly data).
    pub period: usize,
    /// Model names (see [`crate::model_by_name`]).
    pub models: Vec<String>,
    /// Keep every K-th series (sorted by id), for quick deterministic samples.
    pub every: usize,
    /// Worker threads; 1 runs everything on the calling thread.
    pub threads: usize,
    /// Series whose training part would be shorter than this are skipped.
    pub min_train: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            h: 18,
            period: 12,
            models: vec!["ensemble".into()],
            every: 1,
            threads: 1,
            min_train: 24,
        }
    }
}

/// Scores of one model over all evaluated series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelScore {
    /// Model name.
    pub model: String,
    /// Mean over series of the per-series sMAPE (percent).
    pub smape_mean: f64,
    /// Median over series of the per-series sMAPE (percent).
    pub smape_median: f64,
    /// Mean over series of the per-series MASE.
    pub mase_mean: f64,
    /// Share of held-out points inside the 95% interval.
    pub coverage95: f64,
    /// Fit + predict wall time per series, milliseconds.
    pub ms_per_series: f64,
    /// Series where the model failed (scored with seasonal naive instead).
    pub failures: usize,
}

/// The result of [`run_eval`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Number of series evaluated.
    pub series: usize,
    /// Horizon.
    pub h: usize,
    /// One row per model, in the order requested.
    pub models: Vec<ModelScore>,
}

impl EvalReport {
    /// The report as JSON: `{"series", "h", "models": [{"model", "smape_mean", ...}]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "series={} h={}", self.series, self.h)?;
        writeln!(
            f,
            "{:<16} {:>10} {:>12} {:>9} {:>10} {:>13} {:>8}",
            "model", "sMAPE", "sMAPE med", "MASE", "cover95", "ms/series", "failed"
        )?;
        for m in &self.models {
            writeln!(
                f,
                "{:<16} {:>10.3} {:>12.3} {:>9.3} {:>9.1}% {:>13.2} {:>8}",
                m.model,
                m.smape_mean,
                m.smape_median,
                m.mase_mean,
                100.0 * m.coverage95,
                m.ms_per_series,
                m.failures
            )?;
        }
        Ok(())
    }
}

/// Reads a `series_id,date,value` CSV into series sorted by id, each sorted by
/// date (ISO dates sort as strings).
pub fn read_series_csv(path: &std::path::Path) -> Result<Vec<(String, Vec<f64>)>, ForecastError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ForecastError::Io(format!("{}: {e}", path.display())))?;
    parse_series_csv(&text)
}

/// Parses the text of a `series_id,date,value` CSV (see [`read_series_csv`]).
pub fn parse_series_csv(text: &str) -> Result<Vec<(String, Vec<f64>)>, ForecastError> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| l.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(ci), Some(cd), Some(cv)) = (col("series_id"), col("date"), col("value")) else {
        return Err(ForecastError::Parse {
            line: 1,
            message: "the header must name series_id, date and value".into(),
        });
    };
    let mut by_id: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |c: usize| {
            fields.get(c).copied().ok_or_else(|| ForecastError::Parse {
                line: i + 1,
                message: format!("expected {} fields, found {}", cols.len(), fields.len()),
            })
        };
        let value: f64 = get(cv)?.parse().map_err(|_| ForecastError::Parse {
            line: i + 1,
            message: format!("value {:?} is not a number", fields.get(cv)),
        })?;
        by_id
            .entry(get(ci)?.to_string())
            .or_default()
            .push((get(cd)?.to_string(), value));
    }
    Ok(by_id
        .into_iter()
        .map(|(id, mut rows)| {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            (id, rows.into_iter().map(|(_, v)| v).collect())
        })
        .collect())
}

/// Reads the file named in `opts` and evaluates it (see the module doc).
pub fn run_eval(opts: &EvalOptions) -> Result<EvalReport, ForecastError> {
    let all = read_series_csv(&opts.path)?;
    evaluate(&all, opts)
}

/// Evaluates already-loaded series; `opts.path` is ignored.
pub fn evaluate(
    all: &[(String, Vec<f64>)],
    opts: &EvalOptions,
) -> Result<EvalReport, ForecastError> {
    if opts.h == 0 {
        return Err(ForecastError::InvalidArgument(
            "h must be at least 1".into(),
        ));
    }
    let models: Vec<Box<dyn Model>> = opts
        .models
        .iter()
        .map(|n| {
            model_by_name(n)
                .ok_or_else(|| ForecastError::InvalidArgument(format!("unknown model {n:?}")))
        })
        .collect::<Result<_, _>>()?;
    let series: Vec<&Vec<f64>> = all
        .iter()
        .step_by(opts.every.max(1))
        .map(|(_, y)| y)
        .filter(|y| y.len() >= opts.h + opts.min_train.max(1))
        .collect();
    // Per series, per model: (smape, mase, covered points, failed, seconds).
    type Row = Vec<(f64, f64, usize, bool, f64)>;
    let results: Mutex<Vec<(usize, Row)>> = Mutex::new(Vec::with_capacity(series.len()));
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(y) = series.get(i) else { break };
            let row = score_series(y, &models, opts);
            if let Ok(mut r) = results.lock() {
                r.push((i, row));
            }
        }
    };
    if opts.threads <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..opts.threads {
                s.spawn(work);
            }
        });
    }
    let mut results = results.into_inner().unwrap_or_default();
    // Workers finish in any order; sums in series order keep the figures
    // identical whatever the thread count.
    results.sort_by_key(|(i, _)| *i);
    let n = results.len();
    let scores = models
        .iter()
        .enumerate()
        .map(|(k, _)| {
            let col: Vec<_> = results.iter().map(|(_, r)| r[k]).collect();
            let sm: Vec<f64> = col.iter().map(|c| c.0).collect();
            let ms: Vec<f64> = col.iter().map(|c| c.1).collect();
            let covered: usize = col.iter().map(|c| c.2).sum();
            ModelScore {
                // The requested name: "ets_fast" and "ets" are both ETS models.
                model: opts.models[k].clone(),
                smape_mean: sm.iter().sum::<f64>() / n.max(1) as f64,
                smape_median: median(&sm),
                mase_mean: ms.iter().sum::<f64>() / n.max(1) as f64,
                coverage95: covered as f64 / (n * opts.h).max(1) as f64,
                ms_per_series: 1000.0 * col.iter().map(|c| c.4).sum::<f64>() / n.max(1) as f64,
                failures: col.iter().filter(|c| c.3).count(),
            }
        })
        .collect();
    Ok(EvalReport {
        series: n,
        h: opts.h,
        models: scores,
    })
}

fn score_series(
    y: &[f64],
    models: &[Box<dyn Model>],
    opts: &EvalOptions,
) -> Vec<(f64, f64, usize, bool, f64)> {
    let (train, test) = y.split_at(y.len() - opts.h);
    models
        .iter()
        .map(|m| {
            let t0 = Instant::now();
            let fc = m
                .fit(train, opts.period)
                .and_then(|f| f.predict(opts.h, 0.95))
                .ok()
                .filter(|f| usable(f, opts.h));
            let secs = t0.elapsed().as_secs_f64();
            let failed = fc.is_none();
            let fc = fc.or_else(|| {
                SeasonalNaive
                    .fit(train, opts.period)
                    .and_then(|f| f.predict(opts.h, 0.95))
                    .ok()
            });
            match fc {
                Some(f) => {
                    let cov = coverage(test, &f.lower, &f.upper);
                    let covered = (cov * opts.h as f64).round() as usize;
                    (
                        smape(test, &f.mean),
                        mase(train, test, &f.mean, opts.period),
                        covered,
                        failed,
                        secs,
                    )
                }
                None => (200.0, f64::NAN, 0, true, secs),
            }
        })
        .collect()
}

fn usable(f: &Forecast, h: usize) -> bool {
    f.len() == h
        && f.lower.len() == h
        && f.upper.len() == h
        && f.mean
            .iter()
            .chain(&f.lower)
            .chain(&f.upper)
            .all(|v| v.is_finite())
}

//! Measures auto-ARIMA on a monthly CSV (`series_id,date,value`, sorted by date
//! within each series): the last `--h` points of every series are held out, the
//! model is fitted on the rest, single-threaded, and the forecasts are scored.
//!
//! ```text
//! cargo run --release -p neuracrm-forecast --example m3_arima -- \
//!     /work/shared/data/m3_monthly.csv --h 18 --every 7 [--per-series out.csv] [--approx]
//! ```
//!
//! Series selection matches `forecast_peers.py`: sorted by id, every K-th, and
//! only those with at least 24 training points. sMAPE and MASE are computed the
//! same way as there (MASE scaled by the in-sample seasonal-naive error).

use std::collections::BTreeMap;
use std::time::Instant;

use neuracrm_forecast::Model;
use neuracrm_forecast::arima::AutoArima;

fn smape(actual: &[f64], fc: &[f64]) -> f64 {
    let s: f64 = actual
        .iter()
        .zip(fc)
        .map(|(a, f)| {
            let den = a.abs() + f.abs();
            if den == 0.0 {
                0.0
            } else {
                2.0 * (f - a).abs() / den
            }
        })
        .sum();
    100.0 * s / actual.len() as f64
}

fn mase(train: &[f64], actual: &[f64], fc: &[f64], m: usize) -> f64 {
    let m = if train.len() <= m { 1 } else { m };
    let diffs: Vec<f64> = (m..train.len())
        .map(|t| (train[t] - train[t - m]).abs())
        .collect();
    let mut scale = diffs.iter().sum::<f64>() / diffs.len() as f64;
    if !scale.is_finite() || scale == 0.0 {
        let d1: Vec<f64> = train.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        scale = d1.iter().sum::<f64>() / d1.len() as f64;
        if !scale.is_finite() || scale == 0.0 {
            scale = 1.0;
        }
    }
    let mae = actual
        .iter()
        .zip(fc)
        .map(|(a, f)| (a - f).abs())
        .sum::<f64>()
        / actual.len() as f64;
    mae / scale
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: m3_arima <csv> [--h N] [--every K] [--per-series out.csv] [--approx]")?;
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let h: usize = flag("--h").map_or(Ok(18), |v| v.parse())?;
    let every: usize = flag("--every").map_or(Ok(1), |v| v.parse())?;
    let only = flag("--series");
    let per_series = flag("--per-series");
    let model = AutoArima {
        approximation: args.iter().any(|a| a == "--approx"),
        ..AutoArima::default()
    };

    let text = std::fs::read_to_string(path)?;
    let mut series: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let mut it = line.split(',');
        let (Some(id), Some(date), Some(v)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        series
            .entry(id.to_string())
            .or_default()
            .push((date.to_string(), v.parse()?));
    }
    let mut out = String::from("series_id,spec,smape,mase,covered95,ms\n");
    let (mut s_sum, mut m_sum, mut cov, mut cov_n, mut ms_sum, mut count, mut fails) =
        (0.0, 0.0, 0usize, 0usize, 0.0, 0usize, 0usize);
    let mut smapes = Vec::new();
    for (i, (id, mut rows)) in series.into_iter().enumerate() {
        if i % every.max(1) != 0 || only.as_ref().is_some_and(|o| *o != id) {
            continue;
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let y: Vec<f64> = rows.iter().map(|r| r.1).collect();
        if y.len() < h + 24 {
            continue;
        }
        let (train, test) = y.split_at(y.len() - h);
        let t0 = Instant::now();
        let result = model
            .fit(train, 12)
            .and_then(|f| Ok((f.spec(), f.predict(h, 0.95)?)));
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let (spec, fc) = match result {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{id}: {e}");
                fails += 1;
                continue;
            }
        };
        let s = smape(test, &fc.mean);
        let m = mase(train, test, &fc.mean, 12);
        let covered = test
            .iter()
            .zip(fc.lower.iter().zip(&fc.upper))
            .filter(|(a, (l, u))| *a >= *l && *a <= *u)
            .count();
        cov += covered;
        cov_n += test.len();
        s_sum += s;
        m_sum += m;
        ms_sum += ms;
        count += 1;
        smapes.push(s);
        out.push_str(&format!(
            "{id},{spec},{s:.4},{m:.4},{:.4},{ms:.3}\n",
            covered as f64 / test.len() as f64
        ));
        if only.is_some() {
            println!(
                "{id} {spec} smape={s:.3} mase={m:.3}\nmean={:?}\nlower={:?}\nupper={:?}",
                fc.mean, fc.lower, fc.upper
            );
        }
    }
    smapes.sort_by(f64::total_cmp);
    let median = smapes.get(smapes.len() / 2).copied().unwrap_or(f64::NAN);
    println!(
        "series={count} failures={fails} h={h} sMAPE_mean={:.3} sMAPE_median={median:.3} MASE_mean={:.3} coverage95={:.3} ms_per_series={:.2}",
        s_sum / count as f64,
        m_sum / count as f64,
        cov as f64 / cov_n as f64,
        ms_sum / count as f64
    );
    if let Some(p) = per_series {
        std::fs::write(p, out)?;
    }
    Ok(())
}

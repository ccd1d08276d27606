//! Checks the CRM's revenue forecast of demo data against the truth.
//!
//! The demo generator draws each organization's won deals from a known curve
//! (2 % monthly growth times a yearly season) and stores the expected monthly
//! revenue in the organization's settings (`demo.expected_revenue_cents`,
//! from `demo.truth_start`). That makes the question "is the forecast right?"
//! answerable without waiting a year:
//!
//! - **forward**: the forecast made from the whole history, for the months
//!   after it, against the curve continued past the history (the same
//!   growth and season, at the same scale);
//! - **hold-out**: the forecast made from all but the last `horizon` months,
//!   against the stored truth of those months.
//!
//! Each is scored by its mean absolute percentage error against the truth and
//! compared with the error the forecast reports for itself: the ensemble's
//! rolling-origin backtest MAPE (computed against the noisy monthly actuals of
//! the history, never against the truth), whose folds forecast as many months
//! as the forecast checked (12 here: from months 24 and 18 of 36, from month
//! 12 of 24). "Within" means the error against the truth is no larger than
//! that reported error.

use chrono::{Datelike, NaiveDate};
use neuracrm_domain::{ForecastAlgorithm, ForecastMetric, OrgId};
use neuracrm_store::Store;
use neuracrm_store::forecasts::{MonthlySeries, add_months, months_between, parse_period};
use neuracrm_store::seed::generator::month_intensity;
use serde::Serialize;

use crate::JobError;
use crate::forecasting::{FitOutcome, LEVEL, fit_series};

/// One forecast against the truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Months of history fitted.
    pub history_months: usize,
    /// The forecast months (`YYYY-MM`).
    pub periods: Vec<String>,
    /// The ensemble's own backtest MAPE, percent.
    pub reported_mape: f64,
    /// Backtest folds behind `reported_mape`.
    pub reported_folds: usize,
    /// Months each of those folds forecast.
    pub reported_horizon: usize,
    /// Mean absolute percentage error against the truth, percent.
    pub mape_vs_truth: f64,
    /// Months whose error against the truth is within `reported_mape`.
    pub months_within: usize,
    /// Share of months whose interval holds the truth.
    pub truth_coverage: f64,
    /// `mape_vs_truth <= reported_mape`.
    pub within: bool,
}

/// The demo check of one organization.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoCheck {
    /// The organization.
    pub organization_id: i64,
    /// Forecast from the whole history against the continued curve.
    pub forward: Comparison,
    /// Forecast from all but the last months against their stored truth.
    pub holdout: Comparison,
}

fn not_demo(org: OrgId, what: &str) -> JobError {
    JobError::Store(neuracrm_store::StoreError::Corrupt {
        entity: "organization",
        message: format!("organization {org} has no demo truth ({what})"),
    })
}

/// How a check fits a series (the CRM's default: the ensemble).
pub type Fit<'a> =
    &'a dyn Fn(&MonthlySeries, usize) -> Result<FitOutcome, neuracrm_forecast::ForecastError>;

fn compare(
    series: &MonthlySeries,
    horizon: usize,
    truth_of: impl Fn(NaiveDate) -> f64,
    fit: Fit<'_>,
) -> Result<Comparison, JobError> {
    let fit = fit(series, horizon).map_err(|e| {
        JobError::Store(neuracrm_store::StoreError::Corrupt {
            entity: "forecast",
            message: e.to_string(),
        })
    })?;
    let FitOutcome::Ready(f) = fit else {
        return Err(JobError::Store(neuracrm_store::StoreError::Corrupt {
            entity: "forecast",
            message: "too little demo history for a forecast".into(),
        }));
    };
    let backtest = f
        .report
        .model_performance
        .first()
        .and_then(|p| p.backtest.as_ref());
    let reported_mape = backtest.map(|b| b.mape).unwrap_or(f64::NAN);
    let last = series.last_month().expect("a fitted series has months");
    let fc = &f.report.forecast;
    let mut apes = Vec::with_capacity(horizon);
    let mut covered = 0;
    for k in 0..horizon {
        let truth = truth_of(add_months(last, k as i32 + 1));
        apes.push(100.0 * (fc.mean[k] - truth).abs() / truth);
        if fc.lower[k] <= truth && truth <= fc.upper[k] {
            covered += 1;
        }
    }
    let mape_vs_truth = apes.iter().sum::<f64>() / horizon as f64;
    Ok(Comparison {
        history_months: series.values.len(),
        periods: f.periods.clone(),
        reported_mape,
        reported_folds: backtest.map(|b| b.folds).unwrap_or(0),
        reported_horizon: backtest.map(|b| b.horizon).unwrap_or(0),
        mape_vs_truth,
        months_within: apes.iter().filter(|a| **a <= reported_mape).count(),
        truth_coverage: covered as f64 / horizon as f64,
        within: mape_vs_truth <= reported_mape,
    })
}

/// Runs both checks for `org` with `horizon` months and the CRM's default
/// forecast, the ensemble (see the module doc).
pub async fn demo_check(store: &Store, org: OrgId, horizon: usize) -> Result<DemoCheck, JobError> {
    demo_check_with(store, org, horizon, &|s, h| {
        fit_series(s, h, ForecastAlgorithm::Ensemble, LEVEL)
    })
    .await
}

/// [`demo_check`] with another way to fit.
pub async fn demo_check_with(
    store: &Store,
    org: OrgId,
    horizon: usize,
    fit: Fit<'_>,
) -> Result<DemoCheck, JobError> {
    let settings = store.organizations().settings(org).await?;
    let demo = &settings["demo"];
    let start = demo["truth_start"]
        .as_str()
        .and_then(parse_period)
        .ok_or_else(|| not_demo(org, "truth_start"))?;
    let truth: Vec<f64> = demo["expected_revenue_cents"]
        .as_array()
        .ok_or_else(|| not_demo(org, "expected_revenue_cents"))?
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN) / 100.0)
        .collect();
    if truth.len() <= horizon + 6 || truth.iter().any(|v| !v.is_finite() || *v <= 0.0) {
        return Err(not_demo(org, "a usable expected_revenue_cents"));
    }
    // The stored curve is `scale × month_intensity`; the same scale continues it.
    let scale = truth[0] / month_intensity(start.month(), 0);
    let curve = |m: NaiveDate| {
        let t = months_between(start, m);
        if t >= 0 && (t as usize) < truth.len() {
            truth[t as usize]
        } else {
            scale * month_intensity(m.month(), t.max(0) as u32)
        }
    };
    // History ends where the demo data does: before its anchor month.
    let end = add_months(start, truth.len() as i32);
    let all = store
        .forecasts()
        .series(org, ForecastMetric::Revenue, end)
        .await?;
    let forward = compare(&all, horizon, curve, fit)?;
    let cut = all.values.len().saturating_sub(horizon);
    let head = MonthlySeries {
        values: all.values[..cut].to_vec(),
        ..all.clone()
    };
    let holdout = compare(&head, horizon, curve, fit)?;
    Ok(DemoCheck {
        organization_id: org.0,
        forward,
        holdout,
    })
}

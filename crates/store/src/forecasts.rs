//! The monthly series of the CRM that forecasts are made from, read with one
//! aggregate query each (never a query per deal or per month):
//!
//! - **revenue**: the value of won deals by the month they closed (UTC), in
//!   currency units (cents / 100);
//! - **deals_won**: the number of won deals by close month;
//! - **new_customers**: contacts whose *first* won deal closed in the month (a
//!   contact's later wins do not count again; won deals without a contact are
//!   not customers);
//! - **weighted pipeline**: open deals by expected-close month, their value and
//!   their value weighted by the stage's win probability
//!   ([`DealStage::win_probability`], the one table of those probabilities).
//!
//! Every series starts at the first month with a won deal and runs, one value
//! per calendar month with months without a deal as 0, up to the last month
//! before `until` (the first day of a month, exclusive). Forecasts pass the
//! current month as `until`: a month still running would look like a slump.
//!
//! Dialects differ only in how a month is read from a timestamp: SQLite stores
//! `closed_at` as RFC 3339 text in UTC (`2026-03-31T23:59:59+00:00`), whose
//! first seven characters are the month; PostgreSQL stores `timestamptz`,
//! formatted in UTC whatever the session's time zone.
//!
//! **Sums of money** cannot overflow for any book within bounds, and are
//! exact: each amount is capped at [`Cents::MAX`] (a value stored before the
//! maximum existed counts as the maximum, as it reads), and the sum is taken
//! in two integer halves, `SUM(v / 10^8)` and `SUM(v % 10^8)` (at most 10^7
//! and 10^8 a deal, so neither reaches 2^63 below 9·10^10 deals), joined in
//! Rust as an `i128`. A plain `SUM` would not do: SQLite's integer `SUM`
//! raises an error on overflow, and PostgreSQL's `SUM(bigint)` is a
//! `numeric` that a cast back to `bigint` overflows the same way. The
//! weighted pipeline, fractional by nature, is summed in floating point.
//!
//! Won deals closed before [`MIN_DATE`] (stored before the date range
//! existed) are left out of the monthly series, which would otherwise
//! start centuries back.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use neuracrm_domain::{Cents, DealStage, ForecastMetric, MIN_DATE, OrgId};
use serde::Serialize;

use crate::db::{Backend, Db, Sql};
use crate::{Result, StoreError};

/// Reads of the CRM's monthly series.
#[derive(Debug, Clone, Copy)]
pub struct ForecastData<'a> {
    pub(crate) db: &'a Db,
}

/// The first day of `d`'s month.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// `d` (any day) moved to the first day of the month `n` months later.
pub fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + n;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).unwrap_or(d)
}

/// A month as `YYYY-MM`.
pub fn period_label(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// Parses `YYYY-MM` to the first day of that month.
pub fn parse_period(s: &str) -> Option<NaiveDate> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// Months from `a` to `b` (both firsts of month): 0 when equal.
pub fn months_between(a: NaiveDate, b: NaiveDate) -> i32 {
    (b.year() - a.year()) * 12 + b.month0() as i32 - a.month0() as i32
}

/// The SQL that reads a `YYYY-MM` month from a UTC timestamp column.
fn month_of_time(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("substr({column}, 1, 7)"),
        Backend::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"),
    }
}

/// The SQL that reads a `YYYY-MM` month from a date column.
fn month_of_date(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("substr({column}, 1, 7)"),
        Backend::Postgres => format!("to_char({column}, 'YYYY-MM')"),
    }
}

/// The SQL of `column` (cents) capped at [`Cents::MAX`].
fn capped_cents(backend: Backend, column: &str) -> String {
    let max = Cents::MAX.get();
    match backend {
        Backend::Sqlite => format!("MIN({column}, {max})"),
        Backend::Postgres => format!("LEAST({column}, {max})"),
    }
}

/// Where the two halves of a sum of money are split (see the module doc).
const SPLIT: i64 = 100_000_000;

/// The two columns `{alias}_hi` and `{alias}_lo` of the exact sum of
/// `column` (cents) capped at [`Cents::MAX`]; [`join_halves`] adds them up.
fn money_sum(backend: Backend, column: &str, alias: &str) -> String {
    let v = capped_cents(backend, column);
    format!(
        "CAST(SUM({v} / {SPLIT}) AS BIGINT) AS {alias}_hi, \
         CAST(SUM({v} % {SPLIT}) AS BIGINT) AS {alias}_lo"
    )
}

/// The sum of the two halves read by [`money_sum`], exactly.
fn join_halves(hi: i64, lo: i64) -> i128 {
    i128::from(hi) * i128::from(SPLIT) + i128::from(lo)
}

/// Cents as currency units.
fn units(cents: i128) -> f64 {
    cents as f64 / 100.0
}

/// `CASE stage WHEN ... END`: each stage's win probability, from the domain's
/// one table, as SQL (the words and numbers come from code, not from input).
fn stage_probability_sql() -> String {
    let mut s = String::from("CASE stage");
    for stage in DealStage::ALL {
        s.push_str(&format!(
            " WHEN '{}' THEN {:.4}",
            stage.as_str(),
            stage.win_probability()
        ));
    }
    s.push_str(" ELSE 0.0 END");
    s
}

/// The three monthly series of won deals, aligned on the same months.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrmSeries {
    /// First month (its first day); `None` when no deal was won before `until`.
    pub start: Option<NaiveDate>,
    /// Revenue in currency units.
    pub revenue: Vec<f64>,
    /// Won deals.
    pub deals_won: Vec<f64>,
    /// New customers.
    pub new_customers: Vec<f64>,
}

impl CrmSeries {
    /// One metric's series.
    pub fn series(&self, metric: ForecastMetric) -> MonthlySeries {
        MonthlySeries {
            metric,
            start: self.start,
            values: match metric {
                ForecastMetric::Revenue => self.revenue.clone(),
                ForecastMetric::DealsWon => self.deals_won.clone(),
                ForecastMetric::NewCustomers => self.new_customers.clone(),
            },
        }
    }
}

/// One monthly series, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlySeries {
    /// What it measures.
    pub metric: ForecastMetric,
    /// Its first month (first day); `None` when empty.
    pub start: Option<NaiveDate>,
    /// One value per month.
    pub values: Vec<f64>,
}

impl MonthlySeries {
    /// The month of value `i`, as its first day.
    pub fn month(&self, i: usize) -> Option<NaiveDate> {
        self.start.map(|s| add_months(s, i as i32))
    }

    /// `YYYY-MM` of every value, in order.
    pub fn periods(&self) -> Vec<String> {
        (0..self.values.len())
            .filter_map(|i| self.month(i).map(period_label))
            .collect()
    }

    /// The last month of the series.
    pub fn last_month(&self) -> Option<NaiveDate> {
        self.values.len().checked_sub(1).and_then(|i| self.month(i))
    }
}

/// Deals of one stage: open ones, or closed since a given time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTotal {
    /// The stage (`prospecting` … `closed_lost`).
    pub stage: String,
    /// Deals in it.
    pub deals: i64,
    /// Their value, in currency units.
    pub value: f64,
    /// Their value weighted by the stage's probability, in currency units.
    pub weighted_value: f64,
}

/// Open deals expected to close in one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineMonth {
    /// `YYYY-MM`, or `None` for open deals without an expected close date.
    pub period: Option<String>,
    /// Open deals.
    pub deals: i64,
    /// Their value, in currency units.
    pub value: f64,
    /// Their value weighted by each deal's stage probability, in currency units.
    pub weighted_value: f64,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

fn corrupt(message: String) -> StoreError {
    StoreError::Corrupt {
        entity: "deal",
        message,
    }
}

/// Places `(period, value)` rows on the month grid starting at `start`.
fn place(rows: &[(String, f64)], start: NaiveDate, len: usize) -> Result<Vec<f64>> {
    let mut out = vec![0.0; len];
    for (period, v) in rows {
        let m = parse_period(period).ok_or_else(|| corrupt(format!("bad month '{period}'")))?;
        let i = months_between(start, m);
        if i >= 0 && (i as usize) < len {
            out[i as usize] += v;
        }
    }
    Ok(out)
}

impl ForecastData<'_> {
    /// Revenue, won deals and new customers per month of `org`, from the first
    /// month with a won deal to the month before `until` (see the module doc).
    pub async fn monthly(&self, org: OrgId, until: NaiveDate) -> Result<CrmSeries> {
        let until = month_start(until);
        let b = self.db.backend();
        let won: Vec<(String, i64, i64, i64)> = self
            .db
            .fetch_all(
                Sql::new(&format!(
                    "SELECT {m} AS period, {sum}, \
                     CAST(COUNT(*) AS BIGINT) AS deals FROM deals \
                     WHERE organization_id = $1 AND status = 'won' AND closed_at IS NOT NULL \
                     AND closed_at >= $3 AND closed_at < $2 GROUP BY {m} ORDER BY {m}",
                    m = month_of_time(b, "closed_at"),
                    sum = money_sum(b, "value_cents", "cents"),
                ))
                .arg(org)
                .arg(midnight(until))
                .arg(midnight(MIN_DATE)),
            )
            .await?;
        let customers: Vec<(String, i64)> = self
            .db
            .fetch_all(
                Sql::new(&format!(
                    "SELECT {m} AS period, CAST(COUNT(*) AS BIGINT) AS n FROM ( \
                       SELECT contact_id, MIN(closed_at) AS first_won FROM deals \
                       WHERE organization_id = $1 AND status = 'won' AND contact_id IS NOT NULL \
                       AND closed_at IS NOT NULL AND closed_at >= $3 AND closed_at < $2 \
                       GROUP BY contact_id) f \
                     GROUP BY {m} ORDER BY {m}",
                    m = month_of_time(b, "first_won")
                ))
                .arg(org)
                .arg(midnight(until))
                .arg(midnight(MIN_DATE)),
            )
            .await?;
        let Some((first, ..)) = won.first() else {
            return Ok(CrmSeries {
                start: None,
                revenue: vec![],
                deals_won: vec![],
                new_customers: vec![],
            });
        };
        let start =
            parse_period(first).ok_or_else(|| corrupt(format!("bad close month '{first}'")))?;
        let len = months_between(start, until).max(0) as usize;
        let revenue: Vec<(String, f64)> = won
            .iter()
            .map(|(p, hi, lo, _)| (p.clone(), units(join_halves(*hi, *lo))))
            .collect();
        let count: Vec<(String, f64)> = won
            .iter()
            .map(|(p, _, _, n)| (p.clone(), *n as f64))
            .collect();
        let new: Vec<(String, f64)> = customers
            .iter()
            .map(|(p, n)| (p.clone(), *n as f64))
            .collect();
        Ok(CrmSeries {
            start: Some(start),
            revenue: place(&revenue, start, len)?,
            deals_won: place(&count, start, len)?,
            new_customers: place(&new, start, len)?,
        })
    }

    /// One metric's monthly series (see [`ForecastData::monthly`]).
    pub async fn series(
        &self,
        org: OrgId,
        metric: ForecastMetric,
        until: NaiveDate,
    ) -> Result<MonthlySeries> {
        Ok(self.monthly(org, until).await?.series(metric))
    }

    /// `org`'s open deals by expected-close month, undated ones last.
    /// Deals per stage: every open deal, and closed ones closed at or after
    /// `closed_since` (a board shows recent wins and losses, not all time).
    /// Stages without deals are absent.
    pub async fn stage_totals(
        &self,
        org: OrgId,
        closed_since: DateTime<Utc>,
    ) -> Result<Vec<StageTotal>> {
        let b = self.db.backend();
        // Summed as the pipeline is: capped amounts in two exact halves.
        let rows: Vec<(String, i64, i64, i64, f64)> = self
            .db
            .fetch_all(
                // Open deals, then the recently closed ones, each part read
                // from an index holding what it sums (migration 0019): as
                // one `status = 'open' OR closed_at >= $2`, SQLite read
                // every deal of the organization (1.6 s at 300,000).
                Sql::new(&format!(
                    "SELECT stage, CAST(COUNT(*) AS BIGINT) AS deals, {sum}, \
                     CAST(SUM({v} * ({p})) AS DOUBLE PRECISION) AS weighted \
                     FROM deals WHERE organization_id = $1 AND status = 'open' GROUP BY stage \
                     UNION ALL \
                     SELECT stage, CAST(COUNT(*) AS BIGINT) AS deals, {sum}, \
                     CAST(SUM({v} * ({p})) AS DOUBLE PRECISION) AS weighted \
                     FROM deals WHERE organization_id = $1 \
                     AND stage IN ('closed_won', 'closed_lost') AND closed_at >= $2 GROUP BY stage",
                    sum = money_sum(b, "value_cents", "cents"),
                    v = capped_cents(b, "value_cents"),
                    p = stage_probability_sql()
                ))
                .arg(org)
                .arg(closed_since),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(stage, deals, hi, lo, weighted)| StageTotal {
                stage,
                deals,
                value: units(join_halves(hi, lo)),
                weighted_value: weighted / 100.0,
            })
            .collect())
    }

    /// The open pipeline by expected-close month. Grouped by day and stage
    /// in the order of `deals_org_status_close` (no sort: 36,000 open deals
    /// in 20 ms instead of 40 ms through a temporary B-tree by month), each
    /// stage's sum weighted here, the days folded into months.
    pub async fn weighted_pipeline(&self, org: OrgId) -> Result<Vec<PipelineMonth>> {
        let b = self.db.backend();
        let rows: Vec<(Option<String>, String, i64, i64, i64)> = self
            .db
            .fetch_all(
                Sql::new(&format!(
                    "SELECT {m} AS period, stage, CAST(COUNT(*) AS BIGINT) AS deals, {sum} \
                     FROM deals WHERE organization_id = $1 AND status = 'open' \
                     GROUP BY expected_close, stage",
                    m = month_of_date(b, "expected_close"),
                    sum = money_sum(b, "value_cents", "cents"),
                ))
                .arg(org),
            )
            .await?;
        // (period, deals, cents exactly, weighted cents)
        let mut months: Vec<(Option<String>, i64, i128, f64)> = Vec::new();
        for (period, stage, deals, hi, lo) in rows {
            let cents = join_halves(hi, lo);
            let p = stage
                .parse::<DealStage>()
                .map_or(0.0, |s| s.win_probability());
            // Rows come by day, so a month's rows are neighbours (the
            // undated sort first on SQLite, last on PostgreSQL).
            match months.iter_mut().rev().find(|m| m.0 == period) {
                Some(m) => {
                    m.1 += deals;
                    m.2 += cents;
                    m.3 += cents as f64 * p;
                }
                None => months.push((period, deals, cents, cents as f64 * p)),
            }
        }
        let mut out: Vec<PipelineMonth> = months
            .into_iter()
            .map(|(period, deals, cents, weighted)| PipelineMonth {
                period,
                deals,
                value: units(cents),
                weighted_value: weighted / 100.0,
            })
            .collect();
        out.sort_by(|a, b| match (&a.period, &b.period) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_move_across_years() {
        let d = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
        assert_eq!(period_label(add_months(d, 2)), "2026-01");
        assert_eq!(period_label(add_months(d, -11)), "2024-12");
        assert_eq!(
            months_between(month_start(d), parse_period("2027-02").unwrap()),
            15
        );
        assert_eq!(parse_period("2026-13"), None);
        assert_eq!(parse_period("26-01"), None);
    }

    #[test]
    fn money_halves_join_exactly() {
        let v: i64 = 987_654_321_012_345;
        assert_eq!(join_halves(v / SPLIT, v % SPLIT), i128::from(v));
        // A million deals at the maximum: far beyond i64, exact in i128.
        let n = 1_000_000i64;
        let (hi, lo) = (Cents::MAX.get() / SPLIT * n, Cents::MAX.get() % SPLIT * n);
        assert_eq!(
            join_halves(hi, lo),
            i128::from(Cents::MAX.get()) * 1_000_000
        );
        assert!(capped_cents(Backend::Sqlite, "v").starts_with("MIN(v, "));
        assert!(capped_cents(Backend::Postgres, "v").starts_with("LEAST(v, "));
    }

    #[test]
    fn stage_probabilities_come_from_the_domain_table() {
        let sql = stage_probability_sql();
        assert!(sql.contains("WHEN 'negotiation' THEN 0.7500"), "{sql}");
        assert!(sql.contains("WHEN 'closed_lost' THEN 0.0000"), "{sql}");
    }
}

//! `/sentiment`: what customers feel, from the stored sentiment of their
//! text (notes, received e-mails, calls): the organization's trend over 30,
//! 90 or 365 days, the same period by activity type and by the source of
//! the activities' leads, and the most negative activities with links to the
//! lead and contact they belong to. It refreshes live after activities are
//! logged (their sentiment is stored moments later by the server's
//! sentiment subscriber).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use std::borrow::Borrow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use neuracrm_actions::sentiment::{self, PeriodSummary};
use neuracrm_store::sentiment::{GroupRow, NegativeRow};
use serde::Deserialize;

use super::super::{PageResult, format, sentiment_chart};
use crate::api::sentiment::{Period, excerpt};
use crate::web::layout::Shell;
use crate::web::session::WebUser;

/// `?period=30d|90d|365d` (90 days by default; anything else too).
#[derive(Debug, Default, Deserialize)]
pub struct SentimentQuery {
    period: Option<String>,
}

/// A period's link.
pub struct PeriodTab {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "sentiment.html")]
pub struct SentimentPage {
    shell: Shell,
    periods: Vec<PeriodTab>,
    period: &'static str,
    /// `None`: being computed.
    trend_svg: Option<String>,
    /// The whole period (its key is empty).
    total: GroupRow,
    /// `None`: being computed.
    summary: Option<Arc<PeriodSummary>>,
    /// How old the figures are, when they come from the memo of a large
    /// organization.
    as_of: Option<String>,
    now: DateTime<Utc>,
}

/// `n` of `of` as a percentage.
fn share(n: i64, of: i64) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.0} %", n as f64 * 100.0 / of as f64)
    }
}

/// What the template needs to word the figures.
impl SentimentPage {
    fn share(&self, n: impl Borrow<i64>, of: impl Borrow<i64>) -> String {
        share(*n.borrow(), *of.borrow())
    }

    fn mean(&self, g: &GroupRow) -> String {
        g.average_compound
            .filter(|a| a.is_finite())
            .map(|a| format!("{a:+.2}"))
            .unwrap_or_else(|| "—".into())
    }

    fn bar(&self, g: &GroupRow) -> String {
        share_bar(g.negative, g.neutral, g.positive)
    }

    /// An activity type or lead source; `none` is the activities without a
    /// lead.
    fn group(&self, key: &str) -> String {
        if key == "none" {
            "No lead".into()
        } else {
            format::words(key)
        }
    }

    fn ago(&self, t: impl Borrow<DateTime<Utc>>) -> String {
        format::ago(*t.borrow(), self.now)
    }

    fn full(&self, t: impl Borrow<DateTime<Utc>>) -> String {
        format::full(*t.borrow())
    }

    /// The breakdowns: (id, heading, groups).
    fn breakdowns(&self) -> [(&'static str, &'static str, &[GroupRow]); 2] {
        let (by_type, by_source): (&[GroupRow], &[GroupRow]) = match &self.summary {
            Some(s) => (&s.by_type, &s.by_source),
            None => (&[], &[]),
        };
        [
            ("type", "Activity type", by_type),
            ("source", "Lead source", by_source),
        ]
    }

    /// The most negative activities of the period.
    fn negatives(&self) -> &[NegativeRow] {
        self.summary.as_ref().map_or(&[], |s| &s.negatives)
    }

    fn excerpt(&self, body: &Option<String>) -> String {
        excerpt(body.as_deref())
    }
}

/// Negative, neutral and positive shares as one bar (SVG: the pages allow no
/// inline style).
fn share_bar(neg: i64, neu: i64, pos: i64) -> String {
    let total = (neg + neu + pos).max(1) as f64;
    let mut x = 0.0;
    let mut s = format!(
        r#"<svg class="share" viewBox="0 0 100 10" preserveAspectRatio="none" role="img"><title>{neg} negative, {neu} neutral, {pos} positive</title>"#
    );
    for (class, n) in [("neg", neg), ("neu", neu), ("pos", pos)] {
        let w = n as f64 * 100.0 / total;
        if w > 0.0 {
            s.push_str(&format!(
                r#"<rect class="{class}" x="{x:.2}" y="0" width="{w:.2}" height="10"/>"#
            ));
        }
        x += w;
    }
    s.push_str("</svg>");
    s
}

/// `GET /sentiment`.
pub async fn page(user: WebUser, Query(q): Query<SentimentQuery>) -> PageResult<SentimentPage> {
    let crm = &user.crm;
    let c = &user.caller;
    let (period, key) = match q.period.as_deref() {
        Some("30d") => (Period::Days30, "30d"),
        Some("365d") => (Period::Days365, "365d"),
        _ => (Period::Days90, "90d"),
    };
    let to = Utc::now();
    // On a large organization computed in the background: `None` until the
    // first is ready (the page says so and fetches itself again).
    let summary = sentiment::period_summary(crm, c, period.days()).await?;
    let mut total = GroupRow {
        key: String::new(),
        count: 0,
        average_compound: None,
        negative: 0,
        neutral: 0,
        positive: 0,
    };
    let mut compound_sum = 0.0;
    for r in summary.iter().flat_map(|s| &s.value.trend) {
        total.count += r.count;
        total.negative += r.negative;
        total.neutral += r.neutral;
        total.positive += r.positive;
        compound_sum += r.average_compound.unwrap_or(0.0) * r.count as f64;
    }
    total.average_compound = (total.count > 0).then(|| compound_sum / total.count as f64);
    let width = if period.granularity() == neuracrm_store::sentiment::Granularity::Week {
        "week"
    } else {
        "month"
    };
    let trend_svg = summary.as_ref().map(|s| {
        sentiment_chart(
            &s.value.trend,
            &format!("Sentiment of customer text, by {width}"),
        )
    });
    let as_of = summary
        .as_ref()
        .filter(|s| s.memoized())
        .map(|s| format::ago(s.as_of, to));
    let summary = summary.map(|s| s.value);
    Ok(SentimentPage {
        shell: Shell::new(&user, "Sentiment", "/sentiment"),
        periods: [
            ("/sentiment?period=30d", "30 days", "30d"),
            ("/sentiment?period=90d", "90 days", "90d"),
            ("/sentiment?period=365d", "365 days", "365d"),
        ]
        .into_iter()
        .map(|(href, label, k)| PeriodTab {
            href,
            label,
            current: k == key,
        })
        .collect(),
        period: key,
        trend_svg,
        total,
        summary,
        as_of,
        now: to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_their_bar_add_up() {
        assert_eq!(share(1, 4), "25 %");
        assert_eq!(share(0, 0), "—");
        let bar = share_bar(1, 0, 3);
        assert!(
            bar.contains(r#"class="neg" x="0.00" y="0" width="25.00""#),
            "{bar}"
        );
        assert!(
            bar.contains(r#"class="pos" x="25.00" y="0" width="75.00""#),
            "{bar}"
        );
        assert!(
            !bar.contains("class=\"neu\""),
            "an empty share draws nothing"
        );
        assert!(
            !bar.contains("style="),
            "no inline style: the CSP forbids it"
        );
    }
}

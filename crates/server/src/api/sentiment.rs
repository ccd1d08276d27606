//! `/api/sentiment`: analyse texts on demand, and summarise the stored
//! sentiment of an organization's, a contact's or a lead's activities.
//!
//! Limits of `POST /api/sentiment/analyze`: one `text` or a batch `texts` of
//! 1 to [`MAX_TEXTS`] texts, each 1 to [`MAX_CHARS`] characters (Unicode
//! scalar values) and not blank; the request body limit
//! (`max_body_bytes`, 2 MiB by default) applies on top.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use neuracrm_actions::Caller;
use neuracrm_actions::sentiment as actions;
use neuracrm_domain::{ActivityType, ContactId, LeadId};
use neuracrm_sentiment::{Analysis, Method};
use neuracrm_store::sentiment::Granularity;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Query};
use crate::http::openapi::endpoint;
use crate::http::wire::{SentimentLabel, SentimentMethod};

/// Most texts in one request.
pub const MAX_TEXTS: usize = 1_000;
/// Longest text, in characters.
pub const MAX_CHARS: usize = 10_000;
/// Items in the summary's most-negative list.
pub const MOST_NEGATIVE: u32 = 5;
/// Characters of an item's excerpt.
const EXCERPT_CHARS: usize = 160;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(analyze))
        .routes(routes!(summary))
}

/// One text or a batch: exactly one of `text` and `texts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest {
    /// One text (1–10,000 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10000)]
    pub text: Option<String>,
    /// A batch of 1–1,000 texts (each 1–10,000 characters), answered in order.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 1000)]
    pub texts: Option<Vec<String>>,
}

/// The sentiment of one text.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentimentOut {
    /// The label.
    pub label: SentimentLabel,
    /// How sure, 0–1 (model: the label's probability; VADER: |compound|, or
    /// closeness to 0 for neutral).
    pub confidence: f64,
    /// Model: class probability; VADER: share of negative words.
    pub negative: f64,
    /// Model: class probability; VADER: share of neutral words.
    pub neutral: f64,
    /// Model: class probability; VADER: share of positive words.
    pub positive: f64,
    /// VADER's compound score, −1 to 1 (computed in both modes).
    pub compound: f64,
    /// Which engine decided the label.
    pub method: SentimentMethod,
}

impl From<&Analysis> for SentimentOut {
    fn from(a: &Analysis) -> Self {
        SentimentOut {
            label: a.label.into(),
            confidence: a.confidence,
            negative: a.negative,
            neutral: a.neutral,
            positive: a.positive,
            compound: a.compound,
            method: match a.method {
                Method::Vader => SentimentMethod::Vader,
                Method::Model => SentimentMethod::Model,
            },
        }
    }
}

/// The results, in the order of the texts (one for `text`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyzeResponse {
    /// One result per text.
    pub results: Vec<SentimentOut>,
}

fn check_text(field: &str, text: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::validation(field, "the text is empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(ApiError::validation(
            field,
            format!("the text has {chars} characters; at most {MAX_CHARS} are analysed per text"),
        ));
    }
    Ok(())
}

/// The texts of a request, checked.
fn texts_of(body: AnalyzeRequest) -> ApiResult<Vec<String>> {
    match (body.text, body.texts) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "texts",
            "give either `text` or `texts`, not both",
        )),
        (None, None) => Err(ApiError::validation(
            "text",
            "give `text` (one text) or `texts` (a batch)",
        )),
        (Some(t), None) => {
            check_text("text", &t)?;
            Ok(vec![t])
        }
        (None, Some(texts)) => {
            if texts.is_empty() {
                return Err(ApiError::validation("texts", "the batch is empty"));
            }
            if texts.len() > MAX_TEXTS {
                return Err(ApiError::validation(
                    "texts",
                    format!(
                        "the batch has {} texts; at most {MAX_TEXTS} per request",
                        texts.len()
                    ),
                ));
            }
            for (i, t) in texts.iter().enumerate() {
                check_text(&format!("texts[{i}]"), t)?;
            }
            Ok(texts)
        }
    }
}

endpoint! {
    /// Analyses one text or a batch with the organization's analyser (its
    /// trained model when configured, VADER otherwise).
    post "/api/sentiment/analyze" in "sentiment" [request_body = AnalyzeRequest]
        => AnalyzeResponse,
        400 "Malformed body",
        413 "Body larger than the server's limit",
        422 "No text, both `text` and `texts`, an empty or too long text, or more than 1,000 texts (the field is named)";
    async fn analyze(state, user: AuthUser, Json(body): Json<AnalyzeRequest>) {
        let texts = texts_of(body)?;
        let n = texts.len();
        let results = actions::analyze(&state.crm, &user.caller(), texts).await?;
        debug_assert_eq!(results.len(), n);
        Ok(Json(AnalyzeResponse {
            results: results.iter().map(SentimentOut::from).collect(),
        }))
    }
}

/// The summary's time span: 30 or 90 days in weeks, 365 days in months.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Period {
    /// The last 30 days, per week.
    #[serde(rename = "30d")]
    Days30,
    /// The last 90 days, per week.
    #[default]
    #[serde(rename = "90d")]
    Days90,
    /// The last 365 days, per month.
    #[serde(rename = "365d")]
    Days365,
}

impl Period {
    pub(crate) fn days(self) -> i64 {
        match self {
            Period::Days30 => 30,
            Period::Days90 => 90,
            Period::Days365 => 365,
        }
    }

    pub(crate) fn granularity(self) -> Granularity {
        match self {
            Period::Days30 | Period::Days90 => Granularity::Week,
            Period::Days365 => Granularity::Month,
        }
    }
}

/// Whose activities, and over which period.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// A contact: its own activities and those of its leads and deals.
    #[param(value_type = Option<i64>)]
    pub contact_id: Option<ContactId>,
    /// A lead: its activities and those of its deals.
    #[param(value_type = Option<i64>)]
    pub lead_id: Option<LeadId>,
    /// `30d` or `90d` (weekly buckets, the default is `90d`) or `365d`
    /// (monthly buckets).
    #[param(inline)]
    pub period: Option<Period>,
}

/// Week or month.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketWidth {
    /// Weeks starting on Monday (UTC).
    Week,
    /// Calendar months (UTC).
    Month,
}

/// Counts and mean compound of a set of analysed activities.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SentimentCounts {
    /// Analysed activities.
    pub count: i64,
    /// Mean compound score (null when there are none).
    pub average_compound: Option<f64>,
    /// Labelled negative.
    pub negative: i64,
    /// Labelled neutral.
    pub neutral: i64,
    /// Labelled positive.
    pub positive: i64,
}

/// One week or month of the trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentimentBucket {
    /// First day of the week (Monday) or month, UTC.
    pub start: NaiveDate,
    /// Its figures (the first and last buckets cover only the part inside
    /// the period).
    #[serde(flatten)]
    pub counts: SentimentCounts,
}

/// A negative activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct NegativeItem {
    /// The activity.
    pub activity_id: i64,
    /// Its type.
    #[serde(rename = "type")]
    #[schema(value_type = crate::http::wire::vocab::ActivityType)]
    pub kind: ActivityType,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Its compound score.
    pub compound: f64,
    /// How sure the label is.
    pub confidence: f64,
    /// The start of its text (at most 160 characters, whitespace collapsed).
    pub excerpt: String,
}

/// Sentiment over time, and the most negative recent activities.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentimentSummary {
    /// The period asked for.
    pub period: Period,
    /// Width of the buckets.
    pub granularity: BucketWidth,
    /// Activities that happened at or after this time count.
    pub from: DateTime<Utc>,
    /// ... and before this one (now).
    pub to: DateTime<Utc>,
    /// The contact, when the summary is about one.
    pub contact_id: Option<i64>,
    /// The lead, when the summary is about one.
    pub lead_id: Option<i64>,
    /// The whole period.
    pub total: SentimentCounts,
    /// Every week or month of the period, oldest first (empty ones included,
    /// with count 0 and a null average).
    pub buckets: Vec<SentimentBucket>,
    /// Up to 5 activities labelled negative, lowest compound first (then the
    /// most recent).
    pub most_negative: Vec<NegativeItem>,
}

/// The first day of `d`'s bucket.
fn bucket_start(d: NaiveDate, g: Granularity) -> NaiveDate {
    match g {
        Granularity::Week => d - Duration::days(d.weekday().num_days_from_monday() as i64),
        Granularity::Month => d.with_day(1).unwrap_or(d),
    }
}

/// Every bucket start from `from`'s to `to`'s.
fn bucket_starts(from: NaiveDate, to: NaiveDate, g: Granularity) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = bucket_start(from, g);
    let last = bucket_start(to, g);
    while d <= last {
        out.push(d);
        d = match g {
            Granularity::Week => d + Duration::days(7),
            Granularity::Month => match d.checked_add_months(Months::new(1)) {
                Some(next) => next,
                None => break,
            },
        };
    }
    out
}

pub(crate) fn excerpt(body: Option<&str>) -> String {
    let words: Vec<&str> = body.unwrap_or_default().split_whitespace().collect();
    let text = words.join(" ");
    if text.chars().count() <= EXCERPT_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

endpoint! {
    /// The trend of the stored sentiment of the organization's activities (or a
    /// contact's, or a lead's) per week or month, and the most negative ones.
    get "/api/sentiment/summary" in "sentiment" [params(SummaryQuery)]
        => SentimentSummary,
        400 "Bad query (unknown period, both contact_id and lead_id, ...)",
        404 "No such contact or lead";
    async fn summary(state, user: AuthUser, Query(q): Query<SummaryQuery>) {
        Ok(Json(summarize(&state, &user.caller(), q).await?))
    }
}

/// The summary of the activities `q` asks about, as of now.
async fn summarize(
    state: &AppState,
    caller: &Caller,
    q: SummaryQuery,
) -> ApiResult<SentimentSummary> {
    let scope = actions::scope(&state.crm, caller, q.contact_id, q.lead_id).await?;
    let period = q.period.unwrap_or_default();
    let g = period.granularity();
    let to = Utc::now();
    let from = to - Duration::days(period.days());
    let (rows, negatives) =
        actions::trend(&state.crm, caller, scope, from, to, g, MOST_NEGATIVE).await?;

    let mut buckets: std::collections::BTreeMap<NaiveDate, SentimentCounts> =
        bucket_starts(from.date_naive(), to.date_naive(), g)
            .into_iter()
            .map(|d| (d, SentimentCounts::default()))
            .collect();
    let mut total = SentimentCounts::default();
    let mut compound_sum = 0.0;
    for r in rows {
        let start = NaiveDate::parse_from_str(&r.bucket, "%Y-%m-%d")
            .map_err(|e| ApiError::Internal(format!("bucket '{}': {e}", r.bucket)))?;
        total.count += r.count;
        total.negative += r.negative;
        total.neutral += r.neutral;
        total.positive += r.positive;
        compound_sum += r.average_compound.unwrap_or(0.0) * r.count as f64;
        buckets.insert(
            start,
            SentimentCounts {
                count: r.count,
                average_compound: r.average_compound,
                negative: r.negative,
                neutral: r.neutral,
                positive: r.positive,
            },
        );
    }
    total.average_compound = (total.count > 0).then(|| compound_sum / total.count as f64);
    let most_negative = negatives
        .into_iter()
        .map(|r| {
            Ok(NegativeItem {
                activity_id: r.activity_id,
                kind: r.kind.parse().map_err(|_| {
                    ApiError::Internal(format!("unknown stored activity type '{}'", r.kind))
                })?,
                occurred_at: r.occurred_at,
                compound: r.compound,
                confidence: r.confidence,
                excerpt: excerpt(r.body.as_deref()),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(SentimentSummary {
        period,
        granularity: match g {
            Granularity::Week => BucketWidth::Week,
            Granularity::Month => BucketWidth::Month,
        },
        from,
        to,
        contact_id: q.contact_id.map(|c| c.0),
        lead_id: q.lead_id.map(|l| l.0),
        total,
        buckets: buckets
            .into_iter()
            .map(|(start, counts)| SentimentBucket { start, counts })
            .collect(),
        most_negative,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn buckets_start_on_mondays_and_first_days() {
        // 2026-11-30 is a Monday, 2026-11-29 a Sunday.
        assert_eq!(
            bucket_start(d("2026-11-30"), Granularity::Week),
            d("2026-11-30")
        );
        assert_eq!(
            bucket_start(d("2026-11-29"), Granularity::Week),
            d("2026-11-23")
        );
        assert_eq!(
            bucket_start(d("2026-11-29"), Granularity::Month),
            d("2026-11-01")
        );
        assert_eq!(
            bucket_starts(d("2026-10-31"), d("2026-11-30"), Granularity::Week),
            vec![
                d("2026-10-26"),
                d("2026-11-02"),
                d("2026-11-09"),
                d("2026-11-16"),
                d("2026-11-23"),
                d("2026-11-30")
            ]
        );
        assert_eq!(
            bucket_starts(d("2025-11-30"), d("2026-11-30"), Granularity::Month).len(),
            13
        );
    }

    #[test]
    fn excerpts_collapse_whitespace_and_stop_at_160_characters() {
        assert_eq!(excerpt(Some("  a \n b  ")), "a b");
        let long = "é".repeat(400);
        let e = excerpt(Some(&long));
        assert_eq!(e.chars().count(), 160);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(None), "");
    }

    #[test]
    fn requests_name_the_offending_field() {
        let field = |r: ApiResult<Vec<String>>| match r {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let req = |text: Option<&str>, texts: Option<Vec<String>>| AnalyzeRequest {
            text: text.map(str::to_string),
            texts,
        };
        assert_eq!(field(texts_of(req(None, None))), "text");
        assert_eq!(field(texts_of(req(Some("a"), Some(vec![])))), "texts");
        assert_eq!(field(texts_of(req(None, Some(vec![])))), "texts");
        assert_eq!(field(texts_of(req(Some(" "), None))), "text");
        let many = vec!["ok".to_string(); MAX_TEXTS + 1];
        assert_eq!(field(texts_of(req(None, Some(many)))), "texts");
        let mut batch = vec!["ok".to_string(); 3];
        batch[2] = "x".repeat(MAX_CHARS + 1);
        assert_eq!(field(texts_of(req(None, Some(batch)))), "texts[2]");
        // Exactly at the limits is fine.
        assert_eq!(
            texts_of(req(None, Some(vec!["é".repeat(MAX_CHARS); MAX_TEXTS])))
                .unwrap()
                .len(),
            MAX_TEXTS
        );
    }
}

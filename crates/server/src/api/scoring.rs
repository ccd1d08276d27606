//! Lead scoring over HTTP: score one lead now, read its stored breakdown and
//! history, read and change the organization's scoring configuration, run a
//! batch, and the scoring analytics.
//!
//! Scoring itself is the jobs crate's (`score_one`, `score_leads`), so the API
//! and the batch give the same answer for the same data; this module adds
//! tenancy, roles, validation and the `lead_scored` events.

use chrono::{DateTime, Utc};
use neuracrm_actions::scoring as actions;
use neuracrm_domain::LeadId;
use neuracrm_scoring::{
    CategoryThresholds, Factor, IndustryRule, IndustryTable, LeadScore, ScoringConfig, Weights,
    stored::{self, Breakdown},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::auth::{AdminUser, AuthUser};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Id, Json, Query};
use crate::http::openapi::{endpoint, routes_of};
use crate::http::wire::vocab::ScoreCategory;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    routes_of!(
        (score_lead, get_score),
        score_history,
        (get_config, put_config),
        preview_config,
        run_scoring,
        analytics,
    )
}

// ---------------------------------------------------------------- wire types

/// Schema-only names of the scoring vocabularies.
pub mod vocab {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// One of the seven scoring factors.
    #[derive(Debug, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[allow(missing_docs)]
    pub enum ScoreFactor {
        Industry,
        CompanySize,
        Engagement,
        DecisionMaker,
        Urgency,
        BudgetSignals,
        AiInsights,
    }

    /// How a scoring batch ended.
    #[derive(Debug, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[allow(missing_docs)]
    pub enum RunStatus {
        Completed,
        CompletedWithFailures,
    }
}

/// One factor's contribution to a score.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FactorOut {
    /// The factor.
    #[schema(value_type = vocab::ScoreFactor)]
    pub factor: Factor,
    /// Points earned, 0 to `max`.
    pub points: f64,
    /// The factor's maximum (its weight × 100).
    pub max: f64,
    /// True when real data produced the points, false when they are the
    /// default for missing data.
    pub backed: bool,
    /// The data behind the points, tagged by `kind` (industry matched, opens,
    /// clicks and seconds on site, title phrase, days to decision, ...).
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// The evidence as a sentence ("12 opens+clicks, 640 s on site").
    pub explanation: String,
}

/// A suggestion about one of the weakest factors.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecommendationOut {
    /// The factor to work on.
    #[schema(value_type = vocab::ScoreFactor)]
    pub factor: Factor,
    /// Its points.
    pub points: f64,
    /// Its maximum.
    pub max: f64,
    /// What to do.
    pub action: String,
}

/// A lead's score with everything behind it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreBreakdown {
    /// The lead.
    pub lead_id: i64,
    /// 0–100, the sum of the factors' points.
    pub total: f64,
    /// From the total and the organization's thresholds.
    #[schema(value_type = ScoreCategory)]
    pub category: String,
    /// Share of the weight backed by real data rather than defaults, 0–1.
    pub confidence: f64,
    /// The seven factors, in a fixed order.
    pub factors: Vec<FactorOut>,
    /// Up to three, weakest factor first.
    pub recommendations: Vec<RecommendationOut>,
    /// When the score was computed; `null` while the lead is marked for
    /// re-scoring after a configuration change (until the next batch).
    pub scored_at: Option<DateTime<Utc>>,
}

/// A breakdown in the API's shape.
#[derive(Deserialize)]
struct RenderedFactors {
    factors: Vec<FactorOut>,
    recommendations: Vec<RecommendationOut>,
}

impl RenderedFactors {
    fn new(lead: LeadId, breakdown: &Breakdown) -> ApiResult<Self> {
        serde_json::to_value(breakdown)
            .and_then(serde_json::from_value)
            .map_err(|e| corrupt(lead, e))
    }

    /// From `leads.score_factors` (either stored form).
    fn from_stored(lead: LeadId, stored: &serde_json::Value) -> ApiResult<Self> {
        Self::new(lead, &stored::decode(stored).map_err(|e| corrupt(lead, e))?)
    }
}

fn corrupt(lead: LeadId, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("lead {}: stored score breakdown: {e}", lead.0))
}

impl ScoreBreakdown {
    pub(crate) fn new(lead: LeadId, score: &LeadScore, at: DateTime<Utc>) -> ApiResult<Self> {
        let stored = RenderedFactors::new(lead, &Breakdown::from(score))?;
        Ok(ScoreBreakdown {
            lead_id: lead.0,
            total: score.total,
            category: score.category.name().into(),
            confidence: score.confidence,
            factors: stored.factors,
            recommendations: stored.recommendations,
            scored_at: Some(at),
        })
    }
}

/// One entry of a lead's score history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScorePointOut {
    /// The score.
    pub score: f64,
    /// Its category.
    #[schema(value_type = ScoreCategory)]
    pub category: String,
    /// Its confidence.
    pub confidence: f64,
    /// When it was computed.
    pub scored_at: DateTime<Utc>,
}

/// A lead's score history, newest first (one entry per change).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreHistoryOut {
    /// The lead.
    pub lead_id: i64,
    /// The changes, newest first.
    pub items: Vec<ScorePointOut>,
}

/// How many history entries to return.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Entries, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Factor weights: each 0–1, together exactly 1 (±1e-6).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WeightsBody {
    /// Default 0.20.
    #[schema(minimum = 0, maximum = 1)]
    pub industry: f64,
    /// Default 0.15.
    #[schema(minimum = 0, maximum = 1)]
    pub company_size: f64,
    /// Default 0.25.
    #[schema(minimum = 0, maximum = 1)]
    pub engagement: f64,
    /// Default 0.15.
    #[schema(minimum = 0, maximum = 1)]
    pub decision_maker: f64,
    /// Default 0.10.
    #[schema(minimum = 0, maximum = 1)]
    pub urgency: f64,
    /// Default 0.10.
    #[schema(minimum = 0, maximum = 1)]
    pub budget_signals: f64,
    /// Default 0.05.
    #[schema(minimum = 0, maximum = 1)]
    pub ai_insights: f64,
}

/// `From` both ways between an engine type and its body, which have the
/// same fields.
macro_rules! same_fields {
    ($engine:ty, $body:ident { $($f:ident),* $(,)? }) => {
        impl From<$engine> for $body {
            fn from(x: $engine) -> Self {
                $body { $($f: x.$f),* }
            }
        }

        impl From<$body> for $engine {
            fn from(x: $body) -> Self {
                Self { $($f: x.$f),* }
            }
        }
    };
}

same_fields!(
    Weights,
    WeightsBody {
        industry,
        company_size,
        engagement,
        decision_maker,
        urgency,
        budget_signals,
        ai_insights,
    }
);

impl Default for WeightsBody {
    fn default() -> Self {
        Weights::default().into()
    }
}

/// Category thresholds on the 0–100 total: 100 ≥ hot > warm > lukewarm > 0.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdsBody {
    /// Default 80.
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub hot: f64,
    /// Default 60.
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub warm: f64,
    /// Default 40.
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub lukewarm: f64,
}

impl Default for ThresholdsBody {
    fn default() -> Self {
        let t = CategoryThresholds::default();
        ThresholdsBody {
            hot: t.hot,
            warm: t.warm,
            lukewarm: t.lukewarm,
        }
    }
}

/// One industry of the table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndustryRuleBody {
    /// Canonical name, also matched as a whole word ("technology").
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Points out of the default 20 (scaled with the industry weight).
    #[schema(minimum = 0, maximum = 20)]
    pub points: f64,
    /// Other words for it ("software", "saas").
    #[serde(default)]
    #[schema(max_items = 100)]
    pub synonyms: Vec<String>,
}

/// The industry table; `rules`, when given, replaces the default list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IndustryTableBody {
    /// The named industries.
    #[schema(max_items = 200)]
    pub rules: Vec<IndustryRuleBody>,
    /// Points for any other or unknown industry, out of 20 (default 5).
    #[schema(minimum = 0, maximum = 20)]
    pub other_points: f64,
}

impl Default for IndustryTableBody {
    fn default() -> Self {
        IndustryTable::default().into()
    }
}

impl From<IndustryTable> for IndustryTableBody {
    fn from(t: IndustryTable) -> Self {
        IndustryTableBody {
            rules: t
                .rules
                .into_iter()
                .map(|r| IndustryRuleBody {
                    name: r.name,
                    points: r.points,
                    synonyms: r.synonyms,
                })
                .collect(),
            other_points: t.other_points,
        }
    }
}

/// An organization's scoring configuration. Every field has a default, so a
/// body gives only what it changes (a `PUT` replaces the whole configuration
/// with the body and the defaults).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfigBody {
    /// Share of the 100 points each factor can earn.
    pub weights: WeightsBody,
    /// Industry points and synonyms.
    pub industries: IndustryTableBody,
    /// Category thresholds.
    pub thresholds: ThresholdsBody,
}

impl From<ScoringConfig> for ScoringConfigBody {
    fn from(c: ScoringConfig) -> Self {
        ScoringConfigBody {
            weights: c.weights.into(),
            industries: c.industries.into(),
            thresholds: ThresholdsBody {
                hot: c.thresholds.hot,
                warm: c.thresholds.warm,
                lukewarm: c.thresholds.lukewarm,
            },
        }
    }
}

impl ScoringConfigBody {
    /// The engine's configuration, not yet checked: every front end checks
    /// it with the same `actions::scoring::validate_config` (through
    /// `set_config` and `preview`).
    pub fn into_config(self) -> ScoringConfig {
        ScoringConfig {
            weights: self.weights.into(),
            industries: IndustryTable {
                rules: self
                    .industries
                    .rules
                    .into_iter()
                    .map(|r| IndustryRule {
                        name: r.name,
                        points: r.points,
                        synonyms: r.synonyms,
                    })
                    .collect(),
                other_points: self.industries.other_points,
            },
            thresholds: CategoryThresholds {
                hot: self.thresholds.hot,
                warm: self.thresholds.warm,
                lukewarm: self.thresholds.lukewarm,
            },
        }
    }
}

/// The stored configuration and what changing it did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoringConfigUpdated {
    /// The configuration now in force.
    pub config: ScoringConfigBody,
    /// Leads of the organization marked for re-scoring by the next batch.
    pub leads_marked_for_rescoring: u64,
}

/// The outcome of a scoring batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoringRunOut {
    /// `completed`, or `completed_with_failures` when some leads could not be
    /// scored or stored (they are logged and retried by the next run).
    #[schema(value_type = vocab::RunStatus)]
    pub status: String,
    /// Leads that needed a score (never scored, older than 7 days, or changed).
    pub total_processed: u64,
    /// Leads scored and stored.
    pub successful: u64,
    /// Leads that failed.
    pub failed: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Leads of one category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCountOut {
    /// The category.
    #[schema(value_type = ScoreCategory)]
    pub category: String,
    /// Leads in it.
    pub leads: i64,
}

/// Leads of one source with their average score.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceScoreOut {
    /// The lead source.
    #[schema(value_type = crate::http::wire::vocab::LeadSource)]
    pub source: String,
    /// Leads from it.
    pub leads: i64,
    /// Of which scored.
    pub scored: i64,
    /// Average score of the scored ones; `null` when none is.
    pub average_score: Option<f64>,
}

/// Leads of one industry (as recorded on their contacts) with their average
/// score.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndustryScoreOut {
    /// The industry; `null` for leads whose contact records none (or that
    /// have no contact).
    pub industry: Option<String>,
    /// Leads in it.
    pub leads: i64,
    /// Of which scored.
    pub scored: i64,
    /// Average score of the scored ones; `null` when none is.
    pub average_score: Option<f64>,
}

/// A lead whose score moved in the window.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreMoveOut {
    /// The lead.
    pub lead_id: i64,
    /// Its title.
    pub title: String,
    /// Its score when the window opened (its first score, for a lead first
    /// scored within the window).
    pub old_score: f64,
    /// Its latest score.
    pub new_score: f64,
    /// `new_score - old_score`.
    pub change: f64,
    /// Its latest category.
    #[schema(value_type = ScoreCategory)]
    pub category: String,
}

/// The organization's scoring at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoringAnalyticsOut {
    /// Days covered by `top_movers`.
    pub window_days: i64,
    /// Leads per category, hot first (every category, zeros included).
    pub distribution: Vec<CategoryCountOut>,
    /// Leads never scored.
    pub unscored: i64,
    /// Average score per lead source.
    pub by_source: Vec<SourceScoreOut>,
    /// Average score per industry, largest groups first (at most 25).
    pub by_industry: Vec<IndustryScoreOut>,
    /// The leads whose score moved most in the window, largest move first
    /// (at most 10).
    pub top_movers: Vec<ScoreMoveOut>,
}

// ---------------------------------------------------------------- handlers

endpoint! {
    /// Scores the lead now with the organization's configuration, stores the
    /// score (and its history when it changed), publishes `lead_scored` when it
    /// changed, and returns the full breakdown.
    post "/api/leads/{id}/score" in "scoring" [params(("id" = i64, Path, description = "Lead id"))]
        => ScoreBreakdown, 400 "Bad id", 404 "No such lead";
    async fn score_lead(state, user: AuthUser, Id(id): Id<LeadId>) {
        let now = Utc::now();
        let scored = actions::score_now(&state.crm, &user.caller(), id, now).await?;
        Ok(Json(ScoreBreakdown::new(id, &scored.score, now)?))
    }
}

endpoint! {
    /// The lead's stored score and breakdown (404 when it was never scored).
    get "/api/leads/{id}/score" in "scoring" [params(("id" = i64, Path, description = "Lead id"))]
        => ScoreBreakdown, 400 "Bad id", 404 "No such lead, or not scored yet";
    async fn get_score(state, user: AuthUser, Id(id): Id<LeadId>) {
        let lead =
            neuracrm_actions::records::get::<neuracrm_domain::Lead>(&state.crm, &user.caller(), id)
                .await?;
        ScoreBreakdown::stored(&lead)?.map(Json).ok_or_else(|| {
            ApiError::NotFound(format!(
                "score of lead {} (never scored: POST /api/leads/{}/score)",
                id.0, id.0
            ))
        })
    }
}

impl ScoreBreakdown {
    /// The breakdown stored with a lead; `None` when it was never scored.
    pub(crate) fn stored(lead: &neuracrm_domain::Lead) -> ApiResult<Option<ScoreBreakdown>> {
        let (Some(total), Some(category), Some(confidence), Some(factors)) = (
            lead.score,
            lead.score_category.clone(),
            lead.score_confidence,
            lead.score_factors.as_ref(),
        ) else {
            return Ok(None);
        };
        let stored = RenderedFactors::from_stored(lead.id, factors)?;
        Ok(Some(ScoreBreakdown {
            lead_id: lead.id.0,
            total,
            category,
            confidence,
            factors: stored.factors,
            recommendations: stored.recommendations,
            scored_at: lead.score_updated_at,
        }))
    }
}

endpoint! {
    /// The lead's score history, newest first: one entry per change of score.
    get "/api/leads/{id}/score/history" in "scoring"
        [params(("id" = i64, Path, description = "Lead id"), HistoryQuery)]
        => ScoreHistoryOut, 400 "Bad id or limit", 404 "No such lead";
    async fn score_history(state, user: AuthUser, Id(id): Id<LeadId>, Query(q): Query<HistoryQuery>) {
        let limit = q.limit.unwrap_or(100);
        let items = actions::history(&state.crm, &user.caller(), id, limit)
            .await?
            .into_iter()
            .map(|p| ScorePointOut {
                score: p.score,
                category: p.category,
                confidence: p.confidence,
                scored_at: p.scored_at,
            })
            .collect();
        Ok(Json(ScoreHistoryOut {
            lead_id: id.0,
            items,
        }))
    }
}

endpoint! {
    /// The organization's scoring configuration (defaults where it changed
    /// nothing).
    get "/api/scoring/config" in "scoring" => ScoringConfigBody;
    async fn get_config(state, user: AuthUser) {
        let config = actions::config(&state.crm, &user.caller()).await?;
        Ok(Json(config.into()))
    }
}

endpoint! {
    /// Replaces the organization's scoring configuration (admins only). The body
    /// is validated (weights 0–1 summing to 1, thresholds ordered, industry
    /// table well formed; 422 naming the field) and every lead of the
    /// organization is marked for re-scoring by the next batch.
    put "/api/scoring/config" in "scoring" [request_body = ScoringConfigBody]
        => ScoringConfigUpdated,
        400 "Malformed body",
        403 "Not an admin",
        415 "Not JSON",
        422 "Invalid configuration; `field` names it";
    async fn put_config(state, AdminUser(admin): AdminUser, Json(body): Json<ScoringConfigBody>) {
        let config = body.into_config();
        let marked = actions::set_config(&state.crm, &admin.caller(), &config).await?;
        Ok(Json(ScoringConfigUpdated {
            config: config.into(),
            leads_marked_for_rescoring: marked,
        }))
    }
}

/// How many leads a preview scores.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The most recently created leads to score, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub sample: Option<u32>,
}

/// One lead of a preview: its stored score and what the configuration would
/// give it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewedLeadOut {
    /// The lead.
    pub lead_id: i64,
    /// Its title.
    pub title: String,
    /// Its stored score; `null` when never scored.
    pub current_score: Option<f64>,
    /// Its stored category; `null` when never scored.
    #[schema(value_type = Option<ScoreCategory>)]
    pub current_category: Option<String>,
    /// The score the configuration gives it.
    pub score: f64,
    /// Its category under the configuration's thresholds.
    #[schema(value_type = ScoreCategory)]
    pub category: String,
    /// Its confidence (share of the weight backed by real data), 0–1.
    pub confidence: f64,
    /// `score - current_score`; `null` when never scored.
    pub change: Option<f64>,
}

/// What a configuration would do to a sample of the organization's leads.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoringPreviewOut {
    /// The leads scored, most recently created first.
    pub items: Vec<PreviewedLeadOut>,
}

impl From<actions::Previewed> for PreviewedLeadOut {
    fn from(p: actions::Previewed) -> Self {
        PreviewedLeadOut {
            lead_id: p.lead_id.0,
            title: p.title,
            change: p
                .current_score
                .map(|c| ((p.score.total - c) * 100.0).round() / 100.0),
            current_score: p.current_score,
            current_category: p.current_category,
            score: p.score.total,
            category: p.score.category.name().into(),
            confidence: p.score.confidence,
        }
    }
}

endpoint! {
    /// Scores a sample of the organization's leads (the most recently created)
    /// with the configuration in the body, validated exactly as `PUT
    /// /api/scoring/config` validates it, and returns each lead's stored score
    /// beside the one the configuration would give it. Nothing is stored (admins
    /// only). Buying intent is the one each stored score read.
    post "/api/scoring/config/preview" in "scoring"
        [params(PreviewQuery), request_body = ScoringConfigBody]
        => ScoringPreviewOut,
        400 "Malformed body or bad sample",
        403 "Not an admin",
        415 "Not JSON",
        422 "Invalid configuration; `field` names it";
    async fn preview_config(
        state,
        AdminUser(admin): AdminUser,
        Query(q): Query<PreviewQuery>,
        Json(body): Json<ScoringConfigBody>
    ) {
        let sample = q.sample.unwrap_or(actions::PREVIEW_DEFAULT);
        let config = body.into_config();
        let items = actions::preview(&state.crm, &admin.caller(), &config, sample, Utc::now()).await?;
        Ok(Json(ScoringPreviewOut {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }
}

endpoint! {
    /// Runs a scoring batch for the organization now (admins and managers) and
    /// returns its summary: leads never scored, older than 7 days or changed
    /// since are scored; each changed score publishes `lead_scored`.
    post "/api/scoring/run" in "scoring"
        => ScoringRunOut, 403 "Reps cannot start batches";
    async fn run_scoring(state, user: AuthUser) {
        let s = actions::run(&state.crm, &user.caller()).await?;
        Ok(Json(ScoringRunOut {
            status: if s.failed == 0 {
                "completed"
            } else {
                "completed_with_failures"
            }
            .into(),
            total_processed: s.total_processed,
            successful: s.successful,
            failed: s.failed,
            seconds: s.seconds,
        }))
    }
}

endpoint! {
    /// Scoring analytics: leads per category, average score per source and per
    /// industry, and the leads whose score moved most in the last 7 days.
    get "/api/scoring/analytics" in "scoring" => ScoringAnalyticsOut;
    async fn analytics(state, user: AuthUser) {
        let a = actions::analytics(&state.crm, &user.caller()).await?;
        Ok(Json(ScoringAnalyticsOut::from(a)))
    }
}

impl From<neuracrm_store::scoring::ScoringAnalytics> for ScoringAnalyticsOut {
    fn from(a: neuracrm_store::scoring::ScoringAnalytics) -> Self {
        let count = |word: &str| {
            a.distribution
                .iter()
                .filter(|c| c.category.as_deref() == Some(word))
                .map(|c| c.leads)
                .sum::<i64>()
        };
        let distribution = ["hot", "warm", "lukewarm", "cold"]
            .into_iter()
            .map(|word| CategoryCountOut {
                category: word.into(),
                leads: count(word),
            })
            .collect();
        let unscored = a
            .distribution
            .iter()
            .filter(|c| c.category.is_none())
            .map(|c| c.leads)
            .sum();
        ScoringAnalyticsOut {
            window_days: actions::WINDOW_DAYS,
            distribution,
            unscored,
            by_source: a
                .by_source
                .into_iter()
                .map(|g| SourceScoreOut {
                    source: g.key.unwrap_or_default(),
                    leads: g.leads,
                    scored: g.scored,
                    average_score: g.average_score,
                })
                .collect(),
            by_industry: a
                .by_industry
                .into_iter()
                .map(|g| IndustryScoreOut {
                    industry: g.key,
                    leads: g.leads,
                    scored: g.scored,
                    average_score: g.average_score,
                })
                .collect(),
            top_movers: a
                .top_movers
                .into_iter()
                .map(|m| ScoreMoveOut {
                    lead_id: m.lead_id,
                    title: m.title,
                    old_score: m.old_score,
                    new_score: m.new_score,
                    change: ((m.new_score - m.old_score) * 100.0).round() / 100.0,
                    category: m.category,
                })
                .collect(),
        }
    }
}

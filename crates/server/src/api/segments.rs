//! `/api/segments`: customer segments. The segment resource (list, create
//! with its first members, read, rename or re-rule, delete) goes through the
//! generic mechanism; a rule's preview, a segment's members with their
//! metrics, its stats and a refresh now are written by hand.

use chrono::{DateTime, Utc};
use neuracrm_actions::segments::suggest::{self, SaveSuggestion, Suggestions};
use neuracrm_actions::segments::{self, Member, Preview, SegmentStats};
use neuracrm_domain as d;
use neuracrm_domain::SegmentId;
use neuracrm_store::segments::{Applied, ContactMetrics};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::extract::{Id, Json, Query};

use crate::http::openapi::{endpoint, reads, routes_of};
use crate::http::resource::{Conflicts, Docs, Resource, SUMMARIES, Summaries, crud, wire_types};
use crate::http::wire::{PageQuery, page, page_type};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<d::Segment>().merge(routes_of!(
        preview,
        (segment_members, edit_members),
        segment_stats,
        refresh,
        rfm_segments,
        suggestions,
        save_suggestion
    ))
}

impl Resource for d::Segment {
    wire_types!(
        SegmentOut,
        SegmentPage,
        CreateSegment,
        d::SegmentPatch,
        SegmentPatchBody,
        PageQuery
    );

    const DOCS: Docs = Docs::new("segment", "segments")
        .summaries(Summaries {
            create: Some(
                "Creates a segment and computes its members (a static segment keeps them as its snapshot).",
            ),
            update: Some(
                "Changes a segment's name, description or rule (a new rule is evaluated at once).",
            ),
            delete: Some(
                "Deletes a segment and its memberships, unless a campaign is scheduled to send to it.",
            ),
            ..SUMMARIES
        })
        .conflicts(Conflicts {
            create: None,
            update: None,
            delete: Some("A campaign is scheduled to send to the segment (the message names it)"),
        })
        .invalid(
            "Invalid field; `field` names the place in the rule (`rule.children[1].value`)",
            "Invalid field; `field` names the place in the rule",
        );

}

impl From<CreateSegment> for d::NewSegment {
    fn from(body: CreateSegment) -> Self {
        d::NewSegment {
            name: body.name,
            description: body.description,
            kind: body.kind,
            rule: body.rule,
        }
    }
}

/// Dynamic or static.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKindDoc {
    /// Re-evaluated by the scheduler and after relevant changes.
    Dynamic,
    /// A snapshot taken when saved; changed only by hand.
    Static,
}

/// A segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentOut {
    id: i64,
    organization_id: i64,
    name: String,
    description: Option<String>,
    #[schema(value_type = SegmentKindDoc)]
    kind: d::SegmentKind,
    /// The rule tree (see docs/api.md, "Segments").
    #[schema(value_type = Object)]
    rule: serde_json::Value,
    /// Members as of the last refresh.
    size: i64,
    /// When the members were last computed.
    refreshed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<d::Segment> for SegmentOut {
    fn from(s: d::Segment) -> Self {
        SegmentOut {
            id: s.id.0,
            organization_id: s.organization_id.0,
            name: s.name,
            description: s.description,
            kind: s.kind,
            rule: s.rule.to_json(),
            size: s.size,
            refreshed_at: s.refreshed_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

page_type!(
    /// A page of segments.
    SegmentPage, SegmentOut, d::Segment
);

/// A new segment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSegment {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    description: Option<String>,
    #[schema(value_type = SegmentKindDoc)]
    kind: d::SegmentKind,
    /// A group `{"op": "and" | "or" | "not", "children": [...]}` or a
    /// condition `{"field", "operand", "value"}` (docs/api.md, "Segments").
    #[schema(value_type = Object)]
    rule: serde_json::Value,
}

/// A partial update of a segment: absent fields stay; `description: null`
/// clears it.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SegmentPatchBody {
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    name: Option<String>,
    #[schema(max_length = 2000)]
    description: Option<String>,
    #[schema(nullable = false, value_type = Option<Object>)]
    rule: Option<serde_json::Value>,
}

/// A rule to try without saving it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePreviewBody {
    /// As in `POST /api/segments`.
    #[schema(value_type = Object)]
    rule: serde_json::Value,
}

/// A contact's metrics, named as in rules (documentation of what is sent).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct MetricsDoc {
    contact_id: i64,
    total_leads: i64,
    total_deals: i64,
    won_deals: i64,
    lost_deals: i64,
    open_deals: i64,
    total_deal_value_cents: i64,
    avg_deal_value_cents: Option<f64>,
    won_value_cents: i64,
    open_value_cents: i64,
    first_won_at: Option<DateTime<Utc>>,
    last_won_at: Option<DateTime<Utc>>,
    /// Activities naming the contact, one of its leads or deals, each once.
    total_activities: i64,
    last_activity_at: Option<DateTime<Utc>>,
    activities_30d: i64,
    activities_90d: i64,
    avg_lead_score: Option<f64>,
    /// Compound sentiment (-1..1) of the latest analysed activity.
    latest_sentiment: Option<f64>,
    /// Won / (won + lost).
    conversion_rate: Option<f64>,
    /// Activities per month since the contact was created.
    activity_score: f64,
    /// Won value plus open value times the conversion rate, in cents.
    customer_value_score: f64,
    /// RFM scores 1–5 among the organization's customers (none without a
    /// won deal): recency (5: won most recently), frequency, monetary.
    rfm_recency: Option<i64>,
    rfm_frequency: Option<i64>,
    rfm_monetary: Option<i64>,
    /// `champions`, `loyal_customers`, `potential_loyalists`,
    /// `new_customers`, `promising`, `need_attention`, `about_to_sleep`,
    /// `at_risk`, `cant_lose` or `hibernating`.
    rfm_segment: Option<String>,
}

/// A member (or a preview's contact) with its metrics.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    contact_id: i64,
    first_name: String,
    last_name: Option<String>,
    email: Option<String>,
    company: Option<String>,
    /// When it entered the segment (for a preview: now).
    entered_at: DateTime<Utc>,
    #[schema(value_type = MetricsDoc)]
    metrics: ContactMetrics,
}

impl From<Member> for MemberOut {
    fn from(m: Member) -> Self {
        let c = m.contact;
        MemberOut {
            contact_id: c.contact_id,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            company: c.company,
            entered_at: c.entered_at,
            metrics: m.metrics,
        }
    }
}

page_type!(
    /// A page of a segment's members, by contact id.
    MemberPage, MemberOut, Member
);

/// What a rule selects now.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulePreviewOut {
    /// Contacts selected.
    count: u64,
    /// The first ten by id.
    sample: Vec<MemberOut>,
}

impl From<Preview> for RulePreviewOut {
    fn from(p: Preview) -> Self {
        RulePreviewOut {
            count: p.count,
            sample: p.sample.into_iter().map(Into::into).collect(),
        }
    }
}

/// What a segment's members are worth together (documentation of what is
/// sent).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct StatsDoc {
    size: i64,
    total_won_value_cents: i64,
    /// Won value per member.
    avg_won_value_cents: Option<f64>,
    /// The members' won deals over their closed deals.
    conversion_rate: Option<f64>,
    /// Mean of the members' average lead scores.
    avg_lead_score: Option<f64>,
    /// Mean of the members' latest sentiment.
    avg_sentiment: Option<f64>,
    /// Share of members with a won deal and no activity in 90 days.
    at_risk_share: Option<f64>,
    /// Sum of the members' open deal values.
    open_pipeline_cents: i64,
}

/// A refresh's writes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshOut {
    /// Contacts that entered.
    entered: u64,
    /// Contacts that left.
    left: u64,
    /// Members now.
    size: i64,
}

impl From<Applied> for RefreshOut {
    fn from(a: Applied) -> Self {
        RefreshOut {
            entered: a.entered,
            left: a.left,
            size: a.size,
        }
    }
}

endpoint! {
    /// Counts and samples the contacts a rule selects, without saving it.
    post "/api/segments/preview" in "segments" [request_body = RulePreviewBody] => RulePreviewOut,
        400 "Malformed body", 422 "Invalid rule; `field` names the place in it";
    async fn preview(state, user: AuthUser, Json(body): Json<RulePreviewBody>) {
        let found = segments::preview(&state.crm, &user.caller(), &body.rule).await?;
        Ok(Json(found.into()))
    }
}

reads!(
    /// A page of the segment's members with their metrics.
    segment_members: "/api/segments/{id}/members" in "segments", "Segment id" SegmentId
        => paged MemberPage, "No such segment", segments::members
);

endpoint! {
    /// The segment's size, won value, conversion, lead score, sentiment, share
    /// at risk and open pipeline.
    get "/api/segments/{id}/stats" in "segments"
        [params(("id" = i64, Path, description = "Segment id"))]
        => SegmentStats as StatsDoc, 400 "Bad id", 404 "No such segment";
    async fn segment_stats(state, user: AuthUser, Id(id): Id<SegmentId>) {
        Ok(Json(segments::stats(&state.crm, &user.caller(), id).await?))
    }
}

/// Contacts to add to and remove from a static segment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMembers {
    /// Contact ids to add (ids of no contact of the organization add nothing).
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    add: Vec<neuracrm_domain::ContactId>,
    /// Contact ids to remove.
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    remove: Vec<neuracrm_domain::ContactId>,
}

endpoint! {
    /// Adds and removes members of a static segment by hand.
    post "/api/segments/{id}/members" in "segments"
        [params(("id" = i64, Path, description = "Segment id")), request_body = EditMembers]
        => RefreshOut, 400 "Bad id or malformed body", 404 "No such segment",
        409 "A dynamic segment", 422 "Too many contacts, or one both added and removed";
    async fn edit_members(state, user: AuthUser, Id(id): Id<SegmentId>, Json(body): Json<EditMembers>) {
        let caller = user.caller();
        let applied = segments::edit_members(&state.crm, &caller, id, &body.add, &body.remove).await?;
        Ok(Json(applied.into()))
    }
}

endpoint! {
    /// Re-evaluates a dynamic segment now; writes only who entered and left.
    post "/api/segments/{id}/refresh" in "segments"
        [params(("id" = i64, Path, description = "Segment id"))]
        => RefreshOut, 400 "Bad id", 404 "No such segment", 409 "A static segment";
    async fn refresh(state, user: AuthUser, Id(id): Id<SegmentId>) {
        let applied = segments::refresh_now(&state.crm, &user.caller(), id).await?;
        Ok(Json(applied.into()))
    }
}

endpoint! {
    /// Creates the ten RFM segments (`RFM: champions`, ...) as dynamic
    /// segments of the organization, each `{"field": "rfm_segment", "operand":
    /// "is", "value": ...}`.
    post "/api/segments/rfm" in "segments" => 201 Vec<SegmentOut>;
    async fn rfm_segments(state, user: AuthUser) {
        let made = segments::create_rfm_segments(&state.crm, &user.caller()).await?;
        let made = made.into_iter().map(Into::into).collect();
        Ok((axum::http::StatusCode::CREATED, Json(made)))
    }
}

/// The seed of a clustering.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestQuery {
    /// Seed of the sample and of the k-means++ starts (default 17): the
    /// same seed over the same data gives the same clusters.
    #[param(minimum = 0)]
    seed: Option<u64>,
}

/// A suggestion's centre on one feature (documentation of what is sent).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct CentreDoc {
    /// `won_value`, `won_deals`, `open_value`, `open_deals`,
    /// `activities_30d`, `days_since_activity`, `conversion_rate` or
    /// `avg_lead_score`.
    feature: String,
    /// The cluster's mean in the feature's units (money as ln(1 + dollars)).
    mean: f64,
    /// The same in standard deviations from the average.
    z: f64,
}

/// One suggested segment (documentation of what is sent).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SuggestionDoc {
    /// Its number in the answer (largest first), for the save.
    cluster: i64,
    /// How its centre differs from the average, in words.
    description: String,
    /// Contacts of the organization it holds (estimated from the sample
    /// when the organization was sampled).
    size: i64,
    /// Its share of the contacts clustered.
    share: f64,
    centre: Vec<CentreDoc>,
    /// The stats of its clustered members.
    stats: StatsDoc,
}

/// The mean silhouette of one k (documentation of what is sent).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct KScoreDoc {
    k: i64,
    silhouette: f64,
}

/// Suggested segments (documentation of what is sent).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SuggestionsDoc {
    /// The seed used.
    seed: i64,
    /// Contacts of the organization.
    contacts: i64,
    /// Contacts clustered (a sample of at most 20,000).
    sampled: i64,
    /// Clusters chosen (the best mean silhouette of 2 to 8).
    k: i64,
    silhouettes: Vec<KScoreDoc>,
    /// Largest first.
    clusters: Vec<SuggestionDoc>,
}

endpoint! {
    /// Clusters the organization's contacts by k-means over their metrics and
    /// describes each cluster in words, with its size and stats.
    get "/api/segments/suggestions" in "segments" [params(SuggestQuery)]
        => Suggestions as SuggestionsDoc, 400 "Bad seed";
    async fn suggestions(state, user: AuthUser, Query(q): Query<SuggestQuery>) {
        Ok(Json(suggest::suggest(&state.crm, &user.caller(), q.seed).await?))
    }
}

/// A suggestion to save as a static segment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveSuggestionBody {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The `seed` of the suggestions shown (default 17).
    #[serde(default)]
    seed: Option<u64>,
    /// Their `k`.
    #[schema(minimum = 2, maximum = 8)]
    k: usize,
    /// The suggestion's `cluster`.
    #[schema(minimum = 0)]
    cluster: usize,
}

endpoint! {
    /// Saves a suggestion as a static segment: the clustering of `seed` and `k`
    /// is made again and every contact of the organization placed in its
    /// nearest cluster; those of `cluster` are the members.
    post "/api/segments/suggestions/save" in "segments" [request_body = SaveSuggestionBody]
        => 201 SegmentOut, 400 "Malformed body", 422 "Bad name, k or cluster";
    async fn save_suggestion(state, user: AuthUser, Json(body): Json<SaveSuggestionBody>) {
        let input = SaveSuggestion {
            name: body.name,
            seed: body.seed.unwrap_or(suggest::DEFAULT_SEED),
            k: body.k,
            cluster: body.cluster,
        };
        let saved = suggest::save(&state.crm, &user.caller(), input).await?;
        Ok((axum::http::StatusCode::CREATED, Json(saved.into())))
    }
}

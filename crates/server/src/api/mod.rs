//! The JSON API: one module per area (its handlers and wire types
//! together), collected with their OpenAPI descriptions into one router and
//! one document. A new area is a module and one name in `areas!`.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;
use crate::http::wire::vocab;

pub mod health;

/// Declares the areas, one module each, and merges their routes and
/// OpenAPI descriptions, in this order, into [`api`].
macro_rules! areas {
    ($($area:ident),+ $(,)?) => {
        $(pub mod $area;)+

        fn merged(doc: utoipa::openapi::OpenApi) -> OpenApiRouter<AppState> {
            let router = OpenApiRouter::with_openapi(doc);
            $(let router = merge_area(router, stringify!($area), $area::router());)+
            router
        }
    };
}

/// Merges an area's routes into `router`, refusing (at startup, so every
/// test fails) a schema name the area gives a different meaning than an
/// area merged before: the description keeps one of the two, and the other
/// area's answers would contradict their documented schema.
fn merge_area(
    router: OpenApiRouter<AppState>,
    area: &str,
    next: OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let known = router.get_openapi().components.as_ref();
    let added = next.get_openapi().components.as_ref();
    if let (Some(known), Some(added)) = (known, added) {
        for (name, schema) in &added.schemas {
            if let Some(before) = known.schemas.get(name) {
                assert!(
                    before == schema,
                    "the API area `{area}` defines the schema `{name}` differently than an area before it; rename one"
                );
            }
        }
    }
    router.merge(next)
}

areas!(
    auth,
    users,
    sessions,
    contacts,
    leads,
    deals,
    activities,
    import,
    sentiment,
    forecast,
    forecasting_models,
    scoring,
    segments,
    campaigns,
    voice,
    events,
);

#[derive(OpenApi)]
#[openapi(
    info(title = "NeuraCRM API", description = "Multi-tenant CRM: every resource is scoped to the caller's organization. Errors are `{\"error\": {\"code\", \"message\", \"request_id\", \"field\"?}}`."),
    modifiers(&BearerAuth),
    // Used only by query parameters, which do not register their schemas.
    components(schemas(
        vocab::SortOrder,
        vocab::ContactSortKey,
        vocab::LeadSortKey,
        vocab::DealSortKey,
        vocab::LeadStatus,
        vocab::LeadSource,
        vocab::DealStage,
        vocab::DealStatus,
        vocab::ActivityType,
        vocab::Role,
        vocab::ScoreCategory,
        vocab::CampaignStatus,
        vocab::RecipientStatus,
        campaigns::CampaignAction,
    )),
    tags(
        (name = "auth", description = "Registration, login, tokens"),
        (name = "users", description = "Users of the organization (admins only)"),
        (name = "contacts", description = "People at customers and prospects"),
        (name = "leads", description = "Opportunities being qualified"),
        (name = "deals", description = "The pipeline"),
        (name = "activities", description = "Interactions"),
        (name = "import", description = "Bulk import"),
        (name = "sentiment", description = "Sentiment of texts and of activities"),
        (name = "forecasting", description = "Forecasts of revenue, won deals and new customers; forecasting models and their accuracy"),
        (name = "scoring", description = "Lead scores, their configuration, batches and analytics"),
        (name = "segments", description = "Customer segments: rule trees over contact fields, metrics, leads and deals; members, stats"),
        (name = "campaigns", description = "E-mail templates, campaigns, their send logs, the suppression list"),
        (name = "voice", description = "AI voice calls through Retell: calling settings, agents per scenario, calls, contacts' calling preferences, Retell's webhook"),
        (name = "events", description = "The organization's events, live (Server-Sent Events)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The API routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    merged(ApiDoc::openapi()).split_for_parts()
}

/// Every route of the application: the API, `/api/openapi.json`, Swagger UI
/// at `/api/docs`, and the health probes.
pub fn router() -> Router<AppState> {
    let (api, doc) = api();
    api.merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .merge(health::router())
        .merge(campaigns::public_router())
}

//! NeuraCRM's use cases, one function per action.
//!
//! Every write and every read with more to it than one lookup (create a
//! deal, move it to another stage, log an activity, score a lead now, import
//! a CSV file, make a forecast, ...) is one function here. It takes the
//! [`Caller`] (user, organization, role) and typed input, checks the role and
//! what the types cannot say, writes through the store, publishes the event
//! once the write has committed, and returns a domain value or an
//! [`ActionError`]. The JSON API, the web UI, the CLI and the scheduler call
//! these functions and only translate between their medium and them, so the
//! same action has the same checks and the same events wherever it starts.
//!
//! [`Crm`] holds what the actions need (the store, the event bus, the
//! analysers and caches that live for the process) and is cheap to clone.
//!
//! - [`records`]: the one mechanism behind the records with the
//!   create/read/change/delete shape; [`contacts`], [`leads`], [`deals`],
//!   [`activities`], [`users`] and [`forecasting`]'s models state theirs;
//! - [`auth`]: registration and the caller's identity;
//! - [`sessions`]: sign-in sessions (open, prove, refresh, close, revoke),
//!   the same for the JSON API's tokens and a web UI's cookies;
//! - [`import`]: CSV import of contacts and leads, in the request or in the
//!   background;
//! - [`campaigns`]: e-mail templates, campaigns, suppressions and the sender;
//! - [`scoring`], [`forecasting`], [`sentiment`]: the engines' actions;
//! - [`segments`]: customer segments, their members, stats and refresh;
//! - [`summaries`]: the memo of the summaries over history that pages show
//!   (score movers, sentiment of a period), computed in the background when
//!   they are slow;
//! - [`voice`]: AI voice calls through Retell: agents, calls within the
//!   guardrails, verified webhooks, `calls sync`.
//!
//! ```no_run
//! # async fn demo(crm: neuracrm_actions::Crm, caller: neuracrm_actions::Caller) -> neuracrm_actions::ActionResult<()> {
//! use neuracrm_actions::records;
//! use neuracrm_domain::{Deal, DealId, DealPatch, DealStage};
//! let patch = DealPatch { stage: Some(DealStage::Negotiation), ..Default::default() };
//! // Checks, writes, publishes `deal_updated` with the old and new stage.
//! let deal = records::update::<Deal>(&crm, &caller, DealId(7), patch).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use neuracrm_domain::{DomainEvent, EventKind, OrgId};
use neuracrm_events::EventBus;
use neuracrm_jobs::intent::IntentService;
use neuracrm_jobs::sentiment::SentimentService;
use neuracrm_store::Store;

pub mod activities;
pub mod auth;
mod caller;
pub mod campaigns;
pub mod contacts;
pub mod deals;
mod error;
pub mod forecasting;
pub mod import;
pub mod leads;
pub mod records;
pub mod scoring;
pub mod segments;
pub mod sentiment;
pub mod sessions;
pub mod summaries;
pub mod users;
pub mod voice;

pub use caller::{Access, Caller};
pub use error::{ActionError, ActionResult, error_chain};

/// What the actions act with; one per process, cloned into every front end.
#[derive(Debug, Clone)]
pub struct Crm {
    /// The repositories.
    pub store: Store,
    /// Where every write announces itself.
    pub events: Arc<dyn EventBus>,
    /// Reads buying intent: for "score now" the LLM when configured (its
    /// answers stored per organization), else the offline estimator; for
    /// the batch as `llm.batch` says.
    pub intent: Arc<IntentService>,
    /// Each organization's sentiment analyser (models loaded once, shared).
    pub sentiment: Arc<SentimentService>,
    /// Forecasts computed on demand, per organization (per process).
    pub forecasts: Arc<forecasting::ForecastCache>,
    /// Summaries over history the pages show, per organization (per
    /// process).
    pub summaries: Arc<summaries::Summaries>,
    /// Wakes this process's background import worker.
    pub imports: Arc<import::ImportQueue>,
    /// The SMTP pool campaigns are sent through (`None`: no `smtp.url`).
    pub mailer: Option<Arc<campaigns::send::Mailer>>,
    /// Signs and verifies the links of campaign messages (`None`: messages
    /// carry no unsubscribe link, and no link verifies).
    pub links: Option<Arc<campaigns::links::Links>>,
    /// Retell, for voice calls (`None`: calls cannot be placed and webhooks
    /// are refused).
    pub voice: Option<Arc<voice::VoiceService>>,
}

impl Crm {
    /// The actions over `store`, publishing on `events`.
    pub fn new(
        store: Store,
        events: Arc<dyn EventBus>,
        intent: Arc<IntentService>,
        sentiment: Arc<SentimentService>,
    ) -> Crm {
        Crm {
            store,
            events,
            intent,
            sentiment,
            forecasts: Arc::default(),
            summaries: Arc::default(),
            imports: Arc::default(),
            mailer: None,
            links: None,
            voice: None,
        }
    }

    /// Publishes an event of `org` happening now.
    pub fn publish(&self, org: OrgId, kind: EventKind) {
        self.events
            .publish(DomainEvent::new(org, chrono::Utc::now(), kind));
    }
}

//! Builds the application and serves it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use neuracrm_actions::Crm;
use neuracrm_events::{BroadcastBus, EventBus, RedisBus, RedisBusError, RedisBusOptions};
use neuracrm_store::Store;
use tokio::net::TcpListener;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::Settings;
use crate::api;
use crate::background::Background;
use crate::http::auth::{LoginLimits, SlidingWindow, TokenKeys, TrustedProxies};
use crate::http::error::REQUEST_ID;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases, with the store, the event bus, the analysers and the
    /// forecast cache they act with.
    pub crm: Crm,
    /// The settings the app was built with.
    pub settings: Arc<Settings>,
    /// Token signing and verification.
    pub tokens: Arc<TokenKeys>,
    /// Login rate limits (per process).
    pub login_limits: Arc<LoginLimits>,
    /// Registrations per client address (per process).
    pub registration_limit: Arc<SlidingWindow>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Turns `true` when the server starts shutting down, so that endless
    /// responses (the event stream) end and graceful shutdown can finish.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// State for `settings` over `store`, publishing on `events`; fails when
    /// no JWT secret is configured.
    pub fn new(
        settings: Settings,
        store: Store,
        events: Arc<dyn EventBus>,
    ) -> Result<AppState, StartupError> {
        let secret = settings
            .jwt_secret
            .as_ref()
            .ok_or(StartupError::MissingJwtSecret)?;
        if secret.expose().len() < 16 {
            return Err(StartupError::WeakJwtSecret);
        }
        let tokens = TokenKeys::new(
            secret.expose().as_bytes(),
            Duration::from_secs(settings.access_token_ttl_secs.max(1)),
        );
        let intent = neuracrm_jobs::intent::IntentService::new(settings.llm.clone(), 10_000)
            .map_err(|e| StartupError::Llm(e.to_string()))?;
        let trusted_proxies = TrustedProxies::parse(&settings.trusted_proxies)
            .map_err(|entry| StartupError::BadTrustedProxy { entry })?;
        let window = Duration::from_secs(settings.login_window_secs.max(1));
        let login_limits = LoginLimits {
            per_ip: SlidingWindow::new(settings.login_attempts_per_ip, window),
            per_account: SlidingWindow::new(settings.login_attempts_per_account, window),
        };
        let registration_limit = SlidingWindow::new(
            settings.registrations_per_ip,
            Duration::from_secs(settings.registration_window_secs.max(1)),
        );
        let sentiment = Arc::new(neuracrm_jobs::sentiment::SentimentService::new(
            settings.sentiment_model.clone(),
        ));
        let mut crm = Crm::new(store, events, Arc::new(intent), sentiment);
        crm.links = settings.links().map(Arc::new);
        if let Some(mail) = settings.smtp.mail_settings() {
            crm.mailer = Some(Arc::new(
                neuracrm_actions::campaigns::send::Mailer::new(mail).map_err(StartupError::Smtp)?,
            ));
        }
        if let Some(voice) = settings.voice_options() {
            crm.voice = Some(Arc::new(
                neuracrm_actions::voice::VoiceService::new(voice).map_err(StartupError::Retell)?,
            ));
        }
        Ok(AppState {
            crm,
            settings: Arc::new(settings),
            tokens: Arc::new(tokens),
            login_limits: Arc::new(login_limits),
            registration_limit: Arc::new(registration_limit),
            trusted_proxies: Arc::new(trusted_proxies),
            shutdown: Arc::new(tokio::sync::watch::Sender::new(false)),
        })
    }
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `smtp.url` or `smtp.from` is unusable (the message never quotes the URL).
    #[error("{0}")]
    Smtp(String),
    /// The `retell` settings are unusable (a `from_number` not in E.164).
    #[error("retell: {0}")]
    Retell(String),
    /// `jwt_secret` is not configured (`NEURACRM_JWT_SECRET`).
    #[error("no JWT secret configured: set NEURACRM_JWT_SECRET (or jwt_secret in neuracrm.toml)")]
    MissingJwtSecret,
    /// The JWT secret is too short to resist guessing.
    #[error(
        "the JWT secret is too short: use at least 16 characters (32 random bytes recommended)"
    )]
    WeakJwtSecret,
    /// The `llm` settings are unusable (bad URL, TLS set-up).
    #[error("llm: {0}")]
    Llm(String),
    /// An entry of `trusted_proxies` is neither an address nor a CIDR range.
    #[error("trusted_proxies: '{entry}' is neither an IP address nor a CIDR range like 10.0.0.0/8")]
    BadTrustedProxy {
        /// The entry.
        entry: String,
    },
    /// `redis_url` does not parse (the message never shows its password).
    #[error("redis_url: {0}")]
    Redis(RedisBusError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Request ids: a per-process random prefix and a counter (unique across
/// instances without coordination, cheap to make).
#[derive(Clone)]
struct NextRequestId {
    prefix: Arc<str>,
    counter: Arc<AtomicU64>,
}

impl NextRequestId {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let prefix = format!(
            "{:x}",
            (nanos as u64) ^ (std::process::id() as u64).rotate_left(40)
        );
        NextRequestId {
            prefix: prefix.into(),
            counter: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.prefix)
            .parse()
            .ok()
            .map(RequestId::new)
    }
}

/// Body size limits: CSV imports (streamed) may be larger than any other body.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    default: usize,
    import: usize,
}

/// Refuses a body over its route's limit: at once when `Content-Length`
/// says so, else when the stream outgrows it (the reader sees the error and
/// answers 413).
async fn limit_body(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = if is_import_path(req.uri().path()) {
        limits.import
    } else {
        limits.default
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return crate::ApiError::PayloadTooLarge.into_response();
    }
    let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)));
    next.run(req).await
}

/// Whether a path takes CSV import uploads: the API's, and the web UI's
/// upload form.
fn is_import_path(path: &str) -> bool {
    path.starts_with("/api/import/") || path == "/leads/import"
}

/// Whether a request is a CSV import upload (`POST /api/import/...`,
/// `POST /leads/import`).
fn is_import_upload(req: &axum::extract::Request) -> bool {
    req.method() == axum::http::Method::POST && is_import_path(req.uri().path())
}

/// The request timeout (408), for every request but the CSV import
/// uploads: their body may take longer than any timeout to arrive (up to
/// `max_import_bytes`, which still applies). Their handler bounds the
/// writing of an in-request import by the same timeout, and a document too
/// large (or too slow) to write in time goes to the background.
async fn timeout_unless_import(
    axum::extract::State(timeout): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if is_import_upload(&req) {
        return next.run(req).await;
    }
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => crate::ApiError::Timeout.into_response(),
    }
}

/// The router with every route and the middleware stack.
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    api::router()
        .merge(crate::web::router())
        .fallback(crate::web::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            BodyLimits {
                default: settings.max_body_bytes,
                import: settings.max_import_bytes,
            },
            limit_body,
        ))
        // Our own limit replaces axum's fixed 2 MiB default.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(settings.request_timeout_secs),
            timeout_unless_import,
        ))
        // Inside the request-id layers (it reads the id), outside the body
        // limit and timeout (it rewrites their 413 and 408).
        .layer(axum::middleware::from_fn(crate::http::error::render_errors))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), NextRequestId::new()))
}

/// A bound, ready-to-serve application.
pub struct App {
    listener: TcpListener,
    router: Router,
    events: Arc<dyn EventBus>,
    background: Background,
    shutdown: Arc<tokio::sync::watch::Sender<bool>>,
}

impl App {
    /// Binds `settings.bind` (port 0 picks a free port) and builds the router
    /// with the event bus the settings ask for (see [`event_bus`]). Fails
    /// when no JWT secret is configured or `redis_url` does not parse.
    pub async fn build(settings: Settings, store: Store) -> Result<App, StartupError> {
        let events = event_bus(&settings).await?;
        Self::build_with_events(settings, store, events).await
    }

    /// Like [`App::build`], publishing on the given bus (e.g. Redis-backed).
    pub async fn build_with_events(
        settings: Settings,
        store: Store,
        events: Arc<dyn EventBus>,
    ) -> Result<App, StartupError> {
        let state = AppState::new(settings, store, events.clone())?;
        let listener = TcpListener::bind(&state.settings.bind)
            .await
            .map_err(|source| StartupError::Bind {
                addr: state.settings.bind.clone(),
                source,
            })?;
        let background = Background::spawn(&state);
        let shutdown = state.shutdown.clone();
        Ok(App {
            shutdown,
            listener,
            router: router(state),
            events,
            background,
        })
    }

    /// The bus the app publishes on (subscribe to watch its writes).
    pub fn events(&self) -> Arc<dyn EventBus> {
        self.events.clone()
    }

    /// The names of the background tasks started with the app.
    pub fn background_tasks(&self) -> Vec<&'static str> {
        self.background.names()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then ends the event streams and
    /// finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Kept alive while serving; its drop stops the background tasks.
        let _background = self.background;
        let streams = self.shutdown;
        let shutdown = async move {
            shutdown.await;
            // Event streams never end by themselves; graceful shutdown
            // waits for every response to finish.
            streams.send_replace(true);
        };
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// How long start-up waits for the Redis subscription before going on without.
const REDIS_START_WAIT: Duration = Duration::from_secs(3);

/// The event bus `settings` ask for: Redis pub/sub shared by every instance
/// when `redis_url` is set, else the in-process broadcast.
///
/// A `redis_url` that does not parse fails. A Redis that does not answer
/// within a few seconds does not: the instance starts with a loud warning,
/// delivers its own events locally as a lone instance would, and keeps
/// retrying in the background (a Redis blip must not keep instances down).
pub async fn event_bus(settings: &Settings) -> Result<Arc<dyn EventBus>, StartupError> {
    let Some(url) = &settings.redis_url else {
        return Ok(Arc::new(BroadcastBus::default()));
    };
    let bus = RedisBus::connect(
        url.expose(),
        RedisBusOptions {
            channel: settings.redis_channel.clone(),
            ..Default::default()
        },
    )
    .map_err(StartupError::Redis)?;
    if tokio::time::timeout(REDIS_START_WAIT, bus.wait_subscribed())
        .await
        .is_err()
    {
        tracing::warn!(
            redis = %neuracrm_events::redis_bus::redact_url(url.expose()),
            "REDIS UNREACHABLE at start-up: serving anyway, but live events of other instances \
             do not reach this one (and this one's do not reach them) until Redis answers; retrying"
        );
    }
    Ok(Arc::new(bus))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM stops the server.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

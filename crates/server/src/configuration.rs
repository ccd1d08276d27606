//! Settings, layered: built-in defaults < `neuracrm.toml` < `NEURACRM_*`
//! environment variables (`__` separates nested keys, e.g.
//! `NEURACRM_LLM__API_KEY`) < command-line flags.

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

/// A secret value (API key, signing key, password). `Debug` and `Display`
/// print `***`, so a secret can never reach a log line by accident.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Everything the server and the jobs are configured with.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Settings {
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Address to listen on.
    pub bind: String,
    /// HS256 signing key for access tokens; required by `serve`.
    pub jwt_secret: Option<Secret>,
    /// Redis whose pub/sub carries live events between instances (optional;
    /// without it events stay in this process). A password in it is a secret.
    pub redis_url: Option<Secret>,
    /// The Redis channel of this deployment's events (instances that share it
    /// see each other's events).
    pub redis_channel: String,
    /// Connection pool size.
    pub db_max_connections: u32,
    /// Log filter, e.g. `info` or `neuracrm=debug,tower_http=info`.
    pub log: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest CSV import body, in bytes (imports are streamed).
    pub max_import_bytes: usize,
    /// CSV imports up to this size are written in their request, in one
    /// transaction, and answered with their report; larger ones (and those
    /// that run out of `request_timeout_secs`) are stored and written in
    /// the background (`202 Accepted`), in chunks.
    pub import_in_request_max_bytes: usize,
    /// Rows per transaction of a background import (each commits with the
    /// import's checkpoint; on SQLite other writes wait between chunks).
    pub import_chunk_rows: usize,
    /// A background import whose instance has not committed a chunk for
    /// this many seconds is taken over by another instance (or by this one
    /// after a restart), from its last checkpoint.
    pub import_lease_secs: u64,
    /// Request timeout, in seconds.
    pub request_timeout_secs: u64,
    /// Lifetime of an access token, in seconds (short: a stolen token expires
    /// soon).
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_token_ttl_secs: u64,
    /// Login attempts allowed per client IP within the rate-limit window.
    pub login_attempts_per_ip: u32,
    /// Login attempts allowed per account (e-mail) within the window.
    pub login_attempts_per_account: u32,
    /// The login rate-limit window, in seconds (sliding).
    pub login_window_secs: u64,
    /// Registrations (new organizations) allowed per client IP within the
    /// registration window.
    pub registrations_per_ip: u32,
    /// The registration rate-limit window, in seconds (sliding).
    pub registration_window_secs: u64,
    /// How often an open event stream checks that its session is still
    /// live, in seconds (it also checks at once when its user is changed or
    /// deleted).
    pub session_check_secs: u64,
    /// A browser session (the web UI's cookie) unused for longer than this,
    /// in seconds, is ended: the next page asks to sign in again. Use is
    /// recorded to the minute, so it ends between this and a minute more
    /// after the last request. `0` turns the idle timeout off. API sessions
    /// have none (see docs/configuration.md).
    pub session_idle_timeout_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or
    /// CIDR ranges, e.g. `10.0.0.0/8`; a comma-separated string in the
    /// environment). Empty: the TCP peer is the client, and the header is
    /// ignored, so nobody can dodge the login limits by forging it.
    #[serde(deserialize_with = "list_or_csv")]
    pub trusted_proxies: Vec<String>,
    /// The address people open the app at (`https://crm.example.com`). With
    /// `https`, the browser session cookie is `Secure` and `__Host-`
    /// prefixed; without it, plain HTTP on a local address is assumed.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The OpenAI-compatible chat-completions endpoint that reads buying
    /// intent when a lead is scored through the API, and in the batch as
    /// `llm.batch` says (`llm.base_url`, `llm.model`, `llm.api_key`,
    /// `llm.batch`, ...; `NEURACRM_LLM__BASE_URL` etc.). None: the offline
    /// estimator answers.
    pub llm: Option<neuracrm_scoring::LlmConfig>,
    /// Whether `serve` runs the periodic jobs (scoring, forecasting, ...).
    /// Every instance may: each time slot is claimed through the database and
    /// runs once. Off in `Settings::for_database` so tests run jobs explicitly.
    pub scheduler: bool,
    /// How often the lead-scoring batch runs, in seconds.
    pub scoring_interval_secs: u64,
    /// How often the forecast cycle runs, in seconds.
    pub forecast_interval_secs: u64,
    /// How often the scheduler refreshes every dynamic segment, in seconds
    /// (rules on time, such as `in_last_days`, change with no write).
    pub segments_interval_secs: u64,
    /// How long after a write to a contact, lead, deal or activity the
    /// dynamic segments of its organization are refreshed, in milliseconds:
    /// writes within this window share one refresh.
    pub segments_debounce_ms: u64,
    /// A trained sentiment model file used for organizations without one of
    /// their own (`settings.sentiment.model_path`); VADER when unset or when
    /// the file cannot be loaded.
    #[serde(default)]
    pub sentiment_model: Option<std::path::PathBuf>,
    /// How campaign mail is sent (`smtp.url`, `smtp.from`, ...;
    /// `NEURACRM_SMTP__URL` etc.). Without `smtp.url` nothing is sent.
    #[serde(default)]
    pub smtp: SmtpSettings,
    /// AI voice calls through Retell (`retell.api_key`, `retell.from_number`,
    /// ...; `NEURACRM_RETELL__API_KEY` etc.).
    #[serde(default)]
    pub retell: RetellSettings,
}

/// How the deployment reaches Retell, and how often lost call events are
/// looked up.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetellSettings {
    /// Retell's API (a proxy or a test server may stand in).
    pub base_url: String,
    /// The deployment's API key; organizations may set their own. Retell
    /// signs the webhooks of the calls placed with it with it. A secret.
    pub api_key: Option<Secret>,
    /// The number calls are placed from when an organization sets none
    /// (E.164, bought or imported at Retell).
    pub from_number: Option<String>,
    /// The key organizations' own API keys are sealed with at rest (any
    /// text; SHA-256 of it is the key). Unset: derived from `jwt_secret`,
    /// so changing that makes the stored keys unreadable. A secret.
    pub encryption_key: Option<Secret>,
    /// One request's limit, in seconds.
    pub timeout_secs: u64,
    /// Retries of a throttled (429) or failed (5xx) request.
    pub max_retries: u32,
    /// The first retry's wait in milliseconds; each further one doubles it.
    pub retry_backoff_ms: u64,
    /// How often the scheduler runs `calls sync`, in seconds.
    pub sync_interval_secs: u64,
    /// How long past its maximum duration a call that is still open is
    /// looked up, in seconds.
    pub sync_grace_secs: u64,
}

impl Default for RetellSettings {
    fn default() -> Self {
        RetellSettings {
            base_url: "https://api.retellai.com".into(),
            api_key: None,
            from_number: None,
            encryption_key: None,
            timeout_secs: 15,
            max_retries: 3,
            retry_backoff_ms: 300,
            sync_interval_secs: 300,
            sync_grace_secs: 120,
        }
    }
}

/// The SMTP relay campaigns are sent through, and the sender's pace.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://host:port` (STARTTLS when the server offers it; add
    /// `?tls=required` to insist) or `smtps://host:port` (TLS from the
    /// start), optionally with `user:password@`. A secret.
    pub url: Option<Secret>,
    /// The user, when not in the URL.
    pub user: Option<String>,
    /// The password, when not in the URL. A secret.
    pub password: Option<Secret>,
    /// The default sender, `Name <address>` or an address.
    pub from: String,
    /// SMTP connections in the pool (messages in flight at once).
    pub connections: u32,
    /// Messages a second from each instance (none: unlimited).
    pub rate_per_second: Option<u32>,
    /// Messages an hour per organization (none: unlimited).
    pub hourly_limit_per_org: Option<u32>,
    /// Attempts of a recipient that meets temporary failures (4xx, a dropped
    /// connection) before it is given up.
    pub max_attempts: u32,
    /// The first retry's delay in seconds; each further one doubles it.
    pub retry_after_secs: u64,
    /// How long a sender's claim on its recipients holds, in seconds: a
    /// sender silent longer than this is taken over.
    pub lease_secs: u64,
    /// How long one SMTP conversation may take, in seconds.
    pub timeout_secs: u64,
    /// How often the scheduler looks for due campaigns, in seconds.
    pub process_interval_secs: u64,
    /// Soft bounces (reported by the bounce webhook) after which an address
    /// is suppressed.
    pub soft_bounce_limit: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            url: None,
            user: None,
            password: None,
            from: "NeuraCRM <noreply@localhost>".into(),
            connections: 4,
            rate_per_second: None,
            hourly_limit_per_org: None,
            max_attempts: 5,
            retry_after_secs: 60,
            lease_secs: 120,
            timeout_secs: 30,
            process_interval_secs: 5,
            soft_bounce_limit: 3,
        }
    }
}

/// `text` with every byte outside the URL-safe set percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl SmtpSettings {
    /// The sender's settings, `None` without `smtp.url`. The user and
    /// password, when given apart, go into the URL (percent-encoded).
    pub fn mail_settings(&self) -> Option<neuracrm_actions::campaigns::send::MailSettings> {
        let mut url = self.url.as_ref()?.expose().to_string();
        if let (Some(user), Some(at)) = (&self.user, url.find("://"))
            && !url.contains('@')
        {
            let pass = self
                .password
                .as_ref()
                .map(|p| format!(":{}", percent_encode(p.expose())))
                .unwrap_or_default();
            url.insert_str(at + 3, &format!("{}{pass}@", percent_encode(user)));
        }
        let secs = std::time::Duration::from_secs;
        Some(neuracrm_actions::campaigns::send::MailSettings {
            url,
            from: self.from.clone(),
            connections: self.connections.max(1),
            rate_per_second: self.rate_per_second,
            hourly_limit: self.hourly_limit_per_org,
            max_attempts: self.max_attempts.max(1),
            retry_after: secs(self.retry_after_secs),
            lease: secs(self.lease_secs.max(1)),
            timeout: secs(self.timeout_secs.max(1)),
        })
    }
}

/// A list given as a TOML array or as one comma-separated string (the form
/// an environment variable takes).
fn list_or_csv<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCsv {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match ListOrCsv::deserialize(de)? {
        ListOrCsv::List(v) => v,
        ListOrCsv::Csv(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// Defaults, as the lowest configuration layer.
#[derive(Debug, Serialize)]
struct Defaults {
    database_url: &'static str,
    bind: &'static str,
    redis_channel: &'static str,
    db_max_connections: u32,
    log: &'static str,
    max_body_bytes: usize,
    max_import_bytes: usize,
    import_in_request_max_bytes: usize,
    import_chunk_rows: usize,
    import_lease_secs: u64,
    request_timeout_secs: u64,
    access_token_ttl_secs: u64,
    refresh_token_ttl_secs: u64,
    login_attempts_per_ip: u32,
    login_attempts_per_account: u32,
    login_window_secs: u64,
    registrations_per_ip: u32,
    registration_window_secs: u64,
    session_check_secs: u64,
    session_idle_timeout_secs: u64,
    trusted_proxies: &'static [&'static str],
    scheduler: bool,
    scoring_interval_secs: u64,
    forecast_interval_secs: u64,
    segments_interval_secs: u64,
    segments_debounce_ms: u64,
}

const DEFAULTS: Defaults = Defaults {
    database_url: "sqlite://neuracrm.db",
    bind: "127.0.0.1:8080",
    redis_channel: neuracrm_events::redis_bus::DEFAULT_CHANNEL,
    db_max_connections: 8,
    log: "info",
    max_body_bytes: 2 * 1024 * 1024,
    max_import_bytes: 64 * 1024 * 1024,
    import_in_request_max_bytes: 256 * 1024,
    import_chunk_rows: 1000,
    import_lease_secs: 60,
    request_timeout_secs: 30,
    access_token_ttl_secs: 15 * 60,
    refresh_token_ttl_secs: 7 * 24 * 3600,
    login_attempts_per_ip: 30,
    login_attempts_per_account: 10,
    login_window_secs: 60,
    registrations_per_ip: 10,
    registration_window_secs: 3600,
    session_check_secs: 10,
    session_idle_timeout_secs: 30 * 60,
    trusted_proxies: &[],
    scheduler: true,
    scoring_interval_secs: 15 * 60,
    forecast_interval_secs: 24 * 3600,
    segments_interval_secs: 3600,
    segments_debounce_ms: 2000,
};

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// The `NEURACRM_*` variables, each value kept as the text it is. figment's
/// own reading guesses a type from the text: a password `0123` became the
/// number 123 (another password), `+14155550100` lost its `+`, `true` a
/// flag, and a value that then did not fit its key printed itself in the
/// error. With every value text, [`Figment::extract_lossy`] reads a number
/// or a flag only where the key wants one.
struct EnvText(Env);

impl Provider for EnvText {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, text) in self.0.iter() {
            // `__` became `.`: a nested key (`smtp.password`).
            let mut path: Vec<&str> = key.as_str().split('.').filter(|k| !k.is_empty()).collect();
            let Some(last) = path.pop() else { continue };
            let mut at = &mut dict;
            for k in path {
                let entry = at
                    .entry(k.to_string())
                    .or_insert_with(|| Value::from(Dict::new()));
                if entry.as_dict().is_none() {
                    *entry = Value::from(Dict::new());
                }
                at = match entry {
                    Value::Dict(_, d) => d,
                    _ => unreachable!("made a dictionary above"),
                };
            }
            at.insert(last.to_string(), Value::from(text));
        }
        Ok(Profile::Default.collect(dict))
    }
}

impl Settings {
    /// Loads defaults < `file` (if it exists) < environment < `overrides`
    /// (flags given on the command line, as a serialisable map of the keys set).
    pub fn load(file: &Path, overrides: impl Serialize) -> Result<Settings, ConfigError> {
        Figment::from(Serialized::defaults(DEFAULTS))
            .merge(Toml::file(file))
            .merge(EnvText(Env::prefixed("NEURACRM_").split("__")))
            .merge(Serialized::defaults(overrides))
            // A text read where a number or a flag is wanted is read as one.
            .extract_lossy()
            // figment's messages name the key and the source, never a value.
            .map_err(|e| ConfigError(e.to_string()))
    }

    /// Whether the app is served over HTTPS (`public_url` says so), which
    /// makes the browser session cookie `Secure` and `__Host-` prefixed.
    pub fn serves_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }

    /// The signer of campaign links: keyed by `jwt_secret`, under
    /// `public_url` (else `http://` and the bind address). `None` without a
    /// JWT secret.
    pub fn links(&self) -> Option<neuracrm_actions::campaigns::links::Links> {
        let secret = self.jwt_secret.as_ref()?;
        let base = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind));
        Some(neuracrm_actions::campaigns::links::Links::new(
            secret.expose().as_bytes(),
            &base,
        ))
    }

    /// Voice calls' options: Retell's client, the deployment's key and
    /// number, the webhook URL under `public_url` (else `http://` and the
    /// bind address), the sealer of organizations' keys. `None` without a
    /// JWT secret.
    pub fn voice_options(&self) -> Option<neuracrm_actions::voice::VoiceOptions> {
        let jwt = self.jwt_secret.as_ref()?;
        let base = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind));
        let r = &self.retell;
        Some(neuracrm_actions::voice::VoiceOptions {
            client: neuracrm_actions::voice::retell::ClientOptions {
                base_url: r.base_url.clone(),
                timeout: std::time::Duration::from_secs(r.timeout_secs.max(1)),
                max_retries: r.max_retries,
                backoff: std::time::Duration::from_millis(r.retry_backoff_ms),
            },
            api_key: r.api_key.as_ref().map(|k| k.expose().to_string()),
            from_number: r.from_number.clone(),
            webhook_url: format!("{}/api/voice/webhook", base.trim_end_matches('/')),
            sealer: neuracrm_actions::voice::seal::Sealer::new(
                r.encryption_key.as_ref().map(Secret::expose),
                jwt.expose(),
            ),
        })
    }

    /// Settings for tests and embedding: defaults with this database.
    pub fn for_database(url: &str) -> Settings {
        Settings {
            database_url: url.to_string(),
            bind: "127.0.0.1:0".into(),
            jwt_secret: Some(Secret::new("test-secret-with-enough-entropy-0123456789")),
            redis_url: None,
            redis_channel: DEFAULTS.redis_channel.into(),
            db_max_connections: DEFAULTS.db_max_connections,
            log: DEFAULTS.log.into(),
            max_body_bytes: DEFAULTS.max_body_bytes,
            max_import_bytes: DEFAULTS.max_import_bytes,
            import_in_request_max_bytes: DEFAULTS.import_in_request_max_bytes,
            import_chunk_rows: DEFAULTS.import_chunk_rows,
            import_lease_secs: DEFAULTS.import_lease_secs,
            request_timeout_secs: DEFAULTS.request_timeout_secs,
            access_token_ttl_secs: DEFAULTS.access_token_ttl_secs,
            refresh_token_ttl_secs: DEFAULTS.refresh_token_ttl_secs,
            login_attempts_per_ip: DEFAULTS.login_attempts_per_ip,
            login_attempts_per_account: DEFAULTS.login_attempts_per_account,
            login_window_secs: DEFAULTS.login_window_secs,
            registrations_per_ip: DEFAULTS.registrations_per_ip,
            registration_window_secs: DEFAULTS.registration_window_secs,
            session_check_secs: DEFAULTS.session_check_secs,
            session_idle_timeout_secs: DEFAULTS.session_idle_timeout_secs,
            trusted_proxies: Vec::new(),
            public_url: None,
            llm: None,
            scheduler: false,
            scoring_interval_secs: DEFAULTS.scoring_interval_secs,
            forecast_interval_secs: DEFAULTS.forecast_interval_secs,
            segments_interval_secs: DEFAULTS.segments_interval_secs,
            segments_debounce_ms: DEFAULTS.segments_debounce_ms,
            sentiment_model: None,
            smtp: SmtpSettings::default(),
            retell: RetellSettings::default(),
        }
    }

    /// The browser sessions' idle timeout; `None` when turned off (0).
    pub fn session_idle_timeout(&self) -> Option<std::time::Duration> {
        (self.session_idle_timeout_secs > 0)
            .then(|| std::time::Duration::from_secs(self.session_idle_timeout_secs))
    }

    /// How the import actions run, from these settings.
    pub fn import_options(&self) -> neuracrm_actions::import::ImportOptions {
        neuracrm_actions::import::ImportOptions {
            in_request_max_bytes: self.import_in_request_max_bytes,
            chunk_rows: self.import_chunk_rows.max(1),
            lease: std::time::Duration::from_secs(self.import_lease_secs.max(1)),
            ..Default::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "neuracrm.toml",
                "bind = \"0.0.0.0:9000\"\nlog = \"debug\"\n",
            )?;
            jail.set_env("NEURACRM_LOG", "warn");
            jail.set_env("NEURACRM_JWT_SECRET", "from-env");
            let flags = serde_json::json!({ "database_url": "sqlite://flag.db" });
            let s = Settings::load(Path::new("neuracrm.toml"), flags).unwrap();
            assert_eq!(s.bind, "0.0.0.0:9000", "file beats default");
            assert_eq!(s.log, "warn", "env beats file");
            assert_eq!(s.database_url, "sqlite://flag.db", "flag beats all");
            assert_eq!(s.jwt_secret.as_ref().unwrap().expose(), "from-env");
            assert_eq!(s.max_body_bytes, 2 * 1024 * 1024, "default kept");
            assert!(
                !format!("{s:?}").contains("from-env"),
                "secrets never print"
            );
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_a_comma_separated_variable() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            assert!(s.trusted_proxies.is_empty(), "none by default");
            jail.set_env("NEURACRM_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16");
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            assert_eq!(s.trusted_proxies, ["10.0.0.1", "192.168.0.0/16"]);
            jail.create_file("neuracrm.toml", "trusted_proxies = [\"::1\"]\n")?;
            jail.clear_env();
            let s = Settings::load(Path::new("neuracrm.toml"), serde_json::json!({})).unwrap();
            assert_eq!(s.trusted_proxies, ["::1"]);
            Ok(())
        });
    }

    #[test]
    fn the_llm_comes_from_nested_variables_and_its_key_never_prints() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            assert!(s.llm.is_none(), "offline by default");
            jail.set_env("NEURACRM_LLM__BASE_URL", "http://127.0.0.1:11434/v1");
            jail.set_env("NEURACRM_LLM__MODEL", "llama3.2");
            jail.set_env("NEURACRM_LLM__API_KEY", "sk-very-secret-key");
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            let llm = s.llm.as_ref().unwrap();
            assert_eq!(
                (llm.base_url.as_str(), llm.model.as_str()),
                ("http://127.0.0.1:11434/v1", "llama3.2")
            );
            assert!(!format!("{s:?}").contains("sk-very-secret-key"));
            assert_eq!(
                (llm.batch, llm.batch_concurrency),
                (neuracrm_scoring::BatchIntentMode::Cached, 4),
                "defaults"
            );
            jail.set_env("NEURACRM_LLM__BATCH", "ask");
            jail.set_env("NEURACRM_LLM__BATCH_CONCURRENCY", "8");
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            let llm = s.llm.as_ref().unwrap();
            assert_eq!(
                (llm.batch, llm.batch_concurrency),
                (neuracrm_scoring::BatchIntentMode::Ask, 8)
            );
            jail.set_env("NEURACRM_LLM__BATCH", "sometimes");
            let err = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap_err();
            assert!(
                err.to_string().to_lowercase().contains("llm.batch"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_intent_cache_retention_is_an_llm_setting_and_too_short_a_one_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("NEURACRM_LLM__BASE_URL", "http://127.0.0.1:11434/v1");
            jail.set_env("NEURACRM_LLM__MODEL", "llama3.2");
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            assert_eq!(s.llm.as_ref().unwrap().cache_retention_days, 30, "default");
            jail.create_file("neuracrm.toml", "[llm]\ncache_retention_days = 45\n")?;
            let s = Settings::load(Path::new("neuracrm.toml"), serde_json::json!({})).unwrap();
            assert_eq!(s.llm.as_ref().unwrap().cache_retention_days, 45);
            // As `serve` and `score` build it at start-up.
            assert!(neuracrm_jobs::intent::IntentService::new(s.llm, 0).is_ok());
            jail.set_env("NEURACRM_LLM__CACHE_RETENTION_DAYS", "7");
            let s = Settings::load(Path::new("neuracrm.toml"), serde_json::json!({})).unwrap();
            let err = neuracrm_jobs::intent::IntentService::new(s.llm, 0).unwrap_err();
            assert!(
                err.to_string()
                    .contains("llm.cache_retention_days: must be at least 9 days"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn retell_settings_come_from_nested_variables_and_the_key_never_prints() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            assert_eq!(s.retell.base_url, "https://api.retellai.com");
            assert!(s.retell.api_key.is_none());
            jail.set_env("NEURACRM_RETELL__API_KEY", "key_very_secret");
            jail.set_env("NEURACRM_RETELL__FROM_NUMBER", "+14155550100");
            jail.set_env("NEURACRM_JWT_SECRET", "jwt-secret-with-enough-entropy");
            jail.set_env("NEURACRM_PUBLIC_URL", "https://crm.example.com/");
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            assert_eq!(
                s.retell.api_key.as_ref().unwrap().expose(),
                "key_very_secret"
            );
            assert!(!format!("{s:?}").contains("key_very_secret"));
            assert_eq!(
                s.retell.from_number.as_deref(),
                Some("+14155550100"),
                "a variable is text: the + stays"
            );
            let v = s.voice_options().unwrap();
            assert_eq!(v.webhook_url, "https://crm.example.com/api/voice/webhook");
            assert!(!format!("{v:?}").contains("jwt-secret"));
            jail.set_env("NEURACRM_RETELL__TIMEOUT", "5");
            let err = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap_err();
            assert!(err.to_string().contains("timeout"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn variables_are_read_as_text_where_text_is_wanted_and_a_secret_never_prints() {
        figment::Jail::expect_with(|jail| {
            // Texts figment would have taken for numbers and flags.
            jail.set_env("NEURACRM_SMTP__PASSWORD", "0123");
            jail.set_env("NEURACRM_SMTP__USER", "true");
            jail.set_env("NEURACRM_JWT_SECRET", "1e5");
            jail.set_env("NEURACRM_SMTP__CONNECTIONS", "8");
            jail.set_env("NEURACRM_SCHEDULER", "false");
            let s = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap();
            assert_eq!(s.smtp.password.as_ref().unwrap().expose(), "0123");
            assert_eq!(s.smtp.user.as_deref(), Some("true"));
            assert_eq!(s.jwt_secret.as_ref().unwrap().expose(), "1e5");
            assert_eq!(s.smtp.connections, 8, "a number where a number is wanted");
            assert!(!s.scheduler, "a flag where a flag is wanted");
            // A number that does not fit names its key.
            jail.set_env("NEURACRM_SMTP__CONNECTIONS", "-1");
            let err = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap_err();
            assert!(
                err.to_string().to_lowercase().contains("smtp.connections"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("NEURACRM_DB_MAX_CONNECTIONS", "many");
            let err = Settings::load(Path::new("missing.toml"), serde_json::json!({})).unwrap_err();
            assert!(
                err.to_string()
                    .to_lowercase()
                    .contains("db_max_connections"),
                "{err}"
            );
            Ok(())
        });
    }
}

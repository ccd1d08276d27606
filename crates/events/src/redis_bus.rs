//! [`RedisBus`]: the bus of an instance among several, fanning events out over
//! Redis pub/sub.
//!
//! Publishing delivers to this instance's subscribers at once (exactly as
//! [`BroadcastBus`](crate::BroadcastBus) does, whatever Redis is doing) and
//! hands the event to a background publisher over a bounded queue; the
//! publisher sends it as JSON, tagged with this bus's random instance id, on
//! one Redis channel. A background subscriber re-delivers the events of the
//! other instances into the local broadcast and skips its own, so every
//! subscriber sees each event once. When Redis is down, remote delivery is
//! dropped (logged, rate-limited) and both tasks reconnect with backoff; the
//! caller of `publish` never waits and nothing panics.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use neuracrm_domain::DomainEvent;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::{EventBus, Subscription};

/// The channel used when none is configured.
pub const DEFAULT_CHANNEL: &str = "neuracrm:events";

/// How a [`RedisBus`] is set up.
#[derive(Debug, Clone)]
pub struct RedisBusOptions {
    /// The Redis pub/sub channel every instance of one deployment shares.
    pub channel: String,
    /// Events buffered per slow local subscriber before it lags (at least 1).
    pub capacity: usize,
    /// Events waiting for the publisher before new ones skip Redis (at least 1).
    pub outbox: usize,
}

impl Default for RedisBusOptions {
    fn default() -> Self {
        RedisBusOptions {
            channel: DEFAULT_CHANNEL.to_owned(),
            capacity: 16_384,
            outbox: 4096,
        }
    }
}

/// Why a [`RedisBus`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RedisBusError {
    /// The Redis URL does not parse (the URL shown has its secrets redacted).
    #[error("invalid Redis URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with any password or query redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not called inside a tokio runtime, so the background tasks cannot run.
    #[error("a Redis event bus must be built inside a tokio runtime")]
    NoRuntime,
}

/// What travels on the channel: the event and the instance that published it.
#[derive(Serialize)]
struct OutEnvelope<'a> {
    instance: &'a str,
    event: &'a DomainEvent,
}

#[derive(Deserialize)]
struct InEnvelope {
    instance: String,
    event: DomainEvent,
}

/// A Redis URL without its secrets (password, user name, query), fit for logs
/// and errors.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => return "<unparseable URL>".to_owned(),
    };
    let (rest, had_query) = match rest.split_once('?') {
        Some((r, _)) => (r, true),
        None => (rest, false),
    };
    // The user info ends at the last '@' before the path.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***@{}", &rest[at + 1..]),
        None => rest.to_owned(),
    };
    format!("{scheme}://{rest}{}", if had_query { "?***" } else { "" })
}

/// Removes the secret parts of `url` from a message (a driver error may echo
/// them).
#[derive(Debug, Clone)]
struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    fn new(url: &str) -> Self {
        let mut secrets = Vec::new();
        if let Some((_, rest)) = url.split_once("://") {
            let (rest, query) = match rest.split_once('?') {
                Some((r, q)) => (r, Some(q)),
                None => (rest, None),
            };
            let authority_end = rest.find('/').unwrap_or(rest.len());
            if let Some(at) = rest[..authority_end].rfind('@') {
                let userinfo = &rest[..at];
                secrets.push(userinfo.to_owned());
                secrets.extend(userinfo.split(':').map(str::to_owned));
            }
            if let Some(q) = query {
                secrets.push(q.to_owned());
                secrets.extend(
                    q.split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(_, v)| v.to_owned()),
                );
            }
        }
        secrets.retain(|s| !s.is_empty());
        // Longest first, so a whole user info goes before its parts.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    fn scrub(&self, message: impl std::fmt::Display) -> String {
        let mut m = message.to_string();
        for s in &self.secrets {
            m = m.replace(s.as_str(), "***");
        }
        m
    }
}

/// Logs at most once per interval, counting what it kept quiet about.
#[derive(Debug)]
struct Throttle {
    every: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    fn new(every: Duration) -> Self {
        Throttle {
            every,
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(suppressed since the last log)` when it is time to log again.
    fn ready(&self) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match s.0 {
            Some(last) if now.duration_since(last) < self.every => {
                s.1 += 1;
                None
            }
            _ => {
                let suppressed = s.1;
                *s = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

const LOG_EVERY: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Events sent to Redis in one round trip at most.
const PIPELINE: usize = 512;

/// The bus over Redis pub/sub; see the [module docs](self).
///
/// Dropping the last handle stops its background tasks and closes the local
/// subscriptions.
pub struct RedisBus {
    local: broadcast::Sender<DomainEvent>,
    own: broadcast::Sender<DomainEvent>,
    outbox: mpsc::Sender<DomainEvent>,
    subscribed: watch::Receiver<bool>,
    instance: String,
    channel: String,
    url: String,
    full_log: Throttle,
    subscriber: JoinHandle<()>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("url", &self.url)
            .field("channel", &self.channel)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// A bus on the Redis at `url` (`redis://[:password@]host[:port][/db]`).
    ///
    /// Fails only when the URL does not parse or no tokio runtime is running;
    /// an unreachable Redis is retried in the background (see
    /// [`RedisBus::wait_subscribed`]).
    pub fn connect(url: &str, options: RedisBusOptions) -> Result<RedisBus, RedisBusError> {
        let scrubber = Scrubber::new(url);
        let redacted = redact_url(url);
        let client = redis::Client::open(url).map_err(|e| RedisBusError::InvalidUrl {
            url: redacted.clone(),
            reason: scrubber.scrub(e),
        })?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedisBusError::NoRuntime)?;
        let instance = instance_id();
        let (local, _) = broadcast::channel(options.capacity.max(1));
        let (own, _) = broadcast::channel(options.capacity.max(1));
        let (outbox, queued) = mpsc::channel(options.outbox.max(1));
        let (subscribed_tx, subscribed) = watch::channel(false);
        let link = Link {
            client,
            channel: options.channel.clone(),
            instance: instance.clone(),
            url: redacted.clone(),
            scrubber,
        };
        // The publisher ends by itself when the bus (its only sender) is gone.
        runtime.spawn(link.clone().publish_loop(queued));
        let subscriber = runtime.spawn(link.subscribe_loop(local.clone(), subscribed_tx));
        Ok(RedisBus {
            local,
            own,
            outbox,
            subscribed,
            instance,
            channel: options.channel,
            url: redacted,
            full_log: Throttle::new(LOG_EVERY),
            subscriber,
        })
    }

    /// This bus's random instance id (tags what it publishes).
    pub fn instance_id(&self) -> &str {
        &self.instance
    }

    /// The Redis channel it publishes and listens on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Completes once the subscription to the channel is live (at once if it
    /// already is): from then on other instances' events arrive here.
    pub async fn wait_subscribed(&self) {
        let mut rx = self.subscribed.clone();
        // An error means the subscriber task is gone, which only happens when
        // the bus is dropped; nothing to wait for then.
        let _ = rx.wait_for(|up| *up).await;
    }

    /// Whether the subscription to the channel is live right now.
    pub fn is_subscribed(&self) -> bool {
        *self.subscribed.borrow()
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: DomainEvent) {
        // Local subscribers first, whatever Redis does; an error only means
        // "no local subscriber right now".
        let _ = self.local.send(event.clone());
        let _ = self.own.send(event.clone());
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outbox.try_send(event)
            && let Some(suppressed) = self.full_log.ready()
        {
            tracing::warn!(
                redis = %self.url,
                also_dropped = suppressed,
                "Redis event publisher is behind; an event reached this instance only"
            );
        }
    }

    fn subscribe(&self) -> Subscription {
        Subscription::from_receiver(self.local.subscribe())
    }

    fn subscribe_local(&self) -> Subscription {
        Subscription::from_receiver(self.own.subscribe())
    }
}

fn instance_id() -> String {
    let n = getrandom::u64().unwrap_or_else(|_| {
        // No OS randomness: time and pid still differ between instances.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        t ^ (u64::from(std::process::id()) << 32)
    });
    format!("{n:016x}")
}

/// What both background tasks need to talk to Redis.
#[derive(Clone)]
struct Link {
    client: redis::Client,
    channel: String,
    instance: String,
    url: String,
    scrubber: Scrubber,
}

impl Link {
    fn config() -> redis::AsyncConnectionConfig {
        redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(CONNECT_TIMEOUT))
    }

    /// Sends queued events to Redis until the bus is dropped.
    async fn publish_loop(self, mut queued: mpsc::Receiver<DomainEvent>) {
        let log = Throttle::new(LOG_EVERY);
        let mut backoff = BACKOFF_MIN;
        loop {
            let mut conn = match self
                .client
                .get_multiplexed_async_connection_with_config(&Self::config())
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    if let Some(suppressed) = log.ready() {
                        tracing::warn!(
                            redis = %self.url, error = %self.scrubber.scrub(&e), also_failed = suppressed,
                            "cannot connect to Redis to publish events; they reach this instance only until it answers"
                        );
                    }
                    // Events published meanwhile are not held back for later:
                    // remote delivery is dropped while Redis is away.
                    let wait = tokio::time::sleep(backoff);
                    tokio::pin!(wait);
                    loop {
                        tokio::select! {
                            _ = &mut wait => break,
                            e = queued.recv() => if e.is_none() { return },
                        }
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            backoff = BACKOFF_MIN;
            // Whatever is queued goes in one pipeline (one round trip), so a
            // burst (a scoring batch's `lead_scored` events) keeps up.
            let mut batch = Vec::with_capacity(PIPELINE);
            while queued.recv_many(&mut batch, PIPELINE).await > 0 {
                let mut pipe = redis::pipe();
                for event in batch.drain(..) {
                    match serde_json::to_string(&OutEnvelope {
                        instance: &self.instance,
                        event: &event,
                    }) {
                        Ok(payload) => {
                            pipe.cmd("PUBLISH").arg(&self.channel).arg(payload).ignore();
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot serialize an event for Redis; it reached this instance only");
                        }
                    }
                }
                let sent: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
                if let Err(e) = sent {
                    if let Some(suppressed) = log.ready() {
                        tracing::warn!(
                            redis = %self.url, error = %self.scrubber.scrub(&e), also_failed = suppressed,
                            "publishing events to Redis failed; they reached this instance only; reconnecting"
                        );
                    }
                    break;
                }
            }
            if queued.is_closed() && queued.is_empty() {
                return;
            }
        }
    }

    /// Holds the channel subscription, re-delivering other instances' events
    /// locally; runs until aborted.
    async fn subscribe_loop(self, local: broadcast::Sender<DomainEvent>, up: watch::Sender<bool>) {
        let log = Throttle::new(LOG_EVERY);
        let garbage_log = Throttle::new(LOG_EVERY);
        let mut backoff = BACKOFF_MIN;
        loop {
            let subscribed = async {
                let mut pubsub =
                    tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
                        .await
                        .map_err(|_| "timed out connecting".to_owned())?
                        .map_err(|e| self.scrubber.scrub(e))?;
                tokio::time::timeout(CONNECT_TIMEOUT, pubsub.subscribe(&self.channel))
                    .await
                    .map_err(|_| "timed out subscribing".to_owned())?
                    .map_err(|e| self.scrubber.scrub(e))?;
                Ok::<_, String>(pubsub)
            }
            .await;
            match subscribed {
                Ok(pubsub) => {
                    backoff = BACKOFF_MIN;
                    up.send_replace(true);
                    tracing::info!(redis = %self.url, channel = %self.channel, instance = %self.instance, "subscribed to Redis events");
                    let mut messages = pubsub.into_on_message();
                    while let Some(msg) = messages.next().await {
                        self.deliver(msg.get_payload_bytes(), &local, &garbage_log);
                    }
                    up.send_replace(false);
                    tracing::warn!(
                        redis = %self.url,
                        "lost the Redis event subscription; other instances' events do not reach this one until it is back; reconnecting"
                    );
                }
                Err(error) => {
                    if let Some(suppressed) = log.ready() {
                        tracing::warn!(
                            redis = %self.url, %error, also_failed = suppressed,
                            "cannot subscribe to Redis events; other instances' events do not reach this one until it answers"
                        );
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    fn deliver(&self, payload: &[u8], local: &broadcast::Sender<DomainEvent>, log: &Throttle) {
        match serde_json::from_slice::<InEnvelope>(payload) {
            Ok(m) if m.instance == self.instance => {}
            Ok(m) => {
                let _ = local.send(m.event);
            }
            Err(e) => {
                // Never guess at an event's organization: drop it. (An
                // instance of a newer version may also send kinds this one
                // does not know yet.)
                if let Some(suppressed) = log.ready() {
                    tracing::warn!(
                        channel = %self.channel, error = %e, bytes = payload.len(), also_dropped = suppressed,
                        "dropped a Redis message that is not an event this instance knows"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_users_and_queries() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            redact_url("redis://:s3cret@h:6379/2"),
            "redis://***@h:6379/2"
        );
        assert_eq!(redact_url("rediss://u:p@ss@h/0"), "rediss://***@h/0");
        assert_eq!(
            redact_url("redis+unix:///tmp/r.sock?pass=x"),
            "redis+unix:///tmp/r.sock?***"
        );
        assert_eq!(redact_url("nonsense"), "<unparseable URL>");
        let s = Scrubber::new("redis://user:s3cret@h:1/0?password=p4ss");
        let m = s.scrub("auth failed for user:s3cret with p4ss");
        assert!(!m.contains("s3cret") && !m.contains("p4ss"), "{m}");
    }

    #[tokio::test]
    async fn a_bad_url_fails_without_echoing_its_password() {
        let e = RedisBus::connect("redis://:s3cret@/", RedisBusOptions::default())
            .expect_err("no host is not a valid URL");
        let text = e.to_string();
        assert!(text.contains("invalid Redis URL"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(RedisBus::connect("http://x", RedisBusOptions::default()).is_err());
    }

    #[tokio::test]
    async fn with_redis_unreachable_publish_still_delivers_locally_and_never_blocks() {
        // Nothing listens on port 1: every connection is refused.
        let bus = RedisBus::connect(
            "redis://127.0.0.1:1",
            RedisBusOptions {
                outbox: 2,
                ..Default::default()
            },
        )
        .expect("a well-formed URL");
        let mut sub = bus.subscribe_org(neuracrm_domain::OrgId(1));
        for i in 0..100 {
            bus.publish(DomainEvent::new(
                neuracrm_domain::OrgId(1),
                chrono::Utc::now(),
                neuracrm_domain::EventKind::ContactCreated {
                    id: neuracrm_domain::ContactId(i),
                },
            ));
        }
        for i in 0..100 {
            let e = sub.try_recv().expect("delivered at once").expect("no lag");
            assert_eq!(
                e.kind,
                neuracrm_domain::EventKind::ContactCreated {
                    id: neuracrm_domain::ContactId(i)
                }
            );
        }
        assert!(!bus.is_subscribed());
    }
}

//! Authentication: HS256 access tokens naming a session, the [`AuthUser`]
//! and [`AdminUser`] extractors, password verification off the async
//! runtime, and the rate limiters of login and registration.
//!
//! A login opens a session (`neuracrm_actions::sessions`) and answers a
//! short-lived access token, a JWT naming the user, the organization and the
//! session (`sid`), and the session's opaque refresh token. The token's
//! signature proves who the caller is; whether they still may act, and with
//! which role, is read on every request: [`AuthUser`] calls
//! `sessions::touch`, which checks in one indexed lookup that the session is
//! neither revoked nor expired and reads the user's current role. A revoked
//! session, a deleted user or a changed role therefore holds for the next
//! request, on every instance.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use neuracrm_actions::sessions::{self, Proof};
use neuracrm_domain::{OrgId, Role, SessionId, UserId};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::http::error::ApiError;

/// Which kind of token a JWT is. Only access tokens are signed (refresh
/// tokens are opaque); earlier releases also signed `refresh` ones, which
/// therefore no longer verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Authorises API calls.
    Access,
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: i64,
    /// The organization id.
    pub org: i64,
    /// The session the token was issued in.
    pub sid: SessionId,
    /// Always `access`.
    pub typ: TokenType,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// Signing and verification keys with the access tokens' lifetime. `Debug`
/// shows no key.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    access_ttl: Duration,
    /// A hash of no real password, verified against when the e-mail is
    /// unknown so that a login takes as long either way.
    dummy_hash: String,
    /// The key of the web UI's CSRF tokens, derived from the signing secret
    /// (so every instance derives the same) but never equal to it.
    csrf_key: [u8; 32],
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from the HS256 secret.
    pub fn new(secret: &[u8], access_ttl: Duration) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl,
            dummy_hash: neuracrm_domain::password::hash("no-such-user-password"),
            csrf_key: derive_key(secret, b"neuracrm csrf"),
        }
    }

    /// The key of the web UI's CSRF tokens.
    pub fn csrf_key(&self) -> &[u8] {
        &self.csrf_key
    }

    /// Seconds an access token lives.
    pub fn access_ttl_secs(&self) -> u64 {
        self.access_ttl.as_secs()
    }

    /// An access token of `user` of `org` in session `sid`.
    pub fn issue(&self, org: OrgId, user: UserId, sid: SessionId) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.0,
            org: org.0,
            sid,
            typ: TokenType::Access,
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing a token failed: {e}")))
    }

    /// The claims of a validly signed, unexpired access token.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map_err(|_| ApiError::Unauthorized("invalid or expired token"))?;
        Ok(data.claims)
    }

    /// Verifies a password against a user's hash (or, without one, the dummy
    /// hash) on the blocking pool: argon2 takes tens of milliseconds.
    pub async fn verify_password(&self, plain: String, phc: Option<String>) -> bool {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.clone());
        let ok =
            tokio::task::spawn_blocking(move || neuracrm_domain::password::verify(&plain, &phc))
                .await
                .unwrap_or(false);
        ok && known
    }
}

/// The caller: a valid access token of a live session, with the user's
/// role as stored now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    /// The user.
    pub user_id: UserId,
    /// Their organization: every query is scoped to it.
    pub org: OrgId,
    /// Their role, read for this request (not the one of the token's time).
    pub role: Role,
    /// The session the token was issued in.
    pub session: SessionId,
    /// When the access token presented expires (Unix seconds): a response
    /// that outlives the request, such as a stream of events, ends then.
    pub expires_at: i64,
}

impl AuthUser {
    /// Who the actions act for.
    pub fn caller(&self) -> neuracrm_actions::Caller {
        neuracrm_actions::Caller {
            user: self.user_id,
            org: self.org,
            role: self.role,
            session: Some(self.session),
        }
    }

    /// How this caller proves its session again (a long response re-checks
    /// it while it lasts).
    pub fn proof(&self) -> Proof<'static> {
        Proof::Signed {
            org: self.org,
            user: self.user_id,
            session: self.session,
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let claims = state.tokens.verify(token)?;
        let (org, user_id) = (OrgId(claims.org), UserId(claims.sub));
        let caller = sessions::touch(
            &state.crm,
            Proof::Signed {
                org,
                user: user_id,
                session: claims.sid,
            },
        )
        .await?;
        Ok(AuthUser {
            user_id,
            org,
            role: caller.role,
            session: claims.sid,
            expires_at: claims.exp,
        })
    }
}

/// The caller, who must be an admin (403 otherwise).
#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.role == Role::Admin {
            Ok(AdminUser(user))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `ADDR` or `ADDR/PREFIX`.
    pub fn parse(raw: &str) -> Option<IpNet> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (raw.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    /// Whether `ip` lies in the range (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let keep = |bits: u32, total: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (!0u128 << (total - bits)) & (!0u128 >> (128 - total))
            }
        };
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let m = keep(self.prefix.into(), 32);
                (u128::from(u32::from(a)) & m) == (u128::from(u32::from(b)) & m)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let m = keep(self.prefix.into(), 128);
                (u128::from(a) & m) == (u128::from(b) & m)
            }
            _ => false,
        }
    }
}

/// The proxies whose `X-Forwarded-For` the server believes.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses each entry; the first that is neither an address nor a range is
    /// returned as the error.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| IpNet::parse(e).ok_or_else(|| e.clone()))
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request that reached us from `peer` with these
    /// `X-Forwarded-For` values: `peer` itself unless it is a trusted proxy;
    /// then the right-most forwarded address that is not a trusted proxy
    /// (entries to its left were written by the client and may be forged).
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded
            .iter()
            .flat_map(|h| h.split(','))
            .map_while(|s| s.trim().parse::<IpAddr>().ok())
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// The client's IP address ("unknown" when served without connection info):
/// the TCP peer, or what a trusted proxy says in `X-Forwarded-For`
/// (`Settings::trusted_proxies`).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(ClientIp("unknown".into()));
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(
            state.trusted_proxies.client(peer, &forwarded).to_string(),
        ))
    }
}

/// An in-memory sliding-window limiter: at most `limit` hits per key within
/// `window`. Per process; with N instances the effective limit is N times.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindow {
    /// A limiter allowing `limit` hits per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        SlidingWindow {
            limit: limit.max(1) as usize,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Records a hit for `key`, or says how long until one is allowed again.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            // Bound memory: forget keys whose window has passed.
            let window = self.window;
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = map.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.limit {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}

/// The 429 of a limiter that said to wait `d`.
fn wait(d: Duration) -> ApiError {
    ApiError::RateLimited(d.as_secs().max(1))
}

impl SlidingWindow {
    /// Records a hit for `key`; 429 with the seconds to wait when over the
    /// limit.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.hit(key).map_err(wait)
    }
}

/// The login limiters, per client IP and per account.
#[derive(Debug)]
pub struct LoginLimits {
    /// Per client IP.
    pub per_ip: SlidingWindow,
    /// Per e-mail.
    pub per_account: SlidingWindow,
}

impl LoginLimits {
    /// Records a login attempt; 429 with the seconds to wait when over a limit.
    pub fn check(&self, ip: &str, account: &str) -> Result<(), ApiError> {
        self.per_ip.check(ip)?;
        self.per_account
            .hit(&account.trim().to_lowercase())
            .map_err(wait)
    }
}

/// A key for one purpose derived from the signing secret:
/// HMAC-SHA256(secret, purpose).
fn derive_key(secret: &[u8], purpose: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

/// The user these credentials sign in, or `None`: the JSON API's login and
/// the web UI's sign-in form both ask here. A malformed or unknown e-mail
/// is checked against a dummy hash, so every answer takes as long and none
/// hints whether an account exists.
pub async fn verify_login(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<Option<neuracrm_domain::User>, neuracrm_actions::ActionError> {
    let creds = neuracrm_actions::auth::credentials(&state.crm, email).await?;
    let (user, phc) = match creds {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let ok = state.tokens.verify_password(password, phc).await;
    Ok(user.filter(|_| ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_what_they_should() {
        let net = |s| IpNet::parse(s).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("10.1.2.3").contains(ip("10.1.2.3")));
        assert!(!net("10.1.2.3").contains(ip("10.1.2.4")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(net("fd00::/8").contains(ip("fd12::1")));
        assert!(!net("fd00::/8").contains(ip("fe80::1")));
        assert!(
            net("127.0.0.1").contains(ip("::ffff:127.0.0.1")),
            "mapped v4"
        );
        assert!(!net("::/0").contains(ip("1.2.3.4")), "families differ");
        for bad in ["", "10.0.0.0/33", "fd00::/129", "localhost", "10.0.0.0/x"] {
            assert!(IpNet::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("203.0.113.9"), &["1.1.1.1"]),
            ip("203.0.113.9"),
            "no trusted proxy: the header is ignored"
        );
        let lb = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        assert_eq!(
            lb.client(ip("203.0.113.9"), &["1.1.1.1"]),
            ip("203.0.113.9"),
            "an untrusted peer cannot forge its address"
        );
        // forged, real client, inner proxy: the right-most untrusted is the client.
        assert_eq!(
            lb.client(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7", "10.0.0.5"]),
            ip("198.51.100.7")
        );
        assert_eq!(lb.client(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        assert_eq!(
            lb.client(ip("10.0.0.2"), &["garbage"]),
            ip("10.0.0.2"),
            "an unreadable header falls back to the peer"
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/8".into(), "proxy".into()]).is_err());
    }

    #[test]
    fn the_window_slides() {
        let w = SlidingWindow::new(2, Duration::from_millis(50));
        assert!(w.hit("a").is_ok());
        assert!(w.hit("a").is_ok());
        let wait = w.hit("a").unwrap_err();
        assert!(wait <= Duration::from_millis(50));
        assert!(w.hit("b").is_ok(), "keys are independent");
        std::thread::sleep(Duration::from_millis(60));
        assert!(w.hit("a").is_ok(), "old hits leave the window");
    }

    #[test]
    fn access_tokens_name_their_session_and_nothing_else_verifies() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let sid = SessionId(42);
        let t = keys.issue(OrgId(2), UserId(3), sid).unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!((c.sub, c.org, c.sid), (3, 2, sid));
        assert!(keys.verify("garbage").is_err());
        // What earlier releases signed: a refresh token, and access tokens
        // without a session.
        let now = chrono::Utc::now().timestamp();
        let encode = |claims: serde_json::Value| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            )
            .unwrap()
        };
        let refresh = encode(
            serde_json::json!({"sub": 3, "org": 2, "sid": sid, "role": "admin", "typ": "refresh", "iat": now, "exp": now + 60}),
        );
        assert!(keys.verify(&refresh).is_err());
        let sessionless = encode(
            serde_json::json!({"sub": 3, "org": 2, "role": "admin", "typ": "access", "iat": now, "exp": now + 60}),
        );
        assert!(keys.verify(&sessionless).is_err());
    }
}

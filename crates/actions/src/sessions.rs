//! Sign-in sessions, the same for every front end: [`open`] at a login,
//! [`touch`] on every authenticated request, [`refresh`] to extend one,
//! [`close`] at a logout; admins [`list`] and [`revoke`] a user's.
//!
//! A session is proved in one of two ways ([`Proof`]): by a front end that
//! verified a signature over its id, user and organization (the JSON API's
//! short-lived access token carries them), or by its token itself,
//! `<session id>.<secret>`, checked against the stored hash (what a cookie
//! of the web UI can carry). Either way [`touch`] is the one check: the
//! session is neither revoked nor expired, its user still exists, and the
//! [`Caller`] it returns acts with the user's role as stored now. Nothing is
//! cached, so a revocation, a deletion or a role change holds for the next
//! request on every instance.
//!
//! Tokens rotate: [`refresh`] replaces the session by the next one of its
//! family, with a new id and secret, and marks the old one rotated. A
//! rotated session's token presented again means that two parties hold it
//! (the client and a thief, one of which refreshed first): the whole family
//! is revoked and both must sign in again. Only the SHA-256 of a secret is
//! stored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use neuracrm_domain::{OrgId, Session, SessionId, User, UserId};
use neuracrm_store::StoreError;
use neuracrm_store::sessions::NewSession;
use sha2::{Digest, Sha256};

use crate::{Access, ActionError, ActionResult, Caller, Crm};

/// How often a busy session's `last_used_at` is written: a request moves it
/// forward only when it is older than this.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// What every failed proof of a session answers, whatever failed (unknown,
/// revoked, expired, reused, user deleted): the client must sign in again.
const ENDED: ActionError = ActionError::Unauthenticated("the session has ended: sign in again");

/// A session's token, `<session id>.<secret>`: 32 hex digits, a dot, and
/// the 64 hex digits of a 32-byte random secret. It is the refresh token of
/// the JSON API (and what a cookie can carry). `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// The token itself; call only where it is handed to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.0.split('.').next().unwrap_or_default();
        write!(f, "SessionToken({id}.***)")
    }
}

/// A session just opened or refreshed, with its token (shown once: only its
/// hash is stored).
#[derive(Debug, Clone)]
pub struct Opened {
    /// The session.
    pub session: Session,
    /// Its token.
    pub token: SessionToken,
}

/// How a request proves its session.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// The front end verified a signature over these (the JSON API's access
    /// token): one indexed lookup.
    Signed {
        /// The organization.
        org: OrgId,
        /// The user.
        user: UserId,
        /// The session.
        session: SessionId,
    },
    /// The session's token itself (e.g. from a cookie): it must be the
    /// family's current token. Two lookups.
    Token(&'a str),
}

pub(crate) fn random<const N: usize>() -> ActionResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| ActionError::Internal(format!("the system's random source failed: {e}")))?;
    Ok(bytes)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The stored form of a secret: its SHA-256, in hex.
fn hash(secret: &[u8; 32]) -> String {
    hex(&Sha256::digest(secret))
}

/// A fresh session id, secret and token.
fn mint() -> ActionResult<(SessionId, String, SessionToken)> {
    let id = SessionId::from_bytes(random::<16>()?);
    let secret = random::<32>()?;
    Ok((
        id,
        hash(&secret),
        SessionToken(format!("{id}.{}", hex(&secret))),
    ))
}

/// The session id and the secret's hash of a token; `None` when it does not
/// have the token's form.
fn read_token(token: &str) -> Option<(SessionId, String)> {
    let (id, secret) = token.trim().split_once('.')?;
    let id: SessionId = id.parse().ok()?;
    if secret.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, pair) in secret.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        if !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        bytes[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some((id, hash(&bytes)))
}

fn expiry(now: DateTime<Utc>, lifetime: Duration) -> DateTime<Utc> {
    let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::days(3650));
    now.checked_add_signed(lifetime)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Opens a session of `user`, who just proved who they are (a login): the
/// first of a new family, expiring after `lifetime` unless refreshed.
pub async fn open(crm: &Crm, user: &User, lifetime: Duration) -> ActionResult<Opened> {
    let now = Utc::now();
    let (id, refresh_hash, token) = mint()?;
    let session = crm
        .store
        .sessions()
        .open(
            user.organization_id,
            user.id,
            &NewSession {
                id,
                family_id: id,
                signed_in_at: now,
                refresh_hash,
                expires_at: expiry(now, lifetime),
            },
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ENDED,
            other => other.into(),
        })?;
    Ok(Opened { session, token })
}

/// What proving a session checks and does beyond the one check of
/// [`touch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    /// Ends the session when it went unused for longer than this (a
    /// browser's idle timeout). `last_used_at` moves at most once per
    /// [`TOUCH_EVERY`], so the session ends between `idle` and `idle` +
    /// [`TOUCH_EVERY`] after its last use: never before `idle`.
    pub idle: Option<Duration>,
    /// Whether this request counts as use (moves `last_used_at`): a person's
    /// request does; a page's background refresh or a stream's periodic
    /// recheck does not, so an open tab does not keep an idle session alive.
    pub mark: bool,
}

impl Use {
    /// A request of the JSON API: no idle limit, counts as use.
    pub const API: Use = Use {
        idle: None,
        mark: true,
    };
}

/// Proves a session for one request: the [`Caller`] with the user's current
/// role, or `Unauthenticated` when the session is unknown, revoked or
/// expired, or its user no longer exists. Marks the session used (at most
/// once per [`TOUCH_EVERY`]). No idle limit: see [`prove`].
pub async fn touch(crm: &Crm, proof: Proof<'_>) -> ActionResult<Caller> {
    prove(crm, proof, Use::API).await
}

/// [`touch`], with an idle limit and marking as `usage` says. A session
/// found idle for longer than its limit is revoked (its whole sign-in) and
/// answered `Unauthenticated`, like any ended session.
pub async fn prove(crm: &Crm, proof: Proof<'_>, usage: Use) -> ActionResult<Caller> {
    let now = Utc::now();
    let sessions = crm.store.sessions();
    let (org, user, id, secret_hash) = match proof {
        Proof::Signed { org, user, session } => (org, user, session, None),
        Proof::Token(token) => {
            let (id, hash) = read_token(token).ok_or(ENDED)?;
            let s = sessions.by_refresh(id, &hash).await?.ok_or(ENDED)?;
            (s.organization_id, s.user_id, id, Some(hash))
        }
    };
    let access = sessions
        .access(org, user, id, secret_hash.as_deref())
        .await?
        .filter(|a| a.expires_at > now)
        .ok_or(ENDED)?;
    let every = chrono::Duration::from_std(TOUCH_EVERY).unwrap_or_default();
    if let Some(idle) = usage.idle {
        let idle = chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::MAX);
        if now - access.last_used_at > idle.checked_add(&every).unwrap_or(idle) {
            tracing::info!(
                organization = org.0,
                user = user.0,
                "a session idle for longer than its limit ended"
            );
            revoke_of(crm, org, user, id).await?;
            return Err(ENDED);
        }
    }
    if usage.mark && now - access.last_used_at >= every {
        // A missed mark loses nothing but a timestamp: the request goes on.
        if let Err(e) = sessions.touch(org, id, now, now - every).await {
            tracing::warn!(error = %crate::error_chain(&e), "marking a session used failed");
        }
    }
    Ok(Caller {
        user,
        org,
        role: access.role,
        session: Some(id),
    })
}

/// Exchanges a session's token for the next session of its family (new id,
/// new token, `lifetime` from now). A token whose session was already
/// rotated is a reuse: the whole family is revoked. Every failure is the
/// same `Unauthenticated`.
pub async fn refresh(crm: &Crm, token: &str, lifetime: Duration) -> ActionResult<Opened> {
    let now = Utc::now();
    let sessions = crm.store.sessions();
    let (id, hash) = read_token(token).ok_or(ENDED)?;
    let old = sessions.by_refresh(id, &hash).await?.ok_or(ENDED)?;
    if !old.is_live(now) {
        return Err(ENDED);
    }
    if old.rotated_at.is_some() {
        return Err(reused(crm, &old, now).await);
    }
    let (next_id, refresh_hash, token) = mint()?;
    let next = NewSession {
        id: next_id,
        family_id: old.family_id,
        signed_in_at: old.signed_in_at,
        refresh_hash,
        expires_at: expiry(now, lifetime),
    };
    match sessions
        .rotate(old.organization_id, old.user_id, old.id, &next, now)
        .await?
    {
        Some(session) => Ok(Opened { session, token }),
        // Rotated (or revoked) between the read and the write: a concurrent
        // refresh with the same token won, so this one is the reuse.
        None => Err(reused(crm, &old, now).await),
    }
}

/// Revokes the family of `old`, whose token was presented after its
/// rotation; the error to answer.
async fn reused(crm: &Crm, old: &Session, now: DateTime<Utc>) -> ActionError {
    match crm
        .store
        .sessions()
        .revoke_family(old.organization_id, old.family_id, now)
        .await
    {
        Ok(n) => {
            tracing::warn!(
                organization = old.organization_id.0,
                user = old.user_id.0,
                family = %old.family_id,
                revoked = n,
                "a rotated refresh token was presented again: its session family is revoked"
            );
            ENDED
        }
        Err(e) => e.into(),
    }
}

/// Ends the caller's session (a logout): revokes its family, so that the
/// access tokens and the refresh token of it stop working at once.
pub async fn close(crm: &Crm, caller: &Caller) -> ActionResult<()> {
    let Some(id) = caller.session else {
        return Ok(());
    };
    revoke_of(crm, caller.org, caller.user, id).await
}

async fn revoke_of(crm: &Crm, org: OrgId, user: UserId, id: SessionId) -> ActionResult<()> {
    let sessions = crm.store.sessions();
    let session = sessions.get(org, user, id).await?;
    sessions
        .revoke_family(org, session.family_id, Utc::now())
        .await?;
    Ok(())
}

/// The live sessions of `user` of the caller's organization (admins only),
/// most recently used first; `NotFound` for a user of no such id there.
pub async fn list(crm: &Crm, caller: &Caller, user: UserId) -> ActionResult<Vec<Session>> {
    caller.require(Access::Admins)?;
    crm.store.users().get(caller.org, user).await?;
    Ok(crm
        .store
        .sessions()
        .live(caller.org, user, Utc::now())
        .await?)
}

/// The caller's own live sessions, most recently used first (every role).
pub async fn own(crm: &Crm, caller: &Caller) -> ActionResult<Vec<Session>> {
    Ok(crm
        .store
        .sessions()
        .live(caller.org, caller.user, Utc::now())
        .await?)
}

/// Ends one of the caller's own sessions, with its whole sign-in (every
/// role; revoking the one they act in signs them out); `NotFound` unless
/// the caller has such a session.
pub async fn revoke_own(crm: &Crm, caller: &Caller, id: SessionId) -> ActionResult<()> {
    revoke_of(crm, caller.org, caller.user, id).await
}

/// Ends every session of the caller but the one they act in ("sign out
/// everywhere else"); returns how many were ended.
pub async fn revoke_others(crm: &Crm, caller: &Caller) -> ActionResult<u64> {
    Ok(crm
        .store
        .sessions()
        .revoke_user(caller.org, caller.user, caller.session, Utc::now())
        .await?)
}

/// Revokes session `id` of `user` of the caller's organization, with its
/// whole family (admins only); `NotFound` unless such a session exists
/// there. Revoking one already revoked changes nothing.
pub async fn revoke(crm: &Crm, caller: &Caller, user: UserId, id: SessionId) -> ActionResult<()> {
    caller.require(Access::Admins)?;
    revoke_of(crm, caller.org, user, id).await
}

/// The periodic job that deletes expired sessions.
pub const CLEANUP_JOB: &str = "sessions_cleanup";

/// Deletes the sessions of every organization that expired by `now`
/// (maintenance, no caller: the scheduler's hourly job); returns how many.
pub async fn delete_expired(
    store: &neuracrm_store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, neuracrm_store::StoreError> {
    store.sessions().delete_expired_of_all(now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_to_their_id_and_hash_only_in_their_one_form() {
        let (id, hash, token) = mint().unwrap();
        let text = token.expose();
        assert_eq!(text.len(), 32 + 1 + 64);
        assert_eq!(read_token(text), Some((id, hash.clone())));
        assert_eq!(hash.len(), 64);
        assert!(!text.contains(&hash), "the token is not its hash");
        assert!(!format!("{token:?}").contains(text.split('.').nth(1).unwrap()));
        let upper = format!("{id}.{}", text[33..].to_uppercase());
        for bad in [
            String::new(),
            ".".into(),
            text[..text.len() - 1].into(),
            format!("{text}0"),
            upper,
            text.replacen('.', ":", 1),
            format!("{}.{}", &text[..31], &text[33..]),
        ] {
            assert!(read_token(&bad).is_none(), "{bad}");
        }
        let (other_id, other_hash, _) = mint().unwrap();
        assert_ne!((id, hash), (other_id, other_hash), "random");
    }

    /// What a cookie front end would do: keep the token, prove the session
    /// with it on each request.
    #[tokio::test]
    async fn a_token_proves_its_session_while_it_is_the_current_one() {
        let db = neuracrm_store::testing::fresh_store().await;
        let crm = Crm::new(
            db.store.clone(),
            std::sync::Arc::new(neuracrm_events::BroadcastBus::default()),
            std::sync::Arc::new(neuracrm_jobs::intent::IntentService::new(None, 0).unwrap()),
            std::sync::Arc::new(neuracrm_jobs::sentiment::SentimentService::new(None)),
        );
        let org = db.store.organizations().create("A").await.unwrap();
        let user = db
            .store
            .users()
            .create(
                org.id,
                None,
                &neuracrm_domain::NewUser {
                    email: neuracrm_domain::Email::parse("a@a.io").unwrap(),
                    name: "A".into(),
                    role: neuracrm_domain::Role::Manager,
                },
                "h",
            )
            .await
            .unwrap();
        let day = Duration::from_secs(86_400);
        let first = open(&crm, &user, day).await.unwrap();
        let caller = touch(&crm, Proof::Token(first.token.expose()))
            .await
            .unwrap();
        assert_eq!(
            (caller.user, caller.org, caller.role, caller.session),
            (user.id, org.id, user.role, Some(first.session.id))
        );
        let signed = Proof::Signed {
            org: org.id,
            user: user.id,
            session: first.session.id,
        };
        assert_eq!(touch(&crm, signed).await.unwrap(), caller);
        let forged = format!("{}.{}", first.session.id, "0".repeat(64));
        assert_eq!(touch(&crm, Proof::Token(&forged)).await, Err(ENDED));

        let second = refresh(&crm, first.token.expose(), day).await.unwrap();
        assert_eq!(second.session.family_id, first.session.id);
        assert_eq!(
            touch(&crm, Proof::Token(first.token.expose())).await,
            Err(ENDED)
        );
        let caller = touch(&crm, Proof::Token(second.token.expose()))
            .await
            .unwrap();
        assert_eq!(caller.session, Some(second.session.id));

        close(&crm, &caller).await.unwrap();
        assert_eq!(
            touch(&crm, Proof::Token(second.token.expose())).await,
            Err(ENDED)
        );
        assert_eq!(touch(&crm, signed).await, Err(ENDED), "the family ended");
        assert_eq!(
            refresh(&crm, second.token.expose(), day).await.unwrap_err(),
            ENDED
        );
    }
}

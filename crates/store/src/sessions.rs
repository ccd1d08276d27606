//! Sign-in sessions: opened by a login, rotated by each refresh, checked by
//! every authenticated request, revoked by logout, an admin, a password
//! change or a reused refresh secret.
//!
//! Methods take the organization first, as everywhere, except
//! [`Sessions::by_refresh`]: a refresh token names its session only (it is
//! opaque), as a login names its user by e-mail only. Only the SHA-256 of a
//! refresh secret is stored, never the secret.

use chrono::{DateTime, Utc};
use neuracrm_domain::{OrgId, Role, Session, SessionId, UserId};

use crate::db::{Db, Sql, Tx};
use crate::tables::word;
use crate::{Result, StoreError};

const COLUMNS: &str = "id, organization_id, user_id, family_id, signed_in_at, created_at, \
     last_used_at, expires_at, rotated_at, revoked_at";

/// Session repository.
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    organization_id: i64,
    user_id: i64,
    family_id: String,
    signed_in_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

fn session_id(raw: &str) -> Result<SessionId> {
    raw.parse().map_err(|e| StoreError::Corrupt {
        entity: "session",
        message: format!("{e}: {raw:?}"),
    })
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self> {
        Ok(Session {
            id: session_id(&r.id)?,
            organization_id: OrgId(r.organization_id),
            user_id: UserId(r.user_id),
            family_id: session_id(&r.family_id)?,
            signed_in_at: r.signed_in_at,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            rotated_at: r.rotated_at,
            revoked_at: r.revoked_at,
        })
    }
}

/// A session to store: the first of a family (`family_id == id`) or the
/// next one of a family being refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Its random id.
    pub id: SessionId,
    /// Its family.
    pub family_id: SessionId,
    /// When the family's login happened.
    pub signed_in_at: DateTime<Utc>,
    /// The hex SHA-256 of its refresh secret (64 digits).
    pub refresh_hash: String,
    /// When it expires unless refreshed before.
    pub expires_at: DateTime<Utc>,
}

/// What an authenticated request needs to know of its session, read in one
/// lookup: that it is not revoked, and its user's current role (no row when
/// the user no longer exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAccess {
    /// The user's role now.
    pub role: Role,
    /// When the session was last marked used.
    pub last_used_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    role: String,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

crate::sqlite_read::sqlite_row!(AccessRow {
    role,
    last_used_at,
    expires_at
});

impl Sessions<'_> {
    /// Stores the first session of a new family of `user` (a login), and
    /// deletes the user's sessions that expired (a family's rotated sessions
    /// are kept until they expire, to recognise their refresh secrets when
    /// they are presented again). `NotFound` when the user does not exist.
    pub async fn open(
        &self,
        org: OrgId,
        user: UserId,
        new: &NewSession,
        now: DateTime<Utc>,
    ) -> Result<Session> {
        let mut tx = self.db.begin().await?;
        let session = insert(&mut tx, org, user, new, now).await?;
        prune(&mut tx, org, user, now).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The session whose id and refresh-secret hash these are, in whatever
    /// organization and state (the caller decides what a rotated, revoked
    /// or expired one means).
    pub async fn by_refresh(&self, id: SessionId, refresh_hash: &str) -> Result<Option<Session>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM sessions WHERE id = ")
            .bind(id)
            .push(" AND refresh_hash = ")
            .bind(refresh_hash);
        let row: Option<SessionRow> = self.db.fetch_optional(q).await?;
        row.map(Session::try_from).transpose()
    }

    /// Replaces session `old` of `user` by `next` of the same family, in one
    /// transaction: `old` is marked rotated, `next` stored. `None` when
    /// `old` is no longer the family's live current session (rotated,
    /// revoked or expired, perhaps by a concurrent refresh a moment ago):
    /// nothing is written then.
    pub async fn rotate(
        &self,
        org: OrgId,
        user: UserId,
        old: SessionId,
        next: &NewSession,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>> {
        let mut tx = self.db.begin().await?;
        let marked = tx
            .execute(
                Sql::new(
                    "UPDATE sessions SET rotated_at = $1, last_used_at = $1 \
                     WHERE organization_id = $2 AND user_id = $3 AND id = $4 \
                     AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
                )
                .arg(now)
                .arg(org)
                .arg(user)
                .arg(old),
            )
            .await?;
        if marked == 0 {
            return Ok(None);
        }
        let session = insert(&mut tx, org, user, next, now).await?;
        prune(&mut tx, org, user, now).await?;
        tx.commit().await?;
        Ok(Some(session))
    }

    /// The per-request check, one indexed lookup: the user's current role
    /// when session `id` of `user` is not revoked and the user exists;
    /// `None` otherwise. With `refresh_hash` (a front end that holds the
    /// session's secret, such as a cookie, rather than a signed token naming
    /// it), the session must also be its family's current one with that
    /// secret. Expiry is the caller's to compare. On a SQLite file the read
    /// runs inline on an idle reader connection (`Db::fetch_point`).
    pub async fn access(
        &self,
        org: OrgId,
        user: UserId,
        id: SessionId,
        refresh_hash: Option<&str>,
    ) -> Result<Option<SessionAccess>> {
        let mut q = Sql::new(
            "SELECT u.role AS role, s.last_used_at AS last_used_at, s.expires_at AS expires_at \
             FROM sessions s JOIN users u ON u.organization_id = s.organization_id AND u.id = s.user_id \
             WHERE s.id = $1 AND s.organization_id = $2 AND s.user_id = $3 AND s.revoked_at IS NULL",
        )
        .arg(id)
        .arg(org)
        .arg(user);
        if let Some(hash) = refresh_hash {
            q.push(" AND s.rotated_at IS NULL AND s.refresh_hash = ")
                .bind(hash);
        }
        let rows: Vec<AccessRow> = self.db.fetch_point(q).await?;
        rows.into_iter()
            .next()
            .map(|r| {
                Ok(SessionAccess {
                    role: word("user", &r.role)?,
                    last_used_at: r.last_used_at,
                    expires_at: r.expires_at,
                })
            })
            .transpose()
    }

    /// Marks session `id` used at `now`, unless it was marked at or after
    /// `unless_since` (so that a busy session is written once a minute, not
    /// once a request).
    pub async fn touch(
        &self,
        org: OrgId,
        id: SessionId,
        now: DateTime<Utc>,
        unless_since: DateTime<Utc>,
    ) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "UPDATE sessions SET last_used_at = $1 \
                     WHERE organization_id = $2 AND id = $3 AND last_used_at < $4",
                )
                .arg(now)
                .arg(org)
                .arg(id)
                .arg(unless_since),
            )
            .await?;
        Ok(())
    }

    /// Session `id` of `user` in `org`, in whatever state; `NotFound` when
    /// there is none (in particular one of another organization or user).
    pub async fn get(&self, org: OrgId, user: UserId, id: SessionId) -> Result<Session> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM sessions WHERE organization_id = ")
            .bind(org)
            .push(" AND user_id = ")
            .bind(user)
            .push(" AND id = ")
            .bind(id);
        let row: Option<SessionRow> = self.db.fetch_optional(q).await?;
        row.ok_or(StoreError::NotFound { entity: "session" })?
            .try_into()
    }

    /// The live sessions of `user`: each family's current session that is
    /// neither revoked nor expired, most recently used first.
    pub async fn live(&self, org: OrgId, user: UserId, now: DateTime<Utc>) -> Result<Vec<Session>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM sessions WHERE organization_id = ")
            .bind(org)
            .push(" AND user_id = ")
            .bind(user)
            .push(" AND expires_at > ")
            .bind(now)
            .push(" AND rotated_at IS NULL AND revoked_at IS NULL ORDER BY last_used_at DESC, id");
        let rows: Vec<SessionRow> = self.db.fetch_all(q).await?;
        rows.into_iter().map(Session::try_from).collect()
    }

    /// Revokes every session of `family` not yet revoked; returns how many.
    pub async fn revoke_family(
        &self,
        org: OrgId,
        family: SessionId,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(self
            .db
            .execute(
                Sql::new(
                    "UPDATE sessions SET revoked_at = $1 \
                     WHERE organization_id = $2 AND family_id = $3 AND revoked_at IS NULL",
                )
                .arg(now)
                .arg(org)
                .arg(family),
            )
            .await?)
    }

    /// Revokes every session of `user` not yet revoked, except the family
    /// of session `keep` when given; returns how many.
    pub async fn revoke_user(
        &self,
        org: OrgId,
        user: UserId,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = revoke_user_in(&mut tx, org, user, keep, now).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Deletes every organization's sessions that expired at `now` (the
    /// hourly clean-up: a user who never signs in again leaves none
    /// behind); returns how many. An expired session's refresh secret is
    /// refused whether or not its row is there.
    pub async fn delete_expired_of_all(&self, now: DateTime<Utc>) -> Result<u64> {
        Ok(self
            .db
            .execute(Sql::new("DELETE FROM sessions WHERE expires_at <= $1").arg(now))
            .await?)
    }
}

async fn insert(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    new: &NewSession,
    now: DateTime<Utc>,
) -> Result<Session> {
    let mut q = Sql::new(
        "INSERT INTO sessions (id, organization_id, user_id, family_id, refresh_hash, \
         signed_in_at, created_at, last_used_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING ",
    )
    .arg(new.id)
    .arg(org)
    .arg(user)
    .arg(new.family_id)
    .arg(new.refresh_hash.as_str())
    .arg(new.signed_in_at)
    .arg(now)
    .arg(new.expires_at);
    q.push(COLUMNS);
    let row: SessionRow = tx.fetch_one(q).await.map_err(|e| {
        // The composite key to users: no such user in the organization.
        if e.as_database_error()
            .is_some_and(|d| d.is_foreign_key_violation())
        {
            StoreError::NotFound { entity: "user" }
        } else {
            StoreError::unique(e, "session", &["id"])
        }
    })?;
    row.try_into()
}

/// Deletes the sessions of `user` that expired: no refresh secret of theirs
/// is accepted any more, reused or not.
async fn prune(tx: &mut Tx, org: OrgId, user: UserId, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        Sql::new(
            "DELETE FROM sessions WHERE organization_id = $1 AND user_id = $2 AND expires_at <= $3",
        )
        .arg(org)
        .arg(user)
        .arg(now),
    )
    .await?;
    Ok(())
}

/// [`Sessions::revoke_user`] inside a caller's transaction (a password
/// change revokes in the transaction that changes the hash).
pub(crate) async fn revoke_user_in(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    keep: Option<SessionId>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut q = Sql::new(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE organization_id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .arg(now)
    .arg(org)
    .arg(user);
    if let Some(keep) = keep {
        // NOT IN: a `keep` that names no session keeps nothing.
        q.push(" AND family_id NOT IN (SELECT family_id FROM sessions WHERE organization_id = $2 AND id = ")
            .bind(keep)
            .push(")");
    }
    Ok(tx.execute(q).await?)
}

//! Users: logins of an organization. Passwords are stored only as argon2 hashes
//! produced by the caller.

use chrono::{DateTime, Utc};
use neuracrm_domain::{Email, NewUser, OrgId, Role, SessionId, User, UserId};

use crate::audit::{self, Action};
use crate::db::{Db, Sql, Tx};
use crate::tables::{Table, word};
use crate::{Page, Paged, Result, StoreError};

const COLUMNS: &str = "id, organization_id, email, name, role, created_at";

/// User repository.
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    organization_id: i64,
    email: String,
    name: String,
    role: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(User {
            id: UserId(r.id),
            organization_id: OrgId(r.organization_id),
            email: Email::parse(&r.email).map_err(|e| StoreError::Corrupt {
                entity: "user",
                message: e.to_string(),
            })?,
            name: r.name,
            role: word("user", &r.role)?,
            created_at: r.created_at,
        })
    }
}

/// A user with the stored password hash, for logging in.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2 PHC string.
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

/// A change of a user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    /// New display name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New password hash. Every session of the user is revoked in the same
    /// transaction, except the family of `keep_session`.
    pub password_hash: Option<String>,
    /// With a new password: the session that stays signed in (the one a
    /// user changed their own password with).
    pub keep_session: Option<SessionId>,
}

impl Users<'_> {
    /// Creates a user of `org`.
    pub async fn create(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewUser,
        password_hash: &str,
    ) -> Result<User> {
        let mut tx = self.db.begin().await?;
        let user = Self::create_in(&mut tx, org, actor, new, password_hash).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Creates a user inside a caller's transaction (used when registering an
    /// organization with its first admin atomically).
    pub async fn create_in(
        tx: &mut Tx,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewUser,
        password_hash: &str,
    ) -> Result<User> {
        new.validate()?;
        let row: UserRow = tx
            .fetch_one(
                Sql::new(
                    "INSERT INTO users (organization_id, email, name, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id, organization_id, email, name, role, created_at",
                )
                .arg(org)
                .arg(new.email.clone())
                .arg(new.name.trim())
                .arg(new.role)
                .arg(password_hash)
                .arg(Utc::now()),
            )
            .await
            .map_err(|e| StoreError::unique(e, "user", &["email"]))?;
        audit::record(tx, org, actor, Action::Create, "user", row.id).await?;
        row.try_into()
    }

    /// One user of the organization.
    pub async fn get(&self, org: OrgId, id: UserId) -> Result<User> {
        let row: UserRow = Table::Users.get(self.db, COLUMNS, org, id.0).await?;
        row.try_into()
    }

    /// The user with this login e-mail, in any organization, with the hash to
    /// verify against.
    pub async fn credentials(&self, email: &Email) -> Result<Option<Credentials>> {
        let row: Option<CredentialsRow> = self
            .db
            .fetch_optional(
                Sql::new(
                    "SELECT id, organization_id, email, name, role, created_at, password_hash \
                     FROM users WHERE email = $1",
                )
                .arg(email.clone()),
            )
            .await?;
        row.map(|r| {
            Ok(Credentials {
                user: r.user.try_into()?,
                password_hash: r.password_hash,
            })
        })
        .transpose()
    }

    /// The organization's users, by name.
    pub async fn list(&self, org: OrgId, page: Page) -> Result<Paged<User>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM users WHERE organization_id = ")
            .bind(org);
        crate::tables::order_and_page(&mut q, "name", crate::SortDir::Asc, page);
        let rows: Vec<UserRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(User::try_from)
    }

    /// Changes a user.
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: UserId,
        p: &UserPatch,
    ) -> Result<User> {
        let mut tx = self.db.begin().await?;
        let old: UserRow = Table::Users
            .get_for_update(&mut tx, COLUMNS, org, id.0)
            .await?;
        let name = match &p.name {
            Some(n) => {
                neuracrm_domain::values::required_text(n, "name", neuracrm_domain::MAX_NAME)?
            }
            None => old.name,
        };
        let role = p.role.map(|r| r.as_str().to_string()).unwrap_or(old.role);
        let mut q = Sql::new("UPDATE users SET name = ");
        q.bind(name).push(", role = ").bind(role);
        if let Some(h) = &p.password_hash {
            q.push(", password_hash = ").bind(h.as_str());
        }
        q.push(" WHERE organization_id = ")
            .bind(org)
            .push(" AND id = ")
            .bind(id);
        q.push(" RETURNING ").push(COLUMNS);
        let row: UserRow = tx.fetch_one(q).await?;
        if p.password_hash.is_some() {
            crate::sessions::revoke_user_in(&mut tx, org, id, p.keep_session, Utc::now()).await?;
        }
        audit::record(&mut tx, org, actor, Action::Update, "user", id.0).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// Deletes a user; records they owned or wrote stay, unowned; their
    /// sessions go with them.
    pub async fn delete(&self, org: OrgId, actor: Option<UserId>, id: UserId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        Table::Users
            .check_ref(&mut tx, org, Some(id.0), "id")
            .await
            .map_err(|_| StoreError::NotFound { entity: "user" })?;
        for (table, column) in [
            (Table::Contacts, "owner_id"),
            (Table::Leads, "owner_id"),
            (Table::Deals, "owner_id"),
            (Table::Activities, "user_id"),
        ] {
            table.detach(&mut tx, column, org, id.0).await?;
        }
        Table::Users.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, "user", id.0).await?;
        tx.commit().await
    }
}

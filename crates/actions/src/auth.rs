//! Registration and the caller's identity. Tokens and browser sessions are
//! the front ends' business; who may sign in, and as whom, is decided here.

use neuracrm_domain::password::Password;
use neuracrm_domain::{Email, EventKind, NewForecastingModel, NewUser, Organization, Role, User};
use neuracrm_store::StoreError;
use neuracrm_store::users::{Credentials, Users};

use crate::{ActionError, ActionResult, Caller, Crm};

/// A new organization and its first admin.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The organization's name.
    pub organization_name: String,
    /// The admin's display name.
    pub name: String,
    /// The admin's login.
    pub email: Email,
    /// The admin's plain password, checked against the policy.
    pub password: String,
}

/// Hashes a password on the blocking pool (argon2 takes tens of
/// milliseconds).
pub async fn hash_password(p: Password) -> ActionResult<String> {
    tokio::task::spawn_blocking(move || p.hash())
        .await
        .map_err(|e| ActionError::Internal(format!("password hashing task failed: {e}")))
}

/// Creates an organization and its first admin in one transaction, and
/// publishes `user_created`.
pub async fn register(crm: &Crm, r: Registration) -> ActionResult<(Organization, User)> {
    let org_name =
        neuracrm_domain::values::required_text(&r.organization_name, "organization_name", 200)?;
    let new = NewUser {
        email: r.email,
        name: r.name,
        role: Role::Admin,
    };
    new.validate()?;
    let password = Password::parse_for(&r.password, new.email.as_str(), &new.name)?;
    let hash = hash_password(password).await?;
    let mut tx = crm.store.db().begin().await?;
    let org = crm
        .store
        .organizations()
        .create_in(&mut tx, &org_name)
        .await?;
    let user = Users::create_in(&mut tx, org.id, None, &new, &hash).await?;
    tx.commit().await?;
    crm.publish(org.id, EventKind::UserCreated { id: user.id });
    // The organization is usable without it (a model can be added later), so
    // a failure here is logged, not returned.
    if let Err(e) = crm
        .store
        .forecasting_models()
        .create(org.id, Some(user.id), &NewForecastingModel::starter())
        .await
    {
        tracing::warn!(org = org.id.0, error = %e, "the starter forecasting model was not created");
    }
    Ok((org, user))
}

/// The stored credentials of a login e-mail; `None` for a malformed or
/// unknown address (the caller cannot tell which).
pub async fn credentials(crm: &Crm, email: &str) -> ActionResult<Option<Credentials>> {
    match Email::parse(email) {
        Ok(email) => Ok(crm.store.users().credentials(&email).await?),
        Err(_) => Ok(None),
    }
}

/// The caller's user and organization as stored now; `Unauthenticated` when
/// the user no longer exists.
pub async fn whoami(crm: &Crm, caller: &Caller) -> ActionResult<(User, Organization)> {
    let gone = |e: StoreError| match e {
        StoreError::NotFound { .. } => ActionError::Unauthenticated("user no longer exists"),
        other => other.into(),
    };
    let user = crm
        .store
        .users()
        .get(caller.org, caller.user)
        .await
        .map_err(gone)?;
    let org = crm
        .store
        .organizations()
        .get(caller.org)
        .await
        .map_err(gone)?;
    Ok((user, org))
}

/// The stored user a refresh token names; `Unauthenticated` when it no
/// longer exists.
pub async fn current_user(
    crm: &Crm,
    org: neuracrm_domain::OrgId,
    user: neuracrm_domain::UserId,
) -> ActionResult<User> {
    crm.store.users().get(org, user).await.map_err(|e| match e {
        StoreError::NotFound { .. } => ActionError::Unauthenticated("invalid or expired token"),
        other => other.into(),
    })
}

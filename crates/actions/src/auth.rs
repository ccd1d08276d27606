//! Registration and the caller's identity. How a session is proved (a token,
//! a cookie) is the front ends' business; who may sign in, and as whom, is
//! decided here and in [`sessions`](crate::sessions).

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

/// What a registration did. A front end answers both the same way, so that
/// nobody learns through registration whether an address has an account
/// (in any organization): the one who registered finds out by signing in.
#[derive(Debug, Clone, PartialEq)]
pub enum Registered {
    /// The organization and its first admin were created.
    Created(Organization, User),
    /// Nothing was created: the address is already a login.
    Refused,
}

/// Creates an organization and its first admin in one transaction, and
/// publishes `user_created`; [`Registered::Refused`] when the e-mail is
/// taken. The password is hashed whether or not the address is free, so
/// both outcomes take as long.
pub async fn register(crm: &Crm, r: Registration) -> ActionResult<Registered> {
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
    let user = match Users::create_in(&mut tx, org.id, None, &new, &hash).await {
        Ok(user) => user,
        // Dropping the transaction rolls the organization back.
        Err(StoreError::Conflict { field: "email", .. }) => return Ok(Registered::Refused),
        Err(other) => return Err(other.into()),
    };
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
    Ok(Registered::Created(org, user))
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

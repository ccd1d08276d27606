//! Users of an organization, managed by its admins: the [`Record`] of a user.
//! Passwords are checked against the policy and hashed here, off the async
//! runtime, so no front end handles a hash.

use neuracrm_domain::password::Password;
use neuracrm_domain::{EventKind, NewUser, OrgId, Role, User, UserId};
use neuracrm_store::users::UserPatch;
use neuracrm_store::{Paged, StoreError};

use crate::auth::hash_password;
use crate::records::{self, List, Record};
use crate::{Access, ActionError, ActionResult, Caller, Crm};

/// The answer to a new user's e-mail that is already a login, wherever.
pub const EMAIL_UNAVAILABLE: &str = "this e-mail address cannot be given to a new user";

/// A new user and their first password.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// E-mail, name and role.
    pub user: NewUser,
    /// The plain password, checked against the policy before hashing.
    pub password: String,
}

/// A change of a user's name, role or password.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    /// New display name.
    pub name: Option<String>,
    /// New role (an admin cannot demote themselves).
    pub role: Option<Role>,
    /// New plain password, checked against the policy. Every session of
    /// the user ends, except the caller's own when they change their own.
    pub password: Option<String>,
}

impl Record for User {
    type Id = UserId;
    type New = NewAccount;
    type Patch = AccountPatch;
    type Filter = ();
    type Sort = ();
    type View = User;

    const READ: Access = Access::Admins;
    const WRITE: Access = Access::Admins;

    fn check_new(_: &Caller, new: &NewAccount) -> ActionResult<()> {
        Ok(new.user.validate()?)
    }

    fn check_patch(caller: &Caller, id: UserId, patch: &AccountPatch) -> ActionResult<()> {
        if id == caller.user && patch.role.is_some_and(|r| r != Role::Admin) {
            return Err(ActionError::Conflict {
                field: "role".into(),
                message: "an admin cannot demote themselves".into(),
            });
        }
        Ok(())
    }

    fn check_delete(caller: &Caller, id: UserId) -> ActionResult<()> {
        if id == caller.user {
            return Err(ActionError::Conflict {
                field: "id".into(),
                message: "an admin cannot delete themselves".into(),
            });
        }
        Ok(())
    }

    /// A taken e-mail is refused with one message whether the address is
    /// a login of the caller's organization or of another one: the answer
    /// never says that an address has an account elsewhere.
    async fn insert(crm: &Crm, caller: &Caller, new: &NewAccount) -> ActionResult<User> {
        let password = Password::parse_for(&new.password, new.user.email.as_str(), &new.user.name)?;
        let hash = hash_password(password).await?;
        crm.store
            .users()
            .create(caller.org, Some(caller.user), &new.user, &hash)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "email", .. } => ActionError::Conflict {
                    field: "email".into(),
                    message: EMAIL_UNAVAILABLE.into(),
                },
                other => other.into(),
            })
    }

    async fn fetch(crm: &Crm, org: OrgId, id: UserId) -> ActionResult<User> {
        Ok(crm.store.users().get(org, id).await?)
    }

    /// The store returns the user after the change only; the event needs no
    /// more.
    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: UserId,
        patch: &AccountPatch,
    ) -> ActionResult<(User, User)> {
        let password_hash = match &patch.password {
            Some(p) => {
                // Checked against the user's own e-mail and (new) name.
                let user = crm.store.users().get(caller.org, id).await?;
                let name = patch.name.as_deref().unwrap_or(&user.name);
                let password = Password::parse_for(p, user.email.as_str(), name)?;
                Some(hash_password(password).await?)
            }
            None => None,
        };
        // A new password ends every session of the user but the one that
        // changed its own password (in the same transaction).
        let patch = UserPatch {
            name: patch.name.clone(),
            role: patch.role,
            password_hash,
            keep_session: if id == caller.user {
                caller.session
            } else {
                None
            },
        };
        let user = crm
            .store
            .users()
            .update(caller.org, Some(caller.user), id, &patch)
            .await?;
        Ok((user.clone(), user))
    }

    async fn remove(crm: &Crm, caller: &Caller, id: UserId) -> ActionResult<()> {
        Ok(crm
            .store
            .users()
            .delete(caller.org, Some(caller.user), id)
            .await?)
    }

    async fn find(crm: &Crm, org: OrgId, q: &List<User>) -> ActionResult<Paged<User>> {
        Ok(crm.store.users().list(org, q.page).await?)
    }

    fn view(self) -> User {
        self
    }

    fn created(&self) -> Option<EventKind> {
        Some(EventKind::UserCreated { id: self.id })
    }

    fn updated(_: &User, new: &User) -> Option<EventKind> {
        Some(EventKind::UserUpdated { id: new.id })
    }

    fn deleted(id: UserId) -> Option<EventKind> {
        Some(EventKind::UserDeleted { id })
    }
}

/// Changes the caller's own password, whatever their role: `current` must be
/// their password now (else `Invalid` naming `current_password`), and `new`
/// passes the policy (else `Invalid` naming `password`). The same change as
/// an admin's [`AccountPatch`] of a password, with its event: every other
/// session of the caller ends, the one they changed it in goes on.
pub async fn change_own_password(
    crm: &Crm,
    caller: &Caller,
    current: String,
    new: String,
) -> ActionResult<User> {
    let user = crm.store.users().get(caller.org, caller.user).await?;
    let stored = crm
        .store
        .users()
        .credentials(&user.email)
        .await?
        .filter(|c| c.user.id == caller.user && c.user.organization_id == caller.org)
        .ok_or(ActionError::Unauthenticated("user no longer exists"))?;
    let hash = stored.password_hash;
    let right =
        tokio::task::spawn_blocking(move || neuracrm_domain::password::verify(&current, &hash))
            .await
            .map_err(|e| ActionError::Internal(format!("password check task failed: {e}")))?;
    if !right {
        return Err(ActionError::invalid(
            "current_password",
            "this is not your current password",
        ));
    }
    let patch = AccountPatch {
        password: Some(new),
        ..Default::default()
    };
    records::apply::<User>(crm, caller, caller.user, &patch).await
}

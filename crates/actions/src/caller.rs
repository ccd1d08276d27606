//! Who is acting: the user, their organization, their role and the session
//! they act in. Every action takes a [`Caller`] first and acts inside its
//! organization only.

use neuracrm_domain::{OrgId, Role, SessionId, UserId};

use crate::{ActionError, ActionResult};

/// The user an action is done for. Front ends get it from
/// [`sessions::touch`](crate::sessions::touch), which proves the request's
/// session and reads the user's current role; the CLI and jobs act as a
/// named user of the organization they work on, in no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Recorded as the actor of every write (audit log, activities).
    pub user: UserId,
    /// Every read and write is scoped to it.
    pub org: OrgId,
    /// What the user may do (as stored when the request began).
    pub role: Role,
    /// The session the request was made in, if any (a password change
    /// keeps it signed in while every other session of the user ends).
    pub session: Option<SessionId>,
}

/// Which roles an action admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every user of the organization.
    Anyone,
    /// Admins and managers (reps may not).
    Managers,
    /// Admins only.
    Admins,
}

impl Access {
    /// Whether `role` is admitted.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Anyone => true,
            Access::Managers => role != Role::Rep,
            Access::Admins => role == Role::Admin,
        }
    }
}

impl Caller {
    /// `Forbidden` unless the caller's role is admitted by `access`.
    pub fn require(&self, access: Access) -> ActionResult<()> {
        if access.admits(self.role) {
            Ok(())
        } else {
            Err(ActionError::Forbidden)
        }
    }
}

//! `/api/users`: the organization's users, managed by admins only, through
//! the generic mechanism (the user record admits admins only, and refuses an
//! admin's demoting or deleting themselves).

use chrono::{DateTime, Utc};
use neuracrm_actions::users::{AccountPatch, NewAccount};
use neuracrm_domain as d;
use neuracrm_domain::{Email, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::resource::{Conflicts, Docs, Resource, Summaries, crud, wire_types};
use crate::http::wire::{PageQuery, page_type, record_out, vocab};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<d::User>()
}

impl Resource for d::User {
    wire_types!(
        UserOut, UserPage, CreateUser, UpdateUser, UpdateUser, PageQuery
    );

    const DOCS: Docs = Docs::new("user", "users")
        .summaries(Summaries {
            list: Some("Lists the organization's users, by name."),
            create: Some("Creates a user of the organization."),
            get: None,
            update: Some("Changes a user's name, role or password."),
            delete: Some("Deletes a user; what they owned stays, unowned."),
        })
        .bad_query("Bad paging")
        .invalid("Invalid field", "Invalid field")
        .conflicts(Conflicts {
            create: Some("E-mail taken"),
            update: Some("An admin cannot demote themselves"),
            delete: Some("An admin cannot delete themselves"),
        });
}

record_out!(
    /// A user (never with a password hash).
    UserOut from d::User as u {
        id: i64,
        organization_id: i64,
        email: String,
        name: String,
        #[schema(value_type = vocab::Role)]
        role: Role,
        created_at: DateTime<Utc>,
    }
);

page_type!(
    /// A page of users.
    UserPage, UserOut, d::User
);

/// A new user of the caller's organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login e-mail (unique across all organizations).
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    /// Display name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Role.
    #[schema(value_type = vocab::Role)]
    pub role: Role,
    /// Initial password, at least 8 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

impl From<CreateUser> for NewAccount {
    fn from(body: CreateUser) -> Self {
        NewAccount {
            user: d::NewUser {
                email: body.email,
                name: body.name,
                role: body.role,
            },
            password: body.password,
        }
    }
}

/// A change of a user.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New display name.
    #[serde(default, deserialize_with = "neuracrm_domain::entities::non_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// New role.
    #[serde(default, deserialize_with = "neuracrm_domain::entities::non_null")]
    #[schema(value_type = Option<vocab::Role>, nullable = false)]
    pub role: Option<Role>,
    /// New password.
    #[serde(default, deserialize_with = "neuracrm_domain::entities::non_null")]
    #[schema(nullable = false)]
    pub password: Option<String>,
}

impl From<UpdateUser> for AccountPatch {
    fn from(u: UpdateUser) -> Self {
        AccountPatch {
            name: u.name,
            role: u.role,
            password: u.password,
        }
    }
}

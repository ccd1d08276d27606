//! `/settings/users` (admins): the organization's users, adding one with a
//! first password, changing a role, removing one. The same actions and
//! rules as `/api/users`: an admin cannot demote or remove themselves, the
//! password policy, one answer for a taken e-mail.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::response::Response;
use chrono::Utc;
use neuracrm_actions::records;
use neuracrm_actions::users::{AccountPatch, NewAccount};
use neuracrm_actions::{ActionError, ActionResult};
use neuracrm_domain::{Email, NewUser, Role, User, UserId};
use neuracrm_store::Page;
use serde::Deserialize;

use super::{Done, FormError, Frame, after_form};
use crate::web::layout::Shell;
use crate::web::listing::{first, rows};
use crate::web::session::{CsrfForm, NoFields, WebUser};
use crate::web::{PageResult, format};

/// Users a page lists (the most an organization is expected to have; a
/// larger one is told that more exist).
const PER_PAGE: i64 = Page::MAX_LIMIT as i64;

/// The roles, as the selects offer them.
const ROLES: [&str; 3] = ["rep", "manager", "admin"];

/// A user of the list.
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub since: String,
    pub me: bool,
}

/// What the add form holds (kept when it is refused).
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/users.html")]
pub struct UsersPage {
    shell: Shell,
    frame: Frame,
    users: Vec<UserRow>,
    more: bool,
    roles: [&'static str; 3],
    add: AddForm,
}

async fn page(
    user: &WebUser,
    add: AddForm,
    error: Option<FormError>,
    done: Option<&'static str>,
) -> PageResult<UsersPage> {
    let now = Utc::now();
    let found = first::<User>(&user.crm, &user.caller, (), (), PER_PAGE).await?;
    let (users, more) = rows(found, |u| UserRow {
        id: u.id.0,
        me: u.id == user.caller.user,
        name: u.name,
        email: u.email.into(),
        role: u.role.as_str(),
        since: format::ago(u.created_at, now),
    });
    Ok(UsersPage {
        shell: Shell::new(user, "Users and roles", "/settings"),
        frame: Frame::new(user, "/settings/users", error, done),
        more,
        users,
        roles: ROLES,
        add,
    })
}

/// `GET /settings/users` (admins; 403 for others).
pub async fn list(user: WebUser, done: Done) -> PageResult<UsersPage> {
    let said = done.say(&[
        (
            "added",
            "The user is added: give them their e-mail and first password.",
        ),
        (
            "role",
            "The role is changed; it holds from their next request.",
        ),
        ("removed", "The user is removed; their sessions ended."),
    ]);
    page(&user, AddForm::default(), None, said).await
}

fn role(word: &str) -> ActionResult<Role> {
    word.parse::<Role>()
        .map_err(|_| ActionError::invalid("role", "choose rep, manager or admin"))
}

/// `POST /settings/users`: adds a user (the action of `POST /api/users`).
pub async fn add(CsrfForm(user, f): CsrfForm<AddForm>) -> Response {
    let new = match (Email::parse(f.email.trim()), role(&f.role)) {
        (Err(e), _) => Err(ActionError::from(e)),
        (_, Err(e)) => Err(e),
        (Ok(email), Ok(role)) => Ok(NewAccount {
            user: NewUser {
                email,
                name: f.name.trim().to_string(),
                role,
            },
            password: f.password.clone(),
        }),
    };
    let result = match new {
        Ok(new) => records::create::<User>(&user.crm, &user.caller, new).await,
        Err(e) => Err(e),
    };
    // The password is never shown again, even refused.
    let kept = AddForm {
        password: String::new(),
        ..f
    };
    after_form(result, "/settings/users?done=added", async |e| {
        page(&user, kept, Some(e), None).await
    })
    .await
}

/// The role form of a row.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
}

/// `POST /settings/users/{id}/role`: changes a user's role (the action of
/// `PATCH /api/users/{id}`).
pub async fn change_role(Path(id): Path<i64>, CsrfForm(user, f): CsrfForm<RoleForm>) -> Response {
    let result = match role(&f.role) {
        Ok(role) => {
            let patch = AccountPatch {
                role: Some(role),
                ..Default::default()
            };
            records::update::<User>(&user.crm, &user.caller, UserId(id), patch).await
        }
        Err(e) => Err(e),
    };
    after_form(result, "/settings/users?done=role", async |e| {
        page(&user, AddForm::default(), Some(e), None).await
    })
    .await
}

/// `POST /settings/users/{id}/delete`: removes a user (the action of
/// `DELETE /api/users/{id}`).
pub async fn remove(
    Path(id): Path<i64>,
    CsrfForm(user, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    let result = records::delete::<User>(&user.crm, &user.caller, UserId(id)).await;
    after_form(result, "/settings/users?done=removed", async |e| {
        page(&user, AddForm::default(), Some(e), None).await
    })
    .await
}

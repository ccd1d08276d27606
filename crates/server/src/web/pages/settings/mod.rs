//! `/settings`: the signed-in user's own password and sessions (everyone),
//! the organization's users and roles, and its scoring configuration with a
//! preview (admins). Each area is a file; what their forms share is here:
//! the tabs, an action's refusal shown on its form, and what a form leads to.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use neuracrm_actions::ActionError;
use neuracrm_domain::Role;

use crate::web::PageError;
use crate::web::session::WebUser;

pub mod account;
pub mod scoring;
pub mod users;

/// One tab of the settings pages.
pub struct Tab {
    pub path: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The tabs `user` sees, `current` marked: admins see every area, others
/// their own account only.
pub fn tabs(user: &WebUser, current: &str) -> Vec<Tab> {
    let admin = user.caller.role == Role::Admin;
    [
        ("/settings", "Password and sessions", false),
        ("/settings/users", "Users and roles", true),
        ("/settings/scoring", "Lead scoring", true),
    ]
    .into_iter()
    .filter(|(_, _, admins)| admin || !admins)
    .map(|(path, label, _)| Tab {
        path,
        label,
        current: path == current,
    })
    .collect()
}

/// Gives pages whose form may come back refused (an `error:
/// Option<FormError>` field) `invalid(name)` for their templates: whether the
/// refusal concerns input `name`.
macro_rules! form_page {
    ($($page:ty),+ $(,)?) => {$(
        impl $page {
            /// Whether the form's error concerns input `name`.
            pub fn invalid(&self, name: &str) -> bool {
                self.error.as_ref().is_some_and(|e| e.field == name)
            }
        }
    )+};
}
pub(crate) use form_page;

form_page!(Frame);

/// What every settings page draws above its forms: the tabs, the
/// confirmation of the last form and the refusal of this one.
pub struct Frame {
    pub tabs: Vec<Tab>,
    pub error: Option<FormError>,
    pub done: Option<&'static str>,
}

impl Frame {
    /// The frame of tab `current` for `user`.
    pub fn new(
        user: &WebUser,
        current: &str,
        error: Option<FormError>,
        done: Option<&'static str>,
    ) -> Frame {
        Frame {
            tabs: tabs(user, current),
            error,
            done,
        }
    }
}

/// An action's refusal of a form's input, shown on the form: the field as
/// the action named it and what is wrong, in words.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    pub field: String,
    pub message: String,
}

impl FormError {
    /// The refusal of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FormError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The form's error and the status to answer with, for the errors a
    /// person can correct on the form; `None` for the others (not found,
    /// forbidden, internal), which are error pages.
    pub(crate) fn of(e: &ActionError) -> Option<(StatusCode, FormError)> {
        match e {
            ActionError::Invalid { field, message }
            | ActionError::BadReference { field, message } => Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                FormError::new(field.as_str(), message.as_str()),
            )),
            ActionError::BadQuery { field, message } => Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                FormError::new(field.clone().unwrap_or_default(), message.as_str()),
            )),
            ActionError::Conflict { field, message } => Some((
                StatusCode::CONFLICT,
                FormError::new(field.as_str(), message.as_str()),
            )),
            _ => None,
        }
    }
}

/// The outcome of a settings form: to `to` after a success; the page again
/// (`again`, with the error on its form and a 4xx status) when the action
/// refused the input; an error page otherwise.
pub async fn after_form<T, P: IntoResponse>(
    result: Result<T, ActionError>,
    to: &str,
    again: impl AsyncFnOnce(FormError) -> Result<P, PageError>,
) -> Response {
    let e = match result {
        Ok(_) => return Redirect::to(to).into_response(),
        Err(e) => e,
    };
    let Some((status, error)) = FormError::of(&e) else {
        return PageError(e).into_response();
    };
    match again(error).await {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `?done=` after a form of a settings page: what to confirm.
pub use crate::web::forms::Done;

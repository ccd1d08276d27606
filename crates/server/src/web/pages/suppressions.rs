//! `/suppressions`: the addresses the organization never mails
//! (unsubscribed, bounced, complaints, added by hand), adding one and
//! lifting one: the actions of `/api/suppressions`. Everyone reads; admins
//! and managers change it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::Response;
use neuracrm_actions::campaigns;
use neuracrm_actions::{Access, ActionError};
use neuracrm_domain::Email;
use neuracrm_store::Page;
use neuracrm_store::campaigns::Suppression;
use serde::Deserialize;

use super::settings::{Done, FormError, after_form};
use crate::web::layout::Shell;
use crate::web::session::{CsrfForm, WebUser};
use crate::web::{PageResult, format};

/// Addresses a page lists.
const PER_PAGE: i64 = 100;

/// `?offset=&done=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    offset: Option<i64>,
    done: Option<String>,
}

/// The add and remove forms: one address.
#[derive(Debug, Default, Deserialize)]
pub struct AddressForm {
    #[serde(default)]
    email: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "suppressions.html")]
pub struct SuppressionsPage {
    shell: Shell,
    rows: Vec<(Suppression, String)>,
    offset: i64,
    more: bool,
    can_write: bool,
    email: String,
    error: Option<FormError>,
    done: Option<&'static str>,
}

async fn page(
    user: &WebUser,
    q: ListQuery,
    email: String,
    error: Option<FormError>,
) -> PageResult<SuppressionsPage> {
    let offset = q.offset.unwrap_or(0).max(0);
    let p = Page::parse(Some(PER_PAGE), Some(offset)).map_err(ActionError::query)?;
    let found = campaigns::suppressions(&user.crm, &user.caller, p).await?;
    let now = chrono::Utc::now();
    Ok(SuppressionsPage {
        shell: Shell::new(user, "Suppressions", "/suppressions"),
        more: found.has_more,
        rows: found
            .items
            .into_iter()
            .map(|s| {
                let since = format::ago(s.created_at, now);
                (s, since)
            })
            .collect(),
        offset,
        can_write: Access::Managers.admits(user.caller.role),
        email,
        error,
        done: Done { done: q.done }.say(&[
            ("added", "Suppressed: no campaign mails it any more."),
            ("removed", "No longer suppressed."),
        ]),
    })
}

/// `GET /suppressions`.
pub async fn list(user: WebUser, Query(q): Query<ListQuery>) -> PageResult<SuppressionsPage> {
    page(&user, q, String::new(), None).await
}

fn address(f: &AddressForm) -> Result<Email, ActionError> {
    Email::parse(f.email.trim()).map_err(|_| ActionError::invalid("email", "not an e-mail address"))
}

/// `POST /suppressions`: suppresses an address (admins and managers).
pub async fn add(CsrfForm(user, f): CsrfForm<AddressForm>) -> Response {
    let result = match address(&f) {
        Ok(e) => campaigns::suppress(&user.crm, &user.caller, &e).await,
        Err(e) => Err(e),
    };
    after_form(result, "/suppressions?done=added", async |e| {
        page(&user, ListQuery::default(), f.email, Some(e)).await
    })
    .await
}

/// `POST /suppressions/remove`: lifts a suppression (admins and managers;
/// an address the organization has not suppressed: not found).
pub async fn remove(CsrfForm(user, f): CsrfForm<AddressForm>) -> Response {
    let result = match address(&f) {
        Ok(e) => campaigns::unsuppress(&user.crm, &user.caller, &e).await,
        Err(e) => Err(e),
    };
    after_form(result, "/suppressions?done=removed", async |e| {
        page(&user, ListQuery::default(), String::new(), Some(e)).await
    })
    .await
}

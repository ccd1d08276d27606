//! The shell every signed-in page is drawn in: the navigation (one line per
//! page in [`MENU`]), the top bar with the organization and the user, and
//! what the templates need from the session (the CSRF token every form and
//! htmx request carries).

use neuracrm_domain::Role;

use super::assets;
use super::session::WebUser;

/// One entry of the navigation.
#[derive(Debug, Clone, Copy)]
pub struct MenuItem {
    /// Where it leads.
    pub path: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Shown to admins only.
    pub admin_only: bool,
    /// Drawn at the bottom of the navigation.
    pub bottom: bool,
}

const fn item(path: &'static str, label: &'static str) -> MenuItem {
    MenuItem {
        path,
        label,
        admin_only: false,
        bottom: false,
    }
}

/// The navigation: adding a page is a template, a handler and a line here.
pub const MENU: &[MenuItem] = &[
    item("/", "Dashboard"),
    item("/leads", "Leads"),
    item("/contacts", "Contacts"),
    item("/deals", "Deals"),
    item("/calls", "Calls"),
    item("/forecast", "Forecast"),
    item("/sentiment", "Sentiment"),
    item("/campaigns", "Campaigns"),
    item("/email-templates", "E-mail templates"),
    item("/suppressions", "Suppressions"),
    item("/segments", "Segments"),
    // Everyone's own password and sessions; admins' users and scoring.
    MenuItem {
        bottom: true,
        ..item("/settings", "Settings")
    },
];

/// What the base template draws around a page.
#[derive(Debug, Clone)]
pub struct Shell {
    /// The page's title.
    pub title: String,
    /// The menu entry it belongs to (`/leads` for a lead page).
    pub section: &'static str,
    /// The signed-in user's name.
    pub user_name: String,
    /// Their organization's name.
    pub org_name: String,
    /// Their role's word.
    pub role: &'static str,
    /// The token every state-changing request carries.
    pub csrf: String,
    /// The navigation entries this user sees.
    pub menu: Vec<MenuItem>,
}

impl Shell {
    /// The shell of a page titled `title` in menu section `section`.
    pub fn new(user: &WebUser, title: impl Into<String>, section: &'static str) -> Shell {
        let admin = user.caller.role == Role::Admin;
        Shell {
            title: title.into(),
            section,
            user_name: user.name.clone(),
            org_name: user.org_name.clone(),
            role: user.caller.role.as_str(),
            csrf: user.csrf.clone(),
            menu: MENU
                .iter()
                .filter(|m| admin || !m.admin_only)
                .copied()
                .collect(),
        }
    }

    /// The hashed URL of an embedded asset.
    pub fn asset(&self, name: &str) -> &'static str {
        assets::url(name)
    }

    /// `htmx`'s per-request headers: the CSRF token (JSON for `hx-headers`).
    pub fn hx_headers(&self) -> String {
        format!(r#"{{"X-CSRF-Token": "{}"}}"#, self.csrf)
    }
}

//! `/email-templates`: the organization's e-mail templates and the editor
//! with its live preview. The list and the editor are one page (the
//! template chosen, or a new one); saving is the action of
//! `POST`/`PATCH /api/email-templates`, the preview renders the form as it
//! stands (unsaved) through `campaigns::preview_draft`: with htmx on each
//! pause in typing, without JavaScript by its "Preview" button. Everyone
//! reads; admins and managers save.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use neuracrm_actions::campaigns::{self, Rendered, Sample};
use neuracrm_actions::records;
use neuracrm_actions::{Access, ActionError};
use neuracrm_domain::{
    ContactId, EmailTemplate, EmailTemplateId, EmailTemplatePatch, NewEmailTemplate,
};
use neuracrm_store::Page;
use serde::Deserialize;

use super::settings::{Done, FormError, after_form, form_page};
use crate::web::layout::Shell;
use crate::web::listing::{first, rows};
use crate::web::session::{CsrfForm, WebUser};
use crate::web::{PageResult, format};

/// A template of the list.
pub struct TemplateRow {
    pub id: i64,
    pub name: String,
    pub subject: String,
    pub updated: String,
}

/// The editor's fields, as saved or as being written.
#[derive(Debug, Default, Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub html: String,
    #[serde(default)]
    pub text: String,
    /// The contact the preview is rendered for (blank: an empty one).
    #[serde(default)]
    pub contact_id: String,
}

impl TemplateForm {
    fn draft(&self) -> NewEmailTemplate {
        NewEmailTemplate {
            name: self.name.trim().to_string(),
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: Some(self.text.clone()).filter(|t| !t.trim().is_empty()),
        }
    }

    fn sample(&self) -> Result<Option<Sample>, ActionError> {
        match self.contact_id.trim() {
            "" => Ok(None),
            raw => raw
                .parse()
                .map(|c| Some(Sample::Contact(ContactId(c))))
                .map_err(|_| ActionError::invalid("contact_id", "a contact id is a number")),
        }
    }
}

impl From<EmailTemplate> for TemplateForm {
    fn from(t: EmailTemplate) -> Self {
        TemplateForm {
            name: t.name,
            subject: t.subject,
            html: t.html,
            text: t.text.unwrap_or_default(),
            contact_id: String::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "email_templates.html")]
pub struct TemplatesPage {
    shell: Shell,
    templates: Vec<TemplateRow>,
    more: bool,
    /// The template being edited (`None`: a new one).
    id: Option<i64>,
    form: TemplateForm,
    can_write: bool,
    preview: Option<Rendered>,
    error: Option<FormError>,
    done: Option<&'static str>,
}

form_page!(TemplatesPage);

impl TemplatesPage {
    /// Whether row `id` is the template being edited.
    fn is_current(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.id == Some(*id.borrow())
    }

    /// Where the editor's form saves to.
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/email-templates/{id}"),
            None => "/email-templates".into(),
        }
    }
}

async fn page(
    user: &WebUser,
    id: Option<i64>,
    form: Option<TemplateForm>,
    error: Option<FormError>,
    done: Option<&'static str>,
) -> PageResult<TemplatesPage> {
    let now = chrono::Utc::now();
    let most = Page::MAX_LIMIT as i64;
    let found = first::<EmailTemplate>(&user.crm, &user.caller, (), (), most).await?;
    let (templates, more) = rows(found, |t| TemplateRow {
        id: t.id.0,
        name: t.name,
        subject: t.subject,
        updated: format::ago(t.updated_at, now),
    });
    let form = match (form, id) {
        (Some(f), _) => f,
        (None, Some(id)) => {
            records::get::<EmailTemplate>(&user.crm, &user.caller, EmailTemplateId(id))
                .await?
                .into()
        }
        (None, None) => TemplateForm::default(),
    };
    // The preview of what the form holds; a template that does not compile
    // says where instead.
    let (preview, error) = match (&error, form.html.is_empty()) {
        (None, false) => match form.sample() {
            Ok(s) => {
                match campaigns::preview_draft(&user.crm, &user.caller, &form.draft(), s).await {
                    Ok(r) => (Some(r), None),
                    Err(ActionError::NotFound(_)) => {
                        (None, Some(FormError::new("contact_id", "no such contact")))
                    }
                    Err(e) => (None, FormError::of(&e).map(|(_, f)| f)),
                }
            }
            Err(e) => (None, FormError::of(&e).map(|(_, f)| f)),
        },
        _ => (None, error),
    };
    Ok(TemplatesPage {
        shell: Shell::new(user, "E-mail templates", "/email-templates"),
        more,
        templates,
        id,
        form,
        can_write: Access::Managers.admits(user.caller.role),
        preview,
        error,
        done,
    })
}

fn said(done: &Done) -> Option<&'static str> {
    done.say(&[("saved", "Saved."), ("created", "Created.")])
}

/// `GET /email-templates`: the list and a new template's editor.
pub async fn list(user: WebUser, done: Done) -> PageResult<TemplatesPage> {
    page(&user, None, None, None, said(&done)).await
}

/// `GET /email-templates/{id}`: the list and that template's editor with
/// its preview (another organization's: not found).
pub async fn show(Path(id): Path<i64>, user: WebUser, done: Done) -> PageResult<TemplatesPage> {
    page(&user, Some(id), None, None, said(&done)).await
}

/// `POST /email-templates`: creates a template (admins and managers),
/// refused on the form naming the line and column when it does not compile.
pub async fn create(CsrfForm(user, f): CsrfForm<TemplateForm>) -> Response {
    let result = records::create::<EmailTemplate>(&user.crm, &user.caller, f.draft()).await;
    let to = match &result {
        Ok(t) => format!("/email-templates/{}?done=created", t.id.0),
        Err(_) => String::new(),
    };
    after_form(result, &to, async |e| {
        page(&user, None, Some(f), Some(e), None).await
    })
    .await
}

/// `POST /email-templates/{id}`: saves the editor (admins and managers).
pub async fn save(Path(id): Path<i64>, CsrfForm(user, f): CsrfForm<TemplateForm>) -> Response {
    let d = f.draft();
    let patch = EmailTemplatePatch {
        name: Some(d.name),
        subject: Some(d.subject),
        html: Some(d.html),
        text: Some(d.text),
    };
    let result =
        records::update::<EmailTemplate>(&user.crm, &user.caller, EmailTemplateId(id), patch).await;
    let to = format!("/email-templates/{id}?done=saved");
    after_form(result, &to, async |e| {
        page(&user, Some(id), Some(f), Some(e), None).await
    })
    .await
}

/// The editor's "Preview" (and htmx's live preview): the page with the form
/// as written and its rendering; nothing is saved. Anyone may preview.
#[derive(Debug, Deserialize)]
pub struct PreviewOf {
    /// The template being edited, when it is saved already.
    pub id: Option<i64>,
}

/// `POST /email-templates/preview[?id=]`.
pub async fn preview(
    Query(of): Query<PreviewOf>,
    CsrfForm(user, f): CsrfForm<TemplateForm>,
) -> Response {
    // Another organization's template is not found, as on its page.
    if let Some(id) = of.id
        && let Err(e) =
            records::get::<EmailTemplate>(&user.crm, &user.caller, EmailTemplateId(id)).await
    {
        return crate::web::PageError(e).into_response();
    }
    match page(&user, of.id, Some(f), None, None).await {
        Ok(p) => p.into_response(),
        Err(e) => e.into_response(),
    }
}

//! Templates rendered with minijinja: sandboxed (no file or network access,
//! a fuel limit against runaway loops), strict about undefined variables,
//! HTML auto-escaped in the HTML body. A template is checked when it is
//! saved: it must compile and name only the variables of the context
//! ([`FIELDS`]); the error names the part, the line and the column.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use neuracrm_domain::NewEmailTemplate;
use neuracrm_store::campaigns::RecipientFacts;
use serde::Serialize;

use crate::{ActionError, ActionResult};

/// The context's variables: each root with the fields it has (`None`: a
/// plain value).
pub const FIELDS: &[(&str, Option<&[&str]>)] = &[
    (
        "contact",
        Some(&[
            "first_name",
            "last_name",
            "name",
            "email",
            "company",
            "job_title",
            "industry",
            "phone",
        ]),
    ),
    ("lead", Some(&["title", "score", "category"])),
    ("owner", Some(&["name", "email", "signature"])),
    ("organization", Some(&["name"])),
    ("unsubscribe_url", None),
];

/// minijinja's own globals, which a template may call.
const GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "debug",
    "loop",
    "self",
    "super",
];

/// Rendering steps allowed per message (a loop of a million is refused).
const FUEL: u64 = 200_000;

/// The three parts' names in the environment (the `.html` one auto-escapes).
const PARTS: [(&str, &str); 3] = [
    ("subject", "subject"),
    ("html", "body.html"),
    ("text", "body.txt"),
];

/// A message as rendered for one recipient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// A compiled template, ready to render any number of messages.
#[derive(Debug)]
pub struct Compiled {
    env: Environment<'static>,
    derive_text: bool,
}

/// What a message is personalised with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    contact: ContactCtx,
    lead: LeadCtx,
    owner: OwnerCtx,
    organization: OrgCtx,
    unsubscribe_url: String,
}

#[derive(Debug, Clone, Default, Serialize)]
struct ContactCtx {
    first_name: String,
    last_name: String,
    name: String,
    email: String,
    company: String,
    job_title: String,
    industry: String,
    phone: String,
}

#[derive(Debug, Clone, Default, Serialize)]
struct LeadCtx {
    title: String,
    score: Option<f64>,
    category: String,
}

#[derive(Debug, Clone, Default, Serialize)]
struct OwnerCtx {
    name: String,
    email: String,
    signature: String,
}

#[derive(Debug, Clone, Default, Serialize)]
struct OrgCtx {
    name: String,
}

impl Context {
    /// The context of a recipient, with its unsubscribe link. Missing
    /// texts are empty (a contact target's `lead` fields among them).
    pub fn of(f: &RecipientFacts, unsubscribe_url: String) -> Context {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let first = s(&f.first_name);
        let last = s(&f.last_name);
        let owner_name = s(&f.owner_name);
        Context {
            contact: ContactCtx {
                name: format!("{first} {last}").trim().to_string(),
                first_name: first,
                last_name: last,
                email: s(&f.email),
                company: s(&f.company),
                job_title: s(&f.job_title),
                industry: s(&f.industry),
                phone: s(&f.phone),
            },
            lead: LeadCtx {
                title: s(&f.lead_title),
                score: f.lead_score,
                category: s(&f.lead_category),
            },
            owner: OwnerCtx {
                signature: owner_name.clone(),
                name: owner_name,
                email: s(&f.owner_email),
            },
            organization: OrgCtx {
                name: f.organization.clone(),
            },
            unsubscribe_url,
        }
    }

    /// A context with every field filled, to try a template out on.
    fn sample() -> Context {
        Context::of(
            &RecipientFacts {
                email: Some("ada@example.com".into()),
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                company: Some("Analytical Engines".into()),
                job_title: Some("Engineer".into()),
                industry: Some("Technology".into()),
                phone: Some("+44 20 0000 0000".into()),
                lead_title: Some("Engine purchase".into()),
                lead_score: Some(72.0),
                lead_category: Some("warm".into()),
                owner_name: Some("Grace Hopper".into()),
                owner_email: Some("grace@example.com".into()),
                organization: "Example Ltd".into(),
                ..Default::default()
            },
            "https://crm.example.com/u/sample".into(),
        )
    }
}

/// The 422 of a template part: the message names the line and column.
fn refuse(
    part: &str,
    source: &str,
    offset: Option<usize>,
    line: Option<usize>,
    what: &str,
) -> ActionError {
    let (line, col) = match offset {
        Some(o) => line_col(source, o),
        None => (line.unwrap_or(1), 1),
    };
    ActionError::invalid(part, format!("line {line}, column {col}: {what}"))
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

fn template_error(part: &str, source: &str, e: &minijinja::Error) -> ActionError {
    let what = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    refuse(part, source, e.range().map(|r| r.start), e.line(), &what)
}

/// Whether a dotted variable path names something of the context.
fn known(path: &str) -> bool {
    let mut parts = path.split('.');
    let root = parts.next().unwrap_or_default();
    if GLOBALS.contains(&root) {
        return true;
    }
    let Some((_, fields)) = FIELDS.iter().find(|(r, _)| *r == root) else {
        return false;
    };
    match (parts.next(), fields) {
        (None, _) => true,
        (Some(f), Some(fields)) => fields.contains(&f),
        (Some(_), None) => false,
    }
}

impl Compiled {
    /// Compiles a template and checks it: every part compiles, names only
    /// the context's variables, and renders on a sample recipient.
    pub fn new(t: &NewEmailTemplate) -> ActionResult<Compiled> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(50);
        let text = t.text.clone();
        let sources = [
            t.subject.clone(),
            t.html.clone(),
            text.clone().unwrap_or_default(),
        ];
        for ((part, name), source) in PARTS.iter().zip(sources.iter()) {
            if *part == "text" && text.is_none() {
                continue;
            }
            env.add_template_owned(*name, source.clone())
                .map_err(|e| template_error(part, source, &e))?;
            let tmpl = env.get_template(name).expect("just added");
            let mut unknown: Vec<String> = tmpl
                .undeclared_variables(true)
                .into_iter()
                .filter(|v| !known(v))
                .collect();
            unknown.sort();
            if let Some(v) = unknown.first() {
                let root = v.split('.').next().unwrap_or(v);
                let offset = source.find(v.as_str()).or_else(|| source.find(root));
                return Err(refuse(
                    part,
                    source,
                    offset,
                    None,
                    &format!("unknown variable `{v}`"),
                ));
            }
        }
        let compiled = Compiled {
            env,
            derive_text: text.is_none(),
        };
        let sample = Value::from_serialize(Context::sample());
        for ((part, name), source) in PARTS.iter().zip(sources.iter()) {
            if let Ok(tmpl) = compiled.env.get_template(name) {
                tmpl.render(&sample)
                    .map_err(|e| template_error(part, source, &e))?;
            }
        }
        Ok(compiled)
    }

    /// Renders the message of one recipient.
    pub fn render(&self, ctx: &Context) -> ActionResult<Rendered> {
        let ctx = Value::from_serialize(ctx);
        let part = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| ActionError::invalid("template", e.to_string()))
        };
        let subject = part("subject")?.replace(['\r', '\n'], " ");
        let html = part("body.html")?;
        let text = if self.derive_text {
            html_to_text(&html)
        } else {
            part("body.txt")?
        };
        Ok(Rendered {
            subject: subject.trim().to_string(),
            html,
            text,
        })
    }
}

/// Plain text from HTML: tags dropped, blocks and `<br>` as line breaks,
/// links as `text (url)`, the common entities decoded, runs of blank lines
/// folded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut href: Option<String> = None;
    let mut skip = false;
    while let Some(lt) = rest.find('<') {
        if !skip {
            out.push_str(&decode(&rest[..lt]));
        }
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        rest = &rest[lt + gt + 1..];
        let lower = tag.to_ascii_lowercase();
        let name: String = lower
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closing = lower.starts_with('/');
        match name.as_str() {
            "style" | "script" | "head" | "title" => skip = !closing,
            "br" => out.push('\n'),
            "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "tr" | "table" | "ul"
            | "ol" => out.push('\n'),
            "li" if !closing => out.push_str("\n- "),
            "a" if !closing => href = attr(tag, "href"),
            "a" => {
                if let Some(h) = href.take()
                    && !h.starts_with('#')
                {
                    out.push_str(&format!(" ({h})"));
                }
            }
            _ => {}
        }
    }
    if !skip {
        out.push_str(&decode(rest));
    }
    let mut text = String::new();
    let mut blank = 0;
    for line in out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    {
        if line.is_empty() {
            blank += 1;
            if blank > 1 || text.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(&line);
        text.push('\n');
    }
    text.trim_end().to_string() + "\n"
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let i = lower.find(&format!("{name}="))? + name.len() + 1;
    let v = &tag[i..];
    let (q, v) = match v.chars().next()? {
        c @ ('"' | '\'') => (Some(c), &v[1..]),
        _ => (None, v),
    };
    let end = match q {
        Some(q) => v.find(q)?,
        None => v.find(char::is_whitespace).unwrap_or(v.len()),
    };
    Some(decode(&v[..end]))
}

fn decode(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(subject: &str, html: &str) -> NewEmailTemplate {
        NewEmailTemplate {
            name: "t".into(),
            subject: subject.into(),
            html: html.into(),
            text: None,
        }
    }

    #[test]
    fn renders_escaped_html_and_derived_text() {
        let c = Compiled::new(&tpl(
            "Hi {{ contact.first_name }}",
            "<p>Dear {{ contact.company }},</p><p><a href=\"https://x.example/\">see</a></p>",
        ))
        .unwrap();
        let facts = RecipientFacts {
            first_name: Some("Bob".into()),
            company: Some("<Evil & Co>".into()),
            organization: "Org".into(),
            ..Default::default()
        };
        let r = c.render(&Context::of(&facts, "u".into())).unwrap();
        assert_eq!(r.subject, "Hi Bob");
        assert!(r.html.contains("&lt;Evil &amp; Co&gt;"), "{}", r.html);
        assert_eq!(r.text, "Dear <Evil & Co>,\n\nsee (https://x.example/)\n");
    }

    #[test]
    fn unknown_variables_and_syntax_errors_name_line_and_column() {
        let e = Compiled::new(&tpl("Hi", "<p>ok</p>\n  {{ contact.nickname }}")).unwrap_err();
        assert_eq!(
            e,
            ActionError::invalid(
                "html",
                "line 2, column 6: unknown variable `contact.nickname`"
            )
        );
        let e = Compiled::new(&tpl("Hi {{ bogus }}", "<p>ok</p>")).unwrap_err();
        assert!(
            matches!(&e, ActionError::Invalid { field, message } if field == "subject" && message.starts_with("line 1, column 7")),
            "{e:?}"
        );
        let e = Compiled::new(&tpl("Hi", "<p>\n{% if %}</p>")).unwrap_err();
        assert!(
            matches!(&e, ActionError::Invalid { field, message } if field == "html" && message.starts_with("line 2,")),
            "{e:?}"
        );
        let e = Compiled::new(&tpl(
            "Hi",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        ))
        .unwrap_err();
        assert!(
            matches!(&e, ActionError::Invalid { field, .. } if field == "html"),
            "{e:?}"
        );
    }
}

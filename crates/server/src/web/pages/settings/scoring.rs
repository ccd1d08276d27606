//! `/settings/scoring` (admins): the organization's scoring configuration
//! (factor weights, category thresholds, the industry table), checked by the
//! same function as `PUT /api/scoring/config`, with a preview: the scores
//! the edited configuration gives the organization's newest leads beside
//! their stored ones, nothing saved.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use neuracrm_actions::scoring::{self, PREVIEW_DEFAULT, Previewed};
use neuracrm_actions::{Access, ActionError, ActionResult};
use neuracrm_scoring::{CategoryThresholds, IndustryRule, IndustryTable, ScoringConfig, Weights};

use super::{Done, FormError, Frame, after_form};
use crate::web::layout::Shell;
use crate::web::session::{CsrfForm, WebUser};
use crate::web::{PageResult, format};

/// Blank industry rows the form offers for adding.
const BLANK_RULES: usize = 3;

/// One input of the form: its name (the configuration's field, as the
/// checks name it), its label and its value as typed.
pub struct Input {
    pub name: String,
    pub label: String,
    pub value: String,
    /// The error concerns it.
    pub bad: bool,
}

/// A group of number inputs of the form.
pub struct Group {
    pub id: &'static str,
    pub title: &'static str,
    pub note: &'static str,
    pub max: u32,
    pub inputs: Vec<Input>,
}

/// One industry row of the form.
pub struct RuleRow {
    pub index: usize,
    pub name: String,
    pub points: String,
    pub synonyms: String,
    /// Which of its inputs the error concerns: name, points, synonyms.
    pub bad: [bool; 3],
}

/// One lead of the preview.
pub struct PreviewRow {
    pub id: i64,
    pub title: String,
    pub current: String,
    pub current_category: String,
    pub score: String,
    pub category: &'static str,
    pub change: String,
    pub direction: &'static str,
}

impl From<Previewed> for PreviewRow {
    fn from(p: Previewed) -> Self {
        let change = p.current_score.map(|c| p.score.total - c);
        PreviewRow {
            id: p.lead_id.0,
            title: p.title,
            current: p
                .current_score
                .map(format::score)
                .unwrap_or_else(|| "–".into()),
            current_category: p.current_category.unwrap_or_else(|| "unscored".into()),
            score: format::score(p.score.total),
            category: p.score.category.name(),
            change: match change {
                Some(c) if c.abs() >= 0.005 => format!("{c:+.2}"),
                Some(_) => "0".into(),
                None => "new".into(),
            },
            direction: match change {
                Some(c) if c >= 0.005 => "up",
                Some(c) if c <= -0.005 => "down",
                _ => "",
            },
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/scoring.html")]
pub struct ScoringPage {
    shell: Shell,
    frame: Frame,
    /// The weights, then the thresholds.
    groups: [Group; 2],
    other_points: String,
    other_points_bad: bool,
    rules: Vec<RuleRow>,
    /// Whether the preview is of the form's edits (else of the stored
    /// configuration).
    edited: bool,
    preview: Vec<PreviewRow>,
}

/// Whether `error` concerns input `name` (or a part of it, or the group it
/// belongs to: `weights` for `weights.industry`).
fn concerns(error: Option<&FormError>, name: &str) -> bool {
    error.is_some_and(|e| {
        e.field == name
            || e.field.starts_with(&format!("{name}["))
            || name
                .split_once('.')
                .is_some_and(|(group, _)| e.field == group)
    })
}

const WEIGHTS: [(&str, &str); 7] = [
    ("industry", "Industry"),
    ("company_size", "Company size"),
    ("engagement", "Engagement"),
    ("decision_maker", "Decision maker"),
    ("urgency", "Urgency"),
    ("budget_signals", "Budget signals"),
    ("ai_insights", "AI insights"),
];

const THRESHOLDS: [(&str, &str); 3] = [
    ("hot", "Hot from"),
    ("warm", "Warm from"),
    ("lukewarm", "Lukewarm from"),
];

fn weight_values(w: &Weights) -> [f64; 7] {
    [
        w.industry,
        w.company_size,
        w.engagement,
        w.decision_maker,
        w.urgency,
        w.budget_signals,
        w.ai_insights,
    ]
}

/// A number as the form shows it (no trailing zeros).
fn num(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The form as typed: each field's text, in the configuration's shape.
#[derive(Debug, Clone, Default)]
struct Typed {
    weights: [String; 7],
    thresholds: [String; 3],
    other_points: String,
    /// Name, points, synonyms (comma-separated), by row.
    rules: Vec<(String, String, String)>,
}

impl Typed {
    fn of(c: &ScoringConfig) -> Typed {
        let t = &c.thresholds;
        Typed {
            weights: weight_values(&c.weights).map(num),
            thresholds: [t.hot, t.warm, t.lukewarm].map(num),
            other_points: num(c.industries.other_points),
            rules: c
                .industries
                .rules
                .iter()
                .map(|r| (r.name.clone(), num(r.points), r.synonyms.join(", ")))
                .collect(),
        }
    }

    /// The posted fields: `weights.<factor>`, `thresholds.<category>`,
    /// `industries.other_points` and `industries.rules[i].{name,points,synonyms}`.
    fn posted(fields: &[(String, String)]) -> Typed {
        let mut t = Typed::default();
        for (k, v) in fields {
            let v = v.trim().to_string();
            if let Some(w) = k.strip_prefix("weights.") {
                if let Some(i) = WEIGHTS.iter().position(|(n, _)| *n == w) {
                    t.weights[i] = v;
                }
            } else if let Some(c) = k.strip_prefix("thresholds.") {
                if let Some(i) = THRESHOLDS.iter().position(|(n, _)| *n == c) {
                    t.thresholds[i] = v;
                }
            } else if k == "industries.other_points" {
                t.other_points = v;
            } else if let Some((i, part)) = k
                .strip_prefix("industries.rules[")
                .and_then(|r| r.split_once("]."))
                && let Ok(i) = i.parse::<usize>()
                && i < 1000
            {
                if t.rules.len() <= i {
                    t.rules.resize(i + 1, Default::default());
                }
                match part {
                    "name" => t.rules[i].0 = v,
                    "points" => t.rules[i].1 = v,
                    "synonyms" => t.rules[i].2 = v,
                    _ => {}
                }
            }
        }
        t
    }

    /// The configuration typed (not yet checked: the action checks it), and
    /// for each of its industries the form's row. A row without a name is
    /// left out (blank, or emptied to remove it).
    fn config(&self) -> ActionResult<(ScoringConfig, Vec<usize>)> {
        let number = |field: String, text: &str| {
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ActionError::invalid(field, "a number, such as 0.25"))
        };
        let mut w = [0.0; 7];
        for (i, (name, _)) in WEIGHTS.iter().enumerate() {
            w[i] = number(format!("weights.{name}"), &self.weights[i])?;
        }
        let mut th = [0.0; 3];
        for (i, (name, _)) in THRESHOLDS.iter().enumerate() {
            th[i] = number(format!("thresholds.{name}"), &self.thresholds[i])?;
        }
        let mut rows = Vec::new();
        let mut rules = Vec::new();
        for (i, (name, points, synonyms)) in self.rules.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            rows.push(i);
            rules.push(IndustryRule {
                name: name.clone(),
                points: number(format!("industries.rules[{i}].points"), points)?,
                synonyms: synonyms
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
        let config = ScoringConfig {
            weights: Weights {
                industry: w[0],
                company_size: w[1],
                engagement: w[2],
                decision_maker: w[3],
                urgency: w[4],
                budget_signals: w[5],
                ai_insights: w[6],
            },
            industries: IndustryTable {
                rules,
                other_points: number("industries.other_points".into(), &self.other_points)?,
            },
            thresholds: CategoryThresholds {
                hot: th[0],
                warm: th[1],
                lukewarm: th[2],
            },
        };
        Ok((config, rows))
    }
}

/// An error of the checked configuration, its industry index turned back
/// into the form's row (`rows[k]` is the row of industry `k`).
fn on_rows(e: ActionError, rows: &[usize]) -> ActionError {
    match e {
        ActionError::Invalid { field, message } => {
            let field = field
                .strip_prefix("industries.rules[")
                .and_then(|r| r.split_once(']'))
                .and_then(|(k, rest)| {
                    let row = rows.get(k.parse::<usize>().ok()?)?;
                    Some(format!("industries.rules[{row}]{rest}"))
                })
                .unwrap_or(field);
            ActionError::Invalid { field, message }
        }
        other => other,
    }
}

fn page(
    user: &WebUser,
    typed: &Typed,
    preview: Vec<Previewed>,
    edited: bool,
    error: Option<FormError>,
    done: Option<&'static str>,
) -> ScoringPage {
    let err = error.as_ref();
    let inputs = |names: &[(&str, &str)], prefix: &str, values: &[String]| {
        names
            .iter()
            .zip(values)
            .map(|((name, label), value)| {
                let name = format!("{prefix}.{name}");
                Input {
                    bad: concerns(err, &name),
                    name,
                    label: (*label).into(),
                    value: value.clone(),
                }
            })
            .collect()
    };
    let rule_bad = |index: usize| {
        ["name", "points", "synonyms"]
            .map(|part| concerns(err, &format!("industries.rules[{index}].{part}")))
    };
    let mut rules: Vec<RuleRow> = typed
        .rules
        .iter()
        .enumerate()
        .map(|(index, (name, points, synonyms))| RuleRow {
            index,
            name: name.clone(),
            points: points.clone(),
            synonyms: synonyms.clone(),
            bad: rule_bad(index),
        })
        .collect();
    let first_blank = rules.len();
    rules.extend(
        (first_blank..first_blank + BLANK_RULES).map(|index| RuleRow {
            index,
            name: String::new(),
            points: String::new(),
            synonyms: String::new(),
            bad: [false; 3],
        }),
    );
    ScoringPage {
        shell: Shell::new(user, "Lead scoring", "/settings"),
        groups: [
            Group {
                id: "weights",
                title: "Factor weights",
                note: "The share of the 100 points each factor can earn: each 0 to 1, together exactly 1.",
                max: 1,
                inputs: inputs(&WEIGHTS, "weights", &typed.weights),
            },
            Group {
                id: "thresholds",
                title: "Categories",
                note: "The score a lead needs for each category: 100 ≥ hot > warm > lukewarm > 0; below lukewarm it is cold.",
                max: 100,
                inputs: inputs(&THRESHOLDS, "thresholds", &typed.thresholds),
            },
        ],
        other_points: typed.other_points.clone(),
        other_points_bad: concerns(err, "industries.other_points"),
        rules,
        edited,
        preview: preview.into_iter().map(PreviewRow::from).collect(),
        frame: Frame::new(user, "/settings/scoring", error, done),
    }
}

/// `GET /settings/scoring` (admins; 403 for others): the stored
/// configuration, and what it gives the newest leads scored now.
pub async fn show(user: WebUser, done: Done) -> PageResult<ScoringPage> {
    let config = scoring::config(&user.crm, &user.caller).await?;
    let preview = scoring::preview(
        &user.crm,
        &user.caller,
        &config,
        PREVIEW_DEFAULT,
        Utc::now(),
    )
    .await?;
    let said = done.say(&[(
        "saved",
        "Saved. Every lead is marked for re-scoring by the next batch.",
    )]);
    Ok(page(&user, &Typed::of(&config), preview, false, None, said))
}

/// `POST /settings/scoring`: with `action=preview`, the page again with the
/// form as typed and the preview of its configuration (nothing stored);
/// with `action=save`, stores it (the action of `PUT /api/scoring/config`).
/// Either way a configuration the checks refuse comes back on the form with
/// the field named.
pub async fn post(CsrfForm(user, fields): CsrfForm<Vec<(String, String)>>) -> Response {
    // Before the form is read: a refused form would show the page.
    if let Err(e) = user.caller.require(Access::Admins) {
        return crate::web::PageError(e).into_response();
    }
    let typed = Typed::posted(&fields);
    let save = fields.iter().any(|(k, v)| k == "action" && v == "save");
    let crm = &user.crm;
    let result = match typed.config() {
        Err(e) => Err(e),
        Ok((config, rows)) if save => scoring::set_config(crm, &user.caller, &config)
            .await
            .map(|_| Vec::new())
            .map_err(|e| on_rows(e, &rows)),
        Ok((config, rows)) => {
            scoring::preview(crm, &user.caller, &config, PREVIEW_DEFAULT, Utc::now())
                .await
                .map_err(|e| on_rows(e, &rows))
        }
    };
    match result {
        Ok(preview) if !save => page(&user, &typed, preview, true, None, None).into_response(),
        other => {
            after_form(other, "/settings/scoring?done=saved", async |e| {
                Ok(page(&user, &typed, Vec::new(), true, Some(e), None))
            })
            .await
        }
    }
}

//! Customer segments: a named set of contacts, chosen by a rule tree.
//!
//! A rule is a JSON tree of groups `{"op": "and" | "or" | "not", "children":
//! [...]}` and conditions `{"field", "operand", "value"}`. [`Rule::parse`]
//! turns untrusted JSON into a [`Rule`] whose every field, operand and value
//! is known and of the right type, or names the place in the tree that is
//! wrong (`rule.children[1].value`). The store compiles a parsed rule to SQL;
//! nothing here knows SQL.
//!
//! ```
//! use neuracrm_domain::segments::Rule;
//! let rule = Rule::parse(&serde_json::json!({"op": "and", "children": [
//!     {"field": "industry", "operand": "is", "value": "technology"},
//!     {"field": "won_value_cents", "operand": "gt", "value": 5000000},
//!     {"field": "last_activity_at", "operand": "not_in_last_days", "value": 60},
//! ]})).unwrap();
//! assert_eq!(rule.fields().len(), 3);
//! let err = Rule::parse(&serde_json::json!({"op": "and", "children": [
//!     {"field": "industry", "operand": "is", "value": "x"},
//!     {"field": "total_leads", "operand": "gt", "value": "many"},
//! ]})).unwrap_err();
//! assert_eq!(err.path, "rule.children[1].value");
//! ```

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{OrgId, SegmentId};

/// Deepest nesting of groups a rule may have (the root group is level 1).
pub const MAX_DEPTH: usize = 5;
/// Most nodes (groups and conditions) a rule may have.
pub const MAX_NODES: usize = 200;
/// Most values an `in` condition may list.
pub const MAX_IN_VALUES: usize = 1000;
/// Longest text value, in characters.
pub const MAX_TEXT_VALUE: usize = 200;
/// Largest `in_last_days` / `not_in_last_days` value (100 years).
pub const MAX_DAYS: i64 = 36_500;

/// Whether the scheduler keeps a segment's members up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Re-evaluated by the scheduler and after relevant changes.
    Dynamic,
    /// A snapshot taken when saved; changed only by hand.
    Static,
}

impl SegmentKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Dynamic => "dynamic",
            SegmentKind::Static => "static",
        }
    }
}

impl std::str::FromStr for SegmentKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "dynamic" => Ok(SegmentKind::Dynamic),
            "static" => Ok(SegmentKind::Static),
            _ => Err(()),
        }
    }
}

/// A saved segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Id.
    pub id: SegmentId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// Shown in lists, unique in no way.
    pub name: String,
    /// What the segment is for.
    pub description: Option<String>,
    /// Dynamic or static.
    pub kind: SegmentKind,
    /// Which contacts belong.
    pub rule: Rule,
    /// Members as of the last refresh.
    pub size: i64,
    /// When the members were last computed.
    pub refreshed_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of name, description or rule.
    pub updated_at: DateTime<Utc>,
}

/// Input for a new segment; the rule is the untrusted JSON, parsed by
/// [`NewSegment::parsed_rule`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewSegment {
    /// Name; required.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Dynamic or static.
    pub kind: SegmentKind,
    /// The rule as sent.
    pub rule: Value,
}

/// Longest segment name.
pub const MAX_SEGMENT_NAME: usize = 200;
/// Longest segment description.
pub const MAX_SEGMENT_DESCRIPTION: usize = 2000;

/// A field of a segment's input that failed its check, named by its path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RuleError {
    /// Where: `name`, `rule`, `rule.children[0].operand`, ...
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> RuleError {
    RuleError {
        path: path.to_string(),
        message: message.into(),
    }
}

fn check_name(name: &str) -> Result<(), RuleError> {
    if name.trim().is_empty() {
        return Err(err("name", "name must not be empty"));
    }
    if name.chars().count() > MAX_SEGMENT_NAME {
        return Err(err(
            "name",
            format!("name must be at most {MAX_SEGMENT_NAME} characters"),
        ));
    }
    Ok(())
}

fn check_description(d: &Option<String>) -> Result<(), RuleError> {
    match d {
        Some(d) if d.chars().count() > MAX_SEGMENT_DESCRIPTION => Err(err(
            "description",
            format!("description must be at most {MAX_SEGMENT_DESCRIPTION} characters"),
        )),
        _ => Ok(()),
    }
}

impl NewSegment {
    /// Checks name and description and parses the rule.
    pub fn parsed_rule(&self) -> Result<Rule, RuleError> {
        check_name(&self.name)?;
        check_description(&self.description)?;
        Rule::parse(&self.rule)
    }
}

/// A partial update of a segment: absent fields stay; `description: null`
/// clears it. The kind cannot change (a static segment's members were
/// chosen by hand or by a snapshot; a dynamic one's by its rule).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentPatch {
    /// New name.
    #[serde(default, deserialize_with = "crate::patch::non_null")]
    pub name: Option<String>,
    /// New description, or `null`.
    #[serde(default, deserialize_with = "crate::patch::double_option")]
    pub description: Option<Option<String>>,
    /// New rule (re-evaluated at once).
    #[serde(default, deserialize_with = "crate::patch::non_null")]
    pub rule: Option<Value>,
}

impl SegmentPatch {
    /// Checks the patch; returns the parsed new rule, if one is given.
    pub fn parsed_rule(&self) -> Result<Option<Rule>, RuleError> {
        if let Some(n) = &self.name {
            check_name(n)?;
        }
        if let Some(d) = &self.description {
            check_description(d)?;
        }
        self.rule.as_ref().map(Rule::parse).transpose()
    }
}

/// The type of a field, which decides its operands and its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text, compared case-insensitively.
    Text,
    /// A word of a closed vocabulary (compared case-insensitively).
    Word(&'static [&'static str]),
    /// A whole number (counts, cents).
    Integer,
    /// A number (scores, rates).
    Number,
    /// A user id.
    Id,
    /// A point in time.
    Time,
}

/// Whose value a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldScope {
    /// The contact's own column.
    Contact,
    /// A metric computed from the contact's leads.
    LeadMetric,
    /// A metric computed from the contact's deals.
    DealMetric,
    /// A metric computed from the contact's activities.
    ActivityMetric,
    /// A metric computed from the sentiment of the contact's activities.
    SentimentMetric,
    /// The contact's RFM scores and segment among the organization's
    /// customers.
    Rfm,
    /// A metric computed from several of the above.
    Derived,
    /// A column of any of the contact's leads.
    Lead,
    /// A column of any of the contact's deals.
    Deal,
}

/// A field a condition may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// As written in rules (`industry`, `won_deals`, `lead.status`).
    pub name: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// Whose it is.
    pub scope: FieldScope,
}

const LEAD_STATUSES: &[&str] = crate::LeadStatus::WORDS;
const LEAD_SOURCES: &[&str] = crate::LeadSource::WORDS;
const SCORE_CATEGORIES: &[&str] = &["hot", "warm", "lukewarm", "cold"];
const DEAL_STAGES: &[&str] = crate::DealStage::WORDS;
const DEAL_STATUSES: &[&str] = crate::DealStatus::WORDS;
/// The RFM segments, named from the recency and frequency scores.
pub const RFM_SEGMENTS: &[&str] = &[
    "champions",
    "loyal_customers",
    "potential_loyalists",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
];

/// The RFM segment of recency and frequency scores (1–5 each), by the
/// usual map: R5 F4–5 champions, R3–4 F4–5 loyal customers, R4–5 F2–3
/// potential loyalists, R5 F1 new customers, R4 F1 promising, R3 F3 need
/// attention, R3 F1–2 about to sleep, R1–2 F3–4 at risk, R1–2 F5 can't
/// lose, R1–2 F1–2 hibernating.
pub fn rfm_segment(r: i64, f: i64) -> &'static str {
    // In this order, as the SQL's CASE (`store::segments::sql`) has it.
    if r == 5 && f >= 4 {
        "champions"
    } else if r >= 3 && f >= 4 {
        "loyal_customers"
    } else if r >= 4 && f >= 2 {
        "potential_loyalists"
    } else if r == 5 {
        "new_customers"
    } else if r == 4 {
        "promising"
    } else if r == 3 && f == 3 {
        "need_attention"
    } else if r == 3 {
        "about_to_sleep"
    } else if f >= 5 {
        "cant_lose"
    } else if f >= 3 {
        "at_risk"
    } else {
        "hibernating"
    }
}

macro_rules! fields {
    ($($name:literal => $ty:expr, $scope:ident;)*) => {
        /// Every field a condition may name.
        pub const FIELDS: &[Field] = &[$(Field { name: $name, ty: $ty, scope: FieldScope::$scope }),*];
    };
}

use FieldType::{Id, Integer, Number, Text, Time, Word};

fields! {
    "first_name" => Text, Contact;
    "last_name" => Text, Contact;
    "email" => Text, Contact;
    "phone" => Text, Contact;
    "company" => Text, Contact;
    "job_title" => Text, Contact;
    "industry" => Text, Contact;
    "company_size" => Integer, Contact;
    "owner_id" => Id, Contact;
    "created_at" => Time, Contact;
    "updated_at" => Time, Contact;
    "total_leads" => Integer, LeadMetric;
    "avg_lead_score" => Number, LeadMetric;
    "total_deals" => Integer, DealMetric;
    "won_deals" => Integer, DealMetric;
    "lost_deals" => Integer, DealMetric;
    "open_deals" => Integer, DealMetric;
    "total_deal_value_cents" => Integer, DealMetric;
    "avg_deal_value_cents" => Number, DealMetric;
    "won_value_cents" => Integer, DealMetric;
    "open_value_cents" => Integer, DealMetric;
    "first_won_at" => Time, DealMetric;
    "last_won_at" => Time, DealMetric;
    "total_activities" => Integer, ActivityMetric;
    "last_activity_at" => Time, ActivityMetric;
    "activities_30d" => Integer, ActivityMetric;
    "activities_90d" => Integer, ActivityMetric;
    "latest_sentiment" => Number, SentimentMetric;
    "rfm_recency" => Integer, Rfm;
    "rfm_frequency" => Integer, Rfm;
    "rfm_monetary" => Integer, Rfm;
    "rfm_segment" => Word(RFM_SEGMENTS), Rfm;
    "conversion_rate" => Number, Derived;
    "activity_score" => Number, Derived;
    "customer_value_score" => Number, Derived;
    "lead.title" => Text, Lead;
    "lead.status" => Word(LEAD_STATUSES), Lead;
    "lead.source" => Word(LEAD_SOURCES), Lead;
    "lead.score" => Number, Lead;
    "lead.score_category" => Word(SCORE_CATEGORIES), Lead;
    "lead.budget_cents" => Integer, Lead;
    "lead.created_at" => Time, Lead;
    "deal.title" => Text, Deal;
    "deal.stage" => Word(DEAL_STAGES), Deal;
    "deal.status" => Word(DEAL_STATUSES), Deal;
    "deal.value_cents" => Integer, Deal;
    "deal.closed_at" => Time, Deal;
    "deal.created_at" => Time, Deal;
}

impl Field {
    /// The field called `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static Field> {
        FIELDS.iter().find(|f| f.name == name)
    }

    /// The operands this field accepts.
    pub fn operands(&self) -> &'static [Operand] {
        use Operand::*;
        match self.ty {
            FieldType::Text => &[
                Is,
                IsNot,
                In,
                Contains,
                NotContains,
                StartsWith,
                IsEmpty,
                IsNotEmpty,
            ],
            FieldType::Word(_) | FieldType::Id => &[Is, IsNot, In, IsEmpty, IsNotEmpty],
            FieldType::Integer | FieldType::Number => &[
                Is, IsNot, In, Gt, Gte, Lt, Lte, Between, IsEmpty, IsNotEmpty,
            ],
            FieldType::Time => &[
                Before,
                After,
                Between,
                InLastDays,
                NotInLastDays,
                IsEmpty,
                IsNotEmpty,
            ],
        }
    }
}

/// How a condition compares its field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    /// Equal (text: ignoring case).
    Is,
    /// Not equal; an empty field is "not" any value.
    IsNot,
    /// Equal to one of a list.
    In,
    /// Text containing the value (ignoring case).
    Contains,
    /// Text not containing the value; an empty field contains nothing.
    NotContains,
    /// Text starting with the value (ignoring case).
    StartsWith,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Within `[low, high]`, both included.
    Between,
    /// No value (a metric of a contact with nothing to average is empty).
    IsEmpty,
    /// Has a value.
    IsNotEmpty,
    /// A time within the last N days.
    InLastDays,
    /// A time not within the last N days, or none at all.
    NotInLastDays,
    /// A time before the value.
    Before,
    /// A time after the value.
    After,
}

impl Operand {
    /// Every operand's word, for messages.
    pub const NAMES: &'static str = "is, is_not, in, contains, not_contains, starts_with, gt, gte, lt, lte, between, is_empty, is_not_empty, in_last_days, not_in_last_days, before, after";

    fn parse(s: &str) -> Option<Operand> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }

    /// The operand's word.
    pub fn as_str(self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::String(s)) => s,
            _ => String::new(),
        }
    }
}

/// One value a condition compares with, of its field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Text or a vocabulary word (lower-cased: comparisons ignore case).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Real(f64),
    /// A time.
    Time(DateTime<Utc>),
}

/// What a condition's value is, by operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operands {
    /// `is_empty`, `is_not_empty`: no value.
    None,
    /// One value.
    One(Scalar),
    /// `in`: a list.
    Many(Vec<Scalar>),
    /// `between`: low and high.
    Range(Scalar, Scalar),
    /// `in_last_days`, `not_in_last_days`: a number of days.
    Days(i64),
}

/// A condition: `field operand value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field.
    pub field: &'static Field,
    /// The comparison.
    pub operand: Operand,
    /// The parsed value.
    pub value: Operands,
    /// The value as sent (kept to store and show the rule as written).
    pub raw: Value,
}

/// How a group combines its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupOp {
    /// Every child holds.
    And,
    /// At least one child holds.
    Or,
    /// Its one child does not hold.
    Not,
}

/// A parsed, valid rule tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A group of rules.
    Group {
        /// How the children combine.
        op: GroupOp,
        /// At least one (exactly one for `not`).
        children: Vec<Rule>,
    },
    /// A condition.
    Condition(Condition),
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl Rule {
    /// Parses untrusted JSON; the error names the place in the tree
    /// (`rule`, `rule.children[2].value`).
    pub fn parse(v: &Value) -> Result<Rule, RuleError> {
        let mut nodes = 0;
        parse_node(v, "rule", 1, &mut nodes)
    }

    /// The rule as JSON, in the shape it is sent.
    pub fn to_json(&self) -> Value {
        match self {
            Rule::Group { op, children } => serde_json::json!({
                "op": op,
                "children": children.iter().map(Rule::to_json).collect::<Vec<_>>(),
            }),
            Rule::Condition(c) => {
                let mut m = serde_json::Map::new();
                m.insert("field".into(), Value::String(c.field.name.into()));
                m.insert("operand".into(), Value::String(c.operand.as_str()));
                if c.value != Operands::None {
                    m.insert("value".into(), c.raw.clone());
                }
                Value::Object(m)
            }
        }
    }

    /// Every field the rule names (with repeats).
    pub fn fields(&self) -> Vec<&'static Field> {
        let mut out = Vec::new();
        self.walk(&mut |c| out.push(c.field));
        out
    }

    /// Calls `f` on every condition.
    pub fn walk(&self, f: &mut impl FnMut(&Condition)) {
        match self {
            Rule::Group { children, .. } => children.iter().for_each(|c| c.walk(f)),
            Rule::Condition(c) => f(c),
        }
    }
}

fn parse_node(v: &Value, path: &str, depth: usize, nodes: &mut usize) -> Result<Rule, RuleError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(err(
            path,
            format!("a rule may have at most {MAX_NODES} groups and conditions"),
        ));
    }
    let Some(obj) = v.as_object() else {
        return Err(err(
            path,
            "must be a group {\"op\", \"children\"} or a condition {\"field\", \"operand\", \"value\"}",
        ));
    };
    if obj.contains_key("op") || obj.contains_key("children") {
        if depth > MAX_DEPTH {
            return Err(err(
                path,
                format!("groups may be nested at most {MAX_DEPTH} deep"),
            ));
        }
        if let Some(k) = obj.keys().find(|k| *k != "op" && *k != "children") {
            return Err(err(
                &format!("{path}.{k}"),
                "unknown key in a group (expected op, children)",
            ));
        }
        let op_path = format!("{path}.op");
        let op = match obj.get("op").and_then(Value::as_str) {
            Some("and") => GroupOp::And,
            Some("or") => GroupOp::Or,
            Some("not") => GroupOp::Not,
            Some(other) => {
                return Err(err(
                    &op_path,
                    format!("unknown group op '{}', expected and, or, not", clip(other)),
                ));
            }
            None => return Err(err(&op_path, "a group needs op: and, or or not")),
        };
        let children_path = format!("{path}.children");
        let Some(list) = obj.get("children").and_then(Value::as_array) else {
            return Err(err(&children_path, "a group needs a list of children"));
        };
        if list.is_empty() {
            return Err(err(&children_path, "a group needs at least one child"));
        }
        if op == GroupOp::Not && list.len() != 1 {
            return Err(err(
                &children_path,
                "a not group has exactly one child (group several under and/or first)",
            ));
        }
        let children = list
            .iter()
            .enumerate()
            .map(|(i, c)| parse_node(c, &format!("{children_path}[{i}]"), depth + 1, nodes))
            .collect::<Result<_, _>>()?;
        return Ok(Rule::Group { op, children });
    }
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "field" | "operand" | "value"))
    {
        return Err(err(
            &format!("{path}.{k}"),
            "unknown key in a condition (expected field, operand, value)",
        ));
    }
    let field_path = format!("{path}.field");
    let field = match obj.get("field").and_then(Value::as_str) {
        Some(name) => Field::named(name).ok_or_else(|| {
            err(
                &field_path,
                format!("unknown field '{}'; see the list of fields", clip(name)),
            )
        })?,
        None => return Err(err(&field_path, "a condition needs a field")),
    };
    let operand_path = format!("{path}.operand");
    let operand = match obj.get("operand").and_then(Value::as_str) {
        Some(word) => Operand::parse(word).ok_or_else(|| {
            err(
                &operand_path,
                format!(
                    "unknown operand '{}', expected one of: {}",
                    clip(word),
                    Operand::NAMES
                ),
            )
        })?,
        None => return Err(err(&operand_path, "a condition needs an operand")),
    };
    if !field.operands().contains(&operand) {
        let allowed: Vec<String> = field.operands().iter().map(|o| o.as_str()).collect();
        return Err(err(
            &operand_path,
            format!(
                "{} does not apply to {}; it takes {}",
                operand.as_str(),
                field.name,
                allowed.join(", ")
            ),
        ));
    }
    let raw = obj.get("value").cloned().unwrap_or(Value::Null);
    let value = parse_value(field, operand, &raw, &format!("{path}.value"))?;
    Ok(Rule::Condition(Condition {
        field,
        operand,
        value,
        raw,
    }))
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

fn parse_value(
    field: &Field,
    operand: Operand,
    raw: &Value,
    path: &str,
) -> Result<Operands, RuleError> {
    use Operand::*;
    match operand {
        IsEmpty | IsNotEmpty => match raw {
            Value::Null => Ok(Operands::None),
            _ => Err(err(path, "is_empty and is_not_empty take no value")),
        },
        InLastDays | NotInLastDays => match raw.as_i64() {
            Some(d) if (0..=MAX_DAYS).contains(&d) => Ok(Operands::Days(d)),
            _ => Err(err(
                path,
                format!("must be a whole number of days from 0 to {MAX_DAYS}"),
            )),
        },
        In => {
            let Some(list) = raw.as_array() else {
                return Err(err(path, "in takes a list of values"));
            };
            if list.is_empty() || list.len() > MAX_IN_VALUES {
                return Err(err(path, format!("in takes 1 to {MAX_IN_VALUES} values")));
            }
            list.iter()
                .enumerate()
                .map(|(i, v)| scalar(field, v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()
                .map(Operands::Many)
        }
        Between => match raw.as_array().map(Vec::as_slice) {
            Some([lo, hi]) => {
                let lo = scalar(field, lo, &format!("{path}[0]"))?;
                let hi = scalar(field, hi, &format!("{path}[1]"))?;
                if ordered(&lo, &hi) {
                    Ok(Operands::Range(lo, hi))
                } else {
                    Err(err(path, "between takes [low, high] with low ≤ high"))
                }
            }
            _ => Err(err(path, "between takes a list of two values [low, high]")),
        },
        _ => scalar(field, raw, path).map(Operands::One),
    }
}

fn ordered(lo: &Scalar, hi: &Scalar) -> bool {
    match (lo, hi) {
        (Scalar::Int(a), Scalar::Int(b)) => a <= b,
        (Scalar::Real(a), Scalar::Real(b)) => a <= b,
        (Scalar::Time(a), Scalar::Time(b)) => a <= b,
        (Scalar::Text(a), Scalar::Text(b)) => a <= b,
        _ => false,
    }
}

/// One value of `field`'s type.
fn scalar(field: &Field, v: &Value, path: &str) -> Result<Scalar, RuleError> {
    match field.ty {
        FieldType::Text => match v.as_str() {
            Some(s) if s.chars().count() <= MAX_TEXT_VALUE => Ok(Scalar::Text(s.to_lowercase())),
            Some(_) => Err(err(
                path,
                format!("must be at most {MAX_TEXT_VALUE} characters"),
            )),
            None => Err(err(path, format!("{} takes text", field.name))),
        },
        FieldType::Word(words) => match v.as_str() {
            Some(s) if words.contains(&s.to_lowercase().as_str()) => {
                Ok(Scalar::Text(s.to_lowercase()))
            }
            _ => Err(err(
                path,
                format!("{} takes one of: {}", field.name, words.join(", ")),
            )),
        },
        FieldType::Integer | FieldType::Id => match v.as_i64() {
            Some(n) => Ok(Scalar::Int(n)),
            None => Err(err(path, format!("{} takes a whole number", field.name))),
        },
        FieldType::Number => match v.as_f64() {
            Some(n) if n.is_finite() => Ok(Scalar::Real(n)),
            _ => Err(err(path, format!("{} takes a number", field.name))),
        },
        FieldType::Time => v
            .as_str()
            .and_then(parse_time)
            .map(Scalar::Time)
            .ok_or_else(|| {
                err(
                    path,
                    format!(
                        "{} takes a time (RFC 3339) or a date (YYYY-MM-DD)",
                        field.name
                    ),
                )
            }),
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
    };
    let date = t.date_naive();
    (crate::MIN_DATE..=crate::MAX_DATE)
        .contains(&date)
        .then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path_of(v: Value) -> String {
        Rule::parse(&v).unwrap_err().path
    }

    #[test]
    fn errors_name_the_place_in_the_tree() {
        assert_eq!(
            path_of(json!({"op": "and", "children": [
                {"field": "industry", "operand": "is", "value": "x"},
                {"op": "or", "children": [{"field": "nope", "operand": "is", "value": 1}]},
            ]})),
            "rule.children[1].children[0].field"
        );
        assert_eq!(
            path_of(json!({"field": "industry", "operand": "gt", "value": "x"})),
            "rule.operand"
        );
        assert_eq!(
            path_of(json!({"field": "industry", "operand": "frobs", "value": "x"})),
            "rule.operand"
        );
        assert_eq!(
            path_of(json!({"field": "won_deals", "operand": "between", "value": [3, 1]})),
            "rule.value"
        );
        assert_eq!(
            path_of(json!({"field": "lead.status", "operand": "in", "value": ["new", "won"]})),
            "rule.value[1]"
        );
        assert_eq!(
            path_of(json!({"field": "created_at", "operand": "after", "value": "yesterday"})),
            "rule.value"
        );
        assert_eq!(
            path_of(json!({"op": "not", "children": []})),
            "rule.children"
        );
        assert_eq!(path_of(json!({"op": "xor", "children": [1]})), "rule.op");
        assert_eq!(path_of(json!([1])), "rule");
        assert_eq!(
            path_of(json!({"field": "industry", "operand": "is", "value": "x", "extra": 1})),
            "rule.extra"
        );
    }

    #[test]
    fn too_deep_a_tree_is_refused_where_it_gets_too_deep() {
        let mut v = json!({"field": "total_leads", "operand": "gt", "value": 1});
        for _ in 0..MAX_DEPTH {
            v = json!({"op": "and", "children": [v]});
        }
        Rule::parse(&v).expect("MAX_DEPTH groups are fine");
        let deeper = json!({"op": "and", "children": [v]});
        let e = Rule::parse(&deeper).unwrap_err();
        assert_eq!(
            e.path,
            format!("rule{}", ".children[0]".repeat(MAX_DEPTH)),
            "{e}"
        );
    }

    #[test]
    fn a_rule_reads_back_as_it_was_written() {
        let v = json!({"op": "and", "children": [
            {"field": "industry", "operand": "is", "value": "Technology"},
            {"field": "won_value_cents", "operand": "gt", "value": 5000000},
            {"field": "last_activity_at", "operand": "not_in_last_days", "value": 60},
            {"op": "not", "children": [{"field": "email", "operand": "is_empty"}]},
        ]});
        let rule = Rule::parse(&v).unwrap();
        assert_eq!(rule.to_json(), v);
        assert_eq!(Rule::parse(&rule.to_json()).unwrap(), rule);
        let Rule::Group { children, .. } = &rule else {
            panic!()
        };
        let Rule::Condition(c) = &children[0] else {
            panic!()
        };
        assert_eq!(c.value, Operands::One(Scalar::Text("technology".into())));
    }

    #[test]
    fn every_field_has_operands_and_every_operand_some_field() {
        for f in FIELDS {
            assert!(!f.operands().is_empty(), "{}", f.name);
            assert_eq!(Field::named(f.name), Some(f));
        }
        for word in Operand::NAMES.split(", ") {
            let op = Operand::parse(word).unwrap_or_else(|| panic!("{word}"));
            assert!(FIELDS.iter().any(|f| f.operands().contains(&op)), "{word}");
        }
    }
}

//! AI voice calls (Retell): the two scenarios and their agents, an
//! organization's calling settings, the calls and what a call teaches us
//! about its lead (the BANT answers of the post-call analysis).
//!
//! Parsed values only: a [`PhoneNumber`] is E.164, a [`TimeZone`] is one of
//! the IANA zones, [`CallingHours`] are a window of the local day.
//!
//! ```
//! use neuracrm_domain::voice::{CallingHours, PhoneNumber};
//! assert_eq!(PhoneNumber::parse_field("+1 (415) 555-0100", "phone").unwrap().as_str(), "+14155550100");
//! assert!(PhoneNumber::parse_field("0415 555 0100", "phone").is_err());
//! let hours = CallingHours::parse("09:00", "20:00").unwrap();
//! assert!(hours.allows(chrono::NaiveTime::from_hms_opt(19, 59, 0).unwrap()));
//! assert!(!hours.allows(chrono::NaiveTime::from_hms_opt(20, 0, 0).unwrap()));
//! ```

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::kinds::vocabulary;
use crate::patch::{Patch, declare_patch};
use crate::{CallId, Cents, ContactId, DomainError, LeadId, OrgId, UserId};

vocabulary! {
    /// What a call is for; each scenario has one agent per organization.
    Scenario, field = "scenario" {
        /// Qualify a lead with BANT and book a follow-up.
        SalesOutbound = "sales_outbound",
        /// Resolve a customer's question or escalate it.
        CustomerSupport = "customer_support",
    }
}

vocabulary! {
    /// Where a call stands, in Retell's words.
    CallStatus, field = "call_status" {
        /// Placed, not yet answered.
        Registered = "registered",
        /// Never connected (no answer, busy, invalid number).
        NotConnected = "not_connected",
        /// In progress.
        Ongoing = "ongoing",
        /// Over.
        Ended = "ended",
        /// Failed on Retell's side.
        Error = "error",
    }
}

impl CallStatus {
    /// How far along the call is: a status never moves back to a lower
    /// rank, so events that arrive out of order cannot reopen a call.
    pub fn rank(self) -> u8 {
        match self {
            CallStatus::Registered => 0,
            CallStatus::Ongoing => 1,
            CallStatus::Ended | CallStatus::NotConnected | CallStatus::Error => 2,
        }
    }

    /// Whether the call still occupies a line (counts against the
    /// concurrent-call limit, and is looked up by `calls sync`).
    pub fn is_open(self) -> bool {
        self.rank() < 2
    }
}

/// A phone number in E.164 (`+` and 2 to 15 digits, the first not 0).
/// Spaces, dashes, dots and parentheses people type are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `raw`, naming `field` in the error.
    pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, DomainError> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        if (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
        {
            Ok(PhoneNumber(compact))
        } else {
            Err(DomainError::BadNumber {
                field,
                expected: "a phone number in E.164 form, like +14155550100",
            })
        }
    }

    /// The number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        PhoneNumber::parse_field(&s, "phone")
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

/// An IANA time zone (`Europe/Paris`, `America/New_York`, `UTC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// UTC.
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    /// Parses a zone name, naming `field` in the error.
    pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, DomainError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| DomainError::Inconsistent {
                field,
                message: "not a known time zone; use an IANA name such as Europe/Paris".into(),
            })
    }

    /// The zone's name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local wall-clock time at `at`.
    pub fn local_time(&self, at: DateTime<Utc>) -> NaiveTime {
        at.with_timezone(&self.0).time()
    }
}

impl TryFrom<String> for TimeZone {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        TimeZone::parse_field(&s, "time_zone")
    }
}

impl From<TimeZone> for String {
    fn from(t: TimeZone) -> String {
        t.name().to_string()
    }
}

/// The part of the local day calls may be placed in, `[start, end)`, in
/// minutes since midnight; `00:00`–`24:00` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HoursText", into = "HoursText")]
pub struct CallingHours {
    start: u32,
    end: u32,
}

/// [`CallingHours`] as written: `{"start": "09:00", "end": "20:00"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursText {
    /// First minute calls are allowed, `HH:MM`.
    pub start: String,
    /// First minute they are no longer allowed, `HH:MM` (up to `24:00`).
    pub end: String,
}

fn minutes(raw: &str, field: &'static str) -> Result<u32, DomainError> {
    let bad = || DomainError::BadDate {
        field,
        format: "HH:MM (00:00 to 24:00)",
    };
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

impl CallingHours {
    /// The default window, 09:00–20:00 local.
    pub const DEFAULT: CallingHours = CallingHours {
        start: 9 * 60,
        end: 20 * 60,
    };

    /// Parses `HH:MM` bounds; the start must come before the end.
    pub fn parse(start: &str, end: &str) -> Result<Self, DomainError> {
        let (start, end) = (
            minutes(start, "calling_hours.start")?,
            minutes(end, "calling_hours.end")?,
        );
        if start >= 24 * 60 || start >= end {
            return Err(DomainError::Inconsistent {
                field: "calling_hours",
                message: "start must come before end (00:00 to 24:00 allows any time)".into(),
            });
        }
        Ok(CallingHours { start, end })
    }

    /// Whether a call may start at local time `t`.
    pub fn allows(&self, t: NaiveTime) -> bool {
        let m = t.hour() * 60 + t.minute();
        (self.start..self.end).contains(&m)
    }

    fn text(m: u32) -> String {
        format!("{:02}:{:02}", m / 60, m % 60)
    }

    /// The bounds as written, `("09:00", "20:00")`.
    pub fn bounds(&self) -> (String, String) {
        (Self::text(self.start), Self::text(self.end))
    }
}

impl TryFrom<HoursText> for CallingHours {
    type Error = DomainError;
    fn try_from(h: HoursText) -> Result<Self, DomainError> {
        CallingHours::parse(&h.start, &h.end)
    }
}

impl From<CallingHours> for HoursText {
    fn from(h: CallingHours) -> HoursText {
        let (start, end) = h.bounds();
        HoursText { start, end }
    }
}

/// Most concurrent calls an organization may set (Retell's own ceiling is
/// per account; this bounds a typo).
pub const MAX_CONCURRENT_CALLS: i64 = 1000;

/// An organization's calling settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceSettings {
    /// The number calls are placed from (none: the deployment's
    /// `retell.from_number`).
    pub from_number: Option<PhoneNumber>,
    /// The organization's time zone, for contacts without one (none: UTC).
    pub time_zone: Option<TimeZone>,
    /// When calls may be placed, in the contact's local time.
    pub calling_hours: CallingHours,
    /// Calls in progress at once, at most.
    pub max_concurrent_calls: i64,
    /// Calls placed per minute, at most.
    pub calls_per_minute: i64,
    /// Whether the organization set its own Retell API key (the key itself
    /// is never read back).
    pub has_api_key: bool,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        VoiceSettings {
            from_number: None,
            time_zone: None,
            calling_hours: CallingHours::DEFAULT,
            max_concurrent_calls: 20,
            calls_per_minute: 10,
            has_api_key: false,
        }
    }
}

declare_patch! {
    /// A change of an organization's calling settings. The API key is in
    /// the patch but not in the settings: it is sealed before it is stored.
    pub struct VoiceSettingsPatch for VoiceSettings {
        /// Number to call from, or `null` for the deployment's.
        from_number: nullable PhoneNumber,
        /// Time zone, or `null` for UTC.
        time_zone: nullable TimeZone,
        /// The calling window.
        calling_hours: non_null CallingHours,
        /// Concurrent calls, 1 to [`MAX_CONCURRENT_CALLS`].
        max_concurrent_calls: non_null i64,
        /// Calls per minute, 1 to 600.
        calls_per_minute: non_null i64,
        /// The organization's own Retell API key, or `null` to use the
        /// deployment's again (write-only).
        api_key: nullable String => by_hand,
    }
}

impl VoiceSettings {
    /// Applies a patch (all but the key) and checks the limits.
    pub fn apply(&mut self, p: &VoiceSettingsPatch) -> Result<(), DomainError> {
        if let Some(Some(k)) = &p.api_key
            && (k.trim().is_empty() || k.len() > 500)
        {
            return Err(DomainError::Inconsistent {
                field: "api_key",
                message: "an API key is 1 to 500 characters".into(),
            });
        }
        p.apply_to(self, |_, s| {
            range(
                s.max_concurrent_calls,
                "max_concurrent_calls",
                MAX_CONCURRENT_CALLS,
            )?;
            range(s.calls_per_minute, "calls_per_minute", 600)
        })
    }
}

fn range(v: i64, field: &'static str, max: i64) -> Result<(), DomainError> {
    if (1..=max).contains(&v) {
        Ok(())
    } else {
        Err(DomainError::OutOfRange {
            field,
            min: 1.0,
            max: max as f64,
        })
    }
}

/// What an agent says and how: a scenario's built-in template, or an
/// organization's edited copy of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentTemplate {
    /// The agent's name at Retell.
    pub name: String,
    /// Retell's voice id, e.g. `11labs-Adrian`.
    pub voice_id: String,
    /// BCP 47 language, e.g. `en-US`.
    pub language: String,
    /// The LLM model, e.g. `gpt-4.1`.
    pub model: String,
    /// 0 to 1.
    pub temperature: f64,
    /// The system prompt (`{{first_name}}`, `{{company}}`, `{{lead_title}}`,
    /// `{{owner_name}}` are filled per call).
    pub general_prompt: String,
    /// What the agent says first.
    pub begin_message: String,
    /// What the agent says before it hangs up.
    pub end_call_message: String,
    /// The longest a call may last, in milliseconds.
    pub max_call_duration_ms: i64,
}

const SALES_PROMPT: &str = "You are {{owner_name}}'s assistant at our company, calling {{first_name}} \
at {{company}} about \"{{lead_title}}\". Be brief, friendly and honest that you are an AI assistant. \
Qualify the opportunity with BANT: ask about their budget (an amount), who decides (authority), \
what they need, and when they expect to decide (timeline). Then offer a follow-up meeting with \
{{owner_name}} and agree on a date and time. If they ask not to be called again, apologise, \
confirm it and end the call.";

const SUPPORT_PROMPT: &str = "You are a support assistant calling {{first_name}} at {{company}} \
about \"{{lead_title}}\". Be brief and friendly, and say you are an AI assistant. Find out what \
the problem is, resolve it if you can with clear steps, and otherwise tell them a person from \
the team ({{owner_name}}) will follow up, and summarise what you will pass on.";

impl AgentTemplate {
    /// The template a scenario ships with.
    pub fn builtin(s: Scenario) -> AgentTemplate {
        match s {
            Scenario::SalesOutbound => AgentTemplate {
                name: "Sales qualification".into(),
                voice_id: "11labs-Adrian".into(),
                language: "en-US".into(),
                model: "gpt-4.1".into(),
                temperature: 0.3,
                general_prompt: SALES_PROMPT.into(),
                begin_message: "Hi {{first_name}}, this is an AI assistant calling for {{owner_name}} about {{lead_title}}. Do you have two minutes?".into(),
                end_call_message: "Thank you for your time, {{first_name}}. Have a great day!".into(),
                max_call_duration_ms: 10 * 60 * 1000,
            },
            Scenario::CustomerSupport => AgentTemplate {
                name: "Customer support".into(),
                voice_id: "11labs-Myra".into(),
                language: "en-US".into(),
                model: "gpt-4.1".into(),
                temperature: 0.2,
                general_prompt: SUPPORT_PROMPT.into(),
                begin_message: "Hi {{first_name}}, this is an AI support assistant following up on {{lead_title}}. Is now a good time?".into(),
                end_call_message: "Thanks, {{first_name}}. We will follow up if anything is left open. Goodbye!".into(),
                max_call_duration_ms: 15 * 60 * 1000,
            },
        }
    }

    fn check(&self) -> Result<(), DomainError> {
        for (v, field, max) in [
            (&self.name, "name", 200),
            (&self.voice_id, "voice_id", 100),
            (&self.language, "language", 20),
            (&self.model, "model", 100),
            (&self.general_prompt, "general_prompt", 20_000),
            (&self.begin_message, "begin_message", 2_000),
            (&self.end_call_message, "end_call_message", 2_000),
        ] {
            if v.trim().is_empty() {
                return Err(DomainError::Empty { field });
            }
            if v.chars().count() > max {
                return Err(DomainError::TooLong { field, max });
            }
        }
        if !(0.0..=1.0).contains(&self.temperature) {
            return Err(DomainError::OutOfRange {
                field: "temperature",
                min: 0.0,
                max: 1.0,
            });
        }
        if !(60_000..=7_200_000).contains(&self.max_call_duration_ms) {
            return Err(DomainError::OutOfRange {
                field: "max_call_duration_ms",
                min: 60_000.0,
                max: 7_200_000.0,
            });
        }
        Ok(())
    }
}

declare_patch! {
    /// A change of an organization's copy of a scenario's agent.
    pub struct AgentTemplatePatch for AgentTemplate {
        /// Name.
        name: non_null String,
        /// Voice.
        voice_id: non_null String,
        /// Language.
        language: non_null String,
        /// Model.
        model: non_null String,
        /// Temperature, 0 to 1.
        temperature: non_null f64,
        /// System prompt.
        general_prompt: non_null String,
        /// First words.
        begin_message: non_null String,
        /// Last words.
        end_call_message: non_null String,
        /// Longest call, 60,000 to 7,200,000 ms.
        max_call_duration_ms: non_null i64,
    }
}

impl AgentTemplate {
    /// Applies a patch and checks the result; on error `self` is unchanged.
    pub fn apply(&mut self, p: &AgentTemplatePatch) -> Result<(), DomainError> {
        p.apply_to(self, |_, t| t.check())
    }
}

/// A scenario's agent in an organization: its template (built-in until
/// edited) and, once provisioned, its Retell ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceAgent {
    /// The scenario.
    pub scenario: Scenario,
    /// What it says.
    pub template: AgentTemplate,
    /// Whether the organization edited the built-in template.
    pub customized: bool,
    /// Retell's LLM id, once provisioned.
    pub llm_id: Option<String>,
    /// Retell's agent id, once provisioned.
    pub agent_id: Option<String>,
    /// When it was last provisioned.
    pub provisioned_at: Option<DateTime<Utc>>,
    /// Whether the template changed since then.
    pub stale: bool,
}

/// An outbound AI call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Our id.
    pub id: CallId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// The lead called about.
    pub lead_id: Option<LeadId>,
    /// The person called.
    pub contact_id: Option<ContactId>,
    /// What for.
    pub scenario: Scenario,
    /// The user who placed it.
    pub placed_by: Option<UserId>,
    /// Retell's call id (none until Retell accepted it).
    pub retell_call_id: Option<String>,
    /// Retell's agent.
    pub agent_id: String,
    /// Where it stands.
    pub status: CallStatus,
    /// From.
    pub from_number: String,
    /// To.
    pub to_number: String,
    /// Whether it was placed with the organization's own API key (its
    /// webhooks are then signed with that key).
    pub own_key: bool,
    /// The agent's longest call when placed, in ms.
    pub max_duration_ms: i64,
    /// Answered.
    pub started_at: Option<DateTime<Utc>>,
    /// Hung up.
    pub ended_at: Option<DateTime<Utc>>,
    /// Length in ms.
    pub duration_ms: Option<i64>,
    /// The transcript as text.
    pub transcript: Option<String>,
    /// The transcript as turns `[{"role": "agent" | "user", "content"}]`.
    pub transcript_turns: Option<serde_json::Value>,
    /// Retell's recording.
    pub recording_url: Option<String>,
    /// Why it ended, in Retell's words (`user_hangup`, `voicemail_reached`, ...).
    pub disconnection_reason: Option<String>,
    /// Retell's summary.
    pub summary: Option<String>,
    /// Retell's reading of the person's sentiment (`Positive`, `Negative`, ...).
    pub user_sentiment: Option<String>,
    /// Whether the agent reached its goal.
    pub call_successful: Option<bool>,
    /// Whether it reached voicemail.
    pub in_voicemail: Option<bool>,
    /// The scenario's answers (BANT, follow-up booked).
    pub custom_analysis: Option<serde_json::Value>,
    /// When the analysis arrived.
    pub analyzed_at: Option<DateTime<Utc>>,
    /// The `call` activity logged with the transcript.
    pub activity_id: Option<crate::ActivityId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A contact's calling preferences.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallingPrefs {
    /// Never call this contact.
    pub do_not_call: bool,
    /// The contact's own time zone (none: the organization's).
    pub time_zone: Option<TimeZone>,
}

declare_patch! {
    /// A change of a contact's calling preferences.
    pub struct CallingPrefsPatch for CallingPrefs {
        /// Do not call.
        do_not_call: non_null bool,
        /// Time zone, or `null` for the organization's.
        time_zone: nullable TimeZone,
    }
}

impl CallingPrefs {
    /// Applies a patch.
    pub fn apply(&mut self, p: &CallingPrefsPatch) -> Result<(), DomainError> {
        p.apply_to(self, |_, _| Ok(()))
    }
}

/// What a sales call's analysis fills on its lead: the budget and the
/// decision date, when the person gave them in a form we can read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bant {
    /// The stated budget.
    pub budget: Option<Cents>,
    /// When they expect to decide.
    pub timeline: Option<NaiveDate>,
}

/// The post-call analysis fields every scenario asks for, as Retell's
/// `post_call_analysis_data` (name, type, description).
pub const ANALYSIS_FIELDS: &[(&str, &str, &str)] = &[
    (
        "budget",
        "string",
        "The budget the person stated, as a plain amount in dollars (e.g. 50000); empty if none was given.",
    ),
    (
        "authority",
        "string",
        "Who makes the buying decision, in a few words.",
    ),
    ("need", "string", "What they need, in one sentence."),
    (
        "timeline",
        "string",
        "When they expect to decide, as a date YYYY-MM-DD, or 'N weeks' / 'N months' from today; empty if unknown.",
    ),
    (
        "follow_up_booked",
        "boolean",
        "Whether a follow-up meeting was agreed.",
    ),
];

impl Bant {
    /// Reads the answers of `custom_analysis_data`; `on` is the day of the
    /// call (relative timelines count from it). Answers that do not read as
    /// an amount or a date are left out rather than guessed at.
    pub fn read(custom: &serde_json::Value, on: NaiveDate) -> Bant {
        let budget = match custom.get("budget") {
            Some(serde_json::Value::Number(n)) => n
                .as_f64()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .and_then(|v| Cents::new((v * 100.0).round() as i64).ok()),
            Some(serde_json::Value::String(s)) => {
                let s = s.trim().trim_start_matches(['$', '€', '£']).trim();
                let (num, mult) = match s.to_ascii_lowercase() {
                    t if t.ends_with('k') => (s[..s.len() - 1].trim().to_string(), 1_000.0),
                    t if t.ends_with('m') => (s[..s.len() - 1].trim().to_string(), 1_000_000.0),
                    _ => (s.to_string(), 1.0),
                };
                Cents::parse_amount(&num, "budget")
                    .ok()
                    .and_then(|c| Cents::new((c.get() as f64 * mult).round() as i64).ok())
            }
            _ => None,
        };
        let timeline = custom
            .get("timeline")
            .and_then(|v| v.as_str())
            .and_then(|t| timeline(t.trim(), on));
        Bant { budget, timeline }
    }
}

fn timeline(t: &str, on: NaiveDate) -> Option<NaiveDate> {
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return (d.year() >= 1900 && d.year() <= 2200).then_some(d);
    }
    let lower = t.to_ascii_lowercase();
    let mut words = lower.split_whitespace();
    let n: i64 = words.next()?.parse().ok()?;
    if !(0..=120).contains(&n) {
        return None;
    }
    match words.next()?.trim_end_matches('s') {
        "day" => Some(on + Duration::days(n)),
        "week" => Some(on + Duration::weeks(n)),
        "month" => on.checked_add_months(chrono::Months::new(n as u32)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phone_numbers_are_e164() {
        for ok in ["+14155550100", "+44 20 7946 0958", "+33 (1) 23-45-67-89"] {
            assert!(PhoneNumber::parse_field(ok, "phone").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "14155550100",
            "+0123",
            "+1",
            "+1234567890123456",
            "+1 415 CALL NOW",
        ] {
            assert_eq!(
                PhoneNumber::parse_field(bad, "phone").unwrap_err().field(),
                "phone",
                "{bad}"
            );
        }
    }

    #[test]
    fn calling_hours_bound_the_local_day() {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let all = CallingHours::parse("00:00", "24:00").unwrap();
        assert!(all.allows(at(0, 0)) && all.allows(at(23, 59)));
        let day = CallingHours::DEFAULT;
        assert!(!day.allows(at(8, 59)) && day.allows(at(9, 0)) && !day.allows(at(20, 0)));
        for (s, e) in [
            ("20:00", "09:00"),
            ("09:00", "09:00"),
            ("9:00", "20:00"),
            ("24:00", "24:00"),
            ("10:60", "11:00"),
        ] {
            assert!(CallingHours::parse(s, e).is_err(), "{s}-{e}");
        }
        let h: CallingHours =
            serde_json::from_value(json!({"start": "08:30", "end": "17:45"})).unwrap();
        assert_eq!(
            serde_json::to_value(h).unwrap(),
            json!({"start": "08:30", "end": "17:45"})
        );
    }

    #[test]
    fn time_zones_are_iana_names() {
        let paris = TimeZone::parse_field("Europe/Paris", "time_zone").unwrap();
        let noon_utc = DateTime::parse_from_rfc3339("2026-07-01T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            paris.local_time(noon_utc),
            NaiveTime::from_hms_opt(14, 0, 0).unwrap()
        );
        assert!(TimeZone::parse_field("Mars/Olympus", "time_zone").is_err());
    }

    #[test]
    fn bant_reads_amounts_and_dates_and_leaves_the_rest() {
        let on = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let b = Bant::read(&json!({"budget": "$50,000", "timeline": "2027-03-01"}), on);
        assert_eq!(b.budget, Some(Cents::new(5_000_000).unwrap()));
        assert_eq!(b.timeline, NaiveDate::from_ymd_opt(2027, 3, 1));
        let b = Bant::read(&json!({"budget": 1200.5, "timeline": "3 months"}), on);
        assert_eq!(b.budget, Some(Cents::new(120_050).unwrap()));
        assert_eq!(b.timeline, NaiveDate::from_ymd_opt(2027, 3, 6));
        assert_eq!(
            Bant::read(&json!({"budget": "40k"}), on).budget,
            Some(Cents::new(4_000_000).unwrap())
        );
        let b = Bant::read(&json!({"budget": "not sure yet", "timeline": "soon"}), on);
        assert_eq!(b, Bant::default());
        assert_eq!(Bant::read(&json!({"budget": -5}), on), Bant::default());
    }

    #[test]
    fn a_status_never_moves_back() {
        assert!(CallStatus::Ended.rank() > CallStatus::Ongoing.rank());
        assert!(CallStatus::Ongoing.rank() > CallStatus::Registered.rank());
        assert!(CallStatus::Registered.is_open() && !CallStatus::NotConnected.is_open());
    }

    #[test]
    fn settings_patches_check_their_limits_and_the_key() {
        let mut s = VoiceSettings::default();
        let p: VoiceSettingsPatch =
            serde_json::from_value(json!({"max_concurrent_calls": 0})).unwrap();
        assert_eq!(s.apply(&p).unwrap_err().field(), "max_concurrent_calls");
        let p: VoiceSettingsPatch = serde_json::from_value(json!({"api_key": " "})).unwrap();
        assert_eq!(s.apply(&p).unwrap_err().field(), "api_key");
        assert!(
            serde_json::from_value::<VoiceSettingsPatch>(json!({"from_number": "12"})).is_err()
        );
        let p: VoiceSettingsPatch = serde_json::from_value(
            json!({"from_number": "+14155550100", "time_zone": "America/New_York", "calling_hours": {"start": "10:00", "end": "18:00"}}),
        )
        .unwrap();
        s.apply(&p).unwrap();
        assert_eq!(s.time_zone.unwrap().name(), "America/New_York");
        assert_eq!(s.calling_hours.bounds(), ("10:00".into(), "18:00".into()));
    }

    #[test]
    fn a_template_patch_is_checked_before_it_applies() {
        let mut t = AgentTemplate::builtin(Scenario::SalesOutbound);
        let before = t.clone();
        let p: AgentTemplatePatch =
            serde_json::from_value(json!({"temperature": 1.5, "name": "X"})).unwrap();
        assert_eq!(t.apply(&p).unwrap_err().field(), "temperature");
        assert_eq!(t, before);
        let p: AgentTemplatePatch =
            serde_json::from_value(json!({"general_prompt": "Be kind."})).unwrap();
        t.apply(&p).unwrap();
        assert_eq!(t.general_prompt, "Be kind.");
    }
}

//! AI voice calls: each organization's calling settings (its own Retell API
//! key only ever sealed), its agents per scenario, its calls, the calling
//! preferences of its contacts, and the webhook receipts that make each
//! (call, event) take effect once.
//!
//! A webhook's effects on the call row commit in the transaction that
//! inserts its receipt ([`Voice::apply`]): a repeated delivery finds the
//! receipt and changes nothing, and a crash before the commit leaves no
//! receipt, so Retell's retry applies it. The effects that follow the
//! commit (the transcript's activity, the lead's fill and new score) are
//! owed by the receipt until they have run ([`Receipt`]): a run that fails
//! is claimed again later ([`Voice::due_receipts`], [`Voice::claim_receipt`]),
//! and each effect that writes commits with its own mark (the call's
//! `activity_id`, the receipt's `lead_filled`), so a retry never repeats it.

use chrono::{DateTime, Utc};
use neuracrm_domain::voice::{
    AgentTemplate, CallingHours, CallingPrefs, PhoneNumber, TimeZone, VoiceAgent, VoiceSettings,
};
use neuracrm_domain::{
    Activity, ActivityId, Call, CallId, CallStatus, ContactId, Lead, LeadId, LeadPatch,
    NewActivity, OrgId, Scenario, SegmentId, UserId,
};
use sqlx::types::Json;

use crate::audit::{self, Action};
use crate::db::{Backend, Db, Sql};
use crate::tables::{Table, filter_eq, order_and_page, push_in, word};
use crate::{Page, Paged, Result, SortDir, StoreError};

const CALL_COLUMNS: &str = "id, organization_id, lead_id, contact_id, scenario, placed_by, \
    retell_call_id, agent_id, status, from_number, to_number, own_key, max_duration_ms, started_at, \
    ended_at, duration_ms, transcript, transcript_turns, recording_url, disconnection_reason, \
    summary, user_sentiment, call_successful, in_voicemail, custom_analysis, analyzed_at, \
    activity_id, created_at, updated_at";

/// Calling settings, agents, calls and receipts.
#[derive(Debug, Clone, Copy)]
pub struct Voice<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    from_number: Option<String>,
    time_zone: Option<String>,
    calling_start: String,
    calling_end: String,
    max_concurrent_calls: i64,
    calls_per_minute: i64,
    api_key_sealed: Option<String>,
}

fn corrupt(entity: &'static str) -> impl Fn(neuracrm_domain::DomainError) -> StoreError {
    move |e| StoreError::Corrupt {
        entity,
        message: e.to_string(),
    }
}

impl SettingsRow {
    fn into_settings(self) -> Result<(VoiceSettings, Option<String>)> {
        let bad = corrupt("voice_settings");
        let settings = VoiceSettings {
            from_number: self
                .from_number
                .map(|n| PhoneNumber::parse_field(&n, "from_number"))
                .transpose()
                .map_err(&bad)?,
            time_zone: self
                .time_zone
                .map(|z| TimeZone::parse_field(&z, "time_zone"))
                .transpose()
                .map_err(&bad)?,
            calling_hours: CallingHours::parse(&self.calling_start, &self.calling_end)
                .map_err(&bad)?,
            max_concurrent_calls: self.max_concurrent_calls,
            calls_per_minute: self.calls_per_minute,
            has_api_key: self.api_key_sealed.is_some(),
        };
        Ok((settings, self.api_key_sealed))
    }
}

/// What to do with the stored API key when settings are saved.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyChange {
    /// Leave it as it is.
    Keep,
    /// Remove it (the deployment's key is used again).
    Clear,
    /// Store this sealed key.
    Set(String),
}

#[derive(sqlx::FromRow)]
struct AgentRow {
    scenario: String,
    template: Json<serde_json::Value>,
    customized: bool,
    llm_id: Option<String>,
    agent_id: Option<String>,
    provisioned_at: Option<DateTime<Utc>>,
    provisioned_template: Option<Json<serde_json::Value>>,
}

impl AgentRow {
    fn into_agent(self) -> Result<VoiceAgent> {
        let bad = |e: serde_json::Error| StoreError::Corrupt {
            entity: "voice_agent",
            message: e.to_string(),
        };
        let template: AgentTemplate =
            serde_json::from_value(self.template.0.clone()).map_err(bad)?;
        let stale = self
            .provisioned_template
            .as_ref()
            .is_some_and(|p| p.0 != self.template.0);
        Ok(VoiceAgent {
            scenario: word("voice_agent", &self.scenario)?,
            template,
            customized: self.customized,
            llm_id: self.llm_id,
            agent_id: self.agent_id,
            provisioned_at: self.provisioned_at,
            stale,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CallRow {
    id: i64,
    organization_id: i64,
    lead_id: Option<i64>,
    contact_id: Option<i64>,
    scenario: String,
    placed_by: Option<i64>,
    retell_call_id: Option<String>,
    agent_id: String,
    status: String,
    from_number: String,
    to_number: String,
    own_key: bool,
    max_duration_ms: i64,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
    transcript: Option<String>,
    transcript_turns: Option<Json<serde_json::Value>>,
    recording_url: Option<String>,
    disconnection_reason: Option<String>,
    summary: Option<String>,
    user_sentiment: Option<String>,
    call_successful: Option<bool>,
    in_voicemail: Option<bool>,
    custom_analysis: Option<Json<serde_json::Value>>,
    analyzed_at: Option<DateTime<Utc>>,
    activity_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CallRow> for Call {
    type Error = StoreError;
    fn try_from(r: CallRow) -> Result<Call> {
        Ok(Call {
            id: CallId(r.id),
            organization_id: OrgId(r.organization_id),
            lead_id: r.lead_id.map(LeadId),
            contact_id: r.contact_id.map(ContactId),
            scenario: word("call", &r.scenario)?,
            placed_by: r.placed_by.map(UserId),
            retell_call_id: r.retell_call_id,
            agent_id: r.agent_id,
            status: word("call", &r.status)?,
            from_number: r.from_number,
            to_number: r.to_number,
            own_key: r.own_key,
            max_duration_ms: r.max_duration_ms,
            started_at: r.started_at,
            ended_at: r.ended_at,
            duration_ms: r.duration_ms,
            transcript: r.transcript,
            transcript_turns: r.transcript_turns.map(|j| j.0),
            recording_url: r.recording_url,
            disconnection_reason: r.disconnection_reason,
            summary: r.summary,
            user_sentiment: r.user_sentiment,
            call_successful: r.call_successful,
            in_voicemail: r.in_voicemail,
            custom_analysis: r.custom_analysis.map(|j| j.0),
            analyzed_at: r.analyzed_at,
            activity_id: r.activity_id.map(ActivityId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Who a call goes to and what its agent is told, read in one query.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallTarget {
    /// The lead, when the call is about one.
    pub lead_id: Option<i64>,
    /// The lead's title.
    pub lead_title: Option<String>,
    /// The contact (the lead's, or the one asked for).
    pub contact_id: Option<i64>,
    /// Contact fields.
    pub first_name: Option<String>,
    /// Contact fields.
    pub company: Option<String>,
    /// The phone as the contact has it (unparsed).
    pub phone: Option<String>,
    /// Never call.
    pub do_not_call: Option<bool>,
    /// The contact's time zone.
    pub time_zone: Option<String>,
    /// The owner (of the lead, else of the contact).
    pub owner_name: Option<String>,
}

/// A call about to be placed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    /// Lead.
    pub lead_id: Option<LeadId>,
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// Scenario.
    pub scenario: Scenario,
    /// Who placed it.
    pub placed_by: Option<UserId>,
    /// Retell's agent.
    pub agent_id: String,
    /// From.
    pub from_number: String,
    /// To.
    pub to_number: String,
    /// Placed with the organization's own key.
    pub own_key: bool,
    /// The agent's longest call.
    pub max_duration_ms: i64,
}

/// Why a call may not be placed now (the limits are checked in the
/// transaction that inserts the call, so two requests cannot both take the
/// last line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// As many calls are in progress as the organization allows.
    Concurrent(i64),
    /// As many calls were placed in the last minute as it allows.
    Rate(i64),
}

/// What one webhook event (or a `calls sync` fetch) says about a call;
/// `None` fields are left as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallUpdate {
    /// Status (never moves back, see [`CallStatus::rank`]).
    pub status: Option<CallStatus>,
    /// Answered.
    pub started_at: Option<DateTime<Utc>>,
    /// Hung up.
    pub ended_at: Option<DateTime<Utc>>,
    /// Length.
    pub duration_ms: Option<i64>,
    /// Transcript text.
    pub transcript: Option<String>,
    /// Transcript turns.
    pub transcript_turns: Option<serde_json::Value>,
    /// Recording.
    pub recording_url: Option<String>,
    /// Why it ended.
    pub disconnection_reason: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// Sentiment.
    pub user_sentiment: Option<String>,
    /// Success.
    pub call_successful: Option<bool>,
    /// Voicemail.
    pub in_voicemail: Option<bool>,
    /// The custom analysis; its presence marks the call analysed.
    pub custom_analysis: Option<serde_json::Value>,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The call after the event.
    pub call: Call,
    /// Whether the status changed.
    pub status_changed: bool,
    /// The effects this event claimed and the caller now runs (none: the
    /// receipt is processed already).
    pub owed: Option<Receipt>,
}

/// A webhook receipt whose effects are owed: claimed by its event (each
/// once per call, whatever the order of events) and not all run yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The call's organization.
    pub organization_id: OrgId,
    pub call_id: CallId,
    /// `call_started`, `call_ended` or `call_analyzed`.
    pub event: String,
    /// Runs of its effects begun so far (the first in the request that
    /// stored it).
    pub attempts: i64,
    /// The event brought the transcript: a `call` activity is owed.
    pub owes_activity: bool,
    /// The event brought the analysis: the lead's fill, its new score and
    /// `call_completed` are owed.
    pub owes_completion: bool,
    pub received_at: DateTime<Utc>,
}

type ReceiptRow = (i64, i64, String, i64, bool, bool, DateTime<Utc>);

impl From<ReceiptRow> for Receipt {
    fn from(r: ReceiptRow) -> Receipt {
        Receipt {
            organization_id: OrgId(r.0),
            call_id: CallId(r.1),
            event: r.2,
            attempts: r.3,
            owes_activity: r.4,
            owes_completion: r.5,
            received_at: r.6,
        }
    }
}

/// Calls of an organization narrowed by these fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// About this lead.
    pub lead_id: Option<LeadId>,
    /// To this contact.
    pub contact_id: Option<ContactId>,
    /// In this status.
    pub status: Option<CallStatus>,
    /// For this scenario.
    pub scenario: Option<Scenario>,
}

impl Voice<'_> {
    // ---- settings ----

    /// The organization's settings (the defaults until it saves some) and
    /// its sealed API key, if any.
    pub async fn settings(&self, org: OrgId) -> Result<(VoiceSettings, Option<String>)> {
        let row: Option<SettingsRow> = self
            .db
            .fetch_optional(
                Sql::new(
                    "SELECT from_number, time_zone, calling_start, calling_end, \
                     max_concurrent_calls, calls_per_minute, api_key_sealed \
                     FROM voice_settings WHERE organization_id = $1",
                )
                .arg(org),
            )
            .await?;
        match row {
            Some(r) => r.into_settings(),
            None => Ok((VoiceSettings::default(), None)),
        }
    }

    /// Saves the organization's settings (and changes its key as asked).
    pub async fn save_settings(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        s: &VoiceSettings,
        key: KeyChange,
    ) -> Result<VoiceSettings> {
        let mut tx = self.db.begin().await?;
        let (start, end) = s.calling_hours.bounds();
        let (set_key, sealed) = match key {
            KeyChange::Keep => (false, None),
            KeyChange::Clear => (true, None),
            KeyChange::Set(k) => (true, Some(k)),
        };
        tx.execute(
            Sql::new(
                "INSERT INTO voice_settings (organization_id, from_number, time_zone, calling_start, \
                 calling_end, max_concurrent_calls, calls_per_minute, api_key_sealed, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (organization_id) DO UPDATE SET from_number = $2, time_zone = $3, \
                 calling_start = $4, calling_end = $5, max_concurrent_calls = $6, \
                 calls_per_minute = $7, updated_at = $9, \
                 api_key_sealed = CASE WHEN $10 THEN $8 ELSE voice_settings.api_key_sealed END",
            )
            .arg(org)
            .arg(s.from_number.as_ref().map(|n| n.as_str().to_string()))
            .arg(s.time_zone.map(|z| z.name().to_string()))
            .arg(start)
            .arg(end)
            .arg(s.max_concurrent_calls)
            .arg(s.calls_per_minute)
            .arg(sealed)
            .arg(Utc::now())
            .arg(set_key),
        )
        .await?;
        audit::record(&mut tx, org, actor, Action::Update, "voice_settings", org.0).await?;
        tx.commit().await?;
        Ok(self.settings(org).await?.0)
    }

    // ---- agents ----

    /// The organization's stored agents (edited or provisioned scenarios).
    pub async fn agents(&self, org: OrgId) -> Result<Vec<VoiceAgent>> {
        let rows: Vec<AgentRow> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT scenario, template, customized, llm_id, agent_id, provisioned_at, \
                     provisioned_template FROM voice_agents WHERE organization_id = $1 \
                     ORDER BY scenario",
                )
                .arg(org),
            )
            .await?;
        rows.into_iter().map(AgentRow::into_agent).collect()
    }

    /// The scenario's agent of the organization as stored, or the built-in
    /// template when it has none yet.
    pub async fn agent(&self, org: OrgId, scenario: Scenario) -> Result<VoiceAgent> {
        let found = self
            .agents(org)
            .await?
            .into_iter()
            .find(|a| a.scenario == scenario);
        Ok(found.unwrap_or_else(|| VoiceAgent {
            scenario,
            template: AgentTemplate::builtin(scenario),
            customized: false,
            llm_id: None,
            agent_id: None,
            provisioned_at: None,
            stale: false,
        }))
    }

    /// Saves the organization's edited template of a scenario.
    pub async fn save_template(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        scenario: Scenario,
        template: &AgentTemplate,
    ) -> Result<VoiceAgent> {
        let json = serde_json::to_value(template).map_err(|e| StoreError::Corrupt {
            entity: "voice_agent",
            message: e.to_string(),
        })?;
        let mut tx = self.db.begin().await?;
        tx.execute(
            Sql::new(
                "INSERT INTO voice_agents (organization_id, scenario, template, customized, updated_at) \
                 VALUES ($1, $2, $3, TRUE, $4) ON CONFLICT (organization_id, scenario) \
                 DO UPDATE SET template = $3, customized = TRUE, updated_at = $4",
            )
            .arg(org)
            .arg(scenario.as_str())
            .arg(json)
            .arg(Utc::now()),
        )
        .await?;
        audit::record(&mut tx, org, actor, Action::Update, "voice_agent", 0).await?;
        tx.commit().await?;
        self.agent(org, scenario).await
    }

    /// Records the Retell ids a scenario was provisioned with, and the
    /// template they were provisioned from.
    pub async fn set_provisioned(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        scenario: Scenario,
        template: &AgentTemplate,
        llm_id: &str,
        agent_id: &str,
    ) -> Result<VoiceAgent> {
        let json = serde_json::to_value(template).map_err(|e| StoreError::Corrupt {
            entity: "voice_agent",
            message: e.to_string(),
        })?;
        let mut tx = self.db.begin().await?;
        let now = Utc::now();
        tx.execute(
            Sql::new(
                "INSERT INTO voice_agents (organization_id, scenario, template, customized, llm_id, \
                 agent_id, provisioned_at, provisioned_template, updated_at) \
                 VALUES ($1, $2, $3, FALSE, $4, $5, $6, $3, $6) ON CONFLICT (organization_id, scenario) \
                 DO UPDATE SET llm_id = $4, agent_id = $5, provisioned_at = $6, \
                 provisioned_template = $3, updated_at = $6",
            )
            .arg(org)
            .arg(scenario.as_str())
            .arg(json)
            .arg(llm_id)
            .arg(agent_id)
            .arg(now),
        )
        .await?;
        audit::record(&mut tx, org, actor, Action::Update, "voice_agent", 0).await?;
        tx.commit().await?;
        self.agent(org, scenario).await
    }

    // ---- contacts' preferences ----

    /// A contact's calling preferences (404 for another organization's).
    pub async fn prefs(&self, org: OrgId, contact: ContactId) -> Result<CallingPrefs> {
        let (dnc, tz): (bool, Option<String>) = Table::Contacts
            .get(self.db, "do_not_call, time_zone", org, contact.0)
            .await?;
        Ok(CallingPrefs {
            do_not_call: dnc,
            time_zone: tz
                .map(|z| TimeZone::parse_field(&z, "time_zone"))
                .transpose()
                .map_err(corrupt("contact"))?,
        })
    }

    /// Saves a contact's calling preferences.
    pub async fn set_prefs(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        contact: ContactId,
        p: &CallingPrefs,
    ) -> Result<CallingPrefs> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                Sql::new(
                    "UPDATE contacts SET do_not_call = $1, time_zone = $2, updated_at = $3 \
                     WHERE organization_id = $4 AND id = $5",
                )
                .arg(p.do_not_call)
                .arg(p.time_zone.map(|z| z.name().to_string()))
                .arg(Utc::now())
                .arg(org)
                .arg(contact),
            )
            .await?;
        if n == 0 {
            return Err(Table::Contacts.not_found());
        }
        audit::record(&mut tx, org, actor, Action::Update, "contact", contact.0).await?;
        tx.commit().await?;
        self.prefs(org, contact).await
    }

    // ---- calls ----

    /// Who a call about `lead` (its contact) or to `contact` reaches; 404
    /// when the lead or contact is not the organization's.
    pub async fn target(
        &self,
        org: OrgId,
        lead: Option<LeadId>,
        contact: Option<ContactId>,
    ) -> Result<CallTarget> {
        let q = match (lead, contact) {
            (Some(l), _) => Sql::new(
                "SELECT l.id AS lead_id, l.title AS lead_title, c.id AS contact_id, c.first_name, \
                 c.company, c.phone, c.do_not_call, c.time_zone, u.name AS owner_name \
                 FROM leads l LEFT JOIN contacts c ON c.organization_id = l.organization_id \
                 AND c.id = l.contact_id LEFT JOIN users u ON u.organization_id = l.organization_id \
                 AND u.id = COALESCE(l.owner_id, c.owner_id) WHERE l.organization_id = $1 AND l.id = $2",
            )
            .arg(org)
            .arg(l),
            (None, Some(c)) => Sql::new(
                "SELECT NULL AS lead_id, NULL AS lead_title, c.id AS contact_id, c.first_name, \
                 c.company, c.phone, c.do_not_call, c.time_zone, u.name AS owner_name \
                 FROM contacts c LEFT JOIN users u ON u.organization_id = c.organization_id \
                 AND u.id = c.owner_id WHERE c.organization_id = $1 AND c.id = $2",
            )
            .arg(org)
            .arg(c),
            (None, None) => {
                return Err(StoreError::BadReference {
                    field: "lead_id",
                    entity: "lead",
                });
            }
        };
        let found: Option<CallTarget> = self.db.fetch_optional(q).await?;
        found.ok_or(if lead.is_some() {
            Table::Leads.not_found()
        } else {
            Table::Contacts.not_found()
        })
    }

    /// Inserts a call about to be placed (`registered`, no Retell id yet),
    /// unless the organization's concurrent-call limit or per-minute rate
    /// is reached. Open calls older than their maximum duration (lost
    /// webhooks) do not count against the limit.
    pub async fn insert(
        &self,
        org: OrgId,
        new: &NewCall,
        max_concurrent: i64,
        per_minute: i64,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Call, Refusal>> {
        let mut tx = self.db.begin().await?;
        if tx.backend() == Backend::Postgres {
            // One placement at a time per organization: the limits below
            // are read and the call inserted under this lock.
            tx.execute(
                Sql::new("SELECT pg_advisory_xact_lock(19, $1::int)").arg(org.0 % (1 << 30)),
            )
            .await?;
        }
        let open: Vec<(DateTime<Utc>, i64)> = tx
            .fetch_all(
                Sql::new(
                    "SELECT created_at, max_duration_ms FROM calls WHERE organization_id = $1 \
                     AND status IN ('registered', 'ongoing')",
                )
                .arg(org),
            )
            .await?;
        let live = open
            .iter()
            .filter(|(at, max)| *at + chrono::Duration::milliseconds(*max) > now)
            .count() as i64;
        if live >= max_concurrent {
            return Ok(Err(Refusal::Concurrent(max_concurrent)));
        }
        let (recent,): (i64,) = tx
            .fetch_one(
                Sql::new(
                    "SELECT COUNT(*) FROM calls WHERE organization_id = $1 AND created_at > $2",
                )
                .arg(org)
                .arg(now - chrono::Duration::minutes(1)),
            )
            .await?;
        if recent >= per_minute {
            return Ok(Err(Refusal::Rate(per_minute)));
        }
        let mut q = Sql::new(
            "INSERT INTO calls (organization_id, lead_id, contact_id, scenario, placed_by, agent_id, \
             status, from_number, to_number, own_key, max_duration_ms, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'registered', $7, $8, $9, $10, $11, $11) RETURNING ",
        )
        .arg(org)
        .arg(new.lead_id)
        .arg(new.contact_id)
        .arg(new.scenario.as_str())
        .arg(new.placed_by)
        .arg(new.agent_id.clone())
        .arg(new.from_number.clone())
        .arg(new.to_number.clone())
        .arg(new.own_key)
        .arg(new.max_duration_ms)
        .arg(now);
        q.push(CALL_COLUMNS);
        let row: CallRow = tx.fetch_one(q).await?;
        audit::record(&mut tx, org, new.placed_by, Action::Create, "call", row.id).await?;
        tx.commit().await?;
        Ok(Ok(row.try_into()?))
    }

    /// Records Retell's id of a placed call.
    pub async fn set_retell_id(
        &self,
        org: OrgId,
        id: CallId,
        retell_call_id: &str,
    ) -> Result<Call> {
        let mut q = Sql::new(
            "UPDATE calls SET retell_call_id = $1, updated_at = $2 \
             WHERE organization_id = $3 AND id = $4 RETURNING ",
        )
        .arg(retell_call_id)
        .arg(Utc::now())
        .arg(org)
        .arg(id);
        q.push(CALL_COLUMNS);
        let row: Option<CallRow> = self.db.fetch_optional(q).await?;
        row.ok_or(Table::Calls.not_found())?.try_into()
    }

    /// Marks a call Retell refused as failed, with why.
    pub async fn fail(&self, org: OrgId, id: CallId, reason: &str) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "UPDATE calls SET status = 'error', disconnection_reason = $1, updated_at = $2 \
                     WHERE organization_id = $3 AND id = $4",
                )
                .arg(reason.chars().take(500).collect::<String>())
                .arg(Utc::now())
                .arg(org)
                .arg(id),
            )
            .await?;
        Ok(())
    }

    /// One call of the organization.
    pub async fn get(&self, org: OrgId, id: CallId) -> Result<Call> {
        let row: CallRow = Table::Calls.get(self.db, CALL_COLUMNS, org, id.0).await?;
        row.try_into()
    }

    /// A page of the organization's calls, newest first.
    pub async fn list(&self, org: OrgId, f: &CallFilter, page: Page) -> Result<Paged<Call>> {
        let mut q = Sql::new("SELECT ");
        q.push(CALL_COLUMNS)
            .push(" FROM calls WHERE organization_id = ")
            .bind(org);
        filter_eq(&mut q, "lead_id", f.lead_id.map(|v| v.0));
        filter_eq(&mut q, "contact_id", f.contact_id.map(|v| v.0));
        filter_eq(&mut q, "status", f.status.map(|s| s.as_str()));
        filter_eq(&mut q, "scenario", f.scenario.map(|s| s.as_str()));
        order_and_page(&mut q, "id", SortDir::Desc, page);
        let rows: Vec<CallRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(Call::try_from)
    }

    /// The call Retell knows as `retell_call_id`, whichever organization
    /// placed it: the webhook's tenant is the one that placed the call.
    /// Reads only (a webhook is verified before anything is written).
    pub async fn find_by_retell_id(&self, retell_call_id: &str) -> Result<Option<Call>> {
        let mut q = Sql::new("SELECT ");
        q.push(CALL_COLUMNS)
            .push(" FROM calls WHERE retell_call_id = ")
            .bind(retell_call_id);
        let row: Option<CallRow> = self.db.fetch_optional(q).await?;
        row.map(Call::try_from).transpose()
    }

    /// Applies `event` to the call once: `None` when this (call, event) was
    /// applied before. The receipt and the call's changes commit together;
    /// a receipt that owes effects counts their first run as begun, and may
    /// be claimed again from `retry_at` (when that run has not ended).
    pub async fn apply(
        &self,
        org: OrgId,
        id: CallId,
        event: &str,
        u: &CallUpdate,
        retry_at: DateTime<Utc>,
    ) -> Result<Option<Applied>> {
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let fresh = tx
            .execute(
                Sql::new(
                    "INSERT INTO call_webhook_receipts (call_id, event, received_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (call_id, event) DO NOTHING",
                )
                .arg(id)
                .arg(event)
                .arg(now),
            )
            .await?;
        if fresh == 0 {
            return Ok(None);
        }
        let row: CallRow = Table::Calls
            .get_for_update(&mut tx, CALL_COLUMNS, org, id.0)
            .await?;
        let claimed: (bool, bool) = tx
            .fetch_one(
                Sql::new("SELECT activity_claimed, completed FROM calls WHERE id = $1").arg(id),
            )
            .await?;
        let old: Call = row.try_into()?;
        let status = match u.status {
            Some(s) if s.rank() > old.status.rank() => s,
            _ => old.status,
        };
        let transcript = old.transcript.clone().or(u.transcript.clone());
        let has_analysis = old.analyzed_at.is_some() || u.custom_analysis.is_some();
        let log_activity = !claimed.0 && transcript.is_some();
        let complete = !claimed.1 && has_analysis;
        let mut q = Sql::new(
            "UPDATE calls SET status = $1, started_at = COALESCE(started_at, $2), \
             ended_at = COALESCE(ended_at, $3), duration_ms = COALESCE(duration_ms, $4), \
             transcript = COALESCE(transcript, $5), transcript_turns = COALESCE(transcript_turns, $6), \
             recording_url = COALESCE(recording_url, $7), \
             disconnection_reason = COALESCE(disconnection_reason, $8), \
             summary = COALESCE($9, summary), user_sentiment = COALESCE($10, user_sentiment), \
             call_successful = COALESCE($11, call_successful), \
             in_voicemail = COALESCE($12, in_voicemail), \
             custom_analysis = COALESCE($13, custom_analysis), \
             analyzed_at = COALESCE(analyzed_at, $14), \
             activity_claimed = $15, completed = $16, updated_at = $17 \
             WHERE organization_id = $18 AND id = $19 RETURNING ",
        )
        .arg(status.as_str())
        .arg(u.started_at)
        .arg(u.ended_at)
        .arg(u.duration_ms)
        .arg(u.transcript.clone())
        .arg(u.transcript_turns.clone())
        .arg(u.recording_url.clone())
        .arg(u.disconnection_reason.clone())
        .arg(u.summary.clone())
        .arg(u.user_sentiment.clone())
        .arg(u.call_successful)
        .arg(u.in_voicemail)
        .arg(u.custom_analysis.clone())
        .arg(u.custom_analysis.as_ref().map(|_| now))
        .arg(claimed.0 || log_activity)
        .arg(claimed.1 || complete)
        .arg(now)
        .arg(org)
        .arg(id);
        q.push(CALL_COLUMNS);
        let row: CallRow = tx.fetch_one(q).await?;
        let owes = log_activity || complete;
        tx.execute(
            Sql::new(
                "UPDATE call_webhook_receipts SET owes_activity = $1, owes_completion = $2, \
                 attempts = $3, next_attempt_at = $4, processed_at = $5 \
                 WHERE call_id = $6 AND event = $7",
            )
            .arg(log_activity)
            .arg(complete)
            .arg(i64::from(owes))
            .arg(owes.then_some(retry_at))
            .arg((!owes).then_some(now))
            .arg(id)
            .arg(event),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Applied {
            call: row.try_into()?,
            status_changed: status != old.status,
            owed: owes.then(|| Receipt {
                organization_id: org,
                call_id: id,
                event: event.to_string(),
                attempts: 1,
                owes_activity: log_activity,
                owes_completion: complete,
                received_at: now,
            }),
        }))
    }

    // ---- the effects a receipt owes ----

    /// Receipts of every organization still owing effects, whose next run
    /// is due at `now` and that have had fewer than `max_attempts`, the
    /// longest due first, at most `limit`.
    pub async fn due_receipts(
        &self,
        now: DateTime<Utc>,
        max_attempts: i64,
        limit: usize,
    ) -> Result<Vec<Receipt>> {
        let rows: Vec<ReceiptRow> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT c.organization_id, r.call_id, r.event, r.attempts, r.owes_activity, \
                     r.owes_completion, r.received_at FROM call_webhook_receipts r \
                     JOIN calls c ON c.id = r.call_id \
                     WHERE r.processed_at IS NULL AND r.next_attempt_at <= $1 AND r.attempts < $2 \
                     ORDER BY r.next_attempt_at, r.call_id, r.event LIMIT $3",
                )
                .arg(now)
                .arg(max_attempts)
                .arg(limit as i64),
            )
            .await?;
        Ok(rows.into_iter().map(Receipt::from).collect())
    }

    /// Claims the next run of a due receipt's effects (`r` as read by
    /// [`Voice::due_receipts`]): `false` when another worker claimed it or
    /// it was processed since. The claim counts the attempt and sets when
    /// the receipt may be claimed again should this run not end.
    pub async fn claim_receipt(&self, r: &Receipt, retry_at: DateTime<Utc>) -> Result<bool> {
        let n = self
            .db
            .execute(
                Sql::new(
                    "UPDATE call_webhook_receipts SET attempts = attempts + 1, next_attempt_at = $1 \
                     WHERE call_id = $2 AND event = $3 AND attempts = $4 AND processed_at IS NULL",
                )
                .arg(retry_at)
                .arg(r.call_id)
                .arg(r.event.as_str())
                .arg(r.attempts),
            )
            .await?;
        Ok(n == 1)
    }

    /// Marks a receipt's effects all run: `false` when it was marked before
    /// (by another worker), so what follows the last effect (its event)
    /// happens once.
    pub async fn receipt_processed(&self, call: CallId, event: &str) -> Result<bool> {
        let n = self
            .db
            .execute(
                Sql::new(
                    "UPDATE call_webhook_receipts SET processed_at = $1, last_error = NULL \
                     WHERE call_id = $2 AND event = $3 AND processed_at IS NULL",
                )
                .arg(Utc::now())
                .arg(call)
                .arg(event),
            )
            .await?;
        Ok(n == 1)
    }

    /// Records why a run of a receipt's effects failed (it stays owed).
    pub async fn receipt_failed(&self, call: CallId, event: &str, error: &str) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "UPDATE call_webhook_receipts SET last_error = $1 \
                     WHERE call_id = $2 AND event = $3",
                )
                .arg(error.chars().take(500).collect::<String>())
                .arg(call)
                .arg(event),
            )
            .await?;
        Ok(())
    }

    /// Records the call's transcript activity and links the call to it, in
    /// one transaction: `None` when the call has one already (an earlier
    /// run logged it), so it is logged once. A user who no longer exists
    /// is left out of the activity.
    pub async fn log_activity(
        &self,
        org: OrgId,
        id: CallId,
        new: &NewActivity,
    ) -> Result<Option<Activity>> {
        let mut tx = self.db.begin().await?;
        let (logged,): (Option<i64>,) = Table::Calls
            .get_for_update(&mut tx, "activity_id", org, id.0)
            .await?;
        if logged.is_some() {
            return Ok(None);
        }
        if let Some(user) = new.user_id
            && Table::Users
                .check_ref(&mut tx, org, Some(user.0), "user_id")
                .await
                .is_err()
        {
            let new = NewActivity {
                user_id: None,
                ..new.clone()
            };
            return self.link_activity(tx, org, id, &new).await.map(Some);
        }
        self.link_activity(tx, org, id, new).await.map(Some)
    }

    async fn link_activity(
        &self,
        mut tx: crate::db::Tx,
        org: OrgId,
        id: CallId,
        new: &NewActivity,
    ) -> Result<Activity> {
        let activity = crate::activities::create_in(&mut tx, org, None, new).await?;
        tx.execute(
            Sql::new("UPDATE calls SET activity_id = $1 WHERE organization_id = $2 AND id = $3")
                .arg(activity.id)
                .arg(org)
                .arg(id),
        )
        .await?;
        tx.commit().await?;
        Ok(activity)
    }

    /// Fills the lead with what `patch_of` makes of it as it stands (read
    /// and locked here), as the system (audited, no user), once for the
    /// receipt of (`call`, `event`): the receipt's `lead_filled` commits
    /// with the lead's change, so a retry of its effects never fills the
    /// lead again. The lead before and after when it changed now; `None`
    /// when it was filled before, is gone, or `patch_of` changes nothing.
    pub async fn fill_lead(
        &self,
        org: OrgId,
        call: CallId,
        event: &str,
        lead: LeadId,
        patch_of: impl FnOnce(&Lead) -> LeadPatch,
    ) -> Result<Option<(Lead, Lead)>> {
        let mut tx = self.db.begin().await?;
        let first = tx
            .execute(
                Sql::new(
                    "UPDATE call_webhook_receipts SET lead_filled = TRUE \
                     WHERE call_id = $1 AND event = $2 AND NOT lead_filled",
                )
                .arg(call)
                .arg(event),
            )
            .await?;
        if first == 0 {
            return Ok(None);
        }
        let old = match crate::leads::get_for_update(&mut tx, org, lead).await {
            Ok(l) => l,
            Err(StoreError::NotFound { .. }) => {
                tx.commit().await?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let patch = patch_of(&old);
        if patch == LeadPatch::default() {
            tx.commit().await?;
            return Ok(None);
        }
        let new = crate::leads::update_in(&mut tx, org, None, &old, &patch).await?;
        tx.commit().await?;
        Ok(Some((old, new)))
    }

    /// Calls of every organization still `registered` or `ongoing` past
    /// their maximum duration and `grace` (their end was never heard of),
    /// oldest first, at most `limit`.
    pub async fn overdue(
        &self,
        now: DateTime<Utc>,
        grace: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<Call>> {
        let mut q = Sql::new("SELECT ");
        q.push(CALL_COLUMNS).push(
            " FROM calls WHERE status IN ('registered', 'ongoing') \
             AND retell_call_id IS NOT NULL AND created_at < ",
        );
        q.bind(now - grace).push(" ORDER BY created_at, id");
        let rows: Vec<CallRow> = self.db.fetch_all(q).await?;
        let mut out = Vec::new();
        for r in rows {
            let c = Call::try_from(r)?;
            if c.created_at + chrono::Duration::milliseconds(c.max_duration_ms) + grace < now {
                out.push(c);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// A bulk-calling batch and its progress.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct CallBatch {
    /// Id.
    pub id: i64,
    /// Owning organization.
    pub organization_id: i64,
    /// The scenario every call uses.
    pub scenario: String,
    /// `running` or `completed`.
    pub status: String,
    /// Who started it (the calls are placed as this user).
    pub created_by: i64,
    /// Leads in the batch.
    pub total: i64,
    /// Still to call (held by calling hours or the limits), or being dialled.
    pub pending: i64,
    /// Calls placed.
    pub placed: i64,
    /// Refused for good by a guardrail (no phone, do not call, ...).
    pub skipped: i64,
    /// Refused by Retell.
    pub failed: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When the last item was settled.
    pub finished_at: Option<DateTime<Utc>>,
    /// The segment it was started from (none: chosen leads).
    pub segment_id: Option<i64>,
    /// That segment's name when the batch started.
    pub segment_name: Option<String>,
}

/// A lead of a batch and what became of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct BatchItem {
    pub lead_id: i64,
    /// Its title; none once the lead is deleted.
    pub lead_title: Option<String>,
    /// `pending`, `calling` (being dialled), `placed`, `skipped` or `failed`.
    pub status: String,
    /// Why it was skipped or failed, or how a stopped worker's item was
    /// settled.
    pub reason: Option<String>,
    /// The call placed.
    pub call_id: Option<i64>,
    /// That call's status now.
    pub call_status: Option<String>,
}

const BATCH_SELECT: &str = "SELECT b.id, b.organization_id, b.scenario, b.status, b.created_by, \
     COUNT(i.lead_id) AS total, \
     COALESCE(SUM(CASE WHEN i.status IN ('pending', 'calling') THEN 1 ELSE 0 END), 0) AS pending, \
     COALESCE(SUM(CASE WHEN i.status = 'placed' THEN 1 ELSE 0 END), 0) AS placed, \
     COALESCE(SUM(CASE WHEN i.status = 'skipped' THEN 1 ELSE 0 END), 0) AS skipped, \
     COALESCE(SUM(CASE WHEN i.status = 'failed' THEN 1 ELSE 0 END), 0) AS failed, \
     b.created_at, b.finished_at, b.segment_id, b.segment_name \
     FROM call_batches b LEFT JOIN call_batch_items i ON i.batch_id = b.id ";
const BATCH_GROUP: &str = " GROUP BY b.id, b.organization_id, b.scenario, b.status, b.created_by, \
     b.created_at, b.finished_at, b.segment_id, b.segment_name";

/// `ORDER BY order` and the page, one row over to say whether more follow
/// (the shared `order_and_page` breaks ties by a bare `id`, which a join
/// of several tables with one makes ambiguous).
fn push_page(q: &mut Sql, order: &str, page: Page) {
    q.push(" ORDER BY ")
        .push(order)
        .push(" LIMIT ")
        .bind(page.limit as i64 + 1)
        .push(" OFFSET ")
        .bind(page.offset as i64);
}

/// How an item of a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Called.
    Placed(CallId),
    /// A refusal time does not lift.
    Skipped,
    /// Retell refused.
    Failed,
}

impl Voice<'_> {
    /// Starts a batch calling `leads` (those of the organization; others
    /// are left out) with `scenario`, from `segment` (its id and name) when
    /// they are a segment's; `None`, and nothing stored, when none of them
    /// is the organization's.
    pub async fn create_batch(
        &self,
        org: OrgId,
        actor: UserId,
        scenario: Scenario,
        leads: &[LeadId],
        segment: Option<(SegmentId, &str)>,
    ) -> Result<Option<CallBatch>> {
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) = tx
            .fetch_one(
                Sql::new(
                    "INSERT INTO call_batches (organization_id, scenario, status, created_by, \
                     created_at, segment_id, segment_name) \
                     VALUES ($1, $2, 'running', $3, $4, $5, $6) RETURNING id",
                )
                .arg(org)
                .arg(scenario.as_str())
                .arg(actor)
                .arg(Utc::now())
                .arg(segment.map(|(id, _)| id))
                .arg(segment.map(|(_, name)| name.to_string())),
            )
            .await?;
        if leads.is_empty() {
            return Ok(None);
        }
        let mut q = Sql::new("INSERT INTO call_batch_items (batch_id, lead_id, status) SELECT ");
        q.bind(id)
            .push(", id, 'pending' FROM leads WHERE organization_id = ")
            .bind(org);
        push_in(&mut q, "id", leads);
        if tx.execute(q).await? == 0 {
            // Dropped: the batch row goes with it.
            return Ok(None);
        }
        audit::record(&mut tx, org, Some(actor), Action::Create, "call_batch", id).await?;
        tx.commit().await?;
        self.batch(org, id).await.map(Some)
    }

    /// The open leads (new, contacted or qualified) of the contacts in
    /// segment `segment` of the organization, at most `limit` of them in id
    /// order, and whether there are more.
    pub async fn open_leads_of_segment(
        &self,
        org: OrgId,
        segment: SegmentId,
        limit: usize,
    ) -> Result<(Vec<LeadId>, bool)> {
        let mut q = Sql::new("SELECT id FROM leads WHERE organization_id = ");
        q.bind(org)
            .push(" AND status IN ('new', 'contacted', 'qualified')");
        crate::segments::push_member_of(&mut q, org, segment, "contact_id");
        q.push(" ORDER BY id LIMIT ").bind(limit as i64 + 1);
        let rows: Vec<(i64,)> = self.db.fetch_all(q).await?;
        let more = rows.len() > limit;
        Ok((
            rows.into_iter().take(limit).map(|(l,)| LeadId(l)).collect(),
            more,
        ))
    }

    /// A batch of the organization with its counts.
    pub async fn batch(&self, org: OrgId, id: i64) -> Result<CallBatch> {
        let mut q = Sql::new(BATCH_SELECT);
        q.push("WHERE b.organization_id = ")
            .bind(org)
            .push(" AND b.id = ")
            .bind(id)
            .push(BATCH_GROUP);
        let found: Option<CallBatch> = self.db.fetch_optional(q).await?;
        found.ok_or(StoreError::NotFound {
            entity: "call_batch",
        })
    }

    /// A page of the organization's batches with their counts, newest
    /// first.
    pub async fn batches(&self, org: OrgId, page: Page) -> Result<Paged<CallBatch>> {
        let mut q = Sql::new(BATCH_SELECT);
        q.push("WHERE b.organization_id = ")
            .bind(org)
            .push(BATCH_GROUP);
        push_page(&mut q, "b.id DESC", page);
        let rows: Vec<CallBatch> = self.db.fetch_all(q).await?;
        Ok(Paged::from_overfetch(rows, page))
    }

    /// A page of the leads of the organization's batch `id` (404 for
    /// another organization's) in lead id order, each with what became of
    /// it and the title of its lead.
    pub async fn batch_items(&self, org: OrgId, id: i64, page: Page) -> Result<Paged<BatchItem>> {
        let found: Option<(i64,)> = self
            .db
            .fetch_optional(
                Sql::new("SELECT id FROM call_batches WHERE organization_id = $1 AND id = $2")
                    .arg(org)
                    .arg(id),
            )
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound {
                entity: "call_batch",
            });
        }
        let mut q = Sql::new(
            "SELECT i.lead_id, l.title AS lead_title, i.status, i.reason, i.call_id, \
             c.status AS call_status FROM call_batch_items i \
             LEFT JOIN leads l ON l.organization_id = ",
        );
        q.bind(org)
            .push(" AND l.id = i.lead_id LEFT JOIN calls c ON c.organization_id = ")
            .bind(org)
            .push(" AND c.id = i.call_id WHERE i.batch_id = ")
            .bind(id);
        push_page(&mut q, "i.lead_id", page);
        let rows: Vec<BatchItem> = self.db.fetch_all(q).await?;
        Ok(Paged::from_overfetch(rows, page))
    }

    /// The running batches of every organization, oldest first.
    pub async fn running_batches(&self) -> Result<Vec<CallBatch>> {
        let mut q = Sql::new(BATCH_SELECT);
        q.push("WHERE b.status = 'running'")
            .push(BATCH_GROUP)
            .push(" ORDER BY b.id");
        Ok(self.db.fetch_all(q).await?)
    }

    /// The leads of a batch still to call, in id order.
    pub async fn pending_items(&self, batch: i64) -> Result<Vec<LeadId>> {
        let rows: Vec<(i64,)> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT lead_id FROM call_batch_items WHERE batch_id = $1 \
                     AND status = 'pending' ORDER BY lead_id",
                )
                .arg(batch),
            )
            .await?;
        Ok(rows.into_iter().map(|(l,)| LeadId(l)).collect())
    }

    /// Claims a pending item for dialling at `now`: `false` when another
    /// worker has it (or it is settled).
    pub async fn claim_item(&self, batch: i64, lead: LeadId, now: DateTime<Utc>) -> Result<bool> {
        self.move_item(batch, lead, "pending", "calling", Some(now))
            .await
    }

    /// Gives a claimed item back (a guardrail that time lifts held it).
    pub async fn release_item(&self, batch: i64, lead: LeadId) -> Result<()> {
        self.move_item(batch, lead, "calling", "pending", None)
            .await
            .map(drop)
    }

    async fn move_item(
        &self,
        batch: i64,
        lead: LeadId,
        from: &str,
        to: &str,
        claimed_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let n = self
            .db
            .execute(
                Sql::new(
                    "UPDATE call_batch_items SET status = $1, claimed_at = $2 WHERE batch_id = $3 \
                     AND lead_id = $4 AND status = $5",
                )
                .arg(to)
                .arg(claimed_at)
                .arg(batch)
                .arg(lead)
                .arg(from),
            )
            .await?;
        Ok(n == 1)
    }

    /// The items of `batch` claimed before `before` and still `calling`:
    /// their worker stopped between the claim and the record of what
    /// happened. Each with the first call stored for its lead since the
    /// claim (the worker got that far: the lead must not be dialled again),
    /// or `None` (it did not).
    pub async fn stale_items(
        &self,
        batch: i64,
        before: DateTime<Utc>,
    ) -> Result<Vec<(LeadId, Option<CallId>)>> {
        let rows: Vec<(i64, Option<i64>)> = self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT i.lead_id, (SELECT MIN(c.id) FROM calls c \
                       WHERE c.organization_id = b.organization_id AND c.lead_id = i.lead_id \
                       AND c.created_at >= COALESCE(i.claimed_at, b.created_at)) \
                     FROM call_batch_items i JOIN call_batches b ON b.id = i.batch_id \
                     WHERE i.batch_id = $1 AND i.status = 'calling' \
                     AND (i.claimed_at IS NULL OR i.claimed_at < $2) ORDER BY i.lead_id",
                )
                .arg(batch)
                .arg(before),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(l, c)| (LeadId(l), c.map(CallId)))
            .collect())
    }

    /// Settles an item.
    pub async fn settle_item(
        &self,
        batch: i64,
        lead: LeadId,
        outcome: ItemOutcome,
        reason: Option<&str>,
    ) -> Result<()> {
        let (status, call) = match outcome {
            ItemOutcome::Placed(c) => ("placed", Some(c.0)),
            ItemOutcome::Skipped => ("skipped", None),
            ItemOutcome::Failed => ("failed", None),
        };
        self.db
            .execute(
                Sql::new(
                    "UPDATE call_batch_items SET status = $1, reason = $2, call_id = $3 \
                     WHERE batch_id = $4 AND lead_id = $5",
                )
                .arg(status)
                .arg(reason.map(|r| r.chars().take(300).collect::<String>()))
                .arg(call)
                .arg(batch)
                .arg(lead),
            )
            .await?;
        Ok(())
    }

    /// Marks a batch with nothing pending completed.
    pub async fn finish_batch(&self, batch: i64) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "UPDATE call_batches SET status = 'completed', finished_at = $1 WHERE id = $2 \
                     AND NOT EXISTS (SELECT 1 FROM call_batch_items WHERE batch_id = $2 \
                     AND status IN ('pending', 'calling'))",
                )
                .arg(Utc::now())
                .arg(batch),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_columns_name_every_row_field_once() {
        let cols: Vec<&str> = CALL_COLUMNS.split(',').map(str::trim).collect();
        let mut unique = cols.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), cols.len());
        assert_eq!(cols.len(), 29);
    }
}

//! The CRM's records, the inputs that create them (`New*`) and the partial
//! updates that change them (`*Patch`).
//!
//! Inputs hold already-parsed values ([`Email`], [`Cents`], the vocabularies);
//! `validate()` adds the checks a type cannot express (text lengths, required
//! fields). A patch field is `None` when absent; a nullable field is
//! `Some(None)` when the client sends `null` to clear it.
//!
//! The patches are declared with one macro (`declare_patch!` in the crate's
//! private `patch` module): it generates each patch struct with its serde
//! attributes, the field-by-field copy onto the record and, where the record
//! mirrors its input, `as_new`. Each `apply` adds only its record's checks.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::patch::{Patch, declare_patch};
pub use crate::patch::{double_option, non_null};
use crate::{
    ActivityType, BoundedDate, BoundedTime, Cents, ContactId, DealId, DealStage, DealStatus,
    DomainError, Email, ForecastAlgorithm, ForecastMetric, ForecastModelId, LeadId, LeadSource,
    LeadStatus, OrgId, Role, UserId, values::non_negative,
};

/// Longest name-like text (names, titles, companies).
pub const MAX_NAME: usize = 200;
/// Longest free text (descriptions, bodies, transcripts).
pub const MAX_TEXT: usize = 100_000;

fn check_len(v: &Option<String>, field: &'static str, max: usize) -> Result<(), DomainError> {
    match v {
        Some(s) if s.chars().count() > max => Err(DomainError::TooLong { field, max }),
        _ => Ok(()),
    }
}

fn check_required(v: &str, field: &'static str, max: usize) -> Result<(), DomainError> {
    if v.trim().is_empty() {
        Err(DomainError::Empty { field })
    } else if v.chars().count() > max {
        Err(DomainError::TooLong { field, max })
    } else {
        Ok(())
    }
}

fn check_non_negative(v: Option<i64>, field: &'static str) -> Result<(), DomainError> {
    v.map(|v| non_negative(v, field)).transpose().map(|_| ())
}

/// A tenant: every other record belongs to exactly one organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A person who logs in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// The organization the user belongs to.
    pub organization_id: OrgId,
    /// Login, unique across all organizations.
    pub email: Email,
    /// Display name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Input for a new user (the password hash is passed beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    /// Login.
    pub email: Email,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

impl NewUser {
    /// Checks the text fields.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_required(&self.name, "name", MAX_NAME)
    }
}

/// A person at a customer or prospect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// First (or only) name.
    pub first_name: String,
    /// Family name.
    pub last_name: Option<String>,
    /// E-mail, unique within the organization.
    pub email: Option<Email>,
    /// Phone number as given.
    pub phone: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Job title, e.g. "VP of Sales".
    pub job_title: Option<String>,
    /// Industry, e.g. "technology".
    pub industry: Option<String>,
    /// Company size in employees.
    pub company_size: Option<i64>,
    /// The user who owns the relationship.
    pub owner_id: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Input for a new contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewContact {
    /// First (or only) name; required.
    pub first_name: String,
    /// Family name.
    pub last_name: Option<String>,
    /// E-mail.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Employees.
    pub company_size: Option<i64>,
    /// Owner.
    pub owner_id: Option<UserId>,
}

impl NewContact {
    /// Checks required fields, lengths and ranges.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_required(&self.first_name, "first_name", MAX_NAME)?;
        check_len(&self.last_name, "last_name", MAX_NAME)?;
        check_len(&self.phone, "phone", 50)?;
        check_len(&self.company, "company", MAX_NAME)?;
        check_len(&self.job_title, "job_title", MAX_NAME)?;
        check_len(&self.industry, "industry", 100)?;
        check_non_negative(self.company_size, "company_size")
    }
}

declare_patch! {
    /// A partial update of a contact.
    pub struct ContactPatch for Contact {
        /// New first name.
        first_name: non_null String,
        /// New family name, or `null` to clear.
        last_name: nullable String,
        /// New e-mail, or `null`.
        email: nullable Email,
        /// New phone, or `null`.
        phone: nullable String,
        /// New company, or `null`.
        company: nullable String,
        /// New job title, or `null`.
        job_title: nullable String,
        /// New industry, or `null`.
        industry: nullable String,
        /// New size, or `null`.
        company_size: nullable i64,
        /// New owner, or `null`.
        owner_id: nullable UserId,
    }
    /// The input that would create this contact as it is now.
    fn as_new -> NewContact;
}

impl Contact {
    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn apply(&mut self, p: &ContactPatch) -> Result<(), DomainError> {
        p.apply_to(self, |_, next| {
            next.as_new().validate()?;
            next.first_name = next.first_name.trim().to_string();
            Ok(())
        })
    }
}

/// A sales opportunity being qualified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Id.
    pub id: LeadId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// The person behind the lead.
    pub contact_id: Option<ContactId>,
    /// The user working the lead.
    pub owner_id: Option<UserId>,
    /// Short title.
    pub title: String,
    /// What the prospect said they need.
    pub description: Option<String>,
    /// Qualification status.
    pub status: LeadStatus,
    /// How the lead reached us.
    pub source: LeadSource,
    /// Stated budget in cents.
    pub budget_cents: Option<Cents>,
    /// When the prospect expects to decide.
    pub expected_decision: Option<NaiveDate>,
    /// Latest score, 0–100.
    pub score: Option<f64>,
    /// The factor breakdown behind the score.
    pub score_factors: Option<serde_json::Value>,
    /// Share of the score backed by real data, 0–1.
    pub score_confidence: Option<f64>,
    /// Hot / Warm / Lukewarm / Cold.
    pub score_category: Option<String>,
    /// When the score was computed.
    pub score_updated_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of the lead's own fields.
    pub updated_at: DateTime<Utc>,
}

/// Input for a new lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLead {
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Title; required.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Status.
    pub status: LeadStatus,
    /// Source.
    pub source: LeadSource,
    /// Budget.
    pub budget_cents: Option<Cents>,
    /// Expected decision date.
    pub expected_decision: Option<BoundedDate>,
}

impl NewLead {
    /// Checks required fields and lengths.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_required(&self.title, "title", MAX_NAME)?;
        check_len(&self.description, "description", MAX_TEXT)
    }
}

declare_patch! {
    /// A partial update of a lead.
    pub struct LeadPatch for Lead {
        /// Contact, or `null`.
        contact_id: nullable ContactId,
        /// Owner, or `null`.
        owner_id: nullable UserId,
        /// Title.
        title: non_null String,
        /// Description, or `null`.
        description: nullable String,
        /// Status.
        status: non_null LeadStatus,
        /// Source.
        source: non_null LeadSource,
        /// Budget, or `null`.
        budget_cents: nullable Cents,
        /// Expected decision, or `null`.
        expected_decision: nullable BoundedDate,
    }
}

impl Lead {
    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn apply(&mut self, p: &LeadPatch) -> Result<(), DomainError> {
        // `NewLead::validate`'s checks, on the record: a lead has no `as_new`,
        // since a decision date stored before the date range existed has no
        // `BoundedDate` (and is kept as it is when other fields change).
        p.apply_to(self, |_, next| {
            check_required(&next.title, "title", MAX_NAME)?;
            check_len(&next.description, "description", MAX_TEXT)?;
            next.title = next.title.trim().to_string();
            Ok(())
        })
    }
}

/// An opportunity in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    /// Id.
    pub id: DealId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// The lead it came from.
    pub lead_id: Option<LeadId>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Title.
    pub title: String,
    /// Value in cents.
    pub value_cents: Cents,
    /// Pipeline stage.
    pub stage: DealStage,
    /// Open, won or lost; follows the stage.
    pub status: DealStatus,
    /// Expected close date.
    pub expected_close: Option<NaiveDate>,
    /// When the deal was won or lost.
    pub closed_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Input for a new deal. The status follows from the stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDeal {
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// Lead.
    pub lead_id: Option<LeadId>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Title; required.
    pub title: String,
    /// Value.
    pub value_cents: Cents,
    /// Stage.
    pub stage: DealStage,
    /// Expected close date.
    pub expected_close: Option<BoundedDate>,
    /// Close time for a deal created closed; defaults to now.
    pub closed_at: Option<BoundedTime>,
}

impl NewDeal {
    /// Checks required fields, and that only closed deals carry a close time.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_required(&self.title, "title", MAX_NAME)?;
        if self.closed_at.is_some() && self.stage.status() == DealStatus::Open {
            return Err(DomainError::Inconsistent {
                field: "closed_at",
                message: "only a won or lost deal has a close time".into(),
            });
        }
        Ok(())
    }

    /// The close time the deal gets: the given one for a closed deal, `now`
    /// when none was given, none for an open deal.
    pub fn effective_closed_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.stage.status() {
            DealStatus::Open => None,
            _ => Some(self.closed_at.map_or(now, BoundedTime::get)),
        }
    }
}

declare_patch! {
    /// A partial update of a deal.
    pub struct DealPatch for Deal {
        /// Contact, or `null`.
        contact_id: nullable ContactId,
        /// Lead, or `null`.
        lead_id: nullable LeadId,
        /// Owner, or `null`.
        owner_id: nullable UserId,
        /// Title.
        title: non_null String,
        /// Value.
        value_cents: non_null Cents,
        /// Stage (the status follows).
        stage: non_null DealStage,
        /// Expected close, or `null`.
        expected_close: nullable BoundedDate,
        /// Close time of a closed deal.
        closed_at: non_null BoundedTime => by_hand,
    }
}

impl Deal {
    /// Applies a patch at time `now` and validates the result; on error `self`
    /// is unchanged. Closing a deal stamps `closed_at` (the given time, or
    /// `now`); reopening clears it.
    pub fn apply(&mut self, p: &DealPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        // The status and the close time are not copied from the patch: they
        // follow the new stage and depend on the status before the patch, so
        // they are worked out here (`closed_at` is declared `by_hand`).
        // `NewDeal::validate` does not fit either: a deal has no `NewDeal`
        // mirror, and its close-time check is the `Open if ..` arm below.
        let closed_at = p.closed_at.map(BoundedTime::get);
        p.apply_to(self, |old, next| {
            check_required(&next.title, "title", MAX_NAME)?;
            let status = next.stage.status();
            next.closed_at = match status {
                DealStatus::Open if p.closed_at.is_some() => {
                    return Err(DomainError::Inconsistent {
                        field: "closed_at",
                        message: "only a won or lost deal has a close time".into(),
                    });
                }
                DealStatus::Open => None,
                _ if status != old.status => Some(closed_at.unwrap_or(now)),
                _ => closed_at.or(old.closed_at).or(Some(now)),
            };
            next.title = next.title.trim().to_string();
            next.status = status;
            Ok(())
        })
    }
}

/// One interaction with a contact or lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Id.
    pub id: crate::ActivityId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: ActivityType,
    /// Lead.
    pub lead_id: Option<LeadId>,
    /// Deal.
    pub deal_id: Option<DealId>,
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// The user who recorded it.
    pub user_id: Option<UserId>,
    /// Subject line.
    pub subject: Option<String>,
    /// Body: the note, e-mail text or call transcript.
    pub body: Option<String>,
    /// Duration in seconds (calls, meetings, time on site).
    pub duration_seconds: Option<i64>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// Input for a new activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewActivity {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: ActivityType,
    /// Lead.
    pub lead_id: Option<LeadId>,
    /// Deal.
    pub deal_id: Option<DealId>,
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// Recording user.
    pub user_id: Option<UserId>,
    /// Subject.
    pub subject: Option<String>,
    /// Body.
    pub body: Option<String>,
    /// Duration in seconds.
    pub duration_seconds: Option<i64>,
    /// When it happened (defaults to now).
    pub occurred_at: Option<BoundedTime>,
}

impl NewActivity {
    /// Checks lengths, the duration, and that the activity is about something.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_len(&self.subject, "subject", MAX_NAME)?;
        check_len(&self.body, "body", MAX_TEXT)?;
        check_non_negative(self.duration_seconds, "duration_seconds")?;
        if self.lead_id.is_none() && self.deal_id.is_none() && self.contact_id.is_none() {
            return Err(DomainError::Inconsistent {
                field: "lead_id",
                message: "an activity needs a lead_id, deal_id or contact_id".into(),
            });
        }
        Ok(())
    }
}

declare_patch! {
    /// A partial update of an activity.
    pub struct ActivityPatch for Activity {
        /// Subject, or `null`.
        subject: nullable String,
        /// Body, or `null`.
        body: nullable String,
        /// Duration, or `null`.
        duration_seconds: nullable i64,
        /// When it happened.
        occurred_at: non_null BoundedTime,
    }
}

impl Activity {
    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn apply(&mut self, p: &ActivityPatch) -> Result<(), DomainError> {
        // Not `NewActivity::validate`: what the activity is about (lead, deal,
        // contact) cannot be patched, so only the patchable fields are checked.
        p.apply_to(self, |_, next| {
            check_len(&next.subject, "subject", MAX_NAME)?;
            check_len(&next.body, "body", MAX_TEXT)?;
            check_non_negative(next.duration_seconds, "duration_seconds")
        })
    }
}

/// A configured forecast: what to forecast, how far, with which algorithm.
/// The forecast cycle fits every active one and records how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastingModel {
    /// Id.
    pub id: ForecastModelId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// Display name.
    pub name: String,
    /// The series forecast.
    pub metric: ForecastMetric,
    /// `ensemble` or one model.
    pub algorithm: ForecastAlgorithm,
    /// Months ahead, 1–[`MAX_FORECAST_MONTHS`].
    pub horizon_months: i64,
    /// Whether the forecast cycle fits it.
    pub active: bool,
    /// Last successful fit.
    pub last_trained: Option<DateTime<Utc>>,
    /// When the cycle last tried it.
    pub last_run_at: Option<DateTime<Utc>>,
    /// How that run ended: `stored`, `insufficient_history` or `failed`.
    pub last_status: Option<String>,
    /// Why it failed or produced nothing.
    pub last_error: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of its configuration.
    pub updated_at: DateTime<Utc>,
}

/// Longest forecast horizon, in months.
pub const MAX_FORECAST_MONTHS: i64 = 60;

fn check_horizon(v: i64) -> Result<(), DomainError> {
    if (1..=MAX_FORECAST_MONTHS).contains(&v) {
        Ok(())
    } else {
        Err(DomainError::OutOfRange {
            field: "horizon_months",
            min: 1.0,
            max: MAX_FORECAST_MONTHS as f64,
        })
    }
}

/// Input for a new forecasting model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewForecastingModel {
    /// Display name; defaults to one made of the metric, horizon and algorithm.
    pub name: Option<String>,
    /// The series.
    pub metric: ForecastMetric,
    /// The algorithm.
    pub algorithm: ForecastAlgorithm,
    /// Months ahead.
    pub horizon_months: i64,
    /// Whether the cycle fits it.
    pub active: bool,
}

impl NewForecastingModel {
    /// The model every organization starts with (registered or seeded), so
    /// the forecast cycle has something to fit and accuracy builds up from
    /// the first month: monthly revenue, the ensemble, 12 months ahead.
    pub fn starter() -> NewForecastingModel {
        NewForecastingModel {
            name: Some("Monthly revenue".into()),
            metric: ForecastMetric::Revenue,
            algorithm: ForecastAlgorithm::Ensemble,
            horizon_months: 12,
            active: true,
        }
    }

    /// Checks the name and the horizon.
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(n) = &self.name {
            check_required(n, "name", MAX_NAME)?;
        }
        check_horizon(self.horizon_months)
    }

    /// The name it gets: the given one, trimmed, or a descriptive default.
    pub fn effective_name(&self) -> String {
        match &self.name {
            Some(n) => n.trim().to_string(),
            None => format!(
                "{} for {} months ({})",
                self.metric, self.horizon_months, self.algorithm
            ),
        }
    }
}

declare_patch! {
    /// A partial update of a forecasting model. Unlike the other patches, `null`
    /// on any of its fields is taken for "absent" (the field is kept).
    pub struct ForecastingModelPatch for ForecastingModel {
        /// Name.
        name: null_as_absent String,
        /// Series.
        metric: null_as_absent ForecastMetric,
        /// Algorithm.
        algorithm: null_as_absent ForecastAlgorithm,
        /// Months ahead.
        horizon_months: null_as_absent i64,
        /// Whether the cycle fits it.
        active: null_as_absent bool,
    }
}

impl ForecastingModel {
    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn apply(&mut self, p: &ForecastingModelPatch) -> Result<(), DomainError> {
        p.apply_to(self, |_, next| {
            check_required(&next.name, "name", MAX_NAME)?;
            check_horizon(next.horizon_months)?;
            next.name = next.name.trim().to_string();
            Ok(())
        })
    }
}

/// One stored forecast period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastResult {
    /// Id.
    pub id: crate::ForecastResultId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// The model that produced it.
    pub model_id: ForecastModelId,
    /// Month forecast, `YYYY-MM`.
    pub period: String,
    /// Point forecast.
    pub value: f64,
    /// Lower interval bound.
    pub lower: f64,
    /// Upper interval bound.
    pub upper: f64,
    /// When it was produced.
    pub generated_at: DateTime<Utc>,
}

/// One write, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id.
    pub id: crate::AuditId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// The acting user, if any (jobs and imports may have none).
    pub user_id: Option<UserId>,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// Table name, e.g. `lead`.
    pub entity: String,
    /// Id of the changed row.
    pub entity_id: i64,
    /// When.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(stage: DealStage) -> Deal {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Deal {
            id: DealId(1),
            organization_id: OrgId(1),
            contact_id: None,
            lead_id: None,
            owner_id: None,
            title: "Renewal".into(),
            value_cents: Cents::new(100).unwrap(),
            stage,
            status: stage.status(),
            expected_close: None,
            closed_at: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn closing_a_deal_stamps_and_reopening_clears() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut d = deal(DealStage::Proposal);
        d.apply(
            &DealPatch {
                stage: Some(DealStage::ClosedWon),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert_eq!((d.status, d.closed_at), (DealStatus::Won, Some(now)));
        d.apply(
            &DealPatch {
                stage: Some(DealStage::Negotiation),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert_eq!((d.status, d.closed_at), (DealStatus::Open, None));
    }

    #[test]
    fn an_open_deal_cannot_have_a_close_time() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut d = deal(DealStage::Proposal);
        let err = d
            .apply(
                &DealPatch {
                    closed_at: Some(BoundedTime::new(now, "closed_at").unwrap()),
                    ..Default::default()
                },
                now,
            )
            .unwrap_err();
        assert_eq!(err.field(), "closed_at");
        assert_eq!(
            d,
            deal(DealStage::Proposal),
            "a failed patch changes nothing"
        );
    }

    #[test]
    fn patch_distinguishes_absent_from_null() {
        let p: ContactPatch = serde_json::from_str(r#"{"phone": null}"#).unwrap();
        assert_eq!(p.phone, Some(None));
        assert_eq!(p.company, None);
        assert!(serde_json::from_str::<ContactPatch>(r#"{"nickname": "x"}"#).is_err());
    }

    #[test]
    fn contact_patch_validates_before_changing() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut c = Contact {
            id: ContactId(1),
            organization_id: OrgId(1),
            first_name: "Ada".into(),
            last_name: None,
            email: None,
            phone: None,
            company: None,
            job_title: None,
            industry: None,
            company_size: None,
            owner_id: None,
            created_at: t,
            updated_at: t,
        };
        let before = c.clone();
        let bad = ContactPatch {
            first_name: Some(" ".into()),
            company: Some(Some("Acme".into())),
            ..Default::default()
        };
        assert_eq!(
            c.apply(&bad),
            Err(DomainError::Empty {
                field: "first_name"
            })
        );
        assert_eq!(c, before);
        let neg = ContactPatch {
            company_size: Some(Some(-3)),
            ..Default::default()
        };
        assert_eq!(
            c.apply(&neg),
            Err(DomainError::Negative {
                field: "company_size"
            })
        );
    }

    #[test]
    fn a_patch_writes_a_bounded_date_and_keeps_a_stored_one_out_of_range() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let year_1 = NaiveDate::from_ymd_opt(1, 6, 1).unwrap();
        let mut d = Deal {
            expected_close: Some(year_1),
            ..deal(DealStage::Proposal)
        };
        d.apply(
            &DealPatch {
                title: Some("Renamed".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(d.expected_close, Some(year_1), "kept as stored");
        let p: DealPatch = serde_json::from_str(r#"{"expected_close": "2030-01-31"}"#).unwrap();
        d.apply(&p, now).unwrap();
        assert_eq!(d.expected_close, NaiveDate::from_ymd_opt(2030, 1, 31));
        for bad in [
            r#"{"expected_close": "0001-06-01"}"#,
            r#"{"expected_close": "2201-01-01"}"#,
            r#"{"closed_at": "1899-12-31T23:59:59Z"}"#,
        ] {
            let err = serde_json::from_str::<DealPatch>(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("must fall between 1900-01-01 and 2200-12-31"),
                "{bad}: {err}"
            );
        }
        assert!(
            serde_json::from_str::<LeadPatch>(r#"{"expected_decision": "1899-12-31"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<ActivityPatch>(r#"{"occurred_at": "2201-01-01T00:00:00Z"}"#)
                .is_err()
        );
    }

    #[test]
    fn an_activity_must_be_about_something() {
        let a = NewActivity {
            kind: ActivityType::Note,
            lead_id: None,
            deal_id: None,
            contact_id: None,
            user_id: None,
            subject: None,
            body: Some("hi".into()),
            duration_seconds: None,
            occurred_at: None,
        };
        assert_eq!(a.validate().unwrap_err().field(), "lead_id");
        let a = NewActivity {
            lead_id: Some(LeadId(1)),
            duration_seconds: Some(-1),
            ..a
        };
        assert_eq!(a.validate().unwrap_err().field(), "duration_seconds");
    }

    /// One field of each kind per patch: a kind declared wrongly in a
    /// `declare_patch!` list would change what `null` does to that field.
    #[test]
    fn each_patch_treats_null_as_declared() {
        fn refused<T: for<'de> Deserialize<'de> + std::fmt::Debug>(json: &str) -> bool {
            serde_json::from_str::<T>(json)
                .is_err_and(|e| e.to_string().starts_with("must not be null"))
        }
        assert!(refused::<ContactPatch>(r#"{"first_name": null}"#));
        assert!(refused::<LeadPatch>(r#"{"status": null}"#));
        assert!(refused::<DealPatch>(r#"{"closed_at": null}"#));
        assert!(refused::<ActivityPatch>(r#"{"occurred_at": null}"#));
        let l: LeadPatch = serde_json::from_str(r#"{"budget_cents": null}"#).unwrap();
        assert_eq!(l.budget_cents, Some(None));
        let d: DealPatch = serde_json::from_str(r#"{"lead_id": null}"#).unwrap();
        assert_eq!(d.lead_id, Some(None));
        let a: ActivityPatch = serde_json::from_str(r#"{"body": null}"#).unwrap();
        assert_eq!(a.body, Some(None));
        let f: ForecastingModelPatch = serde_json::from_str(r#"{"name": null}"#).unwrap();
        assert_eq!(
            f,
            ForecastingModelPatch::default(),
            "null keeps a model field"
        );
    }

    #[test]
    fn apply_trims_the_required_name_and_a_deal_keeps_its_close_time() {
        let closed = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut d = Deal {
            closed_at: Some(closed),
            ..deal(DealStage::ClosedLost)
        };
        d.apply(
            &DealPatch {
                title: Some("  Renewal 2 ".into()),
                value_cents: Some(Cents::new(5).unwrap()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(d.title, "Renewal 2");
        assert_eq!(d.value_cents, Cents::new(5).unwrap());
        assert_eq!((d.status, d.closed_at), (DealStatus::Lost, Some(closed)));

        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut m = ForecastingModel {
            id: ForecastModelId(1),
            organization_id: OrgId(1),
            name: "Revenue".into(),
            metric: ForecastMetric::Revenue,
            algorithm: ForecastAlgorithm::Ensemble,
            horizon_months: 12,
            active: true,
            last_trained: None,
            last_run_at: None,
            last_status: None,
            last_error: None,
            created_at: t,
            updated_at: t,
        };
        let before = m.clone();
        let too_far = ForecastingModelPatch {
            name: Some("Later".into()),
            horizon_months: Some(MAX_FORECAST_MONTHS + 1),
            ..Default::default()
        };
        assert_eq!(m.apply(&too_far).unwrap_err().field(), "horizon_months");
        assert_eq!(m, before, "a failed patch changes nothing");
        m.apply(&ForecastingModelPatch {
            name: Some(" Next year ".into()),
            active: Some(false),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((m.name.as_str(), m.active), ("Next year", false));
    }
}

//! E-mail templates and campaigns: what a campaign sends, to whom, and
//! where it stands. Rendering and sending live in the actions; this module
//! only says what a valid template, target and campaign are.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::patch::{Patch, declare_patch};
use crate::{
    CampaignId, CampaignStatus, ContactId, DomainError, EmailTemplateId, LeadId, LeadStatus,
    MAX_NAME, MAX_TEXT, OrgId, SegmentId, UserId,
};

/// Longest subject line, in characters.
pub const MAX_SUBJECT: usize = 998;
/// Most ids one target may name.
pub const MAX_TARGET_IDS: usize = 100_000;

fn required(v: &str, field: &'static str, max: usize) -> Result<(), DomainError> {
    if v.trim().is_empty() {
        Err(DomainError::Empty { field })
    } else if v.chars().count() > max {
        Err(DomainError::TooLong { field, max })
    } else {
        Ok(())
    }
}

/// An e-mail template: a subject, an HTML body and a plain-text body, each a
/// minijinja template over the recipient's context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailTemplate {
    /// Id.
    pub id: EmailTemplateId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// Display name.
    pub name: String,
    /// The subject line's template.
    pub subject: String,
    /// The HTML body's template.
    pub html: String,
    /// The plain-text body's template; `None`: derived from the HTML.
    pub text: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Input for a new template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEmailTemplate {
    /// Display name.
    pub name: String,
    /// Subject template.
    pub subject: String,
    /// HTML template.
    pub html: String,
    /// Plain-text template (derived from the HTML when absent).
    pub text: Option<String>,
}

impl NewEmailTemplate {
    /// Checks presence and lengths (whether it compiles is the renderer's).
    pub fn validate(&self) -> Result<(), DomainError> {
        check_template(&self.name, &self.subject, &self.html, self.text.as_deref())
    }
}

fn check_template(
    name: &str,
    subject: &str,
    html: &str,
    text: Option<&str>,
) -> Result<(), DomainError> {
    required(name, "name", MAX_NAME)?;
    required(subject, "subject", MAX_SUBJECT)?;
    required(html, "html", MAX_TEXT)?;
    if let Some(t) = text {
        required(t, "text", MAX_TEXT)?;
    }
    Ok(())
}

declare_patch! {
    /// A partial update of a template.
    pub struct EmailTemplatePatch for EmailTemplate {
        /// Name.
        name: non_null String,
        /// Subject template.
        subject: non_null String,
        /// HTML template.
        html: non_null String,
        /// Plain-text template, or `null` to derive it from the HTML.
        text: nullable String,
    }
    /// The input that would create this template as it is now.
    fn as_new -> NewEmailTemplate;
}

impl EmailTemplate {
    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn apply(&mut self, p: &EmailTemplatePatch) -> Result<(), DomainError> {
        p.apply_to(self, |_, t| {
            check_template(&t.name, &t.subject, &t.html, t.text.as_deref())
        })
    }
}

/// Narrows the contacts or leads of a target; unset fields do not narrow.
/// Lead-only fields on a contact target are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFilter {
    /// Owner of the contact or lead.
    pub owner_id: Option<UserId>,
    /// The contact's industry (exact).
    pub industry: Option<String>,
    /// Leads only: qualification status.
    pub status: Option<LeadStatus>,
    /// Leads only: score category as stored (`hot`, `warm`, `lukewarm`, `cold`).
    pub category: Option<String>,
    /// Leads only: score at least.
    pub min_score: Option<f64>,
}

/// Whom a campaign mails. Absent `ids` and `filter`: every contact (or
/// lead) of the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CampaignTarget {
    /// Contacts, by id or by filter; the address is the contact's.
    Contacts {
        /// Exactly these contacts (of the organization).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ids: Option<Vec<ContactId>>,
        /// Or those that match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<TargetFilter>,
    },
    /// Leads, by id or by filter; the address is the lead's contact's.
    Leads {
        /// Exactly these leads (of the organization).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ids: Option<Vec<LeadId>>,
        /// Or those that match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<TargetFilter>,
    },
    /// A segment's members (contacts), as they are when sending starts:
    /// a dynamic segment's latest refresh, a static segment's list.
    Segment {
        /// The segment (of the organization).
        segment_id: SegmentId,
    },
}

impl CampaignTarget {
    /// Checks what the shape cannot say.
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |message: &str| DomainError::Inconsistent {
            field: "target",
            message: message.into(),
        };
        let (n, filter, leads) = match self {
            CampaignTarget::Contacts { ids, filter } => (ids.as_ref().map(Vec::len), filter, false),
            CampaignTarget::Leads { ids, filter } => (ids.as_ref().map(Vec::len), filter, true),
            CampaignTarget::Segment { .. } => return Ok(()),
        };
        if n.is_some() && filter.is_some() {
            return Err(bad("give ids or a filter, not both"));
        }
        if n == Some(0) {
            return Err(bad("ids must name at least one record"));
        }
        if n.is_some_and(|n| n > MAX_TARGET_IDS) {
            return Err(DomainError::TooLong {
                field: "target",
                max: MAX_TARGET_IDS,
            });
        }
        if let Some(f) = filter
            && !leads
            && (f.status.is_some() || f.category.is_some() || f.min_score.is_some())
        {
            return Err(bad(
                "status, category and min_score filter leads, not contacts",
            ));
        }
        Ok(())
    }
}

/// An e-mail campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Id.
    pub id: CampaignId,
    /// Owning organization.
    pub organization_id: OrgId,
    /// Display name.
    pub name: String,
    /// What it sends.
    pub template_id: EmailTemplateId,
    /// Whom it sends to.
    pub target: CampaignTarget,
    /// Where it stands.
    pub status: CampaignStatus,
    /// When it is due (UTC).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When its recipients were frozen and sending began.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed, was cancelled or failed.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed.
    pub error: Option<String>,
    /// Who created it (the owner of the mail it sends when its records have none).
    pub created_by: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Input for a new campaign (a draft).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCampaign {
    /// Display name.
    pub name: String,
    /// The template.
    pub template_id: EmailTemplateId,
    /// The target.
    pub target: CampaignTarget,
}

impl NewCampaign {
    /// Checks the name and the target.
    pub fn validate(&self) -> Result<(), DomainError> {
        required(&self.name, "name", MAX_NAME)?;
        self.target.validate()
    }
}

declare_patch! {
    /// A partial update of a draft campaign.
    pub struct CampaignPatch for Campaign {
        /// Name.
        name: non_null String,
        /// Template.
        template_id: non_null EmailTemplateId,
        /// Target.
        target: non_null CampaignTarget,
    }
    /// The input that would create this campaign as it is now.
    fn as_new -> NewCampaign;
}

impl Campaign {
    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn apply(&mut self, p: &CampaignPatch) -> Result<(), DomainError> {
        p.apply_to(self, |_, c| {
            required(&c.name, "name", MAX_NAME)?;
            c.target.validate()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_check() {
        let t: CampaignTarget =
            serde_json::from_str(r#"{"type": "contacts", "ids": [1, 2]}"#).unwrap();
        assert!(t.validate().is_ok());
        let t: CampaignTarget =
            serde_json::from_str(r#"{"type": "leads", "filter": {"status": "new"}}"#).unwrap();
        assert!(t.validate().is_ok());
        let t: CampaignTarget =
            serde_json::from_str(r#"{"type": "contacts", "filter": {"min_score": 3}}"#).unwrap();
        assert!(t.validate().is_err(), "lead filters on contacts");
        let t: CampaignTarget =
            serde_json::from_str(r#"{"type": "segment", "segment_id": 4}"#).unwrap();
        assert!(t.validate().is_ok());
        assert!(
            serde_json::from_str::<CampaignTarget>(r#"{"type": "segment"}"#).is_err(),
            "a segment target names its segment"
        );
        assert!(serde_json::from_str::<CampaignTarget>(r#"{"type": "deals"}"#).is_err());
    }
}

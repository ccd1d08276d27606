//! Domain events: what happened, published after every successful write.
//!
//! Every event carries the organization it belongs to; subscribers (caches,
//! WebSocket clients, jobs) must never deliver it to another organization.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    ActivityId, ActivityType, CallId, CallStatus, CampaignId, CampaignStatus, ContactId, DealId,
    DealStage, DealStatus, ForecastModelId, LeadId, OrgId, SegmentId, UserId,
};

/// An event with its tenant and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// The organization the event belongs to.
    pub organization_id: OrgId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl DomainEvent {
    /// An event of `org` happening at `at`.
    pub fn new(organization_id: OrgId, at: DateTime<Utc>, kind: EventKind) -> Self {
        Self {
            organization_id,
            at,
            kind,
        }
    }
}

/// What happened. Serialised with a `type` tag in snake_case, e.g.
/// `{"type": "deal_updated", "id": 7, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A user was created.
    UserCreated {
        /// The user.
        id: UserId,
    },
    /// A user was changed (name, role or password).
    UserUpdated {
        /// The user.
        id: UserId,
    },
    /// A user was deleted.
    UserDeleted {
        /// The user.
        id: UserId,
    },
    /// A contact was created.
    ContactCreated {
        /// The contact.
        id: ContactId,
    },
    /// A contact was changed.
    ContactUpdated {
        /// The contact.
        id: ContactId,
    },
    /// A contact was deleted.
    ContactDeleted {
        /// The contact.
        id: ContactId,
    },
    /// A lead was created.
    LeadCreated {
        /// The lead.
        id: LeadId,
    },
    /// A lead was changed.
    LeadUpdated {
        /// The lead.
        id: LeadId,
    },
    /// A lead was deleted.
    LeadDeleted {
        /// The lead.
        id: LeadId,
    },
    /// A lead got a new score.
    LeadScored {
        /// The lead.
        id: LeadId,
        /// Previous score, if any.
        old_score: Option<f64>,
        /// New score.
        new_score: f64,
        /// Previous category, if any.
        old_category: Option<String>,
        /// New category.
        new_category: String,
    },
    /// A deal was created.
    DealCreated {
        /// The deal.
        id: DealId,
        /// Its stage.
        stage: DealStage,
        /// Its value.
        value_cents: i64,
    },
    /// A deal was changed.
    DealUpdated {
        /// The deal.
        id: DealId,
        /// Stage before.
        old_stage: DealStage,
        /// Stage after.
        new_stage: DealStage,
        /// Status before.
        old_status: DealStatus,
        /// Status after.
        new_status: DealStatus,
        /// Value before.
        old_value_cents: i64,
        /// Value after.
        new_value_cents: i64,
    },
    /// A deal was deleted.
    DealDeleted {
        /// The deal.
        id: DealId,
    },
    /// An activity was recorded.
    ActivityLogged {
        /// The activity.
        id: ActivityId,
        /// Its type.
        activity_type: ActivityType,
        /// Its lead.
        lead_id: Option<LeadId>,
        /// Its contact.
        contact_id: Option<ContactId>,
    },
    /// An activity was changed.
    ActivityUpdated {
        /// The activity.
        id: ActivityId,
    },
    /// An activity was deleted.
    ActivityDeleted {
        /// The activity.
        id: ActivityId,
    },
    /// A forecast was stored.
    ForecastUpdated {
        /// The model.
        model_id: ForecastModelId,
    },
    /// A segment was created (with its first members).
    SegmentCreated {
        /// The segment.
        id: SegmentId,
        /// Its members.
        size: i64,
    },
    /// A segment's name, description or rule was changed.
    SegmentChanged {
        /// The segment.
        id: SegmentId,
    },
    /// A segment's members were refreshed: one event per refresh that
    /// changed something, never one per member.
    SegmentUpdated {
        /// The segment.
        id: SegmentId,
        /// Contacts that joined.
        entered: u64,
        /// Contacts that left.
        left: u64,
        /// Members now.
        size: i64,
    },
    /// A segment was deleted.
    SegmentDeleted {
        /// The segment.
        id: SegmentId,
    },
    /// An e-mail campaign changed status (scheduled, started sending,
    /// paused, resumed, completed, cancelled, failed).
    CampaignStatusChanged {
        /// The campaign.
        id: CampaignId,
        /// Its new status.
        status: CampaignStatus,
    },
    /// An AI voice call was placed or moved on (answered, ended, analysed).
    CallUpdated {
        /// The call.
        id: CallId,
        /// Its status now.
        status: CallStatus,
        /// Its lead.
        lead_id: Option<LeadId>,
    },
    /// An AI voice call's analysis was applied: its lead's empty BANT
    /// fields filled and the lead scored again.
    CallCompleted {
        /// The call.
        id: CallId,
        /// Its lead.
        lead_id: Option<LeadId>,
        /// Its contact.
        contact_id: Option<ContactId>,
        /// The lead's score after the call (none without a lead).
        score: Option<f64>,
    },
    /// A sending campaign moved on (at most about once a second while a
    /// sender works on it).
    CampaignProgress {
        /// The campaign.
        id: CampaignId,
        /// Recipients that have ended: sent, failed, bounced or skipped.
        done: u64,
        /// Recipients frozen.
        total: u64,
    },
}

impl EventKind {
    /// Every event's `type` word, in declaration order (for clients that
    /// filter by type, e.g. the server's `GET /api/events?types=`).
    pub const NAMES: &'static [&'static str] = &[
        "user_created",
        "user_updated",
        "user_deleted",
        "contact_created",
        "contact_updated",
        "contact_deleted",
        "lead_created",
        "lead_updated",
        "lead_deleted",
        "lead_scored",
        "deal_created",
        "deal_updated",
        "deal_deleted",
        "activity_logged",
        "activity_updated",
        "activity_deleted",
        "forecast_updated",
        "segment_created",
        "segment_changed",
        "segment_updated",
        "segment_deleted",
        "campaign_status_changed",
        "call_updated",
        "call_completed",
        "campaign_progress",
    ];

    /// The event's `type` word.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::UserCreated { .. } => "user_created",
            EventKind::UserUpdated { .. } => "user_updated",
            EventKind::UserDeleted { .. } => "user_deleted",
            EventKind::ContactCreated { .. } => "contact_created",
            EventKind::ContactUpdated { .. } => "contact_updated",
            EventKind::ContactDeleted { .. } => "contact_deleted",
            EventKind::LeadCreated { .. } => "lead_created",
            EventKind::LeadUpdated { .. } => "lead_updated",
            EventKind::LeadDeleted { .. } => "lead_deleted",
            EventKind::LeadScored { .. } => "lead_scored",
            EventKind::DealCreated { .. } => "deal_created",
            EventKind::DealUpdated { .. } => "deal_updated",
            EventKind::DealDeleted { .. } => "deal_deleted",
            EventKind::ActivityLogged { .. } => "activity_logged",
            EventKind::ActivityUpdated { .. } => "activity_updated",
            EventKind::ActivityDeleted { .. } => "activity_deleted",
            EventKind::ForecastUpdated { .. } => "forecast_updated",
            EventKind::SegmentCreated { .. } => "segment_created",
            EventKind::SegmentChanged { .. } => "segment_changed",
            EventKind::SegmentUpdated { .. } => "segment_updated",
            EventKind::SegmentDeleted { .. } => "segment_deleted",
            EventKind::CampaignStatusChanged { .. } => "campaign_status_changed",
            EventKind::CallUpdated { .. } => "call_updated",
            EventKind::CallCompleted { .. } => "call_completed",
            EventKind::CampaignProgress { .. } => "campaign_progress",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_a_type_tag_and_the_tenant() {
        let e = DomainEvent::new(
            OrgId(3),
            DateTime::from_timestamp(0, 0).unwrap(),
            EventKind::DealUpdated {
                id: DealId(7),
                old_stage: DealStage::Proposal,
                new_stage: DealStage::ClosedWon,
                old_status: DealStatus::Open,
                new_status: DealStatus::Won,
                old_value_cents: 10,
                new_value_cents: 10,
            },
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "deal_updated");
        assert_eq!(v["organization_id"], 3);
        assert_eq!(v["new_stage"], "closed_won");
        assert_eq!(e.kind.name(), "deal_updated");
        let back: DomainEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    /// `NAMES` is what serde writes, for every variant: a name that drifted
    /// would make a valid `?types=` filter refused, or match nothing.
    #[test]
    fn names_are_the_serialised_type_tags_of_every_variant() {
        let every = [
            EventKind::UserCreated { id: UserId(1) },
            EventKind::UserUpdated { id: UserId(1) },
            EventKind::UserDeleted { id: UserId(1) },
            EventKind::ContactCreated { id: ContactId(1) },
            EventKind::ContactUpdated { id: ContactId(1) },
            EventKind::ContactDeleted { id: ContactId(1) },
            EventKind::LeadCreated { id: LeadId(1) },
            EventKind::LeadUpdated { id: LeadId(1) },
            EventKind::LeadDeleted { id: LeadId(1) },
            EventKind::LeadScored {
                id: LeadId(1),
                old_score: None,
                new_score: 50.0,
                old_category: None,
                new_category: "lukewarm".into(),
            },
            EventKind::DealCreated {
                id: DealId(1),
                stage: DealStage::Proposal,
                value_cents: 1,
            },
            EventKind::DealUpdated {
                id: DealId(1),
                old_stage: DealStage::Proposal,
                new_stage: DealStage::Proposal,
                old_status: DealStatus::Open,
                new_status: DealStatus::Open,
                old_value_cents: 1,
                new_value_cents: 1,
            },
            EventKind::DealDeleted { id: DealId(1) },
            EventKind::ActivityLogged {
                id: ActivityId(1),
                activity_type: ActivityType::Note,
                lead_id: None,
                contact_id: None,
            },
            EventKind::ActivityUpdated { id: ActivityId(1) },
            EventKind::ActivityDeleted { id: ActivityId(1) },
            EventKind::ForecastUpdated {
                model_id: ForecastModelId(1),
            },
            EventKind::SegmentCreated {
                id: SegmentId(1),
                size: 0,
            },
            EventKind::SegmentChanged { id: SegmentId(1) },
            EventKind::SegmentUpdated {
                id: SegmentId(1),
                entered: 1,
                left: 0,
                size: 1,
            },
            EventKind::SegmentDeleted { id: SegmentId(1) },
            EventKind::CampaignStatusChanged {
                id: CampaignId(1),
                status: CampaignStatus::Sending,
            },
            EventKind::CallUpdated {
                id: CallId(1),
                status: CallStatus::Ongoing,
                lead_id: None,
            },
            EventKind::CallCompleted {
                id: CallId(1),
                lead_id: Some(LeadId(1)),
                contact_id: None,
                score: Some(61.0),
            },
            EventKind::CampaignProgress {
                id: CampaignId(1),
                done: 1,
                total: 2,
            },
        ];
        let tags: Vec<String> = every
            .iter()
            .map(|k| {
                let v = serde_json::to_value(k).unwrap();
                assert_eq!(v["type"], k.name());
                k.name().to_string()
            })
            .collect();
        assert_eq!(tags, EventKind::NAMES, "a new variant goes in both lists");
    }
}

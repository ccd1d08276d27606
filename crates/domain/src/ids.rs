//! Typed ids: one newtype per table so ids of different records never mix.

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw database value.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    )*};
}

typed_id!(
    /// An organization (tenant).
    OrgId,
    /// A user of an organization.
    UserId,
    /// A contact (a person at a customer or prospect).
    ContactId,
    /// A lead (a sales opportunity not yet qualified into a deal).
    LeadId,
    /// A deal in the pipeline.
    DealId,
    /// An activity (email, call, visit, note, ...).
    ActivityId,
    /// A configured forecasting model.
    ForecastModelId,
    /// One stored forecast period.
    ForecastResultId,
    /// An audit-log entry.
    AuditId,
    /// A customer segment.
    SegmentId,
    /// An e-mail template.
    EmailTemplateId,
    /// An e-mail campaign.
    CampaignId,
    /// One recipient of a campaign (its row in the per-recipient log).
    RecipientId,
    /// An AI voice call placed through Retell (our id, not Retell's).
    CallId,
);

//! Closed vocabularies. Each is stored and sent as its snake_case word; parsing
//! an unknown word is a [`DomainError::UnknownVariant`] that lists the accepted
//! ones.

use serde::{Deserialize, Serialize};

use crate::DomainError;

macro_rules! vocabulary {
    (
        $(#[$doc:meta])*
        $name:ident, field = $field:literal {
            $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The words, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];
            /// The accepted words, comma-separated (for error messages and docs).
            pub const EXPECTED: &'static str = concat!($($word, ", "),+);

            /// The stored and serialised word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// Parses a word, naming `field` in the error.
            pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, DomainError> {
                match raw.trim() {
                    $($word => Ok($name::$variant),)+
                    other => Err(DomainError::UnknownVariant {
                        field,
                        value: other.chars().take(40).collect(),
                        expected: Self::EXPECTED.trim_end_matches([',', ' ']),
                    }),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse_field(s, $field)
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, DomainError> {
                s.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> Self {
                v.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// What a user may do: admins manage users and settings.
    Role, field = "role" {
        /// Manages users and organization settings.
        Admin = "admin",
        /// Sees and manages the team's records.
        Manager = "manager",
        /// A sales representative.
        Rep = "rep",
    }
}

vocabulary! {
    /// Where a lead stands in qualification.
    LeadStatus, field = "status" {
        /// Not yet contacted.
        New = "new",
        /// First contact made.
        Contacted = "contacted",
        /// Confirmed need, budget and authority.
        Qualified = "qualified",
        /// Not a fit.
        Unqualified = "unqualified",
        /// Became a deal.
        Converted = "converted",
    }
}

vocabulary! {
    /// How a lead reached us.
    LeadSource, field = "source" {
        /// The company web site.
        Website = "website",
        /// A customer or partner referral.
        Referral = "referral",
        /// An e-mail campaign.
        EmailCampaign = "email_campaign",
        /// Social media.
        SocialMedia = "social_media",
        /// A trade show, webinar or other event.
        Event = "event",
        /// Outbound cold call.
        ColdCall = "cold_call",
        /// A reseller or technology partner.
        Partner = "partner",
        /// Paid advertising.
        Advertising = "advertising",
        /// Anything else.
        Other = "other",
    }
}

vocabulary! {
    /// Pipeline stage of a deal.
    DealStage, field = "stage" {
        /// Early discovery.
        Prospecting = "prospecting",
        /// Need and fit confirmed.
        Qualification = "qualification",
        /// A proposal was sent.
        Proposal = "proposal",
        /// Terms under negotiation.
        Negotiation = "negotiation",
        /// Won.
        ClosedWon = "closed_won",
        /// Lost.
        ClosedLost = "closed_lost",
    }
}

impl DealStage {
    /// The probability of winning a deal in this stage, used to weigh the open
    /// pipeline.
    pub fn win_probability(self) -> f64 {
        match self {
            DealStage::Prospecting => 0.10,
            DealStage::Qualification => 0.25,
            DealStage::Proposal => 0.50,
            DealStage::Negotiation => 0.75,
            DealStage::ClosedWon => 1.0,
            DealStage::ClosedLost => 0.0,
        }
    }

    /// The status a deal in this stage has.
    pub fn status(self) -> DealStatus {
        match self {
            DealStage::ClosedWon => DealStatus::Won,
            DealStage::ClosedLost => DealStatus::Lost,
            _ => DealStatus::Open,
        }
    }
}

vocabulary! {
    /// Whether a deal is still open, or how it closed.
    DealStatus, field = "status" {
        /// In the pipeline.
        Open = "open",
        /// Closed and won.
        Won = "won",
        /// Closed and lost.
        Lost = "lost",
    }
}

vocabulary! {
    /// What kind of interaction an activity records.
    ActivityType, field = "type" {
        /// The contact opened one of our e-mails.
        EmailOpen = "email_open",
        /// The contact clicked a link in one of our e-mails.
        EmailClick = "email_click",
        /// The contact visited the web site (duration = time on site).
        WebsiteVisit = "website_visit",
        /// A phone call.
        Call = "call",
        /// A meeting.
        Meeting = "meeting",
        /// A note written by a user.
        Note = "note",
        /// An e-mail we sent.
        EmailSent = "email_sent",
        /// An e-mail the contact sent us.
        EmailReceived = "email_received",
    }
}

impl ActivityType {
    /// True for activities whose body is the customer's own words (or a record
    /// of them), which sentiment analysis reads.
    pub fn carries_customer_text(self) -> bool {
        matches!(
            self,
            ActivityType::Note | ActivityType::EmailReceived | ActivityType::Call
        )
    }
}

vocabulary! {
    /// A monthly series of the CRM that can be forecast.
    ForecastMetric, field = "metric" {
        /// Value of won deals by close month, in currency units.
        Revenue = "revenue",
        /// Number of won deals by close month.
        DealsWon = "deals_won",
        /// Contacts whose first won deal closed in the month.
        NewCustomers = "new_customers",
    }
}

vocabulary! {
    /// How a forecast is made: the backtest-weighted ensemble or one model.
    ForecastAlgorithm, field = "algorithm" {
        /// ETS, Theta, seasonal naive and auto-ARIMA weighted by backtests.
        Ensemble = "ensemble",
        /// Seasonal auto-ARIMA.
        AutoArima = "auto_arima",
        /// Exponential smoothing (ETS), maximum likelihood.
        Ets = "ets",
        /// The Theta method.
        Theta = "theta",
        /// Piecewise-linear trend with Fourier seasonality.
        Prophet = "prophet",
        /// Linear trend plus month-of-year regression.
        Regression = "regression",
        /// The same month one year earlier.
        SeasonalNaive = "seasonal_naive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for s in DealStage::ALL {
            assert_eq!(s.as_str().parse::<DealStage>().unwrap(), *s);
        }
        for a in ActivityType::ALL {
            let json = serde_json::to_string(a).unwrap();
            assert_eq!(serde_json::from_str::<ActivityType>(&json).unwrap(), *a);
        }
    }

    #[test]
    fn unknown_words_are_rejected_with_the_accepted_list() {
        let err = "won".parse::<DealStage>().unwrap_err();
        assert_eq!(err.field(), "stage");
        let msg = err.to_string();
        assert!(msg.contains("unknown value 'won'"), "{msg}");
        assert!(msg.contains("closed_won"), "{msg}");
        assert!(!msg.ends_with(", "), "{msg}");
        assert!(serde_json::from_str::<Role>("\"superuser\"").is_err());
        assert!("Admin".parse::<Role>().is_err(), "words are case-sensitive");
    }

    #[test]
    fn stage_implies_status() {
        assert_eq!(DealStage::ClosedWon.status(), DealStatus::Won);
        assert_eq!(DealStage::ClosedLost.status(), DealStatus::Lost);
        assert_eq!(DealStage::Proposal.status(), DealStatus::Open);
    }
}

vocabulary! {
    /// Where an e-mail campaign stands: `draft → scheduled → sending ⇄ paused
    /// → completed`, or `cancelled`, or `failed` with the reason.
    CampaignStatus, field = "status" {
        /// Being written; the only status in which it can be changed or deleted.
        Draft = "draft",
        /// Waiting for its `scheduled_at`.
        Scheduled = "scheduled",
        /// Its recipients are frozen and being sent to.
        Sending = "sending",
        /// Sending stopped until resumed.
        Paused = "paused",
        /// Every recipient is sent, failed, bounced or skipped.
        Completed = "completed",
        /// Stopped for good by a user.
        Cancelled = "cancelled",
        /// Stopped for good by an error (the campaign says which).
        Failed = "failed",
    }
}

vocabulary! {
    /// Where one recipient of a campaign stands: `pending → sending → sent |
    /// failed | bounced`, or `skipped` (never sent, with why) when the list
    /// was frozen.
    RecipientStatus, field = "status" {
        /// Waiting to be sent (again, after a 4xx, once `next_attempt_at` is due).
        Pending = "pending",
        /// Claimed by a sender under a lease; in doubt if the lease ran out.
        Sending = "sending",
        /// The SMTP server accepted it.
        Sent = "sent",
        /// Given up after the set number of temporary failures.
        Failed = "failed",
        /// Refused for good (SMTP 5xx).
        Bounced = "bounced",
        /// Not sent: no address, suppressed, or a duplicate address.
        Skipped = "skipped",
    }
}

vocabulary! {
    /// What a bounce webhook reports about an address.
    BounceType, field = "type" {
        /// The address does not exist or refuses mail for good: suppressed.
        Hard = "hard",
        /// A passing failure (full mailbox, greylisting): suppressed after
        /// `smtp.soft_bounce_limit` of them.
        Soft = "soft",
        /// The recipient reported the message as spam: suppressed.
        Complaint = "complaint",
    }
}

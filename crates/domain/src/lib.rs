//! The NeuraCRM domain: what a CRM record *is*, independent of how it is stored
//! or served.
//!
//! - [`ids`]: typed ids, so a lead id can never be passed where a deal id is
//!   expected;
//! - [`values`]: validated values (parse, don't validate: a value that exists is
//!   valid), such as [`Email`], [`Cents`] (0 to 10^13 currency units) and
//!   [`BoundedDate`] (1900-01-01 to 2200-12-31);
//! - [`kinds`]: the closed vocabularies (roles, statuses, stages, activity types);
//! - [`entities`]: the records and the inputs that create or change them;
//! - [`events`]: what happened, published after every write;
//! - [`session`]: sign-in sessions and their opaque ids;
//! - [`segments`]: customer segments and their rule trees.
//! - [`campaigns`]: e-mail templates, campaigns and their targets.
//! - [`voice`]: AI voice calls: scenarios, agents, calling settings, calls.
//!
//! No IO lives here: no database, no network, no async runtime.
//!
//! ```
//! use neuracrm_domain::{Email, Cents, DealStage};
//! let email = Email::parse("Ada@Example.com").unwrap();
//! assert_eq!(email.as_str(), "ada@example.com");
//! assert!(Cents::new(-1).is_err());
//! assert_eq!("closed_won".parse::<DealStage>().unwrap(), DealStage::ClosedWon);
//! ```

pub mod campaigns;
pub mod entities;
pub mod error;
pub mod events;
pub mod ids;
pub mod kinds;
pub mod password;
mod patch;
pub mod segments;
pub mod session;
pub mod values;
pub mod voice;

pub use campaigns::*;
pub use entities::*;
pub use error::{DomainError, PasswordWeakness};
pub use events::{DomainEvent, EventKind};
pub use ids::*;
pub use kinds::*;
pub use segments::{NewSegment, Rule, RuleError, Segment, SegmentKind, SegmentPatch};
pub use session::{Session, SessionId};
pub use values::*;
pub use voice::{Call, CallStatus, Scenario};

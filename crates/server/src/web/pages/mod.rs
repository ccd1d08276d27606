//! One module per page area; each handler calls the same use cases as the
//! JSON API and renders a template.

pub mod call_batches;
pub mod calls;
pub mod campaigns;
pub mod contacts;
pub mod dashboard;
pub mod deals;
pub mod email_templates;
pub mod forecast;
pub mod leads;
pub mod leads_csv;
pub mod segment_rules;
pub mod segments;
pub mod sentiment;
pub mod settings;
pub mod suppressions;

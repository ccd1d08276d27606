//! One module per page area; each handler calls the same use cases as the
//! JSON API and renders a template.

pub mod dashboard;
pub mod deals;
pub mod leads;
pub mod leads_csv;
pub mod settings;

//! The range of years a date may fall in, checked the same way for every
//! record and filter.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::{ActionError, ActionResult};

/// The year of an optional date or time.
pub trait Year {
    /// The year, if a value is present.
    fn year(&self) -> Option<i32>;
}

impl Year for Option<DateTime<Utc>> {
    fn year(&self) -> Option<i32> {
        self.map(|d| d.year())
    }
}

impl Year for Option<NaiveDate> {
    fn year(&self) -> Option<i32> {
        self.map(|d| d.year())
    }
}

impl Year for Option<Option<NaiveDate>> {
    fn year(&self) -> Option<i32> {
        self.flatten().year()
    }
}

/// Where the dates being checked came from, which decides the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Fields of a record being written: `Invalid`.
    Record,
    /// Parameters of a read: `BadQuery`.
    Filter,
}

/// Dates must fall in years 1–9999: chrono accepts far wider years than the
/// databases store (PostgreSQL rejects them with an error), so they are
/// refused here, on both backends alike.
pub fn check_years(values: &[(&'static str, Option<i32>)], input: Input) -> ActionResult<()> {
    for (field, year) in values {
        if year.is_some_and(|y| !(1..=9999).contains(&y)) {
            let message = format!("{field} must fall in the years 1 to 9999");
            return Err(match input {
                Input::Filter => ActionError::bad_query(*field, message),
                Input::Record => ActionError::invalid(*field, message),
            });
        }
    }
    Ok(())
}

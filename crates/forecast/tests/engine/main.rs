//! Integration tests of the forecasting engine (one binary, one module per area).

mod edge_cases;
mod ensemble;
mod eval;
mod reference;

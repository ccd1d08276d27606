//! Opens a fresh store on the backend under test.

use std::io::Write;

pub use neuracrm_store::testing::{fresh_store as store, postgres_url};

/// Says, outside the test harness's capture, which backend was not tested.
#[test]
fn backend_under_test_is_reported() {
    let mut err = std::io::stderr();
    match postgres_url() {
        Some(_) => {
            let _ = writeln!(err, "neuracrm-store: story tests ran on PostgreSQL");
        }
        None => {
            let _ = writeln!(
                err,
                "neuracrm-store: PostgreSQL was NOT tested (set NEURACRM_TEST_POSTGRES_URL); story tests ran on SQLite"
            );
        }
    }
}

//! HTTP tests against a real server on port 0, on SQLite or (with
//! `NEURACRM_TEST_POSTGRES_URL`) PostgreSQL.

mod health;
mod helpers;

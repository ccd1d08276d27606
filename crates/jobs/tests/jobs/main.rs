//! Batch jobs against a real database (SQLite, or PostgreSQL with
//! `NEURACRM_TEST_POSTGRES_URL`).

mod demo_check;
mod forecasting;
mod intent;
mod schedule;
mod scoring;
mod sentiment;

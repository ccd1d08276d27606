//! Storage story tests. Each test runs on PostgreSQL when
//! `NEURACRM_TEST_POSTGRES_URL` is set (one fresh schema per test), otherwise
//! on a fresh SQLite file; CI runs the suite both ways.

mod backup;
mod forecasts;
mod harness;
mod intent_cache;
mod scores;
mod search;
mod seed;
mod sessions;
mod stories;
mod tenancy;
mod upgrade;

//! HTTP tests against a real server on port 0, on SQLite or (with
//! `NEURACRM_TEST_POSTGRES_URL`) PostgreSQL.

mod auth;
mod bad_input;
mod bounds;
mod bounds_props;
mod browser;
mod campaign_bounces;
mod campaign_sending;
mod campaigns;
mod events;
mod forecast;
mod health;
mod helpers;
mod import;
mod resources;
mod retell_fake;
mod scale_out;
mod scoring;
mod segments;
mod sentiment;
mod sessions;
mod smtp_sink;
mod tenancy;
mod voice;
mod web;
mod web_calls;
mod web_campaigns;
mod web_segments;
mod web_settings;
mod ws;

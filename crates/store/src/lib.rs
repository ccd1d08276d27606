//! NeuraCRM's storage: organization-scoped repositories over SQLite and
//! PostgreSQL.
//!
//! The backend is chosen at run time by the URL (`sqlite://...` or
//! `postgres://...`); both run the same SQL text through [`db::Db`] and have
//! their own forward-only migrations. Every repository method takes the
//! organization first, and a row of another organization is reported exactly
//! like a missing one ([`StoreError::NotFound`]). Every write records an audit
//! entry in the same transaction.
//!
//! ```no_run
//! # async fn demo() -> Result<(), neuracrm_store::StoreError> {
//! use neuracrm_store::{Store, ConnectOptions};
//! let store = Store::open("sqlite://crm.db", &ConnectOptions::default()).await?;
//! let org = store.organizations().create("Acme").await?;
//! let page = store.contacts().list(org.id, &Default::default(), Default::default(), Default::default()).await?;
//! assert!(page.items.is_empty());
//! # Ok(()) }
//! ```

pub mod activities;
pub mod audit;
pub mod backup;
pub mod campaigns;
pub mod contacts;
pub mod db;
pub mod deals;
mod error;
pub mod forecasting_models;
pub mod forecasts;
pub mod imports;
pub mod intent_cache;
pub mod job_runs;
pub mod leads;
pub mod organizations;
pub mod paging;
pub mod scoring;
pub mod seed;
pub mod segments;
pub mod sentiment;
pub mod sessions;
pub mod sqlite_read;
pub mod sqlite_write;
mod tables;
#[cfg(feature = "testing")]
pub mod testing;
pub mod users;
pub mod voice;

pub use db::{Backend, ConnectOptions, Db, Param, Sql, Tx};
pub use error::{Result, StoreError};
pub use paging::{Page, Paged, Sort, SortDir};

/// The repositories over one database.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    /// Opens the database at `url` and applies pending migrations.
    pub async fn open(url: &str, opts: &ConnectOptions) -> Result<Store> {
        let db = Db::connect(url, opts).await?;
        db.migrate().await?;
        Ok(Store { db })
    }

    /// Wraps an already opened (and migrated) database.
    pub fn from_db(db: Db) -> Store {
        Store { db }
    }

    /// The underlying database, for set-based jobs that need their own SQL.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Job claims and the log of scheduled runs.
    pub fn job_runs(&self) -> job_runs::JobRuns<'_> {
        job_runs::JobRuns { db: &self.db }
    }

    /// Organizations.
    pub fn organizations(&self) -> organizations::Organizations<'_> {
        organizations::Organizations { db: &self.db }
    }

    /// Users.
    pub fn users(&self) -> users::Users<'_> {
        users::Users { db: &self.db }
    }

    /// Sign-in sessions.
    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions { db: &self.db }
    }

    /// Contacts.
    pub fn contacts(&self) -> contacts::Contacts<'_> {
        contacts::Contacts { db: &self.db }
    }

    /// Background CSV imports: stored documents, claims, checkpoints.
    pub fn imports(&self) -> imports::Imports<'_> {
        imports::Imports { db: &self.db }
    }

    /// Leads.
    pub fn leads(&self) -> leads::Leads<'_> {
        leads::Leads { db: &self.db }
    }

    /// Deals.
    pub fn deals(&self) -> deals::Deals<'_> {
        deals::Deals { db: &self.db }
    }

    /// Activities.
    pub fn activities(&self) -> activities::Activities<'_> {
        activities::Activities { db: &self.db }
    }

    /// Batch-scoring reads and writes.
    pub fn scoring(&self) -> scoring::ScoringData<'_> {
        scoring::ScoringData { db: &self.db }
    }

    /// Cached buying-intent answers of the LLM, per organization.
    pub fn intent_cache(&self) -> intent_cache::IntentCacheData<'_> {
        intent_cache::IntentCacheData { db: &self.db }
    }

    /// Stored sentiment of activities and its summaries.
    pub fn sentiment(&self) -> sentiment::SentimentData<'_> {
        sentiment::SentimentData { db: &self.db }
    }

    /// The CRM's monthly series (revenue, won deals, new customers, pipeline).
    pub fn forecasts(&self) -> forecasts::ForecastData<'_> {
        forecasts::ForecastData { db: &self.db }
    }

    /// Forecasting models and their stored results.
    pub fn forecasting_models(&self) -> forecasting_models::ForecastingModels<'_> {
        forecasting_models::ForecastingModels { db: &self.db }
    }

    /// Customer segments, their members and the per-contact metrics.
    pub fn segments(&self) -> segments::Segments<'_> {
        segments::Segments { db: &self.db }
    }

    /// E-mail templates, campaigns, their send logs and suppression lists.
    pub fn campaigns(&self) -> campaigns::Campaigns<'_> {
        campaigns::Campaigns { db: &self.db }
    }

    /// AI voice calls: calling settings, agents, calls, webhook receipts.
    pub fn voice(&self) -> voice::Voice<'_> {
        voice::Voice { db: &self.db }
    }

    /// The audit log.
    pub fn audit(&self) -> audit::AuditLog<'_> {
        audit::AuditLog { db: &self.db }
    }
}

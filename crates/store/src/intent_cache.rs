//! Cached buying-intent answers (`intent_cache`), per organization: the LLM's
//! reading of a text, keyed by the hex SHA-256 of the model and the text, so
//! that an unchanged text is never sent again, whichever instance or job
//! asks. Set-based: the batch fetches a chunk's answers with one query and
//! writes its new ones with one statement.
//!
//! The key is opaque here (the scoring crate computes it); the organization
//! is part of every statement and of the primary key, so an answer stored for
//! one organization never answers for another.
//!
//! **Retention.** Every read that serves an answer records when it was used
//! (`used_at`, moved forward at most once per [`USED_AT_MAX_LAG`], so a chunk
//! read again within the day writes nothing), and
//! [`IntentCacheData::prune_unused`] deletes the answers unused since a
//! cutoff. The age of an answer does not matter, only its use: every lead is
//! rescored at least every 7 days (by the batch or by score-now), which reads
//! its answer, so an answer of an unchanged lead never goes unused for long,
//! while one whose text no lead has any more (an edited description, a
//! deleted lead) is never read again.
//!
//! ```no_run
//! # async fn demo(store: neuracrm_store::Store) -> neuracrm_store::Result<()> {
//! use chrono::{Duration, Utc};
//! use neuracrm_domain::OrgId;
//! let cache = store.intent_cache();
//! let key = "ab".repeat(32);
//! let now = Utc::now();
//! // Served, and recorded as used now (unless already within the day).
//! if let Some(answer) = cache.get(OrgId(1), &key, now).await? {
//!     println!("intent {}", answer.intent);
//! }
//! let deleted = cache.prune_unused(None, now - Duration::days(30)).await?;
//! println!("{deleted} answers unused for 30 days deleted");
//! # Ok(()) }
//! ```

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use neuracrm_domain::OrgId;

use crate::db::{Db, Sql};
use crate::{Backend, Result};

/// Keys per lookup statement: a batch chunk (5,000 leads by default) is one
/// query; a larger `--chunk` is split, far below either backend's limit on
/// bound parameters (32,766 on SQLite, 65,535 on PostgreSQL).
const READ_CHUNK: usize = 10_000;

/// Rows per write statement (6 parameters each).
const WRITE_CHUNK: usize = 1_000;

/// Rows per delete statement of a prune on SQLite (see
/// [`IntentCacheData::prune_unused`]).
const PRUNE_CHUNK: i64 = 10_000;

/// How far a stored `used_at` may lag an answer's last use: a read moves it
/// forward only when it is older than this, so that a batch that reads the
/// same chunk every 15 minutes (an active lead is rescored whenever it
/// changes) does not rewrite its answers every time. A retention must exceed
/// the longest time between two reads of an answer in use by at least this.
pub const USED_AT_MAX_LAG: TimeDelta = TimeDelta::days(1);

/// Intent-cache repository.
#[derive(Debug, Clone, Copy)]
pub struct IntentCacheData<'a> {
    pub(crate) db: &'a Db,
}

/// A cached answer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CachedIntent {
    /// Buying intent, 0–5.
    pub intent: f64,
    /// Who answered (`llm`, or `offline`).
    pub source: String,
    /// When.
    pub answered_at: DateTime<Utc>,
}

/// An answer to store.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentWrite {
    /// The hex key (64 characters).
    pub key: String,
    /// Buying intent, 0–5.
    pub intent: f64,
    /// Who answered (`llm`, or `offline`).
    pub source: &'static str,
}

#[derive(sqlx::FromRow)]
struct KeyedRow {
    cache_key: String,
    intent: f64,
    source: String,
    answered_at: DateTime<Utc>,
    used_at: DateTime<Utc>,
}

impl IntentCacheData<'_> {
    /// The answers `org` has stored for any of `keys`, by key; keys without
    /// one are absent. The answers found are marked used at `now` (see
    /// [`IntentCacheData::get`]): one query, and at most one update, per
    /// 10,000 keys.
    pub async fn get_many(
        &self,
        org: OrgId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, CachedIntent>> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(READ_CHUNK) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let rows = self.read(org, &chunk, now).await?;
            found.extend(rows.into_iter().map(|r| {
                (
                    r.cache_key,
                    CachedIntent {
                        intent: r.intent,
                        source: r.source,
                        answered_at: r.answered_at,
                    },
                )
            }));
        }
        Ok(found)
    }

    /// The answer `org` has stored for `key`, if any, marked used at `now`
    /// unless its last recorded use is less than [`USED_AT_MAX_LAG`] before.
    /// A mark that fails is logged, not returned: the answer is right
    /// regardless, and a missed mark matters only if every later one is
    /// missed too, for as long as the retention.
    pub async fn get(
        &self,
        org: OrgId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CachedIntent>> {
        Ok(self
            .read(org, &[key], now)
            .await?
            .into_iter()
            .next()
            .map(|r| CachedIntent {
                intent: r.intent,
                source: r.source,
                answered_at: r.answered_at,
            }))
    }

    /// The rows of `org` for `keys` (at most [`READ_CHUNK`]), those due
    /// marked used at `now`.
    async fn read(&self, org: OrgId, keys: &[&str], now: DateTime<Utc>) -> Result<Vec<KeyedRow>> {
        let mut q = Sql::new(
            "SELECT cache_key, intent, source, answered_at, used_at FROM intent_cache \
             WHERE organization_id = ",
        );
        q.bind(org).push(" AND cache_key IN (");
        push_list(&mut q, keys);
        let rows: Vec<KeyedRow> = self.db.fetch_all(q).await?;
        let due_before = now - USED_AT_MAX_LAG;
        let due: Vec<&str> = rows
            .iter()
            .filter(|r| r.used_at < due_before)
            .map(|r| r.cache_key.as_str())
            .collect();
        if !due.is_empty()
            && let Err(e) = self.mark_used(org, &due, now).await
        {
            tracing::warn!(org = org.0, answers = due.len(), error = %e, "intent answers not marked used");
        }
        Ok(rows)
    }

    /// Marks the answers of `org` for `keys` used at `now`, those whose last
    /// recorded use is more than [`USED_AT_MAX_LAG`] before (the others are
    /// left alone; `used_at` never moves backwards); returns how many moved.
    /// For an answer served from a copy held elsewhere (score-now's
    /// in-memory front), which [`IntentCacheData::get`] would have marked.
    pub async fn mark_used(&self, org: OrgId, keys: &[&str], now: DateTime<Utc>) -> Result<u64> {
        let mut marked = 0;
        for chunk in keys.chunks(READ_CHUNK) {
            let mut q = Sql::new("UPDATE intent_cache SET used_at = ");
            q.bind(now)
                .push(" WHERE organization_id = ")
                .bind(org)
                .push(" AND used_at < ")
                .bind(now - USED_AT_MAX_LAG)
                .push(" AND cache_key IN (");
            push_list(&mut q, chunk);
            marked += self.db.execute(q).await?;
        }
        Ok(marked)
    }

    /// Stores (or replaces) answers of `org` given at `at`, which is also
    /// their first use: one statement per 1,000, in one transaction. A key
    /// given twice keeps its last answer.
    pub async fn put_many(
        &self,
        org: OrgId,
        rows: &[IntentWrite],
        at: DateTime<Utc>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // One statement cannot upsert the same key twice (PostgreSQL refuses
        // "ON CONFLICT DO UPDATE command cannot affect row a second time").
        let mut last: HashMap<&str, &IntentWrite> = HashMap::with_capacity(rows.len());
        for r in rows {
            last.insert(r.key.as_str(), r);
        }
        let unique: Vec<&IntentWrite> = last.into_values().collect();
        let mut tx = self.db.begin().await?;
        for chunk in unique.chunks(WRITE_CHUNK) {
            let mut q = Sql::new(
                "INSERT INTO intent_cache (organization_id, cache_key, intent, source, answered_at, used_at) VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(org)
                    .push(", ")
                    .bind(r.key.as_str())
                    .push(", ")
                    .bind(r.intent)
                    .push(", ")
                    .bind(r.source)
                    .push(", ")
                    .bind(at)
                    .push(", ")
                    .bind(at)
                    .push(")");
            }
            q.push(
                " ON CONFLICT (organization_id, cache_key) DO UPDATE SET \
                 intent = excluded.intent, source = excluded.source, \
                 answered_at = excluded.answered_at, used_at = excluded.used_at",
            );
            tx.execute(q).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stored answers of `org` (for tests and operators).
    pub async fn count(&self, org: OrgId) -> Result<i64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Sql::new(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM intent_cache WHERE organization_id = $1",
                )
                .arg(org),
            )
            .await?;
        Ok(n)
    }

    /// Deletes the answers of `org` (of every organization with `None`)
    /// whose last recorded use is before `older_than`; returns how many.
    ///
    /// Sound only while every answer still in use is read at shorter
    /// intervals than the retention (the time since `older_than`) less
    /// [`USED_AT_MAX_LAG`]: the scoring batch reads every lead's answer at
    /// least every 7 days when it reads stored answers at all (`llm.batch`
    /// `cached` or `ask`), which is why the scheduler prunes right after a
    /// batch, with a retention of weeks.
    /// On SQLite, whose single writer every other write waits for, it
    /// deletes 10,000 rows at a time, each in its own short transaction; on
    /// PostgreSQL, in one statement.
    pub async fn prune_unused(&self, org: Option<OrgId>, older_than: DateTime<Utc>) -> Result<u64> {
        let unused = |q: &mut Sql| {
            q.push("used_at < ").bind(older_than);
            if let Some(org) = org {
                q.push(" AND organization_id = ").bind(org);
            }
        };
        match self.db.backend() {
            Backend::Postgres => {
                let mut q = Sql::new("DELETE FROM intent_cache WHERE ");
                unused(&mut q);
                Ok(self.db.execute(q).await?)
            }
            Backend::Sqlite => {
                let mut deleted = 0;
                loop {
                    let mut q = Sql::new(
                        "DELETE FROM intent_cache WHERE rowid IN \
                         (SELECT rowid FROM intent_cache WHERE ",
                    );
                    unused(&mut q);
                    q.push(" LIMIT ").bind(PRUNE_CHUNK).push(")");
                    let n = self.db.execute(q).await?;
                    deleted += n;
                    if n < PRUNE_CHUNK as u64 {
                        return Ok(deleted);
                    }
                }
            }
        }
    }
}

/// Appends `keys` as bound values, comma-separated, and the closing
/// parenthesis of an `IN (` list.
fn push_list(q: &mut Sql, keys: &[&str]) {
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind(*k);
    }
    q.push(")");
}

//! Cached buying-intent answers (`intent_cache`), per organization: the LLM's
//! reading of a text, keyed by the hex SHA-256 of the model and the text, so
//! that an unchanged text is never sent again, whichever instance or job
//! asks. Set-based: the batch fetches a chunk's answers with one query and
//! writes its new ones with one statement.
//!
//! The key is opaque here (the scoring crate computes it); the organization
//! is part of every statement and of the primary key, so an answer stored for
//! one organization never answers for another.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use neuracrm_domain::OrgId;

use crate::Result;
use crate::db::{Db, Sql};

/// Keys per lookup statement: a batch chunk (5,000 leads by default) is one
/// query; a larger `--chunk` is split, far below either backend's limit on
/// bound parameters (32,766 on SQLite, 65,535 on PostgreSQL).
const READ_CHUNK: usize = 10_000;

/// Rows per write statement (4 parameters each).
const WRITE_CHUNK: usize = 1_000;

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
}

impl IntentCacheData<'_> {
    /// The answers `org` has stored for any of `keys`, by key; keys without
    /// one are absent.
    pub async fn get_many(
        &self,
        org: OrgId,
        keys: &[String],
    ) -> Result<HashMap<String, CachedIntent>> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(READ_CHUNK) {
            let mut q = Sql::new(
                "SELECT cache_key, intent, source, answered_at FROM intent_cache \
                 WHERE organization_id = ",
            );
            q.bind(org).push(" AND cache_key IN (");
            for (i, k) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(k.as_str());
            }
            q.push(")");
            let rows: Vec<KeyedRow> = self.db.fetch_all(q).await?;
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

    /// The answer `org` has stored for `key`, if any.
    pub async fn get(&self, org: OrgId, key: &str) -> Result<Option<CachedIntent>> {
        Ok(self
            .db
            .fetch_optional(
                Sql::new(
                    "SELECT intent, source, answered_at FROM intent_cache \
                     WHERE organization_id = $1 AND cache_key = $2",
                )
                .arg(org)
                .arg(key),
            )
            .await?)
    }

    /// Stores (or replaces) answers of `org` given at `at`: one statement per
    /// 1,000, in one transaction. A key given twice keeps its last answer.
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
                "INSERT INTO intent_cache (organization_id, cache_key, intent, source, answered_at) VALUES ",
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
                    .push(")");
            }
            q.push(
                " ON CONFLICT (organization_id, cache_key) DO UPDATE SET \
                 intent = excluded.intent, source = excluded.source, \
                 answered_at = excluded.answered_at",
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
}

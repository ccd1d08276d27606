//! Deterministic demo data at any size: `neuracrm seed` and `neuracrm demo`.
//!
//! [`generator`] makes the rows (pure, seeded); this module writes them in bulk:
//! ids are assigned up front so rows can reference each other without round
//! trips, rows go in as multi-row INSERTs inside one transaction per chunk, and
//! on an empty database the secondary indexes are dropped during the load and
//! rebuilt after it (a sorted rebuild is several times faster than maintaining
//! them row by row). Generation runs on a blocking thread while the previous
//! chunk is written.

pub mod generator;
mod rng;
mod vocab;

use std::time::Instant;

use chrono::{NaiveDate, Utc};
use generator::{ActivitySeed, ContactSeed, DealSeed, IdBase, LeadChunk, LeadSeed, UserSeed};
pub use generator::{SeedSpec, Truth};
use serde::Serialize;

use crate::db::{Backend, Param, Sql, Tx};
use crate::{Result, Store};

/// The demo password of every seeded admin.
pub const DEMO_PASSWORD: &str = "neuracrm-demo";

/// What a seeding run created.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    /// The organizations created, with their admin logins.
    pub organizations: Vec<SeededOrg>,
    /// Rows written per table.
    pub contacts: u64,
    /// Leads written.
    pub leads: u64,
    /// Deals written.
    pub deals: u64,
    /// Activities written.
    pub activities: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// One seeded organization.
#[derive(Debug, Clone, Serialize)]
pub struct SeededOrg {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The admin login.
    pub admin_email: String,
}

/// Rows per INSERT statement (well under both engines' parameter limits).
const ROWS_PER_STATEMENT: usize = 400;
/// Leads per generated chunk (and per write transaction).
const LEADS_PER_CHUNK: usize = 5_000;

/// Writes `rows` into `table` with multi-row INSERTs.
async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Param>>,
) -> Result<()> {
    let width = columns.len();
    let mut head = format!("INSERT INTO {table} (");
    head.push_str(&columns.join(", "));
    head.push_str(") VALUES ");
    for batch in rows.chunks(ROWS_PER_STATEMENT) {
        let mut text = String::with_capacity(head.len() + batch.len() * width * 6);
        text.push_str(&head);
        let mut n = 0;
        for (i, _) in batch.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push('(');
            for c in 0..width {
                if c > 0 {
                    text.push(',');
                }
                n += 1;
                text.push('$');
                text.push_str(&n.to_string());
            }
            text.push(')');
        }
        let mut q = Sql::new(&text);
        for row in batch {
            for p in row {
                q = q.arg(p.clone());
            }
        }
        tx.execute(q).await?;
    }
    Ok(())
}

fn next_id_sql(table: &str) -> Sql {
    Sql::new(&format!(
        "SELECT CAST(COALESCE(MAX(id), 0) + 1 AS BIGINT) FROM {table}"
    ))
}

/// The secondary indexes of the bulk tables, as (name, definition).
async fn secondary_indexes(store: &Store) -> Result<Vec<(String, String)>> {
    let q = match store.db().backend() {
        Backend::Sqlite => Sql::new(
            // Unique indexes are constraints (foreign keys rely on them), not
            // mere lookup aids: they stay.
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND sql NOT LIKE 'CREATE UNIQUE INDEX%' \
             AND tbl_name IN ('contacts', 'leads', 'deals', 'activities')",
        ),
        Backend::Postgres => Sql::new(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename IN ('contacts', 'leads', 'deals', 'activities') \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        ),
    };
    Ok(store.db().fetch_all(q).await?)
}

/// Turns off the triggers of the bulk tables (SQLite: drops them;
/// PostgreSQL: disables them) and returns the statements that turn them
/// on again.
async fn metric_triggers(store: &Store) -> Result<Vec<String>> {
    let db = store.db();
    let mut restore = Vec::new();
    match db.backend() {
        Backend::Sqlite => {
            let rows: Vec<(String, String)> = db
                .fetch_all(Sql::new(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN \
                     ('leads', 'deals', 'activities', 'activity_sentiment') ORDER BY name",
                ))
                .await?;
            for (name, definition) in rows {
                db.execute(Sql::new(&format!("DROP TRIGGER {name}")))
                    .await?;
                restore.push(definition);
            }
        }
        Backend::Postgres => {
            for table in ["leads", "deals", "activities", "activity_sentiment"] {
                db.execute(Sql::new(&format!(
                    "ALTER TABLE {table} DISABLE TRIGGER USER"
                )))
                .await?;
                restore.push(format!("ALTER TABLE {table} ENABLE TRIGGER USER"));
            }
        }
    }
    Ok(restore)
}

/// Fills the database with `spec`'s organizations and their records.
///
/// `hash_password` turns [`DEMO_PASSWORD`] into a stored hash (once per
/// organization). Organizations are numbered after those already present, so
/// seeding twice adds new organizations rather than clashing.
pub async fn seed(
    store: &Store,
    spec: &SeedSpec,
    hash_password: &(dyn Fn(&str) -> String + Sync),
    mut progress: impl FnMut(u64),
) -> Result<SeedReport> {
    let started = Instant::now();
    let db = store.db();
    let (existing_orgs,): (i64,) = db
        .fetch_one(Sql::new(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM organizations",
        ))
        .await?;
    let (lead_rows,): (i64,) = db
        .fetch_one(Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM leads"))
        .await?;
    let rebuild = lead_rows == 0 && spec.leads as u64 * spec.orgs as u64 >= 50_000;
    let indexes = if rebuild {
        secondary_indexes(store).await?
    } else {
        Vec::new()
    };
    for (name, _) in &indexes {
        db.execute(Sql::new(&format!("DROP INDEX {name}"))).await?;
    }
    // The triggers that mark contacts' stored metrics stale (migration
    // 0024) are off during such a load too: the new organizations have no
    // stored metrics, so their first sync computes every contact anyway.
    let triggers = if rebuild {
        metric_triggers(store).await?
    } else {
        Vec::new()
    };

    let mut report = SeedReport {
        organizations: Vec::new(),
        contacts: 0,
        leads: 0,
        deals: 0,
        activities: 0,
        seconds: 0.0,
    };
    // The load; whether it succeeds or not, the indexes and triggers are
    // put back after it.
    let loaded: Result<()> = async {
        for k in 0..spec.orgs {
            let g = existing_orgs as u32 + k + 1;
            let (user,): (i64,) = db.fetch_one(next_id_sql("users")).await?;
            let (contact,): (i64,) = db.fetch_one(next_id_sql("contacts")).await?;
            let (lead,): (i64,) = db.fetch_one(next_id_sql("leads")).await?;
            let (deal,): (i64,) = db.fetch_one(next_id_sql("deals")).await?;
            let ids = IdBase {
                user,
                contact,
                lead,
                deal,
            };
            let people = generator::people(spec, g, ids);
            let hash = hash_password(DEMO_PASSWORD);

            let mut tx = db.begin().await?;
            let org = store
                .organizations()
                .create_in(&mut tx, &people.name)
                .await?;
            let now = Utc::now();
            insert_rows(
                &mut tx,
                "users",
                &[
                    "id",
                    "organization_id",
                    "email",
                    "name",
                    "role",
                    "password_hash",
                    "created_at",
                ],
                people
                    .users
                    .iter()
                    .map(|u: &UserSeed| {
                        vec![
                            u.id.into(),
                            org.id.into(),
                            u.email.as_str().into(),
                            u.name.as_str().into(),
                            u.role.into(),
                            hash.as_str().into(),
                            now.into(),
                        ]
                    })
                    .collect(),
            )
            .await?;
            insert_rows(
                &mut tx,
                "contacts",
                &[
                    "id",
                    "organization_id",
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "company",
                    "job_title",
                    "industry",
                    "company_size",
                    "owner_id",
                    "created_at",
                    "updated_at",
                ],
                people
                    .contacts
                    .iter()
                    .map(|c: &ContactSeed| {
                        vec![
                            c.id.into(),
                            org.id.into(),
                            c.first_name.into(),
                            c.last_name.into(),
                            c.email.as_str().into(),
                            c.phone.as_str().into(),
                            c.company.as_str().into(),
                            c.job_title.into(),
                            c.industry.into(),
                            c.company_size.into(),
                            c.owner_id.into(),
                            c.created_at.into(),
                            c.created_at.into(),
                        ]
                    })
                    .collect(),
            )
            .await?;
            tx.commit().await?;
            report.contacts += people.contacts.len() as u64;

            // Generate on a blocking thread, write here.
            let (sender, mut chunks) = tokio::sync::mpsc::channel::<LeadChunk>(2);
            let gen_spec = spec.clone();
            let gen_people = people.clone();
            let generator = tokio::task::spawn_blocking(move || {
                generator::leads(&gen_spec, g, &gen_people, ids, LEADS_PER_CHUNK, |chunk| {
                    // A closed receiver means the writer failed; its error is reported.
                    let _ = sender.blocking_send(chunk);
                });
            });
            let mut won = (0usize, 0f64);
            while let Some(chunk) = chunks.recv().await {
                for d in chunk.deals.iter().filter(|d| d.status == "won") {
                    won.0 += 1;
                    won.1 += d.value_cents as f64;
                }
                let mut tx = db.begin().await?;
                write_chunk(&mut tx, org.id.0, &chunk).await?;
                tx.commit().await?;
                report.leads += chunk.leads.len() as u64;
                report.deals += chunk.deals.len() as u64;
                report.activities += chunk.activities.len() as u64;
                progress(chunk.leads.len() as u64);
            }
            generator.await.map_err(|e| crate::StoreError::Corrupt {
                entity: "seed",
                message: e.to_string(),
            })?;

            let truth = generator::truth(
                spec,
                won.0,
                if won.0 > 0 { won.1 / won.0 as f64 } else { 0.0 },
            );
            store
                .organizations()
                .set_settings(
                    org.id,
                    &serde_json::json!({ "demo": {
                        "seed": spec.seed,
                        "truth_start": truth.start.format("%Y-%m").to_string(),
                        "expected_revenue_cents": truth.expected_revenue_cents,
                    }}),
                )
                .await?;
            // One forecasting model per organization, so the forecast cycle has
            // something to fit from the first run.
            store
                .forecasting_models()
                .create(
                    org.id,
                    None,
                    &neuracrm_domain::NewForecastingModel::starter(),
                )
                .await?;
            report.organizations.push(SeededOrg {
                id: org.id.0,
                name: org.name,
                admin_email: format!("admin@org{g}.example"),
            });
        }
        Ok(())
    }
    .await;

    for (_, definition) in &indexes {
        db.execute(Sql::new(definition)).await?;
    }
    for definition in &triggers {
        db.execute(Sql::new(definition)).await?;
    }
    loaded?;
    if db.backend() == Backend::Postgres {
        for table in ["users", "contacts", "leads", "deals"] {
            db.execute(Sql::new(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )))
            .await?;
        }
        db.execute(Sql::new("ANALYZE")).await?;
    } else {
        db.execute(Sql::new("ANALYZE")).await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

async fn write_chunk(tx: &mut Tx, org: i64, chunk: &LeadChunk) -> Result<()> {
    insert_rows(
        tx,
        "leads",
        &[
            "id",
            "organization_id",
            "contact_id",
            "owner_id",
            "title",
            "description",
            "status",
            "source",
            "budget_cents",
            "expected_decision",
            "created_at",
            "updated_at",
        ],
        chunk
            .leads
            .iter()
            .map(|l: &LeadSeed| {
                vec![
                    l.id.into(),
                    org.into(),
                    l.contact_id.into(),
                    l.owner_id.into(),
                    l.title.as_str().into(),
                    l.description.as_str().into(),
                    l.status.into(),
                    l.source.into(),
                    l.budget_cents.into(),
                    l.expected_decision.into(),
                    l.created_at.into(),
                    l.created_at.into(),
                ]
            })
            .collect(),
    )
    .await?;
    insert_rows(
        tx,
        "deals",
        &[
            "id",
            "organization_id",
            "contact_id",
            "lead_id",
            "owner_id",
            "title",
            "value_cents",
            "stage",
            "status",
            "expected_close",
            "closed_at",
            "created_at",
            "updated_at",
        ],
        chunk
            .deals
            .iter()
            .map(|d: &DealSeed| {
                vec![
                    d.id.into(),
                    org.into(),
                    d.contact_id.into(),
                    d.lead_id.into(),
                    d.owner_id.into(),
                    d.title.as_str().into(),
                    d.value_cents.into(),
                    d.stage.into(),
                    d.status.into(),
                    d.expected_close.into(),
                    d.closed_at.into(),
                    d.created_at.into(),
                    d.closed_at.unwrap_or(d.created_at).into(),
                ]
            })
            .collect(),
    )
    .await?;
    insert_rows(
        tx,
        "activities",
        &[
            "organization_id",
            "type",
            "lead_id",
            "contact_id",
            "user_id",
            "subject",
            "body",
            "duration_seconds",
            "occurred_at",
            "created_at",
        ],
        chunk
            .activities
            .iter()
            .map(|a: &ActivitySeed| {
                vec![
                    org.into(),
                    a.kind.into(),
                    a.lead_id.into(),
                    a.contact_id.into(),
                    a.user_id.into(),
                    a.subject.into(),
                    a.body.into(),
                    a.duration_seconds.into(),
                    a.occurred_at.into(),
                    a.occurred_at.into(),
                ]
            })
            .collect(),
    )
    .await
}

/// Today's date, the default anchor of generated history.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

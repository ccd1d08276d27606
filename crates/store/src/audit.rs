//! The audit log: one entry per write, recorded in the writer's transaction.

use chrono::{DateTime, Utc};
use neuracrm_domain::{AuditEntry, AuditId, OrgId, UserId};

use crate::db::{Db, Sql, Tx};
use crate::{Page, Paged, Result};

/// Audit-log repository.
#[derive(Debug, Clone, Copy)]
pub struct AuditLog<'a> {
    pub(crate) db: &'a Db,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A row was inserted.
    Create,
    /// A row was changed.
    Update,
    /// A row was deleted.
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// Records one write inside the caller's transaction.
pub(crate) async fn record(
    tx: &mut Tx,
    org: OrgId,
    actor: Option<UserId>,
    action: Action,
    entity: &str,
    entity_id: i64,
) -> Result<()> {
    tx.execute(
        Sql::new(
            "INSERT INTO audit_log (organization_id, user_id, action, entity, entity_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .arg(org)
        .arg(actor)
        .arg(action.as_str())
        .arg(entity)
        .arg(entity_id)
        .arg(Utc::now()),
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    organization_id: i64,
    user_id: Option<i64>,
    action: String,
    entity: String,
    entity_id: i64,
    at: DateTime<Utc>,
}

impl AuditLog<'_> {
    /// The organization's entries, newest first.
    pub async fn list(&self, org: OrgId, page: Page) -> Result<Paged<AuditEntry>> {
        let mut q = Sql::new(
            "SELECT id, organization_id, user_id, action, entity, entity_id, at FROM audit_log \
             WHERE organization_id = ",
        );
        q.bind(org);
        crate::tables::order_and_page(&mut q, "at", crate::SortDir::Desc, page);
        let rows: Vec<AuditRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(|r| {
            Ok::<_, crate::StoreError>(AuditEntry {
                id: AuditId(r.id),
                organization_id: OrgId(r.organization_id),
                user_id: r.user_id.map(UserId),
                action: r.action,
                entity: r.entity,
                entity_id: r.entity_id,
                at: r.at,
            })
        })
    }
}

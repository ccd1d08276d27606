//! Organizations (tenants).

use chrono::{DateTime, Utc};
use neuracrm_domain::{OrgId, Organization, values::required_text};

use crate::db::{Db, Sql};
use crate::{Result, StoreError};

/// Organization repository.
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    name: String,
    created_at: DateTime<Utc>,
}

impl From<OrgRow> for Organization {
    fn from(r: OrgRow) -> Self {
        Organization {
            id: OrgId(r.id),
            name: r.name,
            created_at: r.created_at,
        }
    }
}

impl Organizations<'_> {
    /// Creates an organization.
    pub async fn create(&self, name: &str) -> Result<Organization> {
        let mut tx = self.db.begin().await?;
        let org = self.create_in(&mut tx, name).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Creates an organization inside a caller's transaction.
    pub async fn create_in(&self, tx: &mut crate::Tx, name: &str) -> Result<Organization> {
        let name = required_text(name, "organization_name", neuracrm_domain::MAX_NAME)?;
        let row: OrgRow = tx
            .fetch_one(
                Sql::new(
                    "INSERT INTO organizations (name, created_at) VALUES ($1, $2) \
                     RETURNING id, name, created_at",
                )
                .arg(name)
                .arg(Utc::now()),
            )
            .await?;
        Ok(row.into())
    }

    /// One organization.
    pub async fn get(&self, org: OrgId) -> Result<Organization> {
        let row: Option<OrgRow> = self
            .db
            .fetch_optional(
                Sql::new("SELECT id, name, created_at FROM organizations WHERE id = $1").arg(org),
            )
            .await?;
        row.map(Into::into).ok_or(StoreError::NotFound {
            entity: "organization",
        })
    }

    /// Every organization's id, oldest first (for jobs that visit each tenant).
    pub async fn ids(&self) -> Result<Vec<OrgId>> {
        let rows: Vec<(i64,)> = self
            .db
            .fetch_all(Sql::new("SELECT id FROM organizations ORDER BY id"))
            .await?;
        Ok(rows.into_iter().map(|(id,)| OrgId(id)).collect())
    }

    /// The organization's settings document (a JSON object).
    pub async fn settings(&self, org: OrgId) -> Result<serde_json::Value> {
        let row: Option<(sqlx::types::Json<serde_json::Value>,)> = self
            .db
            .fetch_optional(Sql::new("SELECT settings FROM organizations WHERE id = $1").arg(org))
            .await?;
        row.map(|(j,)| j.0).ok_or(StoreError::NotFound {
            entity: "organization",
        })
    }

    /// Replaces the organization's settings document.
    pub async fn set_settings(&self, org: OrgId, settings: &serde_json::Value) -> Result<()> {
        let n = self
            .db
            .execute(
                Sql::new("UPDATE organizations SET settings = $1 WHERE id = $2")
                    .arg(settings.clone())
                    .arg(org),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound {
                entity: "organization",
            });
        }
        Ok(())
    }
}

//! Bounces and complaints reported after delivery (the bounce webhook), and
//! the per-organization secret those reports are signed with.

use chrono::{DateTime, Utc};
use neuracrm_domain::{BounceType, OrgId};

use super::{Campaigns, suppress_in};
use crate::Result;
use crate::db::Sql;

/// What a reported bounce or complaint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceOutcome {
    /// The send-log row marked (the latest message sent to the address),
    /// when there is one.
    pub recipient: Option<i64>,
    /// Whether the address is now suppressed.
    pub suppressed: bool,
    /// Soft bounces of the address so far (0 for hard ones and complaints).
    pub soft_bounces: i64,
}

impl Campaigns<'_> {
    /// Sets the organization's webhook secret, replacing the one before.
    pub async fn set_webhook_secret(&self, org: OrgId, secret: &str) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "INSERT INTO webhook_secrets (organization_id, secret, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (organization_id) \
                     DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at",
                )
                .arg(org)
                .arg(secret)
                .arg(Utc::now()),
            )
            .await?;
        Ok(())
    }

    /// The organization's webhook secret, if it made one.
    pub async fn webhook_secret(&self, org: OrgId) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .db
            .fetch_optional(
                Sql::new("SELECT secret FROM webhook_secrets WHERE organization_id = $1").arg(org),
            )
            .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Records a bounce or complaint of `email` (lower case) in one
    /// transaction. A hard bounce marks the latest message sent to it
    /// `bounced`, a complaint stamps its `complained_at`; both suppress the
    /// address. A soft bounce counts, and suppresses once the count reaches
    /// `soft_limit`.
    pub async fn bounce(
        &self,
        org: OrgId,
        email: &str,
        kind: BounceType,
        soft_limit: u32,
        now: DateTime<Utc>,
    ) -> Result<BounceOutcome> {
        let mut tx = self.db.begin().await?;
        let latest: Option<(i64,)> = tx
            .fetch_optional(
                Sql::new(
                    "SELECT id FROM campaign_recipients WHERE organization_id = $1 AND email = $2 \
                     AND sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 1",
                )
                .arg(org)
                .arg(email),
            )
            .await?;
        let recipient = latest.map(|(id,)| id);
        let (reason, mark, soft_bounces) = match kind {
            BounceType::Hard => (
                "bounced",
                Some(
                    "UPDATE campaign_recipients SET status = 'bounced', \
                      smtp_reply = 'hard bounce reported by webhook', updated_at = $1 WHERE id = $2",
                ),
                0,
            ),
            BounceType::Complaint => (
                "complaint",
                Some(
                    "UPDATE campaign_recipients SET complained_at = COALESCE(complained_at, $1), \
                      updated_at = $1 WHERE id = $2",
                ),
                0,
            ),
            BounceType::Soft => {
                let (n,): (i64,) = tx
                    .fetch_one(
                        Sql::new(
                            "INSERT INTO soft_bounces (organization_id, email, count, last_at) \
                             VALUES ($1, $2, 1, $3) ON CONFLICT (organization_id, email) \
                             DO UPDATE SET count = soft_bounces.count + 1, last_at = excluded.last_at \
                             RETURNING count",
                        )
                        .arg(org)
                        .arg(email)
                        .arg(now),
                    )
                    .await?;
                ("bounced", None, n)
            }
        };
        if let (Some(sql), Some(id)) = (mark, recipient) {
            tx.execute(Sql::new(sql).arg(now).arg(id)).await?;
        }
        let suppressed = kind != BounceType::Soft || soft_bounces >= i64::from(soft_limit.max(1));
        if suppressed {
            suppress_in(&mut tx, org, email, reason, now).await?;
        }
        tx.commit().await?;
        Ok(BounceOutcome {
            recipient,
            suppressed,
            soft_bounces,
        })
    }
}

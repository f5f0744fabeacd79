//! The disclosure log: which recipient received which category of a contact's data. Callers
//! record a transfer in the transaction that makes it (for WhatsApp: every message handed to
//! Meta), so the log is complete; a row per contact, recipient and category counts them.

use uuid::Uuid;

use crate::Result;
use crate::db::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferRow {
    pub recipient: String,
    pub category: String,
    /// ISO 3166 code of where the recipient processes the data.
    pub country: String,
    pub first_at: i64,
    pub last_at: i64,
    pub transfers: i64,
}

/// Records that `category` data of `contact` went to `recipient` (in `country`) at `at`.
pub async fn record(
    s: &mut Scope<'_>,
    contact: Uuid,
    recipient: &str,
    country: &str,
    category: &str,
    at: i64,
) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO transfer_log (tenant_id, contact_id, recipient, category, country, first_at,
             last_at, transfers)
         VALUES ($1, $2, $3, $4, $5, $6, $6, 1)
         ON CONFLICT (tenant_id, contact_id, recipient, category) DO UPDATE SET
             transfers = transfer_log.transfers + 1, country = excluded.country,
             first_at = CASE WHEN excluded.first_at < transfer_log.first_at
                             THEN excluded.first_at ELSE transfer_log.first_at END,
             last_at = CASE WHEN excluded.last_at > transfer_log.last_at
                            THEN excluded.last_at ELSE transfer_log.last_at END",
    )
    .bind(tid).bind(contact).bind(recipient).bind(category).bind(country).bind(at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn for_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<Vec<TransferRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TransferRow>(
        "SELECT recipient, category, country, first_at, last_at, transfers FROM transfer_log
         WHERE tenant_id = $1 AND contact_id = $2 ORDER BY recipient, category",
    )
    .bind(tid).bind(contact)
    .fetch_all(&mut *c).await)?)
}

pub async fn delete_for_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM transfer_log WHERE tenant_id = $1 AND contact_id = $2",
    )
    .bind(tid).bind(contact)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

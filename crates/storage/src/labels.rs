//! Labels across the tenant: the names in use on conversations and contacts with how many of
//! each carry them, renaming (merging into a name already in use) and deleting them everywhere.

use std::collections::BTreeMap;

use crate::Result;
use crate::db::Scope;

/// A label and how many conversations and contacts carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCount {
    pub label: String,
    pub conversations: i64,
    pub contacts: i64,
}

/// Every label in use, by name.
pub async fn counts(s: &mut Scope<'_>) -> Result<Vec<LabelCount>> {
    let tid = s.tid();
    let conversations: Vec<(String, i64)> = on!(s.ex(), c => sqlx::query_as(
        "SELECT label, COUNT(*) FROM conversation_labels WHERE tenant_id = $1 GROUP BY label",
    )
    .bind(tid).fetch_all(&mut *c).await)?;
    let contacts: Vec<(String, i64)> = on!(s.ex(), c => sqlx::query_as(
        "SELECT label, COUNT(*) FROM contact_labels WHERE tenant_id = $1 GROUP BY label",
    )
    .bind(tid).fetch_all(&mut *c).await)?;
    let mut all: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (label, n) in conversations {
        all.entry(label).or_default().0 = n;
    }
    for (label, n) in contacts {
        all.entry(label).or_default().1 = n;
    }
    Ok(all
        .into_iter()
        .map(|(label, (conversations, contacts))| LabelCount { label, conversations, contacts })
        .collect())
}

/// Conversations and contacts that carry `label`.
pub async fn count(s: &mut Scope<'_>, label: &str) -> Result<(i64, i64)> {
    let tid = s.tid();
    let conversations: i64 = on!(s.ex(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM conversation_labels WHERE tenant_id = $1 AND label = $2",
    )
    .bind(tid).bind(label).fetch_one(&mut *c).await)?;
    let contacts: i64 = on!(s.ex(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM contact_labels WHERE tenant_id = $1 AND label = $2",
    )
    .bind(tid).bind(label).fetch_one(&mut *c).await)?;
    Ok((conversations, contacts))
}

/// The conversations that carry `label` (to tell their viewers).
pub async fn conversations(s: &mut Scope<'_>, label: &str) -> Result<Vec<uuid::Uuid>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT conversation_id FROM conversation_labels WHERE tenant_id = $1 AND label = $2",
    )
    .bind(tid).bind(label).fetch_all(&mut *c).await)?)
}

/// Renames `from` to `to` on every conversation and contact; one that already carries `to`
/// keeps it once (the labels merge).
pub async fn rename(s: &mut Scope<'_>, from: &str, to: &str) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => {
        sqlx::query(
            "INSERT INTO conversation_labels (tenant_id, conversation_id, label)
             SELECT tenant_id, conversation_id, $3 FROM conversation_labels WHERE tenant_id = $1 AND label = $2
             ON CONFLICT DO NOTHING",
        )
        .bind(tid).bind(from).bind(to).execute(&mut *c).await?;
        sqlx::query(
            "INSERT INTO contact_labels (tenant_id, contact_id, label)
             SELECT tenant_id, contact_id, $3 FROM contact_labels WHERE tenant_id = $1 AND label = $2
             ON CONFLICT DO NOTHING",
        )
        .bind(tid).bind(from).bind(to).execute(&mut *c).await?;
        Ok::<_, sqlx::Error>(())
    })?;
    delete(s, from).await
}

/// Removes `label` from every conversation and contact.
pub async fn delete(s: &mut Scope<'_>, label: &str) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => {
        sqlx::query("DELETE FROM conversation_labels WHERE tenant_id = $1 AND label = $2")
            .bind(tid).bind(label).execute(&mut *c).await?;
        sqlx::query("DELETE FROM contact_labels WHERE tenant_id = $1 AND label = $2")
            .bind(tid).bind(label).execute(&mut *c).await?;
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

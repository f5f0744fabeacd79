//! Contacts: a tenant's customers. Every personal field is a `Sealed<T>` under the contact's own
//! key; phone, e-mail and WhatsApp id have blind indexes for lookups and uniqueness.

use std::collections::HashMap;

use switchboard_core::{E164, Email, WaId};
use switchboard_privacy::{BlindIndex, Sealed};
use uuid::Uuid;

use crate::db::Scope;
use crate::filter::{Param, Where, bulk_chunks, bulk_sql, values_list};
use crate::search::{self, Matching};
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name_sealed: Option<Sealed<String>>,
    pub phone_sealed: Option<Sealed<E164>>,
    pub phone_index: Option<BlindIndex>,
    pub email_sealed: Option<Sealed<Email>>,
    pub email_index: Option<BlindIndex>,
    pub wa_id_sealed: Option<Sealed<WaId>>,
    pub wa_id_index: Option<BlindIndex>,
    pub attributes_sealed: Option<Sealed<serde_json::Value>>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "tenant_id, id, name_sealed, phone_sealed, phone_index, email_sealed, \
    email_index, wa_id_sealed, wa_id_index, attributes_sealed, created_at, updated_at";

pub async fn insert(s: &mut Scope<'_>, row: &ContactRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO contacts (tenant_id, id, name_sealed, phone_sealed, phone_index, email_sealed,
             email_index, wa_id_sealed, wa_id_index, attributes_sealed, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tid).bind(row.id).bind(&row.name_sealed).bind(&row.phone_sealed).bind(row.phone_index)
    .bind(&row.email_sealed).bind(row.email_index).bind(&row.wa_id_sealed).bind(row.wa_id_index)
    .bind(&row.attributes_sealed).bind(row.created_at).bind(row.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Writes every mutable column of the row (the service merges a PATCH before calling this).
pub async fn update(s: &mut Scope<'_>, row: &ContactRow) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE contacts SET name_sealed = $3, phone_sealed = $4, phone_index = $5,
             email_sealed = $6, email_index = $7, wa_id_sealed = $8, wa_id_index = $9,
             attributes_sealed = $10, updated_at = $11
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(row.id).bind(&row.name_sealed).bind(&row.phone_sealed).bind(row.phone_index)
    .bind(&row.email_sealed).bind(row.email_index).bind(&row.wa_id_sealed).bind(row.wa_id_index)
    .bind(&row.attributes_sealed).bind(row.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Inserts many contacts, one statement per [`bulk_chunks`] chunk (bulk loads).
pub async fn insert_many(s: &mut Scope<'_>, rows: &[ContactRow]) -> Result<()> {
    const COLS: usize = 11;
    let tid = s.tid();
    for chunk in bulk_chunks(s.backend(), rows) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "INSERT INTO contacts (tenant_id, id, name_sealed, phone_sealed, phone_index, email_sealed,
                 email_index, wa_id_sealed, wa_id_index, attributes_sealed, created_at, updated_at)
             SELECT $1, v.* FROM (VALUES {}) AS v WHERE TRUE",
                values_list(chunk.len(), COLS, 2)
            ),
        );
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
            for r in chunk {
                q = q.bind(r.id).bind(&r.name_sealed).bind(&r.phone_sealed).bind(r.phone_index)
                    .bind(&r.email_sealed).bind(r.email_index).bind(&r.wa_id_sealed).bind(r.wa_id_index)
                    .bind(&r.attributes_sealed).bind(r.created_at).bind(r.updated_at);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<ContactRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id)
    .fetch_one(&mut *c).await)?)
}

#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    Phone(BlindIndex),
    Email(BlindIndex),
    WaId(BlindIndex),
}

pub async fn find(s: &mut Scope<'_>, by: Lookup) -> Result<Option<ContactRow>> {
    let tid = s.tid();
    let (sql, index): (&'static str, BlindIndex) = match by {
        Lookup::Phone(i) => ("phone_index", i),
        Lookup::Email(i) => ("email_index", i),
        Lookup::WaId(i) => ("wa_id_index", i),
    };
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE tenant_id = $1 AND {sql} = $2
         ORDER BY id LIMIT 1"
    )))
    .bind(tid).bind(index)
    .fetch_optional(&mut *c).await)?)
}

/// (WhatsApp id index, contact id, has a name) of the contacts holding these WhatsApp ids: one
/// lookup for a whole ingest batch.
pub async fn by_wa_indexes(s: &mut Scope<'_>, indexes: &[BlindIndex]) -> Result<Vec<(BlindIndex, Uuid, bool)>> {
    let tid = s.tid();
    let mut out = Vec::with_capacity(indexes.len());
    for chunk in bulk_chunks(s.backend(), indexes) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "SELECT wa_id_index, id, name_sealed IS NOT NULL FROM contacts
             WHERE tenant_id = $1 AND wa_id_index IN {} ORDER BY id",
                values_list(1, chunk.len(), 2)
            ),
        );
        let rows: Vec<(BlindIndex, Uuid, bool)> = on!(s.ex(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tid);
            for i in chunk {
                q = q.bind(*i);
            }
            q.fetch_all(&mut *c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Filters for the contact list; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub lookup: Option<Lookup>,
    pub label: Option<String>,
    /// Search tokens, all required (see [`crate::search::require_terms`]).
    pub terms: Vec<BlindIndex>,
}

/// Newest first, `limit` rows created before the contact `before`.
pub async fn list(s: &mut Scope<'_>, filter: &ListFilter, before: Option<Uuid>, limit: i64) -> Result<Vec<ContactRow>> {
    let mut w = Where::default();
    w.and("c.tenant_id = ?", [Param::Uuid(s.tid())]);
    if let Some(id) = before {
        w.and("c.id < ?", [Param::Uuid(id)]);
    }
    match filter.lookup {
        Some(Lookup::Phone(i)) => w.and("c.phone_index = ?", [Param::Blind(i)]),
        Some(Lookup::Email(i)) => w.and("c.email_index = ?", [Param::Blind(i)]),
        Some(Lookup::WaId(i)) => w.and("c.wa_id_index = ?", [Param::Blind(i)]),
        None => {}
    }
    if let Some(label) = &filter.label {
        w.and(
            "EXISTS (SELECT 1 FROM contact_labels l WHERE l.tenant_id = c.tenant_id AND l.contact_id = c.id AND l.label = ?)",
            [Param::Text(label.clone())],
        );
    }
    search::require_terms(&mut w, s.backend(), s.tid(), &filter.terms, Matching::Contacts);
    let limit = w.push(Param::Int(limit));
    let sql = format!("SELECT {COLUMNS} FROM contacts c WHERE {} ORDER BY c.id DESC LIMIT {limit}", w.sql());
    Ok(on!(s.ex(), c => bind_all!(sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql.clone())), w)
        .fetch_all(&mut *c).await)?)
}

pub async fn delete(s: &mut Scope<'_>, id: Uuid) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query("DELETE FROM contacts WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub async fn set_labels(s: &mut Scope<'_>, contact: Uuid, labels: &[String]) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => {
        sqlx::query("DELETE FROM contact_labels WHERE tenant_id = $1 AND contact_id = $2")
            .bind(tid).bind(contact).execute(&mut *c).await?;
        for label in labels {
            sqlx::query("INSERT INTO contact_labels (tenant_id, contact_id, label) VALUES ($1, $2, $3)")
                .bind(tid).bind(contact).bind(label).execute(&mut *c).await?;
        }
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

/// Labels of several contacts at once, for list pages.
pub async fn labels_of(s: &mut Scope<'_>, contacts: &[Uuid]) -> Result<HashMap<Uuid, Vec<String>>> {
    let tid = s.tid();
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    // One query per contact keeps the SQL identical on both engines; list pages hold ≤ 100 rows.
    for &id in contacts {
        let rows: Vec<String> = on!(s.ex(), c => sqlx::query_scalar(
            "SELECT label FROM contact_labels WHERE tenant_id = $1 AND contact_id = $2 ORDER BY label",
        )
        .bind(tid).bind(id)
        .fetch_all(&mut *c).await)?;
        out.insert(id, rows);
    }
    Ok(out)
}

/// Inserts a contact unless one with the same WhatsApp id (or phone) exists: concurrent first
/// messages from one number create one contact. True when this call inserted it.
pub async fn insert_if_absent(s: &mut Scope<'_>, row: &ContactRow) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "INSERT INTO contacts (tenant_id, id, name_sealed, phone_sealed, phone_index, email_sealed,
             email_index, wa_id_sealed, wa_id_index, attributes_sealed, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT DO NOTHING",
    )
    .bind(tid).bind(row.id).bind(&row.name_sealed).bind(&row.phone_sealed).bind(row.phone_index)
    .bind(&row.email_sealed).bind(row.email_index).bind(&row.wa_id_sealed).bind(row.wa_id_index)
    .bind(&row.attributes_sealed).bind(row.created_at).bind(row.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Links a WhatsApp id to an existing contact (found by phone) that has none yet.
pub async fn set_wa_id(
    s: &mut Scope<'_>,
    id: Uuid,
    sealed: &Sealed<WaId>,
    index: BlindIndex,
    now: i64,
) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE contacts SET wa_id_sealed = $3, wa_id_index = $4, updated_at = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(sealed).bind(index).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The contact's id and whether it has a name, for the ingest path.
pub async fn id_and_named(s: &mut Scope<'_>, by: Lookup) -> Result<Option<(Uuid, bool)>> {
    Ok(find(s, by).await?.map(|r| (r.id, r.name_sealed.is_some())))
}

pub async fn set_name(s: &mut Scope<'_>, id: Uuid, name: &Sealed<String>, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query("UPDATE contacts SET name_sealed = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id).bind(name).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

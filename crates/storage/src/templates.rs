//! Message templates of a WhatsApp Business Account, synchronised from Meta.

use uuid::Uuid;

use crate::Result;
use crate::db::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub waba_id: String,
    pub provider_template_id: Option<String>,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub parameter_format: String,
    /// Meta's component array as JSON text.
    pub components: String,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "tenant_id, id, waba_id, provider_template_id, name, language, category, status, \
    parameter_format, components, quality, rejected_reason, created_at, updated_at";

/// Inserts or refreshes a template, keyed by (WABA, name, language).
pub async fn upsert(s: &mut Scope<'_>, t: &TemplateRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO templates (tenant_id, id, waba_id, provider_template_id, name, language, category, status,
             parameter_format, components, quality, rejected_reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (tenant_id, waba_id, name, language) DO UPDATE SET
             provider_template_id = COALESCE(excluded.provider_template_id, templates.provider_template_id),
             category = excluded.category, status = excluded.status,
             parameter_format = excluded.parameter_format, components = excluded.components,
             quality = COALESCE(excluded.quality, templates.quality),
             rejected_reason = excluded.rejected_reason, updated_at = excluded.updated_at",
    )
    .bind(tid).bind(t.id).bind(&t.waba_id).bind(&t.provider_template_id).bind(&t.name).bind(&t.language)
    .bind(&t.category).bind(&t.status).bind(&t.parameter_format).bind(&t.components).bind(&t.quality)
    .bind(&t.rejected_reason).bind(t.created_at).bind(t.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn list(s: &mut Scope<'_>, waba_id: Option<&str>) -> Result<Vec<TemplateRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM templates WHERE tenant_id = $1 AND ($2 IS NULL OR waba_id = $2) ORDER BY name, language"
    )))
    .bind(tid).bind(waba_id).fetch_all(&mut *c).await)?)
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<TemplateRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM templates WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

/// All languages of a template name in a WABA.
pub async fn by_name(s: &mut Scope<'_>, waba_id: &str, name: &str) -> Result<Vec<TemplateRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM templates WHERE tenant_id = $1 AND waba_id = $2 AND name = $3"
    )))
    .bind(tid).bind(waba_id).bind(name).fetch_all(&mut *c).await)?)
}

pub async fn by_provider_id(s: &mut Scope<'_>, provider_id: &str) -> Result<Option<TemplateRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM templates WHERE tenant_id = $1 AND provider_template_id = $2 LIMIT 1"
    )))
    .bind(tid).bind(provider_id).fetch_optional(&mut *c).await)?)
}

/// Status, quality or category changes reported by webhook.
pub async fn update_state(
    s: &mut Scope<'_>,
    id: Uuid,
    status: Option<&str>,
    quality: Option<&str>,
    category: Option<&str>,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE templates SET status = COALESCE($3, status), quality = COALESCE($4, quality),
             category = COALESCE($5, category), rejected_reason = COALESCE($6, rejected_reason), updated_at = $7
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(status).bind(quality).bind(category).bind(reason).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(s: &mut Scope<'_>, waba_id: &str, name: &str) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query("DELETE FROM templates WHERE tenant_id = $1 AND waba_id = $2 AND name = $3")
        .bind(tid).bind(waba_id).bind(name).execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

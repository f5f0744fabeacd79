//! Per-tenant privacy settings: jurisdiction, reply language, keyword lists and replies, the
//! current privacy-notice version. A tenant without a row uses the defaults.

use crate::Result;
use crate::db::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrivacySettingsRow {
    pub jurisdiction: Option<String>,
    pub language: Option<String>,
    /// JSON array of strings.
    pub opt_out_keywords: String,
    /// JSON array of strings.
    pub opt_in_keywords: String,
    pub opt_out_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    pub notice_version: Option<String>,
    /// JSON `{"opt_out": {"en"?, "tr"?}, "opt_in": {…}}`: the replies per language.
    pub replies: Option<String>,
    pub updated_at: i64,
}

pub async fn get(s: &mut Scope<'_>) -> Result<Option<PrivacySettingsRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, PrivacySettingsRow>(
        "SELECT jurisdiction, language, opt_out_keywords, opt_in_keywords, opt_out_reply,
                opt_in_reply, notice_version, replies, updated_at
         FROM privacy_settings WHERE tenant_id = $1",
    )
    .bind(tid)
    .fetch_optional(&mut *c).await)?)
}

pub async fn put(s: &mut Scope<'_>, row: &PrivacySettingsRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO privacy_settings (tenant_id, jurisdiction, language, opt_out_keywords,
             opt_in_keywords, opt_out_reply, opt_in_reply, notice_version, replies, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tenant_id) DO UPDATE SET jurisdiction = excluded.jurisdiction,
             language = excluded.language, opt_out_keywords = excluded.opt_out_keywords,
             opt_in_keywords = excluded.opt_in_keywords, opt_out_reply = excluded.opt_out_reply,
             opt_in_reply = excluded.opt_in_reply, notice_version = excluded.notice_version,
             replies = excluded.replies, updated_at = excluded.updated_at",
    )
    .bind(tid).bind(&row.jurisdiction).bind(&row.language).bind(&row.opt_out_keywords)
    .bind(&row.opt_in_keywords).bind(&row.opt_out_reply).bind(&row.opt_in_reply)
    .bind(&row.notice_version).bind(&row.replies).bind(row.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

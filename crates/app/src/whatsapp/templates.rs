//! Message templates: synchronised from the WhatsApp Business Account, created and deleted
//! through the Graph API, their status kept current by webhooks.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_channels::whatsapp::ErrorKind;
use switchboard_core::{ChannelId, Invalid, Millis, Permission, TenantId};
use switchboard_storage::templates::{self, TemplateRow};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    /// APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …: only APPROVED can be sent.
    pub status: String,
    pub parameter_format: String,
    #[schema(value_type = Object)]
    pub components: Value,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    #[schema(value_type = String, format = Uuid)]
    pub channel_id: Uuid,
    /// Lowercase letters, digits and underscores.
    pub name: String,
    /// e.g. `tr`, `en_US`
    pub language: String,
    /// MARKETING, UTILITY or AUTHENTICATION
    pub category: String,
    /// `positional` (default) or `named`
    #[serde(default)]
    pub parameter_format: Option<String>,
    /// Meta's component objects (BODY with text and example, HEADER, FOOTER, BUTTONS).
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<Value>,
}

fn view(t: TemplateRow) -> TemplateView {
    TemplateView {
        id: t.id.to_string(),
        waba_id: t.waba_id,
        name: t.name,
        language: t.language,
        category: t.category,
        status: t.status,
        parameter_format: t.parameter_format,
        components: serde_json::from_str(&t.components).unwrap_or(Value::Null),
        quality: t.quality,
        rejected_reason: t.rejected_reason,
        updated_at: Millis(t.updated_at).to_rfc3339(),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn upstream(e: &switchboard_channels::whatsapp::GraphError) -> AppError {
    match e.kind {
        ErrorKind::InvalidRequest | ErrorKind::TemplateInvalid => {
            let why = match e.details.as_deref().filter(|d| !d.is_empty()) {
                Some(d) => format!("{} ({d})", e.message),
                None => e.message.clone(),
            };
            Invalid::new("components", "rejected_by_meta", format!("Meta refused the template: {why}")).into()
        }
        _ => AppError::Upstream { code: "graph_error", message: e.message.clone() },
    }
}

impl App {
    pub async fn list_templates(&self, p: &Principal, channel: Option<ChannelId>) -> AppResult<Vec<TemplateView>> {
        p.require(Permission::TemplatesRead)?;
        let waba = match channel {
            Some(c) => Some(self.channel_info(p.tenant, c).await?.waba_id.clone()),
            None => None,
        };
        let rows = templates::list(&mut self.db.read().await?.tenant(p.tenant), waba.as_deref()).await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Fetches every template of the number's WABA and stores them.
    pub async fn sync_templates(&self, p: &Principal, channel: ChannelId) -> AppResult<usize> {
        p.require(Permission::TemplatesManage)?;
        self.sync_templates_for(p.tenant, channel).await
    }

    pub(crate) async fn sync_templates_for(&self, tenant: TenantId, channel: ChannelId) -> AppResult<usize> {
        let ch = self.channel_info(tenant, channel).await?;
        let graph = self.wa.graph(&ch.graph_base_url, &ch.api_version)?;
        let list = graph.list_templates(&ch.access_token, &ch.waba_id).await.map_err(|e| upstream(&e))?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        for t in &list {
            let (Some(name), Some(language)) = (str_field(t, "name"), str_field(t, "language")) else { continue };
            templates::upsert(
                &mut s,
                &TemplateRow {
                    tenant_id: tenant.as_uuid(),
                    id: Uuid::now_v7(),
                    waba_id: ch.waba_id.clone(),
                    provider_template_id: str_field(t, "id").map(str::to_owned),
                    name: name.to_owned(),
                    language: language.to_owned(),
                    category: str_field(t, "category").unwrap_or("UTILITY").to_owned(),
                    status: str_field(t, "status").unwrap_or("PENDING").to_owned(),
                    parameter_format: str_field(t, "parameter_format").unwrap_or("positional").to_ascii_lowercase(),
                    components: t.get("components").cloned().unwrap_or(Value::Array(vec![])).to_string(),
                    quality: t
                        .get("quality_score")
                        .and_then(|q| q.get("score").or(Some(q)))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    rejected_reason: str_field(t, "rejected_reason").filter(|r| *r != "NONE").map(str::to_owned),
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(list.len())
    }

    pub async fn create_template(&self, p: &Principal, input: NewTemplate) -> AppResult<TemplateView> {
        p.require(Permission::TemplatesManage)?;
        let name = input.name.trim();
        if name.is_empty()
            || name.len() > 512
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Invalid::new(
                "name",
                "invalid_template_name",
                "lowercase letters, digits and underscores, at most 512",
            )
            .into());
        }
        let category = input.category.to_ascii_uppercase();
        if !["MARKETING", "UTILITY", "AUTHENTICATION"].contains(&category.as_str()) {
            return Err(Invalid::new("category", "invalid_category", "MARKETING, UTILITY or AUTHENTICATION").into());
        }
        let format = input.parameter_format.unwrap_or_else(|| "positional".into()).to_ascii_lowercase();
        if format != "positional" && format != "named" {
            return Err(Invalid::new("parameter_format", "invalid_parameter_format", "positional or named").into());
        }
        if input.components.is_empty()
            || !input.components.iter().any(|c| str_field(c, "type").is_some_and(|t| t.eq_ignore_ascii_case("BODY")))
        {
            return Err(Invalid::new("components", "body_required", "a template needs a BODY component").into());
        }
        let ch = self.channel_info(p.tenant, ChannelId::from_uuid(input.channel_id)).await?;
        let mut body = serde_json::json!({"name": name, "language": input.language, "category": category, "components": input.components});
        if format == "named" {
            body["parameter_format"] = Value::String("named".into());
        }
        let graph = self.wa.graph(&ch.graph_base_url, &ch.api_version)?;
        let created = graph.create_template(&ch.access_token, &ch.waba_id, &body).await.map_err(|e| upstream(&e))?;
        let now = self.now().0;
        let row = TemplateRow {
            tenant_id: p.tenant.as_uuid(),
            id: Uuid::now_v7(),
            waba_id: ch.waba_id.clone(),
            provider_template_id: Some(created.id),
            name: name.to_owned(),
            language: input.language,
            category: created.category.unwrap_or(category),
            status: created.status.unwrap_or_else(|| "PENDING".into()),
            parameter_format: format,
            components: Value::Array(input.components).to_string(),
            quality: None,
            rejected_reason: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        templates::upsert(&mut s, &row).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "template.created",
                Some(("template", row.name.clone())),
                serde_json::json!({"language": row.language}),
            )
            .await?;
        let stored = templates::by_name(&mut s, &ch.waba_id, name)
            .await?
            .into_iter()
            .find(|t| t.language == row.language)
            .unwrap_or(row);
        tx.commit().await?;
        Ok(view(stored))
    }

    /// Deletes a template (every language of the name) at Meta and here.
    pub async fn delete_template(&self, p: &Principal, channel: ChannelId, name: &str) -> AppResult<()> {
        p.require(Permission::TemplatesManage)?;
        let ch = self.channel_info(p.tenant, channel).await?;
        let known = templates::by_name(&mut self.db.read().await?.tenant(p.tenant), &ch.waba_id, name).await?;
        if known.is_empty() {
            return Err(AppError::NotFound);
        }
        let graph = self.wa.graph(&ch.graph_base_url, &ch.api_version)?;
        graph.delete_template(&ch.access_token, &ch.waba_id, name).await.map_err(|e| upstream(&e))?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        templates::delete(&mut s, &ch.waba_id, name).await?;
        Audit::of(p)
            .record(self, &mut s, "template.deleted", Some(("template", name.to_owned())), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// Deletes the template with this id (and the other languages of its name).
    pub async fn delete_template_by_id(&self, p: &Principal, id: Uuid) -> AppResult<()> {
        p.require(Permission::TemplatesManage)?;
        let t = templates::get(&mut self.db.read().await?.tenant(p.tenant), id).await?;
        let channels = switchboard_storage::channels::list(&mut self.db.read().await?.tenant(p.tenant)).await?;
        let ch = channels.into_iter().find(|c| c.waba_id == t.waba_id).ok_or(AppError::NotFound)?;
        self.delete_template(p, ChannelId::from_uuid(ch.id), &t.name).await
    }
}

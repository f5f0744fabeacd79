//! Contacts: the first holders of personal data. Every personal field is sealed under the
//! contact's own key; phone and e-mail have blind indexes; every read and change is audited
//! with field names only. Callers without `contacts:view_pii` see masked phone and e-mail.

use serde::{Deserialize, Deserializer, Serialize};
use switchboard_core::{ContactId, E164, Email, Invalid, Millis, Permission};
use switchboard_privacy::{Aad, BlindKind};
use switchboard_storage::Scope;
use switchboard_storage::contacts::{self, ContactRow, ListFilter, Lookup};
use switchboard_storage::keys as key_repo;
use switchboard_storage::search;
use switchboard_storage::tenants;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::page::{self, Cursor, Page};
use crate::privacy::erasure::{StepBatch, erase_failed_webhooks_batch, erase_history_batch};
use crate::{App, AppError, AppResult};

/// `Some(None)` for an explicit `null` (clear the field), `None` when absent (keep it).
fn explicit<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A contact to create, or the fields to change (PATCH): an absent field is kept, `null` clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "explicit")]
    /// Any common spelling; numbers without a country code are read in the tenant's default region.
    #[schema(value_type = Option<String>, example = "+905321112233")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Option<serde_json::Map<String, serde_json::Value>>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ContactId,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub labels: Vec<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ContactQuery {
    /// Search by name prefix or phone digits (at least 2 letters or 4 digits).
    pub q: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub label: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

const MAX_LABELS: usize = 20;
/// The fields the search index holds tokens of.
const SEARCHED: [&str; 2] = ["name", "phone"];
const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

fn aad(tenant: switchboard_core::TenantId, column: &'static str, id: uuid::Uuid) -> Aad<'static> {
    Aad::new(tenant, "contacts", column, id)
}

/// `ayse@example.com` → `a***@example.com`.
fn mask_email(e: &str) -> String {
    match e.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

fn clean_name(name: &str) -> Result<Option<String>, Invalid> {
    let n = name.trim();
    if n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(Invalid::new(
            "name",
            "invalid_name",
            "name must be at most 200 characters, without control characters",
        ));
    }
    Ok((!n.is_empty()).then(|| n.to_owned()))
}

pub(crate) fn clean_labels(labels: &[String]) -> Result<Vec<String>, Invalid> {
    if labels.len() > MAX_LABELS {
        return Err(Invalid::new("labels", "too_many_labels", format!("at most {MAX_LABELS} labels")));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.chars().count() > 50 || l.chars().any(char::is_control) {
            return Err(Invalid::new(format!("labels[{i}]"), "invalid_label", "labels are 1 to 50 characters"));
        }
        if !out.iter().any(|x| x == l) {
            out.push(l.to_owned());
        }
    }
    out.sort();
    Ok(out)
}

fn clean_attributes(a: &serde_json::Map<String, serde_json::Value>) -> Result<(), Invalid> {
    let size = serde_json::to_vec(a).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_ATTRIBUTES_BYTES || a.keys().any(|k| k.is_empty() || k.chars().count() > 64) {
        return Err(Invalid::new(
            "attributes",
            "invalid_attributes",
            "attributes: keys of 1 to 64 characters, at most 16 KB in all",
        ));
    }
    Ok(())
}

fn conflict_field(e: AppError) -> AppError {
    match e {
        AppError::Conflict { message, .. } => {
            let field = if message.contains("phone") {
                "phone"
            } else if message.contains("email") {
                "email"
            } else {
                "wa_id"
            };
            AppError::Conflict {
                field: Some(field.into()),
                message: format!("another contact already has this {field}"),
            }
        }
        other => other,
    }
}

impl App {
    /// The contact's name and phone number, opened.
    pub(crate) async fn contact_name_phone(
        &self,
        s: &mut Scope<'_>,
        row: &ContactRow,
    ) -> AppResult<(Option<String>, Option<E164>)> {
        let t = s.tenant_id();
        let id = ContactId::from_uuid(row.id);
        let name = match &row.name_sealed {
            Some(v) => Some(self.keys.open_contact(s, id, &aad(t, "name", row.id), v).await?),
            None => None,
        };
        let phone = match &row.phone_sealed {
            Some(v) => Some(self.keys.open_contact(s, id, &aad(t, "phone", row.id), v).await?),
            None => None,
        };
        Ok((name, phone))
    }

    /// Opens a contact row into a view, masking phone and e-mail unless `pii` is allowed.
    pub(crate) async fn contact_view(
        &self,
        s: &mut Scope<'_>,
        row: &ContactRow,
        labels: Vec<String>,
        pii: bool,
    ) -> AppResult<ContactView> {
        let t = s.tenant_id();
        let id = ContactId::from_uuid(row.id);
        let (name, phone) = self.contact_name_phone(s, row).await?;
        let phone = phone.map(|p| if pii { p.to_string() } else { p.masked() });
        let email = match &row.email_sealed {
            Some(v) => {
                let e: Email = self.keys.open_contact(s, id, &aad(t, "email", row.id), v).await?;
                Some(if pii { e.to_string() } else { mask_email(e.as_str()) })
            }
            None => None,
        };
        let attributes = match &row.attributes_sealed {
            Some(v) => match self.keys.open_contact(s, id, &aad(t, "attributes", row.id), v).await? {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            None => serde_json::Map::new(),
        };
        Ok(ContactView {
            id,
            name,
            phone,
            email,
            labels,
            attributes,
            created_at: Millis(row.created_at).to_rfc3339(),
            updated_at: Millis(row.updated_at).to_rfc3339(),
        })
    }

    /// Applies `input` to `row`, sealing changed fields. Returns the names of changed fields.
    async fn apply_contact_input(
        &self,
        s: &mut Scope<'_>,
        row: &mut ContactRow,
        input: &ContactInput,
    ) -> AppResult<Vec<&'static str>> {
        let t = s.tenant_id();
        let id = ContactId::from_uuid(row.id);
        let mut changed = Vec::new();
        if let Some(name) = &input.name {
            let name = match name {
                Some(n) => clean_name(n)?,
                None => None,
            };
            row.name_sealed = match name {
                Some(n) => Some(self.keys.seal_contact(s, id, &aad(t, "name", row.id), &n).await?),
                None => None,
            };
            changed.push("name");
        }
        if let Some(phone) = &input.phone {
            let region = tenants::get(s).await?.default_region;
            let phone = match phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                Some(p) => Some(E164::parse(p, Some(&region))?),
                None => None,
            };
            (row.phone_sealed, row.phone_index) = match phone {
                Some(p) => (
                    Some(self.keys.seal_contact(s, id, &aad(t, "phone", row.id), &p).await?),
                    Some(self.keys.blind_index(s, BlindKind::Phone, p.as_str()).await?),
                ),
                None => (None, None),
            };
            changed.push("phone");
        }
        if let Some(email) = &input.email {
            let email = match email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                Some(e) => Some(Email::parse(e)?),
                None => None,
            };
            (row.email_sealed, row.email_index) = match email {
                Some(e) => (
                    Some(self.keys.seal_contact(s, id, &aad(t, "email", row.id), &e).await?),
                    Some(self.keys.blind_index(s, BlindKind::Email, &e.normalized()).await?),
                ),
                None => (None, None),
            };
            changed.push("email");
        }
        if let Some(attrs) = &input.attributes {
            row.attributes_sealed = match attrs {
                Some(a) if !a.is_empty() => {
                    clean_attributes(a)?;
                    let v = serde_json::Value::Object(a.clone());
                    Some(self.keys.seal_contact(s, id, &aad(t, "attributes", row.id), &v).await?)
                }
                _ => None,
            };
            changed.push("attributes");
        }
        if let Some(labels) = &input.labels {
            contacts::set_labels(s, row.id, &clean_labels(labels)?).await?;
            changed.push("labels");
        }
        Ok(changed)
    }

    pub async fn create_contact(&self, p: &Principal, input: ContactInput) -> AppResult<ContactView> {
        p.require(Permission::ContactsWrite)?;
        let now = self.now().0;
        let id = ContactId::new();
        let mut row = ContactRow {
            tenant_id: p.tenant.as_uuid(),
            id: id.as_uuid(),
            name_sealed: None,
            phone_sealed: None,
            phone_index: None,
            email_sealed: None,
            email_index: None,
            wa_id_sealed: None,
            wa_id_index: None,
            attributes_sealed: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        self.keys.provision_contact(&mut s, id, now).await?;
        // Labels need the row to exist; apply them after the insert.
        let labels = input.labels.clone();
        let without_labels = ContactInput { labels: None, ..input };
        let mut fields = self.apply_contact_input(&mut s, &mut row, &without_labels).await?;
        contacts::insert(&mut s, &row).await.map_err(|e| conflict_field(e.into()))?;
        if fields.iter().any(|f| SEARCHED.contains(f)) {
            self.reindex_contact(&mut s, &row).await?;
        }
        let labels = clean_labels(&labels.unwrap_or_default())?;
        if !labels.is_empty() {
            contacts::set_labels(&mut s, row.id, &labels).await?;
            fields.push("labels");
        }
        Audit::of(p)
            .record(
                self,
                &mut s,
                "contact.created",
                Some(("contact", id.to_string())),
                serde_json::json!({"fields": fields}),
            )
            .await?;
        let view = self.contact_view(&mut s, &row, labels, p.can(Permission::ContactsViewPii)).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// One contact. The read is audited.
    pub async fn get_contact(&self, p: &Principal, id: ContactId) -> AppResult<ContactView> {
        p.require(Permission::ContactsRead)?;
        let pii = p.can(Permission::ContactsViewPii);
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let row = contacts::get(&mut s, id.as_uuid()).await?;
        let labels = contacts::labels_of(&mut s, &[row.id]).await?.remove(&row.id).unwrap_or_default();
        let view = self.contact_view(&mut s, &row, labels, pii).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "contact.read",
                Some(("contact", id.to_string())),
                serde_json::json!({"pii_unmasked": pii}),
            )
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A page of contacts, newest first, optionally found by exact phone or e-mail (through
    /// their blind indexes), by label, or searched by name prefix or phone digits (`q`). The read is audited with the ids shown.
    pub async fn list_contacts(&self, p: &Principal, q: ContactQuery) -> AppResult<Page<ContactView>> {
        p.require(Permission::ContactsRead)?;
        let pii = p.can(Permission::ContactsViewPii);
        let before = page::decode_id(q.cursor.as_deref())?;
        let limit = page::limit(q.limit);
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let lookup = if let Some(phone) = q.phone.as_deref().filter(|x| !x.is_empty()) {
            let region = tenants::get(&mut s).await?.default_region;
            let e = E164::parse(phone, Some(&region))?;
            Some(Lookup::Phone(self.keys.blind_index(&mut s, BlindKind::Phone, e.as_str()).await?))
        } else if let Some(email) = q.email.as_deref().filter(|x| !x.is_empty()) {
            let e = Email::parse(email)?;
            Some(Lookup::Email(self.keys.blind_index(&mut s, BlindKind::Email, &e.normalized()).await?))
        } else {
            None
        };
        let terms = match q.q.as_deref().filter(|x| !x.trim().is_empty()) {
            Some(query) => self.query_tokens(&mut s, query).await?,
            None => Vec::new(),
        };
        let filter = ListFilter { lookup, label: q.label.filter(|l| !l.is_empty()), terms };
        let rows = contacts::list(&mut s, &filter, before, limit + 1).await?;
        let page = Page::from_rows(rows, limit, |r| Cursor::Id(r.id), |r| r);
        let ids: Vec<uuid::Uuid> = page.items.iter().map(|r| r.id).collect();
        let mut labels = contacts::labels_of(&mut s, &ids).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for r in &page.items {
            items.push(self.contact_view(&mut s, r, labels.remove(&r.id).unwrap_or_default(), pii).await?);
        }
        if !ids.is_empty() {
            Audit::of(p)
                .record(
                    self,
                    &mut s,
                    "contact.listed",
                    Some(("contact", "*".into())),
                    serde_json::json!({"ids": ids, "pii_unmasked": pii}),
                )
                .await?;
        }
        tx.commit().await?;
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn update_contact(&self, p: &Principal, id: ContactId, input: ContactInput) -> AppResult<ContactView> {
        p.require(Permission::ContactsWrite)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let mut row = contacts::get(&mut s, id.as_uuid()).await?;
        let fields = self.apply_contact_input(&mut s, &mut row, &input).await?;
        row.updated_at = now;
        contacts::update(&mut s, &row).await.map_err(|e| conflict_field(e.into()))?;
        if fields.iter().any(|f| SEARCHED.contains(f)) {
            self.reindex_contact(&mut s, &row).await?;
        }
        Audit::of(p)
            .record(
                self,
                &mut s,
                "contact.updated",
                Some(("contact", id.to_string())),
                serde_json::json!({"fields": fields}),
            )
            .await?;
        let labels = contacts::labels_of(&mut s, &[row.id]).await?.remove(&row.id).unwrap_or_default();
        let view = self.contact_view(&mut s, &row, labels, p.can(Permission::ContactsViewPii)).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a contact with its conversations, messages and media, and destroys its key, so
    /// any copy of its sealed data (a backup) can no longer be opened.
    pub async fn delete_contact(&self, p: &Principal, id: ContactId) -> AppResult<()> {
        p.require(Permission::ContactsDelete)?;
        // Kept webhook bodies naming the contact, then the history, in batches of their own
        // transactions, so a long one never holds the writer for long; a crash in between
        // leaves a contact with less history, and the next attempt carries on.
        let mut webhooks_left = true;
        loop {
            let mut tx = self.db.write().await?;
            let mut s = tx.tenant(p.tenant);
            let batch = if webhooks_left {
                let b = erase_failed_webhooks_batch(&mut s, id).await?;
                webhooks_left = !b.finished;
                StepBatch { finished: false, ..b }
            } else {
                erase_history_batch(self, &mut s, id).await?
            };
            tx.commit().await?;
            if batch.finished {
                break;
            }
        }
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        search::remove_owned(&mut s, &[id.as_uuid()]).await?;
        contacts::delete(&mut s, id.as_uuid()).await?;
        let keys = key_repo::delete_contact_keys(&mut s, id.as_uuid()).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "contact.deleted",
                Some(("contact", id.to_string())),
                serde_json::json!({"keys_destroyed": keys}),
            )
            .await?;
        tx.commit().await?;
        self.keys.forget_contact(p.tenant, id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let i: ContactInput = serde_json::from_str(r#"{"name": null, "phone": "+905321112233"}"#).unwrap();
        assert_eq!(i.name, Some(None));
        assert_eq!(i.phone, Some(Some("+905321112233".into())));
        assert_eq!(i.email, None);
        assert!(serde_json::from_str::<ContactInput>(r#"{"tenant_id": "x"}"#).is_err(), "mass assignment refused");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_email("ayse@example.com"), "a***@example.com");
        assert!(clean_labels(&["b".into(), "a".into(), "a".into()]).unwrap() == vec!["a", "b"]);
        assert!(clean_labels(&[String::new()]).is_err());
    }
}

//! Labels across the organisation: the names in use on conversations and contacts with their
//! counts (everyone who reads conversations), renaming a label everywhere (merging into a name
//! already in use) and deleting it everywhere (managing settings).

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::{Millis, Permission};
use switchboard_storage::bus::Event;
use switchboard_storage::labels as repo;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabelView {
    pub name: String,
    /// Conversations that carry it.
    pub conversations: i64,
    /// Contacts that carry it.
    pub contacts: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelInput {
    /// The new name: 1 to 50 characters, without control characters. A name already in use
    /// merges the two labels.
    pub name: String,
}

/// A label name as conversations and contacts accept it (trimmed, 1 to 50 characters).
fn clean(name: &str) -> AppResult<String> {
    let mut v = crate::contacts::clean_labels(&[name.to_owned()]).map_err(|mut e| {
        e.field = "name".into();
        e
    })?;
    v.pop().ok_or(AppError::NotFound)
}

impl App {
    pub async fn list_labels(&self, p: &Principal) -> AppResult<Vec<LabelView>> {
        p.require(Permission::ConversationsRead)?;
        let rows = repo::counts(&mut self.db.read().await?.tenant(p.tenant)).await?;
        Ok(rows
            .into_iter()
            .map(|r| LabelView { name: r.label, conversations: r.conversations, contacts: r.contacts })
            .collect())
    }

    /// Renames a label on every conversation and contact; a label nobody carries is not found.
    pub async fn rename_label(&self, p: &Principal, from: &str, input: &LabelInput) -> AppResult<LabelView> {
        p.require(Permission::SettingsManage)?;
        let to = clean(&input.name)?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let (conversations, contacts) = repo::count(&mut s, from).await?;
        if conversations == 0 && contacts == 0 {
            return Err(AppError::NotFound);
        }
        let touched = repo::conversations(&mut s, from).await?;
        let changed = if to == from {
            false
        } else {
            let (c, k) = repo::count(&mut s, &to).await?;
            repo::rename(&mut s, from, &to).await?;
            Audit::of(p)
                .record(
                    self,
                    &mut s,
                    "label.renamed",
                    None,
                    json!({"conversations": conversations, "contacts": contacts, "merged": c + k > 0}),
                )
                .await?;
            true
        };
        let (conversations, contacts) = repo::count(&mut s, &to).await?;
        tx.commit().await?;
        if changed {
            self.label_changed(p, touched).await;
        }
        Ok(LabelView { name: to, conversations, contacts })
    }

    /// Removes a label from every conversation and contact; a label nobody carries is not found.
    pub async fn delete_label(&self, p: &Principal, name: &str) -> AppResult<()> {
        p.require(Permission::SettingsManage)?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let (conversations, contacts) = repo::count(&mut s, name).await?;
        if conversations == 0 && contacts == 0 {
            return Err(AppError::NotFound);
        }
        let touched = repo::conversations(&mut s, name).await?;
        repo::delete(&mut s, name).await?;
        Audit::of(p)
            .record(self, &mut s, "label.deleted", None, json!({"conversations": conversations, "contacts": contacts}))
            .await?;
        tx.commit().await?;
        self.label_changed(p, touched).await;
        Ok(())
    }

    /// Tells the open inboxes that these conversations' labels changed.
    async fn label_changed(&self, p: &Principal, conversations: Vec<Uuid>) {
        let at: Millis = self.now();
        for conversation in conversations {
            let _ = self
                .bus
                .publish(&Event {
                    tenant_id: p.tenant.as_uuid(),
                    topic: "conversation.updated".into(),
                    subject: Some(conversation),
                    related: None,
                    at: at.0,
                })
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_like_labels() {
        assert_eq!(clean("  vip ").unwrap(), "vip");
        assert!(clean("").is_err());
        assert!(clean(&"x".repeat(51)).is_err());
        assert!(clean("a\nb").is_err());
    }
}

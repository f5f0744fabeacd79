//! The inbox beyond WhatsApp's own data: the activity lines of a conversation (assigned,
//! resolved, reopened, snoozed — written by `update_conversation`) and canned responses,
//! the tenant's stock replies an agent inserts with "/" in the composer.

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::{ConversationId, Invalid, Millis, Permission};
use switchboard_storage::Scope;
use switchboard_storage::inbox::{self as repo, ActivityRow, CannedRow};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityView {
    /// assigned, unassigned, team_assigned, team_unassigned, team_deleted (its team was
    /// deleted), resolved, reopened or snoozed
    pub kind: String,
    pub actor_user_id: Option<String>,
    /// Who the conversation was assigned to.
    pub target_user_id: Option<String>,
    /// The team it was assigned to.
    pub target_team_id: Option<String>,
    /// The team's name when the line was written (`team_deleted` lines: the deleted team's).
    pub target_team_name: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CannedView {
    pub id: String,
    /// Typed after "/" in the composer.
    pub shortcut: String,
    pub body: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedInput {
    /// Lowercase letters, digits, `-` and `_`, at most 32.
    pub shortcut: String,
    /// At most 4096 characters.
    pub body: String,
}

const SHORTCUT_MAX: usize = 32;
const BODY_MAX: usize = 4096;

fn canned_view(r: CannedRow) -> CannedView {
    CannedView {
        id: r.id.to_string(),
        shortcut: r.shortcut,
        body: r.body,
        updated_at: Millis(r.updated_at).to_rfc3339(),
    }
}

impl CannedInput {
    fn clean(&self) -> AppResult<(String, String)> {
        let shortcut = self.shortcut.trim().trim_start_matches('/').to_lowercase();
        let ok = !shortcut.is_empty()
            && shortcut.len() <= SHORTCUT_MAX
            && shortcut.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(Invalid::new("shortcut", "invalid_shortcut", "letters, digits, - and _, at most 32").into());
        }
        let body = self.body.trim();
        if body.is_empty() || body.chars().count() > BODY_MAX {
            return Err(Invalid::new("body", "invalid_body", "between 1 and 4096 characters").into());
        }
        Ok((shortcut, body.to_owned()))
    }
}

fn shortcut_taken(e: switchboard_storage::error::StoreError) -> AppError {
    if e.is_conflict() {
        AppError::Conflict { field: Some("shortcut".into()), message: "that shortcut is taken".into() }
    } else {
        e.into()
    }
}

/// Whom an activity line is about: nobody, an agent, or a team.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ActivityTarget {
    Nobody,
    User(Option<Uuid>),
    Team(Option<Uuid>),
}

/// Writes one activity line of a conversation (inside the caller's transaction).
pub(crate) async fn record_activity(
    s: &mut Scope<'_>,
    p: &Principal,
    conversation: Uuid,
    kind: &str,
    target: ActivityTarget,
    now: i64,
) -> AppResult<()> {
    let (target_user_id, target_team_id) = match target {
        ActivityTarget::Nobody => (None, None),
        ActivityTarget::User(u) => (u, None),
        ActivityTarget::Team(t) => (None, t),
    };
    let row = ActivityRow {
        id: Uuid::now_v7(),
        conversation_id: conversation,
        kind: kind.to_owned(),
        actor_user_id: p.user_id().map(|u| u.as_uuid()),
        target_user_id,
        target_team_id,
        target_team_name: None,
        created_at: now,
    };
    Ok(repo::record_activity(s, &row).await?)
}

impl App {
    /// A conversation's activity between two times (ms, inclusive), oldest first.
    pub async fn conversation_activity(
        &self,
        p: &Principal,
        id: ConversationId,
        from: i64,
        to: i64,
    ) -> AppResult<Vec<ActivityView>> {
        p.require(Permission::ConversationsRead)?;
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        switchboard_storage::conversations::get(&mut s, id.as_uuid()).await?;
        let rows = repo::activity(&mut s, id.as_uuid(), from, to).await?;
        Ok(rows
            .into_iter()
            .map(|r| ActivityView {
                kind: r.kind,
                actor_user_id: r.actor_user_id.map(|u| u.to_string()),
                target_user_id: r.target_user_id.map(|u| u.to_string()),
                target_team_id: r.target_team_id.map(|u| u.to_string()),
                target_team_name: r.target_team_name,
                created_at: Millis(r.created_at).to_rfc3339(),
            })
            .collect())
    }

    pub async fn list_canned(&self, p: &Principal) -> AppResult<Vec<CannedView>> {
        p.require(Permission::ConversationsRead)?;
        let rows = repo::canned_list(&mut self.db.read().await?.tenant(p.tenant)).await?;
        Ok(rows.into_iter().map(canned_view).collect())
    }

    /// Creates one (`id: None`) or replaces one's shortcut and text.
    pub async fn save_canned(&self, p: &Principal, id: Option<Uuid>, input: &CannedInput) -> AppResult<CannedView> {
        p.require(Permission::SettingsManage)?;
        let (shortcut, body) = input.clean()?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let created_at = match id {
            Some(id) => repo::canned_get(&mut s, id).await?.created_at,
            None => now,
        };
        let row = CannedRow { id: id.unwrap_or_else(Uuid::now_v7), shortcut, body, created_at, updated_at: now };
        repo::canned_save(&mut s, &row).await.map_err(shortcut_taken)?;
        let action = if id.is_some() { "canned_response.updated" } else { "canned_response.created" };
        Audit::of(p).record(self, &mut s, action, Some(("canned_response", row.id.to_string())), json!({})).await?;
        tx.commit().await?;
        Ok(canned_view(row))
    }

    pub async fn delete_canned(&self, p: &Principal, id: Uuid) -> AppResult<()> {
        p.require(Permission::SettingsManage)?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        if repo::canned_delete(&mut s, id).await? == 0 {
            return Err(AppError::NotFound);
        }
        Audit::of(p)
            .record(self, &mut s, "canned_response.deleted", Some(("canned_response", id.to_string())), json!({}))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

//! Teams: named groups of agents. Conversations are assigned to a team (and/or an agent) and
//! the inbox has a folder per team. Reading teams and the colleagues a conversation can be
//! assigned to is part of working the inbox; creating teams and changing their members is
//! managing users.

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::{Invalid, Millis, Permission};
use switchboard_storage::Scope;
use switchboard_storage::bus::Event;
use switchboard_storage::inbox::{self, ActivityRow};
use switchboard_storage::teams::{self as repo, TeamRow};
use switchboard_storage::users;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

/// A colleague as the inbox shows them: the name, else the e-mail address.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    pub id: String,
    pub name: String,
}

/// A team without its members: what the inbox shows (folders, the assign form, activity).
#[derive(Debug, Clone, Serialize)]
pub struct TeamRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    pub members: Vec<AgentView>,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// 1 to 64 characters, unique in the organisation.
    pub name: String,
}

const NAME_MAX: usize = 64;

fn team_name(input: &TeamInput) -> AppResult<&str> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(Invalid::new("name", "invalid_team_name", "between 1 and 64 characters").into());
    }
    Ok(name)
}
/// Users read per statement when listing colleagues.
const USERS_PAGE: i64 = 500;

impl App {
    async fn agent_view(&self, s: &mut Scope<'_>, user: Uuid) -> AppResult<AgentView> {
        let row = users::get(s, user).await?;
        let u = self.user_view(s, row).await?;
        Ok(AgentView { id: u.id.to_string(), name: u.name.filter(|n| !n.trim().is_empty()).unwrap_or(u.email) })
    }

    async fn team_view(&self, s: &mut Scope<'_>, r: TeamRow) -> AppResult<TeamView> {
        let mut members = Vec::new();
        for user in repo::members(s, r.id).await? {
            members.push(self.agent_view(s, user).await?);
        }
        Ok(TeamView { id: r.id.to_string(), name: r.name, members, created_at: Millis(r.created_at).to_rfc3339() })
    }

    pub async fn list_teams(&self, p: &Principal) -> AppResult<Vec<TeamView>> {
        p.require(Permission::ConversationsRead)?;
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let mut out = Vec::new();
        for r in repo::list(&mut s).await? {
            out.push(self.team_view(&mut s, r).await?);
        }
        Ok(out)
    }

    /// Teams by name, without opening their members' names (one query: the inbox asks on
    /// every page).
    pub async fn team_names(&self, p: &Principal) -> AppResult<Vec<TeamRef>> {
        p.require(Permission::ConversationsRead)?;
        let rows = repo::list(&mut self.db.read().await?.tenant(p.tenant)).await?;
        Ok(rows.into_iter().map(|r| TeamRef { id: r.id.to_string(), name: r.name }).collect())
    }

    /// The colleagues a conversation can be assigned to: every user not disabled.
    pub async fn list_agents(&self, p: &Principal) -> AppResult<Vec<AgentView>> {
        p.require(Permission::ConversationsManage)?;
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let rows = users::list(&mut s, after, USERS_PAGE).await?;
            after = rows.last().map(|r| r.id);
            let full = i64::try_from(rows.len()).unwrap_or(0) == USERS_PAGE;
            for r in rows.into_iter().filter(|r| !r.disabled) {
                out.push(self.agent_view(&mut s, r.id).await?);
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    pub async fn create_team(&self, p: &Principal, input: &TeamInput) -> AppResult<TeamView> {
        p.require(Permission::UsersManage)?;
        let name = team_name(input)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let row = TeamRow { id: Uuid::now_v7(), name: name.to_owned(), created_at: now, updated_at: now };
        repo::insert(&mut s, &row).await.map_err(|e| {
            if e.is_conflict() {
                AppError::Conflict { field: Some("name".into()), message: "a team has that name".into() }
            } else {
                e.into()
            }
        })?;
        Audit::of(p).record(self, &mut s, "team.created", Some(("team", row.id.to_string())), json!({})).await?;
        let view = self.team_view(&mut s, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Renames a team (a name taken by another team is a conflict). Its conversations and
    /// their activity lines show the new name.
    pub async fn rename_team(&self, p: &Principal, team: Uuid, input: &TeamInput) -> AppResult<TeamView> {
        p.require(Permission::UsersManage)?;
        let name = team_name(input)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let before = repo::get(&mut s, team).await?;
        if before.name != name {
            repo::rename(&mut s, team, name, now).await.map_err(|e| {
                if e.is_conflict() {
                    AppError::Conflict { field: Some("name".into()), message: "a team has that name".into() }
                } else {
                    e.into()
                }
            })?;
            Audit::of(p).record(self, &mut s, "team.renamed", Some(("team", team.to_string())), json!({})).await?;
        }
        let row = repo::get(&mut s, team).await?;
        let view = self.team_view(&mut s, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Adds (`member = true`) or removes a user; adding a member twice changes nothing.
    pub async fn set_team_member(&self, p: &Principal, team: Uuid, user: Uuid, member: bool) -> AppResult<TeamView> {
        p.require(Permission::UsersManage)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let row = repo::get(&mut s, team).await?;
        let u = users::get(&mut s, user).await.map_err(|_| Invalid::new("user_id", "unknown_user", "no such user"))?;
        let action = if member {
            if u.disabled {
                return Err(Invalid::new("user_id", "user_disabled", "that user is disabled").into());
            }
            repo::add_member(&mut s, team, user, now).await?;
            "team.member_added"
        } else {
            repo::remove_member(&mut s, team, user).await?;
            "team.member_removed"
        };
        Audit::of(p).record(self, &mut s, action, Some(("team", team.to_string())), json!({"user_id": user})).await?;
        let view = self.team_view(&mut s, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a team; its conversations stay assigned to their agents, in no team, each with
    /// an activity line naming the team ("removed from team X").
    pub async fn delete_team(&self, p: &Principal, team: Uuid) -> AppResult<()> {
        p.require(Permission::UsersManage)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let row = repo::get(&mut s, team).await?;
        let conversations = repo::conversations(&mut s, team).await?;
        repo::delete(&mut s, team, now).await?;
        for &conversation in &conversations {
            let line = ActivityRow {
                id: Uuid::now_v7(),
                conversation_id: conversation,
                kind: "team_deleted".into(),
                actor_user_id: p.user_id().map(|u| u.as_uuid()),
                target_user_id: None,
                target_team_id: Some(team),
                target_team_name: Some(row.name.clone()),
                created_at: now,
            };
            inbox::record_activity(&mut s, &line).await?;
        }
        Audit::of(p)
            .record(
                self,
                &mut s,
                "team.deleted",
                Some(("team", team.to_string())),
                json!({"conversations": conversations.len()}),
            )
            .await?;
        tx.commit().await?;
        for conversation in conversations {
            let _ = self
                .bus
                .publish(&Event {
                    tenant_id: p.tenant.as_uuid(),
                    topic: "conversation.updated".into(),
                    subject: Some(conversation),
                    related: None,
                    at: now,
                })
                .await;
        }
        Ok(())
    }
}

//! Teams: named groups of the tenant's users. A conversation can belong to one team (its
//! folder in the inbox) whoever the agent assigned to it is.

use uuid::Uuid;

use crate::db::Scope;
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, created_at, updated_at";

/// Every team, by name.
pub async fn list(s: &mut Scope<'_>) -> Result<Vec<TeamRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM teams WHERE tenant_id = $1 ORDER BY name, id"
    )))
    .bind(tid).fetch_all(&mut *c).await)?)
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<TeamRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM teams WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

/// A name already taken is a conflict.
pub async fn insert(s: &mut Scope<'_>, r: &TeamRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO teams (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tid).bind(r.id).bind(&r.name).bind(r.created_at).bind(r.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user ids of a team's members.
pub async fn members(s: &mut Scope<'_>, team: Uuid) -> Result<Vec<Uuid>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT user_id FROM team_members WHERE tenant_id = $1 AND team_id = $2 ORDER BY created_at, user_id",
    )
    .bind(tid).bind(team).fetch_all(&mut *c).await)?)
}

/// Adds a member; true when they were not one already.
pub async fn add_member(s: &mut Scope<'_>, team: Uuid, user: Uuid, now: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "INSERT INTO team_members (tenant_id, team_id, user_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, team_id, user_id) DO NOTHING",
    )
    .bind(tid).bind(team).bind(user).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Removes a member; `NotFound` when they were not one.
pub async fn remove_member(s: &mut Scope<'_>, team: Uuid, user: Uuid) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "DELETE FROM team_members WHERE tenant_id = $1 AND team_id = $2 AND user_id = $3",
    )
    .bind(tid).bind(team).bind(user)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Renames a team. A name already taken is a conflict; `NotFound` when there is no such team.
pub async fn rename(s: &mut Scope<'_>, id: Uuid, name: &str, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE teams SET name = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(name).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// The conversations in a team.
pub async fn conversations(s: &mut Scope<'_>, team: Uuid) -> Result<Vec<Uuid>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT id FROM conversations WHERE tenant_id = $1 AND team_id = $2 ORDER BY id",
    )
    .bind(tid).bind(team).fetch_all(&mut *c).await)?)
}

/// Deletes a team with its memberships; its conversations are left without a team. `NotFound`
/// when there is no such team.
pub async fn delete(s: &mut Scope<'_>, id: Uuid, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => {
        sqlx::query("UPDATE conversations SET team_id = NULL, updated_at = $3 WHERE tenant_id = $1 AND team_id = $2")
            .bind(tid).bind(id).bind(now).execute(&mut *c).await?;
        sqlx::query("DELETE FROM team_members WHERE tenant_id = $1 AND team_id = $2")
            .bind(tid).bind(id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM teams WHERE tenant_id = $1 AND id = $2")
            .bind(tid).bind(id).execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

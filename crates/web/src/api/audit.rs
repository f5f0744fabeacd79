//! The audit log and its verification.

use axum::Json as AxumJson;
use axum::extract::State;
use serde::Deserialize;
use switchboard_app::audit::{AuditView, VerifyView};
use switchboard_app::page::Page;
use switchboard_core::Permission;
use switchboard_storage::audit::AuditFilter;

use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Query};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    /// e.g. `contact`
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
}

pub fn routes(r: Routes) -> Routes {
    let a = Access::Perm(Permission::AuditRead);
    r.add(
        RouteSpec::get("/api/v1/audit", a, "The audit log, newest first")
            .query::<AuditQuery>()
            .returns_list::<AuditView>(),
        list,
    )
    .add(RouteSpec::post("/api/v1/audit/verify", a, "Verify the audit chain").returns::<VerifyView>(), verify)
}

async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<AxumJson<Page<AuditView>>> {
    let filter = AuditFilter { target_kind: q.target_kind, target_id: q.target_id };
    Ok(AxumJson(s.app.audit_list(&p, filter, q.cursor.as_deref(), q.limit).await?))
}

async fn verify(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<VerifyView>> {
    Ok(AxumJson(s.app.audit_verify(&p).await?))
}

//! Tenant settings: name, default phone region, IP allow-list.

use axum::Json as AxumJson;
use axum::extract::State;
use switchboard_app::tenants::{SettingsPatch, TenantView};
use switchboard_core::Permission;

use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

pub fn routes(r: Routes) -> Routes {
    let a = Access::Perm(Permission::SettingsManage);
    r.add(RouteSpec::get("/api/v1/settings", a, "Organisation settings").returns::<TenantView>(), get_settings).add(
        RouteSpec::patch("/api/v1/settings", a, "Change settings (the allow-list must include your address)")
            .body::<SettingsPatch>()
            .returns::<TenantView>(),
        patch_settings,
    )
}

async fn get_settings(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<TenantView>> {
    Ok(AxumJson(s.app.settings(&p).await?))
}

async fn patch_settings(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<SettingsPatch>,
) -> ApiResult<AxumJson<TenantView>> {
    Ok(AxumJson(s.app.update_settings(&p, b).await?))
}

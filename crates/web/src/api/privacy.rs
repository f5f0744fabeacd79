//! Privacy: a contact's consents, data-subject requests and their export bundles, legal holds,
//! retention policies, privacy settings, and deleting the tenant.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_app::page::Page;
use switchboard_app::privacy::consent::{ConsentInput, ConsentView};
use switchboard_app::privacy::export::ExportFile;
use switchboard_app::privacy::holds::{HoldQuery, HoldView, NewHold, ReleaseHold};
use switchboard_app::privacy::requests::{NewPrivacyRequest, PrivacyRequestView, RequestQuery, VerifyInput};
use switchboard_app::privacy::retention::{DryRunView, RetentionPoliciesInput, RetentionPolicyView};
use switchboard_app::privacy::settings::{PrivacySettingsInput, PrivacySettingsView};
use switchboard_app::privacy::tenant_deletion::TenantDeletionView;
use switchboard_core::{ContactId, Permission};
use uuid::Uuid;

use crate::api::whole;
use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeleteTenantQuery {
    /// The tenant's own id, repeated to confirm.
    pub confirm: Option<String>,
}

pub fn routes(r: Routes) -> Routes {
    use Permission as P;
    let privacy = Access::Perm(P::PrivacyManage);
    r.add(
        RouteSpec::get(
            "/api/v1/contacts/{id}/consents",
            Access::Perm(P::ContactsRead),
            "A contact's consent per purpose (unknown when never recorded)",
        )
        .returns_list::<ConsentView>(),
        list_consents,
    )
    .add(
        RouteSpec::post(
            "/api/v1/contacts/{id}/consents",
            Access::Perm(P::ContactsWrite),
            "Record a consent grant or withdrawal",
        )
        .body::<ConsentInput>()
        .returns::<ConsentView>()
        .status(StatusCode::CREATED),
        record_consent,
    )
    .add(
        RouteSpec::get("/api/v1/privacy/settings", privacy, "Privacy settings: jurisdiction, keywords, replies")
            .returns::<PrivacySettingsView>(),
        get_settings,
    )
    .add(
        RouteSpec::put("/api/v1/privacy/settings", privacy, "Replace the privacy settings (absent fields: defaults)")
            .body::<PrivacySettingsInput>()
            .returns::<PrivacySettingsView>(),
        put_settings,
    )
    .add(
        RouteSpec::post(
            "/api/v1/privacy/requests",
            privacy,
            "Open a data-subject request; a verification code goes to the contact",
        )
        .body::<NewPrivacyRequest>()
        .returns::<PrivacyRequestView>()
        .status(StatusCode::CREATED),
        create_request,
    )
    .add(
        RouteSpec::get(
            "/api/v1/privacy/requests",
            privacy,
            "Data-subject requests with their deadlines, newest first (open ones by default)",
        )
        .query::<RequestQuery>()
        .returns_list::<PrivacyRequestView>(),
        list_requests,
    )
    .add(
        RouteSpec::get("/api/v1/privacy/requests/{id}", privacy, "A data-subject request")
            .returns::<PrivacyRequestView>(),
        get_request,
    )
    .add(
        RouteSpec::post(
            "/api/v1/privacy/requests/{id}/verify",
            privacy,
            "Verify the requester: their code, or an operator's attestation",
        )
        .body::<VerifyInput>()
        .returns::<PrivacyRequestView>(),
        verify_request,
    )
    .add(
        RouteSpec::post(
            "/api/v1/privacy/requests/{id}/fulfil",
            privacy,
            "Carry out a verified request (erasure, restriction, export, …)",
        )
        .returns::<PrivacyRequestView>(),
        fulfil_request,
    )
    .add(
        RouteSpec::get(
            "/api/v1/privacy/requests/{id}/export",
            privacy,
            "The data bundle (zip) of a verified, fulfilled access or export request",
        )
        .returns_file("application/zip"),
        export_request,
    )
    .add(
        RouteSpec::get(
            "/api/v1/privacy/exports/{token}",
            Access::Public,
            "Download a data bundle through its signed, expiring link",
        )
        .returns_file("application/zip"),
        export_by_link,
    )
    .add(
        RouteSpec::get("/api/v1/privacy/holds", privacy, "Legal holds (active ones by default)")
            .query::<HoldQuery>()
            .returns_list::<HoldView>(),
        list_holds,
    )
    .add(
        RouteSpec::post("/api/v1/privacy/holds", privacy, "Place a legal hold")
            .body::<NewHold>()
            .returns::<HoldView>()
            .status(StatusCode::CREATED),
        place_hold,
    )
    .add(
        RouteSpec::post("/api/v1/privacy/holds/{id}/release", privacy, "Release a legal hold")
            .body::<ReleaseHold>()
            .returns::<HoldView>(),
        release_hold,
    )
    .add(
        RouteSpec::get("/api/v1/privacy/retention", privacy, "Retention policy per data category")
            .returns_list::<RetentionPolicyView>(),
        get_retention,
    )
    .add(
        RouteSpec::put("/api/v1/privacy/retention", privacy, "Set retention policies")
            .body::<RetentionPoliciesInput>()
            .returns_list::<RetentionPolicyView>(),
        put_retention,
    )
    .add(
        RouteSpec::get(
            "/api/v1/privacy/retention/dry-run",
            privacy,
            "What a retention run now would purge, per category",
        )
        .returns::<DryRunView>(),
        dry_run,
    )
    .add(
        RouteSpec::delete(
            "/api/v1/tenant",
            Access::Perm(P::TenantDelete),
            "Delete the organisation: deactivated now, purged after the grace period",
        )
        .query::<DeleteTenantQuery>()
        .returns::<TenantDeletionView>()
        .status(StatusCode::ACCEPTED),
        delete_tenant,
    )
}

async fn list_consents(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ContactId>,
) -> ApiResult<AxumJson<Page<ConsentView>>> {
    Ok(AxumJson(s.app.list_consents(&p, id).await?))
}

async fn record_consent(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ContactId>,
    Json(b): Json<ConsentInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.record_consent(&p, id, b).await?)))
}

async fn get_settings(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<PrivacySettingsView>> {
    Ok(AxumJson(s.app.privacy_settings(&p).await?))
}

async fn put_settings(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<PrivacySettingsInput>,
) -> ApiResult<AxumJson<PrivacySettingsView>> {
    Ok(AxumJson(s.app.put_privacy_settings(&p, b).await?))
}

async fn create_request(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<NewPrivacyRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.create_privacy_request(&p, b).await?)))
}

async fn list_requests(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<RequestQuery>,
) -> ApiResult<AxumJson<Page<PrivacyRequestView>>> {
    Ok(AxumJson(s.app.list_privacy_requests(&p, q).await?))
}

async fn get_request(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<AxumJson<PrivacyRequestView>> {
    Ok(AxumJson(s.app.get_privacy_request(&p, id).await?))
}

async fn verify_request(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<VerifyInput>,
) -> ApiResult<AxumJson<PrivacyRequestView>> {
    Ok(AxumJson(s.app.verify_privacy_request(&p, id, b).await?))
}

async fn fulfil_request(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<AxumJson<PrivacyRequestView>> {
    Ok(AxumJson(s.app.fulfil_privacy_request(&p, id).await?))
}

/// A zip download that no cache keeps.
fn zip_response(f: ExportFile) -> Response {
    let mut res = (StatusCode::OK, f.bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The file name is built from a UUID only, so it needs no escaping.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", f.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

async fn export_request(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<Uuid>) -> ApiResult<Response> {
    Ok(zip_response(s.app.export_privacy_request(&p, id).await?))
}

async fn export_by_link(State(s): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    Ok(zip_response(s.app.export_by_link(&token).await?))
}

async fn list_holds(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<HoldQuery>,
) -> ApiResult<AxumJson<Page<HoldView>>> {
    Ok(AxumJson(s.app.list_holds(&p, q).await?))
}

async fn place_hold(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<NewHold>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.place_hold(&p, b).await?)))
}

async fn release_hold(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<ReleaseHold>,
) -> ApiResult<AxumJson<HoldView>> {
    Ok(AxumJson(s.app.release_hold(&p, id, b).await?))
}

async fn get_retention(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<Page<RetentionPolicyView>>> {
    Ok(AxumJson(whole(s.app.retention_policies(&p).await?)))
}

async fn put_retention(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<RetentionPoliciesInput>,
) -> ApiResult<AxumJson<Page<RetentionPolicyView>>> {
    Ok(AxumJson(whole(s.app.put_retention_policies(&p, b).await?)))
}

async fn dry_run(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<DryRunView>> {
    Ok(AxumJson(s.app.retention_dry_run(&p).await?))
}

async fn delete_tenant(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<DeleteTenantQuery>,
) -> ApiResult<impl IntoResponse> {
    let view = s.app.request_tenant_deletion(&p, q.confirm.as_deref().unwrap_or_default()).await?;
    Ok((StatusCode::ACCEPTED, AxumJson(view)))
}

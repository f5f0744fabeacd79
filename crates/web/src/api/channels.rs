//! Connected WhatsApp numbers and their message templates.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use switchboard_app::page::Page;
use switchboard_app::whatsapp::channels::{ChannelView, ConnectWhatsApp};
use switchboard_app::whatsapp::templates::{NewTemplate, TemplateView};
use switchboard_core::{ChannelId, Permission};
use uuid::Uuid;

use crate::api::whole;
use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TemplateQuery {
    /// Only this number's account.
    pub channel_id: Option<Uuid>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Synced {
    pub templates: usize,
}

pub fn routes(r: Routes) -> Routes {
    use Permission as P;
    r.add(
        RouteSpec::post(
            "/api/v1/channels/whatsapp",
            Access::Perm(P::ChannelsManage),
            "Connect a WhatsApp number (checks the token with Meta)",
        )
        .body::<ConnectWhatsApp>()
        .returns::<ChannelView>()
        .status(StatusCode::CREATED),
        connect,
    )
    .add(
        RouteSpec::get("/api/v1/channels/whatsapp", Access::Perm(P::ChannelsRead), "Connected numbers")
            .returns_list::<ChannelView>(),
        list,
    )
    .add(
        RouteSpec::get("/api/v1/channels/whatsapp/{id}", Access::Perm(P::ChannelsRead), "A connected number")
            .returns::<ChannelView>(),
        get_one,
    )
    .add(
        RouteSpec::delete("/api/v1/channels/whatsapp/{id}", Access::Perm(P::ChannelsManage), "Disconnect a number"),
        disconnect,
    )
    .add(
        RouteSpec::post(
            "/api/v1/channels/whatsapp/{id}/templates/sync",
            Access::Perm(P::TemplatesManage),
            "Fetch the number's templates from Meta",
        )
        .returns::<Synced>(),
        sync,
    )
    .add(
        RouteSpec::get("/api/v1/templates", Access::Perm(P::TemplatesRead), "Message templates")
            .query::<TemplateQuery>()
            .returns_list::<TemplateView>(),
        templates,
    )
    .add(
        RouteSpec::post(
            "/api/v1/templates",
            Access::Perm(P::TemplatesManage),
            "Submit a template to Meta for approval",
        )
        .body::<NewTemplate>()
        .returns::<TemplateView>()
        .status(StatusCode::CREATED),
        create_template,
    )
    .add(
        RouteSpec::delete(
            "/api/v1/templates/{id}",
            Access::Perm(P::TemplatesManage),
            "Delete a template (all its languages) at Meta",
        ),
        delete_template,
    )
}

async fn connect(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<ConnectWhatsApp>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.connect_whatsapp(&p, b).await?)))
}

async fn list(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<Page<ChannelView>>> {
    Ok(AxumJson(whole(s.app.list_channels(&p).await?)))
}

async fn get_one(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ChannelId>,
) -> ApiResult<AxumJson<ChannelView>> {
    Ok(AxumJson(s.app.get_channel(&p, id).await?))
}

async fn disconnect(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<ChannelId>) -> ApiResult<StatusCode> {
    s.app.disconnect_channel(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sync(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<ChannelId>) -> ApiResult<AxumJson<Synced>> {
    Ok(AxumJson(Synced { templates: s.app.sync_templates(&p, id).await? }))
}

async fn templates(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<TemplateQuery>,
) -> ApiResult<AxumJson<Page<TemplateView>>> {
    Ok(AxumJson(whole(s.app.list_templates(&p, q.channel_id.map(ChannelId::from_uuid)).await?)))
}

async fn create_template(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<NewTemplate>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.create_template(&p, b).await?)))
}

async fn delete_template(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    s.app.delete_template_by_id(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

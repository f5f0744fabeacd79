//! The inbox: conversations, their messages, sending, and media downloads.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_app::page::Page;
use switchboard_app::whatsapp::compose::Compose;
use switchboard_app::whatsapp::conversations::{
    ConversationPatch, ConversationQuery, ConversationView, MessageQuery, MessageView, NoteInput, StartConversation,
};
use switchboard_core::{ConversationId, Permission};
use uuid::Uuid;

use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

pub fn routes(r: Routes) -> Routes {
    use Permission as P;
    r.add(
        RouteSpec::get("/api/v1/conversations", Access::Perm(P::ConversationsRead), "The inbox, latest activity first")
            .query::<ConversationQuery>()
            .returns_list::<ConversationView>(),
        list,
    )
    .add(
        RouteSpec::post(
            "/api/v1/conversations",
            Access::Perm(P::MessagesSend),
            "Find or start the conversation with a contact on a number (to write first with a template)",
        )
        .body::<StartConversation>()
        .returns::<ConversationView>(),
        start,
    )
    .add(
        RouteSpec::get("/api/v1/conversations/{id}", Access::Perm(P::ConversationsRead), "A conversation")
            .returns::<ConversationView>(),
        get_one,
    )
    .add(
        RouteSpec::patch(
            "/api/v1/conversations/{id}",
            Access::Perm(P::ConversationsManage),
            "Assign (to an agent and/or a team), resolve, reopen, snooze, label, mark unread",
        )
        .body::<ConversationPatch>()
        .returns::<ConversationView>(),
        patch,
    )
    .add(
        RouteSpec::get(
            "/api/v1/conversations/{id}/messages",
            Access::Perm(P::ConversationsRead),
            "Messages, newest first (clears unread)",
        )
        .query::<MessageQuery>()
        .returns_list::<MessageView>(),
        messages,
    )
    .add(
        RouteSpec::post(
            "/api/v1/conversations/{id}/messages",
            Access::Perm(P::MessagesSend),
            "Send a message (queued; statuses follow)",
        )
        .body::<Compose>()
        .returns::<MessageView>()
        .status(StatusCode::ACCEPTED),
        send,
    )
    .add(
        RouteSpec::post(
            "/api/v1/conversations/{id}/notes",
            Access::Perm(P::ConversationsManage),
            "Add a private note (listed with the messages as direction `note`; never sent)",
        )
        .body::<NoteInput>()
        .returns::<MessageView>()
        .status(StatusCode::CREATED),
        note,
    )
    .add(RouteSpec::get("/api/v1/media/{id}", Access::Perm(P::ConversationsRead), "Download a message's media"), media)
}

async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<AxumJson<Page<ConversationView>>> {
    Ok(AxumJson(s.app.list_conversations(&p, q).await?))
}

async fn start(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<StartConversation>,
) -> ApiResult<AxumJson<ConversationView>> {
    Ok(AxumJson(s.app.start_conversation(&p, b).await?))
}

async fn get_one(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ConversationId>,
) -> ApiResult<AxumJson<ConversationView>> {
    Ok(AxumJson(s.app.get_conversation(&p, id).await?))
}

async fn patch(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ConversationId>,
    Json(b): Json<ConversationPatch>,
) -> ApiResult<AxumJson<ConversationView>> {
    Ok(AxumJson(s.app.update_conversation(&p, id, b).await?))
}

async fn messages(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ConversationId>,
    Query(q): Query<MessageQuery>,
) -> ApiResult<AxumJson<Page<MessageView>>> {
    Ok(AxumJson(s.app.list_messages(&p, id, q).await?))
}

async fn send(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ConversationId>,
    Json(b): Json<Compose>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, AxumJson(s.app.send_message(&p, id, b).await?)))
}

async fn note(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ConversationId>,
    Json(b): Json<NoteInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.add_note(&p, id, &b).await?)))
}

async fn media(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<Uuid>) -> ApiResult<Response> {
    let f = s.app.download_media(&p, id).await?;
    let disposition = format!("{}; filename=\"{}\"", if f.inline { "inline" } else { "attachment" }, f.file_name);
    let mut res = f.bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&f.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(res)
}

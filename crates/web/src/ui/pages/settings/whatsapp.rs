//! WhatsApp numbers: the connected numbers, connecting one (the application checks the token
//! with the Graph API; its refusal is shown beside the form), the webhook URL and verify token
//! to paste into Meta (in the answer to the form only), disconnecting one after a confirmation.
//! Mirrors `/api/v1/channels/whatsapp`. Secrets are never rendered back.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::whatsapp::channels::{ChannelView, ConnectWhatsApp};
use switchboard_core::{ChannelId, Permission};

use super::{Done, Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer};
use crate::ui::form::{Form, Query, filled};
use crate::ui::htmx;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

const PATH: &str = "/settings/whatsapp";

pub fn routes(p: Pages) -> Pages {
    let api = "/api/v1/channels/whatsapp";
    p.add(PageSpec::get(PATH, Access::Perm(Permission::ChannelsRead)).mirrors(Method::GET, api), list)
        .add(PageSpec::post(PATH, Access::Perm(Permission::ChannelsManage)).mirrors(Method::POST, api), connect)
        .add(
            PageSpec::post("/settings/whatsapp/{id}/disconnect", Access::Perm(Permission::ChannelsManage))
                .mirrors(Method::DELETE, "/api/v1/channels/whatsapp/{id}"),
            disconnect,
        )
}

pub struct NumberItem {
    pub id: String,
    /// The number's name, when it is not just the number.
    pub name: Option<String>,
    pub display_phone_number: String,
    pub phone_number_id: String,
    pub waba_id: String,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    pub status: String,
    pub created_at: String,
    pub purge_after: Option<String>,
    /// The legal hold's reason and since when, while it keeps the due purge waiting.
    pub purge_held: Option<(String, String)>,
}

impl NumberItem {
    fn connected(&self) -> bool {
        self.status != "disconnected"
    }

    /// The translation key of the number's status.
    fn status_key(&self) -> &'static str {
        match self.status.as_str() {
            "active" => "settings.wa_active",
            "needs_reconnection" => "settings.wa_needs_reconnection",
            _ => "settings.wa_disconnected",
        }
    }
}

impl From<ChannelView> for NumberItem {
    fn from(c: ChannelView) -> Self {
        Self {
            id: c.id.to_string(),
            name: Some(c.name).filter(|n| n.trim_start_matches('+') != c.display_phone_number),
            display_phone_number: c.display_phone_number,
            phone_number_id: c.phone_number_id,
            waba_id: c.waba_id,
            quality_rating: c.quality_rating,
            messaging_limit: c.messaging_limit,
            status: c.status,
            created_at: short_time(&c.created_at),
            purge_after: c.purge_after.as_deref().map(short_time),
            purge_held: c.purge_hold.map(|h| (h.reason, short_time(&h.since))),
        }
    }
}

/// What Meta needs after a number is connected: shown once, in the answer to the form.
pub struct Connected {
    pub display_phone_number: String,
    pub webhook_url: String,
    pub verify_token: String,
}

/// The connect form's values, secrets left out: they are never rendered back.
#[derive(Deserialize, Default)]
struct ConnectForm {
    #[serde(default)]
    phone_number_id: String,
    #[serde(default)]
    waba_id: String,
    #[serde(default)]
    display_phone_number: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    app_secret: String,
    #[serde(default)]
    verify_token: String,
    #[serde(default)]
    graph_base_url: String,
    #[serde(default)]
    api_version: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/whatsapp.html")]
struct WhatsAppPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    numbers: Vec<NumberItem>,
    can_manage: bool,
    form: ConnectForm,
    connected: Option<Connected>,
    notice: Option<Notice>,
    done: Option<Notice>,
}

impl WhatsAppPage {
    fn invalid(&self, field: &str) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), field)
    }
}

async fn numbers_page(s: &AppState, v: &Viewer) -> PageResult<WhatsAppPage> {
    Ok(WhatsAppPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::WhatsApp),
        numbers: s.app.list_channels_with_disconnected(&v.principal).await?.into_iter().map(NumberItem::from).collect(),
        can_manage: v.can(Permission::ChannelsManage),
        form: ConnectForm::default(),
        connected: None,
        notice: None,
        done: None,
    })
}

async fn list(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    let mut page = numbers_page(&s, &v).await?;
    if q.done.as_deref() == Some("disconnected") {
        page.done = Some(Notice::success(v.t.get("settings.wa_disconnected_done")));
    }
    Ok(page.into_response())
}

/// Meta's refusals (a wrong token, an unknown number, a refused template, an unreachable Graph
/// API) are shown beside the form in Meta's words; the rest as every form shows them.
pub(super) fn graph_notice(t: Tr, e: AppError) -> Result<Notice, AppError> {
    let graph = |detail: &str, field: Option<String>| Notice {
        field,
        ..Notice::error(t.fmt("settings.wa_graph_error", &[("detail", detail)]))
    };
    match e {
        AppError::Invalid(i)
            if matches!(i.code, "invalid_access_token" | "phone_number_rejected" | "rejected_by_meta") =>
        {
            Ok(graph(&i.message, Some(i.field)))
        }
        AppError::Upstream { message, .. } => Ok(graph(&message, None)),
        other => inline(t, other),
    }
}

async fn connect(State(s): State<AppState>, v: Viewer, Form(f): Form<ConnectForm>) -> PageResult {
    let input = ConnectWhatsApp {
        name: None,
        phone_number_id: f.phone_number_id.clone(),
        waba_id: f.waba_id.clone(),
        display_phone_number: f.display_phone_number.clone(),
        access_token: f.access_token.clone(),
        app_secret: f.app_secret.clone(),
        verify_token: f.verify_token.clone(),
        graph_base_url: filled(&f.graph_base_url),
        api_version: filled(&f.api_version),
        throughput_per_sec: None,
    };
    match s.app.connect_whatsapp(&v.principal, input).await {
        Ok(ch) => {
            let mut page = numbers_page(&s, &v).await?;
            page.connected = Some(Connected {
                display_phone_number: ch.display_phone_number,
                webhook_url: ch.webhook_url,
                verify_token: f.verify_token,
            });
            Ok(htmx::at(PATH, page.into_response()))
        }
        Err(e) => {
            let status = status_of(&e);
            let notice = graph_notice(v.t, e)?;
            let mut page = numbers_page(&s, &v).await?;
            page.form = ConnectForm {
                access_token: String::new(),
                app_secret: String::new(),
                verify_token: String::new(),
                ..f
            };
            page.notice = Some(notice);
            Ok(htmx::at(PATH, (status, page).into_response()))
        }
    }
}

#[derive(Deserialize, Default)]
struct DisconnectForm {
    #[serde(default)]
    confirm: Option<String>,
}

async fn disconnect(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DisconnectForm>,
) -> PageResult {
    let id: ChannelId = id.parse().map_err(|_| UiError(AppError::NotFound))?;
    // Look it up first, so another tenant's number is 404 whatever the form says.
    s.app.get_channel(&v.principal, id).await?;
    if f.confirm.as_deref() != Some("yes") {
        let mut page = numbers_page(&s, &v).await?;
        page.done = Some(Notice::error(v.t.get("settings.wa_confirm_required")));
        return Ok(htmx::at(PATH, (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()));
    }
    s.app.disconnect_channel(&v.principal, id).await?;
    Ok(Redirect::to(&format!("{PATH}?done=disconnected")).into_response())
}

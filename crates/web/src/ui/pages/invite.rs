//! The invitation link, `/invite/{token}`: opened without logging in, it shows what the
//! invitation is for and asks for a name and a password; accepting creates the user, who then
//! logs in. A link that is unknown (404), used, revoked or expired (410) gets a page that says so
//! and no form. Mirrors `/api/v1/invite/{token}`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::invitations::{Acceptance, InvitationView};

use crate::auth::Access;
use crate::client_ip::ClientIp;
use crate::state::AppState;
use crate::ui::access::PageResult;
use crate::ui::form::Form;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section, role_key};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let link = "/api/v1/invite/{token}";
    p.add(PageSpec::get("/invite/{token}", Access::Public).mirrors(Method::GET, link), show)
        .add(PageSpec::post("/invite/{token}", Access::Public).mirrors(Method::POST, link), accept)
}

#[derive(Template, WebTemplate)]
#[template(path = "invite.html")]
struct InvitePage {
    t: Tr,
    layout: Layout,
    /// The invitation while the link works; `None` with `refusal` set when it does not.
    invitation: Option<InvitationView>,
    role_label: &'static str,
    refusal: Option<&'static str>,
    name: String,
    notice: Option<Notice>,
}

/// The page for a link, or the refusal (status and text) when it does not work.
fn page(t: Tr, found: Result<InvitationView, AppError>) -> Result<(StatusCode, InvitePage), AppError> {
    let mut page = InvitePage {
        t,
        layout: Layout::new(None, Section::None),
        invitation: None,
        role_label: "",
        refusal: None,
        name: String::new(),
        notice: None,
    };
    match found {
        Ok(i) => {
            page.role_label = role_key(i.role);
            page.invitation = Some(i);
            Ok((StatusCode::OK, page))
        }
        Err(AppError::NotFound) => {
            page.refusal = Some(t.get("invite.unknown"));
            Ok((StatusCode::NOT_FOUND, page))
        }
        Err(AppError::Gone { code, .. }) => {
            page.refusal = Some(t.get(match code {
                "invitation_used" => "invite.used",
                "invitation_revoked" => "invite.revoked",
                _ => "invite.expired",
            }));
            Ok((StatusCode::GONE, page))
        }
        Err(e) => Err(e),
    }
}

async fn show(State(s): State<AppState>, t: Tr, Path(token): Path<String>) -> PageResult<Response> {
    let (status, page) = page(t, s.app.open_invitation(&token).await)?;
    Ok((status, page).into_response())
}

#[derive(Deserialize, Default)]
struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn accept(
    State(s): State<AppState>,
    t: Tr,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    Form(f): Form<AcceptForm>,
) -> PageResult<Response> {
    let input = Acceptance { name: f.name.clone(), password: f.password };
    match s.app.accept_invitation(&token, &input, ip).await {
        Ok(_) => Ok(Redirect::to("/login?welcome=1").into_response()),
        Err(e @ (AppError::NotFound | AppError::Gone { .. })) => {
            let (status, page) = page(t, Err(e))?;
            Ok((status, page).into_response())
        }
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(t, e)?;
            let (_, mut page) = page(t, s.app.open_invitation(&token).await)?;
            page.name = f.name;
            page.notice = Some(notice);
            Ok((status, page).into_response())
        }
    }
}

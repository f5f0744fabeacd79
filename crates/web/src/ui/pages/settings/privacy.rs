//! The tenant's privacy settings: the jurisdiction new data-subject requests follow (and so
//! their deadline: 30 days under GDPR and KVKK, 45 under CCPA), the language of
//! confirmations, the opt-out and resume keywords (one a line) and the confirmation replies.
//! Needs `privacy:manage` and mirrors `/api/v1/privacy/settings`; the application validates
//! (keywords normalised as the matcher does, none in both lists, no empty list) and audits.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::privacy::settings::{PrivacySettingsInput, PrivacySettingsView, Replies};
use switchboard_core::Permission;
use switchboard_core::optout::{KeywordAction, Language, default_reply};
use switchboard_core::privacy::Jurisdiction;

use super::{Done, Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, Viewer};
use crate::ui::form::{Form, Query, filled};
use crate::ui::htmx;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

const PATH: &str = "/settings/privacy";

pub fn routes(p: Pages) -> Pages {
    let a = Access::Perm(Permission::PrivacyManage);
    let api = "/api/v1/privacy/settings";
    p.add(PageSpec::get(PATH, a).mirrors(Method::GET, api), show)
        .add(PageSpec::post(PATH, a).mirrors(Method::PUT, api), save)
}

/// The form's fields, as stored or as typed. Keywords: one a line (commas separate too).
#[derive(Deserialize, Default)]
struct PrivacyForm {
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    opt_out_keywords: String,
    #[serde(default)]
    opt_in_keywords: String,
    #[serde(default)]
    opt_out_reply_en: String,
    #[serde(default)]
    opt_out_reply_tr: String,
    #[serde(default)]
    opt_in_reply_en: String,
    #[serde(default)]
    opt_in_reply_tr: String,
    #[serde(default)]
    notice_version: String,
}

impl From<&PrivacySettingsView> for PrivacyForm {
    fn from(v: &PrivacySettingsView) -> Self {
        Self {
            jurisdiction: if v.jurisdiction_set { v.jurisdiction.clone() } else { String::new() },
            language: if v.language_set { v.language.clone() } else { String::new() },
            opt_out_keywords: v.opt_out_keywords.join("\n"),
            opt_in_keywords: v.opt_in_keywords.join("\n"),
            // A text for every language (set through the API) shows in each language's field.
            opt_out_reply_en: shown(&v.opt_out_replies, Language::En, &v.opt_out_reply),
            opt_out_reply_tr: shown(&v.opt_out_replies, Language::Tr, &v.opt_out_reply),
            opt_in_reply_en: shown(&v.opt_in_replies, Language::En, &v.opt_in_reply),
            opt_in_reply_tr: shown(&v.opt_in_replies, Language::Tr, &v.opt_in_reply),
            notice_version: v.notice_version.clone().unwrap_or_default(),
        }
    }
}

fn shown(replies: &Replies, language: Language, every: &Option<String>) -> String {
    replies.get(language).or(every.as_deref()).unwrap_or_default().to_owned()
}

fn keywords(text: &str) -> Vec<String> {
    text.split(['\n', ',']).map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect()
}

impl PrivacyForm {
    fn input(&self) -> Result<PrivacySettingsInput, AppError> {
        let jurisdiction = match filled(&self.jurisdiction) {
            None => None,
            Some(j) => Some(j.parse::<Jurisdiction>().map_err(|_| {
                switchboard_core::Invalid::new("jurisdiction", "invalid_jurisdiction", "gdpr, kvkk or ccpa")
            })?),
        };
        Ok(PrivacySettingsInput {
            jurisdiction,
            language: filled(&self.language),
            opt_out_keywords: Some(keywords(&self.opt_out_keywords)),
            opt_in_keywords: Some(keywords(&self.opt_in_keywords)),
            // The page writes a text per language; one for every language is the API's.
            opt_out_reply: None,
            opt_in_reply: None,
            opt_out_replies: Some(Replies { en: filled(&self.opt_out_reply_en), tr: filled(&self.opt_out_reply_tr) }),
            opt_in_replies: Some(Replies { en: filled(&self.opt_in_reply_en), tr: filled(&self.opt_in_reply_tr) }),
            notice_version: filled(&self.notice_version),
        })
    }
}

/// A jurisdiction to choose: (value, translation key, days to answer).
pub struct JurisdictionChoice {
    pub value: &'static str,
    pub label_key: String,
    pub days: String,
}

/// The built-in confirmations.
pub struct Defaults {
    pub opt_out_en: &'static str,
    pub opt_out_tr: &'static str,
    pub opt_in_en: &'static str,
    pub opt_in_tr: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/privacy.html")]
struct PrivacyPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    form: PrivacyForm,
    /// What applies now (with the region's defaults filled in).
    current: PrivacySettingsView,
    jurisdictions: Vec<JurisdictionChoice>,
    /// The built-in confirmations in each language (the fields' placeholders).
    defaults: Defaults,
    notice: Option<Notice>,
}

impl PrivacyPage {
    fn new(v: &Viewer, current: PrivacySettingsView, form: PrivacyForm, notice: Option<Notice>) -> Self {
        Self {
            t: v.t,
            layout: Layout::new(Some(v), Section::Settings),
            tabs: tabs(v, Part::Privacy),
            form,
            jurisdictions: Jurisdiction::ALL
                .iter()
                .map(|j| JurisdictionChoice {
                    value: j.as_str(),
                    label_key: format!("settings.privacy_jurisdiction.{}", j.as_str()),
                    days: j.response_days().to_string(),
                })
                .collect(),
            defaults: Defaults {
                opt_out_en: default_reply(KeywordAction::OptOut, Language::En),
                opt_out_tr: default_reply(KeywordAction::OptOut, Language::Tr),
                opt_in_en: default_reply(KeywordAction::OptIn, Language::En),
                opt_in_tr: default_reply(KeywordAction::OptIn, Language::Tr),
            },
            current,
            notice,
        }
    }

    fn invalid(&self, field: &str) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), field)
    }

    fn current_days(&self) -> String {
        self.current.response_days.to_string()
    }
}

async fn show(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    let current = s.app.privacy_settings(&v.principal).await?;
    let done = (q.done.as_deref() == Some("saved")).then(|| Notice::success(v.t.get("settings.privacy_saved")));
    let form = PrivacyForm::from(&current);
    Ok(PrivacyPage::new(&v, current, form, done).into_response())
}

async fn save(State(s): State<AppState>, v: Viewer, Form(f): Form<PrivacyForm>) -> PageResult {
    let result = match f.input() {
        Ok(input) => s.app.put_privacy_settings(&v.principal, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/settings/privacy?done=saved").into_response()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let current = s.app.privacy_settings(&v.principal).await?;
            let page = PrivacyPage::new(&v, current, f, Some(notice));
            Ok(htmx::at(PATH, (status, page).into_response()))
        }
    }
}

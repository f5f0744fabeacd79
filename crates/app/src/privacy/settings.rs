//! Per-tenant privacy settings: the jurisdiction requests default to, the language of
//! confirmations, the opt-out and opt-in keywords and their replies, the privacy-notice
//! version recorded with consents. Unset values follow the tenant's region.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use switchboard_core::optout::{
    DEFAULT_OPT_IN, DEFAULT_OPT_OUT, KeywordAction, Keywords, Language, default_reply, normalize,
};
use switchboard_core::privacy::Jurisdiction;
use switchboard_core::{Invalid, Permission, TenantId};
use switchboard_storage::Scope;
use switchboard_storage::privacy::settings::{self as repo, PrivacySettingsRow};
use switchboard_storage::tenants;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::privacy::text_field;
use crate::{App, AppResult};

/// The settings in force for a tenant.
#[derive(Debug, Clone)]
pub struct Effective {
    pub jurisdiction: Jurisdiction,
    pub language: Language,
    /// Whether the tenant chose the jurisdiction and language (else the region decides).
    pub jurisdiction_set: bool,
    pub language_set: bool,
    pub keywords: Keywords,
    /// The tenant's reply in every language (when it has none of its own in that language).
    pub opt_out_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    /// The tenant's replies per language.
    pub opt_out_replies: Replies,
    pub opt_in_replies: Replies,
    pub notice_version: Option<String>,
}

impl Effective {
    /// The confirmation to send after a keyword, in the language of the keyword (DURDUR →
    /// Turkish), else the tenant's language: the tenant's text in that language, else its text
    /// for every language, else the built-in one in that language.
    #[must_use]
    pub fn reply(&self, action: KeywordAction, keyword_language: Option<Language>) -> String {
        let language = keyword_language.unwrap_or(self.language);
        let (per_language, every) = match action {
            KeywordAction::OptOut => (&self.opt_out_replies, &self.opt_out_reply),
            KeywordAction::OptIn => (&self.opt_in_replies, &self.opt_in_reply),
        };
        per_language
            .get(language)
            .or(every.as_deref())
            .map_or_else(|| default_reply(action, language).to_owned(), str::to_owned)
    }
}

/// A confirmation written per language; a language left out falls back (see
/// [`Effective::reply`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replies {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tr: Option<String>,
}

impl Replies {
    #[must_use]
    pub fn get(&self, language: Language) -> Option<&str> {
        match language {
            Language::En => self.en.as_deref(),
            Language::Tr => self.tr.as_deref(),
        }
    }

    fn checked(&self, field: &str) -> Result<Self, Invalid> {
        let one = |lang: &str, v: &Option<String>| {
            v.as_deref().map(|t| text_field(&format!("{field}.{lang}"), t, 1000)).transpose()
        };
        Ok(Self { en: one("en", &self.en)?, tr: one("tr", &self.tr)? })
    }
}

/// How `privacy_settings.replies` stores both actions' replies.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredReplies {
    #[serde(default)]
    opt_out: Replies,
    #[serde(default)]
    opt_in: Replies,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrivacySettingsView {
    /// `gdpr`, `kvkk` or `ccpa`: the default for new data-subject requests.
    pub jurisdiction: String,
    /// Days a new request has to be answered in under that jurisdiction (30 GDPR/KVKK,
    /// 45 CCPA).
    pub response_days: i64,
    /// Whether the jurisdiction is the tenant's own choice (false: it follows the region).
    pub jurisdiction_set: bool,
    /// Whether the language is the tenant's own choice (false: it follows the region).
    pub language_set: bool,
    /// `tr` or `en`: confirmations and verification texts.
    pub language: String,
    pub opt_out_keywords: Vec<String>,
    pub opt_in_keywords: Vec<String>,
    /// The tenant's confirmation text for every language it has no text of its own in, or
    /// null.
    pub opt_out_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    /// The tenant's confirmation texts per language (`en`, `tr`); a language left out gets
    /// `opt_out_reply`, else the built-in text in that language.
    pub opt_out_replies: Replies,
    pub opt_in_replies: Replies,
    pub notice_version: Option<String>,
}

/// The whole configuration; an absent or null field returns to the default.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettingsInput {
    #[schema(value_type = Option<String>)]
    pub jurisdiction: Option<Jurisdiction>,
    pub language: Option<String>,
    pub opt_out_keywords: Option<Vec<String>>,
    pub opt_in_keywords: Option<Vec<String>>,
    pub opt_out_reply: Option<String>,
    pub opt_in_reply: Option<String>,
    pub opt_out_replies: Option<Replies>,
    pub opt_in_replies: Option<Replies>,
    pub notice_version: Option<String>,
}

const MAX_KEYWORDS: usize = 20;

/// A keyword list as the matcher will use it: each keyword trimmed, 1 to 40 characters with
/// at least one letter or digit, and a keyword that normalises like an earlier one (`stop`
/// after `STOP`, `IPTAL` after `İPTAL`) dropped, so the list shows what actually matches.
/// An empty list is refused: a tenant cannot switch opt-out off by leaving the field blank.
fn keyword_list(field: &str, list: &[String]) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    let mut seen: Vec<String> = Vec::with_capacity(list.len());
    for (i, k) in list.iter().enumerate() {
        let k = k.trim();
        let n = normalize(k);
        if n.is_empty() || k.chars().count() > 40 {
            return Err(Invalid::new(
                format!("{field}[{i}]"),
                "invalid_keyword",
                "a keyword is 1 to 40 characters with at least one letter or digit",
            ));
        }
        if !seen.contains(&n) {
            if out.len() == MAX_KEYWORDS {
                // Refused at the first one too many, so a huge list costs no more than this.
                return Err(Invalid::new(
                    field,
                    "too_many_keywords",
                    format!("{field}: at most {MAX_KEYWORDS} keywords"),
                ));
            }
            seen.push(n);
            out.push(k.to_owned());
        }
    }
    if out.is_empty() {
        return Err(Invalid::new(field, "keywords_required", format!("{field}: give at least one keyword")));
    }
    Ok(out)
}

fn stored_list(json: &str, default: &[&str]) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_else(|_| default.iter().map(|s| (*s).to_owned()).collect())
}

/// The settings in force for the scope's tenant.
pub(crate) async fn effective(s: &mut Scope<'_>) -> AppResult<Effective> {
    let region = tenants::get(s).await?.default_region;
    let row = repo::get(s).await?;
    let Some(row) = row else {
        return Ok(Effective {
            jurisdiction: Jurisdiction::for_region(&region),
            language: Language::for_region(&region),
            jurisdiction_set: false,
            language_set: false,
            keywords: Keywords::default(),
            opt_out_reply: None,
            opt_in_reply: None,
            opt_out_replies: Replies::default(),
            opt_in_replies: Replies::default(),
            notice_version: None,
        });
    };
    let jurisdiction = row.jurisdiction.and_then(|j| j.parse::<Jurisdiction>().ok());
    let language = row.language.as_deref().and_then(Language::parse);
    let replies: StoredReplies = row.replies.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
    Ok(Effective {
        jurisdiction_set: jurisdiction.is_some(),
        language_set: language.is_some(),
        jurisdiction: jurisdiction.unwrap_or_else(|| Jurisdiction::for_region(&region)),
        language: language.unwrap_or_else(|| Language::for_region(&region)),
        keywords: Keywords {
            opt_out: stored_list(&row.opt_out_keywords, &DEFAULT_OPT_OUT),
            opt_in: stored_list(&row.opt_in_keywords, &DEFAULT_OPT_IN),
        },
        opt_out_reply: row.opt_out_reply,
        opt_in_reply: row.opt_in_reply,
        opt_out_replies: replies.opt_out,
        opt_in_replies: replies.opt_in,
        notice_version: row.notice_version,
    })
}

/// How long the ingest path trusts its copy of a tenant's keywords: a changed list applies
/// everywhere within this time (at once on the node that changed it).
const KEYWORD_TTL: Duration = Duration::from_secs(30);

/// Each tenant's opt-out and opt-in keywords, kept briefly so the batched ingest matches
/// inbound texts without reading the settings row per message.
#[derive(Default)]
pub(crate) struct KeywordCache(Mutex<HashMap<TenantId, (Instant, Arc<Keywords>)>>);

impl KeywordCache {
    /// The scope's tenant's keywords, read in the caller's transaction when not cached.
    pub(crate) async fn get(&self, s: &mut Scope<'_>) -> AppResult<Arc<Keywords>> {
        let tenant = s.tenant_id();
        if let Some((at, k)) = self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&tenant)
            && at.elapsed() < KEYWORD_TTL
        {
            return Ok(k.clone());
        }
        let keywords = Arc::new(effective(s).await?.keywords);
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(tenant, (Instant::now(), keywords.clone()));
        Ok(keywords)
    }

    fn forget(&self, tenant: TenantId) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&tenant);
    }
}

fn view(e: Effective) -> PrivacySettingsView {
    PrivacySettingsView {
        jurisdiction: e.jurisdiction.as_str().to_owned(),
        response_days: e.jurisdiction.response_days(),
        jurisdiction_set: e.jurisdiction_set,
        language_set: e.language_set,
        language: e.language.as_str().to_owned(),
        opt_out_keywords: e.keywords.opt_out,
        opt_in_keywords: e.keywords.opt_in,
        opt_out_reply: e.opt_out_reply,
        opt_in_reply: e.opt_in_reply,
        opt_out_replies: e.opt_out_replies,
        opt_in_replies: e.opt_in_replies,
        notice_version: e.notice_version,
    }
}

/// The names of the fields whose value differs (the audit entry names fields, never values).
fn changed_fields(a: &PrivacySettingsView, b: &PrivacySettingsView) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    check("jurisdiction", a.jurisdiction != b.jurisdiction || a.jurisdiction_set != b.jurisdiction_set);
    check("language", a.language != b.language || a.language_set != b.language_set);
    check("opt_out_keywords", a.opt_out_keywords != b.opt_out_keywords);
    check("opt_in_keywords", a.opt_in_keywords != b.opt_in_keywords);
    check("opt_out_reply", a.opt_out_reply != b.opt_out_reply);
    check("opt_in_reply", a.opt_in_reply != b.opt_in_reply);
    check("opt_out_replies", a.opt_out_replies != b.opt_out_replies);
    check("opt_in_replies", a.opt_in_replies != b.opt_in_replies);
    check("notice_version", a.notice_version != b.notice_version);
    out
}

impl App {
    pub async fn privacy_settings(&self, p: &Principal) -> AppResult<PrivacySettingsView> {
        p.require(Permission::PrivacyManage)?;
        Ok(view(effective(&mut self.db.read().await?.tenant(p.tenant)).await?))
    }

    pub async fn put_privacy_settings(
        &self,
        p: &Principal,
        input: PrivacySettingsInput,
    ) -> AppResult<PrivacySettingsView> {
        p.require(Permission::PrivacyManage)?;
        let language = input
            .language
            .as_deref()
            .map(|l| {
                Language::parse(l)
                    .ok_or_else(|| Invalid::new("language", "invalid_language", "language must be tr or en"))
            })
            .transpose()?;
        let opt_out = match &input.opt_out_keywords {
            Some(l) => keyword_list("opt_out_keywords", l)?,
            None => DEFAULT_OPT_OUT.iter().map(|s| (*s).to_owned()).collect(),
        };
        let opt_in = match &input.opt_in_keywords {
            Some(l) => keyword_list("opt_in_keywords", l)?,
            None => DEFAULT_OPT_IN.iter().map(|s| (*s).to_owned()).collect(),
        };
        if let Some(both) = opt_out.iter().find(|o| opt_in.iter().any(|i| normalize(i) == normalize(o))) {
            return Err(Invalid::new(
                "opt_in_keywords",
                "keyword_in_both_lists",
                format!("{both} cannot be both an opt-out and a resume keyword"),
            )
            .into());
        }
        let reply = |field: &str, v: &Option<String>| v.as_deref().map(|t| text_field(field, t, 1000)).transpose();
        let row = PrivacySettingsRow {
            jurisdiction: input.jurisdiction.map(|j| j.as_str().to_owned()),
            language: language.map(|l| l.as_str().to_owned()),
            opt_out_keywords: serde_json::to_string(&opt_out).map_err(crate::AppError::internal)?,
            opt_in_keywords: serde_json::to_string(&opt_in).map_err(crate::AppError::internal)?,
            opt_out_reply: reply("opt_out_reply", &input.opt_out_reply)?,
            opt_in_reply: reply("opt_in_reply", &input.opt_in_reply)?,
            replies: Some(
                serde_json::to_string(&StoredReplies {
                    opt_out: input.opt_out_replies.unwrap_or_default().checked("opt_out_replies")?,
                    opt_in: input.opt_in_replies.unwrap_or_default().checked("opt_in_replies")?,
                })
                .map_err(crate::AppError::internal)?,
            ),
            notice_version: input
                .notice_version
                .as_deref()
                .map(|v| text_field("notice_version", v, 100))
                .transpose()?,
            updated_at: self.now().0,
        };
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let before = view(effective(&mut s).await?);
        repo::put(&mut s, &row).await?;
        let out = view(effective(&mut s).await?);
        Audit::of(p)
            .record(
                self,
                &mut s,
                "privacy.settings_updated",
                Some(("tenant", p.tenant.to_string())),
                serde_json::json!({"changed": changed_fields(&before, &out)}),
            )
            .await?;
        tx.commit().await?;
        self.wa.keywords.forget(p.tenant);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn keyword_lists_are_normalised_like_the_matcher() {
        let out =
            keyword_list("opt_out_keywords", &list(&["STOP", " stop. ", "İptal", "IPTAL", "ＳＴＯＰ", "Dur"])).unwrap();
        assert_eq!(out, list(&["STOP", "İptal", "Dur"]), "spellings of one keyword kept once, as first typed");
        let e = keyword_list("opt_out_keywords", &[]).unwrap_err();
        assert_eq!((e.code, e.field.as_str()), ("keywords_required", "opt_out_keywords"));
        let e = keyword_list("opt_in_keywords", &list(&["START", "🙏"])).unwrap_err();
        assert_eq!((e.code, e.field.as_str()), ("invalid_keyword", "opt_in_keywords[1]"));
        let many: Vec<String> = (0..21).map(|i| format!("K{i}")).collect();
        assert_eq!(keyword_list("opt_out_keywords", &many).unwrap_err().code, "too_many_keywords");
        let twice: Vec<String> = (0..30).map(|_| "STOP".to_owned()).collect();
        assert_eq!(keyword_list("opt_out_keywords", &twice).unwrap(), list(&["STOP"]), "20 is counted after dedupe");
    }

    #[test]
    fn changed_fields_name_fields_only() {
        let a = PrivacySettingsView {
            jurisdiction: "kvkk".into(),
            response_days: 30,
            jurisdiction_set: false,
            language_set: false,
            language: "tr".into(),
            opt_out_keywords: list(&["STOP"]),
            opt_in_keywords: list(&["START"]),
            opt_out_reply: None,
            opt_in_reply: None,
            opt_out_replies: Replies::default(),
            opt_in_replies: Replies::default(),
            notice_version: None,
        };
        let mut b = a.clone();
        assert!(changed_fields(&a, &b).is_empty());
        b.jurisdiction_set = true;
        b.opt_in_reply = Some("secret words".into());
        assert_eq!(changed_fields(&a, &b), vec!["jurisdiction", "opt_in_reply"]);
    }
}

#[cfg(test)]
mod reply_tests {
    use super::*;

    #[test]
    fn replies_follow_the_keyword_language_then_every_language_then_built_in() {
        let mut e = Effective {
            jurisdiction: Jurisdiction::Kvkk,
            language: Language::Tr,
            jurisdiction_set: false,
            language_set: false,
            keywords: Keywords::default(),
            opt_out_reply: None,
            opt_in_reply: None,
            opt_out_replies: Replies { en: Some("Bye.".into()), tr: None },
            opt_in_replies: Replies::default(),
            notice_version: None,
        };
        assert_eq!(e.reply(KeywordAction::OptOut, Some(Language::En)), "Bye.");
        assert_eq!(e.reply(KeywordAction::OptOut, None), default_reply(KeywordAction::OptOut, Language::Tr));
        e.opt_out_reply = Some("Tamam.".into());
        assert_eq!(e.reply(KeywordAction::OptOut, Some(Language::Tr)), "Tamam.");
        assert_eq!(e.reply(KeywordAction::OptOut, Some(Language::En)), "Bye.", "its own language first");
        assert_eq!(
            e.reply(KeywordAction::OptIn, Some(Language::En)),
            default_reply(KeywordAction::OptIn, Language::En)
        );
    }
}

//! The consent ledger per contact and purpose, the keywords and Meta preferences that move it
//! from inbound traffic, and the checks send paths make at the moment of sending.

use serde::{Deserialize, Serialize};
use switchboard_core::optout::{InboundText, KeywordAction};
use switchboard_core::privacy::{
    self as rules, ConsentSource, ConsentState, LegalBasis, LimitKind, ProcessingFacts, Purpose, Refusal,
};
use switchboard_core::{ContactId, Invalid, Millis, Permission, TenantId};
use switchboard_storage::Scope;
use switchboard_storage::privacy::consents::{self as repo, ConsentEventRow, ConsentRow};
use switchboard_storage::privacy::limits;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::page::Page;
use crate::privacy::{actor_ref, contact, parse_instant, rfc3339, settings};
use crate::{App, AppError, AppResult};

/// What proves an event: ids and references only, never personal values.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The inbound message (our id or the provider's, e.g. a `wamid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The import batch a list upload created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_batch: Option<String>,
    /// Who uploaded the import (filled in with the caller when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_by: Option<String>,
    /// The form or page the consent was collected on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// Any other reference: a data-subject request id, a ticket number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Evidence {
    fn validate(&self) -> Result<(), Invalid> {
        for (field, v) in [
            ("message_id", &self.message_id),
            ("import_batch", &self.import_batch),
            ("uploaded_by", &self.uploaded_by),
            ("form", &self.form),
            ("reference", &self.reference),
        ] {
            if v.as_deref().is_some_and(|v| v.is_empty() || v.chars().count() > 200 || v.contains(char::is_control)) {
                return Err(Invalid::new(
                    format!("evidence.{field}"),
                    "invalid_evidence",
                    "evidence references are 1 to 200 characters",
                ));
            }
        }
        Ok(())
    }

    fn reference(r: String) -> Self {
        Self { reference: Some(r), ..Self::default() }
    }
}

/// One event to record through the API.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Required: `service`, `marketing`, `ai_processing`, `call_recording`, `health_data`.
    /// (Required fields are checked after the contact is found, so another tenant's contact
    /// is a 404 whatever the body.)
    #[schema(value_type = String)]
    pub purpose: Option<Purpose>,
    /// Required: `granted` or `withdrawn`.
    #[schema(value_type = String)]
    pub state: Option<ConsentState>,
    /// Required for a grant: `gdpr_consent` … `gdpr_legitimate_interests`,
    /// `kvkk_explicit_consent`, `kvkk_provided_by_law` … `kvkk_legitimate_interest`.
    #[schema(value_type = Option<String>)]
    pub legal_basis: Option<LegalBasis>,
    /// `inbound_message`, `import`, `form` or `api` (default). Keyword and Meta-preference
    /// events come only from inbound traffic.
    #[schema(value_type = Option<String>)]
    pub source: Option<ConsentSource>,
    pub evidence: Option<Evidence>,
    /// The privacy-notice version shown; default: the tenant's current one.
    pub notice_version: Option<String>,
    /// When it happened (RFC 3339), if earlier than now: a paper form, an import.
    pub occurred_at: Option<String>,
}

/// The current state of one purpose for a contact.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub purpose: String,
    /// `granted`, `withdrawn`, or `unknown` when nothing was ever recorded.
    pub state: String,
    pub legal_basis: Option<String>,
    /// The article the legal basis cites, e.g. `KVKK Art. 5/1`.
    pub legal_basis_citation: Option<String>,
    pub source: Option<String>,
    pub notice_version: Option<String>,
    /// When the current state began.
    pub changed_at: Option<String>,
    pub granted_at: Option<String>,
    pub withdrawn_at: Option<String>,
}

fn unknown(purpose: Purpose) -> ConsentView {
    ConsentView {
        purpose: purpose.as_str().to_owned(),
        state: "unknown".into(),
        legal_basis: None,
        legal_basis_citation: None,
        source: None,
        notice_version: None,
        changed_at: None,
        granted_at: None,
        withdrawn_at: None,
    }
}

fn view(r: ConsentRow) -> ConsentView {
    let basis: Option<LegalBasis> = r.legal_basis.as_deref().and_then(|b| b.parse().ok());
    ConsentView {
        purpose: r.purpose,
        state: r.state,
        legal_basis: r.legal_basis,
        legal_basis_citation: basis.map(|b| b.citation().to_owned()),
        source: Some(r.source),
        notice_version: r.notice_version,
        changed_at: rfc3339(Some(r.changed_at)),
        granted_at: rfc3339(r.granted_at),
        withdrawn_at: rfc3339(r.withdrawn_at),
    }
}

/// All five purposes for a contact, `unknown` where nothing was recorded.
pub(crate) async fn views(s: &mut Scope<'_>, contact: ContactId) -> AppResult<Vec<ConsentView>> {
    let mut rows = repo::current(s, contact.as_uuid()).await?;
    Ok(Purpose::ALL
        .iter()
        .map(|p| {
            rows.iter().position(|r| r.purpose == p.as_str()).map_or_else(|| unknown(*p), |i| view(rows.swap_remove(i)))
        })
        .collect())
}

/// An event about to be recorded.
pub(crate) struct NewEvent {
    pub purpose: Purpose,
    pub state: ConsentState,
    pub legal_basis: Option<LegalBasis>,
    pub source: ConsentSource,
    pub evidence: Evidence,
    pub notice_version: Option<String>,
    pub occurred_at: Millis,
}

/// Appends an event and audits it, in the caller's transaction. Returns the new current state.
pub(crate) async fn record(
    app: &App,
    s: &mut Scope<'_>,
    audit: &Audit,
    actor: &str,
    contact: ContactId,
    e: NewEvent,
) -> AppResult<ConsentView> {
    rules::validate_event(e.purpose, e.state, e.legal_basis)?;
    e.evidence.validate()?;
    let row = ConsentEventRow {
        id: uuid::Uuid::now_v7(),
        contact_id: contact.as_uuid(),
        purpose: e.purpose.as_str().to_owned(),
        state: e.state.as_str().to_owned(),
        legal_basis: e.legal_basis.map(|b| b.as_str().to_owned()),
        source: e.source.as_str().to_owned(),
        evidence: serde_json::to_string(&e.evidence).map_err(AppError::internal)?,
        notice_version: e.notice_version,
        actor: actor.to_owned(),
        occurred_at: e.occurred_at.0,
        recorded_at: app.now().0,
    };
    repo::append(s, &row).await?;
    audit
        .record(
            app,
            s,
            "consent.recorded",
            Some(("contact", contact.to_string())),
            serde_json::json!({"event_id": row.id, "purpose": row.purpose, "state": row.state,
                "legal_basis": row.legal_basis, "source": row.source}),
        )
        .await?;
    let current = repo::current_for(s, contact.as_uuid(), e.purpose.as_str())
        .await?
        .ok_or_else(|| AppError::internal("consent state missing after an event"))?;
    Ok(view(current))
}

/// Where an inbound keyword came from: the ingest passes the message it matched in.
#[derive(Debug, Clone)]
pub struct InboundRef {
    pub kind: InboundText,
    /// Our message id or the provider's (`wamid`).
    pub message_id: String,
    /// When the customer sent it (the provider's timestamp).
    pub sent_at: Millis,
}

/// What a keyword did, and what to answer the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordOutcome {
    pub action: KeywordAction,
    pub keyword: String,
    /// The confirmation to send back on the same channel.
    pub reply: String,
}

/// Meta's `user_preferences` webhook value for marketing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaPreference {
    Stop,
    Resume,
}

impl App {
    /// Every purpose's current state for a contact (`unknown` where never recorded). Audited.
    pub async fn list_consents(&self, p: &Principal, id: ContactId) -> AppResult<Page<ConsentView>> {
        p.require(Permission::ContactsRead)?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        contact(&mut s, id).await?;
        let items = views(&mut s, id).await?;
        Audit::of(p)
            .record(self, &mut s, "consent.read", Some(("contact", id.to_string())), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(Page { items, next_cursor: None })
    }

    /// Records one consent event from an operator or an integration.
    pub async fn record_consent(&self, p: &Principal, id: ContactId, input: ConsentInput) -> AppResult<ConsentView> {
        p.require(Permission::ContactsWrite)?;
        let source = input.source.unwrap_or(ConsentSource::Api);
        if source.is_automatic() {
            return Err(Invalid::new(
                "source",
                "source_not_allowed",
                "keyword and meta_preference events come only from inbound messages",
            )
            .into());
        }
        let now = self.now();
        let occurred_at = parse_instant("occurred_at", input.occurred_at.as_deref())?.unwrap_or(now);
        if occurred_at > now {
            return Err(Invalid::new("occurred_at", "in_the_future", "occurred_at cannot be in the future").into());
        }
        let mut evidence = input.evidence.unwrap_or_default();
        if source == ConsentSource::Import && evidence.uploaded_by.is_none() {
            evidence.uploaded_by = Some(actor_ref(p));
        }
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        contact(&mut s, id).await?;
        let purpose = input.purpose.ok_or_else(|| Invalid::new("purpose", "required", "purpose is required"))?;
        let state = input.state.ok_or_else(|| Invalid::new("state", "required", "state is required"))?;
        let notice_version = match input.notice_version {
            Some(v) => Some(crate::privacy::text_field("notice_version", &v, 100)?),
            None => settings::effective(&mut s).await?.notice_version,
        };
        let out = record(
            self,
            &mut s,
            &Audit::of(p),
            &actor_ref(p),
            id,
            NewEvent { purpose, state, legal_basis: input.legal_basis, source, evidence, notice_version, occurred_at },
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// An inbound message from `contact` that may be an opt-out or opt-in keyword (STOP,
    /// DURDUR, İPTAL, UNSUBSCRIBE; START, BAŞLA; or the tenant's own). When it is one, records
    /// marketing consent withdrawn (or granted again) with source `keyword` and the message as
    /// evidence, audits it, and returns the confirmation to send. `None`: not a keyword (the
    /// message is for a person). Captions are never keywords.
    pub async fn apply_inbound_keyword(
        &self,
        tenant: TenantId,
        contact_id: ContactId,
        text: &str,
        inbound: &InboundRef,
    ) -> AppResult<Option<KeywordOutcome>> {
        // Most messages are not keywords: decide on a read connection, and take the writer
        // (SQLite's single one) only for a keyword.
        let config = settings::effective(&mut self.db.read().await?.tenant(tenant)).await?;
        if config.keywords.match_message(inbound.kind, text).is_none() {
            return Ok(None);
        }
        let mut tx = self.db.write().await?;
        let out = self.keyword_in(&mut tx.tenant(tenant), &config, contact_id, text, inbound).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// [`Self::apply_inbound_keyword`] in the caller's transaction, with the tenant's settings.
    pub(crate) async fn keyword_in(
        &self,
        s: &mut Scope<'_>,
        config: &settings::Effective,
        contact_id: ContactId,
        text: &str,
        inbound: &InboundRef,
    ) -> AppResult<Option<KeywordOutcome>> {
        let Some(m) = config.keywords.match_message(inbound.kind, text) else {
            return Ok(None);
        };
        contact(s, contact_id).await?;
        let (state, legal_basis) = match m.action {
            KeywordAction::OptOut => (ConsentState::Withdrawn, None),
            KeywordAction::OptIn => (ConsentState::Granted, Some(config.jurisdiction.consent_basis())),
        };
        record(
            self,
            s,
            &Audit::system("inbound_keyword"),
            "system:inbound_keyword",
            contact_id,
            NewEvent {
                purpose: Purpose::Marketing,
                state,
                legal_basis,
                source: ConsentSource::Keyword,
                evidence: Evidence { message_id: Some(inbound.message_id.clone()), ..Evidence::default() },
                notice_version: config.notice_version.clone(),
                occurred_at: inbound.sent_at,
            },
        )
        .await?;
        Ok(Some(KeywordOutcome { action: m.action, reply: config.reply(m.action, m.language), keyword: m.keyword }))
    }

    /// Meta's `user_preferences` webhook: the customer switched WhatsApp's own "stop marketing
    /// messages" control (`value: stop`) or turned it back on (`resume`). Recorded like a
    /// keyword, with source `meta_preference`; Meta confirms to the customer itself.
    pub async fn apply_meta_marketing_preference(
        &self,
        tenant: TenantId,
        contact_id: ContactId,
        preference: MetaPreference,
        at: Millis,
        reference: Option<String>,
    ) -> AppResult<ConsentView> {
        let mut tx = self.db.write().await?;
        let out = self.meta_preference_in(&mut tx.tenant(tenant), contact_id, preference, at, reference).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// [`Self::apply_meta_marketing_preference`] in the caller's transaction (the ingest's).
    pub(crate) async fn meta_preference_in(
        &self,
        s: &mut Scope<'_>,
        contact_id: ContactId,
        preference: MetaPreference,
        at: Millis,
        reference: Option<String>,
    ) -> AppResult<ConsentView> {
        contact(s, contact_id).await?;
        let config = settings::effective(s).await?;
        let (state, legal_basis) = match preference {
            MetaPreference::Stop => (ConsentState::Withdrawn, None),
            MetaPreference::Resume => (ConsentState::Granted, Some(config.jurisdiction.consent_basis())),
        };
        record(
            self,
            s,
            &Audit::system("meta_preference"),
            "system:meta_preference",
            contact_id,
            NewEvent {
                purpose: Purpose::Marketing,
                state,
                legal_basis,
                source: ConsentSource::MetaPreference,
                evidence: reference.map(Evidence::reference).unwrap_or_default(),
                notice_version: config.notice_version,
                occurred_at: at,
            },
        )
        .await
    }
}

/// Whether an event recorded `source` with this evidence already (a replayed webhook, a job
/// run again after its completion was lost).
pub(crate) async fn already_recorded(
    s: &mut Scope<'_>,
    contact_id: ContactId,
    source: ConsentSource,
    same: impl Fn(&Evidence) -> bool,
) -> AppResult<bool> {
    Ok(repo::events(s, contact_id.as_uuid())
        .await?
        .iter()
        .filter(|e| e.source == source.as_str())
        .filter_map(|e| serde_json::from_str::<Evidence>(&e.evidence).ok())
        .any(|e| same(&e)))
}

/// Whether `contact` may be processed for `purpose` right now, read in the caller's
/// transaction (send paths call it at the moment of sending, inside the transaction that marks
/// the send). The outer error is a storage failure (retry later); the inner one a refusal.
pub async fn processing_allowed(
    s: &mut Scope<'_>,
    contact_id: ContactId,
    purpose: Purpose,
) -> AppResult<Result<(), Refusal>> {
    let row = contact(s, contact_id).await?;
    let consent = repo::current_for(s, contact_id.as_uuid(), purpose.as_str())
        .await?
        .map(|c| c.state.parse::<ConsentState>())
        .transpose()
        .map_err(AppError::internal)?;
    let kinds = limits::kinds(s, contact_id.as_uuid()).await?;
    let has = |k: LimitKind| kinds.iter().any(|x| x == k.as_str());
    let indexes: Vec<_> = [row.phone_index, row.email_index, row.wa_id_index].into_iter().flatten().collect();
    let suppressed = purpose == Purpose::Marketing && limits::any_suppressed(s, &indexes).await?;
    Ok(rules::processing_allowed(
        purpose,
        ProcessingFacts {
            consent,
            restricted: has(LimitKind::Restriction),
            objected: has(LimitKind::Objection),
            suppressed,
        },
    ))
}

/// [`processing_allowed`] for marketing: a standing grant, not withdrawn, the contact neither
/// restricted nor objecting, and none of its identifiers suppressed.
pub async fn marketing_allowed(s: &mut Scope<'_>, contact_id: ContactId) -> AppResult<Result<(), Refusal>> {
    processing_allowed(s, contact_id, Purpose::Marketing).await
}

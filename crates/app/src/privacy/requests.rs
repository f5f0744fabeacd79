//! Data-subject requests: intake with a deadline, identity verification (a code delivered on
//! the contact's own channel, or an operator's attestation), and the views operators work
//! from. Fulfilment is in `fulfil`; nothing is handed out before a request is verified.

use serde::{Deserialize, Serialize};
use switchboard_core::optout::Language;
use switchboard_core::privacy::{CODE_MAX_ATTEMPTS, CODE_TTL_MS, Jurisdiction, Purpose, RequestKind, RequestStatus};
use switchboard_core::{ContactId, Invalid, Millis, Permission, TenantId};
use switchboard_privacy::{Aad, Sealed};
use switchboard_storage::Scope;
use switchboard_storage::jobs::{self, NewJob};
use switchboard_storage::privacy::requests::{self as repo, CodeRow, RequestRow};
use switchboard_storage::tenants;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::page::{self, Cursor, Page};
use crate::privacy::{actor_ref, contact, export, rfc3339, settings, text_field};
use crate::{App, AppError, AppResult};

/// The job that delivers a verification code on the contact's channel. Its payload is
/// `{"tenant_id": …, "request_id": …, "contact_id": …}` (ids only); the handler calls
/// [`App::take_verification_code`] for the code and the text to send.
pub const VERIFICATION_JOB: &str = "privacy.send_verification_code";
/// The queue that job goes to.
pub const VERIFICATION_QUEUE: &str = "privacy";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPrivacyRequest {
    #[schema(value_type = String, format = Uuid)]
    pub contact_id: ContactId,
    /// `access`, `export`, `rectification`, `erasure`, `restriction`, `objection`,
    /// `withdraw_consent`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: RequestKind,
    /// `gdpr`, `kvkk` or `ccpa`; default: the tenant's.
    #[schema(value_type = Option<String>)]
    pub jurisdiction: Option<Jurisdiction>,
    /// For `withdraw_consent`: the purposes; default every consent-based one.
    #[schema(value_type = Option<Vec<String>>)]
    pub purposes: Option<Vec<Purpose>>,
}

/// Exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    /// The code the customer received on their channel.
    pub code: Option<String>,
    /// What the operator checked to be sure of the requester's identity. Stored sealed
    /// under the contact's key.
    pub operator_attestation: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub recipient: String,
    pub country: String,
    pub categories: Vec<String>,
    /// `erasure` or `rectification`.
    pub action: String,
    /// `pending` until someone tells the recipient.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrivacyRequestView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub contact_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub jurisdiction: String,
    pub created_at: String,
    /// The legal deadline: 30 days (GDPR, KVKK) or 45 days (CCPA) after creation.
    pub due_at: String,
    /// Whole days left before `due_at` (negative when overdue); null once completed.
    pub days_left: Option<i64>,
    pub overdue: bool,
    pub verified_at: Option<String>,
    /// `code`, or the operator (`user:<id>`) who attested the identity.
    pub verified_by: Option<String>,
    pub fulfilled_at: Option<String>,
    /// What fulfilment did: erasure steps and rows, held categories and why, and so on.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub notifications: Vec<NotificationView>,
    /// For a fulfilled access or export request: the signed download link and its expiry.
    pub download_url: Option<String>,
    pub download_expires_at: Option<String>,
    /// How the verification code went out: `status` `queued`, `accepted`, `sent`,
    /// `delivered`, `read` or `failed` (then `reason`: `no_conversation`,
    /// `no_authentication_template` or Meta's error title; verify by operator attestation);
    /// `template`: the AUTHENTICATION template it went in, when every window was closed. Null
    /// before the delivery job ran.
    #[schema(value_type = Option<Object>)]
    pub code_delivery: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RequestQuery {
    /// `open` (default) or `all`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// What the verification job sends.
#[derive(Debug, Clone)]
pub struct VerificationDelivery {
    pub contact_id: ContactId,
    pub code: String,
    pub expires_at: Millis,
    /// The message to send, in the tenant's language.
    pub text: String,
}

fn code_aad(tenant: TenantId, request: Uuid) -> Aad<'static> {
    Aad::new(tenant, "privacy_verification_codes", "code", request)
}

fn attestation_aad(tenant: TenantId, request: Uuid) -> Aad<'static> {
    Aad::new(tenant, "privacy_requests", "attestation", request)
}

fn code_input(request: Uuid, code: &str) -> Vec<u8> {
    let mut v = request.as_bytes().to_vec();
    v.extend_from_slice(code.as_bytes());
    v
}

const CODE_DOMAIN: &[u8] = b"dsr-verification-code";

/// Six random digits.
fn new_code() -> String {
    let mut b = [0u8; 4];
    rand::fill(&mut b);
    format!("{:06}", u32::from_be_bytes(b) % 1_000_000)
}

pub(crate) fn status_of(r: &RequestRow) -> AppResult<RequestStatus> {
    r.status.parse().map_err(AppError::internal)
}

pub(crate) fn kind_of(r: &RequestRow) -> AppResult<RequestKind> {
    r.kind.parse().map_err(AppError::internal)
}

pub(crate) fn unverified() -> AppError {
    AppError::WrongState {
        code: "request_unverified",
        message: "the requester's identity is not verified yet: nothing is released before it is",
    }
}

impl App {
    pub(crate) async fn request_view(&self, s: &mut Scope<'_>, r: RequestRow) -> AppResult<PrivacyRequestView> {
        let now = self.now();
        let status = status_of(&r)?;
        let kind = kind_of(&r)?;
        let notifications = repo::notifications(s, r.id)
            .await?
            .into_iter()
            .map(|n| NotificationView {
                recipient: n.recipient,
                country: n.country,
                categories: serde_json::from_str(&n.categories).unwrap_or_default(),
                action: n.action,
                status: n.status,
            })
            .collect();
        let link = match (kind.yields_export(), status, r.fulfilled_at) {
            (true, RequestStatus::Completed, Some(at)) => {
                let expires = Millis(at).plus_ms(self.config.privacy.export_link_ttl_ms);
                (expires > now).then(|| (export::link_url(self, s.tenant_id(), r.id, expires), expires.to_rfc3339()))
            }
            _ => None,
        };
        let code_delivery = self.code_delivery(s, &r.details).await?;
        let open = status.is_open();
        let left = r.due_at - now.0;
        Ok(PrivacyRequestView {
            id: r.id,
            contact_id: r.contact_id,
            kind: r.kind,
            status: r.status,
            jurisdiction: r.jurisdiction,
            created_at: Millis(r.created_at).to_rfc3339(),
            due_at: Millis(r.due_at).to_rfc3339(),
            days_left: open.then(|| left.div_euclid(Millis::DAY)),
            overdue: open && left < 0,
            verified_at: rfc3339(r.verified_at),
            verified_by: r.verified_by,
            fulfilled_at: rfc3339(r.fulfilled_at),
            result: r.result.as_deref().and_then(|t| serde_json::from_str(t).ok()),
            notifications,
            download_url: link.as_ref().map(|l| l.0.clone()),
            download_expires_at: link.map(|l| l.1),
            code_delivery,
        })
    }

    /// The code's delivery as recorded by its job, followed by the message's own status.
    async fn code_delivery(&self, s: &mut Scope<'_>, details: &str) -> AppResult<Option<serde_json::Value>> {
        let details: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
        let Some(d) = details.get("code_delivery").cloned() else { return Ok(None) };
        let Some(message) = d.get("message_id").and_then(|m| m.as_str()).and_then(|m| m.parse::<Uuid>().ok()) else {
            return Ok(Some(d));
        };
        // The message goes with an erasure; the recorded state is what is left then.
        let Ok(m) = switchboard_storage::messages::get(s, message).await else { return Ok(Some(d)) };
        let mut view = match m.status.as_str() {
            "failed" | "unknown" => serde_json::json!({"status": "failed", "reason": m.error_title}),
            "sending" => serde_json::json!({"status": "queued"}),
            other => serde_json::json!({"status": other}),
        };
        if let Some(template) = d.get("template") {
            view["template"] = template.clone();
        }
        Ok(Some(view))
    }

    /// Opens a request for one of the tenant's contacts, with its deadline, and sends the
    /// contact a verification code on their channel (a job, enqueued in this transaction).
    pub async fn create_privacy_request(
        &self,
        p: &Principal,
        input: NewPrivacyRequest,
    ) -> AppResult<PrivacyRequestView> {
        p.require(Permission::PrivacyManage)?;
        let purposes = match (input.kind, input.purposes) {
            (RequestKind::WithdrawConsent, Some(list)) if list.is_empty() => {
                return Err(Invalid::new("purposes", "invalid_purposes", "name at least one purpose").into());
            }
            (RequestKind::WithdrawConsent, list) => {
                list.unwrap_or_else(|| Purpose::ALL.iter().copied().filter(|p| *p != Purpose::Service).collect())
            }
            (_, Some(_)) => {
                return Err(Invalid::new(
                    "purposes",
                    "not_applicable",
                    "purposes apply to withdraw_consent requests only",
                )
                .into());
            }
            (_, None) => Vec::new(),
        };
        let now = self.now();
        let id = Uuid::now_v7();
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        contact(&mut s, input.contact_id).await?;
        let jurisdiction = match input.jurisdiction {
            Some(j) => j,
            None => settings::effective(&mut s).await?.jurisdiction,
        };
        let row = RequestRow {
            id,
            contact_id: input.contact_id.as_uuid(),
            kind: input.kind.as_str().to_owned(),
            jurisdiction: jurisdiction.as_str().to_owned(),
            status: RequestStatus::Unverified.as_str().to_owned(),
            details: serde_json::json!({"purposes": purposes}).to_string(),
            due_at: jurisdiction.due_at(now).0,
            created_by: actor_ref(p),
            verified_at: None,
            verified_by: None,
            attestation_sealed: None,
            fulfilled_at: None,
            result: None,
            created_at: now.0,
            updated_at: now.0,
        };
        repo::insert(&mut s, &row).await?;
        let code = new_code();
        let sealed = self.keys.seal_contact(&mut s, input.contact_id, &code_aad(p.tenant, id), &code).await?;
        repo::insert_code(
            &mut s,
            &CodeRow {
                request_id: id,
                code_hash: self.keys.privacy_mac().tag(CODE_DOMAIN, &code_input(id, &code)).to_vec(),
                code_sealed: Some(sealed.into_bytes()),
                attempts: 0,
                expires_at: now.plus_ms(CODE_TTL_MS).0,
                created_at: now.0,
            },
        )
        .await?;
        jobs::enqueue(
            &mut s,
            &NewJob {
                queue: VERIFICATION_QUEUE.into(),
                kind: VERIFICATION_JOB.into(),
                payload: serde_json::json!({"tenant_id": p.tenant, "request_id": id,
                    "contact_id": input.contact_id})
                .to_string(),
                run_at: now.0,
                max_attempts: 5,
                dedupe_key: Some(format!("dsr-code:{id}")),
            },
            now.0,
        )
        .await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "privacy_request.created",
                Some(("privacy_request", id.to_string())),
                serde_json::json!({"contact_id": input.contact_id, "type": row.kind,
                    "jurisdiction": row.jurisdiction, "due_at": row.due_at}),
            )
            .await?;
        let view = self.request_view(&mut s, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Requests newest first, with their deadline clocks; open ones unless `status=all`.
    pub async fn list_privacy_requests(&self, p: &Principal, q: RequestQuery) -> AppResult<Page<PrivacyRequestView>> {
        p.require(Permission::PrivacyManage)?;
        let open_only = match q.status.as_deref() {
            None | Some("open") => true,
            Some("all") => false,
            Some(_) => {
                return Err(Invalid::new("status", "invalid_status", "status is open or all").into());
            }
        };
        let before = page::decode_id(q.cursor.as_deref())?;
        let limit = page::limit(q.limit);
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let rows = repo::list(&mut s, open_only, before, limit + 1).await?;
        let page = Page::from_rows(rows, limit, |r| Cursor::Id(r.id), |r| r);
        let mut items = Vec::with_capacity(page.items.len());
        for r in page.items {
            items.push(self.request_view(&mut s, r).await?);
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn get_privacy_request(&self, p: &Principal, id: Uuid) -> AppResult<PrivacyRequestView> {
        p.require(Permission::PrivacyManage)?;
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let row = repo::get(&mut s, id).await?;
        self.request_view(&mut s, row).await
    }

    /// Verifies the requester: the code they received (three tries, ten minutes), or an
    /// operator's attestation (audited, also the way out of a locked request). Failed
    /// attempts are recorded even though the call fails.
    pub async fn verify_privacy_request(
        &self,
        p: &Principal,
        id: Uuid,
        input: VerifyInput,
    ) -> AppResult<PrivacyRequestView> {
        p.require(Permission::PrivacyManage)?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let mut row = repo::get(&mut s, id).await?;
        let status = status_of(&row)?;
        if status.is_verified() {
            return Err(AppError::WrongState { code: "already_verified", message: "this request is already verified" });
        }
        let contact_id = ContactId::from_uuid(row.contact_id);
        let audit = Audit::of(p);
        let method = match (input.code, input.operator_attestation) {
            (Some(code), None) => {
                if status == RequestStatus::VerificationLocked {
                    return Err(locked());
                }
                let Some(stored) = repo::code(&mut s, id).await? else {
                    return Err(code_expired());
                };
                if now.0 >= stored.expires_at {
                    audit
                        .record(
                            self,
                            &mut s,
                            "privacy_request.verification_failed",
                            Some(("privacy_request", id.to_string())),
                            serde_json::json!({"reason": "code_expired"}),
                        )
                        .await?;
                    tx.commit().await?;
                    return Err(code_expired());
                }
                let ok = self.keys.privacy_mac().verify(CODE_DOMAIN, &code_input(id, code.trim()), &stored.code_hash);
                if !ok {
                    let attempts = repo::count_attempt(&mut s, id).await?;
                    let lock = attempts >= CODE_MAX_ATTEMPTS;
                    if lock {
                        repo::delete_code(&mut s, id).await?;
                        row.status = RequestStatus::VerificationLocked.as_str().to_owned();
                        row.updated_at = now.0;
                        repo::update(&mut s, &row).await?;
                    }
                    audit
                        .record(
                            self,
                            &mut s,
                            "privacy_request.verification_failed",
                            Some(("privacy_request", id.to_string())),
                            serde_json::json!({"reason": "wrong_code", "attempts": attempts, "locked": lock}),
                        )
                        .await?;
                    tx.commit().await?;
                    if lock {
                        return Err(locked());
                    }
                    return Err(Invalid::new(
                        "code",
                        "invalid_code",
                        format!("the code is not correct; {} attempt(s) left", CODE_MAX_ATTEMPTS - attempts),
                    )
                    .into());
                }
                "code"
            }
            (None, Some(text)) => {
                let text = text_field("operator_attestation", &text, 2000)?;
                let sealed: Sealed<String> =
                    self.keys.seal_contact(&mut s, contact_id, &attestation_aad(p.tenant, id), &text).await?;
                row.attestation_sealed = Some(sealed.into_bytes());
                "operator_attestation"
            }
            _ => {
                return Err(
                    Invalid::new("code", "verification_required", "send either code or operator_attestation").into()
                );
            }
        };
        repo::delete_code(&mut s, id).await?;
        row.status = RequestStatus::Verified.as_str().to_owned();
        row.verified_at = Some(now.0);
        row.verified_by = Some(if method == "code" { "code".to_owned() } else { actor_ref(p) });
        row.updated_at = now.0;
        repo::update(&mut s, &row).await?;
        audit
            .record(
                self,
                &mut s,
                "privacy_request.verified",
                Some(("privacy_request", id.to_string())),
                serde_json::json!({"method": method, "contact_id": row.contact_id}),
            )
            .await?;
        let view = self.request_view(&mut s, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// For the `privacy.send_verification_code` job: the code to deliver to the contact and the
    /// message to send, once. `None` when there is nothing to send (already taken, expired,
    /// or the request is no longer waiting for it).
    pub async fn take_verification_code(
        &self,
        tenant: TenantId,
        request: Uuid,
    ) -> AppResult<Option<VerificationDelivery>> {
        let mut tx = self.db.write().await?;
        let out = self.take_code_in(&mut tx.tenant(tenant), request).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// [`Self::take_verification_code`] in the caller's transaction.
    pub(crate) async fn take_code_in(
        &self,
        s: &mut Scope<'_>,
        request: Uuid,
    ) -> AppResult<Option<VerificationDelivery>> {
        let now = self.now();
        let tenant = s.tenant_id();
        let row = repo::get(s, request).await?;
        if status_of(&row)? != RequestStatus::Unverified {
            return Ok(None);
        }
        let Some(stored) = repo::code(s, request).await? else {
            return Ok(None);
        };
        if now.0 >= stored.expires_at {
            return Ok(None);
        }
        let Some(sealed) = repo::take_sealed_code(s, request).await? else {
            return Ok(None);
        };
        let contact_id = ContactId::from_uuid(row.contact_id);
        let code: String =
            self.keys.open_contact(s, contact_id, &code_aad(tenant, request), &Sealed::from_stored(sealed)).await?;
        let business = tenants::get(s).await?.name;
        let minutes = CODE_TTL_MS / Millis::MINUTE;
        let text = match settings::effective(s).await?.language {
            Language::Tr => format!(
                "{business} kişisel veri başvurunuz için doğrulama kodunuz: {code}. Kod {minutes} dakika geçerlidir; kimseyle paylaşmayın."
            ),
            Language::En => format!(
                "Your verification code for your data request to {business}: {code}. It is valid for {minutes} minutes; do not share it."
            ),
        };
        Audit::system("privacy_verification")
            .record(
                self,
                s,
                "privacy_request.code_handed_to_channel",
                Some(("privacy_request", request.to_string())),
                serde_json::json!({"contact_id": row.contact_id}),
            )
            .await?;
        Ok(Some(VerificationDelivery { contact_id, code, expires_at: Millis(stored.expires_at), text }))
    }
}

fn locked() -> AppError {
    AppError::WrongState {
        code: "verification_locked",
        message: "too many wrong codes: only an operator attestation can verify this request now",
    }
}

fn code_expired() -> AppError {
    AppError::WrongState {
        code: "code_expired",
        message: "the verification code expired: verify with an operator attestation or open a new request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|ch| ch.is_ascii_digit()));
        }
    }
}

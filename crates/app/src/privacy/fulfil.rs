//! Fulfilling a verified data-subject request, by kind:
//! - access / export: completed; the bundle is then downloadable (operator route or signed
//!   link, see `export`);
//! - erasure: the erasure steps (see `erasure`), possibly waiting in `held`;
//! - restriction: a restriction limit (data kept, every automated use stops);
//! - objection: an objection limit (no marketing or AI profiling);
//! - withdraw_consent: a `withdrawn` event per named purpose;
//! - rectification: the operator corrects the contact (PATCH /contacts/{id}) first; fulfilling
//!   records completion and queues notifications to the recipients of the data.

use switchboard_core::privacy::{ConsentSource, ConsentState, LimitKind, Purpose, RequestKind, RequestStatus};
use switchboard_core::{ContactId, Permission};
use switchboard_storage::privacy::limits;
use switchboard_storage::privacy::requests as repo;
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::privacy::consent::{self, Evidence, NewEvent};
use crate::privacy::erasure::{self, ErasureSubject};
use crate::privacy::requests::{PrivacyRequestView, kind_of, status_of, unverified};
use crate::privacy::{actor_ref, settings};
use crate::{App, AppError, AppResult};

impl App {
    /// Carries out a verified request. Idempotent: a completed request is returned as it is;
    /// an interrupted or held erasure carries on.
    pub async fn fulfil_privacy_request(&self, p: &Principal, id: Uuid) -> AppResult<PrivacyRequestView> {
        p.require(Permission::PrivacyManage)?;
        let audit = Audit::of(p);
        let row = repo::get(&mut self.db.read().await?.tenant(p.tenant), id).await?;
        let status = status_of(&row)?;
        if !status.is_verified() {
            return Err(unverified());
        }
        let kind = kind_of(&row)?;
        if status != RequestStatus::Completed {
            if kind == RequestKind::Erasure {
                self.run_erasure(p.tenant, id, &audit).await?;
            } else {
                self.fulfil_in_one(p, id, kind, &audit).await?;
            }
        }
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let row = repo::get(&mut s, id).await?;
        self.request_view(&mut s, row).await
    }

    /// The kinds fulfilled in a single transaction.
    async fn fulfil_in_one(&self, p: &Principal, id: Uuid, kind: RequestKind, audit: &Audit) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let mut row = repo::get(&mut s, id).await?;
        if status_of(&row)? == RequestStatus::Completed {
            return Ok(());
        }
        let contact_id = ContactId::from_uuid(row.contact_id);
        crate::privacy::contact(&mut s, contact_id).await?;
        let result = match kind {
            RequestKind::Access | RequestKind::Export => {
                serde_json::json!({"bundle_sections": crate::privacy::export::SECTIONS
                    .iter().map(|sec| sec.name()).collect::<Vec<_>>()})
            }
            RequestKind::Restriction | RequestKind::Objection => {
                let limit =
                    if kind == RequestKind::Restriction { LimitKind::Restriction } else { LimitKind::Objection };
                let added = limits::set(&mut s, row.contact_id, limit.as_str(), Some(id), now.0).await?;
                serde_json::json!({"limit": limit.as_str(), "newly_set": added})
            }
            RequestKind::WithdrawConsent => {
                let details: serde_json::Value = serde_json::from_str(&row.details).map_err(AppError::internal)?;
                let purposes: Vec<Purpose> =
                    serde_json::from_value(details["purposes"].clone()).map_err(AppError::internal)?;
                let notice = settings::effective(&mut s).await?.notice_version;
                for purpose in &purposes {
                    consent::record(
                        self,
                        &mut s,
                        audit,
                        &actor_ref(p),
                        contact_id,
                        NewEvent {
                            purpose: *purpose,
                            state: ConsentState::Withdrawn,
                            legal_basis: None,
                            source: ConsentSource::Api,
                            evidence: Evidence {
                                reference: Some(format!("privacy_request:{id}")),
                                ..Evidence::default()
                            },
                            notice_version: notice.clone(),
                            occurred_at: now,
                        },
                    )
                    .await?;
                }
                serde_json::json!({"withdrawn": purposes})
            }
            RequestKind::Rectification => {
                let subject = ErasureSubject { contact: contact_id, request: id };
                let n = erasure::queue_notifications(self, &mut s, &subject, "rectification").await?;
                serde_json::json!({"notifications_queued": n})
            }
            RequestKind::Erasure => {
                return Err(AppError::internal("erasure is fulfilled by its steps"));
            }
        };
        row.status = RequestStatus::Completed.as_str().to_owned();
        row.fulfilled_at = Some(now.0);
        row.result = Some(result.to_string());
        row.updated_at = now.0;
        repo::update(&mut s, &row).await?;
        audit
            .record(
                self,
                &mut s,
                "privacy_request.fulfilled",
                Some(("privacy_request", id.to_string())),
                serde_json::json!({"contact_id": row.contact_id, "type": row.kind}),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

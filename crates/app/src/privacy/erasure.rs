//! Erasing a data subject: an ordered list of steps, each idempotent and committed in its own
//! batches, with a row in `erasure_steps` written in its last transaction. A crash leaves the
//! request `in_progress`; running it again (the `privacy.erasure_resume` schedule does) skips
//! the finished steps and ends in the same state. A step whose category is under a legal hold
//! is skipped and the hold's reason recorded in the request's result; the request then waits
//! in `held` and the next run after the hold's release finishes it.
//!
//! **Extension point:** [`STEPS`]. Each new store of a contact's data is one more step,
//! added before [`ContactKey`], which must stay last: destroying the contact's key makes every
//! sealed copy unreadable (backups included), so it must not run while anything of the
//! contact is held, and nothing may need the key after it.
//!
//! What stays after erasure, and why:
//! - the request itself (with the operator's attestation sealed under the destroyed key, so
//!   unreadable): proof that the request was answered, purged with the `privacy_requests`
//!   retention category;
//! - audit entries about the contact: ids and field names only, never values; they keep the
//!   chain verifiable;
//! - when the contact had opted out of marketing (or objected), the blind indexes of its
//!   phone, e-mail and WhatsApp id in `suppressions`: proof of the opt-out and a guard against
//!   marketing to the same person after a re-import (a keyed HMAC: no value can be read back);
//! - pending notifications to the third parties the contact's data went to.

use async_trait::async_trait;
use serde::Serialize;
use switchboard_core::privacy::{ConsentState, DataCategory, LimitKind, Purpose, RequestStatus};
use switchboard_core::{ContactId, TenantId};
use switchboard_storage::history::{self, Pick};
use switchboard_storage::privacy::requests::{self as repo, NotificationRow};
use switchboard_storage::privacy::{consents, holds, limits, transfers};
use switchboard_storage::{Scope, contacts, jobs, keys, search, webhook_events};
use uuid::Uuid;

use crate::audit::Audit;
use crate::privacy::requests::status_of;
use crate::{App, AppError, AppResult};

/// Rows a step affects per transaction, at most.
pub const BATCH: i64 = 1000;

/// Whom an erasure is about.
pub struct ErasureSubject {
    pub contact: ContactId,
    pub request: Uuid,
}

/// What one batch of a step did.
pub struct StepBatch {
    pub rows: u64,
    /// No more to do for this subject.
    pub finished: bool,
}

impl StepBatch {
    /// A step that does all its work in one transaction.
    #[must_use]
    pub fn all(rows: u64) -> Self {
        Self { rows, finished: true }
    }

    /// A batched step: finished when the batch came back short.
    #[must_use]
    pub fn of(rows: u64) -> Self {
        Self { rows, finished: i64::try_from(rows).unwrap_or(i64::MAX) < BATCH }
    }
}

#[async_trait]
pub trait ErasureStep: Send + Sync {
    /// Stable: recorded in `erasure_steps`.
    fn name(&self) -> &'static str;
    /// The category a legal hold must cover to keep this step from running. `None`: any
    /// hold on the subject keeps it from running.
    fn category(&self) -> Option<DataCategory>;
    /// Erases one batch (at most [`BATCH`] rows) in the caller's transaction. Must be
    /// idempotent: it may run again after a crash.
    async fn erase_batch(&self, app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch>;
}

/// Every step, in order. [`ContactKey`] stays last.
pub static STEPS: &[&dyn ErasureStep] = &[
    &Suppress,
    &NotifyRecipients,
    &Consents,
    &Limits,
    &Jobs,
    &VerificationCodes,
    &FailedWebhooks,
    &MessageHistory,
    &SearchTokens,
    &Profile,
    &ContactKey,
];

/// The contact's row, or `None` once a (possibly earlier) run has deleted it.
async fn contact_row(s: &mut Scope<'_>, id: ContactId) -> AppResult<Option<contacts::ContactRow>> {
    match contacts::get(s, id.as_uuid()).await {
        Ok(row) => Ok(Some(row)),
        Err(switchboard_storage::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Keeps the blind indexes of a contact that had opted out of marketing or objected.
pub struct Suppress;

#[async_trait]
impl ErasureStep for Suppress {
    fn name(&self) -> &'static str {
        "suppress_opted_out_identifiers"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::Consents)
    }
    async fn erase_batch(&self, app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        let id = subject.contact.as_uuid();
        let Some(row) = contact_row(s, subject.contact).await? else {
            return Ok(StepBatch::all(0));
        };
        let withdrawn = consents::current_for(s, id, Purpose::Marketing.as_str())
            .await?
            .is_some_and(|c| c.state == ConsentState::Withdrawn.as_str());
        let objected = limits::kinds(s, id).await?.iter().any(|k| k == LimitKind::Objection.as_str());
        let mut n = 0;
        if withdrawn || objected {
            let now = app.now().0;
            for index in [row.phone_index, row.email_index, row.wa_id_index].into_iter().flatten() {
                n += limits::suppress(s, index, "erased_after_opt_out", Some(subject.request), now).await?;
            }
        }
        Ok(StepBatch::all(n))
    }
}

/// Turns the disclosure log into notifications to each recipient (KVKK Art. 11(1)(f)).
pub struct NotifyRecipients;

#[async_trait]
impl ErasureStep for NotifyRecipients {
    fn name(&self) -> &'static str {
        "queue_third_party_notifications"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::TransferRecords)
    }
    async fn erase_batch(&self, app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        let queued = queue_notifications(app, s, subject, "erasure").await?;
        transfers::delete_for_contact(s, subject.contact.as_uuid()).await?;
        Ok(StepBatch::all(queued))
    }
}

/// Records a pending notification per recipient of the contact's data; returns how many.
pub(crate) async fn queue_notifications(
    app: &App,
    s: &mut Scope<'_>,
    subject: &ErasureSubject,
    action: &str,
) -> AppResult<u64> {
    let rows = transfers::for_contact(s, subject.contact.as_uuid()).await?;
    let mut by_recipient: Vec<(String, String, Vec<String>)> = Vec::new();
    for r in rows {
        match by_recipient.iter_mut().find(|(rec, ..)| *rec == r.recipient) {
            Some((_, _, cats)) => cats.push(r.category),
            None => by_recipient.push((r.recipient, r.country, vec![r.category])),
        }
    }
    let now = app.now().0;
    for (recipient, country, categories) in &by_recipient {
        repo::insert_notification(
            s,
            &NotificationRow {
                id: Uuid::now_v7(),
                request_id: subject.request,
                contact_id: subject.contact.as_uuid(),
                recipient: recipient.clone(),
                country: country.clone(),
                categories: serde_json::to_string(categories).map_err(AppError::internal)?,
                action: action.to_owned(),
                status: "pending".into(),
                created_at: now,
                sent_at: None,
            },
        )
        .await?;
    }
    Ok(by_recipient.len() as u64)
}

pub struct Consents;

#[async_trait]
impl ErasureStep for Consents {
    fn name(&self) -> &'static str {
        "consents"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::Consents)
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        Ok(StepBatch::all(consents::delete_for_contact(s, subject.contact.as_uuid()).await?))
    }
}

pub struct Limits;

#[async_trait]
impl ErasureStep for Limits {
    fn name(&self) -> &'static str {
        "processing_limits"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::ContactProfile)
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        Ok(StepBatch::all(limits::delete_for_contact(s, subject.contact.as_uuid()).await?))
    }
}

/// Queued work about the contact (payloads hold ids only, so the id finds them).
pub struct Jobs;

#[async_trait]
impl ErasureStep for Jobs {
    fn name(&self) -> &'static str {
        "jobs"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::ContactProfile)
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        Ok(StepBatch::of(jobs::delete_mentioning(s, &subject.contact.to_string(), BATCH).await?))
    }
}

pub struct VerificationCodes;

#[async_trait]
impl ErasureStep for VerificationCodes {
    fn name(&self) -> &'static str {
        "verification_codes"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::VerificationCodes)
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        Ok(StepBatch::all(repo::delete_codes_for_contact(s, subject.contact.as_uuid()).await?))
    }
}

/// Raw webhook bodies kept (sealed under the tenant key, not the contact's) because their
/// processing failed: they would outlive the contact's key, so they go by the blind index of
/// its WhatsApp id, recorded with each kept body. The whole delivery goes, other customers'
/// parts included: a partial body could not be processed again anyway, and Meta's own copy
/// is what the others' data came from.
pub struct FailedWebhooks;

#[async_trait]
impl ErasureStep for FailedWebhooks {
    fn name(&self) -> &'static str {
        "failed_webhooks"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::Messages)
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        erase_failed_webhooks_batch(s, subject.contact).await
    }
}

/// Removes up to [`BATCH`] kept webhook bodies naming the contact's WhatsApp id.
pub(crate) async fn erase_failed_webhooks_batch(s: &mut Scope<'_>, contact: ContactId) -> AppResult<StepBatch> {
    let Some(index) = contact_row(s, contact).await?.and_then(|r| r.wa_id_index) else {
        return Ok(StepBatch::all(0));
    };
    Ok(StepBatch::of(webhook_events::delete_for_subject(s, index, BATCH).await?))
}

/// Messages with their reactions, media rows and media files; then the conversations.
pub struct MessageHistory;

#[async_trait]
impl ErasureStep for MessageHistory {
    fn name(&self) -> &'static str {
        "messages"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::Messages)
    }
    async fn erase_batch(&self, app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        erase_history_batch(app, s, subject.contact).await
    }
}

/// Removes up to [`BATCH`] of a contact's messages (their media files deleted before the
/// caller commits: a rollback then leaves rows whose file is gone, removed by the rerun); once
/// none are left, its conversations.
pub(crate) async fn erase_history_batch(app: &App, s: &mut Scope<'_>, contact: ContactId) -> AppResult<StepBatch> {
    let ids = history::pick_messages(s, Pick::Contact(contact.as_uuid()), BATCH).await?;
    let removed = history::remove_messages(s, &ids).await?;
    app.delete_blobs(&removed.blob_keys).await?;
    let batch = StepBatch::of(ids.len() as u64);
    let conversations = if batch.finished { history::remove_conversations_of(s, contact.as_uuid()).await? } else { 0 };
    Ok(StepBatch { rows: removed.rows + conversations, finished: batch.finished })
}

/// The search document of the contact's name and phone (those of its messages went with them).
/// The step keeps its first name, under which requests already in progress recorded it.
pub struct SearchTokens;

#[async_trait]
impl ErasureStep for SearchTokens {
    fn name(&self) -> &'static str {
        "search_tokens"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::ContactProfile)
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        Ok(StepBatch::all(search::remove_owned(s, &[subject.contact.as_uuid()]).await?))
    }
}

/// The contact record (its labels go with it).
pub struct Profile;

#[async_trait]
impl ErasureStep for Profile {
    fn name(&self) -> &'static str {
        "contact_profile"
    }
    fn category(&self) -> Option<DataCategory> {
        Some(DataCategory::ContactProfile)
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        match contacts::delete(s, subject.contact.as_uuid()).await {
            Ok(()) => Ok(StepBatch::all(1)),
            Err(switchboard_storage::StoreError::NotFound) => Ok(StepBatch::all(0)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Crypto-shredding: without the contact's key no copy of its sealed data can be opened.
pub struct ContactKey;

#[async_trait]
impl ErasureStep for ContactKey {
    fn name(&self) -> &'static str {
        "contact_key"
    }
    fn category(&self) -> Option<DataCategory> {
        None
    }
    async fn erase_batch(&self, _app: &App, s: &mut Scope<'_>, subject: &ErasureSubject) -> AppResult<StepBatch> {
        Ok(StepBatch::all(keys::delete_contact_keys(s, subject.contact.as_uuid()).await?))
    }
}

#[derive(Debug, Serialize)]
struct StepOutcome {
    step: &'static str,
    /// `done` or `held`.
    status: &'static str,
    rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_reason: Option<String>,
}

impl StepOutcome {
    fn done(step: &'static str, rows: i64) -> Self {
        Self { step, status: "done", rows: u64::try_from(rows).unwrap_or(0), hold_id: None, hold_reason: None }
    }
}

impl App {
    /// Runs (or resumes) the erasure of a verified erasure request. Returns the status it ends
    /// in: `completed`, or `held` while a legal hold keeps some of the data.
    pub(crate) async fn run_erasure(&self, tenant: TenantId, request: Uuid, audit: &Audit) -> AppResult<RequestStatus> {
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let mut row = repo::get(&mut s, request).await?;
        let before = status_of(&row)?;
        if before == RequestStatus::Completed {
            return Ok(before);
        }
        if !before.is_verified() {
            return Err(crate::privacy::requests::unverified());
        }
        if before == RequestStatus::Verified {
            row.status = RequestStatus::InProgress.as_str().to_owned();
            row.updated_at = self.now().0;
            repo::update(&mut s, &row).await?;
            audit
                .record(
                    self,
                    &mut s,
                    "privacy_request.erasure_started",
                    Some(("privacy_request", request.to_string())),
                    serde_json::json!({"contact_id": row.contact_id}),
                )
                .await?;
        }
        let done = repo::steps_done(&mut s, request).await?;
        let active = holds::active_covering(&mut s, Some(row.contact_id)).await?;
        tx.commit().await?;

        let subject = ErasureSubject { contact: ContactId::from_uuid(row.contact_id), request };
        let mut outcomes = Vec::new();
        for step in STEPS {
            if let Some((_, rows)) = done.iter().find(|(name, _)| name == step.name()) {
                outcomes.push(StepOutcome::done(step.name(), *rows));
                continue;
            }
            let hold = active.iter().find(|h| match (&h.category, step.category()) {
                (None, _) | (Some(_), None) => true,
                (Some(held), Some(cat)) => held == cat.as_str(),
            });
            if let Some(h) = hold {
                outcomes.push(StepOutcome {
                    step: step.name(),
                    status: "held",
                    rows: 0,
                    hold_id: Some(h.id),
                    hold_reason: Some(h.reason.clone()),
                });
                continue;
            }
            let mut rows = 0u64;
            loop {
                let mut tx = self.db.write().await?;
                let mut s = tx.tenant(tenant);
                let batch = step.erase_batch(self, &mut s, &subject).await?;
                rows += batch.rows;
                if batch.finished {
                    repo::step_done(
                        &mut s,
                        request,
                        step.name(),
                        i64::try_from(rows).unwrap_or(i64::MAX),
                        self.now().0,
                    )
                    .await?;
                }
                tx.commit().await?;
                if batch.finished {
                    break;
                }
            }
            outcomes.push(StepOutcome { step: step.name(), status: "done", rows, hold_id: None, hold_reason: None });
        }
        self.keys.forget_contact(tenant, subject.contact);

        // Another node may have run the same request meanwhile (the resume schedule runs on
        // every node): its finished steps count, and a finished request is never set back.
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let mut row = repo::get(&mut s, request).await?;
        if status_of(&row)? == RequestStatus::Completed {
            return Ok(RequestStatus::Completed);
        }
        let done = repo::steps_done(&mut s, request).await?;
        for o in outcomes.iter_mut().filter(|o| o.status == "held") {
            if let Some((_, rows)) = done.iter().find(|(name, _)| name == o.step) {
                *o = StepOutcome::done(o.step, *rows);
            }
        }
        let held = outcomes.iter().any(|o| o.status == "held");
        let status = if held { RequestStatus::Held } else { RequestStatus::Completed };
        let changed = row.status != status.as_str();
        let now = self.now().0;
        row.status = status.as_str().to_owned();
        row.result = Some(serde_json::json!({"steps": outcomes}).to_string());
        row.updated_at = now;
        if status == RequestStatus::Completed {
            row.fulfilled_at = Some(now);
        }
        repo::update(&mut s, &row).await?;
        if changed {
            let action = if held { "privacy_request.erasure_held" } else { "privacy_request.erasure_completed" };
            let held_steps: Vec<_> = outcomes
                .iter()
                .filter(|o| o.status == "held")
                .map(|o| serde_json::json!({"step": o.step, "hold_id": o.hold_id}))
                .collect();
            audit
                .record(
                    self,
                    &mut s,
                    action,
                    Some(("privacy_request", request.to_string())),
                    serde_json::json!({"contact_id": row.contact_id, "held": held_steps}),
                )
                .await?;
        }
        tx.commit().await?;
        Ok(status)
    }

    /// Carries on with erasures that a crash interrupted or a legal hold delayed. For the
    /// `privacy.erasure_resume` schedule; returns how many it looked at.
    pub async fn resume_erasures(&self) -> AppResult<usize> {
        let pending = repo::resumable(&mut self.db.read().await?.platform(), 100).await?;
        for (tenant, request) in &pending {
            let tenant = TenantId::from_uuid(*tenant);
            if let Err(e) = self.run_erasure(tenant, *request, &Audit::system("erasure_resume")).await {
                tracing::warn!(%tenant, %request, error = %e, "resuming an erasure failed");
            }
        }
        Ok(pending.len())
    }
}

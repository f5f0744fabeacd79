//! What the privacy engine says to customers over WhatsApp: the confirmation of an opt-out or
//! opt-in keyword, and a data-subject request's verification code. Both are jobs on the
//! `privacy` queue, so the batched ingest only enqueues (in its own transaction) and never
//! waits for them.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use switchboard_channels::whatsapp::webhook::InboundMessage;
use switchboard_core::privacy::{ConsentSource, RequestStatus};
use switchboard_core::{ChannelId, ContactId, Millis, TenantId};
use switchboard_jobs::{Handler, JobError, payload_id};
use switchboard_privacy::Aad;
use switchboard_storage::bus::Event;
use switchboard_storage::conversations::ConversationRow;
use switchboard_storage::jobs::{self, JobRow, NewJob};
use switchboard_storage::privacy::requests as requests_repo;
use switchboard_storage::templates::{self, TemplateRow};
use switchboard_storage::{Scope, channels, contacts, conversations, messages};
use uuid::Uuid;

use super::consent::{InboundRef, already_recorded};
use super::requests::{VERIFICATION_JOB, VERIFICATION_QUEUE};
use super::settings;
use crate::audit::Audit;
use crate::whatsapp::compose::{WINDOW_MS, otp_ready};
use crate::whatsapp::content;
use crate::{App, AppError, AppResult};

/// The job that applies an inbound keyword and answers it. Payload: `{"message_id",
/// "contact_id"}` (ids only; the contact's id lets an erasure find and drop it).
pub const KEYWORD_JOB: &str = "privacy.inbound_keyword";

/// Enqueues [`KEYWORD_JOB`] for a stored inbound message, in the ingest's transaction.
pub(crate) async fn enqueue_keyword(s: &mut Scope<'_>, message: Uuid, contact: Uuid, now: i64) -> AppResult<()> {
    jobs::enqueue(
        s,
        &NewJob {
            queue: VERIFICATION_QUEUE.into(),
            kind: KEYWORD_JOB.into(),
            payload: serde_json::json!({"message_id": message, "contact_id": contact}).to_string(),
            run_at: now,
            max_attempts: 10,
            dedupe_key: Some(format!("keyword:{message}")),
        },
        now,
    )
    .await?;
    Ok(())
}

/// When a customer's action stamped with a whole second (Meta's timestamps) happened, for the
/// ledger: the end of that second, but not after we received it. An operator's decision
/// recorded earlier in the same second must not win over the customer's STOP.
pub(crate) fn whole_second_end(stamped_ms: i64, received_at: i64) -> i64 {
    (stamped_ms + 999).min(received_at).max(stamped_ms)
}

/// Runs the privacy queue's jobs.
pub struct PrivacyJobs(pub Arc<App>);

#[async_trait]
impl Handler for PrivacyJobs {
    async fn run(&self, job: &JobRow) -> Result<(), JobError> {
        let tenant = TenantId::from_uuid(job.tenant_id);
        let result = match job.kind.as_str() {
            KEYWORD_JOB => self.0.answer_keyword(tenant, payload_id(job, "message_id")?).await,
            VERIFICATION_JOB => self.0.deliver_verification_code(tenant, payload_id(job, "request_id")?).await,
            other => return Err(JobError::Fatal(format!("unknown privacy job {other}"))),
        };
        match result {
            // The message or request went with an erasure meanwhile: nothing left to do.
            Ok(()) | Err(AppError::NotFound) => Ok(()),
            Err(e) => Err(JobError::Retry(e.to_string())),
        }
    }
}

impl App {
    /// Applies the keyword an inbound message is (consent ledger, evidence: the message) and
    /// queues the confirmation in its conversation, in one transaction. Once per message: a
    /// rerun finds the ledger event and does nothing.
    pub async fn answer_keyword(&self, tenant: TenantId, message: Uuid) -> AppResult<()> {
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let m = messages::get(&mut s, message).await?;
        let contact = ContactId::from_uuid(m.contact_id);
        let reference = message.to_string();
        if already_recorded(&mut s, contact, ConsentSource::Keyword, |e| e.message_id.as_ref() == Some(&reference))
            .await?
        {
            return Ok(());
        }
        let Some(sealed) = &m.content_sealed else { return Ok(()) };
        let stored: Value =
            self.keys.open_contact(&mut s, contact, &Aad::new(tenant, "messages", "content", message), sealed).await?;
        let inbound: InboundMessage = stored
            .get("raw")
            .cloned()
            .and_then(|raw| serde_json::from_value(raw).ok())
            .ok_or_else(|| AppError::internal("a keyword message without its inbound form"))?;
        let Some((kind, text)) = content::keyword_text(&inbound.kind) else { return Ok(()) };
        let config = settings::effective(&mut s).await?;
        let at = InboundRef { kind, message_id: reference, sent_at: Millis(whole_second_end(m.sort_at, m.created_at)) };
        // The tenant may have changed its keywords since the ingest matched: then nothing.
        let Some(outcome) = self.keyword_in(&mut s, &config, contact, text, &at).await? else { return Ok(()) };
        let conv = conversations::get(&mut s, m.conversation_id).await?;
        let reply = self.queue_system_text(&mut s, &conv, outcome.reply, None, now).await?;
        tx.commit().await?;
        self.after_system_send(tenant, &reply.id, conv.id, now).await;
        Ok(())
    }

    /// Sends a data-subject request's verification code to the contact on WhatsApp: as a text
    /// in the conversation whose 24-hour window is open (the most recent); with every window
    /// closed, in an approved AUTHENTICATION template of the number of the contact's latest
    /// conversation (one that needs no window); a contact who never wrote gets it in such a
    /// template of a connected number, at their WhatsApp id or phone. With neither the code
    /// stays unsent and the request says `code_delivery: failed` with the reason
    /// (`no_conversation`: the contact never wrote and has no number, or no number is
    /// connected; `no_authentication_template`), so the operator verifies by attestation
    /// instead. The inbox shows the message with the code masked; the
    /// code itself goes only to Meta, and never to logs or the audit trail.
    pub async fn deliver_verification_code(&self, tenant: TenantId, request: Uuid) -> AppResult<()> {
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let row = requests_repo::get(&mut s, request).await?;
        if row.status != RequestStatus::Unverified.as_str() || requests_repo::code(&mut s, request).await?.is_none() {
            return Ok(());
        }
        let mut sent = None;
        let outcome = match self.code_route(&mut s, row.contact_id, now).await? {
            Err(reason) => serde_json::json!({"status": "failed", "reason": reason}),
            Ok((conv, template)) => match self.take_code_in(&mut s, request).await? {
                None => return Ok(()),
                Some(d) => {
                    let m = match &template {
                        None => {
                            let shown = d.text.replace(&d.code, "••••••");
                            self.queue_system_text(&mut s, &conv, d.text, Some(shown), now).await?
                        }
                        Some(t) => self.queue_system_code(&mut s, &conv, t, &d.code, now).await?,
                    };
                    sent = Some((m.id, conv.id));
                    let mut o = serde_json::json!({"status": "queued", "message_id": m.id});
                    if let Some(t) = &template {
                        o["template"] = serde_json::json!(t.name);
                    }
                    o
                }
            },
        };
        let mut details: Value = serde_json::from_str(&row.details).map_err(AppError::internal)?;
        details["code_delivery"] = outcome.clone();
        requests_repo::set_details(&mut s, request, &details.to_string(), now).await?;
        if sent.is_none() {
            Audit::system("privacy_verification")
                .record(
                    self,
                    &mut s,
                    "privacy_request.code_delivery_failed",
                    Some(("privacy_request", request.to_string())),
                    serde_json::json!({"reason": outcome["reason"]}),
                )
                .await?;
        }
        tx.commit().await?;
        if let Some((message, conversation)) = sent {
            self.after_system_send(tenant, &message, conversation, now).await;
        }
        Ok(())
    }

    /// Where a code can go: the conversation (on an active number) with the most recent
    /// customer message inside the 24-hour window, as a text (no template); else the most
    /// recently active conversation with an AUTHENTICATION template of its number that can carry a
    /// code, in the tenant's language when it has one. `Err` is the reason it cannot go.
    async fn code_route(
        &self,
        s: &mut Scope<'_>,
        contact: Uuid,
        now: i64,
    ) -> AppResult<Result<(ConversationRow, Option<TemplateRow>), &'static str>> {
        let mut open: Option<(i64, ConversationRow)> = None;
        let mut latest: Option<(ConversationRow, String)> = None;
        for c in conversations::of_contact(s, contact).await? {
            let ch = self.channel_info_in(s, ChannelId::from_uuid(c.channel_id)).await?;
            if ch.status != "active" {
                continue;
            }
            let last = conversations::last_inbound_at(s, contact, c.channel_id).await?;
            if let Some(last) = last.filter(|l| now < l + WINDOW_MS && open.as_ref().is_none_or(|(t, _)| t < l)) {
                open = Some((last, c.clone()));
            }
            if latest.as_ref().is_none_or(|(l, _)| l.last_message_at < c.last_message_at) {
                latest = Some((c, ch.waba_id.clone()));
            }
        }
        if let Some((_, conv)) = open {
            return Ok(Ok((conv, None)));
        }
        let Some((conv, waba)) = latest else { return self.first_contact_route(s, contact, now).await };
        let language = settings::effective(s).await?.language.as_str();
        let mut usable: Vec<TemplateRow> =
            templates::list(s, Some(&waba)).await?.into_iter().filter(otp_ready).collect();
        usable.sort_by_key(|t| !t.language.starts_with(language));
        Ok(match usable.into_iter().next() {
            Some(t) => Ok((conv, Some(t))),
            None => Err("no_authentication_template"),
        })
    }

    /// Where a code can go to a contact who never wrote to an active number: an approved
    /// AUTHENTICATION template (one that can carry a code, in the tenant's language when there
    /// is one) of a connected number, sent to the contact's WhatsApp id or phone in a
    /// conversation opened for it (as an agent's first template would). `no_conversation`
    /// when the contact has neither a WhatsApp id nor a phone or no number is connected;
    /// `no_authentication_template` when no connected number has a usable template.
    async fn first_contact_route(
        &self,
        s: &mut Scope<'_>,
        contact: Uuid,
        now: i64,
    ) -> AppResult<Result<(ConversationRow, Option<TemplateRow>), &'static str>> {
        let row = contacts::get(s, contact).await?;
        if row.wa_id_sealed.is_none() && row.phone_sealed.is_none() {
            return Ok(Err("no_conversation"));
        }
        let active: Vec<_> = channels::list(s).await?.into_iter().filter(|c| c.status == "active").collect();
        if active.is_empty() {
            return Ok(Err("no_conversation"));
        }
        let language = settings::effective(s).await?.language.as_str();
        let mut best: Option<(Uuid, TemplateRow)> = None;
        for ch in &active {
            for t in templates::list(s, Some(&ch.waba_id)).await?.into_iter().filter(otp_ready) {
                let better = match &best {
                    None => true,
                    Some((_, b)) => !b.language.starts_with(language) && t.language.starts_with(language),
                };
                if better {
                    best = Some((ch.id, t));
                }
            }
        }
        let Some((channel, template)) = best else { return Ok(Err("no_authentication_template")) };
        let info = self.channel_info_in(s, ChannelId::from_uuid(channel)).await?;
        let id = self.conversation_for(s, &info, ContactId::from_uuid(contact), now).await?;
        Ok(Ok((conversations::get(s, id.as_uuid()).await?, Some(template))))
    }

    /// Wakes the sender and tells live views about a message the system queued.
    async fn after_system_send(&self, tenant: TenantId, message: &Uuid, conversation: Uuid, now: i64) {
        self.wa.send_wakeup.notify_waiters();
        let _ = self
            .bus
            .publish(&Event {
                tenant_id: tenant.as_uuid(),
                topic: "message.created".into(),
                subject: Some(*message),
                related: Some(conversation),
                at: now,
            })
            .await;
    }
}

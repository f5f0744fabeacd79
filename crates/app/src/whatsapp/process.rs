//! Turning one verified webhook notification into rows, inside the ingest batch's
//! transaction. Every entry, change, message and status of the payload is handled (Chatwoot
//! reads only the first of each). Idempotence comes from unique keys, never from
//! read-then-write: a duplicate message inserts nothing and triggers nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use switchboard_channels::whatsapp::webhook::{
    ChangeValue, InboundMessage, MessageKind, MessagesValue, Notification, Status, StatusKind, UserPreference,
    WaContact,
};
use switchboard_core::privacy::ConsentSource;

use switchboard_core::{ContactId, ConversationId, E164, MessageId, Millis, TenantId, WaId};
use switchboard_privacy::{Aad, BlindIndex, BlindKind, Sealed};
use switchboard_storage::bus::Event;
use switchboard_storage::contacts::{self, ContactRow, Lookup};
use switchboard_storage::conversations::InboundTouch;
use switchboard_storage::jobs::{self, NewJob};
use switchboard_storage::keys as key_repo;
use switchboard_storage::media::{self, MediaRow};
use switchboard_storage::messages::{self, Applied, MessageRow, StatusReport, StatusUpdate, Target};
use switchboard_storage::search::{self as search_repo, SearchDoc};
use switchboard_storage::webhook_events::{self, NewChannelEvent};
use switchboard_storage::{Scope, Tx, conversations, templates};
use uuid::Uuid;

use super::channels::ChannelInfo;
use super::content;
use crate::privacy::consent::{MetaPreference, already_recorded};
use crate::{App, AppError, AppResult};

/// The state of one ingest transaction: what it must do after the commit, what it already
/// knows, and the plain messages waiting for its multi-row insert.
///
/// On SQLite's single writer the cost of a batch was mostly statement round trips, a handful
/// per message. Now the senders' contacts and conversations are looked up for the whole batch
/// at once, and plain messages (text, location, replies, …) are inserted with one statement
/// and their conversations touched with another ([`App::flush_pending`]); statuses are applied
/// with one statement too. Anything that must see an earlier message of the batch (a reaction,
/// an edit, a revoke) flushes first.
#[derive(Default)]
pub(crate) struct Effects {
    pub events: Vec<Event>,
    pub wake_jobs: bool,
    /// (messages stored, statuses applied) per delivery of the batch.
    pub counts: Vec<(i32, i32)>,
    /// The delivery being processed (an index into `counts`).
    pub delivery: usize,
    /// Contact (and whether it has a name) by WhatsApp id index.
    contacts: HashMap<(TenantId, BlindIndex), (ContactId, bool)>,
    /// The active conversation of a contact on a number.
    conversations: HashMap<(TenantId, Uuid, Uuid), ConversationId>,
    pending: Vec<Pending>,
    pending_ids: HashSet<(Uuid, String)>,
    /// Statuses waiting for the batch's multi-row update.
    statuses: Vec<PendingStatus>,
    /// Search documents of rows already written (contacts, messages inserted one by one),
    /// stored with the batch's plain messages.
    docs: Vec<(TenantId, SearchDoc)>,
}

/// The messages a batch's statuses name for one tenant: by our id, or by (number, WhatsApp id)
/// where the status carries no id of ours.
#[derive(Default)]
struct StatusTargets<'a> {
    ids: Vec<Uuid>,
    wamids: Vec<(Uuid, &'a str)>,
}

/// A status report waiting for the batch's update ([`messages::apply_statuses`]).
struct PendingStatus {
    tenant: TenantId,
    channel: Uuid,
    ours: Option<Uuid>,
    wamid: String,
    status: &'static str,
    error_code: Option<i64>,
    error_title: Option<String>,
    error_details: Option<String>,
    at: i64,
    received_at: i64,
}

impl PendingStatus {
    fn update(&self) -> StatusUpdate<'_> {
        let (channel, wamid) = (self.channel, self.wamid.as_str());
        StatusUpdate {
            target: match self.ours {
                Some(id) => Target::Ours { id, channel, wamid },
                None => Target::Provider { channel, wamid },
            },
            report: StatusReport {
                status: self.status,
                error_code: self.error_code,
                error_title: self.error_title.as_deref(),
                error_details: self.error_details.as_deref(),
                at: self.at,
            },
        }
    }
}

/// A plain inbound message waiting for the batch's insert.
struct Pending {
    row: MessageRow,
    /// The conversation preview it would set (sealed only if it is the newest).
    preview: String,
    delivery: usize,
    /// An opt-out or opt-in keyword: once stored (not a replay), a job applies it and answers.
    keyword: bool,
    /// Its search document, stored if it is inserted.
    doc: SearchDoc,
}

impl Effects {
    pub(crate) fn for_deliveries(n: usize) -> Self {
        Self { counts: vec![(0, 0); n], ..Self::default() }
    }

    fn count_message(&mut self) {
        if let Some(c) = self.counts.get_mut(self.delivery) {
            c.0 += 1;
        }
    }

    fn count_status(&mut self) {
        if let Some(c) = self.counts.get_mut(self.delivery) {
            c.1 += 1;
        }
    }

    fn event(&mut self, tenant: Uuid, topic: &str, subject: Uuid, related: Uuid, at: i64) {
        self.events.push(Event {
            tenant_id: tenant,
            topic: topic.to_owned(),
            subject: Some(subject),
            related: Some(related),
            at,
        });
    }
}

/// Inbound timestamps further than this in the future, or older than this in the past, are
/// stored but flagged and ordered by receive time (a skewed clock must not pin a conversation
/// to the top or let retention purge it at once).
const FUTURE_SKEW: i64 = 5 * Millis::MINUTE;
const PAST_SKEW: i64 = 30 * Millis::DAY;

fn aad(s: &Scope<'_>, table: &'static str, column: &'static str, row: Uuid) -> Aad<'static> {
    Aad::new(s.tenant_id(), table, column, row)
}

impl App {
    pub(crate) async fn process_notification(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        n: &Notification,
        received_at: i64,
        fx: &mut Effects,
    ) -> AppResult<()> {
        for entry in &n.entry {
            for change in &entry.changes {
                match &change.value {
                    ChangeValue::Messages(v) if v.metadata.phone_number_id == ch.phone_number_id => {
                        self.process_messages(s, ch, v, received_at, fx).await?;
                    }
                    // Routed by the caller: another number's change never lands here.
                    ChangeValue::Messages(_) => {}
                    other => self.process_other(s, ch, &change.field, other, received_at, fx).await?,
                }
            }
        }
        Ok(())
    }

    async fn process_messages(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        v: &MessagesValue,
        received_at: i64,
        fx: &mut Effects,
    ) -> AppResult<()> {
        for m in &v.messages {
            self.ingest_message(s, ch, &v.contacts, m, received_at, fx).await?;
        }
        for st in &v.statuses {
            self.ingest_status(s, ch, st, received_at, fx).await?;
        }
        for e in &v.errors {
            let summary = format!("error {}: {}", e.code, e.title.as_deref().unwrap_or("unknown"));
            self.channel_event(
                s,
                ch,
                "errors",
                summary,
                serde_json::json!({"code": e.code, "title": e.title, "details": e.details}),
                received_at,
            )
            .await?;
        }
        Ok(())
    }

    /// Template, quality, account and preference updates, and fields we do not model: stored
    /// as channel events (payload sealed), and applied where we understand them.
    async fn process_other(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        field: &str,
        v: &ChangeValue,
        at: i64,
        fx: &mut Effects,
    ) -> AppResult<()> {
        let (summary, payload) = match v {
            ChangeValue::UserPreferences(u) => {
                let applied = self.apply_user_preferences(s, &u.user_preferences, at, fx).await?;
                (format!("user preferences ({applied} applied)"), other_payload(v))
            }
            ChangeValue::TemplateStatus(u) => {
                self.apply_template_update(
                    s,
                    ch,
                    &u.message_template_id,
                    u.name.as_deref(),
                    u.language.as_deref(),
                    Some(&u.event),
                    None,
                    None,
                    u.reason.as_deref(),
                    at,
                    fx,
                )
                .await?;
                (
                    format!("template {} {}", u.name.as_deref().unwrap_or(&u.message_template_id), u.event),
                    serde_json::json!({"event": u.event, "reason": u.reason}),
                )
            }
            ChangeValue::TemplateQuality(u) => {
                self.apply_template_update(
                    s,
                    ch,
                    &u.message_template_id,
                    u.name.as_deref(),
                    u.language.as_deref(),
                    None,
                    u.new_quality_score.as_deref(),
                    None,
                    None,
                    at,
                    fx,
                )
                .await?;
                (
                    format!("template quality {}", u.new_quality_score.as_deref().unwrap_or("?")),
                    serde_json::json!({"quality": u.new_quality_score}),
                )
            }
            ChangeValue::TemplateCategory(u) => {
                self.apply_template_update(
                    s,
                    ch,
                    &u.message_template_id,
                    u.name.as_deref(),
                    u.language.as_deref(),
                    None,
                    None,
                    u.new_category.as_deref(),
                    None,
                    at,
                    fx,
                )
                .await?;
                (
                    format!("template category {}", u.new_category.as_deref().unwrap_or("?")),
                    serde_json::json!({"category": u.new_category}),
                )
            }
            ChangeValue::PhoneNumberQuality(u) => {
                let limit = u.max_daily_conversations_per_business.as_deref().or(u.current_limit.as_deref());
                switchboard_storage::channels::set_quality(s, ch.id.as_uuid(), None, limit, at).await?;
                self.wa.channels.forget(ch.id);
                (
                    format!("phone number {} {}", u.event, limit.unwrap_or("")),
                    serde_json::json!({"event": u.event, "limit": limit}),
                )
            }
            other => (field.to_owned(), other_payload(other)),
        };
        self.channel_event(s, ch, field, summary, payload, at).await
    }

    async fn channel_event(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        field: &str,
        summary: String,
        payload: serde_json::Value,
        at: i64,
    ) -> AppResult<()> {
        let id = Uuid::now_v7();
        let sealed = self.keys.seal_tenant(s, &aad(s, "channel_events", "payload", id), &payload).await?;
        webhook_events::insert_channel_event(
            s,
            &NewChannelEvent {
                channel_id: ch.id.as_uuid(),
                field: field.to_owned(),
                summary: summary.chars().take(200).collect(),
                payload_sealed: Some(sealed),
                at,
            },
        )
        .await?;
        Ok(())
    }

    /// Meta's `user_preferences`: a customer stopped or resumed marketing messages in
    /// WhatsApp itself. Recorded in the consent ledger once per (customer, value, time), so a
    /// replayed webhook changes nothing; an unknown sender becomes a contact, so the opt-out
    /// holds when they are imported or write later. Returns how many were recorded.
    async fn apply_user_preferences(
        &self,
        s: &mut Scope<'_>,
        prefs: &[UserPreference],
        received_at: i64,
        fx: &mut Effects,
    ) -> AppResult<usize> {
        let mut applied = 0;
        for p in prefs.iter().filter(|p| p.category.as_deref() == Some("marketing_messages")) {
            let (preference, value) = match p.value.as_deref() {
                Some("stop") => (MetaPreference::Stop, "stop"),
                Some("resume") => (MetaPreference::Resume, "resume"),
                _ => continue,
            };
            let Some(wa_id) = p.wa_id.as_deref().and_then(|w| WaId::parse(w).ok()) else { continue };
            let contact = self.contact_for(s, &wa_id, None, received_at, fx).await?;
            let at = p.timestamp.map_or(received_at, |t| {
                crate::privacy::delivery::whole_second_end(t.saturating_mul(1000).min(received_at), received_at)
            });
            let reference = format!("user_preferences:{value}:{}", p.timestamp.unwrap_or(0));
            if already_recorded(s, contact, ConsentSource::MetaPreference, |e| {
                e.reference.as_deref() == Some(reference.as_str())
            })
            .await?
            {
                continue;
            }
            self.meta_preference_in(s, contact, preference, Millis(at), Some(reference)).await?;
            applied += 1;
        }
        Ok(applied)
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_template_update(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        provider_id: &str,
        name: Option<&str>,
        language: Option<&str>,
        status: Option<&str>,
        quality: Option<&str>,
        category: Option<&str>,
        reason: Option<&str>,
        at: i64,
        fx: &mut Effects,
    ) -> AppResult<()> {
        let found = match templates::by_provider_id(s, provider_id).await? {
            Some(t) => Some(t),
            None => match (name, language) {
                (Some(n), Some(l)) => templates::by_name(s, &ch.waba_id, n)
                    .await?
                    .into_iter()
                    .find(|t| switchboard_channels::whatsapp::webhook::same_language(&t.language, l)),
                _ => None,
            },
        };
        match found {
            Some(t) => {
                templates::update_state(s, t.id, status, quality, category, reason.filter(|r| *r != "NONE"), at)
                    .await?;
                // The templates page refreshes its list (after the batch commits).
                fx.events.push(Event {
                    tenant_id: ch.tenant.as_uuid(),
                    topic: "template.updated".into(),
                    subject: Some(t.id),
                    related: None,
                    at,
                });
            }
            // A template we have not synchronised yet: the next sync brings it with its state.
            None => self.enqueue_template_sync(s, ch.id, at).await?,
        }
        Ok(())
    }

    async fn ingest_message(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        senders: &[WaContact],
        m: &InboundMessage,
        received_at: i64,
        fx: &mut Effects,
    ) -> AppResult<()> {
        let Some(wa_id) = sender_wa_id(m, senders) else {
            return self
                .channel_event(
                    s,
                    ch,
                    "messages",
                    format!("message {} without a sender id", m.id),
                    serde_json::json!({"id": m.id}),
                    received_at,
                )
                .await;
        };
        let contact = self.contact_for(s, &wa_id, sender_name(senders, &wa_id), received_at, fx).await?;
        let provider_ts = m.timestamp.saturating_mul(1000);
        let flagged = provider_ts > received_at + FUTURE_SKEW || provider_ts < received_at - PAST_SKEW;
        let at = if flagged { received_at } else { provider_ts };

        if matches!(m.kind, MessageKind::Reaction { .. } | MessageKind::Edit { .. } | MessageKind::Revoke { .. }) {
            // The message they refer to may be waiting in this batch.
            self.flush_pending(s, fx).await?;
        }
        match &m.kind {
            MessageKind::Reaction { message_id, emoji } => {
                if let Some((target, conversation, _)) =
                    messages::find_by_provider_id(s, ch.id.as_uuid(), message_id).await?
                {
                    let emoji = emoji.as_deref().filter(|e| !e.is_empty());
                    if messages::react(s, target, "contact", emoji, at).await? {
                        fx.event(s.tenant_id().as_uuid(), "message.reaction", target, conversation, received_at);
                    }
                    return Ok(());
                }
            }
            MessageKind::Edit { original_message_id, .. } => {
                if let Some((target, conversation, owner)) =
                    messages::find_by_provider_id(s, ch.id.as_uuid(), original_message_id).await?
                {
                    let sealed = self
                        .keys
                        .seal_contact(
                            s,
                            ContactId::from_uuid(owner),
                            &aad(s, "messages", "content", target),
                            &content::inbound_content(m),
                        )
                        .await?;
                    if messages::edit(s, ch.id.as_uuid(), original_message_id, &sealed, received_at).await?.is_some() {
                        let text = content::kind_text(&m.kind);
                        let doc = self.message_tokens(s, target, owner, conversation, text.as_deref()).await?;
                        search_repo::replace(s, &doc).await?;
                        fx.event(s.tenant_id().as_uuid(), "message.updated", target, conversation, received_at);
                    }
                    return Ok(());
                }
            }
            MessageKind::Revoke { original_message_id } => {
                if let Some((target, conversation)) =
                    messages::revoke(s, ch.id.as_uuid(), original_message_id, received_at).await?
                {
                    search_repo::remove_owned(s, &[target]).await?;
                    fx.event(s.tenant_id().as_uuid(), "message.updated", target, conversation, received_at);
                    return Ok(());
                }
            }
            _ => {}
        }

        let conversation = self.batch_conversation(s, ch, contact, received_at, fx).await?;
        let id = MessageId::new().as_uuid();
        let kind = m.kind.type_name().to_owned();
        let sealed = self
            .keys
            .seal_contact(s, contact, &aad(s, "messages", "content", id), &content::inbound_content(m))
            .await?;
        let row = MessageRow {
            tenant_id: s.tenant_id().as_uuid(),
            id,
            conversation_id: conversation.as_uuid(),
            contact_id: contact.as_uuid(),
            channel_id: ch.id.as_uuid(),
            direction: "inbound".into(),
            kind: kind.clone(),
            provider_message_id: Some(m.id.clone()),
            content_sealed: Some(sealed),
            status: "received".into(),
            error_code: m.errors.first().map(|e| e.code),
            error_title: m.errors.first().and_then(|e| e.title.clone()),
            error_details: None,
            reply_to_provider_id: m.context.as_ref().and_then(|c| c.id.clone()),
            sender_user_id: None,
            provider_ts: Some(provider_ts),
            time_flagged: flagged,
            edited: false,
            deleted: false,
            sort_at: at,
            created_at: received_at,
            updated_at: received_at,
        };
        let text = content::kind_text(&m.kind);
        let preview = content::preview(&kind, text.as_deref());
        let doc = self.message_tokens(s, id, contact.as_uuid(), conversation.as_uuid(), text.as_deref()).await?;
        let plain = m.kind.media().is_none() && !matches!(m.kind, MessageKind::System { .. });
        if plain {
            if fx.pending_ids.insert((ch.id.as_uuid(), m.id.clone())) {
                let keyword = match content::keyword_text(&m.kind) {
                    Some((kind, text)) => self.wa.keywords.get(s).await?.match_message(kind, text).is_some(),
                    None => false,
                };
                fx.pending.push(Pending { row, preview, delivery: fx.delivery, keyword, doc });
            }
            return Ok(());
        }
        if !messages::insert(s, &row).await? {
            // A duplicate or replayed delivery: the message exists, and so do its side effects.
            return Ok(());
        }
        fx.docs.push((s.tenant_id(), doc));
        fx.count_message();
        let preview = self
            .keys
            .seal_contact(s, contact, &aad(s, "conversations", "preview", conversation.as_uuid()), &preview)
            .await?;
        let touch = InboundTouch { id: conversation.as_uuid(), at, count: 1, preview, now: received_at };
        conversations::touch_inbound(s, &[touch]).await?;
        if let Some(media) = m.kind.media() {
            self.register_media(s, ch, contact, id, &kind, media, received_at).await?;
            fx.wake_jobs = true;
        }
        if let MessageKind::System { wa_id: Some(new), .. } = &m.kind {
            self.follow_number_change(s, contact, new, received_at).await?;
        }
        fx.event(s.tenant_id().as_uuid(), "message.created", id, conversation.as_uuid(), received_at);
        Ok(())
    }

    /// The contact of a WhatsApp id: found by its blind index; or an existing contact with the
    /// same phone number (created by an agent) gets the id linked; or a new contact. Two first
    /// messages racing on PostgreSQL create one contact: the loser's insert does nothing and it
    /// reads the winner's.
    async fn contact_for(
        &self,
        s: &mut Scope<'_>,
        wa_id: &WaId,
        name: Option<&str>,
        now: i64,
        fx: &mut Effects,
    ) -> AppResult<ContactId> {
        let wa_index = self.keys.blind_index(s, BlindKind::WaId, wa_id.as_str()).await?;
        let key = (s.tenant_id(), wa_index);
        let known = match fx.contacts.get(&key) {
            Some(&(id, named)) => Some((id, named)),
            None => {
                contacts::id_and_named(s, Lookup::WaId(wa_index)).await?.map(|(id, n)| (ContactId::from_uuid(id), n))
            }
        };
        if let Some((id, named)) = known {
            let name = name.map(str::trim).filter(|n| !n.is_empty());
            if let (false, Some(n)) = (named, name) {
                let sealed =
                    self.keys.seal_contact(s, id, &aad(s, "contacts", "name", id.as_uuid()), &n.to_owned()).await?;
                contacts::set_name(s, id.as_uuid(), &sealed, now).await?;
                // The contact had no name: its document gets the name's words beside the phone
                // digits (its phone is the WhatsApp id's, by which it was found).
                let doc = self.contact_tokens(s, id.as_uuid(), Some(n), wa_id.to_e164().as_ref()).await?;
                search_repo::replace(s, &doc).await?;
            }
            fx.contacts.insert(key, (id, named || name.is_some()));
            return Ok(id);
        }
        let (id, named) = self.new_contact(s, wa_id, wa_index, name, now, fx).await?;
        fx.contacts.insert(key, (id, named));
        Ok(id)
    }

    /// A sender we have no contact for yet: an existing contact with the same phone number
    /// (created by an agent) gets the WhatsApp id linked; else a new contact. Returns the
    /// contact and whether it has a name.
    async fn new_contact(
        &self,
        s: &mut Scope<'_>,
        wa_id: &WaId,
        wa_index: BlindIndex,
        name: Option<&str>,
        now: i64,
        fx: &mut Effects,
    ) -> AppResult<(ContactId, bool)> {
        let phone = wa_id.to_e164();
        let phone_index = match &phone {
            Some(p) => Some(self.keys.blind_index(s, BlindKind::Phone, p.as_str()).await?),
            None => None,
        };
        if let Some(pi) = phone_index
            && let Some((id, named)) = contacts::id_and_named(s, Lookup::Phone(pi)).await?
        {
            let id = ContactId::from_uuid(id);
            let sealed = self.keys.seal_contact(s, id, &aad(s, "contacts", "wa_id", id.as_uuid()), wa_id).await?;
            contacts::set_wa_id(s, id.as_uuid(), &sealed, wa_index, now).await?;
            return Ok((id, named));
        }
        let id = ContactId::new();
        let key = self.keys.provision_contact(s, id, now).await?;
        let seal_str =
            |column: &'static str, v: &String| Sealed::seal(&key, &aad(s, "contacts", column, id.as_uuid()), v);
        let row = ContactRow {
            tenant_id: s.tenant_id().as_uuid(),
            id: id.as_uuid(),
            name_sealed: name.map(str::trim).filter(|n| !n.is_empty()).map(|n| seal_str("name", &n.to_owned())),
            phone_sealed: phone
                .as_ref()
                .map(|p: &E164| Sealed::seal(&key, &aad(s, "contacts", "phone", id.as_uuid()), p)),
            phone_index,
            email_sealed: None,
            email_index: None,
            wa_id_sealed: Some(Sealed::seal(&key, &aad(s, "contacts", "wa_id", id.as_uuid()), wa_id)),
            wa_id_index: Some(wa_index),
            attributes_sealed: None,
            created_at: now,
            updated_at: now,
        };
        if contacts::insert_if_absent(s, &row).await? {
            let name = name.map(str::trim).filter(|n| !n.is_empty());
            let doc = self.contact_tokens(s, id.as_uuid(), name, phone.as_ref()).await?;
            fx.docs.push((s.tenant_id(), doc));
            return Ok((id, row.name_sealed.is_some()));
        }
        key_repo::delete_contact_keys(s, id.as_uuid()).await?;
        self.keys.forget_contact(s.tenant_id(), id);
        contacts::id_and_named(s, Lookup::WaId(wa_index))
            .await?
            .map(|(id, named)| (ContactId::from_uuid(id), named))
            .ok_or_else(|| AppError::Internal("contact vanished while being created".into()))
    }

    /// The conversation to add a message to: the open/pending/snoozed one; else the latest
    /// resolved one reopened (tenant setting `reopen`); else a new one.
    pub(crate) async fn conversation_for(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        contact: ContactId,
        now: i64,
    ) -> AppResult<ConversationId> {
        let (c, chan) = (contact.as_uuid(), ch.id.as_uuid());
        if let Some((id, _)) = conversations::find_active(s, c, chan).await? {
            return Ok(ConversationId::from_uuid(id));
        }
        if self.tenant_settings(s).await?.reopen_resolved
            && let Some(id) = conversations::latest_resolved(s, c, chan).await?
        {
            conversations::reopen(s, id, now).await?;
            return Ok(ConversationId::from_uuid(id));
        }
        let id = ConversationId::new();
        if conversations::insert(s, id.as_uuid(), c, chan, now).await? {
            return Ok(id);
        }
        conversations::find_active(s, c, chan)
            .await?
            .map(|(id, _)| ConversationId::from_uuid(id))
            .ok_or_else(|| AppError::Internal("conversation vanished while being opened".into()))
    }

    /// [`Self::conversation_for`], remembered for the rest of the batch.
    async fn batch_conversation(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        contact: ContactId,
        now: i64,
        fx: &mut Effects,
    ) -> AppResult<ConversationId> {
        let key = (s.tenant_id(), contact.as_uuid(), ch.id.as_uuid());
        if let Some(id) = fx.conversations.get(&key) {
            return Ok(*id);
        }
        let id = self.conversation_for(s, ch, contact, now).await?;
        fx.conversations.insert(key, id);
        Ok(id)
    }

    /// Looks up, for every message of the batch at once, the sender's contact and its active
    /// conversation on the number (one query per tenant and one per number), then creates the
    /// contacts of new senders. `parts`: each delivery's channel, notification and receipt time.
    pub(crate) async fn prefetch(
        &self,
        tx: &mut Tx,
        parts: &[(&ChannelInfo, &Notification, i64)],
        fx: &mut Effects,
    ) -> AppResult<()> {
        let mut wanted: HashMap<TenantId, Vec<(Uuid, BlindIndex)>> = HashMap::new();
        let mut senders = Vec::new();
        let mut statuses: BTreeMap<TenantId, StatusTargets<'_>> = BTreeMap::new();
        for (ch, n, received_at) in parts {
            let mut s = tx.tenant(ch.tenant);
            for value in n.entry.iter().flat_map(|e| &e.changes).filter_map(|c| match &c.value {
                ChangeValue::Messages(v) if v.metadata.phone_number_id == ch.phone_number_id => Some(v),
                _ => None,
            }) {
                for m in &value.messages {
                    if let Some(wa) = sender_wa_id(m, &value.contacts) {
                        let index = self.keys.blind_index(&mut s, BlindKind::WaId, wa.as_str()).await?;
                        wanted.entry(ch.tenant).or_default().push((ch.id.as_uuid(), index));
                        let name = sender_name(&value.contacts, &wa).map(str::to_owned);
                        senders.push((ch.tenant, index, wa, name, *received_at));
                    }
                }
                for st in &value.statuses {
                    let targets = statuses.entry(ch.tenant).or_default();
                    match our_id(st) {
                        Some(id) => targets.ids.push(id),
                        None => targets.wamids.push((ch.id.as_uuid(), &st.id)),
                    }
                }
            }
        }
        for (tenant, list) in wanted {
            let mut s = tx.tenant(tenant);
            let mut indexes: Vec<BlindIndex> = list.iter().map(|(_, i)| *i).collect();
            indexes.sort_unstable_by_key(|i| i.0);
            indexes.dedup();
            let mut by_index = HashMap::new();
            for (index, id, named) in contacts::by_wa_indexes(&mut s, &indexes).await? {
                by_index.entry(index).or_insert((ContactId::from_uuid(id), named));
            }
            let mut per_channel: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
            for (channel, index) in &list {
                if let Some((id, _)) = by_index.get(index) {
                    per_channel.entry(*channel).or_default().push(id.as_uuid());
                }
            }
            for (channel, mut ids) in per_channel {
                ids.sort_unstable();
                ids.dedup();
                for (contact, conversation) in conversations::active_of(&mut s, channel, &ids).await? {
                    fx.conversations.insert((tenant, contact, channel), ConversationId::from_uuid(conversation));
                }
            }
            fx.contacts.extend(by_index.into_iter().map(|(index, known)| ((tenant, index), known)));
        }
        // New senders get their contacts in one order all writers share. Created as their
        // messages came, two PostgreSQL writers with the same two new senders in opposite
        // orders deadlocked, and the server takes a second to notice.
        senders.sort_by_key(|(tenant, index, ..)| (*tenant, index.0));
        senders.dedup_by_key(|(tenant, index, ..)| (*tenant, index.0));
        for (tenant, index, wa, name, received_at) in senders {
            if !fx.contacts.contains_key(&(tenant, index)) {
                self.contact_for(&mut tx.tenant(tenant), &wa, name.as_deref(), received_at, fx).await?;
            }
        }
        // The same for the messages the batch's statuses update.
        for (tenant, StatusTargets { ids, wamids }) in statuses {
            messages::lock_for_statuses(&mut tx.tenant(tenant), ids, &wamids).await?;
        }
        Ok(())
    }

    /// Inserts the scope's tenant's waiting plain messages with one statement, then touches
    /// each of their conversations once (newest message's preview, unread count grown by the
    /// number inserted). Duplicates of stored messages insert nothing and trigger nothing.
    pub(crate) async fn flush_pending(&self, s: &mut Scope<'_>, fx: &mut Effects) -> AppResult<()> {
        self.flush_statuses(s, fx).await?;
        let tenant = s.tenant_id();
        let (mine, rest): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut fx.pending).into_iter().partition(|p| p.row.tenant_id == tenant.as_uuid());
        fx.pending = rest;
        let (my_docs, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut fx.docs).into_iter().partition(|t| t.0 == tenant);
        fx.docs = rest;
        let mut docs: Vec<SearchDoc> = my_docs.into_iter().map(|(_, d)| d).collect();
        if mine.is_empty() {
            search_repo::insert_many(s, &docs).await?;
            return Ok(());
        }
        let mut rows = Vec::with_capacity(mine.len());
        let mut meta = Vec::with_capacity(mine.len());
        let mut row_docs = Vec::with_capacity(mine.len());
        for p in mine {
            rows.push(p.row);
            meta.push((p.preview, p.delivery, p.keyword));
            row_docs.push(p.doc);
        }
        let inserted: HashSet<Uuid> = messages::insert_many(s, &rows).await?.into_iter().collect();
        docs.extend(row_docs.into_iter().filter(|d| inserted.contains(&d.owner_id)));
        search_repo::insert_many(s, &docs).await?;
        // Per conversation: (index of its newest new message, how many are new).
        let mut newest: HashMap<Uuid, (usize, i32)> = HashMap::new();
        for (i, row) in rows.iter().enumerate().filter(|(_, r)| inserted.contains(&r.id)) {
            let delivery = meta[i].1;
            if let Some(c) = fx.counts.get_mut(delivery) {
                c.0 += 1;
            }
            fx.event(tenant.as_uuid(), "message.created", row.id, row.conversation_id, row.created_at);
            if meta[i].2 {
                crate::privacy::delivery::enqueue_keyword(s, row.id, row.contact_id, row.created_at).await?;
                fx.wake_jobs = true;
            }
            let e = newest.entry(row.conversation_id).or_insert((i, 0));
            if (row.sort_at, row.id) > (rows[e.0].sort_at, rows[e.0].id) {
                e.0 = i;
            }
            e.1 += 1;
        }
        let mut touches = Vec::with_capacity(newest.len());
        for (conversation, (i, count)) in newest {
            let row = &rows[i];
            let contact = ContactId::from_uuid(row.contact_id);
            let preview = self
                .keys
                .seal_contact(s, contact, &aad(s, "conversations", "preview", conversation), &meta[i].0)
                .await?;
            touches.push(InboundTouch { id: conversation, at: row.sort_at, count, preview, now: row.created_at });
        }
        conversations::touch_inbound(s, &touches).await?;
        Ok(())
    }

    /// Applies the scope's tenant's waiting statuses with one statement per chunk; those for
    /// messages not known yet are parked until their send completes.
    async fn flush_statuses(&self, s: &mut Scope<'_>, fx: &mut Effects) -> AppResult<()> {
        let tenant = s.tenant_id();
        let (mine, rest): (Vec<PendingStatus>, Vec<PendingStatus>) =
            std::mem::take(&mut fx.statuses).into_iter().partition(|p| p.tenant == tenant);
        fx.statuses = rest;
        if mine.is_empty() {
            return Ok(());
        }
        let updates: Vec<StatusUpdate<'_>> = mine.iter().map(PendingStatus::update).collect();
        let applied = messages::apply_statuses(s, &updates).await?;
        for ((p, u), a) in mine.iter().zip(&updates).zip(applied) {
            match a {
                Applied::Changed { id, conversation, .. } => {
                    fx.event(tenant.as_uuid(), "message.status", id, conversation, p.received_at);
                }
                Applied::Unchanged => {}
                Applied::Unknown => messages::park_status(s, p.channel, &p.wamid, &u.report, p.received_at).await?,
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn register_media(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        contact: ContactId,
        message: Uuid,
        kind: &str,
        media: &switchboard_channels::whatsapp::webhook::Media,
        now: i64,
    ) -> AppResult<()> {
        let id = Uuid::now_v7();
        media::insert(
            s,
            &MediaRow {
                tenant_id: s.tenant_id().as_uuid(),
                id,
                message_id: message,
                contact_id: contact.as_uuid(),
                channel_id: ch.id.as_uuid(),
                provider_media_id: media.id.clone(),
                kind: kind.to_owned(),
                mime_type: media.mime_type.clone(),
                sha256: media.sha256.clone(),
                size_bytes: None,
                blob_key: None,
                state: "pending".into(),
                error: None,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        jobs::enqueue(
            s,
            &NewJob {
                queue: super::QUEUE.into(),
                kind: super::JOB_MEDIA.into(),
                payload: serde_json::json!({"media_id": id}).to_string(),
                run_at: now,
                max_attempts: 8,
                dedupe_key: Some(format!("media:{id}")),
            },
            now,
        )
        .await?;
        Ok(())
    }

    /// "User changed number": the contact follows to the new WhatsApp id, unless another contact
    /// already holds it.
    async fn follow_number_change(&self, s: &mut Scope<'_>, contact: ContactId, new: &str, now: i64) -> AppResult<()> {
        let Ok(new) = WaId::parse(new) else { return Ok(()) };
        let index = self.keys.blind_index(s, BlindKind::WaId, new.as_str()).await?;
        if contacts::id_and_named(s, Lookup::WaId(index)).await?.is_some() {
            return Ok(());
        }
        let sealed = self.keys.seal_contact(s, contact, &aad(s, "contacts", "wa_id", contact.as_uuid()), &new).await?;
        contacts::set_wa_id(s, contact.as_uuid(), &sealed, index, now).await?;
        Ok(())
    }

    async fn ingest_status(
        &self,
        s: &mut Scope<'_>,
        ch: &ChannelInfo,
        st: &Status,
        received_at: i64,
        fx: &mut Effects,
    ) -> AppResult<()> {
        let status = match &st.status {
            StatusKind::Sent => "sent",
            StatusKind::Delivered => "delivered",
            StatusKind::Read | StatusKind::Played => "read",
            StatusKind::Failed => "failed",
            StatusKind::Deleted | StatusKind::Other(_) => {
                let summary = format!("status {} for {}", st.status.as_str(), st.id);
                return self
                    .channel_event(
                        s,
                        ch,
                        "statuses",
                        summary,
                        serde_json::json!({"id": st.id, "status": st.status.as_str()}),
                        received_at,
                    )
                    .await;
            }
        };
        fx.count_status();
        let err = st.errors.first();
        fx.statuses.push(PendingStatus {
            tenant: s.tenant_id(),
            channel: ch.id.as_uuid(),
            ours: our_id(st),
            wamid: st.id.clone(),
            status,
            error_code: err.map(|e| e.code),
            error_title: err.and_then(|e| e.title.clone().or_else(|| e.message.clone())),
            error_details: err.and_then(|e| e.details.clone()),
            at: st.timestamp.saturating_mul(1000),
            received_at,
        });
        Ok(())
    }
}

/// Our id for the message a status is about, which we send as `biz_opaque_callback_data`.
fn our_id(st: &Status) -> Option<Uuid> {
    st.biz_opaque_callback_data.as_deref().and_then(|v| Uuid::parse_str(v).ok())
}

/// The sender's WhatsApp id: `from`, else the only contact of the change.
fn sender_wa_id(m: &InboundMessage, senders: &[WaContact]) -> Option<WaId> {
    let only = match senders {
        [one] => one.wa_id.as_deref(),
        _ => None,
    };
    m.from.as_deref().or(only).and_then(|s| WaId::parse(s).ok())
}

/// The profile name Meta gives for a sender: its own entry in `contacts`, else the first.
fn sender_name<'a>(senders: &'a [WaContact], wa_id: &WaId) -> Option<&'a str> {
    senders
        .iter()
        .find(|c| c.wa_id.as_deref() == Some(wa_id.as_str()))
        .and_then(WaContact::name)
        .or_else(|| senders.first().and_then(WaContact::name))
}

/// The payload of a change we store without applying.
fn other_payload(v: &ChangeValue) -> serde_json::Value {
    match v {
        ChangeValue::Other { value, .. }
        | ChangeValue::TemplateComponents(value)
        | ChangeValue::AccountUpdate(value) => value.clone(),
        ChangeValue::Invalid { error, value, .. } => serde_json::json!({"error": error, "value": value}),
        ChangeValue::UserPreferences(u) => {
            serde_json::json!({"preferences": u.user_preferences.iter().map(|p| serde_json::json!({
            "wa_id": p.wa_id, "category": p.category, "value": p.value, "detail": p.detail, "timestamp": p.timestamp,
        })).collect::<Vec<_>>()})
        }
        ChangeValue::MessageEchoes(e) => {
            serde_json::json!({"echoes": e.message_echoes.iter().map(|m| m.raw.clone()).collect::<Vec<_>>()})
        }
        _ => serde_json::Value::Null,
    }
}

//! Filling a tenant with realistic data, fast, for benchmarks and demos: agents, one WhatsApp
//! number, contacts with conversations and messages — sealed under their own keys and indexed
//! for search exactly like real data, written with multi-row inserts, one transaction per batch
//! of contacts.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use switchboard_core::{ContactId, E164, Role, TenantId, WaId};
use switchboard_privacy::{Aad, BlindKind, Sealed};
use switchboard_storage::channels::{self, ChannelRow};
use switchboard_storage::contacts::{self, ContactRow};
use switchboard_storage::conversations::{self, ConversationRow};
use switchboard_storage::messages::{self, MessageRow};
use switchboard_storage::{Scope, search};
use uuid::Uuid;

use crate::auth::Principal;
use crate::users::NewUser;
use crate::{App, AppError, AppResult};

/// How much to create.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    pub contacts: u64,
    pub messages: u64,
    pub agents: u32,
    /// Contacts per transaction.
    pub batch: u64,
}

/// What was created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedReport {
    pub tenant_id: String,
    pub channel_id: String,
    pub agents: u64,
    pub contacts: u64,
    pub conversations: u64,
    pub messages: u64,
    /// Search documents: one per contact and per message with words.
    pub search_docs: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

const FIRST: [&str; 24] = [
    "Ayşe", "Mehmet", "Fatma", "Mustafa", "Emine", "Ahmet", "Hatice", "Ali", "Zeynep", "Hüseyin", "Elif", "İbrahim",
    "Şule", "Çağrı", "Gülşen", "Oğuz", "Maria", "John", "Anna", "David", "Sofia", "Lucas", "Emma", "Noah",
];
const LAST: [&str; 20] = [
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Özdemir", "Arslan", "Doğan", "Kılıç",
    "Aslan", "Çetin", "Smith", "García", "Müller", "Rossi", "Silva", "Novak",
];
const INBOUND: [&str; 12] = [
    "Merhaba, siparişim nerede?",
    "Randevumu perşembeye alabilir miyiz?",
    "Kargo takip numarası gelmedi",
    "Teşekkürler, çok yardımcı oldunuz",
    "İade süreci nasıl işliyor?",
    "Fiyat listesini gönderebilir misiniz",
    "Hello, is the store open on Sunday?",
    "My order arrived damaged",
    "Can I change my delivery address?",
    "Ödeme yaptım ama onay gelmedi",
    "Faturamı e-posta ile alabilir miyim",
    "Ürün stokta var mı?",
];
const OUTBOUND: [&str; 8] = [
    "Merhaba, hemen kontrol ediyorum",
    "Kargonuz yarın teslim edilecek",
    "Randevunuz onaylandı",
    "Thanks for writing, we are on it",
    "İade kodunuz e-posta ile gönderildi",
    "Your refund has been issued",
    "Başka bir konuda yardımcı olabilir miyim?",
    "Faturanız hazırlandı",
];
const STATUSES: [&str; 10] =
    ["open", "open", "open", "open", "open", "pending", "resolved", "resolved", "resolved", "snoozed"];

/// What every batch of one run shares.
struct Run<'a> {
    channel: Uuid,
    agents: &'a [Uuid],
    now: i64,
    /// Where this run's phone numbers start (numbers are consecutive from there).
    phone_offset: u64,
}

/// A deterministic pseudo-random number for item `i` and purpose `salt` (splitmix64).
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], i: u64, salt: u64) -> &'a str {
    list[usize::try_from(mix(i, salt) % list.len() as u64).unwrap_or(0)]
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

impl App {
    /// Seeds `tenant` per `plan`; `progress` hears (what, done, of) after every batch.
    pub async fn seed(
        &self,
        tenant: TenantId,
        plan: SeedPlan,
        mut progress: impl FnMut(&str, u64, u64),
    ) -> AppResult<SeedReport> {
        let started = Instant::now();
        let system = Principal::system(tenant, "seed");
        let tag = Uuid::now_v7().simple().to_string();
        let mut agents = Vec::new();
        for a in 0..plan.agents {
            let (user, _) = self
                .create_user(
                    &system,
                    NewUser {
                        email: format!("agent{a}-{}@seed.switchboard.test", &tag[20..]),
                        role: Role::Agent,
                        name: Some(format!("{} {}", pick(&FIRST, u64::from(a), 7), pick(&LAST, u64::from(a), 8))),
                        password: None,
                    },
                )
                .await?;
            agents.push(user.id.as_uuid());
        }
        let now = self.now().0;
        let channel = self.seed_channel(tenant, &tag, now).await?;
        let mut report = SeedReport {
            tenant_id: tenant.to_string(),
            channel_id: channel.to_string(),
            agents: agents.len() as u64,
            ..SeedReport::default()
        };
        let run =
            Run { channel, agents: &agents, now, phone_offset: mix(u64::try_from(now).unwrap_or(0), 13) % 90_000_000 };
        let batch = plan.batch.max(1);
        let mut start = 0;
        while start < plan.contacts {
            let end = (start + batch).min(plan.contacts);
            let mut tx = self.db.write().await?;
            let mut s = tx.tenant(tenant);
            self.seed_batch(&mut s, &plan, start..end, &run, &mut report).await?;
            tx.commit().await?;
            start = end;
            progress("contacts", end, plan.contacts);
        }
        report.seconds = started.elapsed().as_secs_f64();
        let rows = report.contacts + report.conversations + report.messages + report.search_docs;
        report.rows_per_second = rows as f64 / report.seconds.max(1e-9);
        Ok(report)
    }

    /// A WhatsApp number that cannot reach Meta (its token is fake): the inbox shows it.
    async fn seed_channel(&self, tenant: TenantId, run: &str, now: i64) -> AppResult<Uuid> {
        let id = Uuid::now_v7();
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let seal = async |s: &mut Scope<'_>, column: &'static str, v: &str| {
            self.keys.seal_tenant(s, &Aad::new(tenant, "channels", column, id), &v.to_owned()).await
        };
        let digits: String =
            run.chars().filter(char::is_ascii_digit).chain("000000000000000".chars()).take(15).collect();
        let row = ChannelRow {
            tenant_id: tenant.as_uuid(),
            id,
            kind: "whatsapp".into(),
            name: "Seeded number".into(),
            phone_number_id: format!("9{}", &digits[1..]),
            waba_id: format!("8{}", &digits[1..]),
            display_phone_number: "15550009999".into(),
            access_token_sealed: seal(&mut s, "access_token", "seeded-token").await?,
            app_secret_sealed: seal(&mut s, "app_secret", "seeded-secret").await?,
            verify_token_sealed: seal(&mut s, "verify_token", "seeded-verify").await?,
            graph_base_url: "http://127.0.0.1:9".into(),
            api_version: "v23.0".into(),
            status: "active".into(),
            throughput_per_sec: 80,
            quality_rating: None,
            messaging_limit: None,
            created_at: now,
            updated_at: now,
            disconnected_at: None,
            purge_after: None,
            purge_counts: None,
            purge_hold_id: None,
            purge_held_at: None,
        };
        channels::insert(&mut s, &row).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn seed_batch(
        &self,
        s: &mut Scope<'_>,
        plan: &SeedPlan,
        range: std::ops::Range<u64>,
        run: &Run<'_>,
        report: &mut SeedReport,
    ) -> AppResult<()> {
        let Run { channel, agents, now, phone_offset } = *run;
        let t = s.tenant_id();
        let blind = self.keys.blind_key(s).await?;
        let (mut people, mut convs, mut msgs, mut docs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let per = plan.messages / plan.contacts.max(1);
        let extra = plan.messages % plan.contacts.max(1);
        for i in range {
            let id = ContactId::new();
            let cid = id.as_uuid();
            let created = now - i64::try_from(mix(i, 1) % (90 * 86_400_000)).unwrap_or(0);
            let key = self.keys.provision_contact(s, id, created).await?;
            let name = format!("{} {}", pick(&FIRST, i, 2), pick(&LAST, i, 3));
            // A distinct Turkish mobile number per contact of this seed run.
            let national = 5_300_000_000 + (phone_offset + i) % 99_999_999;
            let phone = E164::parse(&format!("+90{national}"), None).map_err(|e| internal(e.message))?;
            let wa = WaId::parse(phone.digits()).map_err(|e| internal(e.message))?;
            let aad = |column: &'static str| Aad::new(t, "contacts", column, cid);
            people.push(ContactRow {
                tenant_id: t.as_uuid(),
                id: cid,
                name_sealed: Some(Sealed::seal(&key, &aad("name"), &name)),
                phone_sealed: Some(Sealed::seal(&key, &aad("phone"), &phone)),
                phone_index: Some(blind.index(BlindKind::Phone, phone.as_str())),
                email_sealed: None,
                email_index: None,
                wa_id_sealed: Some(Sealed::seal(&key, &aad("wa_id"), &wa)),
                wa_id_index: Some(blind.index(BlindKind::WaId, wa.as_str())),
                attributes_sealed: None,
                created_at: created,
                updated_at: created,
            });
            docs.push(self.contact_tokens(s, cid, Some(&name), Some(&phone)).await?);
            let count = per + u64::from(i < extra);
            if count == 0 {
                continue;
            }
            let conv = Uuid::now_v7();
            let mut at = created;
            let mut last = (at, None, String::new());
            for k in 0..count {
                at += i64::try_from(mix(i * 1000 + k, 4) % 3_600_000).unwrap_or(0) + 1000;
                let inbound = k % 2 == 0;
                let mid = Uuid::now_v7();
                let text = pick(if inbound { &INBOUND } else { &OUTBOUND }, i * 1000 + k, 5);
                let content = if inbound {
                    json!({"v": 1, "raw": {"from": wa.as_str(), "id": format!("wamid.seed{mid}"), "timestamp": (at / 1000).to_string(),
                        "type": "text", "text": {"body": text}}})
                } else {
                    json!({"v": 1, "type": "text", "text": text, "details": {}, "reply_to": null, "graph": {}})
                };
                msgs.push(MessageRow {
                    tenant_id: t.as_uuid(),
                    id: mid,
                    conversation_id: conv,
                    contact_id: cid,
                    channel_id: channel,
                    direction: if inbound { "inbound" } else { "outbound" }.into(),
                    kind: "text".into(),
                    provider_message_id: Some(format!("wamid.seed{}", mid.simple())),
                    content_sealed: Some(Sealed::seal(&key, &Aad::new(t, "messages", "content", mid), &content)),
                    status: if inbound { "received" } else { "read" }.into(),
                    error_code: None,
                    error_title: None,
                    error_details: None,
                    reply_to_provider_id: None,
                    sender_user_id: (!inbound)
                        .then(|| agents.get(usize::try_from(mix(i, 6)).unwrap_or(0) % agents.len().max(1)).copied())
                        .flatten(),
                    provider_ts: inbound.then_some(at),
                    time_flagged: false,
                    edited: false,
                    deleted: false,
                    sort_at: at,
                    created_at: at,
                    updated_at: at,
                });
                docs.push(self.message_tokens(s, mid, cid, conv, Some(text)).await?);
                if inbound {
                    last.1 = Some(at);
                }
                last.0 = at;
                last.2 = super::whatsapp::content::preview("text", Some(text));
            }
            let status = pick(&STATUSES, i, 9);
            let assignee = match mix(i, 10) % 3 {
                0 => None,
                _ if agents.is_empty() => None,
                n => agents.get(usize::try_from(mix(i, 11) + n).unwrap_or(0) % agents.len()).copied(),
            };
            convs.push(ConversationRow {
                tenant_id: t.as_uuid(),
                id: conv,
                contact_id: cid,
                channel_id: channel,
                status: status.into(),
                assignee_id: assignee,
                snoozed_until: (status == "snoozed").then_some(now + 86_400_000),
                last_message_at: last.0,
                last_inbound_at: last.1,
                unread_count: i32::try_from(mix(i, 12) % 4).unwrap_or(0),
                preview_sealed: Some(Sealed::seal(&key, &Aad::new(t, "conversations", "preview", conv), &last.2)),
                created_at: created,
                updated_at: last.0,
                resolved_at: (status == "resolved").then_some(last.0),
                team_id: None,
            });
        }
        contacts::insert_many(s, &people).await?;
        conversations::insert_many(s, &convs).await?;
        messages::insert_many(s, &msgs).await?;
        search::insert_many(s, &docs).await?;
        report.contacts += people.len() as u64;
        report.conversations += convs.len() as u64;
        report.messages += msgs.len() as u64;
        report.search_docs += docs.iter().filter(|d| !d.tokens.is_empty()).count() as u64;
        Ok(())
    }
}

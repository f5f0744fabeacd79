//! Messages, their reactions, and statuses parked until their message is known.
//!
//! Status changes are applied in one statement that only moves forward:
//! queued < sending < accepted < sent < failed < delivered < read. `failed` therefore
//! overrides anything before delivery, while a failure reported after delivery is recorded in
//! the error columns without moving the state back.

use std::collections::{BTreeMap, HashMap, HashSet};

use switchboard_privacy::Sealed;
use uuid::Uuid;

use crate::db::{Ex, Scope};
use crate::filter::{bulk_chunks, bulk_sql, id_list, join_chunks, values_list};
use crate::locks::{self, Batched};
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub contact_id: Uuid,
    pub channel_id: Uuid,
    pub direction: String,
    pub kind: String,
    pub provider_message_id: Option<String>,
    pub content_sealed: Option<Sealed<serde_json::Value>>,
    pub status: String,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    pub error_details: Option<String>,
    pub reply_to_provider_id: Option<String>,
    pub sender_user_id: Option<Uuid>,
    pub provider_ts: Option<i64>,
    pub time_flagged: bool,
    pub edited: bool,
    pub deleted: bool,
    pub sort_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "tenant_id, id, conversation_id, contact_id, channel_id, direction, kind, \
    provider_message_id, content_sealed, status, error_code, error_title, error_details, \
    reply_to_provider_id, sender_user_id, provider_ts, time_flagged, edited, deleted, sort_at, \
    created_at, updated_at";

/// The state order as SQL, for monotonic updates. Unknown sends (-1) accept any report.
const RANK: &str = "CASE status WHEN 'queued' THEN 0 WHEN 'sending' THEN 5 WHEN 'accepted' THEN 10 \
    WHEN 'sent' THEN 20 WHEN 'failed' THEN 25 WHEN 'delivered' THEN 30 WHEN 'read' THEN 40 \
    WHEN 'received' THEN 100 ELSE -1 END";

/// The rank of a status name, as in [`RANK`].
#[must_use]
pub fn rank(status: &str) -> i64 {
    match status {
        "queued" => 0,
        "sending" => 5,
        "accepted" => 10,
        "sent" => 20,
        "failed" => 25,
        "delivered" => 30,
        "read" => 40,
        "received" => 100,
        _ => -1,
    }
}

/// Inserts a message. False when one with the same provider id exists already (a duplicate or
/// replayed delivery): the caller then skips every side effect.
pub async fn insert(s: &mut Scope<'_>, m: &MessageRow) -> Result<bool> {
    Ok(!insert_many(s, std::slice::from_ref(m)).await?.is_empty())
}

/// Inserts messages with one statement per [`bulk_chunks`] chunk; returns the ids of
/// those inserted (the others had a provider id that exists already). The rows' own
/// `tenant_id` is ignored: the scope's tenant is written.
pub async fn insert_many(s: &mut Scope<'_>, rows: &[MessageRow]) -> Result<Vec<Uuid>> {
    const COLS: usize = 21;
    let tid = s.tid();
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in bulk_chunks(s.backend(), rows) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "INSERT INTO messages (tenant_id, id, conversation_id, contact_id, channel_id, direction, kind,
                 provider_message_id, content_sealed, status, error_code, error_title, error_details,
                 reply_to_provider_id, sender_user_id, provider_ts, time_flagged, edited, deleted, sort_at,
                 created_at, updated_at)
             SELECT $1, v.* FROM (VALUES {}) AS v WHERE TRUE
             ON CONFLICT (tenant_id, channel_id, provider_message_id) DO NOTHING
             RETURNING id",
                values_list(chunk.len(), COLS, 2)
            ),
        );
        let ids: Vec<Uuid> = on!(s.ex(), c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tid);
            for m in chunk {
                q = q.bind(m.id).bind(m.conversation_id).bind(m.contact_id).bind(m.channel_id)
                    .bind(&m.direction).bind(&m.kind).bind(&m.provider_message_id).bind(&m.content_sealed)
                    .bind(&m.status).bind(m.error_code).bind(&m.error_title).bind(&m.error_details)
                    .bind(&m.reply_to_provider_id).bind(m.sender_user_id).bind(m.provider_ts).bind(m.time_flagged)
                    .bind(m.edited).bind(m.deleted).bind(m.sort_at).bind(m.created_at).bind(m.updated_at);
            }
            q.fetch_all(&mut *c).await
        })?;
        inserted.extend(ids);
    }
    Ok(inserted)
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<MessageRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

/// (id, conversation, contact) of the message with this provider id on this number.
pub async fn find_by_provider_id(s: &mut Scope<'_>, channel: Uuid, wamid: &str) -> Result<Option<(Uuid, Uuid, Uuid)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "SELECT id, conversation_id, contact_id FROM messages
         WHERE tenant_id = $1 AND channel_id = $2 AND provider_message_id = $3",
    )
    .bind(tid).bind(channel).bind(wamid).fetch_optional(&mut *c).await)?)
}

/// A page of a conversation, newest first, before (sort_at, id).
pub async fn page(
    s: &mut Scope<'_>,
    conversation: Uuid,
    before: Option<(i64, Uuid)>,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    let tid = s.tid();
    let (at, id) = before.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    Ok(on!(s.ex(), c => sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND conversation_id = $2
           AND ($3 IS NULL OR sort_at < $3 OR (sort_at = $3 AND id < $4))
         ORDER BY sort_at DESC, id DESC LIMIT $5"
    )))
    .bind(tid).bind(conversation).bind(at).bind(id).bind(limit)
    .fetch_all(&mut *c).await)?)
}

/// A status report for one of our messages.
#[derive(Debug, Clone)]
pub struct StatusReport<'a> {
    pub status: &'a str,
    pub error_code: Option<i64>,
    pub error_title: Option<&'a str>,
    pub error_details: Option<&'a str>,
    pub at: i64,
}

/// Where a status lands.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Meta's id for the message on this number.
    Provider { channel: Uuid, wamid: &'a str },
    /// Our own id, echoed back in `biz_opaque_callback_data`: reconciles a send whose answer we
    /// never got, and records its wamid.
    Ours { id: Uuid, channel: Uuid, wamid: &'a str },
}

/// Outcome of [`apply_statuses`] for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The message changed: (id, conversation, new status).
    Changed { id: Uuid, conversation: Uuid, status: String },
    /// The message exists and already knew this (duplicate or older report).
    Unchanged,
    /// No such message (yet).
    Unknown,
}

/// Locks, in id order, the messages a batch's statuses name: by our id, or by (number,
/// WhatsApp id) where a status carries no id of ours (see [`crate::locks`]). The WhatsApp ids are
/// looked up only where there are row locks to take.
pub async fn lock_for_statuses(s: &mut Scope<'_>, mut ids: Vec<Uuid>, wamids: &[(Uuid, &str)]) -> Result<()> {
    let tid = s.tid();
    if let Ex::Pg(c) = s.ex()
        && !wamids.is_empty()
    {
        let (channels, wamids): (Vec<Uuid>, Vec<&str>) = wamids.iter().copied().unzip();
        let found: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE tenant_id = $1
               AND (channel_id, provider_message_id) IN (SELECT * FROM UNNEST($2::uuid[], $3::text[]))",
        )
        .bind(tid)
        .bind(channels)
        .bind(wamids)
        .fetch_all(&mut *c)
        .await?;
        ids.extend(found);
    }
    locks::in_id_order(s, Batched::Messages, &ids).await
}

/// A status report and the message it is about.
pub struct StatusUpdate<'a> {
    pub target: Target<'a>,
    pub report: StatusReport<'a>,
}

/// The message a group of updates is about.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key<'a> {
    Ours(Uuid),
    Provider(Uuid, &'a str),
}

/// The updates of one message, merged into what applying them one after the other would
/// leave: the furthest status, the last error given for each field, the latest time.
struct Merged<'a> {
    channel: Uuid,
    wamid: &'a str,
    status: &'a str,
    error_code: Option<i64>,
    error_title: Option<&'a str>,
    error_details: Option<&'a str>,
    at: i64,
    /// Indexes of the updates merged here, in order.
    members: Vec<usize>,
}

impl<'a> Merged<'a> {
    fn new(channel: Uuid, wamid: &'a str, r: &StatusReport<'a>) -> Self {
        Merged {
            channel,
            wamid,
            status: r.status,
            error_code: r.error_code,
            error_title: r.error_title,
            error_details: r.error_details,
            at: r.at,
            members: Vec::new(),
        }
    }

    fn add(&mut self, i: usize, r: &StatusReport<'a>) {
        if rank(r.status) > rank(self.status) {
            self.status = r.status;
        }
        self.error_code = r.error_code.or(self.error_code);
        self.error_title = r.error_title.or(self.error_title);
        self.error_details = r.error_details.or(self.error_details);
        self.at = self.at.max(r.at);
        self.members.push(i);
    }
}

pub(crate) fn apply_statuses_sql(backend: crate::Backend, rows: usize, by_ours: bool) -> String {
    // Two static joins rather than one with a switch, so each uses its index. On PostgreSQL the
    // ids come again as an array: with statistics taken before the outbound rows existed (a
    // young table, or a queue that just filled) the planner guessed one outbound row and
    // scanned the tenant's messages once per status, 2 s per batch; with `id = ANY` it looks
    // multi-row batches up by primary key. (With those statistics a one-row statement was still
    // seen going through `messages_provider_id` and filtering a number's messages, ~2 ms; an
    // `ANY(ARRAY(SELECT id FROM v))` instead of the bound array did that for every batch.)
    let by = match (by_ours, backend) {
        (true, crate::Backend::Postgres) => {
            format!("messages.id = v.id AND messages.channel_id = v.channel AND messages.id = ANY(${})", rows * 9 + 2)
        }
        (true, crate::Backend::Sqlite) => "messages.id = v.id AND messages.channel_id = v.channel".to_owned(),
        (false, _) => "messages.channel_id = v.channel AND messages.provider_message_id = v.wamid".to_owned(),
    };
    bulk_sql(
        backend,
        format!(
            "WITH v (id, channel, wamid, new_rank, new_status, code, title, details, at) AS (VALUES {})
             UPDATE messages SET
                 status = CASE WHEN {RANK} < v.new_rank THEN v.new_status ELSE status END,
                 error_code = COALESCE(v.code, error_code),
                 error_title = COALESCE(v.title, error_title),
                 error_details = COALESCE(v.details, error_details),
                 provider_message_id = COALESCE(provider_message_id, v.wamid),
                 updated_at = v.at
             FROM v WHERE messages.tenant_id = ${} AND {by} AND direction = 'outbound'
               AND ({RANK} < v.new_rank OR (v.code IS NOT NULL AND (error_code IS NULL OR error_code <> v.code))
                    OR provider_message_id IS NULL)
             RETURNING messages.id, conversation_id, status, channel_id, provider_message_id",
            values_list(rows, 9, 1),
            rows * 9 + 1
        ),
    )
}

/// Applies status reports monotonically (safe under concurrent deliveries), in order: the
/// result is what applying them one by one would give, with one statement per
/// [`join_chunks`] chunk instead of one or two per report. Returns one [`Applied`] per update;
/// where several updates changed one message, the first says `Changed` and the rest
/// `Unchanged`.
pub async fn apply_statuses(s: &mut Scope<'_>, updates: &[StatusUpdate<'_>]) -> Result<Vec<Applied>> {
    let mut groups: BTreeMap<Key<'_>, Merged<'_>> = BTreeMap::new();
    for (i, u) in updates.iter().enumerate() {
        let (key, channel, wamid) = match u.target {
            Target::Ours { id, channel, wamid } => (Key::Ours(id), channel, wamid),
            Target::Provider { channel, wamid } => (Key::Provider(channel, wamid), channel, wamid),
        };
        groups.entry(key).or_insert_with(|| Merged::new(channel, wamid, &u.report)).add(i, &u.report);
    }
    // Our ids first: a send reconciled by its id records its wamid, which a report without our
    // id in the same batch then finds.
    let (ours, theirs): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(k, _)| matches!(k, Key::Ours(_)));
    let mut out = vec![Applied::Unchanged; updates.len()];
    for (by_ours, groups) in [(true, ours), (false, theirs)] {
        let changed = apply_merged(s, &groups, by_ours).await?;
        let unchanged: Vec<Key<'_>> = groups.iter().map(|(k, _)| *k).filter(|k| !changed.contains_key(k)).collect();
        let known = existing(s, &unchanged).await?;
        for (key, merged) in &groups {
            let first = merged.members[0];
            if let Some((id, conversation, status)) = changed.get(key) {
                out[first] = Applied::Changed { id: *id, conversation: *conversation, status: status.clone() };
            } else if !known.contains(key) {
                for &i in &merged.members {
                    out[i] = Applied::Unknown;
                }
            }
        }
    }
    Ok(out)
}

/// (id, conversation, new status) of each message a statement changed.
type ChangedRows<'a> = HashMap<Key<'a>, (Uuid, Uuid, String)>;

async fn apply_merged<'a>(
    s: &mut Scope<'_>,
    groups: &[(Key<'a>, Merged<'a>)],
    by_ours: bool,
) -> Result<ChangedRows<'a>> {
    let tid = s.tid();
    let mut changed = ChangedRows::new();
    for chunk in join_chunks(s.backend(), groups) {
        let sql = apply_statuses_sql(s.backend(), chunk.len(), by_ours);
        macro_rules! bound {
            ($q:expr) => {{
                let mut q = $q;
                for (key, m) in chunk {
                    let id = match key {
                        Key::Ours(id) => Some(*id),
                        Key::Provider(..) => None,
                    };
                    q = q
                        .bind(id)
                        .bind(m.channel)
                        .bind(m.wamid)
                        .bind(rank(m.status))
                        .bind(m.status)
                        .bind(m.error_code)
                        .bind(m.error_title)
                        .bind(m.error_details)
                        .bind(m.at);
                }
                q.bind(tid)
            }};
        }
        let rows: Vec<(Uuid, Uuid, String, Uuid, Option<String>)> = match s.ex() {
            Ex::Sqlite(c) => bound!(sqlx::query_as(sqlx::AssertSqlSafe(sql))).fetch_all(&mut *c).await?,
            Ex::Pg(c) if by_ours => {
                let ids: Vec<Uuid> =
                    chunk.iter().filter_map(|(k, _)| if let Key::Ours(id) = k { Some(*id) } else { None }).collect();
                bound!(sqlx::query_as(sqlx::AssertSqlSafe(sql))).bind(ids).fetch_all(&mut *c).await?
            }
            Ex::Pg(c) => bound!(sqlx::query_as(sqlx::AssertSqlSafe(sql))).fetch_all(&mut *c).await?,
        };
        // The keys borrow the caller's wamids: find them again from the returned ones.
        let theirs: HashMap<(Uuid, &str), Key<'a>> = chunk.iter().map(|(k, m)| ((m.channel, m.wamid), *k)).collect();
        for (id, conversation, status, channel, wamid) in rows {
            let key = if by_ours {
                Some(Key::Ours(id))
            } else {
                theirs.get(&(channel, wamid.as_deref().unwrap_or_default())).copied()
            };
            if let Some(key) = key {
                changed.insert(key, (id, conversation, status));
            }
        }
    }
    Ok(changed)
}

/// Which of these outbound messages exist: asked for the reports that changed nothing (a
/// duplicate, an older report, a message not sent yet). A replayed payload is all of those, so
/// they are looked up together: one statement per chunk of our ids and per number's wamids.
async fn existing<'a>(s: &mut Scope<'_>, keys: &[Key<'a>]) -> Result<HashSet<Key<'a>>> {
    let tid = s.tid();
    let mut ours = Vec::new();
    let mut theirs: BTreeMap<Uuid, Vec<&'a str>> = BTreeMap::new();
    for key in keys {
        match *key {
            Key::Ours(id) => ours.push(id),
            Key::Provider(channel, wamid) => theirs.entry(channel).or_default().push(wamid),
        }
    }
    let mut found = HashSet::new();
    for chunk in bulk_chunks(s.backend(), &ours) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "SELECT id FROM messages WHERE tenant_id = $1 AND direction = 'outbound' AND id IN ({})",
                id_list(chunk.len(), 2)
            ),
        );
        let ids: Vec<Uuid> = on!(s.ex(), c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tid);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        found.extend(ids.into_iter().map(Key::Ours));
    }
    for (channel, wamids) in theirs {
        let known = wamids_in(s, "messages", "AND direction = 'outbound'", channel, &wamids).await?;
        found.extend(wamids.into_iter().filter(|w| known.contains(*w)).map(|w| Key::Provider(channel, w)));
    }
    Ok(found)
}

/// Which of these wamids of one number have rows in `table` (`messages` or `parked_statuses`),
/// with one statement per chunk.
async fn wamids_in(
    s: &mut Scope<'_>,
    table: &'static str,
    and: &'static str,
    channel: Uuid,
    wamids: &[&str],
) -> Result<HashSet<String>> {
    let tid = s.tid();
    let mut found = HashSet::new();
    for chunk in bulk_chunks(s.backend(), wamids) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "SELECT DISTINCT provider_message_id FROM {table}
                 WHERE tenant_id = $1 AND channel_id = $2 {and} AND provider_message_id IN ({})",
                id_list(chunk.len(), 3)
            ),
        );
        let rows: Vec<String> = on!(s.ex(), c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tid).bind(channel);
            for wamid in chunk {
                q = q.bind(*wamid);
            }
            q.fetch_all(&mut *c).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Keeps a status for a wamid not known yet. Duplicates collapse.
pub async fn park_status(s: &mut Scope<'_>, channel: Uuid, wamid: &str, r: &StatusReport<'_>, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO parked_statuses (tenant_id, channel_id, provider_message_id, status, error_code,
             error_title, error_details, provider_ts, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(tid).bind(channel).bind(wamid).bind(r.status).bind(r.error_code.unwrap_or(0))
    .bind(r.error_title).bind(r.error_details).bind(r.at).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Applies the statuses parked for these sends of the scope's tenant, (number, wamid) pairs
/// Meta just accepted. Few sends have any: one statement per number and chunk finds those, and
/// their statuses are applied together.
pub async fn apply_parked(s: &mut Scope<'_>, sends: &[(Uuid, &str)]) -> Result<()> {
    let mut by_channel: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    for (channel, wamid) in sends {
        by_channel.entry(*channel).or_default().push(wamid);
    }
    for (channel, wamids) in by_channel {
        let mut parked = Vec::new();
        for wamid in wamids_in(s, "parked_statuses", "", channel, &wamids).await? {
            let reports = take_parked(s, channel, &wamid).await?;
            parked.push((wamid, reports));
        }
        let updates: Vec<StatusUpdate<'_>> = parked
            .iter()
            .flat_map(|(wamid, reports)| {
                reports.iter().map(move |p| StatusUpdate {
                    target: Target::Provider { channel, wamid },
                    report: StatusReport {
                        status: &p.status,
                        error_code: (p.error_code != 0).then_some(p.error_code),
                        error_title: p.error_title.as_deref(),
                        error_details: p.error_details.as_deref(),
                        at: p.provider_ts,
                    },
                })
            })
            .collect();
        apply_statuses(s, &updates).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParkedStatus {
    pub status: String,
    pub error_code: i64,
    pub error_title: Option<String>,
    pub error_details: Option<String>,
    pub provider_ts: i64,
}

/// Removes and returns the statuses parked for a wamid, oldest first.
async fn take_parked(s: &mut Scope<'_>, channel: Uuid, wamid: &str) -> Result<Vec<ParkedStatus>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => {
        let rows = sqlx::query_as::<_, ParkedStatus>(
            "SELECT status, error_code, error_title, error_details, provider_ts FROM parked_statuses
             WHERE tenant_id = $1 AND channel_id = $2 AND provider_message_id = $3 ORDER BY provider_ts",
        )
        .bind(tid).bind(channel).bind(wamid).fetch_all(&mut *c).await?;
        if !rows.is_empty() {
            sqlx::query("DELETE FROM parked_statuses WHERE tenant_id = $1 AND channel_id = $2 AND provider_message_id = $3")
                .bind(tid).bind(channel).bind(wamid).execute(&mut *c).await?;
        }
        Ok::<_, sqlx::Error>(rows)
    })?)
}

/// Moves outbound messages from `from` to `to` (queued → sending, sending → unknown, …). Returns
/// the ids that moved.
pub async fn transition(s: &mut Scope<'_>, id: Uuid, from: &str, to: &str, now: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE messages SET status = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = $3",
    )
    .bind(tid).bind(id).bind(from).bind(to).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// [`transition`] for many messages of the scope's tenant at once; returns the ids that moved.
pub async fn transition_many(s: &mut Scope<'_>, ids: &[Uuid], from: &str, to: &str, now: i64) -> Result<Vec<Uuid>> {
    let tid = s.tid();
    locks::in_id_order(s, Batched::Messages, ids).await?;
    let mut moved = Vec::with_capacity(ids.len());
    for chunk in bulk_chunks(s.backend(), ids) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "UPDATE messages SET status = $2, updated_at = $3
                 WHERE tenant_id = $1 AND status = $4 AND id IN ({}) RETURNING id",
                id_list(chunk.len(), 5)
            ),
        );
        let ids: Vec<Uuid> = on!(s.ex(), c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tid).bind(to).bind(now).bind(from);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        moved.extend(ids);
    }
    Ok(moved)
}

pub(crate) fn accepted_many_sql(backend: crate::Backend, rows: usize) -> String {
    bulk_sql(
        backend,
        format!(
            "WITH v (id, wamid) AS (VALUES {})
             UPDATE messages SET provider_message_id = COALESCE(messages.provider_message_id, v.wamid),
                 status = CASE WHEN {RANK} < 10 THEN 'accepted' ELSE status END, updated_at = ${}
             FROM v WHERE messages.tenant_id = ${} AND messages.id = v.id",
            values_list(rows, 2, 1),
            rows * 2 + 1,
            rows * 2 + 2
        ),
    )
}

/// Meta accepted these sends of the scope's tenant, (message, wamid) pairs: record each wamid
/// (and move to accepted unless a status webhook already moved the message further).
pub async fn accepted_many(s: &mut Scope<'_>, sends: &[(Uuid, &str)], now: i64) -> Result<()> {
    let tid = s.tid();
    locks::in_id_order(s, Batched::Messages, &sends.iter().map(|(id, _)| *id).collect::<Vec<_>>()).await?;
    for chunk in join_chunks(s.backend(), sends) {
        let sql = accepted_many_sql(s.backend(), chunk.len());
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, wamid) in chunk {
                q = q.bind(*id).bind(*wamid);
            }
            q.bind(now).bind(tid).execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A send failed for good before reaching the customer.
pub async fn failed(
    s: &mut Scope<'_>,
    id: Uuid,
    code: Option<i64>,
    title: &str,
    details: Option<&str>,
    now: i64,
) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE messages SET status = CASE WHEN {RANK} < 25 THEN 'failed' ELSE status END,
             error_code = $3, error_title = $4, error_details = $5, updated_at = $6
         WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).bind(code).bind(title).bind(details).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sends whose outcome is unknown for longer than `before`: to be retried.
pub async fn unknown_before(s: &mut Scope<'_>, before: i64, limit: i64) -> Result<Vec<Uuid>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT id FROM messages WHERE tenant_id = $1 AND status = 'unknown' AND updated_at < $2 LIMIT $3",
    )
    .bind(tid).bind(before).bind(limit).fetch_all(&mut *c).await)?)
}

/// A customer edited a message: the latest content replaces the old one.
pub async fn edit(
    s: &mut Scope<'_>,
    channel: Uuid,
    wamid: &str,
    content: &Sealed<serde_json::Value>,
    now: i64,
) -> Result<Option<(Uuid, Uuid)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "UPDATE messages SET content_sealed = $4, edited = TRUE, updated_at = $5
         WHERE tenant_id = $1 AND channel_id = $2 AND provider_message_id = $3 AND NOT deleted
         RETURNING id, conversation_id",
    )
    .bind(tid).bind(channel).bind(wamid).bind(content).bind(now)
    .fetch_optional(&mut *c).await)?)
}

/// A customer deleted a message for everyone: its content goes too.
pub async fn revoke(s: &mut Scope<'_>, channel: Uuid, wamid: &str, now: i64) -> Result<Option<(Uuid, Uuid)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "UPDATE messages SET content_sealed = NULL, deleted = TRUE, updated_at = $4
         WHERE tenant_id = $1 AND channel_id = $2 AND provider_message_id = $3
         RETURNING id, conversation_id",
    )
    .bind(tid).bind(channel).bind(wamid).bind(now)
    .fetch_optional(&mut *c).await)?)
}

/// Sets (or with `None`, removes) a reaction; a report older than the stored one is ignored,
/// so an "add" delivered after a later "remove" does not resurrect the reaction.
pub async fn react(s: &mut Scope<'_>, message: Uuid, reactor: &str, emoji: Option<&str>, at: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "INSERT INTO message_reactions (tenant_id, message_id, reactor, emoji, reacted_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, message_id, reactor) DO UPDATE SET emoji = excluded.emoji, reacted_at = excluded.reacted_at
         WHERE excluded.reacted_at >= message_reactions.reacted_at",
    )
    .bind(tid).bind(message).bind(reactor).bind(emoji).bind(at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Reactions on a set of messages: (message, reactor, emoji).
pub async fn reactions(s: &mut Scope<'_>, messages: &[Uuid]) -> Result<Vec<(Uuid, String, String)>> {
    let tid = s.tid();
    let mut out = Vec::new();
    for &m in messages {
        let rows: Vec<(Uuid, String, String)> = on!(s.ex(), c => sqlx::query_as(
            "SELECT message_id, reactor, emoji FROM message_reactions
             WHERE tenant_id = $1 AND message_id = $2 AND emoji IS NOT NULL",
        )
        .bind(tid).bind(m).fetch_all(&mut *c).await)?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn count_in_conversation(s: &mut Scope<'_>, conversation: Uuid) -> Result<i64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages WHERE tenant_id = $1 AND conversation_id = $2",
    )
    .bind(tid).bind(conversation).fetch_one(&mut *c).await)?)
}

/// Fails with `NotFound` unless the message belongs to the conversation (a reply or reaction
/// must target a message of the same thread).
pub async fn in_conversation(s: &mut Scope<'_>, conversation: Uuid, id: Uuid) -> Result<MessageRow> {
    let m = get(s, id).await?;
    if m.conversation_id == conversation { Ok(m) } else { Err(StoreError::NotFound) }
}

//! Retention: per-tenant policies per data category (defaults from
//! `DataCategory::default_rule`), a dry run, and the purge the `privacy.retention` schedule
//! runs.
//!
//! A run measures every batch against one instant (`as_of`, stored with the run) and deletes at
//! most 1,000 rows per transaction (fewer when they are slow to delete: `privacy::batch`),
//! counting them in the same transaction. A run that was interrupted (a crash, a `kill -9`, a
//! budget of batches used up) is resumed by the next call with its stored `as_of`, so it ends
//! in exactly the state an uninterrupted run would have.
//! Tenant-wide legal holds stop a category; contact and conversation holds are excluded row by
//! row in each category's SQL (`switchboard_storage::privacy::holds::not_held_sql`). A
//! finished run writes its summary (rows per category, held categories) to the audit log.
//!
//! **Extension point:** [`CATEGORIES`]. Call logs and recordings will be one
//! [`RetentionCategory`] each, added to the list; their defaults and the tenants' policies
//! already exist, and the dry run reports them as not enforced until they are registered.

use std::collections::BTreeMap;
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use switchboard_core::privacy::{Cutoffs, DataCategory, RetentionRule};
use switchboard_core::{Millis, Permission, TenantId};
use switchboard_storage::history::{self, DueBefore, Pick};
use switchboard_storage::privacy::retention::{self as repo, PolicyRow, RunRow};
use switchboard_storage::privacy::{holds, requests};
use switchboard_storage::tenants;
use switchboard_storage::{Scope, audit};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::privacy::batch::{BatchSize, RowBudget};
use crate::{App, AppResult};

/// What is due in a run.
#[derive(Debug, Clone, Copy)]
pub struct Due {
    pub as_of: Millis,
    pub rule: RetentionRule,
    pub cutoffs: Cutoffs,
}

impl Due {
    /// For message-owned rows: the two cut-offs apart (resolution of the conversation, and
    /// creation), since each row is due by whichever passes first.
    fn of_messages(&self, category: DataCategory) -> DueBefore<'static> {
        DueBefore {
            resolved_before: self.cutoffs.anchor_before,
            created_before: self.cutoffs.created_before,
            category: category.as_str(),
        }
    }

    /// For categories whose rows have one timestamp: rows before this are due (the later of
    /// the two cut-offs, since whichever rule comes first decides).
    #[must_use]
    pub fn before(&self) -> Option<i64> {
        match (self.cutoffs.anchor_before, self.cutoffs.created_before) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

#[async_trait]
pub trait RetentionCategory: Send + Sync {
    fn category(&self) -> DataCategory;
    /// Rows a purge would remove now (the dry run).
    async fn count_due(&self, s: &mut Scope<'_>, due: &Due) -> AppResult<u64>;
    /// Removes (or masks) at most `limit` due rows in the caller's transaction, skipping rows
    /// under a contact or conversation hold for this category; returns how many.
    async fn purge_batch(&self, app: &App, s: &mut Scope<'_>, due: &Due, limit: i64) -> AppResult<u64>;
}

/// The categories the retention job enforces, in the order it runs them (media before the
/// messages that own it, so a shorter media period is honoured on its own).
pub static CATEGORIES: &[&dyn RetentionCategory] =
    &[&Media, &Messages, &SecurityLogs, &PrivacyRequests, &VerificationCodes];

/// Media files and their rows; the message stays and shows the media as gone.
pub struct Media;

#[async_trait]
impl RetentionCategory for Media {
    fn category(&self) -> DataCategory {
        DataCategory::Media
    }
    async fn count_due(&self, s: &mut Scope<'_>, due: &Due) -> AppResult<u64> {
        Ok(history::count_due(s, due.of_messages(self.category()), true).await?)
    }
    async fn purge_batch(&self, app: &App, s: &mut Scope<'_>, due: &Due, limit: i64) -> AppResult<u64> {
        let rows = history::pick_media(s, due.of_messages(self.category()), limit).await?;
        let keys: Vec<String> = rows.iter().filter_map(|(_, k)| k.clone()).collect();
        app.delete_blobs(&keys).await?;
        let ids: Vec<Uuid> = rows.into_iter().map(|(id, _)| id).collect();
        Ok(history::remove_media(s, &ids).await?)
    }
}

/// Messages (with reactions and any media left), counted from their conversation's resolution
/// and capped from their creation; then the conversations left empty.
pub struct Messages;

#[async_trait]
impl RetentionCategory for Messages {
    fn category(&self) -> DataCategory {
        DataCategory::Messages
    }
    async fn count_due(&self, s: &mut Scope<'_>, due: &Due) -> AppResult<u64> {
        Ok(history::count_due(s, due.of_messages(self.category()), false).await?)
    }
    async fn purge_batch(&self, app: &App, s: &mut Scope<'_>, due: &Due, limit: i64) -> AppResult<u64> {
        let due = due.of_messages(self.category());
        let ids = history::pick_messages(s, Pick::Due(due), limit).await?;
        let removed = history::remove_messages(s, &ids).await?;
        app.delete_blobs(&removed.blob_keys).await?;
        if i64::try_from(ids.len()).unwrap_or(i64::MAX) < limit {
            history::tidy_conversations(s, due).await?;
        }
        Ok(removed.rows)
    }
}

/// Audit entries are kept (they hold ids only, and the chain must verify); after the period
/// the actor's IP address is masked.
pub struct SecurityLogs;

#[async_trait]
impl RetentionCategory for SecurityLogs {
    fn category(&self) -> DataCategory {
        DataCategory::SecurityLogs
    }
    async fn count_due(&self, s: &mut Scope<'_>, due: &Due) -> AppResult<u64> {
        Ok(match due.before() {
            Some(b) => audit::count_unmasked_before(s, b).await?,
            None => 0,
        })
    }
    async fn purge_batch(&self, _app: &App, s: &mut Scope<'_>, due: &Due, limit: i64) -> AppResult<u64> {
        Ok(match due.before() {
            Some(b) => audit::mask_ips_batch(s, b, limit).await?,
            None => 0,
        })
    }
}

/// Completed data-subject requests, counted from their completion.
pub struct PrivacyRequests;

#[async_trait]
impl RetentionCategory for PrivacyRequests {
    fn category(&self) -> DataCategory {
        DataCategory::PrivacyRequests
    }
    async fn count_due(&self, s: &mut Scope<'_>, due: &Due) -> AppResult<u64> {
        Ok(match due.before() {
            Some(b) => requests::count_completed(s, b, self.category().as_str()).await?,
            None => 0,
        })
    }
    async fn purge_batch(&self, _app: &App, s: &mut Scope<'_>, due: &Due, limit: i64) -> AppResult<u64> {
        Ok(match due.before() {
            Some(b) => requests::purge_completed(s, b, self.category().as_str(), limit).await?,
            None => 0,
        })
    }
}

/// Verification codes, counted from their expiry.
pub struct VerificationCodes;

#[async_trait]
impl RetentionCategory for VerificationCodes {
    fn category(&self) -> DataCategory {
        DataCategory::VerificationCodes
    }
    async fn count_due(&self, s: &mut Scope<'_>, due: &Due) -> AppResult<u64> {
        Ok(match due.before() {
            Some(b) => requests::count_codes(s, b).await?,
            None => 0,
        })
    }
    async fn purge_batch(&self, _app: &App, s: &mut Scope<'_>, due: &Due, limit: i64) -> AppResult<u64> {
        Ok(match due.before() {
            Some(b) => requests::purge_codes(s, b, limit).await?,
            None => 0,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionPolicyView {
    pub category: String,
    /// Days after the row's anchor (for messages: the conversation's resolution); null: no
    /// relative limit.
    pub after_days: Option<u32>,
    /// Days after creation, whatever happens; null: no cap. The earlier deadline wins.
    pub cap_days: Option<u32>,
    pub default_after_days: Option<u32>,
    pub default_cap_days: Option<u32>,
    /// The tenant changed the default.
    pub customised: bool,
    /// The retention job purges this category (false: its tables are not wired yet).
    pub enforced: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicyInput {
    #[schema(value_type = String)]
    pub category: DataCategory,
    pub after_days: Option<u32>,
    pub cap_days: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPoliciesInput {
    /// The categories to set; others keep their current policy. Both values null: keep
    /// forever.
    pub policies: Vec<RetentionPolicyInput>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DryRunCategory {
    pub category: String,
    pub after_days: Option<u32>,
    pub cap_days: Option<u32>,
    pub enforced: bool,
    /// Rows a run now would purge (or mask); null when not enforced.
    pub would_purge: Option<u64>,
    /// The reason of a tenant-wide legal hold that stops this category.
    pub held_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DryRunView {
    pub as_of: String,
    pub categories: Vec<DryRunCategory>,
}

/// What one call of [`App::run_retention`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    pub run_id: Uuid,
    pub as_of: Millis,
    /// False when the batch budget ran out first: the next call resumes the run.
    pub finished: bool,
    /// Rows per category over the whole run so far.
    pub purged: BTreeMap<String, u64>,
    /// Batches over the whole run so far.
    pub batches: i64,
    /// Categories a tenant-wide legal hold kept.
    pub held: Vec<String>,
}

fn registered(c: DataCategory) -> Option<&'static dyn RetentionCategory> {
    CATEGORIES.iter().copied().find(|r| r.category() == c)
}

fn days(v: Option<i32>) -> Option<u32> {
    v.and_then(|d| u32::try_from(d).ok())
}

/// The tenant's rule per category: its override, else the default.
async fn rules(s: &mut Scope<'_>) -> AppResult<BTreeMap<DataCategory, (RetentionRule, bool)>> {
    let overrides = repo::policies(s).await?;
    Ok(DataCategory::ALL
        .iter()
        .map(|c| {
            let custom = overrides.iter().find(|o| o.category == c.as_str());
            let rule = custom.map_or_else(
                || c.default_rule(),
                |o| RetentionRule { after_days: days(o.after_days), cap_days: days(o.cap_days) },
            );
            (*c, (rule, custom.is_some()))
        })
        .collect())
}

/// Categories stopped by a tenant-wide hold, with the hold's reason.
async fn tenant_held(s: &mut Scope<'_>) -> AppResult<Vec<(Option<String>, String)>> {
    Ok(holds::active_covering(s, None).await?.into_iter().map(|h| (h.category, h.reason)).collect())
}

fn held_by(held: &[(Option<String>, String)], c: DataCategory) -> Option<String> {
    held.iter().find(|(cat, _)| cat.as_deref().is_none_or(|x| x == c.as_str())).map(|(_, reason)| reason.clone())
}

impl App {
    pub async fn retention_policies(&self, p: &Principal) -> AppResult<Vec<RetentionPolicyView>> {
        p.require(Permission::PrivacyManage)?;
        let rules = rules(&mut self.db.read().await?.tenant(p.tenant)).await?;
        Ok(rules
            .into_iter()
            .map(|(c, (rule, customised))| {
                let d = c.default_rule();
                RetentionPolicyView {
                    category: c.as_str().to_owned(),
                    after_days: rule.after_days,
                    cap_days: rule.cap_days,
                    default_after_days: d.after_days,
                    default_cap_days: d.cap_days,
                    customised,
                    enforced: registered(c).is_some(),
                }
            })
            .collect())
    }

    pub async fn put_retention_policies(
        &self,
        p: &Principal,
        input: RetentionPoliciesInput,
    ) -> AppResult<Vec<RetentionPolicyView>> {
        p.require(Permission::PrivacyManage)?;
        let now = self.now().0;
        let mut rows = Vec::with_capacity(input.policies.len());
        for (i, pol) in input.policies.iter().enumerate() {
            RetentionRule { after_days: pol.after_days, cap_days: pol.cap_days }
                .validate()
                .map_err(|e| e.under(&format!("policies[{i}]")))?;
            rows.push(PolicyRow {
                category: pol.category.as_str().to_owned(),
                after_days: pol.after_days.and_then(|d| i32::try_from(d).ok()),
                cap_days: pol.cap_days.and_then(|d| i32::try_from(d).ok()),
                updated_at: now,
            });
        }
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        for row in &rows {
            repo::put_policy(&mut s, row).await?;
        }
        Audit::of(p)
            .record(
                self,
                &mut s,
                "retention.policies_updated",
                Some(("tenant", p.tenant.to_string())),
                serde_json::json!({"policies": rows.iter().map(|r| serde_json::json!({
                    "category": r.category, "after_days": r.after_days, "cap_days": r.cap_days,
                })).collect::<Vec<_>>()}),
            )
            .await?;
        tx.commit().await?;
        self.retention_policies(p).await
    }

    /// What a run now would purge, per category, without purging anything.
    pub async fn retention_dry_run(&self, p: &Principal) -> AppResult<DryRunView> {
        p.require(Permission::PrivacyManage)?;
        let as_of = self.now();
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let rules = rules(&mut s).await?;
        let held = tenant_held(&mut s).await?;
        let mut categories = Vec::with_capacity(rules.len());
        for (c, (rule, _)) in rules {
            let held_by = held_by(&held, c);
            let would_purge = match registered(c) {
                Some(r) if held_by.is_none() && !rule.is_keep_forever() => {
                    Some(r.count_due(&mut s, &Due { as_of, rule, cutoffs: rule.cutoffs(as_of) }).await?)
                }
                Some(_) => Some(0),
                None => None,
            };
            categories.push(DryRunCategory {
                category: c.as_str().to_owned(),
                after_days: rule.after_days,
                cap_days: rule.cap_days,
                enforced: registered(c).is_some(),
                would_purge,
                held_by,
            });
        }
        Ok(DryRunView { as_of: as_of.to_rfc3339(), categories })
    }

    /// Runs (or resumes) the tenant's retention, purging at most `max_batches` × 1,000 rows in
    /// this call (`None`: until done); batches may be smaller (`privacy::batch`).
    pub async fn run_retention(&self, tenant: TenantId, max_batches: Option<u64>) -> AppResult<RetentionReport> {
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let run = match repo::open_run(&mut s).await? {
            Some(run) => run,
            None => {
                let now = self.now().0;
                let run = RunRow { id: Uuid::now_v7(), as_of: now, started_at: now, finished_at: None, batches: 0 };
                repo::insert_run(&mut s, &run).await?;
                run
            }
        };
        let rules = rules(&mut s).await?;
        let held = tenant_held(&mut s).await?;
        tx.commit().await?;

        let as_of = Millis(run.as_of);
        let mut held_categories = Vec::new();
        let mut budget = RowBudget::of_batches(max_batches);
        for category in CATEGORIES {
            let c = category.category();
            let Some((rule, _)) = rules.get(&c).copied() else {
                continue;
            };
            if rule.is_keep_forever() {
                continue;
            }
            if held_by(&held, c).is_some() {
                held_categories.push(c.as_str().to_owned());
                continue;
            }
            let due = Due { as_of, rule, cutoffs: rule.cutoffs(as_of) };
            let mut size = BatchSize::new(self.db.backend());
            loop {
                if budget.spent() {
                    return self.report(tenant, &run, false, held_categories).await;
                }
                let limit = budget.limit(&size);
                let mut tx = self.db.write().await?;
                let held_since = Instant::now();
                let mut s = tx.tenant(tenant);
                let n = category.purge_batch(self, &mut s, &due, limit).await?;
                if n > 0 {
                    repo::count_batch(&mut s, run.id, c.as_str(), n).await?;
                }
                tx.commit().await?;
                budget.spend(n);
                // Fewer than asked for: nothing more is due in this category.
                if i64::try_from(n).unwrap_or(i64::MAX) < limit {
                    break;
                }
                size.observe(held_since.elapsed());
            }
        }
        let report = self.report(tenant, &run, true, held_categories).await?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        Audit::system("retention")
            .record(
                self,
                &mut s,
                "retention.run",
                Some(("retention_run", run.id.to_string())),
                serde_json::json!({"as_of": report.as_of.to_rfc3339(), "purged": report.purged,
                    "batches": report.batches, "held": report.held}),
            )
            .await?;
        repo::finish_run(&mut s, run.id, now, now - 30 * Millis::DAY).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn report(
        &self,
        tenant: TenantId,
        run: &RunRow,
        finished: bool,
        held: Vec<String>,
    ) -> AppResult<RetentionReport> {
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(tenant);
        let purged =
            repo::counts(&mut s, run.id).await?.into_iter().map(|(c, n)| (c, u64::try_from(n).unwrap_or(0))).collect();
        Ok(RetentionReport {
            run_id: run.id,
            as_of: Millis(run.as_of),
            finished,
            purged,
            batches: repo::batches(&mut s, run.id).await?,
            held,
        })
    }

    /// The `privacy.retention` schedule: every active tenant, each limited to
    /// `max_batches_per_tenant` × 1,000 rows per call so one tenant cannot starve the others (an
    /// unfinished run resumes next time).
    pub async fn run_retention_all(&self, max_batches_per_tenant: Option<u64>) -> AppResult<()> {
        let all = tenants::list(&mut self.db.read().await?.platform()).await?;
        for t in all.into_iter().filter(|t| t.status == "active") {
            let tenant = TenantId::from_uuid(t.id);
            match self.run_retention(tenant, max_batches_per_tenant).await {
                Ok(r) => {
                    tracing::debug!(%tenant, finished = r.finished, purged = ?r.purged, "retention run")
                }
                Err(e) => tracing::warn!(%tenant, error = %e, "retention run failed"),
            }
        }
        Ok(())
    }
}

//! Legal holds: a reason to keep data that retention or erasure would otherwise remove
//! (litigation, an authority's order). A hold covers the whole tenant, one contact or one
//! conversation, in one category or all of them. While it is active, retention skips what it
//! covers and erasure keeps it (recording why); releasing it lets the next run purge.
//! Placing and releasing are audited. Reasons are references (a case number), not personal
//! data.

use serde::{Deserialize, Serialize};
use switchboard_core::privacy::{DataCategory, HoldScope};
use switchboard_core::{ContactId, Invalid, Permission};
use switchboard_storage::privacy::holds::{self as repo, HoldRow};
use switchboard_storage::{channels, schedules};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::page::{self, Cursor, Page};
use crate::privacy::{actor_ref, contact, rfc3339, text_field};
use crate::{App, AppResult};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHold {
    /// `tenant`, `contact` or `conversation`.
    #[schema(value_type = String)]
    pub scope: HoldScope,
    /// The contact or conversation; absent for `tenant`.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub subject_id: Option<Uuid>,
    /// One data category (`messages`, `contact_profile`, …); absent: all of them.
    #[schema(value_type = Option<String>)]
    pub category: Option<DataCategory>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseHold {
    /// Required (checked after the hold is found, so another tenant's hold is a 404).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HoldView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub scope: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub subject_id: Option<Uuid>,
    pub category: Option<String>,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: String,
    pub active: bool,
    pub released_at: Option<String>,
    pub released_by: Option<String>,
    pub release_reason: Option<String>,
    /// Disconnected WhatsApp numbers whose due purge this hold keeps waiting.
    pub channel_purges: Vec<HeldChannelPurge>,
}

/// A disconnected number whose purge waits for the hold.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HeldChannelPurge {
    #[schema(value_type = String, format = Uuid)]
    pub channel_id: Uuid,
    /// The business's own number (not personal data).
    pub display_phone_number: String,
    /// When the purge first found the hold.
    pub since: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct HoldQuery {
    /// `active` (default) or `all`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn view(h: HoldRow) -> HoldView {
    HoldView {
        id: h.id,
        scope: h.scope,
        subject_id: h.subject_id,
        category: h.category,
        reason: h.reason,
        placed_by: h.placed_by,
        placed_at: switchboard_core::Millis(h.placed_at).to_rfc3339(),
        active: h.released_at.is_none(),
        released_at: rfc3339(h.released_at),
        released_by: h.released_by,
        release_reason: h.release_reason,
        channel_purges: Vec::new(),
    }
}

impl App {
    pub async fn place_hold(&self, p: &Principal, input: NewHold) -> AppResult<HoldView> {
        p.require(Permission::PrivacyManage)?;
        let reason = text_field("reason", &input.reason, 500)?;
        let subject = match (input.scope, input.subject_id) {
            (HoldScope::Tenant, None) => None,
            (HoldScope::Tenant, Some(_)) => {
                return Err(Invalid::new("subject_id", "not_applicable", "a tenant-wide hold names no subject").into());
            }
            (_, None) => {
                return Err(
                    Invalid::new("subject_id", "subject_required", "name the contact or conversation to hold").into()
                );
            }
            (_, Some(id)) => Some(id),
        };
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        if let (HoldScope::Contact, Some(id)) = (input.scope, subject) {
            contact(&mut s, ContactId::from_uuid(id)).await?;
        }
        let row = HoldRow {
            id: Uuid::now_v7(),
            scope: input.scope.as_str().to_owned(),
            subject_id: subject,
            category: input.category.map(|c| c.as_str().to_owned()),
            reason,
            placed_by: actor_ref(p),
            placed_at: now,
            released_at: None,
            released_by: None,
            release_reason: None,
        };
        repo::insert(&mut s, &row).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "legal_hold.placed",
                Some(("legal_hold", row.id.to_string())),
                serde_json::json!({"scope": row.scope, "subject_id": row.subject_id,
                    "category": row.category}),
            )
            .await?;
        tx.commit().await?;
        Ok(view(row))
    }

    pub async fn release_hold(&self, p: &Principal, id: Uuid, input: ReleaseHold) -> AppResult<HoldView> {
        p.require(Permission::PrivacyManage)?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        repo::get(&mut s, id).await?;
        let reason = text_field("reason", input.reason.as_deref().unwrap_or_default(), 500)?;
        let now = self.now().0;
        repo::release(&mut s, id, &actor_ref(p), &reason, now).await?;
        Audit::of(p)
            .record(self, &mut s, "legal_hold.released", Some(("legal_hold", id.to_string())), serde_json::json!({}))
            .await?;
        // Channel purges this hold kept waiting go on (unless another hold applies, which the
        // purge then records), at the schedule's next tick rather than in up to an hour.
        let held = channels::purge_held(&mut s, Some(id)).await?;
        for c in &held {
            channels::set_purge_hold(&mut s, c.id, None, now).await?;
            Audit::of(p)
                .record(
                    self,
                    &mut s,
                    "channel.purge_resumed",
                    Some(("channel", c.id.to_string())),
                    serde_json::json!({"legal_hold": id}),
                )
                .await?;
        }
        let row = repo::get(&mut s, id).await?;
        if !held.is_empty() {
            schedules::run_soon(&mut tx.platform(), crate::whatsapp::purge::SCHEDULE, now).await?;
        }
        tx.commit().await?;
        Ok(view(row))
    }

    pub async fn list_holds(&self, p: &Principal, q: HoldQuery) -> AppResult<Page<HoldView>> {
        p.require(Permission::PrivacyManage)?;
        let include_released = match q.status.as_deref() {
            None | Some("active") => false,
            Some("all") => true,
            Some(_) => {
                return Err(Invalid::new("status", "invalid_status", "status is active or all").into());
            }
        };
        let before = page::decode_id(q.cursor.as_deref())?;
        let limit = page::limit(q.limit);
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let rows = repo::list(&mut s, include_released, before, limit + 1).await?;
        let mut page = Page::from_rows(rows, limit, |r| Cursor::Id(r.id), view);
        for c in channels::purge_held(&mut s, None).await? {
            if let (Some(h), Some(since)) =
                (page.items.iter_mut().find(|h| Some(h.id) == c.purge_hold_id), c.purge_held_at)
            {
                h.channel_purges.push(HeldChannelPurge {
                    channel_id: c.id,
                    display_phone_number: c.display_phone_number,
                    since: switchboard_core::Millis(since).to_rfc3339(),
                });
            }
        }
        Ok(page)
    }
}

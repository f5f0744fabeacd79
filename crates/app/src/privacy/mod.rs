//! The privacy engine's use cases: the consent ledger and opt-out keywords, data-subject
//! requests (verification, fulfilment, export bundles, erasure), legal holds, retention, and
//! tenant deletion. Domain rules live in `switchboard_core::{privacy, optout}`; rows in
//! `switchboard_storage::privacy`.
//!
//! Extension points, each a list in one place (see docs/PRIVACY-ENGINE.md):
//! - [`erasure::STEPS`]: what erasing a contact removes;
//! - [`retention::CATEGORIES`]: which data categories the retention job purges;
//! - [`export::SECTIONS`]: what an access/export bundle contains;
//! - [`consent::marketing_allowed`] / [`consent::processing_allowed`]: what send paths check;
//! - [`requests::VERIFICATION_JOB`]: the job that delivers a verification code;
//! - `switchboard_storage::privacy::transfers::record`: the disclosure log.

pub mod batch;
pub mod consent;
pub mod delivery;
pub mod erasure;
pub mod export;
mod fulfil;
pub mod holds;
pub mod requests;
pub mod retention;
pub mod settings;
pub mod tenant_deletion;

use switchboard_core::{ContactId, Invalid, Millis};
use switchboard_storage::Scope;
use switchboard_storage::contacts::{self, ContactRow};

use crate::AppResult;
use crate::auth::Principal;

/// How an actor is written into privacy rows: `user:<id>`, `api_key:<id>`, `system:<name>`.
pub(crate) fn actor_ref(p: &Principal) -> String {
    let (kind, id) = p.audit_actor();
    format!("{kind}:{}", id.unwrap_or_default())
}

/// The contact, in the scope's tenant: another tenant's contact is simply not found (404).
pub(crate) async fn contact(s: &mut Scope<'_>, id: ContactId) -> AppResult<ContactRow> {
    Ok(contacts::get(s, id.as_uuid()).await?)
}

/// A free-text field an operator fills in (reasons, attestations): trimmed, 1 to `max`
/// characters, no control characters other than line breaks.
pub(crate) fn text_field(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(Invalid::new(field, "invalid_text", format!("{field} must be 1 to {max} characters")));
    }
    Ok(v.to_owned())
}

/// Optional RFC 3339 instant, e.g. when a consent was given on paper.
pub(crate) fn parse_instant(field: &str, value: Option<&str>) -> Result<Option<Millis>, Invalid> {
    value
        .map(|v| {
            v.parse::<jiff::Timestamp>()
                .map(|t| Millis(t.as_millisecond()))
                .map_err(|_| Invalid::new(field, "invalid_time", format!("{field} must be RFC 3339")))
        })
        .transpose()
}

pub(crate) fn rfc3339(ms: Option<i64>) -> Option<String> {
    ms.map(|t| Millis(t).to_rfc3339())
}

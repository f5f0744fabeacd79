//! Search without personal data in clear: contact names, phone numbers and message texts are
//! cut into words (`switchboard_core::search`), each stored as a keyed hash under the tenant's
//! blind-index key (kind `SearchToken`, so a token never equals a phone or e-mail index). A
//! query is hashed the same way and matched by equality. Erasure and retention remove the
//! tokens with their owners (one search document per contact or message).

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::search::{self, QueryError};
use switchboard_core::{E164, Invalid};
use switchboard_privacy::{BlindIndex, BlindKind};
use switchboard_storage::Backend;
use switchboard_storage::Scope;
use switchboard_storage::contacts::ContactRow;
use switchboard_storage::search::{self as repo, SearchDoc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{App, AppResult};

/// How often the search upkeep looks for merge work when it last found none. FTS5 only merges
/// a level once four segments wait there, and ingest writes at most a few dozen a second.
const UPKEEP_IDLE: Duration = Duration::from_millis(100);

impl App {
    async fn hash_tokens(&self, s: &mut Scope<'_>, tokens: &[String]) -> AppResult<Vec<BlindIndex>> {
        let key = self.keys.blind_key(s).await?;
        Ok(tokens.iter().map(|t| key.index(BlindKind::SearchToken, t)).collect())
    }

    /// The tokens of a contact's name and phone.
    pub(crate) async fn contact_tokens(
        &self,
        s: &mut Scope<'_>,
        contact: Uuid,
        name: Option<&str>,
        phone: Option<&E164>,
    ) -> AppResult<SearchDoc> {
        let words = search::contact_tokens(name, phone.map(E164::digits));
        let tokens = self.hash_tokens(s, &words).await?;
        Ok(SearchDoc { owner_id: contact, contact_id: contact, conversation_id: None, tokens })
    }

    /// The tokens of a message's text.
    pub(crate) async fn message_tokens(
        &self,
        s: &mut Scope<'_>,
        message: Uuid,
        contact: Uuid,
        conversation: Uuid,
        text: Option<&str>,
    ) -> AppResult<SearchDoc> {
        let words = text.map(search::message_tokens).unwrap_or_default();
        let tokens = self.hash_tokens(s, &words).await?;
        Ok(SearchDoc { owner_id: message, contact_id: contact, conversation_id: Some(conversation), tokens })
    }

    /// Rewrites a contact's tokens from its (sealed) name and phone.
    pub(crate) async fn reindex_contact(&self, s: &mut Scope<'_>, row: &ContactRow) -> AppResult<()> {
        let (name, phone) = self.contact_name_phone(s, row).await?;
        let doc = self.contact_tokens(s, row.id, name.as_deref(), phone.as_ref()).await?;
        repo::replace(s, &doc).await?;
        Ok(())
    }

    /// The hashed terms of a search query; 422 `query_too_short` when nothing is left to look for.
    pub(crate) async fn query_tokens(&self, s: &mut Scope<'_>, q: &str) -> AppResult<Vec<BlindIndex>> {
        let terms = search::query_terms(q).map_err(|QueryError::TooShort| {
            Invalid::new(
                "q",
                "query_too_short",
                format!(
                    "search for at least {} letters or {} digits of a phone number",
                    search::MIN_TERM_CHARS,
                    search::MIN_PHONE_DIGITS
                ),
            )
        })?;
        self.hash_tokens(s, &terms).await
    }

    /// Keeps SQLite's search index merged, one short write transaction per step, until
    /// `stop`. Each step takes the writer like any other transaction, so a webhook batch waits
    /// for one step at most instead of a whole merge (see `storage::search::merge_step`).
    /// Nothing to do on PostgreSQL.
    pub async fn run_search_upkeep(self: Arc<Self>, stop: CancellationToken) {
        if self.db.backend() != Backend::Sqlite {
            return;
        }
        loop {
            let merged = async {
                let mut tx = self.db.write().await?;
                let merged = repo::merge_step(&mut tx.platform()).await?;
                tx.commit().await?;
                AppResult::Ok(merged)
            }
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "search index merge step failed");
                false
            });
            let pause = if merged { Duration::ZERO } else { UPKEEP_IDLE };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

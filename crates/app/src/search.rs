//! Search without personal data in clear: contact names, phone numbers and message texts are
//! cut into words (`switchboard_core::search`), each stored as a keyed hash under the tenant's
//! blind-index key (kind `SearchToken`, so a token never equals a phone or e-mail index). A
//! query is hashed the same way and matched by equality. Erasure and retention remove the
//! tokens with their owners.

use switchboard_core::search::{self, QueryError};
use switchboard_core::{E164, Invalid};
use switchboard_privacy::{BlindIndex, BlindKind};
use switchboard_storage::Scope;
use switchboard_storage::contacts::ContactRow;
use switchboard_storage::search::{self as repo, TokenRow};
use uuid::Uuid;

use crate::{App, AppResult};

/// The rows of `tokens` for one owner.
fn rows(hashes: Vec<BlindIndex>, owner: Uuid, contact: Uuid, conversation: Option<Uuid>) -> Vec<TokenRow> {
    hashes
        .into_iter()
        .map(|token| TokenRow { owner_id: owner, token, contact_id: contact, conversation_id: conversation })
        .collect()
}

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
    ) -> AppResult<Vec<TokenRow>> {
        let words = search::contact_tokens(name, phone.map(E164::digits));
        Ok(rows(self.hash_tokens(s, &words).await?, contact, contact, None))
    }

    /// The tokens of a message's text.
    pub(crate) async fn message_tokens(
        &self,
        s: &mut Scope<'_>,
        message: Uuid,
        contact: Uuid,
        conversation: Uuid,
        text: Option<&str>,
    ) -> AppResult<Vec<TokenRow>> {
        let Some(text) = text else { return Ok(Vec::new()) };
        let words = search::message_tokens(text);
        Ok(rows(self.hash_tokens(s, &words).await?, message, contact, Some(conversation)))
    }

    /// Rewrites a contact's tokens from its (sealed) name and phone.
    pub(crate) async fn reindex_contact(&self, s: &mut Scope<'_>, row: &ContactRow) -> AppResult<()> {
        let (name, phone) = self.contact_name_phone(s, row).await?;
        let tokens = self.contact_tokens(s, row.id, name.as_deref(), phone.as_ref()).await?;
        repo::replace(s, row.id, &tokens).await?;
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
}

//! The subject's conversations: every message in both directions, and the media files they
//! sent or received, opened from the blob store.

use async_trait::async_trait;
use serde_json::json;
use switchboard_core::Millis;
use switchboard_storage::Scope;
use switchboard_storage::{conversations, media, messages};

use super::csv::Csv;
use super::{Bundle, BundleSection, Subject};
use crate::whatsapp::media::extension;
use crate::{App, AppResult};

/// Messages read per query.
const PAGE: i64 = 500;

pub struct ConversationSection;

#[async_trait]
impl BundleSection for ConversationSection {
    fn name(&self) -> &'static str {
        "conversations"
    }

    fn readme(&self) -> &'static str {
        "conversations (messages.csv): every message between you and the organisation, \
oldest first. conversation_id: the conversation it belongs to; created_at: when we stored it; \
direction: inbound (you wrote), outbound (the organisation wrote) or note (a note its staff \
wrote about the conversation, never sent to you); type: text, image, template, note, …; text: its \
text or caption; status: for messages to you, how far delivery got (sent, delivered, read, \
failed); media: the files in media/ that belong to it.\n\
media/: the pictures, recordings and documents of those messages, as received.\n"
    }

    async fn collect(&self, app: &App, s: &mut Scope<'_>, subject: &Subject, out: &mut Bundle) -> AppResult<()> {
        let mut csv = Csv::new(&["conversation_id", "created_at", "direction", "type", "text", "status", "media"]);
        let mut list = Vec::new();
        for conv in conversations::of_contact(s, subject.contact.as_uuid()).await? {
            let mut views = Vec::new();
            let mut before = None;
            loop {
                let rows = messages::page(s, conv.id, before, PAGE).await?;
                let ids: Vec<_> = rows.iter().map(|m| m.id).collect();
                let reactions = messages::reactions(s, &ids).await?;
                let files = media::of_messages(s, &ids).await?;
                for m in &rows {
                    views.push(app.message_view(s, m, &reactions, &files).await?);
                }
                match rows.last() {
                    Some(last) if i64::try_from(rows.len()).unwrap_or(0) == PAGE => {
                        before = Some((last.sort_at, last.id))
                    }
                    _ => break,
                }
            }
            views.reverse();
            for v in &views {
                let files: Vec<String> = v.media.iter().filter(|m| m.state == "stored").map(|m| m.id.clone()).collect();
                csv.row([
                    v.conversation_id.clone(),
                    v.created_at.clone(),
                    v.direction.clone(),
                    v.kind.clone(),
                    v.text.clone().unwrap_or_default(),
                    v.status.clone(),
                    files.join(";"),
                ]);
            }
            list.push(json!({
                "id": conv.id, "status": conv.status, "created_at": Millis(conv.created_at).to_rfc3339(),
                "resolved_at": conv.resolved_at.map(|t| Millis(t).to_rfc3339()), "messages": views,
            }));
        }
        out.file("messages.csv", csv.into_bytes());
        out.set(self.name(), serde_json::Value::Array(list));
        for m in media::of_contact(s, subject.contact.as_uuid()).await? {
            if m.state != "stored" {
                continue;
            }
            let bytes = app.open_media(s, &m).await?;
            let ext = extension(m.mime_type.as_deref().unwrap_or_default());
            out.file(&format!("media/{}.{ext}", m.id), bytes);
        }
        Ok(())
    }
}

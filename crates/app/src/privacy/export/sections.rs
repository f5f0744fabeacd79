//! The bundle sections that exist today: the contact record, consents, data-subject requests,
//! disclosures (the audit entries about the contact) and third parties.

use async_trait::async_trait;
use serde_json::{Value, json};
use switchboard_core::Millis;
use switchboard_storage::Scope;
use switchboard_storage::audit::{self, AuditFilter};
use switchboard_storage::contacts;
use switchboard_storage::privacy::{consents, requests, transfers};

use super::csv::Csv;
use super::{Bundle, BundleSection, Subject};
use crate::privacy::{consent, rfc3339};
use crate::{App, AppError, AppResult};

fn time(ms: i64) -> String {
    Millis(ms).to_rfc3339()
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_default()
}

pub struct ContactSection;

#[async_trait]
impl BundleSection for ContactSection {
    fn name(&self) -> &'static str {
        "contact"
    }

    fn readme(&self) -> &'static str {
        "contact (contact.csv): the record kept about you. id: our reference for you; name, \
phone, email: as recorded (phone in international E.164 form); labels: tags the organisation \
gave you, separated by ';'; attributes: further fields, as JSON; created_at, updated_at.\n"
    }

    async fn collect(&self, app: &App, s: &mut Scope<'_>, subject: &Subject, out: &mut Bundle) -> AppResult<()> {
        let labels = contacts::labels_of(s, &[subject.row.id]).await?.remove(&subject.row.id).unwrap_or_default();
        let v = app.contact_view(s, &subject.row, labels, true).await?;
        let mut csv = Csv::new(&["id", "name", "phone", "email", "labels", "attributes", "created_at", "updated_at"]);
        csv.row([
            v.id.to_string(),
            opt(v.name.clone()),
            opt(v.phone.clone()),
            opt(v.email.clone()),
            v.labels.join(";"),
            Value::Object(v.attributes.clone()).to_string(),
            v.created_at.clone(),
            v.updated_at.clone(),
        ]);
        out.file("contact.csv", csv.into_bytes());
        out.set(self.name(), serde_json::to_value(&v).map_err(AppError::internal)?);
        Ok(())
    }
}

pub struct ConsentSection;

#[async_trait]
impl BundleSection for ConsentSection {
    fn name(&self) -> &'static str {
        "consents"
    }

    fn readme(&self) -> &'static str {
        "consents (consents.csv): for each purpose (service, marketing, ai_processing, \
call_recording, health_data) whether you have granted or withdrawn consent, or 'unknown' when \
nothing was recorded; legal_basis: the lawful ground relied on and the article it cites; \
source: how it was recorded (inbound_message, import, form, api, keyword, meta_preference); \
granted_at, withdrawn_at: the latest of each.\n\
consent_events (consent_events.csv): every recorded change, oldest first, with evidence \
(references such as the id of the message in which you said it) and the privacy-notice \
version you were shown.\n"
    }

    async fn collect(&self, _app: &App, s: &mut Scope<'_>, subject: &Subject, out: &mut Bundle) -> AppResult<()> {
        let current = consent::views(s, subject.contact).await?;
        let mut csv = Csv::new(&[
            "purpose",
            "state",
            "legal_basis",
            "legal_basis_citation",
            "source",
            "granted_at",
            "withdrawn_at",
        ]);
        for c in &current {
            csv.row([
                c.purpose.clone(),
                c.state.clone(),
                opt(c.legal_basis.clone()),
                opt(c.legal_basis_citation.clone()),
                opt(c.source.clone()),
                opt(c.granted_at.clone()),
                opt(c.withdrawn_at.clone()),
            ]);
        }
        out.file("consents.csv", csv.into_bytes());
        out.set("consents", serde_json::to_value(&current).map_err(AppError::internal)?);
        let events = consents::events(s, subject.contact.as_uuid()).await?;
        let mut csv =
            Csv::new(&["occurred_at", "purpose", "state", "legal_basis", "source", "evidence", "notice_version"]);
        let mut list = Vec::with_capacity(events.len());
        for e in events {
            csv.row([
                time(e.occurred_at),
                e.purpose.clone(),
                e.state.clone(),
                opt(e.legal_basis.clone()),
                e.source.clone(),
                e.evidence.clone(),
                opt(e.notice_version.clone()),
            ]);
            list.push(json!({
                "occurred_at": time(e.occurred_at), "recorded_at": time(e.recorded_at),
                "purpose": e.purpose, "state": e.state, "legal_basis": e.legal_basis,
                "source": e.source, "notice_version": e.notice_version,
                "evidence": serde_json::from_str::<Value>(&e.evidence).unwrap_or(Value::Null),
            }));
        }
        out.file("consent_events.csv", csv.into_bytes());
        out.set("consent_events", Value::Array(list));
        Ok(())
    }
}

pub struct RequestSection;

#[async_trait]
impl BundleSection for RequestSection {
    fn name(&self) -> &'static str {
        "privacy_requests"
    }

    fn readme(&self) -> &'static str {
        "privacy_requests (privacy_requests.csv): the requests you made about your data: type \
(access, export, rectification, erasure, restriction, objection, withdraw_consent), status, \
jurisdiction (gdpr, kvkk, ccpa), when it was made, the legal deadline (due_at), when your \
identity was verified and when it was fulfilled.\n"
    }

    async fn collect(&self, _app: &App, s: &mut Scope<'_>, subject: &Subject, out: &mut Bundle) -> AppResult<()> {
        let rows = requests::for_contact(s, subject.contact.as_uuid()).await?;
        let mut csv =
            Csv::new(&["id", "type", "status", "jurisdiction", "created_at", "due_at", "verified_at", "fulfilled_at"]);
        let mut list = Vec::with_capacity(rows.len());
        for r in rows {
            let item = json!({
                "id": r.id, "type": r.kind, "status": r.status, "jurisdiction": r.jurisdiction,
                "created_at": time(r.created_at), "due_at": time(r.due_at),
                "verified_at": rfc3339(r.verified_at), "fulfilled_at": rfc3339(r.fulfilled_at),
            });
            csv.row([
                r.id.to_string(),
                r.kind,
                r.status,
                r.jurisdiction,
                time(r.created_at),
                time(r.due_at),
                opt(rfc3339(r.verified_at)),
                opt(rfc3339(r.fulfilled_at)),
            ]);
            list.push(item);
        }
        out.file("privacy_requests.csv", csv.into_bytes());
        out.set(self.name(), Value::Array(list));
        Ok(())
    }
}

pub struct DisclosureSection;

#[async_trait]
impl BundleSection for DisclosureSection {
    fn name(&self) -> &'static str {
        "disclosures"
    }

    fn readme(&self) -> &'static str {
        "disclosures (disclosures.csv): every recorded access to or change of your record by \
the organisation's staff, integrations or Switchboard itself, from its tamper-evident audit \
log: when (at), what (action, e.g. contact.read, contact.updated, consent.recorded), who \
(actor_kind: user, api_key, system; actor_id: their reference) and details (field names, \
never values).\n"
    }

    async fn collect(&self, _app: &App, s: &mut Scope<'_>, subject: &Subject, out: &mut Bundle) -> AppResult<()> {
        let filter = AuditFilter { target_kind: Some("contact".into()), target_id: Some(subject.contact.to_string()) };
        let mut rows = Vec::new();
        let mut before = None;
        loop {
            let page = audit::list(s, &filter, before, 1000).await?;
            let Some(last) = page.last() else { break };
            before = Some(last.seq);
            rows.extend(page);
        }
        rows.reverse();
        let mut csv = Csv::new(&["at", "action", "actor_kind", "actor_id", "details"]);
        let mut list = Vec::with_capacity(rows.len());
        for r in rows {
            // The acting staff member's IP address is theirs, not the subject's: left out.
            csv.row([time(r.at), r.action.clone(), r.actor_kind.clone(), opt(r.actor_id.clone()), r.details.clone()]);
            list.push(json!({
                "at": time(r.at), "action": r.action, "actor_kind": r.actor_kind,
                "actor_id": r.actor_id,
                "details": serde_json::from_str::<Value>(&r.details).unwrap_or(Value::Null),
            }));
        }
        out.file("disclosures.csv", csv.into_bytes());
        out.set(self.name(), Value::Array(list));
        Ok(())
    }
}

/// Meta handles every WhatsApp conversation, so it is a recipient of every WhatsApp contact's
/// data even before the message pipeline logs a transfer.
const META: &str = "Meta Platforms Ireland Ltd (WhatsApp Business Platform)";

pub struct ThirdPartySection;

#[async_trait]
impl BundleSection for ThirdPartySection {
    fn name(&self) -> &'static str {
        "third_parties"
    }

    fn readme(&self) -> &'static str {
        "third_parties (third_parties.csv): the recipients your data was transferred to, at \
home and abroad (KVKK Art. 11(1)(ç)): recipient, country (ISO code of where they process it), \
category of data, first and last transfer, and how many transfers. A WhatsApp contact always \
lists Meta, which carries every WhatsApp message; 0 transfers there means they are not counted \
one by one.\n"
    }

    async fn collect(&self, _app: &App, s: &mut Scope<'_>, subject: &Subject, out: &mut Bundle) -> AppResult<()> {
        let mut rows = transfers::for_contact(s, subject.contact.as_uuid()).await?;
        if subject.row.wa_id_sealed.is_some() && !rows.iter().any(|r| r.recipient == META) {
            rows.push(transfers::TransferRow {
                recipient: META.to_owned(),
                category: "messages".to_owned(),
                country: "IE".to_owned(),
                first_at: subject.row.created_at,
                last_at: subject.row.updated_at,
                transfers: 0,
            });
        }
        let mut csv = Csv::new(&["recipient", "country", "category", "first_at", "last_at", "transfers"]);
        let mut list = Vec::with_capacity(rows.len());
        for r in rows {
            csv.row([
                r.recipient.clone(),
                r.country.clone(),
                r.category.clone(),
                time(r.first_at),
                time(r.last_at),
                r.transfers.to_string(),
            ]);
            list.push(json!({
                "recipient": r.recipient, "country": r.country, "category": r.category,
                "first_at": time(r.first_at), "last_at": time(r.last_at),
                "transfers": r.transfers,
            }));
        }
        out.file("third_parties.csv", csv.into_bytes());
        out.set(self.name(), Value::Array(list));
        Ok(())
    }
}

//! The access/export bundle: one zip per data subject, answering KVKK Art. 11 and GDPR
//! Art. 15/20 in "a structured, commonly used format":
//!
//! - `subject.json`: every section's data under its own key (`contact`, `consents`,
//!   `consent_events`, `privacy_requests`, `disclosures`, `third_parties`, …);
//! - one CSV per table-like section (formula-safe, RFC 4180; see [`csv`]);
//! - `README.txt`: what each file and field means, assembled from the sections.
//!
//! **Extension point:** [`SECTIONS`] lists what a bundle holds; each new kind of data about a
//! contact (appointments, orders, calls) is one more [`BundleSection`], added to the list.
//!
//! The bundle is built when it is downloaded, from the data as it is then, and only for a
//! verified, fulfilled access or export request: by an operator (`GET
//! /privacy/requests/{id}/export`) or through the signed, expiring link (`GET
//! /privacy/exports/{token}`) handed to the requester.

pub mod csv;
mod history;
pub mod link;
mod sections;

use std::io::Write;

use async_trait::async_trait;
use switchboard_core::privacy::RequestStatus;
use switchboard_core::{ContactId, Millis, Permission, TenantId};
use switchboard_storage::Scope;
use switchboard_storage::contacts::ContactRow;
use switchboard_storage::privacy::requests::{self as repo, RequestRow};
use switchboard_storage::tenants;
use uuid::Uuid;
use zip::write::SimpleFileOptions;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::privacy::contact;
use crate::privacy::requests::{kind_of, status_of, unverified};
use crate::{App, AppError, AppResult};

/// Whom a bundle is about.
pub struct Subject {
    pub contact: ContactId,
    pub row: ContactRow,
}

/// A bundle being assembled.
#[derive(Default)]
pub struct Bundle {
    subject: serde_json::Map<String, serde_json::Value>,
    files: Vec<(String, Vec<u8>)>,
}

impl Bundle {
    /// Puts `value` under `key` in `subject.json`.
    pub fn set(&mut self, key: &str, value: serde_json::Value) {
        self.subject.insert(key.to_owned(), value);
    }

    /// Adds a file (a CSV) to the zip.
    pub fn file(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.push((name.to_owned(), bytes));
    }
}

/// One part of the bundle.
#[async_trait]
pub trait BundleSection: Send + Sync {
    /// Its key in `subject.json`.
    fn name(&self) -> &'static str;
    /// Its part of README.txt: the files it writes and their fields.
    fn readme(&self) -> &'static str;
    /// Adds the subject's data, read in the caller's transaction. Only the subject's own data:
    /// nothing about another contact may enter the bundle.
    async fn collect(&self, app: &App, s: &mut Scope<'_>, subject: &Subject, out: &mut Bundle) -> AppResult<()>;
}

/// What a bundle holds, in order.
pub static SECTIONS: &[&dyn BundleSection] = &[
    &sections::ContactSection,
    &sections::ConsentSection,
    &history::ConversationSection,
    &sections::RequestSection,
    &sections::DisclosureSection,
    &sections::ThirdPartySection,
];

const README_HEAD: &str = "\
Your personal data held by this organisation
============================================

This archive was produced in answer to your request to access (or take a copy of) your
personal data (GDPR Art. 15 and 20, KVKK Art. 11, CCPA right to know).

- subject.json holds everything, one key per section below, in UTF-8 JSON.
- The .csv files hold the same data as tables (RFC 4180, comma-separated, UTF-8). A cell that
  would start with = + - @ or a control character starts with an apostrophe (') so that a
  spreadsheet shows it as text instead of running it as a formula.
- Times are UTC, in RFC 3339 form (2026-01-31T09:30:00Z).
";

/// A built bundle, ready to send.
pub struct ExportFile {
    pub filename: String,
    pub bytes: Vec<u8>,
}

fn zip_time(now: Millis) -> zip::DateTime {
    let civil = jiff::Timestamp::from_millisecond(now.0).map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).datetime()).ok();
    civil
        .and_then(|d| {
            zip::DateTime::from_date_and_time(
                u16::try_from(d.year()).ok()?,
                u8::try_from(d.month()).ok()?,
                u8::try_from(d.day()).ok()?,
                u8::try_from(d.hour()).ok()?,
                u8::try_from(d.minute()).ok()?,
                u8::try_from(d.second()).ok()?,
            )
            .ok()
        })
        .unwrap_or_default()
}

/// Collects every section for `subject` and zips it.
pub(crate) async fn build(app: &App, s: &mut Scope<'_>, subject: &Subject) -> AppResult<ExportFile> {
    let mut bundle = Bundle::default();
    bundle.set("generated_at", serde_json::Value::String(app.now().to_rfc3339()));
    let mut readme = README_HEAD.to_owned();
    for section in SECTIONS {
        section.collect(app, s, subject, &mut bundle).await?;
        readme.push('\n');
        readme.push_str(section.readme());
    }
    let json = serde_json::to_vec_pretty(&serde_json::Value::Object(bundle.subject)).map_err(AppError::internal)?;
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(app.now()));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut add = |name: &str, bytes: &[u8]| -> Result<(), zip::result::ZipError> {
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
        Ok(())
    };
    add("README.txt", readme.as_bytes()).map_err(AppError::internal)?;
    add("subject.json", &json).map_err(AppError::internal)?;
    for (name, bytes) in &bundle.files {
        add(name, bytes).map_err(AppError::internal)?;
    }
    let bytes = zip.finish().map_err(AppError::internal)?.into_inner();
    Ok(ExportFile { filename: format!("personal-data-{}.zip", subject.contact), bytes })
}

/// A request whose bundle may be handed out: verified, of an exporting kind, fulfilled.
fn exportable(r: &RequestRow) -> AppResult<()> {
    let status = status_of(r)?;
    if !status.is_verified() {
        return Err(unverified());
    }
    if !kind_of(r)?.yields_export() {
        return Err(AppError::WrongState {
            code: "not_an_export",
            message: "only access and export requests produce a data bundle",
        });
    }
    if status != RequestStatus::Completed {
        return Err(AppError::WrongState { code: "request_not_fulfilled", message: "fulfil the request first" });
    }
    Ok(())
}

/// The public download URL for a request's bundle, valid until `expires`.
pub(crate) fn link_url(app: &App, tenant: TenantId, request: Uuid, expires: Millis) -> String {
    let token = link::sign(app.keys.privacy_mac(), link::Link { tenant, request, expires });
    format!("{}/api/v1/privacy/exports/{token}", app.config.public_url)
}

impl App {
    async fn export_bundle(&self, tenant: TenantId, request: Uuid, audit: Audit, via: &str) -> AppResult<ExportFile> {
        // Built on a read connection, so the writer is not held while the zip is made; the
        // download is audited before the bytes leave.
        let (id, file) = {
            let mut conn = self.db.read().await?;
            let mut s = conn.tenant(tenant);
            let r = repo::get(&mut s, request).await?;
            exportable(&r)?;
            let id = ContactId::from_uuid(r.contact_id);
            let row = contact(&mut s, id).await?;
            (id, build(self, &mut s, &Subject { contact: id, row }).await?)
        };
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        audit
            .record(
                self,
                &mut s,
                "privacy_request.exported",
                Some(("privacy_request", request.to_string())),
                serde_json::json!({"contact_id": id, "via": via, "bytes": file.bytes.len()}),
            )
            .await?;
        tx.commit().await?;
        Ok(file)
    }

    /// The bundle of a verified, fulfilled access or export request, for an operator.
    pub async fn export_privacy_request(&self, p: &Principal, request: Uuid) -> AppResult<ExportFile> {
        p.require(Permission::PrivacyManage)?;
        self.export_bundle(p.tenant, request, Audit::of(p), "operator").await
    }

    /// The bundle behind a signed download link. An unknown or forged token is not found; an
    /// expired one says so; a deactivated tenant's links stop working.
    pub async fn export_by_link(&self, token: &str) -> AppResult<ExportFile> {
        let l = link::verify(self.keys.privacy_mac(), token, self.now()).map_err(|e| match e {
            link::LinkError::Invalid => AppError::NotFound,
            link::LinkError::Expired => AppError::WrongState {
                code: "link_expired",
                message: "this download link has expired; ask for a new one",
            },
        })?;
        let status = tenants::get(&mut self.db.read().await?.tenant(l.tenant)).await?.status;
        if status != "active" {
            return Err(AppError::NotFound);
        }
        self.export_bundle(l.tenant, l.request, Audit::system("export_link"), "signed_link").await
    }
}

//! Contacts: the list (found by exact phone or e-mail through the blind indexes, filtered by
//! label), a contact's page, the create and edit form, and deletion after a confirmation
//! page. Masking is the application's: without `contacts:view_pii` phone and e-mail arrive
//! masked, so this module never sees them whole. Each page mirrors a `/api/v1/contacts` route.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::contacts::{ContactInput, ContactQuery, ContactView};
use switchboard_app::privacy::consent::{ConsentInput, ConsentView};
use switchboard_core::privacy::LegalBasis;
use switchboard_core::{ContactId, Permission};

use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer};
use crate::ui::form::{Form, Query, filled};
use crate::ui::htmx::{self, Hx};
use crate::ui::i18n::{Tr, key};
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

const PAGE_SIZE: u32 = 25;
/// Empty attribute rows offered by the form (it works without JavaScript, so no "add row").
const BLANK_ATTRIBUTE_ROWS: usize = 3;

pub fn routes(p: Pages) -> Pages {
    use Permission as P;
    let read = Access::Perm(P::ContactsRead);
    let write = Access::Perm(P::ContactsWrite);
    let delete = Access::Perm(P::ContactsDelete);
    let one = "/api/v1/contacts/{id}";
    p.add(PageSpec::get("/contacts", read).mirrors(Method::GET, "/api/v1/contacts"), list)
        .add(PageSpec::get("/contacts/new", write).mirrors(Method::POST, "/api/v1/contacts"), new_form)
        .add(PageSpec::post("/contacts", write).mirrors(Method::POST, "/api/v1/contacts"), create)
        .add(PageSpec::get("/contacts/{id}", read).mirrors(Method::GET, one), show)
        .add(PageSpec::get("/contacts/{id}/edit", write).mirrors(Method::PATCH, one), edit_form)
        .add(PageSpec::post("/contacts/{id}", write).mirrors(Method::PATCH, one), update)
        .add(
            PageSpec::post("/contacts/{id}/consents", write).mirrors(Method::POST, "/api/v1/contacts/{id}/consents"),
            record_consent,
        )
        .add(PageSpec::get("/contacts/{id}/delete", delete).mirrors(Method::DELETE, one), confirm_delete)
        .add(PageSpec::post("/contacts/{id}/delete", delete).mirrors(Method::DELETE, one), delete_contact)
}

/// An id from the path; one that is not an id names no contact.
fn contact_id(raw: &str) -> Result<ContactId, UiError> {
    raw.parse().map_err(|_| UiError(AppError::NotFound))
}

/// Attribute values are shown as text: strings as they are, anything else as JSON.
fn attribute_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub struct ContactItem {
    pub id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub labels: Vec<String>,
    pub attributes: Vec<(String, String)>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ContactView> for ContactItem {
    fn from(c: ContactView) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name,
            phone: c.phone,
            email: c.email,
            labels: c.labels,
            attributes: c.attributes.iter().map(|(k, v)| (k.clone(), attribute_text(v))).collect(),
            created_at: short_time(&c.created_at),
            updated_at: short_time(&c.updated_at),
        }
    }
}

// --- The list ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct Search {
    /// An exact phone number, or an e-mail address (anything with `@`).
    #[serde(default)]
    q: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

pub struct Results {
    pub rows: Vec<ContactItem>,
    /// The link to the next page, keeping the search.
    pub next: Option<String>,
    pub notice: Option<Notice>,
    pub searching: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/index.html")]
struct ContactsPage {
    t: Tr,
    layout: Layout,
    q: String,
    label: String,
    can_write: bool,
    done: Option<Notice>,
    results: Results,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/index.html", block = "results")]
struct ResultsFragment {
    t: Tr,
    results: Results,
}

fn next_link(q: &str, label: &str, cursor: &str) -> String {
    let query: String = [("q", q), ("label", label), ("cursor", cursor)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::ui::access::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("/contacts?{query}")
}

async fn results(s: &AppState, v: &Viewer, search: &Search) -> PageResult<(StatusCode, Results)> {
    let q = search.q.trim();
    let query = ContactQuery {
        q: None,
        phone: (!q.is_empty() && !q.contains('@')).then(|| q.to_owned()),
        email: q.contains('@').then(|| q.to_owned()),
        label: filled(&search.label),
        cursor: search.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(PAGE_SIZE),
    };
    let searching = !q.is_empty() || query.label.is_some();
    match s.app.list_contacts(&v.principal, query).await {
        Ok(page) => Ok((
            StatusCode::OK,
            Results {
                next: page.next_cursor.map(|c| next_link(q, search.label.trim(), &c)),
                rows: page.items.into_iter().map(ContactItem::from).collect(),
                notice: None,
                searching,
            },
        )),
        // A number that is not a phone number, a stale cursor: said beside the search box.
        Err(e) => {
            Ok((status_of(&e), Results { rows: Vec::new(), next: None, notice: Some(inline(v.t, e)?), searching }))
        }
    }
}

async fn list(State(s): State<AppState>, v: Viewer, hx: Hx, Query(search): Query<Search>) -> PageResult {
    let (status, results) = results(&s, &v, &search).await?;
    if hx.fragment() {
        return Ok((status, ResultsFragment { t: v.t, results }).into_response());
    }
    let done = match search.done.as_deref() {
        Some("deleted") => Some(Notice::success(v.t.get("contacts.done_deleted"))),
        _ => None,
    };
    let page = ContactsPage {
        t: v.t,
        layout: Layout::new(Some(&v), Section::Contacts),
        q: search.q.trim().to_owned(),
        label: search.label.trim().to_owned(),
        can_write: v.can(Permission::ContactsWrite),
        done,
        results,
    };
    Ok((status, page).into_response())
}

// --- One contact -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/show.html")]
struct ContactPage {
    t: Tr,
    layout: Layout,
    c: ContactItem,
    can_write: bool,
    can_delete: bool,
    /// Phone and e-mail are shown whole (else they arrive masked).
    pii: bool,
    done: Option<Notice>,
    /// The consent panel: every purpose's state.
    consents: Vec<ConsentItem>,
    /// The legal bases the record form offers (code, citation).
    bases: Vec<(&'static str, &'static str)>,
    /// What went wrong recording a consent.
    consent_notice: Option<Notice>,
}

impl ContactPage {
    fn basis_invalid(&self) -> bool {
        crate::ui::notice::invalid(self.consent_notice.as_ref(), "legal_basis")
    }
}

/// One purpose in the consent panel (labels are translation keys).
pub struct ConsentItem {
    pub purpose: String,
    pub purpose_key: String,
    pub state: String,
    pub state_key: String,
    pub legal_basis: Option<String>,
    pub citation: Option<String>,
    pub source_key: Option<String>,
    pub changed_at: Option<String>,
    pub granted_at: Option<String>,
    pub withdrawn_at: Option<String>,
}

impl From<ConsentView> for ConsentItem {
    fn from(c: ConsentView) -> Self {
        let at = |t: &Option<String>| t.as_deref().map(short_time);
        Self {
            purpose_key: format!("consent.purpose.{}", c.purpose),
            state_key: format!("consent.state.{}", c.state),
            source_key: c.source.as_deref().map(|s| format!("consent.source.{s}")),
            changed_at: at(&c.changed_at),
            granted_at: at(&c.granted_at),
            withdrawn_at: at(&c.withdrawn_at),
            purpose: c.purpose,
            state: c.state,
            legal_basis: c.legal_basis,
            citation: c.legal_basis_citation,
        }
    }
}

/// The contact's page, with a notice for the consent form when it failed.
async fn contact_page(
    s: &AppState,
    v: &Viewer,
    id: ContactId,
    done: Option<Notice>,
    consent_notice: Option<Notice>,
) -> PageResult<ContactPage> {
    let c = s.app.get_contact(&v.principal, id).await?;
    let consents = s.app.list_consents(&v.principal, id).await?.items.into_iter().map(Into::into).collect();
    Ok(ContactPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Contacts),
        c: c.into(),
        can_write: v.can(Permission::ContactsWrite),
        can_delete: v.can(Permission::ContactsDelete),
        pii: v.can(Permission::ContactsViewPii),
        done,
        consents,
        bases: LegalBasis::ALL.iter().map(|b| (b.as_str(), b.citation())).collect(),
        consent_notice,
    })
}

#[derive(Deserialize, Default)]
struct ConsentForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    legal_basis: String,
}

/// Records a grant or a withdrawal from the operator (source `api`, audited by the app).
async fn record_consent(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ConsentForm>,
) -> PageResult {
    let cid = contact_id(&id)?;
    let body = serde_json::json!({
        "purpose": f.purpose, "state": f.state,
        "legal_basis": (!f.legal_basis.is_empty()).then_some(f.legal_basis),
    });
    let result = match serde_json::from_value::<ConsentInput>(body) {
        Ok(input) => s.app.record_consent(&v.principal, cid, input).await,
        Err(e) => Err(AppError::Malformed(e.to_string())),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/contacts/{cid}?done=consent")).into_response()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let page = contact_page(&s, &v, cid, None, Some(notice)).await?;
            Ok(htmx::at(&format!("/contacts/{cid}"), (status, page).into_response()))
        }
    }
}

async fn show(State(s): State<AppState>, v: Viewer, Path(id): Path<String>, Query(q): Query<Done>) -> PageResult {
    let done = match q.done.as_deref() {
        Some("created") => Some(key("contacts.done_created")),
        Some("saved") => Some(key("contacts.done_saved")),
        Some("consent") => Some(key("consent.done_recorded")),
        _ => None,
    };
    let done = done.map(|k| Notice::success(v.t.get(k)));
    Ok(contact_page(&s, &v, contact_id(&id)?, done, None).await?.into_response())
}

// --- Create and edit ---------------------------------------------------------------------

/// The form's fields as typed (shown again when something is wrong).
#[derive(Deserialize, Default)]
pub(crate) struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    /// Comma-separated.
    #[serde(default)]
    labels: String,
    #[serde(default)]
    attr_key: Vec<String>,
    #[serde(default)]
    attr_value: Vec<String>,
}

impl ContactForm {
    pub(crate) fn from_item(c: &ContactItem, pii: bool) -> Self {
        // Masked values are not editable values: without the permission the fields start
        // empty, and empty keeps what is stored.
        let personal = |v: &Option<String>| {
            if pii { v.clone().unwrap_or_default() } else { String::new() }
        };
        Self {
            name: c.name.clone().unwrap_or_default(),
            phone: personal(&c.phone),
            email: personal(&c.email),
            labels: c.labels.join(", "),
            attr_key: c.attributes.iter().map(|(k, _)| k.clone()).collect(),
            attr_value: c.attributes.iter().map(|(_, v)| v.clone()).collect(),
        }
    }

    fn labels(&self) -> Vec<String> {
        self.labels.split(',').filter_map(filled).collect()
    }

    /// Rows with a key or a value; a value without a key is left to the application to refuse.
    fn attributes(&self) -> serde_json::Map<String, serde_json::Value> {
        self.attr_key
            .iter()
            .zip(self.attr_value.iter().chain(std::iter::repeat(&String::new())))
            .filter(|(k, v)| !k.trim().is_empty() || !v.trim().is_empty())
            .map(|(k, v)| (k.trim().to_owned(), serde_json::Value::String(v.trim().to_owned())))
            .collect()
    }

    /// The rows to show: those filled in, then a few empty ones.
    pub(crate) fn rows(&self) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = self
            .attr_key
            .iter()
            .zip(self.attr_value.iter())
            .filter(|(k, v)| !k.trim().is_empty() || !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rows.extend(std::iter::repeat_n((String::new(), String::new()), BLANK_ATTRIBUTE_ROWS));
        rows
    }

    fn for_create(&self) -> ContactInput {
        let attributes = self.attributes();
        ContactInput {
            name: filled(&self.name).map(Some),
            phone: filled(&self.phone).map(Some),
            email: filled(&self.email).map(Some),
            labels: Some(self.labels()),
            attributes: (!attributes.is_empty()).then_some(Some(attributes)),
        }
    }

    /// A change: empty clears a field, except personal fields of a viewer who cannot see
    /// them (their empty means "keep").
    /// The inbox's contact panel: name, labels and attributes only; phone and e-mail are kept.
    pub(crate) fn for_panel(&self) -> ContactInput {
        ContactInput { phone: None, email: None, ..self.for_update(false) }
    }

    fn for_update(&self, pii: bool) -> ContactInput {
        let personal = |v: &str| match filled(v) {
            Some(v) => Some(Some(v)),
            None if pii => Some(None),
            None => None,
        };
        let attributes = self.attributes();
        ContactInput {
            name: Some(filled(&self.name)),
            phone: personal(&self.phone),
            email: personal(&self.email),
            labels: Some(self.labels()),
            attributes: Some((!attributes.is_empty()).then_some(attributes)),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/form.html")]
struct ContactFormPage {
    t: Tr,
    layout: Layout,
    /// The contact being edited; `None` when creating.
    id: Option<String>,
    name: String,
    phone: String,
    email: String,
    labels: String,
    rows: Vec<(String, String)>,
    /// Personal fields start empty because the viewer sees them masked.
    pii_hidden: bool,
    notice: Option<Notice>,
}

impl ContactFormPage {
    fn new(v: &Viewer, id: Option<String>, f: ContactForm, notice: Option<Notice>) -> Self {
        Self {
            t: v.t,
            layout: Layout::new(Some(v), Section::Contacts),
            pii_hidden: id.is_some() && !v.can(Permission::ContactsViewPii),
            id,
            rows: f.rows(),
            name: f.name,
            phone: f.phone,
            email: f.email,
            labels: f.labels,
            notice,
        }
    }

    fn invalid(&self, field: &str) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), field)
    }
}

async fn new_form(v: Viewer) -> PageResult {
    Ok(ContactFormPage::new(&v, None, ContactForm::default(), None).into_response())
}

/// The form again with the problem beside it (or an error page for the others).
fn form_error(v: &Viewer, id: Option<String>, f: ContactForm, e: AppError, at: &str) -> PageResult {
    let status = status_of(&e);
    let notice = inline(v.t, e)?;
    let page = ContactFormPage::new(v, id, f, Some(notice));
    Ok(htmx::at(at, (status, page).into_response()))
}

async fn create(State(s): State<AppState>, v: Viewer, Form(f): Form<ContactForm>) -> PageResult {
    match s.app.create_contact(&v.principal, f.for_create()).await {
        Ok(c) => Ok(Redirect::to(&format!("/contacts/{}?done=created", c.id)).into_response()),
        Err(e) => form_error(&v, None, f, e, "/contacts/new"),
    }
}

async fn edit_form(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let c: ContactItem = s.app.get_contact(&v.principal, contact_id(&id)?).await?.into();
    let f = ContactForm::from_item(&c, v.can(Permission::ContactsViewPii));
    Ok(ContactFormPage::new(&v, Some(c.id), f, None).into_response())
}

async fn update(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ContactForm>,
) -> PageResult {
    let cid = contact_id(&id)?;
    let input = f.for_update(v.can(Permission::ContactsViewPii));
    match s.app.update_contact(&v.principal, cid, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/contacts/{cid}?done=saved")).into_response()),
        Err(e) => form_error(&v, Some(cid.to_string()), f, e, &format!("/contacts/{cid}/edit")),
    }
}

// --- Delete ------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "contacts/delete.html")]
struct DeletePage {
    t: Tr,
    layout: Layout,
    c: ContactItem,
}

async fn confirm_delete(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let c = s.app.get_contact(&v.principal, contact_id(&id)?).await?;
    let page = DeletePage { t: v.t, layout: Layout::new(Some(&v), Section::Contacts), c: c.into() };
    Ok(page.into_response())
}

async fn delete_contact(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    s.app.delete_contact(&v.principal, contact_id(&id)?).await?;
    Ok(Redirect::to("/contacts?done=deleted").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(phone: &str, keys: &[&str], values: &[&str]) -> ContactForm {
        ContactForm {
            name: " Ayşe ".into(),
            phone: phone.into(),
            labels: "vip, , new ,".into(),
            attr_key: keys.iter().map(|s| (*s).to_owned()).collect(),
            attr_value: values.iter().map(|s| (*s).to_owned()).collect(),
            ..ContactForm::default()
        }
    }

    #[test]
    fn empty_personal_fields_keep_what_a_masked_viewer_cannot_see() {
        let f = form("", &[], &[]);
        assert_eq!(f.for_update(false).phone, None, "kept");
        assert_eq!(f.for_update(true).phone, Some(None), "cleared");
        assert_eq!(f.for_create().phone, None);
        assert_eq!(f.for_update(false).name, Some(Some("Ayşe".into())));
        assert_eq!(f.labels(), vec!["vip", "new"]);
    }

    #[test]
    fn attribute_rows_become_a_map_of_strings() {
        let f = form("+905321112233", &["plan", "", "", "city"], &["gold", "", "", "İzmir"]);
        let a = f.attributes();
        assert_eq!(a.len(), 2);
        assert_eq!(a["city"], "İzmir");
        assert_eq!(f.rows().len(), 2 + BLANK_ATTRIBUTE_ROWS);
        assert_eq!(f.for_update(true).attributes, Some(Some(a)));
        assert_eq!(form("", &[], &[]).for_update(true).attributes, Some(None));
        assert_eq!(attribute_text(&serde_json::json!(42)), "42");
    }

    #[test]
    fn next_links_keep_the_search() {
        assert_eq!(
            next_link("a@b.example", "vip list", "xyz"),
            "/contacts?q=a%40b.example&label=vip%20list&cursor=xyz"
        );
        assert_eq!(next_link("", "", "c"), "/contacts?cursor=c");
    }
}

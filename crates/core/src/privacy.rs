//! The privacy vocabulary and its rules, without I/O: consent purposes, states, legal bases and
//! sources; data-subject request kinds, jurisdictions and deadlines; the data categories that
//! retention, legal holds and erasure speak about, with their default retention; and the rule
//! that decides whether a contact may be processed for a purpose right now.
//!
//! Every enum has one stable snake_case spelling (`as_str`), used in the API and in storage.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::time::Millis;

/// Declares a closed string enum: `ALL`, `as_str`, `Display`, `FromStr` (an [`Invalid`] naming
/// `$field` and the accepted values) and serde as the same strings.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident => $s:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let accepted: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    Invalid::new($field, concat!("invalid_", $field),
                        format!("{} must be one of {}", $field, accepted.join(", ")))
                })
            }
        }
    };
}

string_enum!(
    /// What personal data is processed for. Each has its own consent state per contact.
    Purpose, "purpose" {
        /// Answering the customer: conversations they start, order and appointment messages.
        Service => "service",
        /// Promotional messages and campaigns.
        Marketing => "marketing",
        /// Letting an AI assistant read and answer the customer's messages.
        AiProcessing => "ai_processing",
        CallRecording => "call_recording",
        /// Special-category data (KVKK Art. 6, GDPR Art. 9): clinic appointments and the like.
        HealthData => "health_data",
    }
);

string_enum!(
    /// A recorded consent event's state.
    ConsentState, "state" {
        Granted => "granted",
        Withdrawn => "withdrawn",
    }
);

string_enum!(
    /// The lawful basis an event relies on. GDPR Art. 6(1)(a)–(f); KVKK Art. 5/1 (explicit
    /// consent) and Art. 5/2(a)–(f) including (ç). See [`LegalBasis::citation`].
    LegalBasis, "legal_basis" {
        GdprConsent => "gdpr_consent",
        GdprContract => "gdpr_contract",
        GdprLegalObligation => "gdpr_legal_obligation",
        GdprVitalInterests => "gdpr_vital_interests",
        GdprPublicTask => "gdpr_public_task",
        GdprLegitimateInterests => "gdpr_legitimate_interests",
        KvkkExplicitConsent => "kvkk_explicit_consent",
        KvkkProvidedByLaw => "kvkk_provided_by_law",
        KvkkVitalInterest => "kvkk_vital_interest",
        KvkkContract => "kvkk_contract",
        KvkkLegalObligation => "kvkk_legal_obligation",
        KvkkMadePublic => "kvkk_made_public",
        KvkkEstablishRight => "kvkk_establish_right",
        KvkkLegitimateInterest => "kvkk_legitimate_interest",
    }
);

impl LegalBasis {
    /// The article it cites.
    #[must_use]
    pub const fn citation(self) -> &'static str {
        match self {
            LegalBasis::GdprConsent => "GDPR Art. 6(1)(a)",
            LegalBasis::GdprContract => "GDPR Art. 6(1)(b)",
            LegalBasis::GdprLegalObligation => "GDPR Art. 6(1)(c)",
            LegalBasis::GdprVitalInterests => "GDPR Art. 6(1)(d)",
            LegalBasis::GdprPublicTask => "GDPR Art. 6(1)(e)",
            LegalBasis::GdprLegitimateInterests => "GDPR Art. 6(1)(f)",
            LegalBasis::KvkkExplicitConsent => "KVKK Art. 5/1",
            LegalBasis::KvkkProvidedByLaw => "KVKK Art. 5/2(a)",
            LegalBasis::KvkkVitalInterest => "KVKK Art. 5/2(b)",
            LegalBasis::KvkkContract => "KVKK Art. 5/2(c)",
            LegalBasis::KvkkLegalObligation => "KVKK Art. 5/2(ç)",
            LegalBasis::KvkkMadePublic => "KVKK Art. 5/2(d)",
            LegalBasis::KvkkEstablishRight => "KVKK Art. 5/2(e)",
            LegalBasis::KvkkLegitimateInterest => "KVKK Art. 5/2(f)",
        }
    }

    #[must_use]
    pub const fn is_consent(self) -> bool {
        matches!(self, LegalBasis::GdprConsent | LegalBasis::KvkkExplicitConsent)
    }
}

string_enum!(
    /// Where a consent event came from.
    ConsentSource, "source" {
        /// The customer said so in a conversation (evidence: the message id).
        InboundMessage => "inbound_message",
        /// A list upload (evidence: the import batch and who uploaded it).
        Import => "import",
        /// A web or paper form (evidence: the form reference).
        Form => "form",
        Api => "api",
        /// An opt-out or opt-in keyword the customer sent (see `optout`).
        Keyword => "keyword",
        /// Meta's `user_preferences` webhook: the customer used WhatsApp's own marketing switch.
        MetaPreference => "meta_preference",
    }
);

impl ConsentSource {
    /// Sources only Switchboard itself records (from inbound traffic), never an API caller.
    #[must_use]
    pub const fn is_automatic(self) -> bool {
        matches!(self, ConsentSource::Keyword | ConsentSource::MetaPreference)
    }
}

/// Checks that an event is coherent: a grant needs a legal basis, and purposes that the law
/// ties to consent (marketing: ePrivacy / Turkish İYS; health data: KVKK Art. 6, GDPR Art. 9;
/// AI processing and call recording by product promise) accept only a consent basis.
pub fn validate_event(purpose: Purpose, state: ConsentState, basis: Option<LegalBasis>) -> Result<(), Invalid> {
    match (state, basis) {
        (ConsentState::Granted, None) => {
            Err(Invalid::new("legal_basis", "legal_basis_required", "a grant needs a legal basis"))
        }
        (ConsentState::Granted, Some(b)) if purpose != Purpose::Service && !b.is_consent() => Err(Invalid::new(
            "legal_basis",
            "consent_basis_required",
            format!("{purpose} can only be granted on consent (gdpr_consent or kvkk_explicit_consent)"),
        )),
        _ => Ok(()),
    }
}

string_enum!(
    /// Whose deadlines and vocabulary a data-subject request follows.
    Jurisdiction, "jurisdiction" {
        Gdpr => "gdpr",
        Kvkk => "kvkk",
        Ccpa => "ccpa",
    }
);

impl Jurisdiction {
    /// Days to answer: GDPR Art. 12(3) one month (30 days), KVKK Art. 13 30 days, CCPA
    /// §1798.130 45 days.
    #[must_use]
    pub const fn response_days(self) -> i64 {
        match self {
            Jurisdiction::Gdpr | Jurisdiction::Kvkk => 30,
            Jurisdiction::Ccpa => 45,
        }
    }

    #[must_use]
    pub const fn due_at(self, created: Millis) -> Millis {
        created.plus_ms(self.response_days() * Millis::DAY)
    }

    /// The default for a tenant's home region (its phone region): Turkey → KVKK, the United
    /// States → CCPA, everywhere else GDPR.
    #[must_use]
    pub fn for_region(region: &str) -> Self {
        match region {
            "TR" => Jurisdiction::Kvkk,
            "US" => Jurisdiction::Ccpa,
            _ => Jurisdiction::Gdpr,
        }
    }

    /// The consent basis to record when the customer opts in themselves (a keyword).
    #[must_use]
    pub const fn consent_basis(self) -> LegalBasis {
        match self {
            Jurisdiction::Kvkk => LegalBasis::KvkkExplicitConsent,
            Jurisdiction::Gdpr | Jurisdiction::Ccpa => LegalBasis::GdprConsent,
        }
    }
}

string_enum!(
    /// What a data subject asks for (GDPR Art. 15–21, KVKK Art. 11, CCPA).
    RequestKind, "type" {
        Access => "access",
        Export => "export",
        Rectification => "rectification",
        Erasure => "erasure",
        Restriction => "restriction",
        Objection => "objection",
        WithdrawConsent => "withdraw_consent",
    }
);

impl RequestKind {
    /// Kinds whose fulfilment hands the subject a copy of their data.
    #[must_use]
    pub const fn yields_export(self) -> bool {
        matches!(self, RequestKind::Access | RequestKind::Export)
    }
}

string_enum!(
    /// Where a data-subject request stands. `unverified` → `verified` (by the customer's code
    /// or an operator's attestation) → `in_progress` (erasure running) → `completed`; an
    /// erasure blocked by a legal hold waits in `held`; three wrong codes make it
    /// `verification_locked` (only an operator attestation can verify it then).
    RequestStatus, "status" {
        Unverified => "unverified",
        VerificationLocked => "verification_locked",
        Verified => "verified",
        InProgress => "in_progress",
        Held => "held",
        Completed => "completed",
    }
);

impl RequestStatus {
    #[must_use]
    pub const fn is_verified(self) -> bool {
        matches!(
            self,
            RequestStatus::Verified | RequestStatus::InProgress | RequestStatus::Held | RequestStatus::Completed
        )
    }

    #[must_use]
    pub const fn is_open(self) -> bool {
        !matches!(self, RequestStatus::Completed)
    }
}

/// A verification code lives this long.
pub const CODE_TTL_MS: i64 = 10 * Millis::MINUTE;
/// Wrong codes allowed before the request is locked.
pub const CODE_MAX_ATTEMPTS: i32 = 3;

string_enum!(
    /// The categories of data that retention policies, legal holds and erasure steps name.
    /// Categories whose tables do not exist yet already have defaults so tenants can set them;
    /// the engine reports them as not enforced until a purger is registered.
    DataCategory, "category" {
        /// The contact record: name, phone, e-mail, attributes, labels, its key.
        ContactProfile => "contact_profile",
        Consents => "consents",
        Messages => "messages",
        Media => "media",
        CallLogs => "call_logs",
        CallRecordings => "call_recordings",
        /// The audit chain: entries are kept (ids only); the actor IP is masked after the period.
        SecurityLogs => "security_logs",
        /// Data-subject request records (the request is personal data too).
        PrivacyRequests => "privacy_requests",
        VerificationCodes => "verification_codes",
        /// Records of disclosures to third parties (`transfer_log`).
        TransferRecords => "transfer_records",
        Billing => "billing",
    }
);

/// How long a category is kept: `after_days` from the row's own anchor (for messages, the
/// conversation's resolution), and an absolute cap from creation. When both are set the
/// earlier deadline wins; when neither is, data is kept until erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RetentionRule {
    pub after_days: Option<u32>,
    pub cap_days: Option<u32>,
}

/// The longest period a policy may name (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

impl RetentionRule {
    #[must_use]
    pub const fn after(days: u32) -> Self {
        Self { after_days: Some(days), cap_days: None }
    }

    #[must_use]
    pub const fn is_keep_forever(self) -> bool {
        self.after_days.is_none() && self.cap_days.is_none()
    }

    pub fn validate(self) -> Result<(), Invalid> {
        for (field, v) in [("after_days", self.after_days), ("cap_days", self.cap_days)] {
            if v.is_some_and(|d| d == 0 || d > MAX_RETENTION_DAYS) {
                return Err(Invalid::new(
                    field,
                    "invalid_retention",
                    format!("{field} must be 1 to {MAX_RETENTION_DAYS} days, or null"),
                ));
            }
        }
        Ok(())
    }

    /// Rows whose anchor is before the first value, or whose creation is before the second,
    /// are due at `now`.
    #[must_use]
    pub fn cutoffs(self, now: Millis) -> Cutoffs {
        let before = |d: Option<u32>| d.map(|d| now.minus_ms(i64::from(d) * Millis::DAY).0);
        Cutoffs { anchor_before: before(self.after_days), created_before: before(self.cap_days) }
    }

    /// When a row anchored at `anchor` (None: not yet, e.g. an open conversation) and created
    /// at `created` falls due. The earlier of the two rules wins.
    #[must_use]
    pub fn due_at(self, anchor: Option<Millis>, created: Millis) -> Option<Millis> {
        let relative = self.after_days.zip(anchor).map(|(d, a)| a.plus_ms(i64::from(d) * Millis::DAY));
        let cap = self.cap_days.map(|d| created.plus_ms(i64::from(d) * Millis::DAY));
        match (relative, cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Cut-off instants (ms) of a [`RetentionRule`] at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cutoffs {
    pub anchor_before: Option<i64>,
    pub created_before: Option<i64>,
}

impl DataCategory {
    /// The defaults from the product documents (PRIVACY.md §0): call recordings 90 days, call
    /// logs 2 years, messages 1 year after the conversation is resolved and never more than 2
    /// years, security logs 3 years (then masked), data-subject request records 3 years after
    /// they close, verification codes 1 day after expiry, billing 10 years. Contact data,
    /// consents and disclosure records live as long as the contact.
    #[must_use]
    pub const fn default_rule(self) -> RetentionRule {
        match self {
            DataCategory::CallRecordings => RetentionRule::after(90),
            DataCategory::CallLogs => RetentionRule::after(730),
            DataCategory::Messages | DataCategory::Media => {
                RetentionRule { after_days: Some(365), cap_days: Some(730) }
            }
            DataCategory::SecurityLogs | DataCategory::PrivacyRequests => RetentionRule::after(1095),
            DataCategory::VerificationCodes => RetentionRule::after(1),
            DataCategory::Billing => RetentionRule::after(3650),
            DataCategory::ContactProfile | DataCategory::Consents | DataCategory::TransferRecords => {
                RetentionRule { after_days: None, cap_days: None }
            }
        }
    }
}

string_enum!(
    /// What a legal hold covers.
    HoldScope, "scope" {
        Tenant => "tenant",
        Contact => "contact",
        Conversation => "conversation",
    }
);

string_enum!(
    /// A standing limit on a contact's processing, besides consent.
    LimitKind, "kind" {
        /// GDPR Art. 18 / KVKK: data kept, every automated use stopped.
        Restriction => "restriction",
        /// GDPR Art. 21: no direct marketing or profiling.
        Objection => "objection",
    }
);

/// Why a contact may not be processed for a purpose now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No grant was ever recorded for a consent-based purpose.
    NoConsent,
    /// The latest event withdrew consent.
    Withdrawn,
    Restricted,
    Objected,
    /// An erased contact's identifier that had opted out: never market to it again.
    Suppressed,
}

impl Refusal {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::NoConsent => "no_consent",
            Refusal::Withdrawn => "withdrawn",
            Refusal::Restricted => "restricted",
            Refusal::Objected => "objected",
            Refusal::Suppressed => "suppressed",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the processing rule looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessingFacts {
    /// The current consent state for the purpose (`None`: never recorded).
    pub consent: Option<ConsentState>,
    pub restricted: bool,
    pub objected: bool,
    pub suppressed: bool,
}

/// The rule send paths apply at the moment of sending. Restriction stops everything.
/// Service messages rely on contract or legitimate interest and go unless the customer
/// withdrew them; every other purpose needs a standing grant. Objection stops marketing and AI
/// profiling; a suppressed identifier is never marketed to.
pub fn processing_allowed(purpose: Purpose, f: ProcessingFacts) -> Result<(), Refusal> {
    if f.restricted {
        return Err(Refusal::Restricted);
    }
    if f.objected && matches!(purpose, Purpose::Marketing | Purpose::AiProcessing) {
        return Err(Refusal::Objected);
    }
    if f.suppressed && purpose == Purpose::Marketing {
        return Err(Refusal::Suppressed);
    }
    match (purpose, f.consent) {
        (_, Some(ConsentState::Withdrawn)) => Err(Refusal::Withdrawn),
        (Purpose::Service, _) | (_, Some(ConsentState::Granted)) => Ok(()),
        (_, None) => Err(Refusal::NoConsent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse::<Purpose>().ok(), Some(*p));
        }
        for c in DataCategory::ALL {
            assert_eq!(c.as_str().parse::<DataCategory>().ok(), Some(*c));
        }
        let e = "bogus".parse::<RequestKind>().unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("type", "invalid_type"));
        assert_eq!(LegalBasis::KvkkLegalObligation.citation(), "KVKK Art. 5/2(ç)");
    }

    #[test]
    fn grants_need_a_fitting_basis() {
        use ConsentState::*;
        assert!(validate_event(Purpose::Marketing, Granted, None).is_err());
        assert!(validate_event(Purpose::Marketing, Granted, Some(LegalBasis::GdprLegitimateInterests)).is_err());
        assert!(validate_event(Purpose::HealthData, Granted, Some(LegalBasis::KvkkExplicitConsent)).is_ok());
        assert!(validate_event(Purpose::Service, Granted, Some(LegalBasis::KvkkContract)).is_ok());
        assert!(validate_event(Purpose::Marketing, Withdrawn, None).is_ok());
    }

    #[test]
    fn deadlines() {
        let t = Millis(1_000);
        assert_eq!(Jurisdiction::Kvkk.due_at(t), Millis(1_000 + 30 * Millis::DAY));
        assert_eq!(Jurisdiction::Ccpa.due_at(t), Millis(1_000 + 45 * Millis::DAY));
        assert_eq!(Jurisdiction::for_region("TR"), Jurisdiction::Kvkk);
        assert_eq!(Jurisdiction::for_region("DE"), Jurisdiction::Gdpr);
    }

    #[test]
    fn relative_rule_and_absolute_cap_earlier_wins() {
        let day = Millis::DAY;
        let rule = DataCategory::Messages.default_rule();
        let created = Millis(0);
        // Resolved after 100 days: 100 + 365 < 730 → the relative rule decides.
        assert_eq!(rule.due_at(Some(Millis(100 * day)), created), Some(Millis(465 * day)));
        // Resolved after 500 days: 500 + 365 > 730 → the cap decides.
        assert_eq!(rule.due_at(Some(Millis(500 * day)), created), Some(Millis(730 * day)));
        // Never resolved: only the cap applies.
        assert_eq!(rule.due_at(None, created), Some(Millis(730 * day)));
        assert_eq!(RetentionRule::default().due_at(Some(created), created), None);
        let c = rule.cutoffs(Millis(1_000 * day));
        assert_eq!(c.anchor_before, Some(635 * day));
        assert_eq!(c.created_before, Some(270 * day));
        assert!(RetentionRule::after(0).validate().is_err());
        assert!(RetentionRule::after(MAX_RETENTION_DAYS + 1).validate().is_err());
    }

    #[test]
    fn processing_rule() {
        let granted = ProcessingFacts { consent: Some(ConsentState::Granted), ..ProcessingFacts::default() };
        assert_eq!(processing_allowed(Purpose::Marketing, granted), Ok(()));
        assert_eq!(processing_allowed(Purpose::Marketing, ProcessingFacts::default()), Err(Refusal::NoConsent));
        assert_eq!(processing_allowed(Purpose::Service, ProcessingFacts::default()), Ok(()));
        let withdrawn = ProcessingFacts { consent: Some(ConsentState::Withdrawn), ..ProcessingFacts::default() };
        assert_eq!(processing_allowed(Purpose::Service, withdrawn), Err(Refusal::Withdrawn));
        for (facts, refusal) in [
            (ProcessingFacts { restricted: true, ..granted }, Refusal::Restricted),
            (ProcessingFacts { objected: true, ..granted }, Refusal::Objected),
            (ProcessingFacts { suppressed: true, ..granted }, Refusal::Suppressed),
        ] {
            assert_eq!(processing_allowed(Purpose::Marketing, facts), Err(refusal));
        }
        // Restriction stops service messages too; objection does not.
        assert_eq!(
            processing_allowed(Purpose::Service, ProcessingFacts { restricted: true, ..granted }),
            Err(Refusal::Restricted)
        );
        assert_eq!(processing_allowed(Purpose::Service, ProcessingFacts { objected: true, ..granted }), Ok(()));
    }
}

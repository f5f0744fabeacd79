-- Privacy engine: the consent ledger, processing limits, data-subject requests, disclosures to
-- third parties, legal holds, retention policies and runs, tenant deletion.
-- Same tables, columns, nullability and index names on PostgreSQL (the schema-parity test checks).
-- Personal values never appear in clear: rows hold ids, enums, blind indexes and sealed values.

-- Per-tenant privacy configuration. NULL jurisdiction / language: derived from the tenant's
-- region. Keyword lists are JSON arrays of strings.
CREATE TABLE privacy_settings (
    tenant_id BLOB NOT NULL PRIMARY KEY,
    jurisdiction TEXT,
    language TEXT,
    opt_out_keywords TEXT NOT NULL,
    opt_in_keywords TEXT NOT NULL,
    opt_out_reply TEXT,
    opt_in_reply TEXT,
    notice_version TEXT,
    updated_at BIGINT NOT NULL
);

-- The consent ledger: append-only events per contact and purpose. `evidence` is JSON of ids
-- (message id, import batch and uploader, form reference), never personal values.
CREATE TABLE consent_events (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('granted', 'withdrawn')),
    legal_basis TEXT,
    source TEXT NOT NULL,
    evidence TEXT NOT NULL,
    notice_version TEXT,
    actor TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX consent_events_contact ON consent_events (tenant_id, contact_id, purpose);

-- The current state per contact and purpose: the latest event by occurrence time.
CREATE TABLE consents (
    tenant_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('granted', 'withdrawn')),
    legal_basis TEXT,
    source TEXT NOT NULL,
    event_id BLOB NOT NULL,
    notice_version TEXT,
    changed_at BIGINT NOT NULL,
    granted_at BIGINT,
    withdrawn_at BIGINT,
    PRIMARY KEY (tenant_id, contact_id, purpose)
);

-- Restriction (nothing automated) and objection (no marketing or profiling) per contact.
CREATE TABLE processing_limits (
    tenant_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('restriction', 'objection')),
    request_id BLOB,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, kind)
);

-- Blind indexes (phone, e-mail, WhatsApp id) of erased contacts who had opted out of
-- marketing: proof of the opt-out, and a guard against marketing to them again after a
-- re-import. HMACs under the tenant's index key; no value can be read back from them.
CREATE TABLE suppressions (
    tenant_id BLOB NOT NULL,
    identifier_index BLOB NOT NULL,
    reason TEXT NOT NULL,
    request_id BLOB,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, identifier_index)
);

-- Data-subject requests. The operator's attestation is sealed under the contact's key, so it
-- becomes unreadable when the contact is erased while the record of the request remains.
CREATE TABLE privacy_requests (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    status TEXT NOT NULL,
    details TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    verified_at BIGINT,
    verified_by TEXT,
    attestation_sealed BLOB,
    fulfilled_at BIGINT,
    result TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX privacy_requests_contact ON privacy_requests (tenant_id, contact_id);
CREATE INDEX privacy_requests_status ON privacy_requests (tenant_id, status, due_at);
CREATE INDEX privacy_requests_fulfilled ON privacy_requests (tenant_id, fulfilled_at);

-- A request's verification code: HMAC-hashed; the sealed copy exists only until the delivery
-- job (`privacy.send_verification_code`) takes it.
CREATE TABLE privacy_verification_codes (
    tenant_id BLOB NOT NULL,
    request_id BLOB NOT NULL,
    code_hash BLOB NOT NULL,
    code_sealed BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX privacy_verification_codes_expiry ON privacy_verification_codes (tenant_id, expires_at);

-- Erasure progress: one row per finished step, written in the step's last transaction, so a
-- resumed erasure skips what is done.
CREATE TABLE erasure_steps (
    tenant_id BLOB NOT NULL,
    request_id BLOB NOT NULL,
    step TEXT NOT NULL,
    rows_affected BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, request_id, step)
);

-- Disclosures: which recipient received which category of a contact's data, when, and where
-- the recipient is (KVKK Art. 11: third parties at home and abroad). One row per contact,
-- recipient and category, counting transfers.
CREATE TABLE transfer_log (
    tenant_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    recipient TEXT NOT NULL,
    category TEXT NOT NULL,
    country TEXT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    transfers BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, recipient, category)
);

-- Recipients to tell about an erasure or rectification (KVKK Art. 11(1)(f), GDPR Art. 19).
CREATE TABLE third_party_notifications (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    request_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    recipient TEXT NOT NULL,
    country TEXT NOT NULL,
    categories TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX third_party_notifications_request ON third_party_notifications (tenant_id, request_id);

-- Legal holds: while one is active, retention and erasure keep what it covers. A NULL
-- category covers every category; a NULL subject is the whole tenant.
CREATE TABLE legal_holds (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('tenant', 'contact', 'conversation')),
    subject_id BLOB,
    category TEXT,
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    released_at BIGINT,
    released_by TEXT,
    release_reason TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX legal_holds_subject ON legal_holds (tenant_id, subject_id);

-- A tenant's overrides of the default retention (a row with both NULL keeps forever).
CREATE TABLE retention_policies (
    tenant_id BLOB NOT NULL,
    category TEXT NOT NULL,
    after_days INTEGER,
    cap_days INTEGER,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, category)
);

-- Retention runs. `as_of` is the instant every batch of the run measures against, so a run
-- resumed after a crash ends in the same state as an uninterrupted one.
CREATE TABLE retention_runs (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    as_of BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    batches BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX retention_runs_open ON retention_runs (tenant_id, finished_at);

-- Rows purged per run and category, updated in each batch's transaction.
CREATE TABLE retention_run_counts (
    tenant_id BLOB NOT NULL,
    run_id BLOB NOT NULL,
    category TEXT NOT NULL,
    rows_purged BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, run_id, category)
);

-- The security-log retention masks IPs of old entries; this index lists only unmasked ones.
CREATE INDEX audit_log_unmasked ON audit_log (tenant_id, at) WHERE ip IS NOT NULL;

-- Tenant deletion: deactivated at once, purged after `purge_after`. A platform record: it
-- outlives the tenant, holding ids and counts only.
CREATE TABLE tenant_deletions (
    tenant_id BLOB NOT NULL PRIMARY KEY,
    requested_at BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    purge_after BIGINT NOT NULL,
    postponed_reason TEXT,
    purged_at BIGINT,
    summary TEXT
);

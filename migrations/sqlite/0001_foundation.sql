-- Foundation: tenants, keys, people and access, contacts, audit chain, jobs, schedules.
-- Conventions (same on PostgreSQL): ids are UUIDv7 (BLOB here, UUID there); timestamps are
-- BIGINT UTC milliseconds; booleans are INTEGER 0/1 here, BOOLEAN there; personal values are
-- sealed envelopes (BLOB/BYTEA) with blind indexes beside them; tenant_id leads every key.

CREATE TABLE tenants (
    id BLOB NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    default_region TEXT NOT NULL DEFAULT 'TR',
    ip_allowlist TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deactivated_at BIGINT
);

-- Each tenant's keys, wrapped by the master key: 'data' keys seal values and wrap contact keys;
-- the 'index' key makes blind indexes. Deleting the rows crypto-shreds the tenant.
CREATE TABLE tenant_keys (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    key_id BLOB NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('data', 'index')),
    master_key_id BLOB NOT NULL,
    wrapped BLOB NOT NULL,
    active INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key_id)
);

CREATE TABLE users (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    email_sealed BLOB NOT NULL,
    email_index BLOB NOT NULL,
    name_sealed BLOB,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'supervisor', 'agent', 'analyst')),
    disabled INTEGER NOT NULL DEFAULT 0,
    locale TEXT NOT NULL DEFAULT 'en',
    totp_secret_sealed BLOB,
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    totp_last_step BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- Login finds a user by e-mail before the tenant is known: a platform-wide entry point.
CREATE UNIQUE INDEX users_email_index ON users (email_index);

CREATE TABLE user_recovery_codes (
    tenant_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    code_hash BLOB NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- Only the SHA-256 of the session token is stored.
CREATE TABLE sessions (
    token_hash BLOB NOT NULL PRIMARY KEY,
    tenant_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    mfa_state TEXT NOT NULL CHECK (mfa_state IN ('pending', 'passed', 'not_required')),
    mfa_attempts INTEGER NOT NULL DEFAULT 0,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE api_keys (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_by BLOB,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);
-- The key's public prefix finds it before the tenant is known: a platform-wide entry point.
CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix);

CREATE TABLE contacts (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    name_sealed BLOB,
    phone_sealed BLOB,
    phone_index BLOB,
    email_sealed BLOB,
    email_index BLOB,
    wa_id_sealed BLOB,
    wa_id_index BLOB,
    attributes_sealed BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX contacts_phone ON contacts (tenant_id, phone_index);
CREATE INDEX contacts_email ON contacts (tenant_id, email_index);
CREATE UNIQUE INDEX contacts_wa_id ON contacts (tenant_id, wa_id_index);

-- A contact's own data key, wrapped by the tenant key. Erasure deletes it.
CREATE TABLE contact_keys (
    tenant_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    key_id BLOB NOT NULL,
    tenant_key_id BLOB NOT NULL,
    wrapped BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, key_id)
);

CREATE TABLE contact_labels (
    tenant_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, label),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_labels_label ON contact_labels (tenant_id, label);

-- Append-only, chained per tenant: hash = HMAC-SHA256(chain key, prev_hash || canonical entry),
-- the chain key derived from the master key, which is never in the database. Entries hold ids and
-- field names, never personal values. The actor's IP is outside the chain (only its keyed digest
-- is in it) so retention can mask it without breaking verification.
CREATE TABLE audit_log (
    tenant_id BLOB NOT NULL,
    seq BIGINT NOT NULL,
    id BLOB NOT NULL,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    ip TEXT,
    ip_digest BLOB,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    details TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_target ON audit_log (tenant_id, target_kind, target_id);

-- The chain head: serialises appends per tenant and lets `audit verify` notice a truncated tail.
CREATE TABLE audit_heads (
    tenant_id BLOB NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BLOB NOT NULL
);

-- The job queue and transactional outbox. Payloads hold ids, never personal values.
CREATE TABLE jobs (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'running', 'done', 'dead')),
    run_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    dedupe_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (tenant_id, queue, dedupe_key);
-- Workers claim across tenants: the queue, not the tenant, leads this index.
CREATE INDEX jobs_claim ON jobs (queue, state, run_at);

-- Periodic work; a lease makes sure one node runs each schedule.
CREATE TABLE schedules (
    tenant_id BLOB NOT NULL,
    name TEXT NOT NULL,
    next_run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_run_at BIGINT,
    PRIMARY KEY (tenant_id, name)
);

-- WhatsApp: channels, the webhook inbox, conversations, messages, statuses, templates, media.

ALTER TABLE tenants ADD COLUMN resolved_conversation_policy TEXT NOT NULL DEFAULT 'reopen'
    CHECK (resolved_conversation_policy IN ('reopen', 'new'));
ALTER TABLE tenants ADD COLUMN send_read_receipts BOOLEAN NOT NULL DEFAULT FALSE;

-- A business number connected to a tenant. Tokens and secrets are sealed under the tenant key.
CREATE TABLE channels (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('whatsapp')),
    name TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    waba_id TEXT NOT NULL,
    display_phone_number TEXT NOT NULL,
    access_token_sealed BYTEA NOT NULL,
    app_secret_sealed BYTEA NOT NULL,
    verify_token_sealed BYTEA NOT NULL,
    graph_base_url TEXT NOT NULL,
    api_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'needs_reconnection', 'disconnected')),
    throughput_per_sec INTEGER NOT NULL,
    quality_rating TEXT,
    messaging_limit TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    disconnected_at BIGINT,
    PRIMARY KEY (tenant_id, id)
);
-- Webhooks arrive before the tenant is known: by channel id (per-channel URL) or by
-- phone_number_id (the platform-wide URL). Platform-wide entry points.
CREATE UNIQUE INDEX channels_id ON channels (id);
CREATE UNIQUE INDEX channels_phone_number ON channels (phone_number_id) WHERE disconnected_at IS NULL;
CREATE INDEX channels_waba ON channels (waba_id);

-- One row per accepted webhook POST, committed before the 200. The sealed body is kept only when
-- processing failed (for the retry job); processed deliveries keep their counts.
CREATE TABLE webhook_events (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    channel_id UUID NOT NULL,
    received_at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('processed', 'failed')),
    body_sealed BYTEA,
    messages INTEGER NOT NULL,
    statuses INTEGER NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_events_failed ON webhook_events (tenant_id, state, received_at);

CREATE TABLE conversations (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    contact_id UUID NOT NULL,
    channel_id UUID NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
    assignee_id UUID,
    snoozed_until BIGINT,
    last_message_at BIGINT NOT NULL,
    last_inbound_at BIGINT,
    unread_count INTEGER NOT NULL DEFAULT 0,
    preview_sealed BYTEA,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id)
);
-- At most one conversation that is not resolved per contact and number: the one to reuse.
CREATE UNIQUE INDEX conversations_active ON conversations (tenant_id, contact_id, channel_id) WHERE status <> 'resolved';
CREATE INDEX conversations_inbox ON conversations (tenant_id, last_message_at);
CREATE INDEX conversations_status ON conversations (tenant_id, status, last_message_at);
CREATE INDEX conversations_assignee ON conversations (tenant_id, assignee_id, last_message_at);
CREATE INDEX conversations_contact ON conversations (tenant_id, contact_id, channel_id);

CREATE TABLE conversation_labels (
    tenant_id UUID NOT NULL,
    conversation_id UUID NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, label),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_labels_label ON conversation_labels (tenant_id, label);

-- Messages in both directions. The content (text, caption, media, template, interactive, …) is
-- one sealed JSON under the contact's key. sort_at orders a conversation: the provider's
-- timestamp (bounded against the receive time) for inbound, the creation time for outbound.
CREATE TABLE messages (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    conversation_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    channel_id UUID NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind TEXT NOT NULL,
    provider_message_id TEXT,
    content_sealed BYTEA,
    status TEXT NOT NULL
        CHECK (status IN ('received', 'queued', 'sending', 'accepted', 'sent', 'delivered', 'read', 'failed', 'unknown')),
    error_code BIGINT,
    error_title TEXT,
    error_details TEXT,
    reply_to_provider_id TEXT,
    sender_user_id UUID,
    provider_ts BIGINT,
    time_flagged BOOLEAN NOT NULL DEFAULT FALSE,
    edited BOOLEAN NOT NULL DEFAULT FALSE,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    sort_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
);
-- Meta's id is unique per number: duplicates and replays insert nothing.
CREATE UNIQUE INDEX messages_provider_id ON messages (tenant_id, channel_id, provider_message_id);
CREATE INDEX messages_conversation ON messages (tenant_id, conversation_id, sort_at, id);
CREATE INDEX messages_contact ON messages (tenant_id, contact_id);

CREATE TABLE message_reactions (
    tenant_id UUID NOT NULL,
    message_id UUID NOT NULL,
    reactor TEXT NOT NULL CHECK (reactor IN ('contact', 'business')),
    emoji TEXT,
    reacted_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, message_id, reactor)
);

-- Statuses that arrived for a wamid we do not know yet (our send's answer was not stored yet):
-- applied and removed when the send completes.
CREATE TABLE parked_statuses (
    tenant_id UUID NOT NULL,
    channel_id UUID NOT NULL,
    provider_message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code BIGINT NOT NULL,
    error_title TEXT,
    error_details TEXT,
    provider_ts BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, provider_message_id, status, error_code)
);

-- Approved message templates of a WhatsApp Business Account (not personal data).
CREATE TABLE templates (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    waba_id TEXT NOT NULL,
    provider_template_id TEXT,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    parameter_format TEXT NOT NULL DEFAULT 'positional',
    components TEXT NOT NULL,
    quality TEXT,
    rejected_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX templates_name ON templates (tenant_id, waba_id, name, language);
CREATE INDEX templates_provider ON templates (tenant_id, provider_template_id);

-- Media of messages. The file lives sealed under the contact's key in the blob store.
CREATE TABLE media (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    message_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    channel_id UUID NOT NULL,
    provider_media_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    mime_type TEXT,
    sha256 TEXT,
    size_bytes BIGINT,
    blob_key TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'unavailable')),
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX media_message ON media (tenant_id, message_id);
CREATE INDEX media_contact ON media (tenant_id, contact_id);

-- Everything else Meta tells us about a number or account: quality and limit changes, template
-- status/quality/category updates, account alerts, system errors, fields we do not model. The
-- payload is sealed under the tenant key (some fields echo customer data).
CREATE TABLE channel_events (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    channel_id UUID NOT NULL,
    field TEXT NOT NULL,
    summary TEXT NOT NULL,
    payload_sealed BYTEA,
    at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX channel_events_channel ON channel_events (tenant_id, channel_id, at);

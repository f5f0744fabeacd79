-- A disconnected channel's Meta data is purged after a grace period unless the number is
-- connected again first. purge_counts keeps the rows removed so far (JSON per table), written
-- in each batch's transaction, so a purge resumed after a crash still reports the whole of it.
ALTER TABLE channels ADD COLUMN purge_after BIGINT;
ALTER TABLE channels ADD COLUMN purge_counts TEXT;
-- Numbers disconnected before this migration get the default grace period (30 days).
UPDATE channels SET purge_after = disconnected_at + 2592000000 WHERE disconnected_at IS NOT NULL;
CREATE INDEX channels_purge ON channels (purge_after);
-- The purge finds a channel's conversations and webhook events without reading the tenant's.
CREATE INDEX conversations_channel ON conversations (tenant_id, channel_id);
CREATE INDEX webhook_events_channel ON webhook_events (tenant_id, channel_id);

-- Whom a failed webhook's sealed body is about: the blind index (tenant index key, kind wa_id)
-- of every WhatsApp id it names. Erasure finds the raw bodies of a contact through it without
-- opening every stored body.
CREATE TABLE webhook_event_subjects (
    tenant_id UUID NOT NULL,
    wa_id_index BYTEA NOT NULL,
    event_id UUID NOT NULL,
    PRIMARY KEY (tenant_id, wa_id_index, event_id)
);
CREATE INDEX webhook_event_subjects_event ON webhook_event_subjects (tenant_id, event_id);

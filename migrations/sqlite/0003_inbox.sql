-- The inbox: what agents did to a conversation (shown as activity lines between its messages)
-- and the tenant's canned responses. Same tables, columns and index names on both databases.
-- Activity rows hold ids and a kind, never personal values.

CREATE TABLE conversation_activity (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    conversation_id BLOB NOT NULL,
    -- assigned, unassigned, resolved, reopened, snoozed
    kind TEXT NOT NULL,
    actor_user_id BLOB,
    -- The user a conversation was assigned to.
    target_user_id BLOB,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_activity_conversation ON conversation_activity (tenant_id, conversation_id, created_at);

-- Replies agents insert with "/" in the composer, found by their shortcut.
CREATE TABLE canned_responses (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    shortcut TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX canned_responses_shortcut ON canned_responses (tenant_id, shortcut);

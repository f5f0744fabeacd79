-- Search: keyed hashes (HMAC under the tenant's blind-index key) of the normalised words of
-- contact names, phone-number digits and message texts (switchboard_core::search). No word is
-- stored in clear; without the tenant key the tokens cannot be linked back to words.
-- Same tables, columns, nullability and index names on both engines (the schema-parity test checks).

-- owner_id: the contact (tokens of its name and phone, conversation_id NULL) or the message
-- (tokens of its text) the token belongs to; removing the owner removes its tokens by the key.
CREATE TABLE search_tokens (
    tenant_id UUID NOT NULL,
    owner_id UUID NOT NULL,
    token BYTEA NOT NULL,
    contact_id UUID NOT NULL,
    conversation_id UUID,
    PRIMARY KEY (tenant_id, owner_id, token)
);
-- A query looks tokens up and needs only the conversation or contact they point to.
CREATE INDEX search_tokens_token ON search_tokens (tenant_id, token, conversation_id, contact_id);

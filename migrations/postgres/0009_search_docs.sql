-- Search, second form: one document per owner (a contact's name and phone, or a message's
-- text) instead of one B-tree row per word; see the SQLite migration for why. Here the words
-- (keyed hashes) are an array with a GIN index, whose pending list takes inserts in bulk.
-- SQLite keeps them in an FTS5 table instead of the tokens column, and keys conversations
-- for it (conversations.search_key); the schema-parity test knows these differences.
CREATE TABLE search_docs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id UUID NOT NULL,
    owner_id UUID NOT NULL,
    contact_id UUID NOT NULL,
    conversation_id UUID,
    tokens BYTEA[] NOT NULL
);
CREATE UNIQUE INDEX search_docs_owner ON search_docs (tenant_id, owner_id);
CREATE INDEX search_docs_tokens ON search_docs USING GIN (tokens);

INSERT INTO search_docs (tenant_id, owner_id, contact_id, conversation_id, tokens)
SELECT tenant_id, owner_id, (array_agg(contact_id))[1], (array_agg(conversation_id))[1], array_agg(token)
FROM search_tokens t
-- Words of a message whose conversation is gone (none should be) are not carried over.
WHERE t.conversation_id IS NULL
   OR EXISTS (SELECT 1 FROM conversations c WHERE c.tenant_id = t.tenant_id AND c.id = t.conversation_id)
GROUP BY tenant_id, owner_id;
DROP TABLE search_tokens;

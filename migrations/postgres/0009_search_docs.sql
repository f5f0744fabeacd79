-- Search, second form: one document per owner (a contact's name and phone, or a message's
-- text) instead of one B-tree row per word; see the SQLite migration for why. Here the words
-- (keyed hashes) are an array with a GIN index, whose pending list takes inserts in bulk.
-- SQLite keeps them in an FTS5 table instead of the tokens column; the schema-parity test
-- knows this one difference.
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
FROM search_tokens GROUP BY tenant_id, owner_id;
DROP TABLE search_tokens;

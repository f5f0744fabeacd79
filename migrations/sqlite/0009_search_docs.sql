-- Search, second form: one document per owner (a contact's name and phone, or a message's
-- text) instead of one B-tree row per word. Writing a word row at a random place of the token
-- index was two thirds of the SQLite ingest transaction (docs/PERFORMANCE.md, "Search index,
-- 2026-12-04 night"); an inverted index appends instead.
--
-- SQLite keeps the words in a contentless FTS5 table (search_fts), each word the lowercase hex
-- of its keyed hash, so FTS5 stores no text in clear either. PostgreSQL keeps them in
-- search_docs.tokens with a GIN index (its migration); the schema-parity test knows these
-- differences. AUTOINCREMENT: an id is never reused, so the words of a removed document can
-- never attach to a later one.
CREATE TABLE search_docs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id BLOB NOT NULL,
    owner_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    conversation_id BLOB
);
CREATE UNIQUE INDEX search_docs_owner ON search_docs (tenant_id, owner_id);
-- A message's FTS5 rowid carries its conversation: search_key << 32 | the document's id, so a
-- search finds conversations from the index alone (looking up each matching document made a
-- common word 16 times slower). search_key is the id of the conversation's first document,
-- hence never reused. A contact's FTS5 rowid is its document's id (below 2^32).
ALTER TABLE conversations ADD COLUMN search_key BIGINT;
CREATE UNIQUE INDEX conversations_search_key ON conversations (tenant_id, search_key);
-- detail=none: a query asks only which documents hold a word, never where in them.
-- contentless_delete: rows can be deleted without the words they were written with.
CREATE VIRTUAL TABLE search_fts USING fts5(
    terms, content='', contentless_delete=1, detail=none, tokenize='ascii'
);

-- Words of a message whose conversation is gone (none should be) are not carried over.
INSERT INTO search_docs (tenant_id, owner_id, contact_id, conversation_id)
SELECT t.tenant_id, t.owner_id, t.contact_id, t.conversation_id FROM search_tokens t
WHERE t.conversation_id IS NULL
   OR EXISTS (SELECT 1 FROM conversations c WHERE c.tenant_id = t.tenant_id AND c.id = t.conversation_id)
GROUP BY t.tenant_id, t.owner_id ORDER BY t.tenant_id, t.owner_id;
UPDATE conversations SET search_key = (
    SELECT MIN(d.id) FROM search_docs d WHERE d.tenant_id = conversations.tenant_id AND d.conversation_id = conversations.id
);
INSERT INTO search_fts (rowid, terms)
SELECT CASE WHEN d.conversation_id IS NULL THEN d.id ELSE (c.search_key << 32) | d.id END,
       group_concat(lower(hex(t.token)), ' ')
FROM search_docs d
JOIN search_tokens t ON t.tenant_id = d.tenant_id AND t.owner_id = d.owner_id
LEFT JOIN conversations c ON c.tenant_id = d.tenant_id AND c.id = d.conversation_id
GROUP BY d.id;
DROP TABLE search_tokens;

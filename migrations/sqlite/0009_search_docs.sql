-- Search, second form: one document per owner (a contact's name and phone, or a message's
-- text) instead of one B-tree row per word. Writing a word row at a random place of the token
-- index was two thirds of the SQLite ingest transaction (docs/PERFORMANCE.md, "Search index,
-- 2026-12-04 night"); an inverted index appends instead.
--
-- SQLite keeps the words in a contentless FTS5 table (search_fts, rowid = search_docs.id):
-- each word is the lowercase hex of its keyed hash, so FTS5 stores no text in clear either.
-- PostgreSQL keeps them in search_docs.tokens with a GIN index (its migration); the
-- schema-parity test knows this one difference. AUTOINCREMENT: an id is never reused, so the
-- words of a removed document can never attach to a later one.
CREATE TABLE search_docs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id BLOB NOT NULL,
    owner_id BLOB NOT NULL,
    contact_id BLOB NOT NULL,
    conversation_id BLOB
);
CREATE UNIQUE INDEX search_docs_owner ON search_docs (tenant_id, owner_id);
-- detail=none: a query asks only which documents hold a word, never where in them.
-- contentless_delete: rows can be deleted without the words they were written with.
CREATE VIRTUAL TABLE search_fts USING fts5(
    terms, content='', contentless_delete=1, detail=none, tokenize='ascii'
);

INSERT INTO search_docs (tenant_id, owner_id, contact_id, conversation_id)
SELECT tenant_id, owner_id, contact_id, conversation_id FROM search_tokens
GROUP BY tenant_id, owner_id ORDER BY tenant_id, owner_id;
INSERT INTO search_fts (rowid, terms)
SELECT d.id, group_concat(lower(hex(t.token)), ' ')
FROM search_docs d JOIN search_tokens t ON t.tenant_id = d.tenant_id AND t.owner_id = d.owner_id
GROUP BY d.id;
DROP TABLE search_tokens;

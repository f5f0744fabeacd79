-- SQLite only (its FTS5 index merges in steps of their own from this version). PostgreSQL's
-- GIN index merges its pending list itself; the version is kept so both engines count alike.
SELECT 1;

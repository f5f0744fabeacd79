-- FTS5 merged its segments inside whichever transaction wrote them (automerge: up to 64 pages
-- per level at a time, and a whole level once a tenth of it was deleted). A webhook batch or
-- a retention batch that paid for a merge held the one SQLite writer for up to 150 ms while
-- every webhook waited. Merging now runs in steps of its own, a few milliseconds each
-- (`storage::search::merge_step`, driven by the server's search upkeep task). Crisis merges
-- stay as the safety net should that task fall behind (or not run: `switchboard seed`).
INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 0);
INSERT INTO search_fts(search_fts, rank) VALUES ('crisismerge', 64);

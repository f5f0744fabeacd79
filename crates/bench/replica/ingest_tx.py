"""A replica of one SQLite ingest transaction, to see what each part of the schema costs
without rebuilding the server (see docs/PERFORMANCE.md, "Ingest writer, 2026-12-04 evening").

    python3 crates/bench/replica/ingest_tx.py VARIANT        # 8 repeated words per message
    ZIPF=1 python3 crates/bench/replica/ingest_tx.py VARIANT # 12 draws from 20k Zipf words

VARIANT: base (today's schema), notok (no word tokens), notouch (no conversation touch),
wr (search_tokens WITHOUT ROWID), noidx (no search_tokens_token index), noconflict,
split / splitrowid (message tokens in their own table keyed by token, message),
fts (migration 0009: one search_docs row per message, its tokens as hex words in FTS5).
"""
try:  # SQLite >= 3.43 for FTS5's contentless_delete (pip install pysqlite3-binary)
    import pysqlite3 as sqlite3
except ImportError:
    import sqlite3
import os, time, uuid, random, sys, glob
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
variant = sys.argv[1]
path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"replica_{variant}.sqlite")
for f in glob.glob(path+"*"): os.remove(f)
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL"); db.execute("PRAGMA cache_size=-32768")
# The schema before search documents (0009), which the fts variant then applies.
for f in sorted(glob.glob(os.path.join(ROOT, "migrations/sqlite/*.sql"))):
    if os.path.basename(f) < "0009":
        db.executescript(open(f).read())
if variant == "wr":
    db.executescript("""DROP TABLE search_tokens; CREATE TABLE search_tokens (tenant_id BLOB NOT NULL, owner_id BLOB NOT NULL, token BLOB NOT NULL, contact_id BLOB NOT NULL, conversation_id BLOB, PRIMARY KEY (tenant_id, owner_id, token)) WITHOUT ROWID;
    CREATE INDEX search_tokens_token ON search_tokens (tenant_id, token, conversation_id, contact_id);""")
if variant == "noidx":
    db.execute("DROP INDEX search_tokens_token")
if variant == "split":
    db.executescript("""CREATE TABLE message_tokens (tenant_id BLOB NOT NULL, token BLOB NOT NULL, message_id BLOB NOT NULL, conversation_id BLOB NOT NULL, contact_id BLOB NOT NULL, PRIMARY KEY (tenant_id, token, message_id)) WITHOUT ROWID;
    CREATE INDEX message_tokens_message ON message_tokens (tenant_id, message_id);""")
if variant == "splitrowid":
    db.executescript("""CREATE TABLE message_tokens (tenant_id BLOB NOT NULL, token BLOB NOT NULL, message_id BLOB NOT NULL, conversation_id BLOB NOT NULL, contact_id BLOB NOT NULL, PRIMARY KEY (tenant_id, token, message_id));
    CREATE INDEX message_tokens_message ON message_tokens (tenant_id, message_id);""")
if variant == "fts":
    db.executescript(open(os.path.join(ROOT, "migrations/sqlite/0009_search_docs.sql")).read())
T = uuid.uuid4().bytes; CH = uuid.uuid4().bytes
convs = [(uuid.uuid4().bytes, uuid.uuid4().bytes) for _ in range(1000)]
db.execute("BEGIN")
for cv, ct in convs:
    db.execute("INSERT INTO conversations (tenant_id,id,contact_id,channel_id,status,last_message_at,created_at,updated_at) VALUES (?,?,?,?, 'open', 0,0,0)", (T,cv,ct,CH))
db.execute("COMMIT")
vocab = [os.urandom(16) for _ in range(20000)]
import itertools
cum = list(itertools.accumulate(1/(i+1) for i in range(20000)))
ZIPF = os.environ.get("ZIPF") == "1"
words = vocab[:8]
blob = os.urandom(1100)
N = 20000; B = 64
t0 = time.time(); seq = 0
for b in range(N // B):
    db.execute("BEGIN IMMEDIATE")
    msgs=[]; toks=[]; evs=[]; touches={}
    for i in range(B):
        seq += 1
        cv, ct = random.choice(convs)
        mid = (time.time_ns()//1000000).to_bytes(6,"big") + seq.to_bytes(4,"big") + os.urandom(6)
        msgs.append((T, mid, cv, ct, CH, 'inbound', 'text', f"wamid.{seq}", blob, 'received', seq, seq, seq, seq))
        if variant != "notok":
            ws = set(random.choices(vocab, cum_weights=cum, k=12)) if ZIPF else words
            for w in ws: toks.append((T, mid, w, ct, cv))
        evs.append((T, mid[::-1], CH, seq, 'processed', 1, 0))
        touches[cv] = seq
    db.executemany("INSERT INTO messages (tenant_id,id,conversation_id,contact_id,channel_id,direction,kind,provider_message_id,content_sealed,status,provider_ts,sort_at,created_at,updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", msgs)
    if variant == "fts":
        docs = {}
        for (_, mid, w, ct, cv) in toks: docs.setdefault((mid, ct, cv), []).append(w.hex())
        for (mid, ct, cv), ws in docs.items():
            rid = db.execute("INSERT INTO search_docs (tenant_id, owner_id, contact_id, conversation_id) VALUES (?,?,?,?) RETURNING id", (T, mid, ct, cv)).fetchone()[0]
            db.execute("INSERT INTO search_fts (rowid, terms) VALUES (?, ?)", (rid, " ".join(ws)))
    elif variant.startswith("split"):
        db.executemany("INSERT INTO message_tokens (tenant_id, message_id, token, contact_id, conversation_id) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING", toks)
    else: db.executemany("INSERT INTO search_tokens (tenant_id, owner_id, token, contact_id, conversation_id) VALUES (?,?,?,?,?)" + ("" if variant=="noconflict" else " ON CONFLICT DO NOTHING"), toks)
    if variant != "notouch":
        db.executemany("UPDATE conversations SET last_message_at=?, unread_count=unread_count+1, preview_sealed=?, updated_at=? WHERE tenant_id=? AND id=?", [(s, blob[:200], s, T, cv) for cv, s in touches.items()])
    db.executemany("INSERT INTO webhook_events (tenant_id,id,channel_id,received_at,state,messages,statuses) VALUES (?,?,?,?,?,?,?)", evs)
    db.execute("COMMIT")
dt = time.time() - t0
print(f"{variant}: {N/dt:.0f} msg/s, {dt/N*1e6:.0f} us/msg")

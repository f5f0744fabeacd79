use sqlx::Connection;
use switchboard_privacy::BlindIndex;
use uuid::Uuid;

use crate::db::{Backend, Db, Ex};
use crate::search::{self, FTS_ROWID, SearchDoc};
use crate::test_support::TestDb;

fn token(n: u8) -> BlindIndex {
    BlindIndex([n; 16])
}

/// The owners whose document holds `t`, straight from the engine's inverted index.
async fn owners_with(db: &Db, t: BlindIndex) -> Vec<Uuid> {
    let mut conn = db.read().await.unwrap();
    let mut owners: Vec<Uuid> = match conn.ex() {
        Ex::Sqlite(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT d.owner_id FROM search_docs d
             WHERE {FTS_ROWID} IN (SELECT rowid FROM search_fts WHERE search_fts MATCH $1)"
        )))
        .bind(format!("\"{}\"", t.0.iter().map(|b| format!("{b:02x}")).collect::<String>()))
        .fetch_all(&mut *c)
        .await
        .unwrap(),
        Ex::Pg(c) => sqlx::query_scalar("SELECT owner_id FROM search_docs WHERE tokens @> ARRAY[$1::bytea]")
            .bind(t)
            .fetch_all(&mut *c)
            .await
            .unwrap(),
    };
    owners.sort();
    owners
}

fn uuid_sql(b: Backend, u: Uuid) -> String {
    match b {
        Backend::Sqlite => format!("X'{}'", u.simple()),
        Backend::Postgres => format!("'{u}'::uuid"),
    }
}

/// Rows written the way migration 0008 left them, foreign keys off (no tenant, contact or
/// channel rows are needed to test the conversion).
async fn raw_rows(t: &TestDb, statements: &[String]) {
    match t.db.backend() {
        Backend::Sqlite => {
            let opts: sqlx::sqlite::SqliteConnectOptions = t.url.parse().unwrap();
            let mut c = sqlx::SqliteConnection::connect_with(&opts.foreign_keys(false)).await.unwrap();
            for sql in statements {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&mut c).await.unwrap();
            }
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&t.url).await.unwrap();
            sqlx::query("SET session_replication_role = replica").execute(&mut c).await.unwrap();
            for sql in statements {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&mut c).await.unwrap();
            }
        }
    }
}

/// Migration 0009 turns the word rows of 0005 into one document per owner, words intact;
/// words of a message whose conversation is gone are dropped.
async fn word_rows_become_documents(t: TestDb) {
    t.db.migrate_to(8).await.unwrap();
    let b = t.db.backend();
    let [tenant, contact, message, conversation, lost, gone] = std::array::from_fn(|_| Uuid::now_v7());
    let u = |x| uuid_sql(b, x);
    let mut sql = vec![format!(
        "INSERT INTO conversations (tenant_id, id, contact_id, channel_id, status, last_message_at, created_at, updated_at)
         VALUES ({}, {}, {}, {}, 'open', 0, 0, 0)",
        u(tenant),
        u(conversation),
        u(contact),
        u(Uuid::now_v7())
    )];
    for (owner, n, conv) in [
        (contact, 1, None),
        (contact, 2, None),
        (message, 1, Some(conversation)),
        (message, 3, Some(conversation)),
        (lost, 3, Some(gone)),
    ] {
        let bytes = match b {
            Backend::Sqlite => format!("X'{}'", format!("{n:02x}").repeat(16)),
            Backend::Postgres => format!("'\\x{}'::bytea", format!("{n:02x}").repeat(16)),
        };
        sql.push(format!(
            "INSERT INTO search_tokens (tenant_id, owner_id, token, contact_id, conversation_id)
             VALUES ({}, {}, {bytes}, {}, {})",
            u(tenant),
            u(owner),
            u(contact),
            conv.map_or("NULL".into(), u)
        ));
    }
    raw_rows(&t, &sql).await;
    t.db.migrate().await.unwrap();
    let mut both = vec![contact, message];
    both.sort();
    assert_eq!(owners_with(&t.db, token(1)).await, both);
    assert_eq!(owners_with(&t.db, token(2)).await, vec![contact]);
    assert_eq!(owners_with(&t.db, token(3)).await, vec![message]);
    t.cleanup().await;
}

#[tokio::test]
async fn word_rows_become_documents_sqlite() {
    word_rows_become_documents(TestDb::sqlite_empty().await.unwrap()).await;
}

#[tokio::test]
async fn word_rows_become_documents_postgres() {
    if let Some(t) = TestDb::postgres_empty().await.unwrap() {
        word_rows_become_documents(t).await;
    }
}

/// A replayed document keeps the first; a replaced one loses its old words; removed owners
/// leave nothing a later document could inherit. (Message documents, which need their
/// conversation, are covered by the server's search tests.)
async fn documents_insert_replace_remove(db: Db) {
    let tenant = switchboard_core::TenantId::new();
    let [one, two] = std::array::from_fn(|_| Uuid::now_v7());
    let doc = |owner, tokens: Vec<BlindIndex>| SearchDoc {
        owner_id: owner,
        contact_id: owner,
        conversation_id: None,
        tokens,
    };
    let mut tx = db.write().await.unwrap();
    let mut s = tx.tenant(tenant);
    search::insert_many(&mut s, &[doc(one, vec![token(1), token(2)]), doc(two, vec![token(1)])]).await.unwrap();
    search::insert_many(&mut s, &[doc(two, vec![token(9)])]).await.unwrap();
    search::replace(&mut s, &doc(one, vec![token(3)])).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(owners_with(&db, token(1)).await, vec![two]);
    assert!(owners_with(&db, token(2)).await.is_empty());
    assert!(owners_with(&db, token(9)).await.is_empty());
    assert_eq!(owners_with(&db, token(3)).await, vec![one]);

    let mut tx = db.write().await.unwrap();
    let mut s = tx.tenant(tenant);
    assert_eq!(search::remove_owned(&mut s, &[one, two]).await.unwrap(), 2);
    search::insert_many(&mut s, &[doc(Uuid::now_v7(), vec![token(4)])]).await.unwrap();
    tx.commit().await.unwrap();
    assert!(owners_with(&db, token(1)).await.is_empty());
    assert!(owners_with(&db, token(3)).await.is_empty());
    assert_eq!(owners_with(&db, token(4)).await.len(), 1);
}
crate::dual_test!(documents_insert_replace_remove);

/// Merging is left to `merge_step` (migration 0013): documents written in many transactions
/// stay findable while their segments are merged step by step, removed ones stay gone, and
/// the steps come to an end. PostgreSQL has nothing to merge.
async fn merge_steps_keep_documents(db: Db) {
    let tenant = switchboard_core::TenantId::new();
    let owners: Vec<Uuid> = (0..24).map(|_| Uuid::now_v7()).collect();
    // One transaction per pair of documents: twelve segments for FTS5 to merge.
    for pair in owners.chunks(2) {
        let mut tx = db.write().await.unwrap();
        let docs: Vec<SearchDoc> = pair
            .iter()
            .map(|o| SearchDoc {
                owner_id: *o,
                contact_id: *o,
                conversation_id: None,
                tokens: vec![token(7), token(8)],
            })
            .collect();
        search::insert_many(&mut tx.tenant(tenant), &docs).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = db.write().await.unwrap();
    search::remove_owned(&mut tx.tenant(tenant), &owners[..4]).await.unwrap();
    tx.commit().await.unwrap();

    let mut steps = 0;
    loop {
        let mut tx = db.write().await.unwrap();
        let merged = search::merge_step(&mut tx.platform()).await.unwrap();
        tx.commit().await.unwrap();
        if !merged {
            break;
        }
        steps += 1;
        assert!(steps < 100, "merge steps never ran out of work");
    }
    let mut expected: Vec<Uuid> = owners[4..].to_vec();
    expected.sort();
    assert_eq!(owners_with(&db, token(7)).await, expected);
    assert_eq!(owners_with(&db, token(8)).await, expected);
    let mut conn = db.read().await.unwrap();
    match conn.ex() {
        Ex::Sqlite(c) => {
            assert!(steps > 0, "twelve segments were left unmerged");
            let automerge: i64 = sqlx::query_scalar("SELECT v FROM search_fts_config WHERE k = 'automerge'")
                .fetch_one(&mut *c)
                .await
                .unwrap();
            assert_eq!(automerge, 0, "FTS5 must not merge inside the writing transactions");
        }
        Ex::Pg(_) => assert_eq!(steps, 0),
    }
}
crate::dual_test!(merge_steps_keep_documents);

use switchboard_privacy::BlindIndex;
use uuid::Uuid;

use crate::db::{Db, Ex};
use crate::search::{self, SearchDoc};
use crate::test_support::TestDb;

fn token(n: u8) -> BlindIndex {
    BlindIndex([n; 16])
}

/// The owners whose document holds `t`, straight from the engine's inverted index.
async fn owners_with(db: &Db, t: BlindIndex) -> Vec<Uuid> {
    let mut conn = db.read().await.unwrap();
    let mut owners: Vec<Uuid> = match conn.ex() {
        Ex::Sqlite(c) => sqlx::query_scalar(
            "SELECT d.owner_id FROM search_docs d WHERE d.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH $1)",
        )
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

/// Migration 0009 turns the word rows of 0005 into one document per owner, words intact.
async fn word_rows_become_documents(t: TestDb) {
    t.db.migrate_to(8).await.unwrap();
    let (tenant, contact, message, conversation) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let rows =
        [(contact, 1, None), (contact, 2, None), (message, 1, Some(conversation)), (message, 3, Some(conversation))];
    {
        let mut tx = t.db.write().await.unwrap();
        for (owner, n, conv) in rows {
            on!(tx.ex(), c => sqlx::query(
                "INSERT INTO search_tokens (tenant_id, owner_id, token, contact_id, conversation_id)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant).bind(owner).bind(token(n)).bind(contact).bind(conv)
            .execute(&mut *c).await.map(|r| r.rows_affected()))
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
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
/// leave nothing a later document could inherit.
async fn documents_insert_replace_remove(db: Db) {
    let tenant = switchboard_core::TenantId::new();
    let (contact, message) = (Uuid::now_v7(), Uuid::now_v7());
    let doc = |owner, conversation, tokens: Vec<BlindIndex>| SearchDoc {
        owner_id: owner,
        contact_id: contact,
        conversation_id: conversation,
        tokens,
    };
    let mut tx = db.write().await.unwrap();
    let mut s = tx.tenant(tenant);
    search::insert_many(
        &mut s,
        &[doc(contact, None, vec![token(1), token(2)]), doc(message, Some(Uuid::now_v7()), vec![token(1)])],
    )
    .await
    .unwrap();
    search::insert_many(&mut s, &[doc(message, Some(Uuid::now_v7()), vec![token(9)])]).await.unwrap();
    search::replace(&mut s, &doc(contact, None, vec![token(3)])).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(owners_with(&db, token(1)).await, vec![message]);
    assert!(owners_with(&db, token(2)).await.is_empty());
    assert!(owners_with(&db, token(9)).await.is_empty());
    assert_eq!(owners_with(&db, token(3)).await, vec![contact]);

    let mut tx = db.write().await.unwrap();
    let mut s = tx.tenant(tenant);
    assert_eq!(search::remove_owned(&mut s, &[contact, message]).await.unwrap(), 2);
    search::insert_many(&mut s, &[doc(Uuid::now_v7(), None, vec![token(4)])]).await.unwrap();
    tx.commit().await.unwrap();
    assert!(owners_with(&db, token(1)).await.is_empty());
    assert!(owners_with(&db, token(3)).await.is_empty());
    assert_eq!(owners_with(&db, token(4)).await.len(), 1);
}
crate::dual_test!(documents_insert_replace_remove);

use crate::dual_test;
use switchboard_core::TenantId;
use uuid::Uuid;

use crate::db::{Db, Ex};
use crate::privacy::consents::{self, ConsentEventRow};
use crate::privacy::tenant_purge::{PLATFORM_TABLES, TENANT_TABLES};
use crate::privacy::{holds, transfers};

/// Every table that holds a tenant's rows is in `TENANT_TABLES`, so tenant purge misses none:
/// a migration that adds a table without listing it fails here.
async fn tenant_tables_cover_the_schema(db: Db) {
    let mut conn = db.read().await.unwrap();
    let with_tenant: Vec<String> = match conn.ex() {
        Ex::Sqlite(c) => sqlx::query_scalar(
            "SELECT m.name FROM sqlite_master m WHERE m.type = 'table'
               AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'
               AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'tenant_id')
             ORDER BY m.name",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap(),
        Ex::Pg(c) => sqlx::query_scalar(
            "SELECT DISTINCT table_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap(),
    };
    for table in with_tenant {
        assert!(
            TENANT_TABLES.iter().any(|t| t.name == table) || PLATFORM_TABLES.contains(&table.as_str()),
            "table {table} holds tenant rows but is not in TENANT_TABLES (or PLATFORM_TABLES)"
        );
    }
    assert_eq!(TENANT_TABLES.last().map(|t| t.name), Some("tenants"));
}
dual_test!(tenant_tables_cover_the_schema);

fn event(contact: Uuid, state: &str, at: i64) -> ConsentEventRow {
    ConsentEventRow {
        id: Uuid::now_v7(),
        contact_id: contact,
        purpose: "marketing".into(),
        state: state.into(),
        legal_basis: (state == "granted").then(|| "gdpr_consent".into()),
        source: "api".into(),
        evidence: "{}".into(),
        notice_version: None,
        actor: "system:test".into(),
        occurred_at: at,
        recorded_at: at,
    }
}

/// The current state follows the latest event by occurrence; a late-arriving older event
/// stays in the ledger without overriding it.
async fn consent_state_follows_the_latest_event(db: Db) {
    let t = TenantId::new();
    let c = Uuid::now_v7();
    let mut tx = db.write().await.unwrap();
    let mut s = tx.tenant(t);
    consents::append(&mut s, &event(c, "granted", 100)).await.unwrap();
    consents::append(&mut s, &event(c, "withdrawn", 300)).await.unwrap();
    consents::append(&mut s, &event(c, "granted", 200)).await.unwrap();
    let now = consents::current_for(&mut s, c, "marketing").await.unwrap().unwrap();
    assert_eq!((now.state.as_str(), now.changed_at), ("withdrawn", 300));
    assert_eq!((now.granted_at, now.withdrawn_at), (Some(100), Some(300)));
    assert_eq!(consents::events(&mut s, c).await.unwrap().len(), 3);
    assert!(consents::current(&mut tx.tenant(TenantId::new()), c).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}
dual_test!(consent_state_follows_the_latest_event);

/// One row per contact, recipient and category, counting transfers and widening the window.
async fn transfer_log_aggregates(db: Db) {
    let t = TenantId::new();
    let c = Uuid::now_v7();
    let mut tx = db.write().await.unwrap();
    let mut s = tx.tenant(t);
    for at in [500, 100, 900] {
        transfers::record(&mut s, c, "Meta", "IE", "messages", at).await.unwrap();
    }
    transfers::record(&mut s, c, "Meta", "IE", "media", 700).await.unwrap();
    let rows = transfers::for_contact(&mut s, c).await.unwrap();
    assert_eq!(rows.len(), 2);
    let m = rows.iter().find(|r| r.category == "messages").unwrap();
    assert_eq!((m.first_at, m.last_at, m.transfers), (100, 900, 3));
    assert_eq!(transfers::delete_for_contact(&mut s, c).await.unwrap(), 2);
    tx.commit().await.unwrap();
}
dual_test!(transfer_log_aggregates);

/// `not_held_sql` keeps only rows whose subject has no active hold covering the category.
async fn holds_exclude_rows(db: Db) {
    let t = TenantId::new();
    let (held, free) = (Uuid::now_v7(), Uuid::now_v7());
    let mut tx = db.write().await.unwrap();
    let mut s = tx.tenant(t);
    for (subject, category) in [(held, Some("privacy_requests")), (free, Some("messages"))] {
        holds::insert(
            &mut s,
            &holds::HoldRow {
                id: Uuid::now_v7(),
                scope: "contact".into(),
                subject_id: Some(subject),
                category: category.map(str::to_owned),
                reason: "r".into(),
                placed_by: "system:test".into(),
                placed_at: 1,
                released_at: None,
                released_by: None,
                release_reason: None,
            },
        )
        .await
        .unwrap();
    }
    for contact in [held, free] {
        crate::privacy::limits::set(&mut s, contact, "restriction", None, 1).await.unwrap();
    }
    let clause = holds::not_held_sql("l", "contact_id", "$2");
    let sql = format!("SELECT COUNT(*) FROM processing_limits l WHERE l.tenant_id = $1 AND {clause}");
    let n: i64 = match tx.ex() {
        Ex::Sqlite(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(t.as_uuid())
            .bind("privacy_requests")
            .fetch_one(&mut *c)
            .await
            .unwrap(),
        Ex::Pg(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(t.as_uuid())
            .bind("privacy_requests")
            .fetch_one(&mut *c)
            .await
            .unwrap(),
    };
    assert_eq!(n, 1, "only the contact not held for this category");
    let mut s = tx.tenant(t);
    assert_eq!(holds::active_covering(&mut s, Some(held)).await.unwrap().len(), 1);
    assert!(holds::active_covering(&mut s, None).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}
dual_test!(holds_exclude_rows);

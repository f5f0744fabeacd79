use crate::dual_test;
use switchboard_core::TenantId;
use switchboard_privacy::{ChainKey, MasterKey};
use uuid::Uuid;

use crate::audit::{self, AuditEntry};
use crate::db::{Db, Ex};

fn entry(i: i64) -> AuditEntry {
    AuditEntry {
        at: 1_700_000_000_000 + i,
        actor_kind: "user".into(),
        actor_id: Some(Uuid::now_v7().to_string()),
        ip: Some(format!("10.0.0.{i}")),
        action: format!("contact.read.{i}"),
        target_kind: Some("contact".into()),
        target_id: Some(Uuid::now_v7().to_string()),
        details: serde_json::json!({"fields": ["name", "phone"]}),
    }
}

async fn seed(db: &Db, key: &ChainKey, n: i64) -> TenantId {
    let tenant = TenantId::new();
    let mut tx = db.write().await.unwrap();
    for i in 1..=n {
        let row = audit::append(&mut tx.tenant(tenant), key, &entry(i)).await.unwrap();
        assert_eq!(row.seq, i);
    }
    tx.commit().await.unwrap();
    tenant
}

async fn verify(db: &Db, key: &ChainKey, tenant: TenantId) -> audit::Verification {
    let mut c = db.read().await.unwrap();
    audit::verify(&mut c.tenant(tenant), key).await.unwrap()
}

async fn exec(db: &Db, sql: &'static str, tenant: TenantId) {
    let mut tx = db.write().await.unwrap();
    match tx.ex() {
        Ex::Sqlite(c) => {
            sqlx::query(sql).bind(tenant.as_uuid()).execute(&mut *c).await.unwrap();
        }
        Ex::Pg(c) => {
            sqlx::query(sql).bind(tenant.as_uuid()).execute(&mut *c).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

fn broken_at(v: &audit::Verification) -> Option<i64> {
    v.broken.as_ref().map(|b| b.seq)
}

async fn audit_chain_detects_tampering(db: Db) {
    let key = ChainKey::from_master(&MasterKey::generate());

    let t = seed(&db, &key, 5).await;
    let ok = verify(&db, &key, t).await;
    assert_eq!((ok.entries, ok.broken), (5, None));
    // Another master key cannot vouch for the chain.
    let other = ChainKey::from_master(&MasterKey::generate());
    assert_eq!(broken_at(&verify(&db, &other, t).await), Some(1));

    // Edited content.
    exec(&db, "UPDATE audit_log SET action = 'nothing.happened' WHERE tenant_id = $1 AND seq = 3", t).await;
    assert_eq!(broken_at(&verify(&db, &key, t).await), Some(3));

    // A deleted entry in the middle.
    let t = seed(&db, &key, 5).await;
    exec(&db, "DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 3", t).await;
    assert_eq!(broken_at(&verify(&db, &key, t).await), Some(3));

    // Reordered entries (2 and 4 swap places).
    let t = seed(&db, &key, 5).await;
    exec(&db, "UPDATE audit_log SET seq = -2 WHERE tenant_id = $1 AND seq = 2", t).await;
    exec(&db, "UPDATE audit_log SET seq = 2 WHERE tenant_id = $1 AND seq = 4", t).await;
    exec(&db, "UPDATE audit_log SET seq = 4 WHERE tenant_id = $1 AND seq = -2", t).await;
    assert_eq!(broken_at(&verify(&db, &key, t).await), Some(2));

    // A cut-off tail.
    let t = seed(&db, &key, 5).await;
    exec(&db, "DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 5", t).await;
    assert_eq!(broken_at(&verify(&db, &key, t).await), Some(5));

    // An altered IP is caught; a masked (removed) IP is allowed, as retention does it.
    let t = seed(&db, &key, 3).await;
    exec(&db, "UPDATE audit_log SET ip = '192.168.1.1' WHERE tenant_id = $1 AND seq = 2", t).await;
    assert_eq!(broken_at(&verify(&db, &key, t).await), Some(2));
    let t = seed(&db, &key, 3).await;
    {
        let mut tx = db.write().await.unwrap();
        assert_eq!(audit::mask_ips_before(&mut tx.tenant(t), i64::MAX).await.unwrap(), 3);
        tx.commit().await.unwrap();
    }
    assert_eq!(verify(&db, &key, t).await.broken, None);

    // An empty chain is intact; tenants' chains are independent.
    assert_eq!(verify(&db, &key, TenantId::new()).await.broken, None);
}
dual_test!(audit_chain_detects_tampering);

/// Concurrent appends (several transactions on PostgreSQL) still produce one unbroken chain.
async fn concurrent_appends_form_one_chain(db: Db) {
    let key = ChainKey::from_master(&MasterKey::generate());
    let tenant = TenantId::new();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = db.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.write().await.unwrap();
            audit::append(&mut tx.tenant(tenant), &key, &entry(i)).await.unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let v = verify(&db, &key, tenant).await;
    assert_eq!((v.entries, v.broken), (20, None));
}
dual_test!(concurrent_appends_form_one_chain);

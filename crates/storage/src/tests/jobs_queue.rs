use crate::dual_test;
use switchboard_core::TenantId;

use crate::db::Db;
use crate::jobs::{self, NewJob};
use crate::schedules;

fn job(dedupe: Option<&str>) -> NewJob {
    NewJob {
        queue: "test".into(),
        kind: "noop".into(),
        payload: "{}".into(),
        run_at: 1_000,
        max_attempts: 3,
        dedupe_key: dedupe.map(str::to_owned),
    }
}

async fn enqueue(db: &Db, tenant: TenantId, j: &NewJob) -> Option<uuid::Uuid> {
    let mut tx = db.write().await.unwrap();
    let id = jobs::enqueue(&mut tx.tenant(tenant), j, 1_000).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn claim(db: &Db, owner: &str, now: i64) -> Vec<jobs::JobRow> {
    let mut tx = db.write().await.unwrap();
    let rows = jobs::claim(&mut tx.platform(), "test", owner, 10, now, now + 30_000).await.unwrap();
    tx.commit().await.unwrap();
    rows
}

async fn same_dedupe_key_is_one_job(db: Db) {
    let t = TenantId::new();
    assert!(enqueue(&db, t, &job(Some("wamid.1"))).await.is_some());
    assert!(enqueue(&db, t, &job(Some("wamid.1"))).await.is_none());
    // Another tenant's identical key is its own job; jobs without a key never collide.
    assert!(enqueue(&db, TenantId::new(), &job(Some("wamid.1"))).await.is_some());
    assert!(enqueue(&db, t, &job(None)).await.is_some());
    assert!(enqueue(&db, t, &job(None)).await.is_some());
    assert_eq!(claim(&db, "w1", 2_000).await.len(), 4);
}
dual_test!(same_dedupe_key_is_one_job);

/// A job enqueued in a transaction that rolls back never existed (the outbox property).
async fn rolled_back_enqueue_leaves_no_job(db: Db) {
    let t = TenantId::new();
    let mut tx = db.write().await.unwrap();
    jobs::enqueue(&mut tx.tenant(t), &job(None), 1_000).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(claim(&db, "w1", 2_000).await.is_empty());
}
dual_test!(rolled_back_enqueue_leaves_no_job);

/// A worker that dies mid-job loses its lease; the job runs again, and the dead worker can no
/// longer complete it.
async fn expired_lease_runs_job_again(db: Db) {
    let t = TenantId::new();
    enqueue(&db, t, &job(None)).await.unwrap();
    let first = claim(&db, "dies", 2_000).await;
    assert_eq!(first.len(), 1);
    assert!(claim(&db, "other", 3_000).await.is_empty(), "leased job must not be claimed twice");

    // Past the lease, the reaper returns it to the queue.
    let now = 2_000 + 30_001;
    let mut tx = db.write().await.unwrap();
    assert_eq!(jobs::reap_expired(&mut tx.platform(), "test", now).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let second = claim(&db, "alive", now).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);

    let mut tx = db.write().await.unwrap();
    let p = &mut tx.platform();
    assert!(!jobs::complete(p, t.as_uuid(), first[0].id, "dies", now).await.unwrap(), "fenced");
    assert!(jobs::complete(p, t.as_uuid(), first[0].id, "alive", now).await.unwrap());
    tx.commit().await.unwrap();
}
dual_test!(expired_lease_runs_job_again);

async fn failures_retry_then_die(db: Db) {
    let t = TenantId::new();
    let id = enqueue(&db, t, &job(None)).await.unwrap();
    for attempt in 1..=3 {
        let now = 10_000 * attempt;
        let got = claim(&db, "w", now).await;
        assert_eq!(got.len(), 1, "attempt {attempt}");
        let retry = (attempt < 3).then_some(now + 1);
        let mut tx = db.write().await.unwrap();
        assert!(jobs::fail(&mut tx.platform(), t.as_uuid(), id, "w", "boom", retry, now).await.unwrap());
        tx.commit().await.unwrap();
    }
    let mut c = db.read().await.unwrap();
    let row = jobs::get(&mut c.tenant(t), id).await.unwrap();
    assert_eq!((row.state.as_str(), row.attempts, row.last_error.as_deref()), ("dead", 3, Some("boom")));
    assert!(claim(&db, "w", 1_000_000).await.is_empty());
}
dual_test!(failures_retry_then_die);

/// Two nodes racing for the same claim never both get a job.
async fn concurrent_claims_do_not_overlap(db: Db) {
    let t = TenantId::new();
    for _ in 0..50 {
        enqueue(&db, t, &job(None)).await;
    }
    let mut tasks = Vec::new();
    for w in 0..5 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = claim(&db, &format!("w{w}"), 5_000).await;
                if got.is_empty() {
                    break mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!((n, all.len()), (50, 50));
}
dual_test!(concurrent_claims_do_not_overlap);

async fn schedule_runs_on_one_node(db: Db) {
    let mut tx = db.write().await.unwrap();
    let p = &mut tx.platform();
    schedules::ensure(p, "retention", 1_000).await.unwrap();
    schedules::ensure(p, "retention", 9_999).await.unwrap();
    assert!(!schedules::try_claim(p, "retention", "a", 500, 60_500).await.unwrap(), "not due");
    assert!(schedules::try_claim(p, "retention", "a", 1_000, 61_000).await.unwrap());
    assert!(!schedules::try_claim(p, "retention", "b", 1_001, 61_001).await.unwrap(), "leased");
    assert!(!schedules::finish(p, "retention", "b", 2_000, 5_000).await.unwrap());
    assert!(schedules::finish(p, "retention", "a", 2_000, 5_000).await.unwrap());
    assert!(!schedules::try_claim(p, "retention", "b", 4_999, 64_999).await.unwrap());
    assert!(schedules::try_claim(p, "retention", "b", 5_000, 65_000).await.unwrap());
    // A node that died holding the lease is replaced once the lease runs out.
    assert!(schedules::try_claim(p, "retention", "c", 65_001, 125_001).await.unwrap());
    tx.commit().await.unwrap();
}
dual_test!(schedule_runs_on_one_node);

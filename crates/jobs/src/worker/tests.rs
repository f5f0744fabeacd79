use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use switchboard_core::{Clock, Millis, TenantId};
use switchboard_storage::Db;
use switchboard_storage::dual_test;
use switchboard_storage::jobs::{self, JobRow, NewJob};
use tokio_util::sync::CancellationToken;

use super::{Handler, JobError, QueueSpec, Worker};

struct Wall;
impl Clock for Wall {
    fn now(&self) -> Millis {
        Millis(
            i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
                .unwrap(),
        )
    }
}

/// Counts runs; the first `fail_first` runs fail with a retryable error; a run whose number is
/// in `hang_on` never returns (a worker that hangs or dies mid-job).
struct Probe {
    runs: AtomicUsize,
    fail_first: usize,
    hang: bool,
}

#[async_trait]
impl Handler for Probe {
    async fn run(&self, _job: &JobRow) -> Result<(), JobError> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hang {
            std::future::pending::<()>().await;
        }
        if n <= self.fail_first { Err(JobError::Retry(format!("failure {n}"))) } else { Ok(()) }
    }
}

fn probe(fail_first: usize, hang: bool) -> Arc<Probe> {
    Arc::new(Probe { runs: AtomicUsize::new(0), fail_first, hang })
}

fn queue() -> QueueSpec {
    QueueSpec { lease_ms: 400, poll_ms: 20, retry_base_ms: 10, retry_cap_ms: 50, ..QueueSpec::new("q", 4) }
}

async fn enqueue(db: &Db, tenant: TenantId, dedupe: Option<&str>) -> Option<uuid::Uuid> {
    let mut tx = db.write().await.unwrap();
    let id = jobs::enqueue(
        &mut tx.tenant(tenant),
        &NewJob {
            queue: "q".into(),
            kind: "probe".into(),
            payload: "{}".into(),
            run_at: 0,
            max_attempts: 5,
            dedupe_key: dedupe.map(str::to_owned),
        },
        Wall.now().0,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn state(db: &Db, tenant: TenantId, id: uuid::Uuid) -> (String, i32) {
    let row = jobs::get(&mut db.read().await.unwrap().tenant(tenant), id).await.unwrap();
    (row.state, row.attempts)
}

async fn wait_for(mut cond: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached in 6 s");
}

fn start(db: &Db, owner: &str, handler: Arc<Probe>) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let w = Worker::new(db.clone(), Arc::new(Wall), owner.into(), Arc::default()).handle("probe", handler);
    let task = tokio::spawn(w.run(vec![queue()], stop.clone()));
    (stop, task)
}

/// A worker that dies in the middle of a job: once its lease expires another worker runs
/// the job again, and it ends done.
async fn job_of_a_dead_worker_runs_again(db: Db) {
    let t = TenantId::new();
    let id = enqueue(&db, t, None).await.unwrap();
    let hanging = probe(0, true);
    let (_stop, task) = start(&db, "dies", hanging.clone());
    wait_for(async || hanging.runs.load(Ordering::SeqCst) == 1).await;
    task.abort(); // the process is gone; its lease is still in the table
    let healthy = probe(0, false);
    let (stop, task) = start(&db, "lives", healthy.clone());
    wait_for(async || state(&db, t, id).await.0 == "done").await;
    assert_eq!(healthy.runs.load(Ordering::SeqCst), 1);
    assert_eq!(state(&db, t, id).await, ("done".into(), 2));
    stop.cancel();
    task.await.unwrap();
}
dual_test!(job_of_a_dead_worker_runs_again);

async fn retryable_failures_are_retried(db: Db) {
    let t = TenantId::new();
    let id = enqueue(&db, t, None).await.unwrap();
    let flaky = probe(2, false);
    let (stop, task) = start(&db, "w", flaky.clone());
    wait_for(async || state(&db, t, id).await.0 == "done").await;
    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3);
    stop.cancel();
    task.await.unwrap();
}
dual_test!(retryable_failures_are_retried);

async fn same_dedupe_key_runs_once(db: Db) {
    let t = TenantId::new();
    let first = enqueue(&db, t, Some("media:wamid.1")).await.unwrap();
    assert!(enqueue(&db, t, Some("media:wamid.1")).await.is_none());
    let p = probe(0, false);
    let (stop, task) = start(&db, "w", p.clone());
    wait_for(async || state(&db, t, first).await.0 == "done").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(p.runs.load(Ordering::SeqCst), 1);
    stop.cancel();
    task.await.unwrap();
}
dual_test!(same_dedupe_key_runs_once);

async fn unknown_kind_is_buried(db: Db) {
    let t = TenantId::new();
    let id = enqueue(&db, t, None).await.unwrap();
    let stop = CancellationToken::new();
    let w = Worker::new(db.clone(), Arc::new(Wall), "w".into(), Arc::default());
    let task = tokio::spawn(w.run(vec![queue()], stop.clone()));
    wait_for(async || state(&db, t, id).await.0 == "dead").await;
    stop.cancel();
    task.await.unwrap();
}
dual_test!(unknown_kind_is_buried);

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use neuracrm_jobs::JobError;
use neuracrm_jobs::schedule::{SlotOutcome, run_slot};
use neuracrm_store::testing::fresh_store;

#[tokio::test]
async fn each_slot_runs_once_across_instances() {
    let t = fresh_store().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let now = Utc::now();
    let every = Duration::from_secs(900);
    let attempt = |instance: &'static str| {
        let store = t.store.clone();
        let runs = runs.clone();
        async move {
            run_slot(&store, instance, "test_job", every, now, || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, JobError>("did it".to_string())
            })
            .await
            .unwrap()
        }
    };
    let (a, b, c) = tokio::join!(attempt("a"), attempt("b"), attempt("c"));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "exactly one instance ran the slot"
    );
    let ran: Vec<_> = [a, b, c]
        .into_iter()
        .filter(|o| *o != SlotOutcome::Skipped)
        .collect();
    assert_eq!(ran, vec![SlotOutcome::Ran("ok: did it".into())]);

    let log = t.store.job_runs().recent("test_job", 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome.as_deref(), Some("ok: did it"));
    assert!(log[0].finished_at.is_some());

    // The next slot is a new claim.
    let later = now + chrono::Duration::seconds(900);
    let out = run_slot(&t.store, "b", "test_job", every, later, || async {
        Err::<String, _>(JobError::Store(neuracrm_store::StoreError::NotFound {
            entity: "lead",
        }))
    })
    .await
    .unwrap();
    match out {
        SlotOutcome::Ran(o) => assert!(o.starts_with("error: "), "{o}"),
        SlotOutcome::Skipped => panic!("a new slot must be claimable"),
    }
    assert_eq!(
        t.store
            .job_runs()
            .recent("test_job", 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

//! Two [`RedisBus`]es on one real Redis, as two `neuracrm serve` instances
//! have. Needs `NEURACRM_TEST_REDIS_URL`; without it the tests here do nothing
//! and `redis_under_test_is_reported` says so on stderr.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use neuracrm_domain::{ContactId, DomainEvent, EventKind, OrgId};
use neuracrm_events::testing::redis_url;
use neuracrm_events::{EventBus, RecvError, RedisBus, RedisBusOptions, Subscription};

/// Says, outside the test harness's capture, whether Redis was tested.
#[test]
fn redis_under_test_is_reported() {
    let mut err = std::io::stderr();
    let _ = match redis_url() {
        Some(_) => writeln!(err, "neuracrm-events: Redis bus tests ran on a real Redis"),
        None => writeln!(
            err,
            "neuracrm-events: Redis was NOT tested (set NEURACRM_TEST_REDIS_URL)"
        ),
    };
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A channel no other test (or concurrent run) uses.
fn unique_channel() -> String {
    format!(
        "neuracrm:test:{}:{}:{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

const WAIT: Duration = Duration::from_secs(5);

/// Two buses ("instances") on one fresh channel, both subscribed. Panics when
/// the variable is set but Redis does not answer.
async fn two_instances(url: &str) -> (RedisBus, RedisBus, String) {
    let channel = unique_channel();
    let opts = RedisBusOptions {
        channel: channel.clone(),
        ..Default::default()
    };
    let a = RedisBus::connect(url, opts.clone()).expect("NEURACRM_TEST_REDIS_URL parses");
    let b = RedisBus::connect(url, opts).expect("NEURACRM_TEST_REDIS_URL parses");
    for bus in [&a, &b] {
        tokio::time::timeout(WAIT, bus.wait_subscribed())
            .await
            .expect("NEURACRM_TEST_REDIS_URL is set but Redis is unreachable");
    }
    assert_ne!(a.instance_id(), b.instance_id());
    (a, b, channel)
}

fn contact_created(org: i64, id: i64) -> DomainEvent {
    DomainEvent::new(
        OrgId(org),
        chrono::Utc::now(),
        EventKind::ContactCreated { id: ContactId(id) },
    )
}

async fn next(sub: &mut Subscription) -> DomainEvent {
    tokio::time::timeout(WAIT, sub.recv())
        .await
        .expect("an event within 5 s")
        .expect("no lag, bus open")
}

fn id_of(e: &DomainEvent) -> i64 {
    match e.kind {
        EventKind::ContactCreated { id } => id.0,
        ref k => panic!("unexpected event {k:?}"),
    }
}

fn assert_nothing_pending(sub: &mut Subscription, who: &str) {
    match sub.try_recv() {
        None => {}
        Some(Ok(e)) => panic!("{who} got an extra event {e:?}"),
        Some(Err(RecvError::Lagged(n))) => panic!("{who} lagged by {n}"),
        Some(Err(RecvError::Closed)) => panic!("{who}'s bus closed"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_on_one_instance_reaches_every_subscriber_of_its_org_exactly_once() {
    let Some(url) = redis_url() else { return };
    let (a, b, _) = two_instances(&url).await;
    let mut a_org1 = a.subscribe_org(OrgId(1));
    let mut b_org1 = b.subscribe_org(OrgId(1));
    let mut b_org2 = b.subscribe_org(OrgId(2));
    let mut a_own = a.subscribe_local();
    let mut b_own = b.subscribe_local();

    let sent = contact_created(1, 100);
    a.publish(sent.clone());
    // A sentinel after it: whatever would come twice comes before this.
    a.publish(contact_created(1, 101));

    let got = next(&mut b_org1).await;
    assert_eq!((got.organization_id, id_of(&got)), (OrgId(1), 100));
    assert_eq!(got, sent, "the event arrives whole, time included");
    assert_eq!(id_of(&next(&mut b_org1).await), 101, "B got the event once");

    // B's marker reaches A over Redis after anything A itself published
    // there, so an echo of A's own event would show up before it.
    b.publish(contact_created(1, 102));
    assert_eq!(
        id_of(&next(&mut a_org1).await),
        100,
        "A's own subscriber, at once"
    );
    assert_eq!(id_of(&next(&mut a_org1).await), 101);
    assert_eq!(id_of(&next(&mut a_org1).await), 102, "A skips its own echo");
    assert_eq!(id_of(&next(&mut b_org1).await), 102);

    assert_nothing_pending(&mut a_org1, "A's org 1 subscriber");
    assert_nothing_pending(&mut b_org1, "B's org 1 subscriber");
    assert_nothing_pending(&mut b_org2, "B's org 2 subscriber");

    // Jobs listen to their own instance's events only, so they run once.
    assert_eq!(id_of(&next(&mut a_own).await), 100);
    assert_eq!(id_of(&next(&mut a_own).await), 101);
    assert_nothing_pending(&mut a_own, "A's own-events subscriber");
    assert_eq!(id_of(&next(&mut b_own).await), 102);
    assert_nothing_pending(&mut b_own, "B's own-events subscriber");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_orgs_subscriber_on_the_other_instance_never_sees_the_event() {
    let Some(url) = redis_url() else { return };
    let (a, b, _) = two_instances(&url).await;
    let mut b_org2 = b.subscribe_org(OrgId(2));
    let mut b_all = b.subscribe();

    a.publish(contact_created(1, 200));
    a.publish(contact_created(2, 201));

    // Both arrived on B (the unfiltered subscription proves org 1's did) ...
    assert_eq!(next(&mut b_all).await.organization_id, OrgId(1));
    assert_eq!(next(&mut b_all).await.organization_id, OrgId(2));
    // ... and org 2's subscriber saw org 2's only.
    let got = next(&mut b_org2).await;
    assert_eq!((got.organization_id, id_of(&got)), (OrgId(2), 201));
    assert_nothing_pending(&mut b_org2, "B's org 2 subscriber");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_is_not_an_event_is_dropped_not_delivered() {
    let Some(url) = redis_url() else { return };
    let (a, b, channel) = two_instances(&url).await;
    let mut b_all = b.subscribe();
    let mut b_org1 = b.subscribe_org(OrgId(1));

    let client = redis::Client::open(url.as_str()).expect("URL parses");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("NEURACRM_TEST_REDIS_URL is set but Redis is unreachable");
    let garbage = [
        "not json".to_owned(),
        "{}".to_owned(),
        // An event without the instance that sent it.
        serde_json::to_string(&contact_created(1, 1)).unwrap(),
        // An envelope whose event is missing its organization.
        r#"{"instance":"x","event":{"at":"2026-01-01T00:00:00Z","type":"contact_created","id":1}}"#
            .to_owned(),
    ];
    for g in &garbage {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(g)
            .query_async(&mut raw)
            .await
            .expect("PUBLISH");
        assert_eq!(receivers, 2, "both instances are subscribed");
    }
    // Sent after the garbage on the same channel, so it arrives after it.
    a.publish(contact_created(1, 300));

    let first = next(&mut b_all).await;
    assert_eq!(id_of(&first), 300, "the garbage was dropped");
    assert_eq!(id_of(&next(&mut b_org1).await), 300);
    assert_nothing_pending(&mut b_all, "B's unfiltered subscriber");
    assert_nothing_pending(&mut b_org1, "B's org 1 subscriber");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_reaches_the_other_instance_whole_and_in_order() {
    let Some(url) = redis_url() else { return };
    let (a, b, _) = two_instances(&url).await;
    let mut b_all = b.subscribe();
    // More than one pipeline (512), within the outbox (4096) and within B's
    // local buffer (1024), so no lag is possible however slowly B reads.
    const N: i64 = 1000;
    let started = std::time::Instant::now();
    for i in 0..N {
        a.publish(contact_created(1, i));
    }
    for i in 0..N {
        let e = tokio::time::timeout(WAIT, b_all.recv())
            .await
            .expect("the burst arrives within 5 s")
            .unwrap_or_else(|e| panic!("event {i}: {e}"));
        assert_eq!(id_of(&e), i);
    }
    eprintln!(
        "neuracrm-events: {N} events from A to B in {:?}",
        started.elapsed()
    );
}

//! Two instances over one database and one Redis, as `serve` runs them when
//! scaled out: a write through one reaches the other's subscribers of that
//! organization only. Needs `NEURACRM_TEST_REDIS_URL` (the test does nothing
//! without it, and `redis_under_test_is_reported` says so on stderr).

use std::io::Write;
use std::time::Duration;

use neuracrm_domain::{ContactId, DomainEvent, EventKind, OrgId};
use neuracrm_events::Subscription;
use neuracrm_events::testing::redis_url;
use neuracrm_server::Secret;
use serde_json::json;

use crate::helpers::{create_contact, spawn_app_built, two_instances_over_redis};

/// Says, outside the test harness's capture, whether Redis was tested.
#[test]
fn redis_under_test_is_reported() {
    let mut err = std::io::stderr();
    let _ = match redis_url() {
        Some(_) => writeln!(err, "neuracrm-server: scale-out tests ran on a real Redis"),
        None => writeln!(
            err,
            "neuracrm-server: Redis was NOT tested (set NEURACRM_TEST_REDIS_URL); scale-out tests skipped"
        ),
    };
}

#[tokio::test]
async fn a_write_through_one_instance_reaches_the_other_instances_subscribers_of_its_org_only() {
    let Some(redis) = redis_url() else { return };
    let (a, b) = two_instances_over_redis(&redis, "server").await;
    let one = a.tenant("One").await;
    let two = a.tenant("Two").await;

    let mut b_one = b.events.subscribe_org(OrgId(one.org_id));
    let mut b_two = b.events.subscribe_org(OrgId(two.org_id));
    let mut a_one = a.events.subscribe_org(OrgId(one.org_id));

    let id = ContactId(create_contact(&a, &one.token, "Ada").await);

    let got = next_contact(&mut b_one, OrgId(one.org_id)).await;
    assert_eq!(got.kind, EventKind::ContactCreated { id });
    let mine = next_contact(&mut a_one, OrgId(one.org_id)).await;
    assert_eq!(mine, got, "A's own subscriber has it too, the same event");

    // A write of organization Two after it: B's subscriber of Two gets that
    // one first, so One's never reached it.
    let id2 = ContactId(create_contact(&a, &two.token, "Bo").await);
    let got2 = next_contact(&mut b_two, OrgId(two.org_id)).await;
    assert_eq!(got2.kind, EventKind::ContactCreated { id: id2 });
    assert!(b_two.try_recv().is_none(), "nothing else for Two on B");
    assert!(b_one.try_recv().is_none(), "One's event came to B once");

    // The token A issued works on B, and B reads what A wrote: one database.
    let on_b = b
        .get_ok(&format!("/api/contacts/{}", id.0), &one.token)
        .await;
    assert_eq!(on_b["first_name"], "Ada");
}

/// The next contact event of `sub`, past the sign-up's own events (which may
/// still be on their way from the other instance); every event seen must be
/// of `org`.
async fn next_contact(sub: &mut Subscription, org: OrgId) -> DomainEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.recv())
            .await
            .expect("an event within 10 s")
            .expect("no lag, bus open");
        assert_eq!(e.organization_id, org, "{e:?} crossed organizations");
        if matches!(e.kind, EventKind::ContactCreated { .. }) {
            return e;
        }
    }
}

#[tokio::test]
async fn a_redis_url_that_does_not_parse_stops_start_up_without_showing_its_password() {
    let db = neuracrm_store::testing::fresh_store().await;
    let mut settings = neuracrm_server::Settings::for_database(&db.url);
    settings.redis_url = Some(Secret::new("redis://:hunter2-secret@/0"));
    let Err(err) = neuracrm_server::App::build(settings, db.store.clone()).await else {
        panic!("a Redis URL without a host is refused");
    };
    let text = err.to_string();
    assert!(text.starts_with("redis_url: invalid Redis URL"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn an_unreachable_redis_does_not_stop_start_up_and_writes_still_reach_local_subscribers() {
    // Nothing listens on port 1.
    let app = spawn_app_built(|s| s.redis_url = Some(Secret::new("redis://127.0.0.1:1"))).await;
    let t = app.tenant("Alone").await;
    let mut sub = app.events.subscribe_org(OrgId(t.org_id));
    let c = app
        .post_ok("/api/contacts", &t.token, json!({"first_name": "Ada"}), 201)
        .await;
    let got = next_contact(&mut sub, OrgId(t.org_id)).await;
    assert_eq!(
        got.kind,
        EventKind::ContactCreated {
            id: ContactId(c["id"].as_i64().unwrap())
        }
    );
}

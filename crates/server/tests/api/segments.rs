//! Segments over HTTP: create, preview, members with metrics, stats, the
//! contact's segments, 422s naming the place in the rule, one event per
//! refresh, the debounced refresh after writes, and tenancy.

use neuracrm_domain::{EventKind, OrgId};
use serde_json::{Value, json};

use crate::helpers::{
    MUST_COME, Tenant, TestApp, column, id_of, spawn_app, spawn_app_with, spawn_tenant,
    spawn_two_tenants,
};

/// A technology customer with a won deal over 50,000 and no recent
/// activity, and a healthcare contact with a recent activity.
async fn seed(app: &TestApp, t: &Tenant) -> (i64, i64) {
    let api = app.with(&t.token);
    let tess = json!({"first_name": "Tess", "industry": "Technology", "company": "Acme"});
    let tech = api.create_id("/api/contacts", tess).await;
    let hal = json!({"first_name": "Hal", "industry": "healthcare"});
    let health = api.create_id("/api/contacts", hal).await;
    for (value, stage) in [(6_000_000, "closed_won"), (2_000, "proposal")] {
        let deal = json!({"title": "D", "contact_id": tech, "value_cents": value, "stage": stage});
        api.create("/api/deals", deal).await;
    }
    let call = json!({"type": "call", "contact_id": health});
    api.create("/api/activities", call).await;
    (tech, health)
}

fn big_tech() -> Value {
    json!({"op": "and", "children": [
        {"field": "industry", "operand": "is", "value": "technology"},
        {"field": "deal.status", "operand": "is", "value": "won"},
        {"field": "deal.value_cents", "operand": "gt", "value": 5_000_000},
        {"field": "last_activity_at", "operand": "not_in_last_days", "value": 60},
    ]})
}

#[tokio::test]
async fn a_salesperson_finds_big_quiet_tech_customers_and_what_they_are_worth() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let (_, rep) = app.member(&t, "rep@acme.example.com", "rep").await;
    let (tech, health) = seed(&app, &t).await;

    let p = app
        .post_ok(
            "/api/segments/preview",
            &rep,
            json!({"rule": big_tech()}),
            200,
        )
        .await;
    assert_eq!(p["count"], 1, "{p}");
    assert_eq!(p["sample"][0]["contact_id"], tech, "{p}");
    assert_eq!(
        p["sample"][0]["metrics"]["won_value_cents"], 6_000_000,
        "{p}"
    );

    let seg = app
        .post_ok(
            "/api/segments",
            &rep,
            json!({"name": "Big quiet tech", "kind": "dynamic", "rule": big_tech()}),
            201,
        )
        .await;
    assert_eq!(
        (seg["size"].as_i64(), seg["kind"].as_str()),
        (Some(1), Some("dynamic"))
    );
    assert_eq!(seg["rule"], big_tech());
    let id = seg["id"].as_i64().unwrap();

    let members = app
        .get_ok(&format!("/api/segments/{id}/members"), &rep)
        .await;
    let m = &members["items"][0];
    assert_eq!(m["contact_id"], tech, "{members}");
    assert_eq!(m["first_name"], "Tess");
    assert_eq!(m["metrics"]["total_deals"], 2);
    assert_eq!(m["metrics"]["won_deals"], 1);
    assert_eq!(m["metrics"]["open_value_cents"], 2_000);
    assert_eq!(m["metrics"]["conversion_rate"], 1.0);

    let stats = app.get_ok(&format!("/api/segments/{id}/stats"), &rep).await;
    assert_eq!(stats["size"], 1, "{stats}");
    assert_eq!(stats["total_won_value_cents"], 6_000_000, "{stats}");
    assert_eq!(stats["open_pipeline_cents"], 2_000, "{stats}");
    assert_eq!(
        stats["at_risk_share"], 1.0,
        "a customer with no activity: {stats}"
    );

    let c = app.get_ok(&format!("/api/contacts/{tech}"), &rep).await;
    assert_eq!(c["segments"][0]["id"], id, "{c}");
    assert_eq!(c["segments"][0]["name"], "Big quiet tech", "{c}");
    let c = app.get_ok(&format!("/api/contacts/{health}"), &rep).await;
    assert_eq!(c["segments"], json!([]), "{c}");
    let list = app.get_ok("/api/contacts", &rep).await;
    assert!(
        list["items"][0].get("segments").is_none(),
        "lists stay as they were: {list}"
    );

    // Re-ruled: healthcare instead; one segment_updated, one left, one entered.
    let mut events = app.events.subscribe_org(OrgId(t.org_id));
    let r = app
        .patch(
            &format!("/api/segments/{id}"),
            &rep,
            json!({"rule": {"field": "industry", "operand": "in", "value": ["healthcare"]}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let seg: Value = r.json().await.unwrap();
    assert_eq!(seg["size"], 1, "{seg}");
    let e = tokio::time::timeout(MUST_COME, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        e.kind,
        EventKind::SegmentUpdated {
            id: neuracrm_domain::SegmentId(id),
            entered: 1,
            left: 1,
            size: 1
        }
    );
    let e = tokio::time::timeout(MUST_COME, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.kind.name(), "segment_changed");
    // Nothing changed: a refresh writes nothing and publishes nothing.
    let r = app
        .post_ok(&format!("/api/segments/{id}/refresh"), &rep, json!({}), 200)
        .await;
    assert_eq!(
        (r["entered"].as_u64(), r["left"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(events.try_recv().is_none(), "no event for an empty refresh");

    // The ready-made RFM segments: the one customer is a quintile of one.
    let made = app.post_ok("/api/segments/rfm", &rep, json!({}), 201).await;
    let sizes: Vec<(String, i64)> = column::<String>(&made, "name")
        .into_iter()
        .zip(column::<i64>(&made, "size"))
        .collect();
    assert_eq!(sizes.len(), 10);
    assert_eq!(sizes[9], ("RFM: hibernating".to_string(), 1), "{made}");
    assert_eq!(sizes.iter().map(|s| s.1).sum::<i64>(), 1, "{made}");

    let rep = app.with(&rep);
    rep.deleted(&format!("/api/segments/{id}")).await;
    rep.get_err(&format!("/api/segments/{id}"), 404, "not_found")
        .await;
}

#[tokio::test]
async fn a_bad_rule_is_a_422_naming_its_place_in_the_tree() {
    let (app, t) = spawn_tenant("Acme").await;
    let me = app.with(&t.token);
    for (rule, field) in [
        (
            json!({"op": "and", "children": [
                {"field": "industry", "operand": "is", "value": "x"},
                {"field": "total_leads", "operand": "gt", "value": "many"},
            ]}),
            "rule.children[1].value",
        ),
        (
            json!({"field": "shoe_size", "operand": "is", "value": 1}),
            "rule.field",
        ),
        (
            json!({"field": "industry", "operand": "gt", "value": "x"}),
            "rule.operand",
        ),
        (
            json!({"op": "and", "children": [{"op": "or", "children": [{"op": "and", "children": [
                {"op": "and", "children": [{"op": "and", "children": [{"op": "and", "children": [
                    {"field": "industry", "operand": "is_empty"}]}]}]}]}]}]}),
            "rule.children[0].children[0].children[0].children[0].children[0]",
        ),
    ] {
        for (path, body) in [
            (
                "/api/segments",
                json!({"name": "S", "kind": "static", "rule": rule}),
            ),
            ("/api/segments/preview", json!({"rule": rule})),
        ] {
            let e = me.post_invalid(path, body).await;
            assert_eq!(e["error"]["field"], field, "{path}: {e}");
        }
    }
    let blank = json!({"name": " ", "kind": "dynamic", "rule": {"field": "industry", "operand": "is_empty"}});
    let e = me.post_invalid("/api/segments", blank).await;
    assert_eq!(e["error"]["field"], "name");
}

#[tokio::test]
async fn a_static_segment_is_a_snapshot_and_a_dynamic_one_follows_writes() {
    let app = spawn_app_with(|s| s.segments_debounce_ms = 50).await;
    let t = app.tenant("Acme").await;
    let me = app.with(&t.token);
    let rule = json!({"field": "industry", "operand": "is", "value": "retail"});
    let mut ids = Vec::new();
    for kind in ["static", "dynamic"] {
        let body = json!({"name": kind, "kind": kind, "rule": rule});
        let s = me.create("/api/segments", body).await;
        assert_eq!(s["size"], 0);
        ids.push(id_of(&s));
    }
    let mut events = app.events.subscribe_org(OrgId(t.org_id));
    for name in ["Rita", "Rolf"] {
        let retail = json!({"first_name": name, "industry": "Retail"});
        me.create("/api/contacts", retail).await;
    }
    // The dynamic segment is refreshed after the writes: one event for
    // both contacts (they fall in one debounce window) or one per window,
    // never one per member, and the static one never.
    let mut entered = 0;
    while entered < 2 {
        let e = tokio::time::timeout(MUST_COME, events.recv())
            .await
            .expect("the dynamic segment is refreshed after the writes")
            .unwrap();
        if let EventKind::SegmentUpdated {
            id,
            entered: n,
            left,
            ..
        } = e.kind
        {
            assert_eq!(id.0, ids[1], "only the dynamic segment");
            assert_eq!(left, 0);
            entered += n;
        }
    }
    let seg = me.get_ok(&format!("/api/segments/{}", ids[1])).await;
    assert_eq!(seg["size"], 2);
    let seg = me.get_ok(&format!("/api/segments/{}", ids[0])).await;
    assert_eq!(seg["size"], 0, "the snapshot stays");
    let refresh = format!("/api/segments/{}/refresh", ids[0]);
    me.post_err(&refresh, json!({}), 409, "conflict").await;
}

#[tokio::test]
async fn a_rule_never_selects_another_organizations_contacts() {
    let (app, a, b) = spawn_two_tenants("Alpha", "Beta").await;
    seed(&app, &a).await;
    seed(&app, &b).await;
    let everyone = json!({"field": "total_deals", "operand": "gte", "value": 0});
    let they = app.with(&b.token);
    let p = they
        .post_ok("/api/segments/preview", json!({"rule": everyone}))
        .await;
    assert_eq!(p["count"], 2, "B's two contacts only: {p}");
    let id = app.with(&a.token).segment("All", "dynamic", everyone).await;
    for path in [
        format!("/api/segments/{id}"),
        format!("/api/segments/{id}/members"),
        format!("/api/segments/{id}/stats"),
    ] {
        they.get_err(&path, 404, "not_found").await;
    }
    let list = they.get_ok("/api/segments").await;
    assert_eq!(list["items"], json!([]), "{list}");
}

/// Fifteen customers who bought a lot and were called this week, and
/// fifteen contacts with nothing: two suggestions, found again by the save.
#[tokio::test]
async fn suggestions_split_big_recent_customers_from_the_rest_and_one_is_saved() {
    let (app, alpha, beta) = spawn_two_tenants("Alpha", "Beta").await;
    let a = app.with(&alpha.token);
    let mut spenders = Vec::new();
    for i in 0..15 {
        let big = json!({"first_name": format!("Big {i}")});
        let c = a.create_id("/api/contacts", big).await;
        a.create(
            "/api/deals",
            json!({"title": "D", "contact_id": c, "value_cents": 5_000_000 + i * 10_000, "stage": "closed_won"}),
        )
        .await;
        a.create("/api/activities", json!({"type": "call", "contact_id": c}))
            .await;
        spenders.push(c);
    }
    for i in 0..15 {
        a.create("/api/contacts", json!({"first_name": format!("Quiet {i}")}))
            .await;
    }

    let s = a.get_ok("/api/segments/suggestions?seed=5").await;
    assert_eq!(s["seed"], 5, "{s}");
    assert_eq!(
        (s["contacts"].as_i64(), s["sampled"].as_i64()),
        (Some(30), Some(30))
    );
    assert_eq!(s["k"], 2, "two groups: {s}");
    assert_eq!(
        s["silhouettes"].as_array().unwrap().len(),
        7,
        "k from 2 to 8"
    );
    let clusters = s["clusters"].as_array().unwrap();
    let big = clusters
        .iter()
        .find(|c| c["description"].as_str().unwrap().contains("high value"))
        .unwrap_or_else(|| panic!("a high-value cluster: {s}"));
    assert_eq!(big["size"], 15, "{big}");
    assert_eq!(big["share"], 0.5);
    let won: i64 = (0..15).map(|i| 5_000_000 + i * 10_000).sum();
    assert_eq!(big["stats"]["total_won_value_cents"], won, "{big}");
    // The same seed over the same data: the same clusters (the centres'
    // days since the last activity move with the clock, so they are left
    // out).
    let clusters_of = |s: &Value| {
        let mut s = s.clone();
        for c in s["clusters"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("centre");
        }
        s.as_object_mut().unwrap().remove("silhouettes");
        s
    };
    let again = a.get_ok("/api/segments/suggestions?seed=5").await;
    assert_eq!(clusters_of(&again), clusters_of(&s));

    let saved = a
        .create(
            "/api/segments/suggestions/save",
            json!({"name": "Big spenders", "seed": 5, "k": 2, "cluster": big["cluster"]}),
        )
        .await;
    assert_eq!(
        (saved["kind"].as_str(), saved["size"].as_i64()),
        (Some("static"), Some(15))
    );
    let members = a
        .get_ok(&format!("/api/segments/{}/members?limit=100", saved["id"]))
        .await;
    let ids: Vec<i64> = crate::helpers::column(&members["items"], "contact_id");
    assert_eq!(ids, spenders);

    // k out of 2 to 8; a cluster the clustering does not have.
    for (k, cluster, field) in [(9, 0, "k"), (2, 2, "cluster")] {
        let body = json!({"name": "x", "k": k, "cluster": cluster});
        let e = a.post_invalid("/api/segments/suggestions/save", body).await;
        assert_eq!(e["error"]["field"], field);
    }
    app.with(&alpha.token)
        .error(
            reqwest::Method::GET,
            "/api/segments/suggestions?seed=-1",
            None,
            400,
            "invalid_query",
        )
        .await;

    // Another organization clusters only its own contacts: it has none.
    let b = app
        .with(&beta.token)
        .get_ok("/api/segments/suggestions")
        .await;
    assert_eq!(
        (b["contacts"].as_i64(), b["k"].as_i64()),
        (Some(0), Some(0)),
        "{b}"
    );
    assert_eq!(b["clusters"], json!([]));
}

#[tokio::test]
async fn the_lead_and_contact_lists_filter_by_segment_and_another_organizations_is_a_404() {
    let (app, alpha, beta) = spawn_two_tenants("Alpha", "Beta").await;
    let a = app.with(&alpha.token);
    let (tech, health) = seed(&app, &alpha).await;
    for c in [tech, health] {
        a.create("/api/leads", json!({"title": "L", "contact_id": c}))
            .await;
    }
    let technology = json!({"field": "industry", "operand": "is", "value": "technology"});
    let seg = a.segment("Tech", "dynamic", technology).await;
    let contacts = a.get_ok(&format!("/api/contacts?segment_id={seg}")).await;
    assert_eq!(
        crate::helpers::column::<i64>(&contacts["items"], "id"),
        vec![tech]
    );
    let leads = a.get_ok(&format!("/api/leads?segment_id={seg}")).await;
    assert_eq!(
        crate::helpers::column::<i64>(&leads["items"], "contact_id"),
        vec![tech]
    );
    // Another organization's segment id is no segment of the caller's.
    let b = app.with(&beta.token);
    for list in ["contacts", "leads"] {
        b.get_err(&format!("/api/{list}?segment_id={seg}"), 404, "not_found")
            .await;
    }
}

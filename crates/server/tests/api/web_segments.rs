//! The segment pages: the list with sizes, a segment's stats and members,
//! the suggestions and their "save as segment" form (CSRF), the lists'
//! segment filter; for every role, and another organization's ids 404.

use reqwest::header::LOCATION;
use serde_json::json;

use crate::helpers::{Tenant, TestApp, spawn_app};
use crate::web::{Browser, hidden, signed_in, signed_in_as};

/// Two customers who bought and were called, two contacts with nothing,
/// and a dynamic segment of the first two: (segment id, customer ids).
async fn customers(app: &TestApp, t: &Tenant) -> (i64, Vec<i64>) {
    let a = app.with(&t.token);
    let mut ids = Vec::new();
    for (i, name) in ["Grace", "Alan", "Quiet", "Silent"].iter().enumerate() {
        let c = a
            .create(
                "/api/contacts",
                json!({"first_name": name, "company": "Acme"}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        if i < 2 {
            a.create(
                "/api/deals",
                json!({"title": "D", "contact_id": c, "value_cents": 7_000_000, "stage": "closed_won"}),
            )
            .await;
            a.create("/api/activities", json!({"type": "call", "contact_id": c}))
                .await;
            ids.push(c);
        }
    }
    let seg = a
        .create(
            "/api/segments",
            json!({"name": "Big buyers", "kind": "dynamic", "rule": {"field": "won_deals", "operand": "gte", "value": 1}}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    (seg, ids)
}

#[tokio::test]
async fn the_segment_pages_show_sizes_stats_and_members_to_every_role() {
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let (seg, ids) = customers(&app, &a).await;
    for role in ["admin", "manager", "rep"] {
        let mut b = if role == "admin" {
            signed_in(&app, &a).await
        } else {
            signed_in_as(&app, &a, role).await
        };
        let list = b.get_page("/segments").await;
        assert!(
            list.contains("href=\"/segments\" aria-current=\"page\""),
            "the menu line: {list}"
        );
        assert!(list.contains(&format!("id=\"segment-{seg}\"")), "{list}");
        assert!(list.contains("Big buyers"), "{list}");
        let page = b.get_page(&format!("/segments/{seg}")).await;
        for id in &ids {
            assert!(
                page.contains(&format!("id=\"member-{id}\"")),
                "{role}: {page}"
            );
        }
        assert!(page.contains("$140,000"), "won value of both: {page}");
        let contacts = b.get_page(&format!("/contacts?segment={seg}")).await;
        assert_eq!(
            contacts.matches("<tr id=\"contact-").count(),
            2,
            "{contacts}"
        );
        assert!(contacts.contains(&format!(
            "<option value=\"{seg}\" selected>Big buyers</option>"
        )));
        let leads = b.get_page(&format!("/leads?segment={seg}")).await;
        assert!(leads.contains("Big buyers"), "{leads}");
    }
}

#[tokio::test]
async fn another_organizations_segment_is_not_found_on_every_page() {
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let beta = app.tenant("Beta").await;
    let (theirs, _) = customers(&app, &beta).await;
    let mut b = signed_in(&app, &a).await;
    for path in [
        format!("/segments/{theirs}"),
        format!("/contacts?segment={theirs}"),
        format!("/leads?segment={theirs}"),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let list = b.get_page("/segments").await;
    assert!(!list.contains("Big buyers"), "{list}");
    let mut out = Browser::new(&app);
    for path in ["/segments", "/segments/suggestions", "/segments/1"] {
        let r = out.get(path).await;
        assert_eq!(r.status(), 303, "{path}");
        assert!(
            r.headers()[LOCATION]
                .to_str()
                .unwrap()
                .starts_with("/login?next=")
        );
    }
}

#[tokio::test]
async fn a_suggestion_is_saved_as_a_segment_from_its_form_and_only_with_the_csrf_token() {
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let (_, ids) = customers(&app, &a).await;
    let mut b = signed_in_as(&app, &a, "rep").await;
    let page = b.get_page("/segments/suggestions?seed=3").await;
    assert!(page.contains("2 groups of 4 contacts clustered"), "{page}");
    let big = page
        .split("<section class=\"card\"")
        .find(|s| s.contains("high value"))
        .unwrap_or_else(|| panic!("a high-value suggestion: {page}"));
    let cluster = hidden(big, "cluster");
    let form = [
        ("name", "Buyers"),
        ("seed", "3"),
        ("k", "2"),
        ("cluster", cluster.as_str()),
    ];
    let r = b.post("/segments/suggestions/save", &form).await;
    assert_eq!(r.status(), 403, "no CSRF token");
    let csrf = hidden(big, "csrf");
    let mut with = form.to_vec();
    with.push(("csrf", &csrf));
    let r = b.post("/segments/suggestions/save", &with).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    let saved = b.get_page(&to).await;
    assert!(saved.contains("static segment"), "{saved}");
    for id in &ids {
        assert!(saved.contains(&format!("id=\"member-{id}\"")), "{saved}");
    }
    let list = app.with(&a.token).get_ok("/api/segments").await;
    assert_eq!(list["items"][0]["name"], "Buyers");
    assert_eq!(list["items"][0]["size"], 2);
}

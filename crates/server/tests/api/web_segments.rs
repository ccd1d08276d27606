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

/// The builder's rows as posted: `(depth, op, field, operand, value)`.
fn rule_form<'a>(
    csrf: &'a str,
    act: &'a str,
    rows: &[(&'a str, &'a str, &'a str, &'a str, &'a str)],
) -> Vec<(String, String)> {
    let mut form = vec![
        ("csrf".to_string(), csrf.to_string()),
        ("do".to_string(), act.to_string()),
        ("name".to_string(), "Buyers".to_string()),
        ("kind".to_string(), "dynamic".to_string()),
    ];
    for (i, (depth, op, field, operand, value)) in rows.iter().enumerate() {
        for (k, v) in [
            ("depth", depth),
            ("op", op),
            ("field", field),
            ("operand", operand),
            ("value", value),
        ] {
            form.push((format!("c[{i}][{k}]"), v.to_string()));
        }
    }
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Posts the builder's `form` to `path`: the answer's status and page.
async fn build(b: &mut Browser<'_>, path: &str, form: &[(String, String)]) -> (u16, String) {
    let r = b.post(path, &pairs(form)).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The number the preview counts.
fn counted(page: &str) -> i64 {
    let at = page
        .find("id=\"preview-count\">")
        .unwrap_or_else(|| panic!("no count: {page}"));
    page[at + "id=\"preview-count\">".len()..]
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_rule_builder_adds_negates_and_removes_conditions_counts_and_saves_without_javascript()
{
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let (_, ids) = customers(&app, &a).await;
    let mut b = signed_in_as(&app, &a, "rep").await;
    let page = b.get_page("/segments/new").await;
    assert!(page.contains("name=\"c[1][field]\""), "{page}");
    assert!(page.contains("<label>Field"), "labelled: {page}");
    // The page comes without its count: a part that posts the form for it
    // once shown (htmx), or the Count button.
    assert!(!page.contains("id=\"preview-count\""), "{page}");
    assert!(
        page.contains("id=\"preview-pending\"") && page.contains("hx-trigger=\"load\""),
        "{page}"
    );
    let csrf = hidden(&page, "csrf");
    let won = ("1", "cond", "won_deals", "gte", "1");
    let root = ("0", "and", "", "", "");
    for (button, what) in [
        ("", "what htmx posts once the page is shown"),
        ("preview", "Count"),
    ] {
        let mut form = rule_form(&csrf, button, &[root, won]);
        form.retain(|(k, v)| k != "do" || !v.is_empty());
        let (_, page) = build(&mut b, "/segments/new", &form).await;
        assert_eq!(counted(&page), 2, "won_deals >= 1, {what}");
    }

    let form = rule_form(&csrf, "add:0", &[root, won]);
    let r = b.post("/segments/new", &pairs(&form[1..])).await;
    assert_eq!(r.status(), 403, "no CSRF token");
    let (status, page) = build(&mut b, "/segments/new", &form).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("name=\"c[2][field]\""),
        "a second condition: {page}"
    );

    // Negating the condition wraps it in a not group: the two others.
    let form = rule_form(&csrf, "not:1", &[root, won]);
    let (_, page) = build(&mut b, "/segments/new", &form).await;
    assert!(page.contains("name=\"c[1][op]\" id=\"c1-op\">"), "{page}");
    assert!(page.contains("<option value=\"not\" selected>"), "{page}");
    assert!(page.contains("name=\"c[2][field]\""), "{page}");
    assert_eq!(counted(&page), 2);

    // A group under the root, then removed again.
    let form = rule_form(&csrf, "group:0", &[root, won]);
    let (_, page) = build(&mut b, "/segments/new", &form).await;
    assert!(
        page.contains("name=\"c[3][field]\""),
        "group and its condition: {page}"
    );
    let form = rule_form(
        &csrf,
        "remove:1",
        &[root, won, ("1", "cond", "industry", "is", "x")],
    );
    let (_, page) = build(&mut b, "/segments/new", &form).await;
    assert!(!page.contains("name=\"c[2][field]\""), "{page}");
    assert!(page.contains("value=\"industry\" selected"), "{page}");
    assert_eq!(counted(&page), 0);

    // What htmx sends as the rule is typed (no button): the page with the
    // count of the rule as it stands, 200 even when it is not valid.
    let mut form = rule_form(
        &csrf,
        "",
        &[root, ("1", "cond", "first_name", "is", "grace")],
    );
    form.retain(|(k, _)| k != "do");
    let (status, page) = build(&mut b, "/segments/new", &form).await;
    assert_eq!((status, counted(&page)), (200, 1));
    let form = rule_form(
        &csrf,
        "",
        &[root, won, ("1", "cond", "total_leads", "gt", "many")],
    );
    let (status, page) = build(&mut b, "/segments/new", &form).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("id=\"preview-error\">Row 3: total_leads takes a whole number"),
        "{page}"
    );

    // Saving a rule that is not valid: 422, the error beside its condition.
    let form = rule_form(
        &csrf,
        "save",
        &[root, won, ("1", "cond", "total_leads", "gt", "many")],
    );
    let (status, page) = build(&mut b, "/segments/new", &form).await;
    assert_eq!(status, 422);
    assert!(
        page.contains(
            "<p class=\"error\" id=\"c2-error\" role=\"alert\">total_leads takes a whole number</p>"
        ),
        "{page}"
    );
    assert!(page.contains("aria-describedby=\"c2-error\""), "{page}");
    assert!(app.with(&a.token).get_ok("/api/segments").await["items"][1].is_null());

    // Saved: through the API's action, with its members.
    let rule = [
        root,
        ("1", "cond", "won_value_cents", "gt", "5000000"),
        ("1", "or", "", "", ""),
        ("2", "cond", "industry", "is_empty", ""),
        ("2", "cond", "company_size", "between", "10, 20"),
    ];
    let form = rule_form(&csrf, "save", &rule);
    let r = b.post("/segments/new", &pairs(&form)).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    let id: i64 = to.trim_start_matches("/segments/").parse().unwrap();
    let saved = app
        .with(&a.token)
        .get_ok(&format!("/api/segments/{id}"))
        .await;
    assert_eq!(saved["size"], 2);
    assert_eq!(
        saved["rule"],
        json!({"op": "and", "children": [
            {"field": "won_value_cents", "operand": "gt", "value": 5_000_000},
            {"op": "or", "children": [
                {"field": "industry", "operand": "is_empty"},
                {"field": "company_size", "operand": "between", "value": [10, 20]},
            ]},
        ]})
    );
    let page = b.get_page(&to).await;
    for c in &ids {
        assert!(page.contains(&format!("id=\"member-{c}\"")), "{page}");
    }
}

#[tokio::test]
async fn a_saved_rule_is_edited_in_the_builder_and_another_organizations_is_not_found() {
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let beta = app.tenant("Beta").await;
    let (seg, _) = customers(&app, &a).await;
    let (theirs, _) = customers(&app, &beta).await;
    for role in ["admin", "manager", "rep"] {
        let mut b = if role == "admin" {
            signed_in(&app, &a).await
        } else {
            signed_in_as(&app, &a, role).await
        };
        let page = b.get_page(&format!("/segments/{seg}/edit")).await;
        assert!(
            page.contains("value=\"won_deals\" selected"),
            "{role}: {page}"
        );
        assert!(
            page.contains("name=\"c[1][value]\" id=\"c1-value\" value=\"1\""),
            "{page}"
        );
        // Its count: what the part that loads after the page posts.
        assert!(page.contains("id=\"preview-pending\""), "{page}");
        let mut form = rule_form(
            &hidden(&page, "csrf"),
            "",
            &[
                ("0", "and", "", "", ""),
                ("1", "cond", "won_deals", "gte", "1"),
            ],
        );
        form.retain(|(k, _)| k != "do");
        let (_, page) = build(&mut b, &format!("/segments/{seg}/edit"), &form).await;
        assert_eq!(counted(&page), 2, "{role}");
    }
    let mut b = signed_in(&app, &a).await;
    let csrf = b.csrf().await;
    let form = rule_form(
        &csrf,
        "save",
        &[
            ("0", "and", "", "", ""),
            ("1", "cond", "first_name", "is", "grace"),
        ],
    );
    for path in [format!("/segments/{theirs}/edit")] {
        assert_eq!(b.get(&path).await.status(), 404);
        assert_eq!(b.post(&path, &pairs(&form)).await.status(), 404);
    }
    let untouched = app
        .with(&beta.token)
        .get_ok(&format!("/api/segments/{theirs}"))
        .await;
    assert_eq!(untouched["name"], "Big buyers");
    assert_eq!(untouched["size"], 2);
    let r = b
        .post(&format!("/segments/{seg}/edit"), &pairs(&form))
        .await;
    assert_eq!(r.status(), 303);
    let mine = app
        .with(&a.token)
        .get_ok(&format!("/api/segments/{seg}"))
        .await;
    assert_eq!(mine["name"], "Buyers");
    assert_eq!(mine["size"], 1, "re-evaluated at once");
    let mut out = Browser::new(&app);
    for path in [
        "/segments/new",
        "/segments/rfm",
        &format!("/segments/{seg}/edit"),
    ] {
        assert_eq!(out.get(path).await.status(), 303, "{path}");
    }
}

#[tokio::test]
async fn the_rfm_grid_counts_the_customers_names_their_segments_and_makes_them() {
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let beta = app.tenant("Beta").await;
    let (seg, _) = customers(&app, &a).await;
    // Each customer's scores as the members list gives them: the grid must
    // count the same.
    let members = app
        .with(&a.token)
        .get_ok(&format!("/api/segments/{seg}/members"))
        .await;
    let mut expected = std::collections::BTreeMap::<(i64, i64), i64>::new();
    for m in members["items"].as_array().unwrap() {
        let (r, f) = (
            m["metrics"]["rfm_recency"].as_i64().unwrap(),
            m["metrics"]["rfm_frequency"].as_i64().unwrap(),
        );
        *expected.entry((r, f)).or_default() += 1;
    }
    assert_eq!(expected.values().sum::<i64>(), 2);
    for role in ["admin", "manager", "rep"] {
        let mut b = if role == "admin" {
            signed_in(&app, &a).await
        } else {
            signed_in_as(&app, &a, role).await
        };
        let page = b.get_page("/segments/rfm").await;
        assert!(page.contains("2 customers"), "{page}");
        for r in 1..=5 {
            for f in 1..=5 {
                let n = expected.get(&(r, f)).copied().unwrap_or(0);
                let cell = format!("id=\"cell-{r}-{f}\"");
                let at = page.find(&cell).unwrap_or_else(|| panic!("{cell}: {page}"));
                let text = page[at..].split('>').nth(1).unwrap();
                assert!(text.starts_with(&format!("{n}<")), "{cell}: {text}");
            }
        }
    }
    // The rep made above, signed in again.
    let mut b = Browser::new(&app);
    b.sign_in(&format!("rep@{}.example.com", a.org_id)).await;
    let page = b.get_page("/segments/rfm").await;
    assert!(page.contains("no segment yet"), "{page}");
    let csrf = hidden(&page, "csrf");
    assert_eq!(b.post("/segments/rfm", &[]).await.status(), 403);
    let r = b.post("/segments/rfm", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/segments/rfm");
    let page = b.get_page("/segments/rfm").await;
    assert!(!page.contains("no segment yet"), "{page}");
    let list = app.with(&a.token).get_ok("/api/segments?limit=100").await;
    let hibernating = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "RFM: hibernating")
        .unwrap();
    let row = page.split("id=\"rfm-hibernating\"").nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(
        row.contains(&format!("href=\"/segments/{}\"", hibernating["id"])),
        "{row}"
    );
    assert!(row.contains(&format!(">{}<", hibernating["size"])), "{row}");
    // Another organization sees none of these customers.
    let mut other = signed_in(&app, &beta).await;
    let page = other.get_page("/segments/rfm").await;
    assert!(page.contains("0 customers"), "{page}");
    assert!(page.contains("no segment yet"), "{page}");
}

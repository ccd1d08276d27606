//! CSV import of contacts: upsert on e-mail, per-row rejections, events.

use serde_json::Value;

use crate::helpers::{TestApp, assert_error, spawn_app};

async fn import(app: &TestApp, token: &str, csv: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/import/contacts"))
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_string())
        .send()
        .await
        .unwrap()
}

const CSV: &str = "\
First_Name,last_name,email,company,company_size,extra
Ada,Lovelace,ada@example.com,Analytical,12,ignored
Grace,Hopper,GRACE@example.com,Navy,,
,NoFirst,nofirst@example.com,X,1,
Bad,Email,not-an-email,X,1,
Neg,Size,neg@example.com,X,-4,
NoMail,Person,,X,1,
Big,Size,big@example.com,X,lots,
";

#[tokio::test]
async fn importing_twice_creates_no_duplicates() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let mut events = app.events.subscribe();
    let r = import(&app, &t.token, CSV).await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
    let rejected: Vec<u64> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [3, 4, 5, 6, 7], "{report}");
    for r in report["rejected"].as_array().unwrap() {
        assert!(!r["reason"].as_str().unwrap().is_empty());
    }

    let again: Value = import(&app, &t.token, CSV).await.json().await.unwrap();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
    let list = app.get_ok("/api/contacts", &t.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let grace = app.get_ok("/api/contacts?q=grace", &t.token).await;
    assert_eq!(grace["items"][0]["email"], "grace@example.com");
    assert_eq!(grace["items"][0]["company"], "Navy");

    let names: Vec<String> = std::iter::from_fn(|| events.try_recv())
        .map(|e| e.unwrap().kind.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "contact_created",
            "contact_created",
            "contact_updated",
            "contact_updated"
        ]
    );
}

#[tokio::test]
async fn import_refuses_bad_documents() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let e = assert_error(
        import(&app, &t.token, "name,company\nAda,X\n").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["error"]["field"], "first_name");
    let r = app
        .client
        .post(app.url("/api/import/contacts"))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type").await;
    let r = app
        .client
        .post(app.url("/api/import/contacts"))
        .header("content-type", "text/csv")
        .body("a\n")
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    // A ragged row and invalid UTF-8 are row rejections, not failures.
    let report: Value = import(
        &app,
        &t.token,
        "first_name,email\nA,a@example.com,extra,cols\nB\n",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["rejected"][0]["row"], 2, "{report}");
    let r = app
        .client
        .post(app.url("/api/import/contacts"))
        .bearer_auth(&t.token)
        .header("content-type", "text/csv")
        .body(b"first_name,email\n\xff\xfe,x@example.com\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["rejected"][0]["row"], 1, "{report}");
}

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

async fn import_leads(app: &TestApp, token: &str, csv: &str) -> Value {
    let r = app
        .client
        .post(app.url("/api/import/leads"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

const LEADS_CSV: &str = "\
email,title,Status,source,budget,expected_decision,first_name,company,description
ada@example.com,CRM rollout,qualified,referral,\"12,500.50\",2027-03-31,,,
new@example.com,Pilot,,website,800,,Newt,Newco,first touch
nobody@example.com,Orphan,,,,,,,
ada@example.com,Bad status,maybe,,,,,,
ada@example.com,Bad budget,,,12.345,,,,
ada@example.com,Bad date,,,,31/03/2027,,,
ada@example.com,,,,,,,,
";

#[tokio::test]
async fn importing_leads_twice_creates_no_duplicates_and_keeps_what_rows_leave_empty() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let ada = app
        .post_ok(
            "/api/contacts",
            &t.token,
            serde_json::json!({"first_name": "Ada", "email": "ada@example.com"}),
            201,
        )
        .await;
    let mut events = app.events.subscribe();

    let report = import_leads(&app, &t.token, LEADS_CSV).await;
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
    let rejected: Vec<(u64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7],
        "{report}"
    );
    assert!(rejected[0].1.contains("first_name"), "{:?}", rejected[0]);
    assert!(rejected[1].1.contains("status"), "{:?}", rejected[1]);
    assert!(rejected[2].1.contains("budget"), "{:?}", rejected[2]);
    assert!(
        rejected[3].1.contains("expected_decision"),
        "{:?}",
        rejected[3]
    );
    assert!(rejected[4].1.contains("title"), "{:?}", rejected[4]);

    let leads = app
        .get_ok("/api/leads?sort=title&order=asc", &t.token)
        .await;
    let items = leads["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{leads}");
    let rollout = &items[0];
    assert_eq!(rollout["title"], "CRM rollout");
    assert_eq!(rollout["contact_id"], ada["id"]);
    assert_eq!(rollout["status"], "qualified");
    assert_eq!(rollout["source"], "referral");
    assert_eq!(rollout["budget_cents"], 1_250_050);
    assert_eq!(rollout["expected_decision"], "2027-03-31");
    let pilot = &items[1];
    assert_eq!(pilot["status"], "new", "default status");
    // The lead's new contact was created from the row.
    let newt = app
        .get_ok(&format!("/api/contacts/{}", pilot["contact_id"]), &t.token)
        .await;
    assert_eq!(
        (newt["first_name"].as_str(), newt["company"].as_str()),
        (Some("Newt"), Some("Newco"))
    );
    // The nobody@ row was refused before its contact was written.
    assert_eq!(
        app.get_ok("/api/contacts", &t.token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Again, with a changed description and an empty status: updated in
    // place, title matched without regard to case, status kept.
    let again = import_leads(
        &app,
        &t.token,
        "email,title,status,description\nADA@example.com,crm ROLLOUT,,now with notes\n",
    )
    .await;
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(1)),
        "{again}"
    );
    let rollout = app
        .get_ok(&format!("/api/leads/{}", rollout["id"]), &t.token)
        .await;
    assert_eq!(rollout["description"], "now with notes");
    assert_eq!(
        rollout["status"], "qualified",
        "an empty cell keeps the value"
    );
    assert_eq!(rollout["budget_cents"], 1_250_050);
    assert_eq!(
        app.get_ok("/api/leads", &t.token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let names: Vec<String> = std::iter::from_fn(|| events.try_recv())
        .map(|e| e.unwrap().kind.name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "lead_created",
            "contact_created",
            "lead_created",
            "lead_updated"
        ]
    );
}

/// Sends a chunked (no Content-Length) CSV import over a raw connection and
/// returns the status code.
async fn chunked_import(app: &TestApp, token: &str, chunks: &[String]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/import/contacts HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: text/csv\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for c in chunks {
        // The server may answer 413 and close before the last chunk.
        if s.write_all(format!("{:x}\r\n{c}\r\n", c.len()).as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn contact_rows(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| format!("Person{i},person{i}@example.com,Company {i}\n"))
        .collect()
}

#[tokio::test]
async fn imports_stream_past_the_json_body_limit_up_to_their_own() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.max_body_bytes = 4 * 1024;
        s.max_import_bytes = 256 * 1024;
    })
    .await;
    let t = app.tenant("Acme").await;
    // ~150 KB in chunks, far over the 4 KB JSON limit.
    let mut chunks = vec!["first_name,email,company\n".to_string()];
    chunks.extend((0..30).map(|k| contact_rows(k * 100, (k + 1) * 100)));
    assert!(chunks.iter().map(String::len).sum::<usize>() > 100 * 1024);
    assert_eq!(chunked_import(&app, &t.token, &chunks).await, 200);
    let last = app.get_ok("/api/contacts?q=Person2999", &t.token).await;
    assert_eq!(
        last["items"].as_array().unwrap().len(),
        1,
        "row 3,000: {last}"
    );

    // Over the import limit, while streaming: 413 and nothing written.
    let mut big = vec!["first_name,email,company\n".to_string()];
    big.extend((0..100).map(|k| contact_rows(10_000 + k * 100, 10_000 + (k + 1) * 100)));
    assert_eq!(chunked_import(&app, &t.token, &big).await, 413);
    let later = app.get_ok("/api/contacts?q=Person10000", &t.token).await;
    assert_eq!(later["items"].as_array().unwrap().len(), 0, "{later}");
    // A declared length over the limit is refused before reading.
    let r = app
        .client
        .post(app.url("/api/import/contacts"))
        .bearer_auth(&t.token)
        .header("content-type", "text/csv")
        .body(big.concat())
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large").await;
    // An empty document is a clear 400.
    let r = app
        .client
        .post(app.url("/api/import/contacts"))
        .bearer_auth(&t.token)
        .header("content-type", "text/csv")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        422,
        "no header row: the required columns are missing"
    );
}

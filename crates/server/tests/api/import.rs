//! CSV import of contacts: upsert on e-mail, per-row rejections, events.

use serde_json::Value;

use crate::helpers::{
    TestApp, assert_error, column, rejected_rows, spawn_tenant, spawn_two_tenants,
};

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
    let (app, t) = spawn_tenant("Acme").await;
    let mut events = app.events.subscribe();
    let r = import(&app, &t.token, CSV).await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
    let rejected: Vec<u64> = column(&report["rejected"], "row");
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
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let e = assert_error(
        import(&app, &t.token, "name,company\nAda,X\n").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["error"]["field"], "first_name");
    let r = by_t
        .post_raw("/api/import/contacts", "application/json", "{}")
        .await;
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
    let r = by_t
        .post_raw(
            "/api/import/contacts",
            "text/csv",
            b"first_name,email\n\xff\xfe,x@example.com\n".to_vec(),
        )
        .await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["rejected"][0]["row"], 1, "{report}");
}

/// Imports leads from `csv` through the API; the report.
pub(crate) async fn import_leads(app: &TestApp, token: &str, csv: &str) -> Value {
    app.with(token).import_csv("/api/import/leads", csv).await
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
    let (app, t) = spawn_tenant("Acme").await;
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
    let rejected = rejected_rows(&report["rejected"]);
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
    let by_t = app.with(&t.token);
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
    let r = by_t
        .post_raw("/api/import/contacts", "text/csv", big.concat())
        .await;
    assert_error(r, 413, "payload_too_large").await;
    // An empty document is a clear 400.
    let r = by_t.post_raw("/api/import/contacts", "text/csv", "").await;
    assert_eq!(
        r.status(),
        422,
        "no header row: the required columns are missing"
    );
}

/// The first line and the body of a raw HTTP/1.1 answer.
struct RawAnswer {
    status: u16,
    head: String,
    body: Value,
}

/// Sends a chunked CSV import over a raw connection, pausing `pause`
/// between chunks (a slow upload), and reads the answer.
async fn slow_import(
    app: &TestApp,
    token: &str,
    path: &str,
    chunks: &[String],
    pause: std::time::Duration,
) -> RawAnswer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://");
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = s.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: text/csv\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    let chunks = chunks.to_vec();
    // Written while the answer is read: the server may answer (a 4xx) and
    // close before the last chunk. The write half is kept open until the
    // answer is in (closing it would tell the server the client is gone).
    let writer = tokio::spawn(async move {
        let mut sent = write.write_all(head.as_bytes()).await;
        for c in chunks {
            if sent.is_err() {
                break;
            }
            sent = write
                .write_all(format!("{:x}\r\n{c}\r\n", c.len()).as_bytes())
                .await;
            tokio::time::sleep(pause).await;
        }
        if sent.is_ok() {
            let _ = write.write_all(b"0\r\n\r\n").await;
        }
        write
    });
    let mut answer = Vec::new();
    let _ = read.read_to_end(&mut answer).await;
    drop(writer.await);
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    RawAnswer {
        status: head.split(' ').nth(1).unwrap().parse().unwrap(),
        head: head.to_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// Polls `GET /api/imports/{id}` until the import has ended (or `limit`
/// passed); its last state.
async fn until_ended(app: &TestApp, token: &str, id: i64, limit: std::time::Duration) -> Value {
    let start = std::time::Instant::now();
    loop {
        let st = app.get_ok(&format!("/api/imports/{id}"), token).await;
        if st["status"] == "completed" || st["status"] == "failed" {
            return st;
        }
        assert!(start.elapsed() < limit, "not ended within {limit:?}: {st}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Contacts `from..to` in CSV, with a bad e-mail every `bad_every` rows
/// (`None`: none).
fn numbered_contacts(from: usize, to: usize, bad_every: Option<usize>) -> Vec<String> {
    let rows: Vec<String> = (from..to)
        .map(|i| match bad_every {
            Some(k) if i % k == 0 => format!("Bad{i},not-an-email-{i},Co {i}\n"),
            _ => format!("Person{i},person{i}@example.com,Company {i}\n"),
        })
        .collect();
    let mut chunks = vec!["first_name,email,company\n".to_string()];
    chunks.extend(rows.chunks(2_000).map(|c| c.concat()));
    chunks
}

async fn contacts_of(app: &TestApp, org: i64) -> i64 {
    count(app, "contacts WHERE organization_id = $1", org).await
}

/// `SELECT COUNT(*) FROM {rows}`, `$1` bound to `arg`.
async fn count(app: &TestApp, rows: &str, arg: i64) -> i64 {
    let sql = neuracrm_store::Sql::new(&format!("SELECT COUNT(*) FROM {rows}")).arg(arg);
    let (n,): (i64,) = app.store.db().fetch_one(sql).await.unwrap();
    n
}

/// 6,000 contacts (about 280 KB, over the default 256 KiB written in a
/// request), uploaded slowly enough that the 1 s request timeout would cut
/// them: 202 with the import, which completes in the background with the
/// rows the in-request path would have written.
#[tokio::test]
async fn a_large_import_answers_202_and_completes_in_the_background() {
    const ROWS: usize = 6_000;
    // A bus that keeps every event of the import for the check below.
    let bus = std::sync::Arc::new(neuracrm_events::BroadcastBus::new(4 * ROWS));
    let app = crate::helpers::spawn_app_on(|s| s.request_timeout_secs = 1, bus).await;
    let t = app.tenant("Acme").await;
    let mut events = app.events.subscribe();
    let chunks = numbered_contacts(0, ROWS, Some(1_000));
    let bytes: usize = chunks.iter().map(String::len).sum();
    assert!(
        bytes > 256 * 1024,
        "{bytes} bytes: over the in-request limit"
    );
    // 4 chunks, 400 ms apart: 1.6 s of upload against a 1 s timeout.
    let r = slow_import(
        &app,
        &t.token,
        "/api/import/contacts",
        &chunks,
        std::time::Duration::from_millis(400),
    )
    .await;
    assert_eq!(r.status, 202, "{} {}", r.head, r.body);
    let id = r.body["id"].as_i64().unwrap();
    assert!(
        r.head.contains(&format!("location: /api/imports/{id}")),
        "{}",
        r.head
    );
    assert_eq!(r.body["kind"], "contacts");
    assert_eq!(r.body["bytes"], bytes as u64, "{}", r.body);
    assert!(
        ["queued", "running"].contains(&r.body["status"].as_str().unwrap()),
        "{}",
        r.body
    );

    let done = until_ended(&app, &t.token, id, std::time::Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let bad = (ROWS / 1_000) as u64;
    assert_eq!(done["rows_read"], ROWS as u64, "{done}");
    assert_eq!(done["created"], ROWS as u64 - bad, "{done}");
    assert_eq!(done["updated"], 0, "{done}");
    assert_eq!(done["rejected"], bad, "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    let rejected: Vec<u64> = column(&done["rejections"], "row");
    // Row n is contact n - 1: contact 0, 1000, ... are rows 1, 1001, ...
    assert_eq!(
        rejected,
        (0..bad).map(|k| k * 1_000 + 1).collect::<Vec<_>>(),
        "{done}"
    );
    assert!(
        done["rejections"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("e-mail"),
        "{done}"
    );
    assert_eq!(done["report"]["created"], ROWS as u64 - bad, "{done}");
    assert_eq!(done["report"]["rejected"], done["rejections"], "{done}");
    assert_eq!(
        contacts_of(&app, t.org_id).await,
        (ROWS as u64 - bad) as i64
    );
    let last = app
        .get_ok(&format!("/api/contacts?q=Person{}", ROWS - 1), &t.token)
        .await;
    assert_eq!(last["items"].as_array().unwrap().len(), 1, "{last}");

    // Events were published after each commit, one per row written.
    let created = std::iter::from_fn(|| events.try_recv())
        .filter(|e| e.as_ref().unwrap().kind.name() == "contact_created")
        .count();
    assert_eq!(created as u64, ROWS as u64 - bad);

    // The list shows it. Again, the first 2,000 rows, small but asked for
    // in the background: every row updates.
    let list = app.get_ok("/api/imports", &t.token).await;
    assert_eq!(list["items"][0]["id"], id, "{list}");
    assert_eq!(list["items"][0]["status"], "completed", "{list}");
    let again = slow_import(
        &app,
        &t.token,
        "/api/import/contacts?background=true",
        &numbered_contacts(0, 2_000, Some(1_000)),
        std::time::Duration::ZERO,
    )
    .await;
    assert_eq!(again.status, 202, "{}", again.body);
    let id2 = again.body["id"].as_i64().unwrap();
    let done = until_ended(&app, &t.token, id2, std::time::Duration::from_secs(120)).await;
    assert_eq!(
        (done["created"].as_u64(), done["updated"].as_u64()),
        (Some(0), Some(1_998)),
        "{done}"
    );
    assert_eq!(
        contacts_of(&app, t.org_id).await,
        (ROWS as u64 - bad) as i64
    );

    // A missing required column is refused before anything is stored.
    let mut no_email = vec!["first_name,company\n".to_string()];
    no_email.extend(numbered_contacts(0, ROWS, None).into_iter().skip(1));
    let r = slow_import(
        &app,
        &t.token,
        "/api/import/contacts",
        &no_email,
        std::time::Duration::ZERO,
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "email", "{}", r.body);
    let list = app.get_ok("/api/imports", &t.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn an_import_of_another_organization_is_not_found() {
    let (app, one, two) = spawn_two_tenants("One", "Two").await;
    // Small, but asked for in the background.
    let r = app
        .with(&one.token)
        .post_raw("/api/import/leads?background=true", "text/csv", LEADS_CSV)
        .await;
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let queued: Value = r.json().await.unwrap();
    let id = queued["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/imports/{id}"));
    assert_eq!(queued["kind"], "leads");

    let done = until_ended(&app, &one.token, id, std::time::Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    // As the in-request import of the same file (see above), with no
    // contact for ada@: the first row creates none, it needs first_name.
    assert_eq!(done["rows_read"], 7, "{done}");
    assert_eq!(done["created"], 1, "{done}");
    assert_eq!(done["rejected"], 6, "{done}");

    // The other organization sees nothing of it.
    let r = app.get(&format!("/api/imports/{id}"), &two.token).await;
    assert_error(r, 404, "not_found").await;
    let theirs = app.get_ok("/api/imports", &two.token).await;
    assert_eq!(theirs["items"], serde_json::json!([]), "{theirs}");
    let r = app.get("/api/imports/999999", &one.token).await;
    assert_error(r, 404, "not_found").await;
    let r = app.get("/api/imports/x", &one.token).await;
    assert_error(r, 400, "invalid_path").await;
    let r = app.get_anonymous(&format!("/api/imports/{id}")).await;
    assert_error(r, 401, "unauthorized").await;
    let mine = app.get_ok("/api/imports", &one.token).await;
    assert_eq!(mine["items"][0]["id"], id, "{mine}");
    assert_eq!(
        app.get_ok("/api/leads", &two.token).await["items"],
        serde_json::json!([])
    );
}

/// A crash in the middle of a background import: what is in the database
/// is exactly the committed chunks (their rows and their checkpoint, never
/// part of a chunk), and another instance resumes after the last of them,
/// skipping and repeating no row.
#[tokio::test]
async fn an_interrupted_import_leaves_nothing_half_written() {
    const ROWS: usize = 12_000;
    let tweak = |s: &mut neuracrm_server::Settings| {
        s.import_chunk_rows = 500;
        s.import_lease_secs = 1;
    };
    let (a, stop_a) = crate::helpers::spawn_stoppable_app(tweak).await;
    let t = a.tenant("Acme").await;
    let chunks = numbered_contacts(0, ROWS, Some(997));
    let r = slow_import(
        &a,
        &t.token,
        "/api/import/contacts?background=true",
        &chunks,
        std::time::Duration::ZERO,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    // Let a few chunks commit, then crash mid-import.
    let start = std::time::Instant::now();
    loop {
        let st = a.get_ok(&format!("/api/imports/{id}"), &t.token).await;
        if st["rows_read"].as_u64().unwrap() >= 2_000 {
            assert_eq!(st["status"], "running", "{st}");
            break;
        }
        assert!(start.elapsed().as_secs() < 60, "{st}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop_a.abort();
    // The chunk in flight rolls back as its connection goes.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // One statement, one snapshot: the rows and the checkpoint agree.
    let (rows, read, created, rejected, kept, status): (i64, i64, i64, i64, i64, String) = a
        .store
        .db()
        .fetch_one(
            neuracrm_store::Sql::new(
                "SELECT (SELECT COUNT(*) FROM contacts WHERE organization_id = $1), \
                 rows_read, created, rejected, \
                 (SELECT COUNT(*) FROM import_rejections WHERE import_id = $2), status \
                 FROM imports WHERE id = $2",
            )
            .arg(t.org_id)
            .arg(id),
        )
        .await
        .unwrap();
    assert_eq!(status, "running", "stopped mid-import");
    assert!(read > 0 && (read as usize) < ROWS, "{read} rows read");
    assert_eq!(read % 500, 0, "whole chunks only: {read}");
    assert_eq!(rows, created, "the rows written are the checkpoint's");
    assert_eq!(read, created + rejected);
    assert_eq!(kept, rejected);
    assert_eq!(rejected, (read + 996) / 997, "one bad row in 997");

    // Another instance (or this one restarted) takes it over once its lease
    // has run out, and finishes it.
    let b = a.another_instance(tweak).await;
    let done = until_ended(&b, &t.token, id, std::time::Duration::from_secs(120)).await;
    let bad = ROWS.div_ceil(997) as u64;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["rows_read"], ROWS as u64, "{done}");
    assert_eq!(done["created"], ROWS as u64 - bad, "{done}");
    assert_eq!(done["updated"], 0, "no row written twice: {done}");
    assert_eq!(done["rejected"], bad, "{done}");
    let rejected: Vec<u64> = column(&done["rejections"], "row");
    assert_eq!(
        rejected,
        (0..bad).map(|k| k * 997 + 1).collect::<Vec<_>>(),
        "each rejection once"
    );
    assert_eq!(contacts_of(&b, t.org_id).await, (ROWS as u64 - bad) as i64);
    let pieces = count(&b, "import_chunks WHERE import_id = $1", id).await;
    assert_eq!(pieces, 0, "the stored document is deleted once imported");
}

/// An import small enough for its request whose writing outlasts the
/// request timeout (1 s here; the test holds the database's writes for 2 s):
/// its transaction is dropped, nothing of it stays, and the document
/// continues in the background (202) instead of a 408.
#[tokio::test]
async fn an_import_out_of_time_in_its_request_continues_in_the_background() {
    const ROWS: usize = 2_000;
    let app = crate::helpers::spawn_app_with(|s| s.request_timeout_secs = 1).await;
    let t = app.tenant("Acme").await;
    // On SQLite the one writer connection, on PostgreSQL the contacts table.
    let mut busy = app.store.db().begin().await.unwrap();
    if busy.backend() == neuracrm_store::Backend::Postgres {
        busy.execute(neuracrm_store::Sql::new(
            "LOCK TABLE contacts IN EXCLUSIVE MODE",
        ))
        .await
        .unwrap();
    }
    let held = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        busy.commit().await.unwrap();
    });
    let csv = numbered_contacts(0, ROWS, None).concat();
    assert!(csv.len() < 256 * 1024, "small enough for its request");
    let r = import(&app, &t.token, &csv).await;
    assert_eq!(r.status(), 202);
    let queued: Value = r.json().await.unwrap();
    let id = queued["id"].as_i64().unwrap();
    held.await.unwrap();
    let done = until_ended(&app, &t.token, id, std::time::Duration::from_secs(60)).await;
    assert_eq!(done["status"], "completed", "{done}");
    // Every row created by the background import: the attempt in the
    // request left nothing behind.
    assert_eq!(done["created"], ROWS as u64, "{done}");
    assert_eq!(done["updated"], 0, "{done}");
    assert_eq!(contacts_of(&app, t.org_id).await, ROWS as i64);
}

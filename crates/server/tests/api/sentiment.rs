//! Sentiment in the CRM: the analyse endpoint's limits, the sentiment stored
//! for logged activities (through the event subscriber, also after the
//! subscriber lagged), and the summary against hand-computed figures.
//!
//! Compound scores below are vaderSentiment 3.3.2's, from the sentiment
//! crate's golden file (`crates/sentiment/tests/golden/vader_golden.json`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use neuracrm_domain::{ActivityId, ContactId, DomainEvent, EventKind, NewActivity, OrgId};
use neuracrm_events::{BroadcastBus, EventBus};
use neuracrm_store::sentiment::StoredSentiment;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_error, column, create_contact, spawn_app_on, spawn_tenant, spawn_two_tenants,
};

const HAPPY: &str = "The customer was happy with the renewal."; // 0.5719
const ANGRY: &str = "The invoice was wrong again and the buyer is angry."; // -0.7506
const DISASTER: &str = "Onboarding was a disaster."; // -0.6249
const PLAIN: &str = "Quarterly business review scheduled for Tuesday."; // 0.0
const CHURN: &str = "Churn risk: customer says the product is buggy, slow, and expensive. They never had such a bad experience with a vendor."; // -0.6808

fn close(a: &Value, b: f64) -> bool {
    a.as_f64()
        .is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

/// Waits (polling, at most 20 s) until the activities have stored sentiment.
pub(crate) async fn wait_for_sentiment(
    app: &TestApp,
    org: i64,
    ids: &[i64],
) -> Vec<StoredSentiment> {
    let ids: Vec<ActivityId> = ids.iter().map(|i| ActivityId(*i)).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = app
            .store
            .sentiment()
            .get_many(OrgId(org), &ids)
            .await
            .unwrap();
        if rows.len() == ids.len() {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sentiment of {ids:?} not stored within 20 s (have {rows:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn analyze(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/sentiment/analyze", token, body).await
}

#[tokio::test]
async fn analyze_answers_one_text_or_a_batch_and_refuses_what_is_out_of_bounds() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);

    let one = by_t
        .post_ok("/api/sentiment/analyze", json!({"text": DISASTER}))
        .await;
    let r = &one["results"][0];
    assert_eq!(one["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        (r["label"].as_str(), r["method"].as_str()),
        (Some("negative"), Some("vader"))
    );
    assert!(close(&r["compound"], -0.6249), "{r}");
    assert!(
        close(&r["negative"], 0.577) && close(&r["neutral"], 0.423),
        "{r}"
    );
    assert!(close(&r["confidence"], 0.6249), "{r}");

    let batch = by_t
        .post_ok(
            "/api/sentiment/analyze",
            json!({"texts": [HAPPY, PLAIN, ANGRY]}),
        )
        .await;
    let labels: Vec<String> = column(&batch["results"], "label");
    assert_eq!(labels, ["positive", "neutral", "negative"], "in order");
    assert!(close(&batch["results"][2]["compound"], -0.7506));

    // The limits themselves are allowed: 1,000 texts, 10,000 characters.
    let full: Vec<String> = (0..1000)
        .map(|i| {
            if i % 2 == 0 {
                HAPPY.into()
            } else {
                ANGRY.into()
            }
        })
        .collect();
    let big = by_t
        .post_ok("/api/sentiment/analyze", json!({"texts": full}))
        .await;
    let results = big["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert_eq!(results[998]["label"], "positive");
    assert_eq!(results[999]["label"], "negative");
    app.with(&t.token)
        .post_ok(
            "/api/sentiment/analyze",
            json!({"text": "é".repeat(10_000)}),
        )
        .await;

    // Too many, too long, empty, wrong type, both or neither: 422 naming the field.
    let too_many = vec!["fine"; 1001];
    for (body, field) in [
        (json!({"texts": too_many}), "texts"),
        (json!({"text": "a".repeat(10_001)}), "text"),
        (json!({"texts": ["ok", "b".repeat(10_001)]}), "texts[1]"),
        (json!({"text": ""}), "text"),
        (json!({"text": "   "}), "text"),
        (json!({"texts": []}), "texts"),
        (json!({"texts": ["ok", ""]}), "texts[1]"),
        (json!({"text": 5}), "text"),
        (json!({"texts": "not a list"}), "texts"),
        (json!({"texts": ["ok", 7]}), "texts[1]"),
        (json!({"text": "a", "texts": ["b"]}), "texts"),
        (json!({}), "text"),
        (json!({"txt": "typo"}), "txt"),
    ] {
        let e = assert_error(
            analyze(&app, &t.token, body.clone()).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
    }
    let e = assert_error(
        app.client
            .post(app.url("/api/sentiment/analyze"))
            .bearer_auth(&t.token)
            .header("content-type", "application/json")
            .body("{\"text\": ")
            .send()
            .await
            .unwrap(),
        400,
        "malformed_body",
    )
    .await;
    assert!(e["error"]["message"].as_str().unwrap().contains("JSON"));
    let r = app
        .call(
            reqwest::Method::POST,
            "/api/sentiment/analyze",
            None,
            Some(json!({"text": "hi"})),
        )
        .await;
    assert_error(r, 401, "unauthorized").await;
}

/// The negative, neutral and positive counts of a summary's period or bucket.
fn counts(c: &Value) -> [Option<i64>; 3] {
    ["negative", "neutral", "positive"].map(|k| c[k].as_i64())
}

async fn post_activity(app: &TestApp, token: &str, body: Value) -> i64 {
    app.post_ok("/api/activities", token, body, 201).await["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn logged_activities_get_their_sentiment_and_others_none() {
    let (app, t) = spawn_tenant("Acme").await;
    let c = create_contact(&app, &t.token, "Ada").await;
    // An activity of `kind` on Ada, saying `body` when given.
    let log = async |kind: &str, body: Option<&str>| {
        let mut activity = json!({"type": kind, "contact_id": c});
        if let Some(b) = body {
            activity["body"] = json!(b);
        }
        post_activity(&app, &t.token, activity).await
    };
    // Without customer text, logged first: the subscriber handles events in
    // order, so once the later note's sentiment is stored these were seen.
    let open = log("email_open", None).await;
    let sent = log("email_sent", Some(ANGRY)).await;
    let empty_note = log("note", None).await;
    let blank_call = log("call", Some("  ")).await;
    let note = log("note", Some(ANGRY)).await;

    let rows = wait_for_sentiment(&app, t.org_id, &[note]).await;
    assert_eq!(
        (rows[0].label.as_str(), rows[0].method.as_str()),
        ("negative", "vader")
    );
    assert_eq!(rows[0].compound, -0.7506);
    let none = app
        .store
        .sentiment()
        .get_many(
            OrgId(t.org_id),
            &[open, sent, empty_note, blank_call].map(ActivityId),
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");

    // Reads carry it: one activity, the list, the contact's timeline.
    let one = app
        .get_ok(&format!("/api/activities/{note}"), &t.token)
        .await;
    assert_eq!(one["sentiment"]["label"], "negative", "{one}");
    assert!(close(&one["sentiment"]["compound"], -0.7506), "{one}");
    assert_eq!(one["sentiment"]["method"], "vader");
    for list in [
        "/api/activities".to_string(),
        format!("/api/contacts/{c}/activities"),
    ] {
        let page = app.get_ok(&list, &t.token).await;
        for item in page["items"].as_array().unwrap() {
            if item["id"] == note {
                assert_eq!(item["sentiment"]["label"], "negative", "{list}: {item}");
            } else {
                assert!(item["sentiment"].is_null(), "{list}: {item}");
            }
        }
    }

    // An edit re-analyses.
    app.patch(
        &format!("/api/activities/{note}"),
        &t.token,
        json!({"body": HAPPY}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let row = app
            .store
            .sentiment()
            .get(OrgId(t.org_id), ActivityId(note))
            .await
            .unwrap();
        if row.as_ref().is_some_and(|r| r.label == "positive") {
            assert_eq!(row.unwrap().compound, 0.5719);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "edit not re-analysed: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_lagging_subscriber_backfills_what_it_missed() {
    // A bus that holds 4 events: publishing 20 without yielding makes the
    // subscriber lag (the test runtime is single-threaded).
    let bus: Arc<dyn EventBus> = Arc::new(BroadcastBus::new(4));
    let app = spawn_app_on(|_| {}, bus).await;
    let t = app.tenant("Acme").await;
    let org = OrgId(t.org_id);
    let c = app
        .post_ok("/api/contacts", &t.token, json!({"first_name": "Ada"}), 201)
        .await["id"]
        .as_i64()
        .unwrap();
    // Written behind the API's back: no event announces it.
    let silent = app
        .store
        .activities()
        .create(
            org,
            None,
            &NewActivity {
                kind: neuracrm_domain::ActivityType::EmailReceived,
                lead_id: None,
                deal_id: None,
                contact_id: Some(ContactId(c)),
                user_id: None,
                subject: None,
                body: Some(DISASTER.into()),
                duration_seconds: None,
                occurred_at: None,
            },
        )
        .await
        .unwrap();
    for i in 0..20 {
        app.events.publish(DomainEvent::new(
            org,
            Utc::now(),
            EventKind::ContactUpdated {
                id: ContactId(c + i),
            },
        ));
    }
    let rows = wait_for_sentiment(&app, t.org_id, &[silent.id.0]).await;
    assert_eq!(rows[0].label, "negative");
    assert_eq!(rows[0].compound, -0.6249);
}

fn monday(d: NaiveDate) -> NaiveDate {
    d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64)
}

#[tokio::test]
async fn the_summary_matches_hand_computed_figures_and_stays_in_its_organization() {
    let (app, t, other) = spawn_two_tenants("Acme", "Other").await;
    let tok = &t.token;
    let now = Utc::now();
    let ago = |d: i64, h: i64| {
        (now - chrono::Duration::days(d) - chrono::Duration::hours(h)).to_rfc3339()
    };
    let api = app.with(tok);
    let c = api
        .create_id("/api/contacts", json!({"first_name": "Ada"}))
        .await;
    let c2 = api
        .create_id("/api/contacts", json!({"first_name": "Bob"}))
        .await;
    let renewal = json!({"title": "Renewal", "contact_id": c});
    let lead = api.create_id("/api/leads", renewal).await;
    // An activity of `kind` saying `text` at `at`, on the record `on` names.
    let log = async |on: &str, id: i64, kind: &str, text: &str, at: &str| {
        let body = json!({"type": kind, on: id, "body": text, "occurred_at": at});
        post_activity(&app, tok, body).await
    };
    let (recent, long_ago) = (ago(0, 1), ago(40, 0));
    let a1 = log("contact_id", c, "note", HAPPY, &recent).await;
    let a2 = log("contact_id", c, "email_received", ANGRY, &recent).await;
    let a3 = log("contact_id", c, "call", PLAIN, &long_ago).await;
    let a4 = log("contact_id", c, "note", DISASTER, &long_ago).await;
    // On the contact's lead only: part of the contact's timeline.
    let a5 = log("lead_id", lead, "note", CHURN, &ago(100, 0)).await;
    // Another contact's, and one without customer text.
    let b1 = log("contact_id", c2, "note", DISASTER, &recent).await;
    let open = json!({"type": "email_open", "contact_id": c, "occurred_at": recent});
    post_activity(&app, tok, open).await;
    wait_for_sentiment(&app, t.org_id, &[a1, a2, a3, a4, a5, b1]).await;

    let get = |q: String| {
        let app = &app;
        async move {
            app.get_ok(&format!("/api/sentiment/summary?{q}"), tok)
                .await
        }
    };

    // The contact over 30 days: a1 and a2.
    let s = get(format!("contact_id={c}&period=30d")).await;
    assert_eq!(
        (s["period"].as_str(), s["granularity"].as_str()),
        (Some("30d"), Some("week"))
    );
    assert_eq!(s["contact_id"], c);
    assert_eq!(s["total"]["count"], 2);
    assert!(
        close(&s["total"]["average_compound"], (0.5719 - 0.7506) / 2.0),
        "{s}"
    );
    assert_eq!(counts(&s["total"]), [Some(1), Some(0), Some(1)]);
    let ids: Vec<i64> = column(&s["most_negative"], "activity_id");
    assert_eq!(ids, [a2]);
    assert_eq!(s["most_negative"][0]["type"], "email_received");
    assert_eq!(s["most_negative"][0]["excerpt"], ANGRY);

    // Over 90 days, per week: a1..a4, two weeks with data, the rest empty.
    let s = get(format!("contact_id={c}")).await;
    assert_eq!(s["period"], "90d");
    assert_eq!(s["total"]["count"], 4);
    assert!(
        close(
            &s["total"]["average_compound"],
            (0.5719 - 0.7506 + 0.0 - 0.6249) / 4.0
        ),
        "{s}"
    );
    assert_eq!(counts(&s["total"]), [Some(2), Some(1), Some(1)]);
    let buckets = s["buckets"].as_array().unwrap();
    let weeks = (monday(now.date_naive())
        - monday((now - chrono::Duration::days(90)).date_naive()))
    .num_days()
        / 7
        + 1;
    assert_eq!(buckets.len() as i64, weeks, "every week of the period");
    let week = |d: chrono::DateTime<Utc>| monday(d.date_naive()).to_string();
    let recent_week = week(now - chrono::Duration::hours(1));
    let old_week = week(now - chrono::Duration::days(40));
    for b in buckets {
        let start = b["start"].as_str().unwrap();
        if start == recent_week {
            assert_eq!(b["count"], 2);
            assert!(
                close(&b["average_compound"], (0.5719 - 0.7506) / 2.0),
                "{b}"
            );
        } else if start == old_week {
            assert_eq!(
                (
                    b["count"].as_i64(),
                    b["neutral"].as_i64(),
                    b["negative"].as_i64()
                ),
                (Some(2), Some(1), Some(1))
            );
            assert!(close(&b["average_compound"], -0.6249 / 2.0), "{b}");
        } else {
            assert_eq!(b["count"], 0, "{b}");
            assert!(b["average_compound"].is_null(), "{b}");
        }
    }
    let ids: Vec<i64> = column(&s["most_negative"], "activity_id");
    assert_eq!(ids, [a2, a4], "lowest compound first");

    // Over a year, per month: a5 on the lead joins.
    let s = get(format!("contact_id={c}&period=365d")).await;
    assert_eq!(s["granularity"], "month");
    assert_eq!(s["total"]["count"], 5);
    assert!(
        close(
            &s["total"]["average_compound"],
            (0.5719 - 0.7506 + 0.0 - 0.6249 - 0.6808) / 5.0
        ),
        "{s}"
    );
    let ids: Vec<i64> = column(&s["most_negative"], "activity_id");
    assert_eq!(ids, [a2, a5, a4]);
    let months: i64 = s["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .sum();
    assert_eq!(months, 5);
    assert!(
        s["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["start"].as_str().unwrap().ends_with("-01"))
    );

    // The lead: a5 only.
    let s = get(format!("lead_id={lead}&period=365d")).await;
    assert_eq!(s["total"]["count"], 1);
    assert!(close(&s["total"]["average_compound"], -0.6808));

    // The organization over 30 days: a1, a2 and b1.
    let s = get("period=30d".into()).await;
    assert_eq!(s["total"]["count"], 3);
    assert!(
        close(
            &s["total"]["average_compound"],
            (0.5719 - 0.7506 - 0.6249) / 3.0
        ),
        "{s}"
    );
    assert_eq!(s["total"]["negative"], 2);

    // Another organization sees none of it, and A's ids are 404 to it.
    let s = app
        .get_ok("/api/sentiment/summary?period=365d", &other.token)
        .await;
    assert_eq!(s["total"]["count"], 0);
    assert!(s["total"]["average_compound"].is_null());
    assert!(s["most_negative"].as_array().unwrap().is_empty());
    for q in [format!("contact_id={c}"), format!("lead_id={lead}")] {
        let summary = format!("/api/sentiment/summary?{q}");
        app.with(&other.token)
            .get_err(&summary, 404, "not_found")
            .await;
    }

    // Bad queries.
    for (q, field) in [
        ("period=7d", "period"),
        ("contact_id=abc", "contact_id"),
        ("contact_id=1&lead_id=1", "lead_id"),
        ("colour=blue", "colour"),
    ] {
        let summary = format!("/api/sentiment/summary?{q}");
        let e = api.get_err(&summary, 400, "invalid_query").await;
        assert_eq!(e["error"]["field"], field, "{q}: {e}");
    }
}

#[tokio::test]
async fn the_configured_model_answers_and_an_unloadable_one_falls_back_to_vader() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("server.model");
    let mut data = neuracrm_sentiment::LabelledData {
        texts: Vec::new(),
        labels: Vec::new(),
        sources: Vec::new(),
    };
    for i in 0..40 {
        data.texts
            .push(format!("renewal approved and budget signed {i}"));
        data.labels.push(neuracrm_sentiment::Label::Positive);
        data.texts
            .push(format!("invoice dispute escalated, refund demanded {i}"));
        data.labels.push(neuracrm_sentiment::Label::Negative);
    }
    let options = neuracrm_sentiment::TrainOptions {
        forest: neuracrm_sentiment::forest::ForestConfig {
            n_trees: 5,
            ..Default::default()
        },
        ..Default::default()
    };
    let (model, _) = neuracrm_sentiment::train(&data, &options).unwrap();
    model.save(&model_path).unwrap();

    let path = model_path.clone();
    let app = crate::helpers::spawn_app_with(move |s| s.sentiment_model = Some(path)).await;
    let t = app.tenant("Acme").await;
    let r = app
        .with(&t.token)
        .post_ok("/api/sentiment/analyze", json!({"texts": ["invoice dispute escalated, refund demanded 3", "renewal approved and budget signed 3"]}))
        .await;
    let got: Vec<(&str, &str)> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["label"].as_str().unwrap(), x["method"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("negative", "model"), ("positive", "model")]);

    // An organization whose own model file is broken gets VADER.
    let other = app.tenant("Other").await;
    let broken = dir.path().join("broken.model");
    std::fs::write(&broken, b"NEURACRM-SENTMDL but not really").unwrap();
    app.store
        .organizations()
        .set_settings(
            OrgId(other.org_id),
            &json!({"sentiment": {"model_path": broken.to_str().unwrap()}}),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let r = app
            .with(&other.token)
            .post_ok("/api/sentiment/analyze", json!({"text": DISASTER}))
            .await;
        assert_eq!(r["results"][0]["method"], "vader", "{r}");
        assert!(close(&r["results"][0]["compound"], -0.6249));
    }
}

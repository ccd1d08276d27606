//! Lead scoring over HTTP: score now, stored breakdown and history, the
//! configuration, batches with their events, analytics and the lead list's
//! category filter and score order.

use chrono::{Duration, Utc};
use neuracrm_actions::scoring::scheduled_run;
use neuracrm_domain::{EventKind, OrgId};
use neuracrm_events::Subscription;
use neuracrm_jobs::intent::IntentService;
use neuracrm_scoring::testing::{Behaviour, FakeLlm};
use neuracrm_scoring::{BatchIntentMode, IntentAssessor, LlmConfig};
use neuracrm_store::intent_cache::IntentWrite;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Tenant, TestApp, assert_error, column, find, spawn_app, spawn_app_with, spawn_tenant,
    spawn_two_tenants,
};

async fn lead(app: &TestApp, t: &Tenant, contact: Value, lead: Value) -> i64 {
    let c = app.post_ok("/api/contacts", &t.token, contact, 201).await;
    let mut body = lead;
    body["contact_id"] = c["id"].clone();
    app.post_ok("/api/leads", &t.token, body, 201).await["id"]
        .as_i64()
        .unwrap()
}

async fn activities(app: &TestApp, t: &Tenant, lead: i64, kind: &str, n: usize) {
    for _ in 0..n {
        app.with(&t.token)
            .create("/api/activities", json!({"type": kind, "lead_id": lead}))
            .await;
    }
}

/// The `lead_scored` events waiting on `sub`, as (lead, old, new).
fn scored_events(sub: &mut Subscription) -> Vec<(i64, Option<f64>, f64)> {
    let mut out = Vec::new();
    while let Some(e) = sub.try_recv() {
        if let EventKind::LeadScored {
            id,
            old_score,
            new_score,
            ..
        } = e.unwrap().kind
        {
            out.push((id.0, old_score, new_score));
        }
    }
    out
}

fn factor<'a>(b: &'a Value, name: &str) -> &'a Value {
    b["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == name)
        .unwrap_or_else(|| panic!("no factor {name}: {b}"))
}

#[tokio::test]
async fn scoring_a_lead_now_explains_stores_and_announces_it() {
    let (app, t) = spawn_tenant("Acme").await;
    let id = lead(
        &app,
        &t,
        json!({"first_name": "Ada", "industry": "Computer Software", "job_title": "VP Engineering", "company_size": 1200}),
        json!({"title": "Platform deal", "description": "Budget approved, we need this asap", "budget_cents": 5_000_000}),
    )
    .await;
    activities(&app, &t, id, "email_open", 12).await;
    let mut events = app.events.subscribe_org(OrgId(t.org_id));

    // Never scored: nothing stored yet.
    app.with(&t.token)
        .get_err(&format!("/api/leads/{id}/score"), 404, "not_found")
        .await;

    let b = app
        .post_ok(&format!("/api/leads/{id}/score"), &t.token, json!({}), 200)
        .await;
    let factors = b["factors"].as_array().unwrap();
    let names: Vec<&str> = factors
        .iter()
        .map(|f| f["factor"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "industry",
            "company_size",
            "engagement",
            "decision_maker",
            "urgency",
            "budget_signals",
            "ai_insights"
        ]
    );
    let sum: f64 = factors.iter().map(|f| f["points"].as_f64().unwrap()).sum();
    let total = b["total"].as_f64().unwrap();
    assert!((sum - total).abs() < 0.01, "{sum} vs {total}");
    assert_eq!(factor(&b, "industry")["points"], 20.0);
    assert!(
        factor(&b, "industry")["explanation"]
            .as_str()
            .unwrap()
            .contains("technology"),
        "{b}"
    );
    assert_eq!(factor(&b, "engagement")["points"], 15.0, "12 opens: 15");
    assert_eq!(factor(&b, "engagement")["evidence"]["opens"], 12);
    assert!(factor(&b, "budget_signals")["points"].as_f64().unwrap() > 0.0);
    let expected = match total {
        x if x >= 80.0 => "hot",
        x if x >= 60.0 => "warm",
        x if x >= 40.0 => "lukewarm",
        _ => "cold",
    };
    assert_eq!(b["category"], expected, "{b}");
    let confidence = b["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence), "{b}");
    assert!(b["recommendations"].as_array().unwrap().len() <= 3);
    assert_eq!(b["lead_id"], id);

    assert_eq!(scored_events(&mut events), [(id, None, total)]);

    // The stored breakdown is the one just returned.
    let stored = app
        .get_ok(&format!("/api/leads/{id}/score"), &t.token)
        .await;
    for key in [
        "total",
        "category",
        "confidence",
        "factors",
        "recommendations",
    ] {
        assert_eq!(stored[key], b[key], "{key}");
    }
    let l = app.get_ok(&format!("/api/leads/{id}"), &t.token).await;
    assert_eq!(l["score"], b["total"]);
    assert!(
        l["score_factors"].is_object(),
        "one lead carries its breakdown"
    );
    // Lists leave the (large) breakdown out unless asked for it.
    let list = app.get_ok("/api/leads", &t.token).await;
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["score"], b["total"]);
    assert!(list["items"][0]["score_factors"].is_null(), "{list}");
    let full = app
        .get_ok("/api/leads?include_factors=true", &t.token)
        .await;
    assert_eq!(full["items"][0]["score_factors"], l["score_factors"]);

    // Same data, same score: no event, no new history entry.
    let again = app
        .post_ok(&format!("/api/leads/{id}/score"), &t.token, json!({}), 200)
        .await;
    assert_eq!(again["total"], b["total"]);
    assert!(scored_events(&mut events).is_empty());

    // Website time moves it: an event with old and new, a second history entry.
    app.with(&t.token)
        .create(
            "/api/activities",
            json!({"type": "website_visit", "lead_id": id, "duration_seconds": 1900}),
        )
        .await;
    let moved = app
        .post_ok(&format!("/api/leads/{id}/score"), &t.token, json!({}), 200)
        .await;
    let new_total = moved["total"].as_f64().unwrap();
    assert_eq!(factor(&moved, "engagement")["points"], 25.0);
    assert!(new_total > total);
    assert_eq!(scored_events(&mut events), [(id, Some(total), new_total)]);
    let h = app
        .get_ok(&format!("/api/leads/{id}/score/history"), &t.token)
        .await;
    let scores: Vec<f64> = column(&h["items"], "score");
    assert_eq!(scores, [new_total, total], "newest first");
    let h = app
        .get_ok(&format!("/api/leads/{id}/score/history?limit=1"), &t.token)
        .await;
    assert_eq!(h["items"].as_array().unwrap().len(), 1);

    for bad in ["limit=0", "limit=501", "limit=x", "since=1"] {
        let e = assert_error(
            app.get(&format!("/api/leads/{id}/score/history?{bad}"), &t.token)
                .await,
            400,
            "invalid_query",
        )
        .await;
        assert!(e["error"]["field"].is_string(), "{bad}: {e}");
    }
    assert_error(
        app.post("/api/leads/999999/score", &t.token, json!({}))
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_configuration_is_validated_admin_only_and_marks_leads_for_rescoring() {
    let (app, t) = spawn_tenant("Acme").await;
    let id = lead(
        &app,
        &t,
        json!({"first_name": "Ada", "industry": "technology"}),
        json!({"title": "Deal"}),
    )
    .await;
    app.post_ok(&format!("/api/leads/{id}/score"), &t.token, json!({}), 200)
        .await;

    let defaults = app.get_ok("/api/scoring/config", &t.token).await;
    assert_eq!(defaults["weights"]["industry"], 0.2);
    assert_eq!(defaults["weights"]["ai_insights"], 0.05);
    assert_eq!(defaults["thresholds"]["hot"], 80.0);
    assert_eq!(defaults["industries"]["rules"].as_array().unwrap().len(), 8);

    let (_, rep) = app.member(&t, "rep@acme.example.com", "rep").await;
    assert_eq!(app.get_ok("/api/scoring/config", &rep).await, defaults);
    let r = app
        .call(
            reqwest::Method::PUT,
            "/api/scoring/config",
            Some(&rep),
            Some(json!({})),
        )
        .await;
    assert_error(r, 403, "forbidden").await;

    let put = |body: Value| {
        let app = &app;
        let token = t.token.clone();
        async move {
            app.call(
                reqwest::Method::PUT,
                "/api/scoring/config",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let cases = [
        (json!({"weights": {"industry": 0.3}}), "weights", "sum to 1"),
        (
            json!({"weights": {"industry": 1.5, "engagement": -0.75}}),
            "weights.industry",
            "between 0 and 1",
        ),
        (
            json!({"weights": {"industry": 0.25, "engagement": -0.05, "company_size": 0.25}}),
            "weights.engagement",
            "between 0 and 1",
        ),
        (
            json!({"thresholds": {"hot": 50}}),
            "thresholds.hot",
            "greater than thresholds.warm",
        ),
        (
            json!({"thresholds": {"warm": 30}}),
            "thresholds.warm",
            "greater than thresholds.lukewarm",
        ),
        (
            json!({"thresholds": {"lukewarm": 0}}),
            "thresholds.lukewarm",
            "greater than 0",
        ),
        (
            json!({"thresholds": {"hot": 101}}),
            "thresholds.hot",
            "at most 100",
        ),
        (
            json!({"industries": {"rules": [{"name": "tech", "points": 20}, {"name": "Tech", "points": 5}]}}),
            "industries.rules[1].name",
            "more than once",
        ),
        (
            json!({"industries": {"rules": [{"name": "tech", "points": 25}]}}),
            "industries.rules[0].points",
            "between 0 and 20",
        ),
        (
            json!({"industries": {"rules": [{"name": " ", "points": 2}]}}),
            "industries.rules[0].name",
            "empty",
        ),
        (
            json!({"industries": {"rules": [{"name": "x".repeat(101), "points": 2}]}}),
            "industries.rules[0].name",
            "at most 100",
        ),
        (json!({"weight": {}}), "weight", "unknown field"),
        (
            json!({"weights": {"industry": "high"}}),
            "weights.industry",
            "weights.industry must be a number",
        ),
        (
            json!({"industries": {"rules": [{"name": "tech"}]}}),
            "industries.rules[0].points",
            "missing field",
        ),
    ];
    for (body, field, words) in cases {
        let e = assert_error(put(body.clone()).await, 422, "validation_failed").await;
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(words),
            "{body}: {e}"
        );
    }
    let r = app
        .with(&t.token)
        .send_raw(
            Method::PUT,
            "/api/scoring/config",
            "application/json",
            "{\"weights\": ",
        )
        .await;
    assert_error(r, 400, "malformed_body").await;
    assert_eq!(
        app.get_ok("/api/scoring/config", &t.token).await,
        defaults,
        "refused changes change nothing"
    );
    let l = app.get_ok(&format!("/api/leads/{id}"), &t.token).await;
    assert!(l["score_updated_at"].is_string());

    // A valid change: stored, every lead marked, the next batch uses it.
    let body = json!({
        "weights": {"industry": 0.30, "engagement": 0.15},
        "thresholds": {"hot": 70, "warm": 50, "lukewarm": 30},
    });
    let r = put(body).await;
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["leads_marked_for_rescoring"], 1);
    assert_eq!(updated["config"]["weights"]["industry"], 0.3);
    assert_eq!(
        updated["config"]["weights"]["company_size"], 0.15,
        "defaults kept"
    );
    assert_eq!(
        app.get_ok("/api/scoring/config", &t.token).await,
        updated["config"]
    );
    let l = app.get_ok(&format!("/api/leads/{id}"), &t.token).await;
    assert!(
        l["score_updated_at"].is_null(),
        "marked for re-scoring: {l}"
    );
    let stored = app
        .get_ok(&format!("/api/leads/{id}/score"), &t.token)
        .await;
    assert!(stored["scored_at"].is_null() && stored["total"].is_number());

    let run = app
        .post_ok("/api/scoring/run", &t.token, json!({}), 200)
        .await;
    assert_eq!(run["total_processed"], 1, "{run}");
    let b = app
        .get_ok(&format!("/api/leads/{id}/score"), &t.token)
        .await;
    assert_eq!(factor(&b, "industry")["max"], 30.0);
    assert_eq!(
        factor(&b, "industry")["points"],
        30.0,
        "technology: 20/20 of 30"
    );
    assert_eq!(factor(&b, "engagement")["max"], 15.0);
}

#[tokio::test]
async fn a_batch_scores_the_organization_and_analytics_summarise_it() {
    let (app, t, other) = spawn_two_tenants("Acme", "Other").await;
    let specs = [
        ("technology", "CEO", 5000, "website"),
        ("technology", "Engineer", 20, "website"),
        ("healthcare", "Director of IT", 800, "referral"),
        ("retail", "Assistant", 5, "event"),
        ("nonprofit", "Founder", 50, "referral"),
    ];
    let mut ids = Vec::new();
    for (i, (industry, title, size, source)) in specs.into_iter().enumerate() {
        let id = lead(
            &app,
            &t,
            json!({"first_name": format!("P{i}"), "industry": industry, "job_title": title, "company_size": size}),
            json!({"title": format!("Lead {i}"), "source": source}),
        )
        .await;
        ids.push(id);
    }
    activities(&app, &t, ids[0], "email_click", 11).await;
    // The other organization's lead is not scored by this organization's run.
    let foreign = lead(
        &app,
        &other,
        json!({"first_name": "Z", "industry": "technology"}),
        json!({"title": "Foreign"}),
    )
    .await;

    let (_, rep) = app.member(&t, "rep@acme.example.com", "rep").await;
    app.with(&rep)
        .post_err("/api/scoring/run", json!({}), 403, "forbidden")
        .await;
    let (_, manager) = app.member(&t, "manager@acme.example.com", "manager").await;
    let mut events = app.events.subscribe_org(OrgId(t.org_id));
    let mut foreign_events = app.events.subscribe_org(OrgId(other.org_id));
    let run = app
        .post_ok("/api/scoring/run", &manager, json!({}), 200)
        .await;
    assert_eq!(
        (
            &run["status"],
            &run["total_processed"],
            &run["successful"],
            &run["failed"]
        ),
        (&json!("completed"), &json!(5), &json!(5), &json!(0)),
        "{run}"
    );
    let mut announced: Vec<i64> = scored_events(&mut events).iter().map(|e| e.0).collect();
    announced.sort();
    assert_eq!(announced, ids, "one lead_scored per new score");
    assert!(scored_events(&mut foreign_events).is_empty());
    let f = app
        .get_ok(&format!("/api/leads/{foreign}"), &other.token)
        .await;
    assert!(
        f["score"].is_null(),
        "another organization's lead untouched"
    );
    // Nothing stale: the next run has nothing to do.
    let again = app
        .post_ok("/api/scoring/run", &t.token, json!({}), 200)
        .await;
    assert_eq!(again["total_processed"], 0);

    let mut scores = std::collections::HashMap::new();
    for id in &ids {
        let l = app.get_ok(&format!("/api/leads/{id}"), &t.token).await;
        scores.insert(*id, l["score"].as_f64().unwrap());
    }
    let unscored = app
        .post_ok("/api/leads", &t.token, json!({"title": "Fresh"}), 201)
        .await["id"]
        .as_i64()
        .unwrap();

    // Lists: filter by category, sort by score (unscored last on both backends).
    let mut by_category = 0;
    for category in ["hot", "warm", "lukewarm", "cold"] {
        let page = app
            .get_ok(
                &format!("/api/leads?category={category}&limit=200"),
                &t.token,
            )
            .await;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["score_category"], category);
            by_category += 1;
        }
    }
    assert_eq!(by_category, 5);
    let e = app
        .with(&t.token)
        .get_err("/api/leads?category=scorching", 400, "invalid_query")
        .await;
    assert_eq!(e["error"]["field"], "category");
    for order in ["desc", "asc"] {
        let page = app
            .get_ok(&format!("/api/leads?sort=score&order={order}"), &t.token)
            .await;
        let items = page["items"].as_array().unwrap();
        let listed: Vec<Option<f64>> = items.iter().map(|i| i["score"].as_f64()).collect();
        assert_eq!(items.last().unwrap()["id"], unscored, "{order}: {listed:?}");
        let got: Vec<f64> = listed.iter().flatten().copied().collect();
        let mut want = got.clone();
        want.sort_by(|a, b| a.total_cmp(b));
        if order == "desc" {
            want.reverse();
        }
        assert_eq!(got, want, "{order}");
    }

    // Analytics.
    let a = app.get_ok("/api/scoring/analytics", &t.token).await;
    assert_eq!(a["window_days"], 7);
    assert_eq!(a["unscored"], 1);
    let dist: Vec<(&str, i64)> = a["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap(),
                c["leads"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dist.iter().map(|c| c.0).collect::<Vec<_>>(),
        ["hot", "warm", "lukewarm", "cold"]
    );
    assert_eq!(dist.iter().map(|c| c.1).sum::<i64>(), 5);
    let source = |name: &str| {
        a["by_source"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {a}"))
    };
    let referral = source("referral");
    assert_eq!(
        (referral["leads"].as_i64(), referral["scored"].as_i64()),
        (Some(2), Some(2))
    );
    let mean = (scores[&ids[2]] + scores[&ids[4]]) / 2.0;
    assert!((referral["average_score"].as_f64().unwrap() - mean).abs() < 1e-6);
    let other_source = source("other");
    assert_eq!(
        (
            other_source["leads"].as_i64(),
            other_source["scored"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert!(other_source["average_score"].is_null());
    let tech = find(
        a["by_industry"].as_array().unwrap(),
        "industry",
        "technology",
    );
    assert_eq!(tech["leads"], 2, "largest group: {a}");
    assert_eq!(
        a["by_industry"][0]["industry"], "technology",
        "largest first"
    );
    let mean = (scores[&ids[0]] + scores[&ids[1]]) / 2.0;
    assert!((tech["average_score"].as_f64().unwrap() - mean).abs() < 1e-6);
    assert!(
        a["top_movers"].as_array().unwrap().is_empty(),
        "one score each: nothing moved: {a}"
    );

    // Moves: lead 1 gains engagement now; lead 3 had a much lower score ten
    // days ago (before the window), which is its baseline.
    activities(&app, &t, ids[1], "email_open", 11).await;
    app.with(&t.token)
        .post_ok(&format!("/api/leads/{}/score", ids[1]), json!({}))
        .await;
    let new1 = app
        .get_ok(&format!("/api/leads/{}", ids[1]), &t.token)
        .await["score"]
        .as_f64()
        .unwrap();
    assert!(new1 > scores[&ids[1]]);
    let ten_days_ago = chrono::Utc::now() - chrono::Duration::days(10);
    app.store
        .db()
        .execute(
            neuracrm_store::Sql::new(
                "INSERT INTO lead_score_history (organization_id, lead_id, score, category, confidence, scored_at) \
                 VALUES ($1, $2, $3, 'cold', 0.5, $4)",
            )
            .arg(t.org_id)
            .arg(ids[3])
            .arg(scores[&ids[3]] - 30.0)
            .arg(ten_days_ago),
        )
        .await
        .unwrap();
    let a = app.get_ok("/api/scoring/analytics", &t.token).await;
    let movers: Vec<(i64, f64, f64, f64)> = a["top_movers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["lead_id"].as_i64().unwrap(),
                m["old_score"].as_f64().unwrap(),
                m["new_score"].as_f64().unwrap(),
                m["change"].as_f64().unwrap(),
            )
        })
        .collect();
    let d1 = ((new1 - scores[&ids[1]]) * 100.0).round() / 100.0;
    let mut want = vec![
        (ids[3], scores[&ids[3]] - 30.0, scores[&ids[3]], 30.0),
        (ids[1], scores[&ids[1]], new1, d1),
    ];
    want.sort_by(|x, y| y.3.abs().total_cmp(&x.3.abs()));
    assert_eq!(movers, want, "{a}");
    assert_eq!(
        app.get_ok("/api/scoring/analytics", &other.token).await["top_movers"],
        json!([]),
        "another organization sees none of these"
    );
}

#[tokio::test]
async fn the_scheduler_scores_new_leads_and_announces_them() {
    let app = spawn_app_with(|s| {
        s.scheduler = true;
        s.scoring_interval_secs = 1;
    })
    .await;
    let t = app.tenant("Acme").await;
    let mut events = app.events.subscribe_org(OrgId(t.org_id));
    let id = lead(
        &app,
        &t,
        json!({"first_name": "Ada", "industry": "finance"}),
        json!({"title": "Scheduled"}),
    )
    .await;
    // The next one-second slot scores it; nobody calls the API to ask.
    let deadline = std::time::Duration::from_secs(30);
    let new_score = loop {
        let e = tokio::time::timeout(deadline, events.recv())
            .await
            .expect("the scheduler scored the lead within 30 s")
            .unwrap();
        if let EventKind::LeadScored {
            id: lead,
            new_score,
            ..
        } = e.kind
        {
            assert_eq!(lead.0, id);
            break new_score;
        }
    };
    let l = app.get_ok(&format!("/api/leads/{id}"), &t.token).await;
    assert_eq!(l["score"].as_f64(), Some(new_score));
    // The run's outcome is recorded when the run ends, after its events:
    // wait for it (a regression test: reading it at once was flaky).
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let runs = app
            .store
            .job_runs()
            .recent("score_leads", 10)
            .await
            .unwrap();
        if runs.iter().any(|r| {
            r.outcome
                .as_deref()
                .is_some_and(|o| o.starts_with("ok: 1 processed"))
        }) {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "{runs:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_configured_llm_reads_the_buying_intent_of_score_now_once_per_text() {
    let llm = FakeLlm::start(Behaviour::Reply("Intent: 4")).await;
    let app = spawn_app_with(|s| {
        s.llm = Some(llm.config(2_000));
    })
    .await;
    let t = app.tenant("Acme").await;
    let text = json!({"title": "CRM rollout", "description": "Evaluating vendors this quarter"});
    let id = lead(
        &app,
        &t,
        json!({"first_name": "Ada", "industry": "technology"}),
        text.clone(),
    )
    .await;
    let b = app
        .post_ok(&format!("/api/leads/{id}/score"), &t.token, json!({}), 200)
        .await;
    let ai = factor(&b, "ai_insights");
    // Intent 4 of 5 is 4 of the factor's 5 points.
    assert_eq!(ai["points"], 4.0, "{ai}");
    assert_eq!(ai["evidence"]["assessment"]["answered_by"], "llm", "{ai}");
    assert_eq!(llm.requests(), 1);
    // The same text again: answered from the cache, not sent again.
    app.post_ok(&format!("/api/leads/{id}/score"), &t.token, json!({}), 200)
        .await;
    assert_eq!(llm.requests(), 1);

    // The bug this fixes: the scheduled batch (default `llm.batch = cached`)
    // replaced that answer with the offline estimator's. A status change
    // makes the lead stale without changing its text.
    app.with(&t.token)
        .patch_ok(&format!("/api/leads/{id}"), json!({"status": "contacted"}))
        .await;
    let run = app
        .post_ok("/api/scoring/run", &t.token, json!({}), 200)
        .await;
    assert_eq!(run["total_processed"], 1, "{run}");
    let stored = app
        .get_ok(&format!("/api/leads/{id}/score"), &t.token)
        .await;
    let ai = factor(&stored, "ai_insights");
    assert_eq!(ai["points"], 4.0, "{ai}");
    assert_eq!(ai["evidence"]["assessment"]["answered_by"], "llm", "{ai}");
    assert_eq!(ai["evidence"]["assessment"]["cached"], true, "{ai}");
    assert_eq!(llm.requests(), 1);

    // Another organization with the same text asks for itself.
    let other = app.tenant("Globex").await;
    let theirs = lead(&app, &other, json!({"first_name": "Bo"}), text).await;
    let b = app
        .with(&other.token)
        .post_ok(&format!("/api/leads/{theirs}/score"), json!({}))
        .await;
    assert_eq!(
        factor(&b, "ai_insights")["evidence"]["assessment"]["cached"],
        false
    );
    assert_eq!(llm.requests(), 2);
}

/// An answer of `cfg`'s model for `text`, as the LLM would have given it.
fn stored_answer(cfg: &LlmConfig, text: &str) -> IntentWrite {
    IntentWrite {
        key: IntentAssessor::from_config(Some(cfg.clone()), 0)
            .unwrap()
            .cache_key(text)
            .to_hex(),
        intent: 4.0,
        source: "llm",
    }
}

#[tokio::test]
async fn the_scheduled_run_deletes_intent_answers_no_lead_used_and_keeps_a_leads_old_one() {
    let app = spawn_app().await;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let cfg = llm.config(2_000);
    let intent = IntentService::new(Some(cfg.clone()), 0).unwrap();
    let t = app.tenant("Acme").await;
    let other = app.tenant("Globex").await;
    let (org, theirs) = (OrgId(t.org_id), OrgId(other.org_id));
    let id = lead(
        &app,
        &t,
        json!({"first_name": "Ada"}),
        json!({"title": "Rollout", "description": "Need pricing for 40 seats"}),
    )
    .await;
    // Answered, and last used, 40 days ago: the lead's unchanged text, a
    // text no lead has any more, and the lead's text in another
    // organization, which has no lead with it.
    let live = "Rollout\nNeed pricing for 40 seats";
    let long_ago = Utc::now() - Duration::days(40);
    let cache = app.store.intent_cache();
    let rows = [
        stored_answer(&cfg, live),
        stored_answer(&cfg, "Rollout\nPricing"),
    ];
    cache.put_many(org, &rows, long_ago).await.unwrap();
    cache
        .put_many(theirs, &[stored_answer(&cfg, live)], long_ago)
        .await
        .unwrap();
    // Used 10 days ago: within the 30 days kept.
    let recent = [stored_answer(&cfg, "Pilot\nJust browsing")];
    cache
        .put_many(org, &recent, Utc::now() - Duration::days(10))
        .await
        .unwrap();

    let outcome = scheduled_run(&app.store, app.events.as_ref(), &intent, Utc::now())
        .await
        .unwrap();
    assert!(
        outcome.starts_with("1 processed, 1 successful"),
        "{outcome}"
    );
    assert!(
        outcome.ends_with("; 2 unused intent answers deleted"),
        "{outcome}"
    );
    // The batch read the lead's answer first, so the prune kept it.
    let stored = app
        .get_ok(&format!("/api/leads/{id}/score"), &t.token)
        .await;
    let ai = factor(&stored, "ai_insights");
    assert_eq!(ai["evidence"]["assessment"]["answered_by"], "llm", "{ai}");
    assert_eq!(ai["evidence"]["assessment"]["cached"], true, "{ai}");
    assert_eq!(
        cache.count(org).await.unwrap(),
        2,
        "the lead's and the recent one"
    );
    assert_eq!(cache.count(theirs).await.unwrap(), 0);
    assert_eq!(llm.requests(), 0);

    // Nothing is deleted while the batch reads intent offline: nothing
    // marks answers used then.
    cache
        .put_many(org, &[stored_answer(&cfg, "Old\nText")], long_ago)
        .await
        .unwrap();
    let mut offline = cfg.clone();
    offline.batch = BatchIntentMode::Offline;
    let offline = IntentService::new(Some(offline), 0).unwrap();
    let outcome = scheduled_run(&app.store, app.events.as_ref(), &offline, Utc::now())
        .await
        .unwrap();
    assert!(!outcome.contains("deleted"), "{outcome}");
    assert_eq!(cache.count(org).await.unwrap(), 3);
}

#[tokio::test]
async fn the_scheduler_prunes_unused_intent_answers_after_its_batch() {
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let cfg = llm.config(2_000);
    let app = spawn_app_with(|s| {
        s.scheduler = true;
        s.scoring_interval_secs = 1;
        s.llm = Some(cfg.clone());
    })
    .await;
    let t = app.tenant("Acme").await;
    let org = OrgId(t.org_id);
    let cache = app.store.intent_cache();
    // No lead has either text; one was last used 40 days ago, one 10.
    let old = [stored_answer(&cfg, "Gone\nfor good")];
    cache
        .put_many(org, &old, Utc::now() - Duration::days(40))
        .await
        .unwrap();
    let recent = [stored_answer(&cfg, "Still\nwithin the retention")];
    cache
        .put_many(org, &recent, Utc::now() - Duration::days(10))
        .await
        .unwrap();
    // A later one-second slot deletes the old one.
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let runs = app
            .store
            .job_runs()
            .recent("score_leads", 100)
            .await
            .unwrap();
        let pruned = runs.iter().any(|r| {
            r.outcome.as_deref().is_some_and(|o| {
                o.starts_with("ok: ") && o.ends_with("; 1 unused intent answers deleted")
            })
        });
        if pruned {
            break;
        }
        assert!(tokio::time::Instant::now() < until, "{runs:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(cache.count(org).await.unwrap(), 1, "the recent one is kept");
}

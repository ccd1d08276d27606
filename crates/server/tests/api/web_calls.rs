//! The web UI's AI calls: the lead page's "Call" button, the calls list and
//! a call's page (transcript turns, summary, sentiment, outcome), the call
//! batches' list, start form and page, as HTML, for every role, and another
//! organization's ids as 404.

use reqwest::header::LOCATION;
use serde_json::json;

use crate::helpers::{Tenant, TestApp};
use crate::voice::{
    KEY, a_call, analyzed, batch_when_settled, ended, event, lead_with_phone, ready, signed,
    stored_batch,
};
use crate::web::Browser;

/// Posts the lead page's Call form for a sales call (with `csrf` when given).
async fn call_form(b: &mut Browser<'_>, csrf: Option<&str>, lead: i64) -> reqwest::Response {
    let mut form = vec![("scenario", "sales_outbound")];
    form.extend(csrf.map(|c| ("csrf", c)));
    b.post(&format!("/leads/{lead}/call"), &form).await
}

#[tokio::test]
async fn a_call_from_the_lead_page_shows_its_transcript_summary_and_outcome() {
    let (_fake, app, t) = ready("Alpha").await;
    let (lead, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let mut b = Browser::new(&app);
    b.sign_in(&t.email).await;
    let page = b.get_page(&format!("/leads/{lead}")).await;
    assert!(
        page.contains(&format!("action=\"/leads/{lead}/call\"")),
        "the Call form"
    );
    assert!(
        page.contains("<option value=\"sales_outbound\">"),
        "with the scenario"
    );
    assert!(page.contains("sse:call_updated"), "the calls card is live");
    let csrf = b.csrf().await;

    // Without its token the form is refused and nothing is dialled.
    assert_eq!(call_form(&mut b, None, lead).await.status(), 403);
    let r = call_form(&mut b, Some(&csrf), lead).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    let id: i64 = to.trim_start_matches("/calls/").parse().unwrap();
    let page = b.get_page(&to).await;
    assert!(
        page.contains("registered") && page.contains("The transcript arrives when the call ends.")
    );
    assert!(page.contains("sse:call_completed"), "the call page is live");

    let call = app.get_ok(&format!("/api/calls/{id}"), &t.token).await;
    signed(
        &app,
        &event("call_ended", &call, ended("Agent: Hi Ada")),
        KEY,
    )
    .await;
    let custom = json!({"budget": "$50,000", "timeline": "2027-03-01", "follow_up_booked": true});
    signed(&app, &event("call_analyzed", &call, analyzed(custom)), KEY).await;
    let page = b.get_page(&to).await;
    for text in [
        "Yes, we have a budget of fifty thousand.",
        "Ada has a $50k budget and decides by March; follow-up booked.",
        "Positive",
        "Goal reached",
        "Follow up booked",
        "User hangup",
    ] {
        assert!(page.contains(text), "{text} in the call page");
    }
    let list = b.get_page("/calls?status=ended").await;
    assert!(
        list.contains(&format!("href=\"/calls/{id}\"")),
        "the list links the call"
    );
    assert!(
        list.contains(&format!("<a href=\"/leads/{lead}\">Difference engine</a>")),
        "the list names the call's lead by its title"
    );
    let none = b.get_page("/calls?status=ongoing").await;
    assert!(!none.contains(&format!("href=\"/calls/{id}\"")));
    let lead_page = b.get_page(&format!("/leads/{lead}")).await;
    assert!(
        lead_page.contains("Goal reached") && lead_page.contains("$50,000"),
        "the lead shows the call and its budget"
    );

    // Every role reads the pages.
    for role in ["manager", "rep"] {
        let email = format!("{role}@alpha.example.com");
        app.member(&t, &email, role).await;
        let mut r = Browser::new(&app);
        r.sign_in(&email).await;
        r.get_page("/calls").await;
        r.get_page(&to).await;
    }

    // A lead deleted since is named by its number, as gone.
    app.with(&t.token)
        .deleted(&format!("/api/leads/{lead}"))
        .await;
    let gone = format!("lead {lead} (deleted)");
    assert!(
        b.get_page("/calls").await.contains(&gone),
        "the list says so"
    );
    assert!(b.get_page(&to).await.contains(&gone), "and the call page");
}

#[tokio::test]
async fn another_organizations_call_and_lead_are_not_found_and_refusals_say_why() {
    let (_fake, app, t, lead, call) = a_call().await;
    let other = app.tenant("Beta").await;
    let contact = &call["contact_id"];
    let mut b = Browser::new(&app);
    b.sign_in(&other.email).await;
    let csrf = b.csrf().await;
    assert_eq!(b.get(&format!("/calls/{}", call["id"])).await.status(), 404);
    assert_eq!(call_form(&mut b, Some(&csrf), lead).await.status(), 404);
    let list = b.get_page("/calls").await;
    assert!(!list.contains(&format!("href=\"/calls/{}\"", call["id"])));

    // A refusal of the guardrails is the page's message.
    app.with(&t.token)
        .patch_ok(
            &format!("/api/contacts/{contact}/calling-preferences"),
            json!({"do_not_call": true}),
        )
        .await;
    let mut a = Browser::new(&app);
    a.sign_in(&t.email).await;
    let csrf = a.csrf().await;
    let r = call_form(&mut a, Some(&csrf), lead).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("do not call"));
}

/// Posts the batches page's start form (with `csrf` when given).
async fn start(
    b: &mut Browser<'_>,
    csrf: Option<&str>,
    segment: &str,
    scenario: &str,
) -> reqwest::Response {
    let mut form = vec![("segment_id", segment), ("scenario", scenario)];
    form.extend(csrf.map(|c| ("csrf", c)));
    b.post("/call-batches", &form).await
}

/// A static segment of `t`'s contacts whose company holds `company`.
async fn segment_of(app: &TestApp, t: &Tenant, name: &str, company: &str) -> i64 {
    let rule = json!({"field": "company", "operand": "contains", "value": company});
    app.with(&t.token).segment(name, "static", rule).await
}

#[tokio::test]
async fn a_batch_started_from_its_page_calls_the_segment_and_shows_its_progress() {
    let (_fake, app, t) = ready("Alpha").await;
    let (lead, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let seg = segment_of(&app, &t, "Engines", "Analytical").await;
    let empty = segment_of(&app, &t, "Nobody", "No such company").await;
    let mut b = Browser::new(&app);
    b.sign_in(&t.email).await;
    assert!(
        b.get_page("/calls")
            .await
            .contains("href=\"/call-batches\""),
        "the calls page links the batches"
    );
    let page = b.get_page("/call-batches").await;
    assert!(page.contains("No batch yet."));
    assert!(page.contains("action=\"/call-batches\""), "the start form");
    assert!(page.contains(&format!("<option value=\"{seg}\">Engines (")));
    assert!(page.contains("<option value=\"sales_outbound\">"));
    let seg = seg.to_string();

    // Without its token the form is refused and no batch starts.
    let r = start(&mut b, None, &seg, "sales_outbound").await;
    assert_eq!(r.status(), 403);
    let none = app.get_ok("/api/call-batches", &t.token).await;
    assert_eq!(none["items"], json!([]));

    // Refusals come back on the form, the field marked.
    let csrf = b.csrf().await;
    let r = start(&mut b, Some(&csrf), &empty.to_string(), "sales_outbound").await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(text.contains("hold no open lead"), "{text}");
    assert!(text.contains("name=\"segment_id\" aria-invalid=\"true\""));
    let r = start(&mut b, Some(&csrf), &seg, "cold_calls").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("choose a scenario"));

    // Started: the batch's page, and its lead called in the background.
    let r = start(&mut b, Some(&csrf), &seg, "sales_outbound").await;
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    let id: i64 = to.trim_start_matches("/call-batches/").parse().unwrap();
    let done = batch_when_settled(&app, &t, &json!(id)).await;
    assert_eq!(done["placed"], 1, "{done}");
    let page = b.get_page(&to).await;
    assert!(page.contains("id=\"stat-placed\">1<"), "one placed");
    assert!(page.contains("completed") && page.contains("100 % of 1 lead done"));
    assert!(
        page.contains("<h1>Engines</h1>\n  <span class=\"count\">Sales outbound batch</span>"),
        "the page names the segment it called"
    );
    assert!(page.contains(&format!("href=\"/leads/{lead}\">Difference engine")));
    let call = app.get_ok("/api/calls", &t.token).await["items"][0]["id"].clone();
    assert!(
        page.contains(&format!("href=\"/calls/{call}\">registered")),
        "the lead's call, linked"
    );
    assert!(!page.contains("every 5s"), "a finished batch stops polling");
    let list = b.get_page("/call-batches").await;
    assert!(
        list.contains(&format!("href=\"/call-batches/{id}\">Engines</a>")),
        "the list names the batch by its segment"
    );
    assert!(list.contains("sse:call_updated"), "the list is live");

    // Every role reads; only admins and managers get and may post the form.
    for role in ["manager", "rep"] {
        let email = format!("{role}@alpha.example.com");
        app.member(&t, &email, role).await;
        let mut r = Browser::new(&app);
        r.sign_in(&email).await;
        let list = r.get_page("/call-batches").await;
        assert!(list.contains(&format!("href=\"/call-batches/{id}\"")));
        assert_eq!(
            list.contains("action=\"/call-batches\""),
            role == "manager",
            "{role}"
        );
        r.get_page(&to).await;
        let csrf = r.csrf().await;
        let posted = start(&mut r, Some(&csrf), &seg, "sales_outbound").await;
        assert_eq!(
            posted.status(),
            if role == "rep" { 403 } else { 303 },
            "{role}"
        );
    }
}

#[tokio::test]
async fn another_organizations_batch_and_segment_are_not_found_and_a_running_batch_polls() {
    let (_fake, app, t) = ready("Alpha").await;
    let other = app.tenant("Beta").await;
    let (lead, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let seg = segment_of(&app, &t, "Engines", "Analytical").await;
    // A batch no pass has taken up yet: running, its lead pending.
    let batch = stored_batch(&app, &t, &[lead]).await;
    let mut a = Browser::new(&app);
    a.sign_in(&t.email).await;
    let page = a.get_page(&format!("/call-batches/{}", batch.id)).await;
    assert!(page.contains("id=\"stat-pending\">1<") && page.contains("running"));
    assert!(page.contains("every 5s"), "a running batch polls");
    assert!(a.get_page("/call-batches").await.contains("every 5s"));

    let mut b = Browser::new(&app);
    b.sign_in(&other.email).await;
    let r = b.get(&format!("/call-batches/{}", batch.id)).await;
    assert_eq!(r.status(), 404);
    let list = b.get_page("/call-batches").await;
    assert!(!list.contains(&format!("href=\"/call-batches/{}\"", batch.id)));
    assert!(!list.contains("Engines"), "nor A's segments in the form");
    let csrf = b.csrf().await;
    let r = start(&mut b, Some(&csrf), &seg.to_string(), "sales_outbound").await;
    assert_eq!(r.status(), 404);
    let mine = app.get_ok("/api/call-batches", &other.token).await;
    assert_eq!(mine["items"], json!([]), "nothing started for Beta");
}

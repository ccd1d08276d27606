//! The web UI's AI calls: the lead page's "Call" button, the calls list and
//! a call's page (transcript turns, summary, sentiment, outcome), as HTML,
//! for every role, and another organization's ids as 404.

use reqwest::header::LOCATION;
use serde_json::json;

use crate::voice::{KEY, analyzed, ended, event, lead_with_phone, ready, signed};
use crate::web::Browser;

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
    let r = b
        .post(
            &format!("/leads/{lead}/call"),
            &[("scenario", "sales_outbound")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = b
        .post(
            &format!("/leads/{lead}/call"),
            &[("csrf", &csrf), ("scenario", "sales_outbound")],
        )
        .await;
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
}

#[tokio::test]
async fn another_organizations_call_and_lead_are_not_found_and_refusals_say_why() {
    let (_fake, app, t) = ready("Alpha").await;
    let other = app.tenant("Beta").await;
    let (lead, contact) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let call = app
        .post_ok(
            "/api/calls",
            &t.token,
            json!({"lead_id": lead, "scenario": "sales_outbound"}),
            201,
        )
        .await;
    let mut b = Browser::new(&app);
    b.sign_in(&other.email).await;
    let csrf = b.csrf().await;
    assert_eq!(b.get(&format!("/calls/{}", call["id"])).await.status(), 404);
    let r = b
        .post(
            &format!("/leads/{lead}/call"),
            &[("csrf", &csrf), ("scenario", "sales_outbound")],
        )
        .await;
    assert_eq!(r.status(), 404);
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
    let r = a
        .post(
            &format!("/leads/{lead}/call"),
            &[("csrf", &csrf), ("scenario", "sales_outbound")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("do not call"));
}

//! Sentiment of activities: the backfill's counts, chunking and tenancy,
//! re-analysis after an edit, and the organization's model file.

use neuracrm_domain::{ActivityId, ActivityPatch, ActivityType, NewActivity, NewContact, OrgId};
use neuracrm_jobs::sentiment::{BackfillOptions, SentimentService, analyze_activities, backfill};
use neuracrm_sentiment::{Label, LabelledData, TrainOptions, train};
use neuracrm_store::Store;
use neuracrm_store::testing::fresh_store;

async fn activity(s: &Store, org: OrgId, kind: ActivityType, body: Option<&str>) -> ActivityId {
    let contact = s
        .contacts()
        .create(
            org,
            None,
            &NewContact {
                first_name: "Ada".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    s.activities()
        .create(
            org,
            None,
            &NewActivity {
                kind,
                lead_id: None,
                deal_id: None,
                contact_id: Some(contact.id),
                user_id: None,
                subject: None,
                body: body.map(str::to_string),
                duration_seconds: None,
                occurred_at: None,
            },
        )
        .await
        .unwrap()
        .id
}

async fn stored(s: &Store, org: OrgId, ids: &[ActivityId]) -> Vec<(i64, String)> {
    let mut rows: Vec<(i64, String)> = s
        .sentiment()
        .get_many(org, ids)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.activity_id, r.label))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn backfill_analyses_each_customer_text_once_per_organization() {
    let t = fresh_store().await;
    let s = &t.store;
    let a = s.organizations().create("A").await.unwrap().id;
    let b = s.organizations().create("B").await.unwrap().id;
    use ActivityType::*;
    // A: five activities with customer text (labels by VADER 3.3.2: positive,
    // negative, neutral, negative, positive), three without.
    let a_pos = activity(s, a, Note, Some("The customer was happy with the renewal.")).await;
    let a_neg = activity(s, a, Call, Some("Onboarding was a disaster.")).await;
    let a_neu = activity(
        s,
        a,
        EmailReceived,
        Some("Quarterly business review scheduled for Tuesday."),
    )
    .await;
    let a_neg2 = activity(
        s,
        a,
        Note,
        Some("They are furious about the outage and want to cancel."),
    )
    .await;
    let a_pos2 = activity(s, a, EmailReceived, Some("Thanks, great work!")).await;
    let a_sent = activity(s, a, EmailSent, Some("This is terrible news for you.")).await;
    let a_blank = activity(s, a, Note, Some("   ")).await;
    let a_open = activity(s, a, EmailOpen, None).await;
    // B: two with customer text.
    let b1 = activity(s, b, Note, Some("Terrible support, very disappointed.")).await;
    let b2 = activity(s, b, Call, Some("Lovely call, they love the product.")).await;

    let service = SentimentService::default();
    // One of A's is analysed already (as the event subscriber would have).
    let c = analyze_activities(s, &service, a, &[a_pos]).await.unwrap();
    assert_eq!((c.analyzed, c.positive), (1, 1));

    let opts = BackfillOptions {
        org: Some(a),
        chunk: 2,
    };
    let mut chunks = Vec::new();
    let r = backfill(s, &service, &opts, |n| chunks.push(n))
        .await
        .unwrap();
    assert_eq!(r.organizations, 1);
    assert_eq!(
        (
            r.counts.analyzed,
            r.counts.negative,
            r.counts.neutral,
            r.counts.positive
        ),
        (4, 2, 1, 1),
        "{r:?}"
    );
    assert_eq!((r.counts.skipped, r.failed), (0, 0));
    assert_eq!(chunks, vec![2, 2], "chunks of two");
    let all_a = [a_pos, a_neg, a_neu, a_neg2, a_pos2, a_sent, a_blank, a_open];
    assert_eq!(
        stored(s, a, &all_a).await,
        vec![
            (a_pos.0, "positive".into()),
            (a_neg.0, "negative".into()),
            (a_neu.0, "neutral".into()),
            (a_neg2.0, "negative".into()),
            (a_pos2.0, "positive".into()),
        ]
    );
    assert!(stored(s, b, &[b1, b2]).await.is_empty(), "B untouched");
    // A's ids read as B find nothing.
    assert!(stored(s, b, &all_a).await.is_empty());

    // Nothing left to do for A.
    let again = backfill(s, &service, &opts, |_| {}).await.unwrap();
    assert_eq!(again.counts.analyzed, 0);

    // Every organization: only B's two remain.
    let rest = backfill(s, &service, &BackfillOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(rest.organizations, 2);
    assert_eq!(
        (
            rest.counts.analyzed,
            rest.counts.negative,
            rest.counts.positive
        ),
        (2, 1, 1)
    );
    assert_eq!(
        stored(s, b, &[b1, b2]).await,
        vec![(b1.0, "negative".into()), (b2.0, "positive".into())]
    );

    // Naming B's activity with A's organization analyses nothing.
    let cross = analyze_activities(s, &service, a, &[b1]).await.unwrap();
    assert_eq!(cross.analyzed, 0);

    // A deleted activity takes its sentiment with it.
    s.activities().delete(a, None, a_neg).await.unwrap();
    assert!(stored(s, a, &[a_neg]).await.is_empty());
}

#[tokio::test]
async fn an_edit_re_analyses_and_a_cleared_body_clears_the_result() {
    let t = fresh_store().await;
    let s = &t.store;
    let org = s.organizations().create("A").await.unwrap().id;
    let id = activity(
        s,
        org,
        ActivityType::Note,
        Some("Great meeting, thank you!"),
    )
    .await;
    let service = SentimentService::default();
    analyze_activities(s, &service, org, &[id]).await.unwrap();
    assert_eq!(stored(s, org, &[id]).await, vec![(id.0, "positive".into())]);

    let patch: ActivityPatch =
        serde_json::from_value(serde_json::json!({"body": "Awful, they are angry."})).unwrap();
    s.activities().update(org, None, id, &patch).await.unwrap();
    analyze_activities(s, &service, org, &[id]).await.unwrap();
    assert_eq!(stored(s, org, &[id]).await, vec![(id.0, "negative".into())]);

    let patch: ActivityPatch = serde_json::from_value(serde_json::json!({"body": null})).unwrap();
    s.activities().update(org, None, id, &patch).await.unwrap();
    let c = analyze_activities(s, &service, org, &[id]).await.unwrap();
    assert_eq!((c.analyzed, c.skipped), (0, 1));
    assert!(stored(s, org, &[id]).await.is_empty());
}

fn tiny_training_set() -> LabelledData {
    let mut data = LabelledData {
        texts: Vec::new(),
        labels: Vec::new(),
        sources: Vec::new(),
    };
    for i in 0..40 {
        data.texts
            .push(format!("renewal approved, budget signed, order {i}"));
        data.labels.push(Label::Positive);
        data.texts.push(format!(
            "invoice dispute escalated, refund demanded, ticket {i}"
        ));
        data.labels.push(Label::Negative);
    }
    data
}

#[tokio::test]
async fn an_organization_model_is_used_and_a_broken_one_falls_back_to_vader() {
    let t = fresh_store().await;
    let s = &t.store;
    let with_model = s.organizations().create("Modelled").await.unwrap().id;
    let broken = s.organizations().create("Broken").await.unwrap().id;
    let plain = s.organizations().create("Plain").await.unwrap().id;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("org.model");
    let bad = dir.path().join("broken.model");
    let options = TrainOptions {
        forest: neuracrm_sentiment::forest::ForestConfig {
            n_trees: 5,
            ..Default::default()
        },
        ..Default::default()
    };
    let (model, _) = train(&tiny_training_set(), &options).unwrap();
    model.save(&good).unwrap();
    std::fs::write(&bad, b"not a model at all").unwrap();
    for (org, path) in [(with_model, &good), (broken, &bad)] {
        s.organizations()
            .set_settings(
                org,
                &serde_json::json!({"sentiment": {"model_path": path.to_str().unwrap()}}),
            )
            .await
            .unwrap();
    }
    let service = SentimentService::default();
    let m = service.analyzer(s, with_model).await.unwrap();
    let r = m.analyze("invoice dispute escalated again");
    assert_eq!(r.method, neuracrm_sentiment::Method::Model);
    assert_eq!(r.label, Label::Negative);
    assert!(
        std::sync::Arc::ptr_eq(&m, &service.analyzer(s, with_model).await.unwrap()),
        "loaded once, shared"
    );
    let v = service.analyzer(s, broken).await.unwrap();
    assert_eq!(v.analyze("fine").method, neuracrm_sentiment::Method::Vader);
    assert!(std::sync::Arc::ptr_eq(&v, &service.vader()));
    assert!(std::sync::Arc::ptr_eq(
        &service.analyzer(s, plain).await.unwrap(),
        &service.vader()
    ));

    // Stored rows say which engine decided.
    let id = activity(s, with_model, ActivityType::Note, Some("refund demanded")).await;
    analyze_activities(s, &service, with_model, &[id])
        .await
        .unwrap();
    let row = s.sentiment().get(with_model, id).await.unwrap().unwrap();
    assert_eq!(row.method, "model");
}

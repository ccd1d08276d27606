//! Score writes: what is stored, and what joins the history.

use chrono::{DateTime, Duration, Utc};
use neuracrm_domain::LeadId;
use neuracrm_store::scoring::ScoreWrite;

use crate::harness::store;
use crate::stories::lead;

pub fn score(
    lead_id: LeadId,
    score: f64,
    category: &str,
    factors: &str,
    changed: bool,
) -> ScoreWrite {
    ScoreWrite {
        lead_id,
        score,
        category: category.into(),
        confidence: 0.75,
        factors: factors.into(),
        changed,
    }
}

#[tokio::test]
async fn the_history_follows_the_stored_score_and_unchanged_scores_keep_it() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let other = s.organizations().create("Other").await.unwrap();
    let l1 = s
        .leads()
        .create(org.id, None, &lead("One", None))
        .await
        .unwrap();
    let l2 = s
        .leads()
        .create(org.id, None, &lead("Two", None))
        .await
        .unwrap();
    let foreign = s
        .leads()
        .create(other.id, None, &lead("Theirs", None))
        .await
        .unwrap();
    let t1: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let (t2, t3) = (t1 + Duration::hours(1), t1 + Duration::hours(2));
    let history = |id| async move {
        s.scoring()
            .history(org.id, id, 10)
            .await
            .unwrap()
            .iter()
            .map(|p| (p.score, p.category.clone()))
            .collect::<Vec<_>>()
    };

    let first = [
        score(l1.id, 80.0, "Hot", r#"{"v":1}"#, true),
        score(l2.id, 30.0, "Cold", r#"{"v":1}"#, true),
    ];
    s.scoring().write(org.id, first, t1).await.unwrap();
    assert_eq!(history(l1.id).await, [(80.0, "Hot".to_string())]);

    let second = [
        // Unchanged: breakdown, confidence and time move, the history not.
        score(l1.id, 80.0, "Hot", r#"{"v":2}"#, false),
        // Read as unchanged, but the stored score moved since (another
        // writer): stored as given, and the move joins the history.
        score(l2.id, 35.0, "Cold", r#"{"v":2}"#, false),
        // Another organization's lead and a deleted one: skipped.
        score(foreign.id, 99.0, "Hot", "{}", true),
        score(LeadId(9_999_999), 99.0, "Hot", "{}", true),
    ];
    s.scoring().write(org.id, second, t2).await.unwrap();
    let got = s.leads().get(org.id, l1.id).await.unwrap();
    assert_eq!(
        (
            got.score,
            got.score_category.as_deref(),
            got.score_updated_at
        ),
        (Some(80.0), Some("Hot"), Some(t2))
    );
    assert_eq!(got.score_factors.unwrap()["v"], 2);
    assert_eq!(got.score_confidence, Some(0.75));
    assert_eq!(history(l1.id).await.len(), 1);
    let got = s.leads().get(org.id, l2.id).await.unwrap();
    assert_eq!((got.score, got.score_updated_at), (Some(35.0), Some(t2)));
    assert_eq!(
        history(l2.id).await,
        [(35.0, "Cold".to_string()), (30.0, "Cold".to_string())]
    );
    let theirs = s.leads().get(other.id, foreign.id).await.unwrap();
    assert_eq!(theirs.score, None);
    assert!(
        s.scoring()
            .history(other.id, foreign.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Read as changed, but already stored by someone else: no second row.
    s.scoring()
        .write(org.id, [score(l2.id, 35.0, "Cold", r#"{"v":3}"#, true)], t3)
        .await
        .unwrap();
    assert_eq!(history(l2.id).await.len(), 2);
    let got = s.leads().get(org.id, l2.id).await.unwrap();
    assert_eq!(
        (
            got.score_factors.unwrap()["v"].clone(),
            got.score_updated_at
        ),
        (3.into(), Some(t3))
    );

    // A category change alone is a change.
    s.scoring()
        .write(org.id, [score(l2.id, 35.0, "Lukewarm", "{}", false)], t3)
        .await
        .unwrap();
    assert_eq!(history(l2.id).await[0], (35.0, "Lukewarm".to_string()));
}

#[tokio::test]
async fn facts_read_with_contacts_held_in_memory_equal_the_joined_ones() {
    use crate::stories::contact;
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let other = s.organizations().create("Other").await.unwrap();
    // Another organization's contact comes first, so ours are not 1..n.
    s.contacts()
        .create(other.id, None, &contact("Theirs", None))
        .await
        .unwrap();
    let mut contacts = Vec::new();
    for (name, industry, title, size) in [
        ("Ada", Some("Healthcare"), Some("CTO"), Some(40)),
        ("Bo", Some("Healthcare"), None, None),
        ("Cy", None, Some("CTO"), Some(7)),
    ] {
        let mut c = contact(name, None);
        c.industry = industry.map(String::from);
        c.job_title = title.map(String::from);
        c.company_size = size;
        contacts.push(s.contacts().create(org.id, None, &c).await.unwrap().id);
    }
    let mut leads = Vec::new();
    for (i, c) in [
        Some(contacts[0]),
        None,
        Some(contacts[1]),
        Some(contacts[2]),
        Some(contacts[0]),
    ]
    .into_iter()
    .enumerate()
    {
        let l = s
            .leads()
            .create(org.id, None, &lead(&format!("Lead {i}"), c))
            .await
            .unwrap();
        leads.push(l.id.0);
    }
    let data = s.scoring();
    assert!(
        data.contact_facts(org.id, 2).await.unwrap().is_none(),
        "more than 2"
    );
    let held = data
        .contact_facts(org.id, 3)
        .await
        .unwrap()
        .expect("3 contacts");
    assert_eq!(held.len(), 3);
    let (first, last) = (leads[0], *leads.last().unwrap());
    let joined = data.facts(org.id, first, last, None).await.unwrap();
    let from_memory = data.facts(org.id, first, last, Some(&held)).await.unwrap();
    assert_eq!(joined.len(), 5);
    assert_eq!(from_memory, joined);
    let fields: Vec<_> = joined
        .iter()
        .map(|r| {
            (
                r.industry.as_deref(),
                r.job_title.as_deref(),
                r.company_size,
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            (Some("Healthcare"), Some("CTO"), Some(40)),
            (None, None, None),
            (Some("Healthcare"), None, None),
            (None, Some("CTO"), Some(7)),
            (Some("Healthcare"), Some("CTO"), Some(40)),
        ]
    );
    // A contact created after the set was read is read when needed.
    let late = s
        .contacts()
        .create(org.id, None, &contact("Late", None))
        .await
        .unwrap();
    let l = s
        .leads()
        .create(org.id, None, &lead("Late lead", Some(late.id)))
        .await
        .unwrap();
    let r = data
        .facts(org.id, l.id.0, l.id.0, Some(&held))
        .await
        .unwrap();
    assert_eq!(
        (r[0].contact_id, r[0].industry.as_deref()),
        (Some(late.id.0), Some("technology"))
    );
    assert_eq!(r, data.facts(org.id, l.id.0, l.id.0, None).await.unwrap());
}

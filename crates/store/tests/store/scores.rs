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

//! A row of another organization does not exist for the caller.

use neuracrm_domain::*;
use neuracrm_store::contacts::ContactFilter;
use neuracrm_store::{Page, Sort, StoreError};

use crate::harness::store;
use crate::stories::{contact, lead};

fn not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::NotFound { .. })),
        "expected NotFound, got {r:?}"
    );
}

#[tokio::test]
async fn another_organization_sees_nothing_and_changes_nothing() {
    let t = store().await;
    let s = &t.store;
    let a = s.organizations().create("A").await.unwrap().id;
    let b = s.organizations().create("B").await.unwrap().id;
    let user_a = s
        .users()
        .create(
            a,
            None,
            &NewUser {
                email: Email::parse("u@a.io").unwrap(),
                name: "U".into(),
                role: Role::Rep,
            },
            "h",
        )
        .await
        .unwrap();
    let c = s
        .contacts()
        .create(a, None, &contact("Ada", Some("ada@a.io")))
        .await
        .unwrap();
    let l = s
        .leads()
        .create(a, None, &lead("A's lead", Some(c.id)))
        .await
        .unwrap();
    let d = s
        .deals()
        .create(
            a,
            None,
            &NewDeal {
                contact_id: Some(c.id),
                lead_id: Some(l.id),
                owner_id: None,
                title: "A's deal".into(),
                value_cents: Cents::new(100).unwrap(),
                stage: DealStage::Negotiation,
                expected_close: None,
                closed_at: None,
            },
        )
        .await
        .unwrap();
    let act = s
        .activities()
        .create(
            a,
            None,
            &NewActivity {
                kind: ActivityType::Note,
                lead_id: Some(l.id),
                deal_id: None,
                contact_id: None,
                user_id: None,
                subject: None,
                body: Some("secret".into()),
                duration_seconds: None,
                occurred_at: None,
            },
        )
        .await
        .unwrap();

    // Reads.
    not_found(s.users().get(b, user_a.id).await);
    not_found(s.contacts().get(b, c.id).await);
    not_found(s.leads().get(b, l.id).await);
    not_found(s.deals().get(b, d.id).await);
    not_found(s.activities().get(b, act.id).await);
    assert!(
        s.contacts()
            .list(
                b,
                &ContactFilter::default(),
                Sort::default(),
                Page::default()
            )
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Writes.
    not_found(
        s.contacts()
            .update(
                b,
                None,
                c.id,
                &ContactPatch {
                    first_name: Some("Mallory".into()),
                    ..Default::default()
                },
            )
            .await,
    );
    not_found(
        s.leads()
            .update(
                b,
                None,
                l.id,
                &LeadPatch {
                    title: Some("x".into()),
                    ..Default::default()
                },
            )
            .await,
    );
    not_found(
        s.deals()
            .update(
                b,
                None,
                d.id,
                &DealPatch {
                    stage: Some(DealStage::ClosedLost),
                    ..Default::default()
                },
            )
            .await,
    );
    not_found(
        s.activities()
            .update(
                b,
                None,
                act.id,
                &ActivityPatch {
                    body: Some(None),
                    ..Default::default()
                },
            )
            .await,
    );
    not_found(s.contacts().delete(b, None, c.id).await);
    not_found(s.leads().delete(b, None, l.id).await);
    not_found(s.deals().delete(b, None, d.id).await);
    not_found(s.activities().delete(b, None, act.id).await);
    not_found(s.users().delete(b, None, user_a.id).await);

    // Foreign keys into A from B are refused, naming the field.
    let err = s
        .leads()
        .create(b, None, &lead("B's lead", Some(c.id)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::BadReference {
                field: "contact_id",
                ..
            }
        ),
        "{err:?}"
    );
    let mut owned = contact("Bob", None);
    owned.owner_id = Some(user_a.id);
    let err = s.contacts().create(b, None, &owned).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::BadReference {
                field: "owner_id",
                ..
            }
        ),
        "{err:?}"
    );
    let b_lead = s
        .leads()
        .create(b, None, &lead("B's lead", None))
        .await
        .unwrap();
    let err = s
        .leads()
        .update(
            b,
            None,
            b_lead.id,
            &LeadPatch {
                contact_id: Some(Some(c.id)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::BadReference {
                field: "contact_id",
                ..
            }
        ),
        "{err:?}"
    );

    // Nothing of A changed.
    assert_eq!(s.contacts().get(a, c.id).await.unwrap(), c);
    assert_eq!(s.leads().get(a, l.id).await.unwrap(), l);
    assert_eq!(s.deals().get(a, d.id).await.unwrap(), d);
    assert_eq!(s.activities().get(a, act.id).await.unwrap(), act);
}

#[tokio::test]
async fn the_database_itself_refuses_cross_tenant_references() {
    // Even a statement that skips the repository's checks cannot point a row
    // of B at a row of A: the composite foreign keys refuse it.
    let t = store().await;
    let s = &t.store;
    let a = s.organizations().create("A").await.unwrap().id;
    let b = s.organizations().create("B").await.unwrap().id;
    let c = s
        .contacts()
        .create(a, None, &contact("Ada", None))
        .await
        .unwrap();
    let r = s
        .db()
        .execute(
            neuracrm_store::Sql::new(
                "INSERT INTO leads (organization_id, contact_id, title, status, source, created_at, updated_at) \
                 VALUES ($1, $2, 'x', 'new', 'website', $3, $3)",
            )
            .arg(b)
            .arg(c.id)
            .arg(chrono::Utc::now()),
        )
        .await;
    assert!(r.is_err(), "a cross-tenant foreign key was accepted");
}

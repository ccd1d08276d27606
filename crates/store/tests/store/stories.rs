//! Create, read, update, list and delete across the model.

use neuracrm_domain::*;
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::contacts::{ContactFilter, ContactSort, Upserted};
use neuracrm_store::deals::DealFilter;
use neuracrm_store::leads::{LeadFilter, LeadSort};
use neuracrm_store::{Page, Sort, SortDir, StoreError};

use crate::harness::store;
use crate::scores::score;

pub fn contact(first: &str, email: Option<&str>) -> NewContact {
    NewContact {
        first_name: first.into(),
        last_name: Some("Tester".into()),
        email: email.map(|e| Email::parse(e).unwrap()),
        company: Some(format!("{first} Industries")),
        job_title: Some("VP of Sales".into()),
        industry: Some("technology".into()),
        company_size: Some(250),
        ..Default::default()
    }
}

pub fn lead(title: &str, contact_id: Option<ContactId>) -> NewLead {
    NewLead {
        contact_id,
        owner_id: None,
        title: title.into(),
        description: Some("Budget approved, need it this quarter".into()),
        status: LeadStatus::New,
        source: LeadSource::Website,
        budget_cents: Some(Cents::new(5_000_000).unwrap()),
        expected_decision: Some(parse_date("2027-01-15", "expected_decision").unwrap()),
    }
}

#[tokio::test]
async fn contact_lifecycle() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let c = s
        .contacts()
        .create(org.id, None, &contact("Ada", Some("ada@acme.io")))
        .await
        .unwrap();
    assert_eq!(c.first_name, "Ada");
    assert_eq!(c.email.as_ref().unwrap().as_str(), "ada@acme.io");

    let got = s.contacts().get(org.id, c.id).await.unwrap();
    assert_eq!(got, c);

    let patch = ContactPatch {
        company: Some(Some("Analytical Engines".into())),
        phone: Some(Some("+44 20 7946 0000".into())),
        ..Default::default()
    };
    let (old, new) = s
        .contacts()
        .update(org.id, None, c.id, &patch)
        .await
        .unwrap();
    assert_eq!(old.company.as_deref(), Some("Ada Industries"));
    assert_eq!(new.company.as_deref(), Some("Analytical Engines"));
    assert!(new.updated_at >= old.updated_at);
    assert_eq!(s.contacts().get(org.id, c.id).await.unwrap(), new);

    s.contacts().delete(org.id, None, c.id).await.unwrap();
    assert!(matches!(
        s.contacts().get(org.id, c.id).await,
        Err(StoreError::NotFound { entity: "contact" })
    ));
    assert!(matches!(
        s.contacts().delete(org.id, None, c.id).await,
        Err(StoreError::NotFound { .. })
    ));

    let audit = s.audit().list(org.id, Page::default()).await.unwrap();
    let actions: Vec<_> = audit.items.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(
        actions.contains(&"create") && actions.contains(&"update") && actions.contains(&"delete")
    );
}

#[tokio::test]
async fn duplicate_email_is_a_conflict_naming_the_field() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    s.contacts()
        .create(org.id, None, &contact("Ada", Some("ada@acme.io")))
        .await
        .unwrap();
    let err = s
        .contacts()
        .create(org.id, None, &contact("Bob", Some("ADA@acme.io")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                entity: "contact",
                field: "email"
            }
        ),
        "{err:?}"
    );
    // The same address in another organization is fine.
    let other = s.organizations().create("Other").await.unwrap();
    s.contacts()
        .create(other.id, None, &contact("Ada", Some("ada@acme.io")))
        .await
        .unwrap();
}

#[tokio::test]
async fn upsert_by_email_creates_then_updates() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let mut tx = s.db().begin().await.unwrap();
    let (a, o1) = s
        .contacts()
        .upsert_by_email(&mut tx, org.id, None, &contact("Ada", Some("ada@acme.io")))
        .await
        .unwrap();
    let mut changed = contact("Ada", Some("ada@acme.io"));
    changed.job_title = Some("CEO".into());
    let (b, o2) = s
        .contacts()
        .upsert_by_email(&mut tx, org.id, None, &changed)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((o1, o2), (Upserted::Created, Upserted::Updated));
    assert_eq!(a.id, b.id);
    assert_eq!(
        s.contacts()
            .get(org.id, a.id)
            .await
            .unwrap()
            .job_title
            .as_deref(),
        Some("CEO")
    );
    let all = s
        .contacts()
        .list(
            org.id,
            &ContactFilter::default(),
            Sort::default(),
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
}

#[tokio::test]
async fn lists_page_filter_and_sort() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    for (i, name) in ["Cleo", "Ada", "Bea", "Dora", "Eve"].iter().enumerate() {
        let mut c = contact(name, Some(&format!("{}@x.io", name.to_lowercase())));
        c.last_name = Some(format!("L{i}"));
        if *name == "Bea" {
            c.company = Some("Zebra Logistics".into());
        }
        s.contacts().create(org.id, None, &c).await.unwrap();
    }
    let sort = Sort {
        by: ContactSort::Name,
        dir: SortDir::Asc,
    };
    let p1 = s
        .contacts()
        .list(
            org.id,
            &ContactFilter::default(),
            sort,
            Page {
                limit: 2,
                offset: 0,
            },
        )
        .await
        .unwrap();
    let p3 = s
        .contacts()
        .list(
            org.id,
            &ContactFilter::default(),
            sort,
            Page {
                limit: 2,
                offset: 4,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        p1.items
            .iter()
            .map(|c| c.first_name.as_str())
            .collect::<Vec<_>>(),
        ["Cleo", "Ada"]
    );
    assert!(p1.has_more);
    assert_eq!(p3.items.len(), 1);
    assert!(!p3.has_more);

    let search = ContactFilter {
        q: Some("zebra".into()),
        ..Default::default()
    };
    let found = s
        .contacts()
        .list(org.id, &search, Sort::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].first_name, "Bea");
    // LIKE wildcards in the search text are literal.
    let pct = ContactFilter {
        q: Some("%".into()),
        ..Default::default()
    };
    assert!(
        s.contacts()
            .list(org.id, &pct, Sort::default(), Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn leads_deals_and_activities_reference_each_other() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let rep = s
        .users()
        .create(
            org.id,
            None,
            &NewUser {
                email: Email::parse("rep@acme.io").unwrap(),
                name: "Rep".into(),
                role: Role::Rep,
            },
            "hash",
        )
        .await
        .unwrap();
    let c = s
        .contacts()
        .create(org.id, None, &contact("Ada", None))
        .await
        .unwrap();
    let mut nl = lead("Data platform", Some(c.id));
    nl.owner_id = Some(rep.id);
    let l = s.leads().create(org.id, Some(rep.id), &nl).await.unwrap();
    assert_eq!(l.contact_id, Some(c.id));
    assert_eq!(l.budget_cents.unwrap().get(), 5_000_000);

    let d = s
        .deals()
        .create(
            org.id,
            None,
            &NewDeal {
                contact_id: Some(c.id),
                lead_id: Some(l.id),
                owner_id: Some(rep.id),
                title: "Platform licence".into(),
                value_cents: Cents::new(1_234_500).unwrap(),
                stage: DealStage::Proposal,
                expected_close: None,
                closed_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((d.status, d.closed_at), (DealStatus::Open, None));
    let (before, after) = s
        .deals()
        .update(
            org.id,
            None,
            d.id,
            &DealPatch {
                stage: Some(DealStage::ClosedWon),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(before.stage, DealStage::Proposal);
    assert_eq!(after.status, DealStatus::Won);
    assert!(after.closed_at.is_some());
    let won = s
        .deals()
        .list(
            org.id,
            &DealFilter {
                status: Some(DealStatus::Won),
                ..Default::default()
            },
            Sort::default(),
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(won.items.len(), 1);

    let a = s
        .activities()
        .create(
            org.id,
            None,
            &NewActivity {
                kind: ActivityType::Call,
                lead_id: Some(l.id),
                deal_id: Some(d.id),
                contact_id: None,
                user_id: Some(rep.id),
                subject: Some("Discovery".into()),
                body: Some("They loved the demo".into()),
                duration_seconds: Some(900),
                occurred_at: None,
            },
        )
        .await
        .unwrap();
    // The contact's timeline reaches the activity through its lead.
    let timeline = s
        .activities()
        .list(
            org.id,
            &ActivityFilter {
                timeline_of: Some(c.id),
                ..Default::default()
            },
            SortDir::Desc,
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        timeline.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![a.id]
    );

    // A reference to a missing row is refused, naming the field.
    let err = s
        .leads()
        .create(org.id, None, &lead("Ghost", Some(ContactId(999_999))))
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

    // Deleting the contact keeps the lead, deal and activity, detached.
    s.contacts().delete(org.id, None, c.id).await.unwrap();
    assert_eq!(s.leads().get(org.id, l.id).await.unwrap().contact_id, None);
    assert_eq!(s.deals().get(org.id, d.id).await.unwrap().contact_id, None);
    assert_eq!(
        s.activities().get(org.id, a.id).await.unwrap().lead_id,
        Some(l.id)
    );

    // Deleting the lead keeps the deal and the activity.
    s.leads().delete(org.id, None, l.id).await.unwrap();
    assert_eq!(s.deals().get(org.id, d.id).await.unwrap().lead_id, None);
    assert_eq!(
        s.activities().get(org.id, a.id).await.unwrap().lead_id,
        None
    );

    // Deleting the user keeps what they owned.
    s.users().delete(org.id, None, rep.id).await.unwrap();
    assert_eq!(s.deals().get(org.id, d.id).await.unwrap().owner_id, None);
}

#[tokio::test]
async fn lead_filters_and_scores() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let c = s
        .contacts()
        .create(org.id, None, &contact("Ada", None))
        .await
        .unwrap();
    let l1 = s
        .leads()
        .create(org.id, None, &lead("Alpha rollout", Some(c.id)))
        .await
        .unwrap();
    let mut n2 = lead("Beta pilot", None);
    n2.status = LeadStatus::Qualified;
    let l2 = s.leads().create(org.id, None, &n2).await.unwrap();

    let qualified = LeadFilter {
        status: Some(LeadStatus::Qualified),
        ..Default::default()
    };
    let got = s
        .leads()
        .list(org.id, &qualified, Sort::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(
        got.items.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![l2.id]
    );

    // Search reaches the contact's company.
    let by_company = LeadFilter {
        q: Some("ada indus".into()),
        ..Default::default()
    };
    let got = s
        .leads()
        .list(org.id, &by_company, Sort::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(
        got.items.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![l1.id]
    );

    let now = chrono::Utc::now();
    let score = |lead_id, total, category, factors| score(lead_id, total, category, factors, true);
    s.scoring()
        .write(
            org.id,
            [
                score(l1.id, 82.5, "Hot", r#"{"industry": 20}"#),
                score(l2.id, 35.0, "Cold", "{}"),
            ],
            now,
        )
        .await
        .unwrap();
    let l1 = s.leads().get(org.id, l1.id).await.unwrap();
    assert_eq!(
        (l1.score, l1.score_category.as_deref()),
        (Some(82.5), Some("Hot"))
    );
    assert_eq!(l1.score_factors.unwrap()["industry"], 20);

    let sorted = s
        .leads()
        .list(
            org.id,
            &LeadFilter::default(),
            Sort {
                by: LeadSort::Score,
                dir: SortDir::Desc,
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(sorted.items[0].id, l1.id);
    let hot = LeadFilter {
        min_score: Some(80.0),
        ..Default::default()
    };
    assert_eq!(
        s.leads()
            .list(org.id, &hot, Sort::default(), Page::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn invalid_input_changes_nothing() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let err = s
        .contacts()
        .create(org.id, None, &contact("  ", None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid(DomainError::Empty {
                field: "first_name"
            })
        ),
        "{err:?}"
    );
    let c = s
        .contacts()
        .create(org.id, None, &contact("Ada", None))
        .await
        .unwrap();
    let bad = ContactPatch {
        company_size: Some(Some(-5)),
        ..Default::default()
    };
    assert!(s.contacts().update(org.id, None, c.id, &bad).await.is_err());
    assert_eq!(s.contacts().get(org.id, c.id).await.unwrap(), c);
}

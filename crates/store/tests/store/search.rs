//! `q` of the lead and contact lists: a case-insensitive substring of the
//! lead's title or its contact's name or company (leads), of the contact's
//! names, e-mail address or company (contacts). On SQLite a text of three
//! characters or more is answered by the trigram index (migration 0018),
//! kept in step with the tables by triggers; shorter texts, and PostgreSQL,
//! scan with LIKE. Both must give what a plain substring check gives.

use neuracrm_domain::*;
use neuracrm_store::contacts::ContactFilter;
use neuracrm_store::leads::LeadFilter;
use neuracrm_store::{Page, Sort, Store};

use crate::harness::store;

const TITLES: &[&str] = &[
    "Cloud migration – phase 2",
    "cloudy reporting",
    "On-prem to CLOUD",
    "100% uptime SLA",
    "under_score project",
    "quote \"special\" deal",
    "O'Brien renewal",
    "back\\slash tooling",
    "zürich expansion",
    "ab",
    "Analytics platform",
];

const NAMES: &[(&str, &str, &str)] = &[
    ("Ada", "Lovelace", "Analytical Engines"),
    ("Bea", "O'Cloud", "Zebra Corp"),
    ("Cleo", "Smith", "100% Pure"),
    ("Dan", "Under_wood", "zürich re"),
];

/// Every lead of `org` whose list `q` finds, all pages.
async fn leads_found(s: &Store, org: OrgId, q: &str) -> Vec<LeadId> {
    let f = LeadFilter {
        q: Some(q.into()),
        ..Default::default()
    };
    let page = Page {
        limit: 200,
        offset: 0,
    };
    let mut ids: Vec<LeadId> = s
        .leads()
        .list(org, &f, Sort::default(), page)
        .await
        .unwrap()
        .items
        .iter()
        .map(|l| l.id)
        .collect();
    ids.sort();
    ids
}

async fn contacts_found(s: &Store, org: OrgId, q: &str) -> Vec<ContactId> {
    let f = ContactFilter {
        q: Some(q.into()),
        ..Default::default()
    };
    let page = Page {
        limit: 200,
        offset: 0,
    };
    let mut ids: Vec<ContactId> = s
        .contacts()
        .list(org, &f, Sort::default(), page)
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

fn holds(field: &str, q: &str) -> bool {
    field
        .to_lowercase()
        .contains(q.trim().to_lowercase().as_str())
}

#[tokio::test]
async fn search_finds_exactly_the_substrings_and_follows_every_change() {
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    // Another organization with the same words: never found.
    let other = s.organizations().create("Other").await.unwrap();
    let mut contacts = Vec::new();
    for (i, (first, last, company)) in NAMES.iter().enumerate() {
        let new = NewContact {
            first_name: (*first).into(),
            last_name: Some((*last).into()),
            email: Some(
                Email::parse(&format!("{}.{i}@mail.example", first.to_lowercase())).unwrap(),
            ),
            company: Some((*company).into()),
            ..Default::default()
        };
        contacts.push(s.contacts().create(org.id, None, &new).await.unwrap());
        s.contacts().create(other.id, None, &new).await.unwrap();
    }
    let mut leads = Vec::new();
    for (i, title) in TITLES.iter().enumerate() {
        let new =
            crate::stories::lead(title, (i % 3 == 0).then(|| contacts[i % contacts.len()].id));
        leads.push(s.leads().create(org.id, None, &new).await.unwrap());
        let mut theirs = new.clone();
        theirs.contact_id = None;
        s.leads().create(other.id, None, &theirs).await.unwrap();
    }

    let texts = [
        "cloud",
        "CLOUD",
        "clo",
        "cl",
        "c",
        "oud mig",
        "100%",
        "%",
        "_",
        "under_",
        "\"special\"",
        "\"",
        "o'b",
        "'",
        "back\\slash",
        "\\",
        "zür",
        "ZÜRICH",
        "ab",
        "analytic",
        " smith ",
        "lovelace",
        "mail.example",
        "ada.0@",
        "nothing like it",
        "i",
        "%%%",
        "a_b",
    ];
    let check = async |what: &str| {
        let contacts: Vec<Contact> = s
            .contacts()
            .list(
                org.id,
                &ContactFilter::default(),
                Sort::default(),
                Page {
                    limit: 200,
                    offset: 0,
                },
            )
            .await
            .unwrap()
            .items;
        let leads: Vec<Lead> = s
            .leads()
            .list(
                org.id,
                &LeadFilter::default(),
                Sort::default(),
                Page {
                    limit: 200,
                    offset: 0,
                },
            )
            .await
            .unwrap()
            .items;
        for q in texts {
            let mut want_contacts: Vec<ContactId> = contacts
                .iter()
                .filter(|c| {
                    [
                        Some(c.first_name.as_str()),
                        c.last_name.as_deref(),
                        c.email.as_ref().map(|e| e.as_str()),
                        c.company.as_deref(),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|f| holds(f, q))
                })
                .map(|c| c.id)
                .collect();
            want_contacts.sort();
            assert_eq!(
                contacts_found(s, org.id, q).await,
                want_contacts,
                "{what}: contacts, q = {q:?}"
            );
            let mut want_leads: Vec<LeadId> = leads
                .iter()
                .filter(|l| {
                    holds(&l.title, q)
                        || l.contact_id.is_some_and(|cid| {
                            let c = contacts.iter().find(|c| c.id == cid).unwrap();
                            [
                                Some(c.first_name.as_str()),
                                c.last_name.as_deref(),
                                c.company.as_deref(),
                            ]
                            .into_iter()
                            .flatten()
                            .any(|f| holds(f, q))
                        })
                })
                .map(|l| l.id)
                .collect();
            want_leads.sort();
            assert_eq!(
                leads_found(s, org.id, q).await,
                want_leads,
                "{what}: leads, q = {q:?}"
            );
        }
    };
    check("as created").await;
    // Some texts match at all (the check is not vacuous).
    // Three titles, and a lead whose contact is called O'Cloud.
    assert_eq!(leads_found(s, org.id, "cloud").await.len(), 4);
    assert_eq!(contacts_found(s, org.id, "zür").await.len(), 1);

    // A new title, a renamed contact, a deleted lead and contact: the
    // index follows each.
    let patch = LeadPatch {
        title: Some("Analytics refresh".into()),
        ..Default::default()
    };
    s.leads()
        .update(org.id, None, leads[0].id, &patch)
        .await
        .unwrap();
    let patch = ContactPatch {
        last_name: Some(Some("Cloudsworth".into())),
        company: Some(None),
        ..Default::default()
    };
    s.contacts()
        .update(org.id, None, contacts[2].id, &patch)
        .await
        .unwrap();
    s.leads().delete(org.id, None, leads[1].id).await.unwrap();
    s.contacts()
        .delete(org.id, None, contacts[1].id)
        .await
        .unwrap();
    check("after changes").await;
    assert!(!leads_found(s, org.id, "cloud").await.contains(&leads[0].id));
    assert_eq!(
        contacts_found(s, org.id, "cloudsw").await,
        vec![contacts[2].id]
    );
}

/// Every lead `q` finds, in the list's order, page after page.
async fn all_pages(s: &Store, org: OrgId, q: &str) -> Vec<LeadId> {
    let f = LeadFilter {
        q: Some(q.into()),
        ..Default::default()
    };
    let mut out = Vec::new();
    for offset in (0..).step_by(200) {
        let page = s
            .leads()
            .list(org, &f, Sort::default(), Page { limit: 200, offset })
            .await
            .unwrap();
        out.extend(page.items.iter().map(|l| l.id));
        if !page.has_more {
            return out;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn a_common_text_and_a_rare_one_find_the_same_rows_in_the_same_order() {
    // Past 500 rows in the index a search reads the list in its order and
    // checks each row; below, it reads the rows the index names. Both must
    // give the rows a plain check gives, in the list's order.
    let t = store().await;
    let s = &t.store;
    let org = s.organizations().create("Acme").await.unwrap();
    let other = s.organizations().create("Other").await.unwrap();
    let new = NewContact {
        first_name: "Cloud".into(),
        last_name: Some("Keeper".into()),
        ..Default::default()
    };
    let keeper = s.contacts().create(org.id, None, &new).await.unwrap();
    let mut leads = Vec::new();
    for i in 0..620 {
        let title = if i % 7 == 0 {
            format!("Rain plan {i}")
        } else {
            format!("Cloud deal {i}")
        };
        let contact = (i % 10 == 0).then_some(keeper.id);
        let lead = s
            .leads()
            .create(org.id, None, &crate::stories::lead(&title, contact))
            .await
            .unwrap();
        leads.push(lead);
        if i % 5 == 0 {
            s.leads()
                .create(other.id, None, &crate::stories::lead(&title, None))
                .await
                .unwrap();
        }
    }
    // The list's order: newest first (ids rise with creation here).
    let mut newest_first = leads.clone();
    newest_first.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    for q in [
        "cloud deal",
        "CLOUD",
        "cloud deal 1",
        "rain plan 7",
        "keeper",
        "deal 61",
    ] {
        let want: Vec<LeadId> = newest_first
            .iter()
            .filter(|l| {
                holds(&l.title, q) || (l.contact_id == Some(keeper.id) && holds("Cloud Keeper", q))
            })
            .map(|l| l.id)
            .collect();
        assert!(!want.is_empty(), "{q} finds something");
        assert_eq!(all_pages(s, org.id, q).await, want, "q = {q:?}");
    }
    // The common text is past the threshold, the rare ones below it, so
    // both ways were taken.
    assert!(all_pages(s, org.id, "cloud").await.len() > 500);
    assert!(all_pages(s, org.id, "deal 61").await.len() < 20);
}

//! Contacts: the [`Record`] of a contact, and the reads of what hangs off one
//! (its leads, deals and timeline).

use neuracrm_domain::{Contact, ContactId, ContactPatch, Deal, EventKind, Lead, NewContact, OrgId};
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::contacts::{ContactFilter, ContactSort};
use neuracrm_store::deals::DealFilter;
use neuracrm_store::leads::LeadFilter;
use neuracrm_store::segments::SegmentRef;
use neuracrm_store::{Page, Paged, Sort};

use crate::activities::ActivityView;
use crate::records::{List, Record};
use crate::{ActionResult, Caller, Crm};

/// A contact as read: the record, and, when read on its own, the segments
/// holding it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactView {
    /// The contact.
    pub contact: Contact,
    /// The segments holding it (read for one contact; `None` in lists and
    /// on writes, which do not read them).
    pub segments: Option<Vec<SegmentRef>>,
}

impl std::ops::Deref for ContactView {
    type Target = Contact;
    fn deref(&self) -> &Contact {
        &self.contact
    }
}

impl From<Contact> for ContactView {
    fn from(contact: Contact) -> Self {
        ContactView {
            contact,
            segments: None,
        }
    }
}

impl Record for Contact {
    type Id = ContactId;
    type New = NewContact;
    type Patch = ContactPatch;
    type Filter = ContactFilter;
    type Sort = Sort<ContactSort>;
    type View = ContactView;

    async fn insert(crm: &Crm, caller: &Caller, new: &NewContact) -> ActionResult<Contact> {
        Ok(crm
            .store
            .contacts()
            .create(caller.org, Some(caller.user), new)
            .await?)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: ContactId) -> ActionResult<ContactView> {
        let contact = crm.store.contacts().get(org, id).await?;
        let segments = crm.store.segments().of_contact(org, id).await?;
        Ok(ContactView {
            contact,
            segments: Some(segments),
        })
    }

    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: ContactId,
        patch: &ContactPatch,
    ) -> ActionResult<(Contact, Contact)> {
        Ok(crm
            .store
            .contacts()
            .update(caller.org, Some(caller.user), id, patch)
            .await?)
    }

    async fn remove(crm: &Crm, caller: &Caller, id: ContactId) -> ActionResult<()> {
        Ok(crm
            .store
            .contacts()
            .delete(caller.org, Some(caller.user), id)
            .await?)
    }

    /// A segment filter names a segment of the organization (404 otherwise).
    async fn find(crm: &Crm, org: OrgId, q: &List<Contact>) -> ActionResult<Paged<ContactView>> {
        if let Some(s) = q.filter.segment_id {
            crm.store.segments().get(org, s).await?;
        }
        let page = crm
            .store
            .contacts()
            .list(org, &q.filter, q.sort, q.page)
            .await?;
        Ok(page.map(ContactView::from))
    }

    fn view(self) -> ContactView {
        self.into()
    }

    fn created(&self) -> Option<EventKind> {
        Some(EventKind::ContactCreated { id: self.id })
    }

    fn updated(_: &Contact, new: &Contact) -> Option<EventKind> {
        Some(EventKind::ContactUpdated { id: new.id })
    }

    fn deleted(id: ContactId) -> Option<EventKind> {
        Some(EventKind::ContactDeleted { id })
    }
}

/// A page of the contact's leads (404 when the contact is not the caller's).
pub async fn leads(
    crm: &Crm,
    caller: &Caller,
    id: ContactId,
    page: Page,
) -> ActionResult<Paged<Lead>> {
    crm.store.contacts().get(caller.org, id).await?;
    let filter = LeadFilter {
        contact_id: Some(id),
        ..Default::default()
    };
    Ok(crm
        .store
        .leads()
        .list(caller.org, &filter, Sort::default(), page)
        .await?)
}

/// A page of the contact's deals.
pub async fn deals(
    crm: &Crm,
    caller: &Caller,
    id: ContactId,
    page: Page,
) -> ActionResult<Paged<Deal>> {
    crm.store.contacts().get(caller.org, id).await?;
    let filter = DealFilter {
        contact_id: Some(id),
        ..Default::default()
    };
    Ok(crm
        .store
        .deals()
        .list(caller.org, &filter, Sort::default(), page)
        .await?)
}

/// The contact's timeline: its own activities and those of its leads and
/// deals, newest first, with their stored sentiment.
pub async fn timeline(
    crm: &Crm,
    caller: &Caller,
    id: ContactId,
    page: Page,
) -> ActionResult<Paged<ActivityView>> {
    crm.store.contacts().get(caller.org, id).await?;
    let filter = ActivityFilter {
        timeline_of: Some(id),
        ..Default::default()
    };
    let items = crm
        .store
        .activities()
        .list(caller.org, &filter, Default::default(), page)
        .await?;
    crate::activities::with_sentiment(crm, caller.org, items).await
}

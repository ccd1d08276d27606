//! Leads: the [`Record`] of a lead.

use neuracrm_domain::{EventKind, Lead, LeadId, LeadPatch, NewLead, OrgId};
use neuracrm_store::leads::{LeadFilter, LeadSort};
use neuracrm_store::{Page, Paged, Sort};

use crate::records::{self, List, Record};
use crate::{ActionError, ActionResult, Caller, Crm};

impl Record for Lead {
    type Id = LeadId;
    type New = NewLead;
    type Patch = LeadPatch;
    type Filter = LeadFilter;
    type Sort = Sort<LeadSort>;
    type View = Lead;

    async fn insert(crm: &Crm, caller: &Caller, new: &NewLead) -> ActionResult<Lead> {
        Ok(crm
            .store
            .leads()
            .create(caller.org, Some(caller.user), new)
            .await?)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: LeadId) -> ActionResult<Lead> {
        Ok(crm.store.leads().get(org, id).await?)
    }

    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: LeadId,
        patch: &LeadPatch,
    ) -> ActionResult<(Lead, Lead)> {
        Ok(crm
            .store
            .leads()
            .update(caller.org, Some(caller.user), id, patch)
            .await?)
    }

    async fn remove(crm: &Crm, caller: &Caller, id: LeadId) -> ActionResult<()> {
        Ok(crm
            .store
            .leads()
            .delete(caller.org, Some(caller.user), id)
            .await?)
    }

    /// A segment filter names a segment of the organization (404 otherwise).
    async fn find(crm: &Crm, org: OrgId, q: &List<Lead>) -> ActionResult<Paged<Lead>> {
        if let Some(s) = q.filter.segment_id {
            crm.store.segments().get(org, s).await?;
        }
        Ok(crm
            .store
            .leads()
            .list(org, &q.filter, q.sort, q.page)
            .await?)
    }

    fn view(self) -> Lead {
        self
    }

    fn created(&self) -> Option<EventKind> {
        Some(EventKind::LeadCreated { id: self.id })
    }

    fn updated(_: &Lead, new: &Lead) -> Option<EventKind> {
        Some(EventKind::LeadUpdated { id: new.id })
    }

    fn deleted(id: LeadId) -> Option<EventKind> {
        Some(EventKind::LeadDeleted { id })
    }
}

/// The titles of the caller's leads among `ids`, by id (a deleted lead is
/// left out): one read for every lead a page of other records points at,
/// such as the calls list's.
pub async fn titles(
    crm: &Crm,
    caller: &Caller,
    ids: impl IntoIterator<Item = LeadId>,
) -> ActionResult<std::collections::HashMap<LeadId, String>> {
    caller.require(<Lead as Record>::READ)?;
    let mut ids: Vec<LeadId> = ids.into_iter().collect();
    ids.sort_unstable_by_key(|l| l.0);
    ids.dedup();
    Ok(crm
        .store
        .leads()
        .titles(caller.org, &ids)
        .await?
        .into_iter()
        .collect())
}

/// Every lead of a list (filter and order as the list's), a page of
/// [`Page::MAX_LIMIT`] at a time: what a CSV export of the list writes.
/// The pages are read as they are asked for, so the export streams; a lead
/// created or changed while it runs may be missed or appear twice, as
/// between the pages of a list.
pub struct Export {
    crm: Crm,
    caller: Caller,
    filter: LeadFilter,
    sort: Sort<LeadSort>,
    offset: u64,
    done: bool,
}

impl Export {
    /// The export of the caller's leads matching `filter`, ordered by `sort`.
    pub fn new(crm: &Crm, caller: &Caller, filter: LeadFilter, sort: Sort<LeadSort>) -> Export {
        Export {
            crm: crm.clone(),
            caller: *caller,
            filter,
            sort,
            offset: 0,
            done: false,
        }
    }

    /// The next page of leads; `None` once every one was read.
    pub async fn next_page(&mut self) -> ActionResult<Option<Vec<Lead>>> {
        if self.done {
            return Ok(None);
        }
        let page = Page::parse(
            Some(i64::from(Page::MAX_LIMIT)),
            Some(i64::try_from(self.offset).unwrap_or(i64::MAX)),
        )
        .map_err(ActionError::query)?;
        let found = records::list::<Lead>(
            &self.crm,
            &self.caller,
            List {
                filter: self.filter.clone(),
                sort: self.sort,
                page,
            },
        )
        .await?;
        self.offset += found.items.len() as u64;
        self.done = !found.has_more;
        Ok(Some(found.items))
    }
}

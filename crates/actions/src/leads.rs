//! Leads: the [`Record`] of a lead.

use neuracrm_domain::{EventKind, Lead, LeadId, LeadPatch, NewLead, OrgId};
use neuracrm_store::leads::{LeadFilter, LeadSort};
use neuracrm_store::{Paged, Sort};

use crate::records::{List, Record};
use crate::{ActionResult, Caller, Crm};

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

    async fn find(crm: &Crm, org: OrgId, q: &List<Lead>) -> ActionResult<Paged<Lead>> {
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

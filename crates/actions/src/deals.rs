//! Deals: the [`Record`] of a deal. A change publishes the old and new stage,
//! status and value, which the forecast cache and live pipelines watch.

use neuracrm_domain::{Deal, DealId, DealPatch, EventKind, NewDeal, OrgId};
use neuracrm_store::deals::{DealFilter, DealSort};
use neuracrm_store::{Paged, Sort};

use crate::records::{List, Record};
use crate::{ActionResult, Caller, Crm};

impl Record for Deal {
    type Id = DealId;
    type New = NewDeal;
    type Patch = DealPatch;
    type Filter = DealFilter;
    type Sort = Sort<DealSort>;
    type View = Deal;

    async fn insert(crm: &Crm, caller: &Caller, new: &NewDeal) -> ActionResult<Deal> {
        Ok(crm
            .store
            .deals()
            .create(caller.org, Some(caller.user), new)
            .await?)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: DealId) -> ActionResult<Deal> {
        Ok(crm.store.deals().get(org, id).await?)
    }

    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: DealId,
        patch: &DealPatch,
    ) -> ActionResult<(Deal, Deal)> {
        Ok(crm
            .store
            .deals()
            .update(caller.org, Some(caller.user), id, patch)
            .await?)
    }

    async fn remove(crm: &Crm, caller: &Caller, id: DealId) -> ActionResult<()> {
        crm.store
            .deals()
            .delete(caller.org, Some(caller.user), id)
            .await?;
        Ok(())
    }

    async fn find(crm: &Crm, org: OrgId, q: &List<Deal>) -> ActionResult<Paged<Deal>> {
        Ok(crm
            .store
            .deals()
            .list(org, &q.filter, q.sort, q.page)
            .await?)
    }

    fn view(self) -> Deal {
        self
    }

    fn created(&self) -> Option<EventKind> {
        Some(EventKind::DealCreated {
            id: self.id,
            stage: self.stage,
            value_cents: self.value_cents.get(),
        })
    }

    fn updated(old: &Deal, new: &Deal) -> Option<EventKind> {
        Some(EventKind::DealUpdated {
            id: new.id,
            old_stage: old.stage,
            new_stage: new.stage,
            old_status: old.status,
            new_status: new.status,
            old_value_cents: old.value_cents.get(),
            new_value_cents: new.value_cents.get(),
        })
    }

    fn deleted(id: DealId) -> Option<EventKind> {
        Some(EventKind::DealDeleted { id })
    }
}

/// The caller's pipeline by stage, in the pipeline's order: every open deal,
/// and the deals won or lost in the last `closed_days` days. Stages without
/// deals count zero.
pub async fn stages(
    crm: &Crm,
    caller: &Caller,
    closed_days: i64,
) -> ActionResult<Vec<neuracrm_store::forecasts::StageTotal>> {
    let since = chrono::Utc::now() - chrono::Duration::days(closed_days);
    let rows = crm
        .store
        .forecasts()
        .stage_totals(caller.org, since)
        .await?;
    Ok(neuracrm_domain::DealStage::ALL
        .iter()
        .map(|s| {
            rows.iter()
                .find(|r| r.stage == s.as_str())
                .cloned()
                .unwrap_or(neuracrm_store::forecasts::StageTotal {
                    stage: s.as_str().into(),
                    deals: 0,
                    value: 0.0,
                    weighted_value: 0.0,
                })
        })
        .collect())
}

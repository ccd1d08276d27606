//! Activities: the [`Record`] of an activity (recorded by the caller), read
//! with the sentiment stored for it.

use neuracrm_domain::{Activity, ActivityId, ActivityPatch, EventKind, NewActivity, OrgId};
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::sentiment::StoredSentiment;
use neuracrm_store::{Paged, SortDir};

use crate::records::{List, Record};
use crate::{ActionResult, Caller, Crm};

/// An activity with its stored sentiment (present once an activity with
/// customer text has been analysed, shortly after it is logged or edited).
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityView {
    /// The activity.
    pub activity: Activity,
    /// Its stored sentiment, if any.
    pub sentiment: Option<StoredSentiment>,
}

/// Attaches the stored sentiment of a page's activities (one query).
pub async fn with_sentiment(
    crm: &Crm,
    org: OrgId,
    page: Paged<Activity>,
) -> ActionResult<Paged<ActivityView>> {
    let ids: Vec<ActivityId> = page.items.iter().map(|a| a.id).collect();
    let rows = crm.store.sentiment().get_many(org, &ids).await?;
    let mut by_id: std::collections::HashMap<i64, StoredSentiment> =
        rows.into_iter().map(|r| (r.activity_id, r)).collect();
    page.try_map(|activity| {
        let sentiment = by_id.remove(&activity.id.0);
        Ok(ActivityView {
            activity,
            sentiment,
        })
    })
}

impl Record for Activity {
    type Id = ActivityId;
    type New = NewActivity;
    type Patch = ActivityPatch;
    type Filter = ActivityFilter;
    type Sort = SortDir;
    type View = ActivityView;

    /// Records the activity as the caller's, whatever `user_id` says.
    async fn insert(crm: &Crm, caller: &Caller, new: &NewActivity) -> ActionResult<Activity> {
        let new = NewActivity {
            user_id: Some(caller.user),
            ..new.clone()
        };
        Ok(crm
            .store
            .activities()
            .create(caller.org, Some(caller.user), &new)
            .await?)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: ActivityId) -> ActionResult<ActivityView> {
        let activity = crm.store.activities().get(org, id).await?;
        let sentiment = crm.store.sentiment().get(org, id).await?;
        Ok(ActivityView {
            activity,
            sentiment,
        })
    }

    /// The store returns the activity after the change only; the event
    /// needs no more.
    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: ActivityId,
        patch: &ActivityPatch,
    ) -> ActionResult<(Activity, Activity)> {
        let a = crm
            .store
            .activities()
            .update(caller.org, Some(caller.user), id, patch)
            .await?;
        Ok((a.clone(), a))
    }

    async fn remove(crm: &Crm, caller: &Caller, id: ActivityId) -> ActionResult<()> {
        Ok(crm
            .store
            .activities()
            .delete(caller.org, Some(caller.user), id)
            .await?)
    }

    async fn find(crm: &Crm, org: OrgId, q: &List<Activity>) -> ActionResult<Paged<ActivityView>> {
        let page = crm
            .store
            .activities()
            .list(org, &q.filter, q.sort, q.page)
            .await?;
        with_sentiment(crm, org, page).await
    }

    fn view(self) -> ActivityView {
        ActivityView {
            activity: self,
            sentiment: None,
        }
    }

    fn created(&self) -> Option<EventKind> {
        Some(EventKind::ActivityLogged {
            id: self.id,
            activity_type: self.kind,
            lead_id: self.lead_id,
            contact_id: self.contact_id,
        })
    }

    fn updated(_: &Activity, new: &Activity) -> Option<EventKind> {
        Some(EventKind::ActivityUpdated { id: new.id })
    }

    fn deleted(id: ActivityId) -> Option<EventKind> {
        Some(EventKind::ActivityDeleted { id })
    }
}

//! The one mechanism behind the records with the create/read/change/delete
//! shape (contacts, leads, deals, activities, users, forecasting models).
//!
//! A record type states once, in its [`Record`] implementation, who may read
//! and write it, how it is stored (the store calls), what its inputs must
//! satisfy beyond their types, and which event each write publishes. The
//! generic actions [`create`], [`get`], [`update`], [`delete`] and [`list`]
//! do the rest the same way for every record: the role check, the checks,
//! the store call scoped to the caller's organization, the event after the
//! write has committed.

use std::future::Future;

use neuracrm_domain::{EventKind, OrgId};
use neuracrm_store::{Page, Paged};

use crate::{Access, ActionError, ActionResult, Caller, Crm};

/// A record the generic actions can create, read, change, delete and list.
pub trait Record: Sized + Send + Sync + 'static {
    /// Its typed id.
    type Id: Copy + Send + Sync + 'static;
    /// The input that creates one.
    type New: Send + Sync;
    /// A partial change.
    type Patch: Send + Sync;
    /// What a list may be narrowed by.
    type Filter: Send + Sync;
    /// What a list may be ordered by.
    type Sort: Send + Sync;
    /// What reads return: the record, or the record with what is stored
    /// beside it (an activity's sentiment).
    type View: Send;

    /// Who may read.
    const READ: Access = Access::Anyone;
    /// Who may create, change and delete.
    const WRITE: Access = Access::Anyone;

    /// Checks of a new record that its types cannot express.
    fn check_new(_caller: &Caller, _new: &Self::New) -> ActionResult<()> {
        Ok(())
    }
    /// Checks of a change, before the stored record is read.
    fn check_patch(_caller: &Caller, _id: Self::Id, _patch: &Self::Patch) -> ActionResult<()> {
        Ok(())
    }
    /// Checks of a deletion.
    fn check_delete(_caller: &Caller, _id: Self::Id) -> ActionResult<()> {
        Ok(())
    }
    /// Checks of a list's filter.
    fn check_filter(_filter: &Self::Filter) -> ActionResult<()> {
        Ok(())
    }

    /// Stores a new record.
    fn insert(
        crm: &Crm,
        caller: &Caller,
        new: &Self::New,
    ) -> impl Future<Output = ActionResult<Self>> + Send;
    /// Reads one record of `org`.
    fn fetch(
        crm: &Crm,
        org: OrgId,
        id: Self::Id,
    ) -> impl Future<Output = ActionResult<Self::View>> + Send;
    /// Changes one record; returns it before and after.
    fn change(
        crm: &Crm,
        caller: &Caller,
        id: Self::Id,
        patch: &Self::Patch,
    ) -> impl Future<Output = ActionResult<(Self, Self)>> + Send;
    /// Deletes one record.
    fn remove(
        crm: &Crm,
        caller: &Caller,
        id: Self::Id,
    ) -> impl Future<Output = ActionResult<()>> + Send;
    /// A page of `org`'s records.
    fn find(
        crm: &Crm,
        org: OrgId,
        query: &List<Self>,
    ) -> impl Future<Output = ActionResult<Paged<Self::View>>> + Send;

    /// The view of a record just written (nothing stored beside it yet).
    fn view(self) -> Self::View;
    /// The event of a creation, if one is published.
    fn created(&self) -> Option<EventKind>;
    /// The event of a change.
    fn updated(old: &Self, new: &Self) -> Option<EventKind>;
    /// The event of a deletion.
    fn deleted(id: Self::Id) -> Option<EventKind>;
}

/// A list request: filter, order and page.
pub struct List<R: Record> {
    /// What to keep.
    pub filter: R::Filter,
    /// In which order.
    pub sort: R::Sort,
    /// Which page.
    pub page: Page,
}

/// Creates a record for the caller and publishes its event.
pub async fn create<R: Record>(crm: &Crm, caller: &Caller, new: R::New) -> ActionResult<R::View> {
    caller.require(R::WRITE)?;
    R::check_new(caller, &new)?;
    let record = R::insert(crm, caller, &new).await?;
    if let Some(e) = record.created() {
        crm.publish(caller.org, e);
    }
    Ok(record.view())
}

/// One record of the caller's organization.
pub async fn get<R: Record>(crm: &Crm, caller: &Caller, id: R::Id) -> ActionResult<R::View> {
    caller.require(R::READ)?;
    R::fetch(crm, caller.org, id).await
}

/// The record another one links to (a deal's contact, a call's lead), if
/// it links to one that still exists: a link to a record since deleted
/// reads as no link.
pub async fn linked<R: Record>(
    crm: &Crm,
    caller: &Caller,
    id: Option<R::Id>,
) -> ActionResult<Option<R::View>> {
    let Some(id) = id else {
        return Ok(None);
    };
    match get::<R>(crm, caller, id).await {
        Ok(v) => Ok(Some(v)),
        Err(ActionError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Changes a record of the caller's organization and publishes the change.
pub async fn update<R: Record>(
    crm: &Crm,
    caller: &Caller,
    id: R::Id,
    patch: R::Patch,
) -> ActionResult<R::View> {
    caller.require(R::WRITE)?;
    R::check_patch(caller, id, &patch)?;
    Ok(apply::<R>(crm, caller, id, &patch).await?.view())
}

/// Changes a record and publishes the change, with no role check: for the
/// actions that decided otherwise that the caller may (a user changing
/// their own password).
pub(crate) async fn apply<R: Record>(
    crm: &Crm,
    caller: &Caller,
    id: R::Id,
    patch: &R::Patch,
) -> ActionResult<R> {
    let (old, new) = R::change(crm, caller, id, patch).await?;
    if let Some(e) = R::updated(&old, &new) {
        crm.publish(caller.org, e);
    }
    Ok(new)
}

/// Deletes a record of the caller's organization and publishes the deletion.
pub async fn delete<R: Record>(crm: &Crm, caller: &Caller, id: R::Id) -> ActionResult<()> {
    caller.require(R::WRITE)?;
    R::check_delete(caller, id)?;
    R::remove(crm, caller, id).await?;
    if let Some(e) = R::deleted(id) {
        crm.publish(caller.org, e);
    }
    Ok(())
}

/// A page of the caller's organization's records.
pub async fn list<R: Record>(
    crm: &Crm,
    caller: &Caller,
    query: List<R>,
) -> ActionResult<Paged<R::View>> {
    caller.require(R::READ)?;
    R::check_filter(&query.filter)?;
    R::find(crm, caller.org, &query).await
}

//! Forecasting as actions: a forecast of one of the CRM's monthly series on
//! demand (cached), the accuracy of stored forecasts, the weighted open
//! pipeline, and the forecasting models the daily cycle fits (a [`Record`]).
//!
//! A forecast is fitted on a blocking thread (it is CPU work: the ensemble
//! fits four models and backtests each) and cached per (organization, metric,
//! months, model) in [`ForecastCache`]. The cache forgets an organization's
//! entries when one of its deals is won, lost, deleted or changes value (the
//! subscriber [`invalidate_on_events`]), forgets everything when that
//! subscriber lags behind the bus, and never serves an entry older than
//! [`MAX_AGE`] or computed in an earlier month (the history would have grown
//! by a month).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain::{
    DealStatus, EventKind, ForecastAlgorithm, ForecastMetric, ForecastModelId, ForecastingModel,
    ForecastingModelPatch, NewForecastingModel, OrgId,
};
use neuracrm_events::{RecvError, Subscription};
use neuracrm_jobs::forecasting::{
    CrmForecast, FitOutcome, LEVEL, current_month, fit_series, load_series,
};
use neuracrm_store::Paged;
use neuracrm_store::forecasting_models::{AccuracyRow, ModelFilter, StoredResult};
use neuracrm_store::forecasts::{MonthlySeries, PipelineMonth};
use tokio::sync::Semaphore;

use crate::records::{List, Record};
use crate::{Access, ActionError, ActionResult, Caller, Crm};

/// A forecast as computed: the series it was fitted on and the fit.
#[derive(Debug)]
pub struct Forecast {
    /// The history, by month.
    pub series: MonthlySeries,
    /// The fit, or why there was none (too short a history).
    pub fit: FitOutcome,
    /// The ensemble or the one model asked for.
    pub model: ForecastAlgorithm,
    /// Months ahead.
    pub months: u32,
    /// The intervals' level (0.95).
    pub level: f64,
    /// When it was computed.
    pub generated_at: DateTime<Utc>,
}

/// What to forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastRequest {
    /// The series.
    pub metric: ForecastMetric,
    /// Months ahead, 1 to [`neuracrm_domain::MAX_FORECAST_MONTHS`].
    pub months: i64,
    /// The ensemble or one model.
    pub model: ForecastAlgorithm,
}

/// The forecast of the caller's organization's series, from the cache when
/// a fresh one is there (then the flag is true), else fitted now.
pub async fn forecast(
    crm: &Crm,
    caller: &Caller,
    req: ForecastRequest,
) -> ActionResult<(Arc<Forecast>, bool)> {
    let ForecastRequest {
        metric,
        months,
        model,
    } = req;
    if !(1..=neuracrm_domain::MAX_FORECAST_MONTHS).contains(&months) {
        return Err(ActionError::bad_query(
            "months",
            format!(
                "months must be between 1 and {}",
                neuracrm_domain::MAX_FORECAST_MONTHS
            ),
        ));
    }
    let now = Utc::now();
    let month = current_month(now);
    let key = CacheKey {
        org: caller.org,
        metric,
        months: months as u32,
        model,
    };
    let cache = &crm.forecasts;
    if let Some(hit) = cache.get(&key, month) {
        return Ok((hit, true));
    }
    let seen = cache.generation(caller.org);
    let series = load_series(&crm.store, caller.org, metric, now).await?;
    let fit = {
        let _permit = cache
            .fits
            .acquire()
            .await
            .map_err(|e| ActionError::Internal(e.to_string()))?;
        let s = series.clone();
        tokio::task::spawn_blocking(move || fit_series(&s, months as usize, model, LEVEL))
            .await
            .map_err(|e| ActionError::Internal(format!("forecast task: {e}")))?
            .map_err(|e| ActionError::Internal(format!("forecast: {e}")))?
    };
    if let FitOutcome::Ready(f) = &fit {
        let CrmForecast { report, .. } = f.as_ref();
        let fc = &report.forecast;
        if fc
            .mean
            .iter()
            .chain(&fc.lower)
            .chain(&fc.upper)
            .any(|v| !v.is_finite())
        {
            return Err(ActionError::Internal("non-finite forecast".into()));
        }
    }
    let out = Arc::new(Forecast {
        series,
        fit,
        model,
        months: months as u32,
        level: LEVEL,
        generated_at: now,
    });
    cache.put(key, month, seen, out.clone());
    Ok((out, false))
}

/// The accuracy of the stored forecasts whose months have closed, by model
/// and by horizon.
pub async fn accuracy(
    crm: &Crm,
    caller: &Caller,
    metric: Option<ForecastMetric>,
) -> ActionResult<(Vec<AccuracyRow>, Vec<AccuracyRow>)> {
    let repo = crm.store.forecasting_models();
    let by_model = repo.accuracy(caller.org, metric, false).await?;
    let by_horizon = repo.accuracy(caller.org, metric, true).await?;
    Ok((by_model, by_horizon))
}

/// The open pipeline by expected close month, weighted by each stage's
/// probability of winning.
pub async fn pipeline(crm: &Crm, caller: &Caller) -> ActionResult<Vec<PipelineMonth>> {
    Ok(crm.store.forecasts().weighted_pipeline(caller.org).await?)
}

/// The forecasts the cycle stored for a model, with actuals and errors for
/// months that have closed.
pub async fn model_results(
    crm: &Crm,
    caller: &Caller,
    id: ForecastModelId,
) -> ActionResult<Vec<StoredResult>> {
    Ok(crm
        .store
        .forecasting_models()
        .results(caller.org, id)
        .await?)
}

impl Record for ForecastingModel {
    type Id = ForecastModelId;
    type New = NewForecastingModel;
    type Patch = ForecastingModelPatch;
    type Filter = ModelFilter;
    type Sort = ();
    type View = ForecastingModel;

    const WRITE: Access = Access::Managers;

    async fn insert(
        crm: &Crm,
        caller: &Caller,
        new: &NewForecastingModel,
    ) -> ActionResult<ForecastingModel> {
        Ok(crm
            .store
            .forecasting_models()
            .create(caller.org, Some(caller.user), new)
            .await?)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: ForecastModelId) -> ActionResult<ForecastingModel> {
        Ok(crm.store.forecasting_models().get(org, id).await?)
    }

    /// The store returns the model after the change only; no event is
    /// published for models.
    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: ForecastModelId,
        patch: &ForecastingModelPatch,
    ) -> ActionResult<(ForecastingModel, ForecastingModel)> {
        let m = crm
            .store
            .forecasting_models()
            .update(caller.org, Some(caller.user), id, patch)
            .await?;
        Ok((m.clone(), m))
    }

    async fn remove(crm: &Crm, caller: &Caller, id: ForecastModelId) -> ActionResult<()> {
        crm.store
            .forecasting_models()
            .delete(caller.org, Some(caller.user), id)
            .await?;
        Ok(())
    }

    async fn find(
        crm: &Crm,
        org: OrgId,
        q: &List<ForecastingModel>,
    ) -> ActionResult<Paged<ForecastingModel>> {
        Ok(crm
            .store
            .forecasting_models()
            .list(org, &q.filter, q.page)
            .await?)
    }

    fn view(self) -> ForecastingModel {
        self
    }

    fn created(&self) -> Option<EventKind> {
        None
    }

    fn updated(_: &ForecastingModel, _: &ForecastingModel) -> Option<EventKind> {
        None
    }

    fn deleted(_: ForecastModelId) -> Option<EventKind> {
        None
    }
}

// ---------------------------------------------------------------- cache

/// Longest time a cached forecast is served: writes made through other
/// instances reach this one's cache only through its event bus, and until
/// that bus fans out across instances this bounds how stale an answer gets.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// Entries kept before old ones are dropped.
const MAX_ENTRIES: usize = 10_000;

/// What a cached forecast is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The organization: no entry is ever served to another one.
    pub org: OrgId,
    /// The series.
    pub metric: ForecastMetric,
    /// Months ahead.
    pub months: u32,
    /// The algorithm.
    pub model: ForecastAlgorithm,
}

struct Entry {
    month: NaiveDate,
    at: Instant,
    value: Arc<Forecast>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<CacheKey, Entry>,
    /// Bumped per organization on each invalidation, and `epoch` on each
    /// clear: a forecast computed across an invalidation is not stored.
    generations: HashMap<OrgId, u64>,
    epoch: u64,
}

/// Forecasts by (organization, metric, months, model), and the permits that
/// bound how many fits run at once.
pub struct ForecastCache {
    inner: Mutex<CacheInner>,
    fits: Semaphore,
}

impl std::fmt::Debug for ForecastCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForecastCache")
            .field("entries", &self.len())
            .finish()
    }
}

impl Default for ForecastCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        ForecastCache {
            inner: Mutex::default(),
            fits: Semaphore::new(cores),
        }
    }
}

/// The state of an organization's entries when a computation started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64, u64);

impl ForecastCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // A panic while holding the lock leaves a map that is still valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh entry computed in `month`.
    pub fn get(&self, key: &CacheKey, month: NaiveDate) -> Option<Arc<Forecast>> {
        let inner = self.lock();
        let e = inner.entries.get(key)?;
        (e.month == month && e.at.elapsed() < MAX_AGE).then(|| e.value.clone())
    }

    /// Where `org`'s entries stand, to pass to [`ForecastCache::put`].
    pub fn generation(&self, org: OrgId) -> Generation {
        let inner = self.lock();
        Generation(
            inner.epoch,
            inner.generations.get(&org).copied().unwrap_or(0),
        )
    }

    /// Stores a forecast unless `org`'s entries were invalidated since
    /// `seen` was read (it may predate the write that invalidated them).
    pub fn put(&self, key: CacheKey, month: NaiveDate, seen: Generation, value: Arc<Forecast>) {
        let mut inner = self.lock();
        let now = Generation(
            inner.epoch,
            inner.generations.get(&key.org).copied().unwrap_or(0),
        );
        if now != seen {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.retain(|_, e| e.at.elapsed() < MAX_AGE);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(
            key,
            Entry {
                month,
                at: Instant::now(),
                value,
            },
        );
    }

    /// Forgets `org`'s forecasts.
    pub fn invalidate(&self, org: OrgId) {
        let mut inner = self.lock();
        inner.entries.retain(|k, _| k.org != org);
        *inner.generations.entry(org).or_default() += 1;
    }

    /// Forgets every forecast.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.epoch += 1;
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether an event changes a series the forecasts are made from (won deals:
/// their value, close month and contact).
pub fn invalidates(kind: &EventKind) -> bool {
    match kind {
        EventKind::DealCreated { stage, .. } => stage.status() != DealStatus::Open,
        // Any change of a won deal (value, close time, contact) or any change
        // of status; a lost deal's edits change nothing forecast, but a deal
        // leaving "won" does.
        EventKind::DealUpdated {
            old_status,
            new_status,
            old_value_cents,
            new_value_cents,
            ..
        } => {
            old_status != new_status
                || *old_status == DealStatus::Won
                || (old_value_cents != new_value_cents && *new_status != DealStatus::Open)
        }
        EventKind::DealDeleted { .. } | EventKind::ContactDeleted { .. } => true,
        _ => false,
    }
}

/// Keeps `cache` in step with the writes announced on `events`.
pub async fn invalidate_on_events(mut events: Subscription, cache: Arc<ForecastCache>) {
    loop {
        match events.recv().await {
            Ok(e) if invalidates(&e.kind) => cache.invalidate(e.organization_id),
            Ok(_) => {}
            Err(RecvError::Lagged(n)) => {
                // Clearing a cache loses nothing: the next read refits.
                tracing::info!(
                    missed = n,
                    "forecast cache lagged behind the event bus; cleared"
                );
                cache.clear();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuracrm_domain::{DealId, DealStage};

    fn key(org: i64) -> CacheKey {
        CacheKey {
            org: OrgId(org),
            metric: ForecastMetric::Revenue,
            months: 12,
            model: ForecastAlgorithm::Ensemble,
        }
    }

    fn out() -> Arc<Forecast> {
        Arc::new(Forecast {
            series: MonthlySeries {
                metric: ForecastMetric::Revenue,
                start: None,
                values: vec![],
            },
            fit: FitOutcome::InsufficientHistory {
                observations: 0,
                needed: 6,
                reason: "no history".into(),
            },
            model: ForecastAlgorithm::Ensemble,
            months: 12,
            level: LEVEL,
            generated_at: Utc::now(),
        })
    }

    #[test]
    fn invalidation_is_per_organization_and_beats_a_slow_computation() {
        let c = ForecastCache::default();
        let m = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        c.put(key(1), m, c.generation(OrgId(1)), out());
        c.put(key(2), m, c.generation(OrgId(2)), out());
        assert!(c.get(&key(1), m).is_some());
        assert!(
            c.get(&key(1), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
                .is_none(),
            "a new month means a longer history"
        );
        // A computation that started before an invalidation is not stored.
        let stale = c.generation(OrgId(1));
        c.invalidate(OrgId(1));
        assert!(c.get(&key(1), m).is_none());
        assert!(
            c.get(&key(2), m).is_some(),
            "another organization keeps its entry"
        );
        c.put(key(1), m, stale, out());
        assert!(c.get(&key(1), m).is_none());
        let before_clear = c.generation(OrgId(2));
        c.clear();
        assert!(c.is_empty());
        c.put(key(2), m, before_clear, out());
        assert!(c.is_empty());
    }

    #[tokio::test]
    async fn a_lagging_subscriber_clears_everything_and_an_event_clears_its_org() {
        use neuracrm_domain::{ContactId, DomainEvent};
        use neuracrm_events::{BroadcastBus, EventBus};
        let cache = Arc::new(ForecastCache::default());
        let m = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for org in [1, 2] {
            cache.put(key(org), m, cache.generation(OrgId(org)), out());
        }
        let bus = BroadcastBus::new(2);
        let sub = bus.subscribe();
        let ev = |org: i64, kind: EventKind| DomainEvent::new(OrgId(org), Utc::now(), kind);
        // Org 2's deal is deleted: only org 2's entry goes.
        bus.publish(ev(2, EventKind::DealDeleted { id: DealId(1) }));
        bus.publish(ev(1, EventKind::ContactCreated { id: ContactId(1) }));
        let task = tokio::spawn(invalidate_on_events(sub, cache.clone()));
        // Wait until the subscriber has seen them (it runs on its own task).
        while cache.get(&key(2), m).is_some() {
            tokio::task::yield_now().await;
        }
        assert!(
            cache.get(&key(1), m).is_some(),
            "a contact creation changes nothing"
        );
        drop(bus);
        task.await.unwrap();

        // Events beyond the bus's capacity: the subscriber lags and clears all.
        let bus = BroadcastBus::new(2);
        let sub = bus.subscribe();
        for i in 0..5 {
            bus.publish(ev(3, EventKind::ContactCreated { id: ContactId(i) }));
        }
        drop(bus);
        invalidate_on_events(sub, cache.clone()).await;
        assert!(cache.is_empty(), "org 1's entry went with the lag");
    }

    #[test]
    fn only_writes_that_change_won_deals_invalidate() {
        let upd = |old: DealStatus, new: DealStatus, ov: i64, nv: i64| EventKind::DealUpdated {
            id: DealId(1),
            old_stage: DealStage::Proposal,
            new_stage: DealStage::Proposal,
            old_status: old,
            new_status: new,
            old_value_cents: ov,
            new_value_cents: nv,
        };
        use DealStatus::*;
        assert!(invalidates(&upd(Open, Won, 1, 1)));
        assert!(invalidates(&upd(Won, Open, 1, 1)));
        assert!(
            invalidates(&upd(Won, Won, 1, 1)),
            "close time or contact may have changed"
        );
        assert!(invalidates(&upd(Lost, Lost, 1, 2)));
        assert!(
            !invalidates(&upd(Open, Open, 1, 2)),
            "open deals are not in the series"
        );
        assert!(invalidates(&EventKind::DealCreated {
            id: DealId(1),
            stage: DealStage::ClosedWon,
            value_cents: 5
        }));
        assert!(!invalidates(&EventKind::DealCreated {
            id: DealId(1),
            stage: DealStage::Prospecting,
            value_cents: 5
        }));
        assert!(invalidates(&EventKind::DealDeleted { id: DealId(1) }));
    }
}

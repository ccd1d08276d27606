//! Customer segments as actions: the [`Record`] of a segment (create with
//! its first members, read, rename or re-rule, delete), a rule's preview,
//! the members with their metrics, a segment's stats, and the refresh of
//! dynamic segments that the API, the scheduler, the event subscriber and
//! `neuracrm segments update` all call ([`refresh_all`]).
//!
//! A refresh evaluates the rule (one statement), compares the result with
//! the stored members and writes only the difference, then publishes one
//! `segment_updated` event with the counts that entered and left, and only
//! when something did.
//!
//! [`suggest`] clusters the contacts into suggested segments ([`kmeans`]
//! is the clustering itself).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use neuracrm_domain::segments::{Rule, RuleError, Segment, SegmentKind};
use neuracrm_domain::{
    ContactId, DomainEvent, EventKind, NewSegment, OrgId, SegmentId, SegmentPatch,
};
use neuracrm_events::EventBus;
use neuracrm_store::segments::{Applied, ContactMetrics, MemberRow, Scope};
use neuracrm_store::{Page, Paged, Store, StoreError};
use serde::Serialize;

use crate::records::{List, Record};
use crate::{ActionError, ActionResult, Caller, Crm};

pub mod kmeans;
pub mod suggest;

impl From<RuleError> for ActionError {
    fn from(e: RuleError) -> Self {
        ActionError::invalid(e.path, e.message)
    }
}

impl Record for Segment {
    type Id = SegmentId;
    type New = NewSegment;
    type Patch = SegmentPatch;
    type Filter = ();
    type Sort = ();
    type View = Segment;

    fn check_new(_: &Caller, new: &NewSegment) -> ActionResult<()> {
        new.parsed_rule()?;
        Ok(())
    }

    fn check_patch(_: &Caller, _: SegmentId, patch: &SegmentPatch) -> ActionResult<()> {
        patch.parsed_rule()?;
        Ok(())
    }

    /// Evaluates the rule and stores the segment with those members (a
    /// static segment keeps them as its snapshot).
    async fn insert(crm: &Crm, caller: &Caller, new: &NewSegment) -> ActionResult<Segment> {
        let rule = new.parsed_rule()?;
        let now = Utc::now();
        let members = crm
            .store
            .segments()
            .evaluate(caller.org, &rule, now)
            .await?;
        let (segment, _) = crm
            .store
            .segments()
            .create(caller.org, Some(caller.user), new, &rule, &members, now)
            .await?;
        Ok(segment)
    }

    async fn fetch(crm: &Crm, org: OrgId, id: SegmentId) -> ActionResult<Segment> {
        Ok(crm.store.segments().get(org, id).await?)
    }

    /// A new rule is evaluated at once (for a static segment, a new
    /// snapshot); its `segment_updated` comes before `segment_changed`.
    async fn change(
        crm: &Crm,
        caller: &Caller,
        id: SegmentId,
        patch: &SegmentPatch,
    ) -> ActionResult<(Segment, Segment)> {
        let rule = patch.parsed_rule()?;
        let (old, new) = crm
            .store
            .segments()
            .update(
                caller.org,
                Some(caller.user),
                id,
                patch.name.as_deref(),
                patch.description.as_ref().map(|d| d.as_deref()),
                rule.as_ref(),
            )
            .await?;
        if rule.is_some() {
            let applied = refresh(&crm.store, crm.events.as_ref(), &new, Utc::now()).await?;
            let new = Segment {
                size: applied.size,
                ..new
            };
            return Ok((old, new));
        }
        Ok((old, new))
    }

    /// Refused (409) while a scheduled campaign targets the segment: it
    /// would freeze its recipients from a segment that is gone. The user is
    /// told which campaign, to cancel it or change its target first (a
    /// campaign that is already sending froze its list and is not held).
    async fn remove(crm: &Crm, caller: &Caller, id: SegmentId) -> ActionResult<()> {
        let scheduled = crm
            .store
            .campaigns()
            .scheduled_to_segment(caller.org, id)
            .await?;
        if let Some((campaign, name)) = scheduled.first() {
            return Err(ActionError::Conflict {
                field: "id".into(),
                message: format!(
                    "campaign {campaign} ({name}) is scheduled to send to this segment: \
                     cancel it or change its target before deleting the segment"
                ),
            });
        }
        Ok(crm
            .store
            .segments()
            .delete(caller.org, Some(caller.user), id)
            .await?)
    }

    async fn find(crm: &Crm, org: OrgId, q: &List<Segment>) -> ActionResult<Paged<Segment>> {
        Ok(crm.store.segments().list(org, q.page).await?)
    }

    fn view(self) -> Segment {
        self
    }

    fn created(&self) -> Option<EventKind> {
        Some(EventKind::SegmentCreated {
            id: self.id,
            size: self.size,
        })
    }

    fn updated(_: &Segment, new: &Segment) -> Option<EventKind> {
        Some(EventKind::SegmentChanged { id: new.id })
    }

    fn deleted(id: SegmentId) -> Option<EventKind> {
        Some(EventKind::SegmentDeleted { id })
    }
}

/// A contact of a segment (or of a preview) with its metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// Who, and since when.
    pub contact: MemberRow,
    /// The contact's metrics as of the read.
    pub metrics: ContactMetrics,
}

/// Contacts a preview shows.
pub const PREVIEW_SAMPLE: usize = 10;

/// How many contacts a rule selects now, and the first of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// Contacts selected.
    pub count: u64,
    /// The first [`PREVIEW_SAMPLE`] by id, with their metrics.
    pub sample: Vec<Member>,
}

/// Evaluates a rule without saving it (422 naming the place in the tree
/// when it is not valid).
pub async fn preview(
    crm: &Crm,
    caller: &Caller,
    rule: &serde_json::Value,
) -> ActionResult<Preview> {
    let rule = Rule::parse(rule)?;
    let now = Utc::now();
    let (count, first) = crm
        .store
        .segments()
        .count_and_sample(caller.org, &rule, now, PREVIEW_SAMPLE)
        .await?;
    let mut rows = Vec::with_capacity(first.len());
    for id in &first {
        let c = crm.store.contacts().get(caller.org, *id).await?;
        rows.push(MemberRow {
            contact_id: c.id.0,
            entered_at: now,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email.map(Into::into),
            company: c.company,
        });
    }
    Ok(Preview {
        count,
        sample: with_metrics(&crm.store, caller.org, rows, now).await?,
    })
}

async fn with_metrics(
    store: &Store,
    org: OrgId,
    rows: Vec<MemberRow>,
    now: DateTime<Utc>,
) -> ActionResult<Vec<Member>> {
    let ids: Vec<ContactId> = rows.iter().map(|r| ContactId(r.contact_id)).collect();
    let metrics = store
        .segments()
        .metrics(org, Scope::Contacts(&ids), now)
        .await?;
    let mut by_id: std::collections::HashMap<i64, ContactMetrics> =
        metrics.into_iter().map(|m| (m.contact_id, m)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|contact| {
            let metrics = by_id.remove(&contact.contact_id)?;
            Some(Member { contact, metrics })
        })
        .collect())
}

/// A page of the segment's members (by contact id) with their metrics.
pub async fn members(
    crm: &Crm,
    caller: &Caller,
    id: SegmentId,
    page: Page,
) -> ActionResult<Paged<Member>> {
    crm.store.segments().get(caller.org, id).await?;
    let rows = crm.store.segments().members(caller.org, id, page).await?;
    let Paged {
        items,
        limit,
        offset,
        has_more,
    } = rows;
    Ok(Paged {
        items: with_metrics(&crm.store, caller.org, items, Utc::now()).await?,
        limit,
        offset,
        has_more,
    })
}

/// What a segment's members are worth, together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentStats {
    /// Members.
    pub size: i64,
    /// Sum of the members' won value.
    pub total_won_value_cents: i64,
    /// Won value per member.
    pub avg_won_value_cents: Option<f64>,
    /// The members' won deals over their closed deals.
    pub conversion_rate: Option<f64>,
    /// Mean of the members' average lead scores (members with a scored lead).
    pub avg_lead_score: Option<f64>,
    /// Mean of the members' latest sentiment (members with one).
    pub avg_sentiment: Option<f64>,
    /// Share of members who are customers (a won deal) with no activity in
    /// [`AT_RISK_DAYS`] days.
    pub at_risk_share: Option<f64>,
    /// Sum of the members' open deal values.
    pub open_pipeline_cents: i64,
}

/// A customer with no activity for this many days is at risk.
pub const AT_RISK_DAYS: i64 = 90;

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = xs.fold((0u64, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| sum / n as f64)
}

/// The stats of the members' metrics as of `now`.
pub fn stats_of(members: &[ContactMetrics], now: DateTime<Utc>) -> SegmentStats {
    let size = members.len() as i64;
    let sum = |f: fn(&ContactMetrics) -> i64| {
        members
            .iter()
            .map(|m| f(m) as i128)
            .sum::<i128>()
            .min(i64::MAX as i128) as i64
    };
    let won = sum(|m| m.won_deals);
    let closed = won + sum(|m| m.lost_deals);
    let total_won = sum(|m| m.won_value_cents);
    let cut = now - Duration::days(AT_RISK_DAYS);
    let at_risk = members
        .iter()
        .filter(|m| m.won_deals > 0 && m.last_activity_at.is_none_or(|t| t < cut))
        .count();
    SegmentStats {
        size,
        total_won_value_cents: total_won,
        avg_won_value_cents: (size > 0).then(|| total_won as f64 / size as f64),
        conversion_rate: (closed > 0).then(|| won as f64 / closed as f64),
        avg_lead_score: mean(members.iter().filter_map(|m| m.avg_lead_score)),
        avg_sentiment: mean(members.iter().filter_map(|m| m.latest_sentiment)),
        at_risk_share: (size > 0).then(|| at_risk as f64 / size as f64),
        open_pipeline_cents: sum(|m| m.open_value_cents),
    }
}

/// The segment's stats, from its members' metrics (one read).
pub async fn stats(crm: &Crm, caller: &Caller, id: SegmentId) -> ActionResult<SegmentStats> {
    crm.store.segments().get(caller.org, id).await?;
    let now = Utc::now();
    let metrics = crm
        .store
        .segments()
        .metrics(caller.org, Scope::Segment(id), now)
        .await?;
    Ok(stats_of(&metrics, now))
}

/// What to write: those selected and not members, and members no longer
/// selected (both lists in id order).
pub fn difference(
    selected: &[ContactId],
    members: &[ContactId],
) -> (Vec<ContactId>, Vec<ContactId>) {
    // Both come in id order from the store (sorting a sorted list is one
    // pass): one merge, where two sets of up to a million ids each cost
    // seconds across twenty segments.
    let sorted = |ids: &[ContactId]| {
        let mut v = ids.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (now, before) = (sorted(selected), sorted(members));
    let (mut entered, mut left) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < now.len() && j < before.len() {
        match now[i].cmp(&before[j]) {
            std::cmp::Ordering::Less => {
                entered.push(now[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                left.push(before[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    entered.extend_from_slice(&now[i..]);
    left.extend_from_slice(&before[j..]);
    (entered, left)
}

/// Re-evaluates one segment's rule as of `now`, writes the difference, and
/// publishes one `segment_updated` when someone entered or left. A segment
/// whose rule changed after `segment` was read is left alone (the change
/// refreshed it with the new rule).
pub async fn refresh(
    store: &Store,
    events: &dyn EventBus,
    segment: &Segment,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let selected = store
        .segments()
        .evaluate(segment.organization_id, &segment.rule, now)
        .await?;
    write_refresh(store, events, segment, &selected, now).await
}

/// Writes the difference between `selected` (the evaluation of the
/// segment's rule as of `now`) and the stored members, and publishes one
/// `segment_updated` when someone entered or left.
async fn write_refresh(
    store: &Store,
    events: &dyn EventBus,
    segment: &Segment,
    selected: &[ContactId],
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let org = segment.organization_id;
    let members = store.segments().member_ids(org, segment.id).await?;
    let (entered, left) = difference(selected, &members);
    let Some(applied) = store
        .segments()
        .apply(org, segment.id, segment.updated_at, &entered, &left, now)
        .await?
    else {
        // Changed meanwhile; whoever changed it refreshed it with its rule.
        return Ok(Applied {
            size: segment.size,
            ..Applied::default()
        });
    };
    if applied.entered + applied.left > 0 {
        events.publish(DomainEvent::new(
            org,
            now,
            EventKind::SegmentUpdated {
                id: segment.id,
                entered: applied.entered,
                left: applied.left,
                size: applied.size,
            },
        ));
    }
    Ok(applied)
}

/// Refreshes one segment now (404 when it is not the caller's; a static
/// segment is refused: its members change only by hand).
pub async fn refresh_now(crm: &Crm, caller: &Caller, id: SegmentId) -> ActionResult<Applied> {
    let segment = crm.store.segments().get(caller.org, id).await?;
    if segment.kind == SegmentKind::Static {
        return Err(ActionError::Conflict {
            field: "kind".into(),
            message: "a static segment is a snapshot: its members change only by hand".into(),
        });
    }
    Ok(refresh(&crm.store, crm.events.as_ref(), &segment, Utc::now()).await?)
}

/// Creates the ten ready-made RFM segments (dynamic, one per named RFM
/// segment), through the same creation as any segment (its checks, its
/// `segment_created`).
pub async fn create_rfm_segments(crm: &Crm, caller: &Caller) -> ActionResult<Vec<Segment>> {
    let mut made = Vec::new();
    for name in neuracrm_domain::segments::RFM_SEGMENTS {
        let new = NewSegment {
            name: format!("RFM: {}", name.replace('_', " ")),
            description: Some(
                "Ready-made RFM segment: recency and frequency quintiles among the organization's customers"
                    .into(),
            ),
            kind: SegmentKind::Dynamic,
            rule: serde_json::json!({"field": "rfm_segment", "operand": "is", "value": name}),
        };
        made.push(crate::records::create::<Segment>(crm, caller, new).await?);
    }
    Ok(made)
}

/// A named RFM segment on the grid: its customers, and the ready-made
/// dynamic segment that holds them, when the organization has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmNamed {
    /// `champions`, `loyal_customers`, ...
    pub name: &'static str,
    /// Customers whose R and F scores name it.
    pub size: i64,
    /// The organization's dynamic segment `rfm_segment is <name>` (the
    /// first by id), if any.
    pub segment: Option<SegmentId>,
}

/// The organization's customers on the RFM grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmGrid {
    /// `cells[r - 1][f - 1]`: customers with recency score r and
    /// frequency score f (1–5).
    pub cells: [[i64; 5]; 5],
    /// Customers (contacts with a won deal), all cells together.
    pub customers: i64,
    /// The ten named segments in [`neuracrm_domain::segments::RFM_SEGMENTS`]
    /// order, each the sum of its cells.
    pub named: Vec<RfmNamed>,
}

/// The ready-made dynamic segment of the RFM segment `name` among
/// `segments`: the first whose rule is exactly `rfm_segment is <name>`.
fn ready_made(segments: &[Segment], name: &str) -> Option<SegmentId> {
    use neuracrm_domain::segments::{Operand, Operands, Scalar};
    segments.iter().find_map(|s| match &s.rule {
        Rule::Condition(c)
            if c.field.name == "rfm_segment"
                && c.operand == Operand::Is
                && c.value == Operands::One(Scalar::Text(name.to_string())) =>
        {
            Some(s.id)
        }
        _ => None,
    })
}

/// Counts the organization's customers by RFM recency and frequency score
/// (one statement), names the segments of the cells
/// ([`neuracrm_domain::segments::rfm_segment`], as the rules do) and finds
/// the ready-made dynamic segments of each.
pub async fn rfm_grid(crm: &Crm, caller: &Caller) -> ActionResult<RfmGrid> {
    use neuracrm_domain::segments::{RFM_SEGMENTS, rfm_segment};
    let rows = crm.store.segments().rfm_grid(caller.org).await?;
    let mut cells = [[0i64; 5]; 5];
    for (r, f, n) in rows {
        let (Ok(r @ 1..=5), Ok(f @ 1..=5)) = (usize::try_from(r), usize::try_from(f)) else {
            continue;
        };
        cells[r - 1][f - 1] += n;
    }
    let dynamic = crm.store.segments().dynamic(caller.org).await?;
    let named = RFM_SEGMENTS
        .iter()
        .map(|&name| {
            let mut size = 0;
            for r in 1..=5 {
                for f in 1..=5 {
                    if rfm_segment(r as i64, f as i64) == name {
                        size += cells[r - 1][f - 1];
                    }
                }
            }
            RfmNamed {
                name,
                size,
                segment: ready_made(&dynamic, name),
            }
        })
        .collect();
    Ok(RfmGrid {
        customers: cells.iter().flatten().sum(),
        cells,
        named,
    })
}

/// Most contacts one hand edit adds or removes.
pub const MAX_EDIT: usize = 10_000;

/// Adds and removes members of a static segment by hand (404 when it is
/// not the caller's; 409 for a dynamic one, whose rule decides). Ids that
/// are not the organization's contacts, members already added or not
/// members, change nothing. Publishes one `segment_updated` when someone
/// entered or left.
pub async fn edit_members(
    crm: &Crm,
    caller: &Caller,
    id: SegmentId,
    add: &[ContactId],
    remove: &[ContactId],
) -> ActionResult<Applied> {
    if add.len() + remove.len() > MAX_EDIT {
        return Err(ActionError::invalid(
            "add",
            format!("at most {MAX_EDIT} contacts per edit, added and removed together"),
        ));
    }
    if let Some(c) = add.iter().find(|c| remove.contains(c)) {
        return Err(ActionError::invalid(
            "remove",
            format!("contact {} is both added and removed", c.0),
        ));
    }
    let segment = crm.store.segments().get(caller.org, id).await?;
    if segment.kind == SegmentKind::Dynamic {
        return Err(ActionError::Conflict {
            field: "kind".into(),
            message: "a dynamic segment's members are chosen by its rule".into(),
        });
    }
    let now = Utc::now();
    let applied = crm
        .store
        .segments()
        .apply(caller.org, id, segment.updated_at, add, remove, now)
        .await?
        .ok_or_else(|| ActionError::Conflict {
            field: "rule".into(),
            message: "the segment was changed meanwhile; try again".into(),
        })?;
    if applied.entered + applied.left > 0 {
        crm.publish(
            caller.org,
            EventKind::SegmentUpdated {
                id,
                entered: applied.entered,
                left: applied.left,
                size: applied.size,
            },
        );
    }
    Ok(applied)
}

/// What a refresh of dynamic segments did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RefreshSummary {
    /// Organizations visited.
    pub organizations: u64,
    /// Segments refreshed.
    pub segments: u64,
    /// Segments whose refresh failed (logged).
    pub failed: u64,
    /// Contacts that entered a segment.
    pub entered: u64,
    /// Contacts that left one.
    pub left: u64,
    /// Wall time.
    pub seconds: f64,
}

impl RefreshSummary {
    /// One line for logs and `job_runs`.
    pub fn line(&self) -> String {
        format!(
            "{} segments of {} organizations refreshed ({} failed): {} entered, {} left in {:.1} s",
            self.segments, self.organizations, self.failed, self.entered, self.left, self.seconds
        )
    }
}

/// The segments a refresh of `org` (or of every organization) covers, so a
/// front end can size a progress bar.
pub async fn dynamic_segments(
    store: &Store,
    org: Option<OrgId>,
) -> Result<Vec<Segment>, StoreError> {
    let orgs = match org {
        Some(o) => vec![o],
        None => store.segments().orgs_with_dynamic().await?,
    };
    let mut all = Vec::new();
    for o in orgs {
        all.extend(store.segments().dynamic(o).await?);
    }
    Ok(all)
}

/// Refreshes every dynamic segment of `org`, or of every organization, as
/// of `now`; `progress` hears of each segment done. What the scheduler, the
/// event subscriber, `neuracrm segments update` and the API all run. The
/// rules of an organization's segments are evaluated together
/// ([`neuracrm_store::segments::Segments::evaluate_many`]: the metrics
/// once, not once per segment), then each segment's difference is written
/// on its own. A segment that fails is logged and counted; the others go
/// on.
pub async fn refresh_all(
    store: &Store,
    events: &dyn EventBus,
    org: Option<OrgId>,
    now: DateTime<Utc>,
    mut progress: impl FnMut(&Segment, Option<&Applied>),
) -> Result<RefreshSummary, StoreError> {
    let started = std::time::Instant::now();
    let segments = dynamic_segments(store, org).await?;
    let mut s = RefreshSummary::default();
    let mut orgs = BTreeSet::new();
    // `dynamic_segments` lists them organization by organization.
    for of_org in segments.chunk_by(|a, b| a.organization_id == b.organization_id) {
        let org = of_org[0].organization_id;
        orgs.insert(org);
        let rules: Vec<&Rule> = of_org.iter().map(|seg| &seg.rule).collect();
        let selected = match store.segments().evaluate_many(org, &rules, now).await {
            Ok(selected) => selected,
            Err(e) => {
                tracing::warn!(org = org.0, error = %e, "segments not evaluated");
                for seg in of_org {
                    s.failed += 1;
                    progress(seg, None);
                }
                continue;
            }
        };
        for (seg, selected) in of_org.iter().zip(&selected) {
            refresh_one(store, events, seg, selected, now, &mut s, &mut progress).await;
        }
    }
    s.organizations = orgs.len() as u64;
    s.seconds = started.elapsed().as_secs_f64();
    Ok(s)
}

/// Writes one segment's refresh into the summary.
async fn refresh_one(
    store: &Store,
    events: &dyn EventBus,
    seg: &Segment,
    selected: &[ContactId],
    now: DateTime<Utc>,
    s: &mut RefreshSummary,
    progress: &mut impl FnMut(&Segment, Option<&Applied>),
) {
    match write_refresh(store, events, seg, selected, now).await {
        Ok(a) => {
            s.segments += 1;
            s.entered += a.entered;
            s.left += a.left;
            progress(seg, Some(&a));
        }
        // Deleted since it was listed: nothing to refresh.
        Err(StoreError::NotFound { .. }) => progress(seg, None),
        Err(e) => {
            s.failed += 1;
            tracing::warn!(org = seg.organization_id.0, segment = seg.id.0, error = %e,
                "segment not refreshed");
            progress(seg, None);
        }
    }
}

/// Refreshes the caller's organization's dynamic segments now (managers).
pub async fn refresh_org(crm: &Crm, caller: &Caller) -> ActionResult<RefreshSummary> {
    caller.require(crate::Access::Managers)?;
    Ok(refresh_all(
        &crm.store,
        crm.events.as_ref(),
        Some(caller.org),
        Utc::now(),
        |_, _| {},
    )
    .await?)
}

/// The scheduler's name for the refresh (`job_runs.job`).
pub const JOB: &str = "segments_refresh";

/// One scheduled run: every dynamic segment of every organization.
pub async fn scheduled_run(
    store: &Store,
    events: &dyn EventBus,
    now: DateTime<Utc>,
) -> Result<String, neuracrm_jobs::JobError> {
    Ok(refresh_all(store, events, None, now, |_, _| {})
        .await?
        .line())
}

/// Whether an event can change which contacts a rule selects (any change
/// to a contact, its leads, deals or activities; not segments' own).
pub fn is_relevant(kind: &EventKind) -> bool {
    use EventKind::*;
    matches!(
        kind,
        ContactCreated { .. }
            | ContactUpdated { .. }
            | ContactDeleted { .. }
            | LeadCreated { .. }
            | LeadUpdated { .. }
            | LeadDeleted { .. }
            | LeadScored { .. }
            | DealCreated { .. }
            | DealUpdated { .. }
            | DealDeleted { .. }
            | ActivityLogged { .. }
            | ActivityUpdated { .. }
            | ActivityDeleted { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_difference_is_who_entered_and_who_left() {
        let ids = |v: &[i64]| v.iter().map(|&i| ContactId(i)).collect::<Vec<_>>();
        let (entered, left) = difference(&ids(&[1, 2, 5]), &ids(&[2, 3, 5, 9]));
        assert_eq!((entered, left), (ids(&[1]), ids(&[3, 9])));
        assert_eq!(difference(&[], &[]), (vec![], vec![]));
    }
}

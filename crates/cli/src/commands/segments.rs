//! `segments update`: the refresh of dynamic segments that the server's
//! scheduler also runs (`neuracrm_actions::segments::refresh_all`), with a
//! progress bar on a terminal; and `segments bench` (hidden), which
//! measures the metrics pass and a refresh of twenty dynamic segments.

use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use neuracrm_actions::segments::{dynamic_segments, refresh_all};
use neuracrm_domain::OrgId;
use neuracrm_server::Settings;

use super::open_store;

pub async fn update(settings: Settings, org: Option<i64>, json: bool) -> Result<()> {
    let store = open_store(&settings).await?;
    let org = org.map(OrgId);
    super::check_org(&store, org).await?;
    // Redis when configured, so the servers' watchers see the updates.
    let events = neuracrm_server::startup::event_bus(&settings).await?;
    let bar = if std::io::stderr().is_terminal() {
        let total = dynamic_segments(&store, org).await?.len() as u64;
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} segments ({msg})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let summary = refresh_all(&store, events.as_ref(), org, Utc::now(), |seg, _| {
        bar.set_message(seg.name.clone());
        bar.inc(1);
    })
    .await
    .context("refreshing segments")?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{}", summary.line());
    }
    if summary.failed > 0 {
        bail!(
            "{} segments could not be refreshed (see the log)",
            summary.failed
        );
    }
    Ok(())
}

/// Twenty rules of the kinds a salesperson writes, over every kind of
/// field (contact, lead, deal, activity and derived metrics).
fn bench_rules() -> Vec<serde_json::Value> {
    use serde_json::json;
    let c = |field: &str, operand: &str, value: serde_json::Value| json!({"field": field, "operand": operand, "value": value});
    let and = |children: Vec<serde_json::Value>| json!({"op": "and", "children": children});
    vec![
        c("industry", "is", json!("technology")),
        c("industry", "in", json!(["healthcare", "finance"])),
        c("company_size", "gte", json!(500)),
        c("job_title", "contains", json!("director")),
        c("total_leads", "gte", json!(3)),
        c("won_deals", "gte", json!(1)),
        c("won_value_cents", "gt", json!(5_000_000)),
        c("open_deals", "gte", json!(2)),
        c("conversion_rate", "gte", json!(0.5)),
        c("avg_lead_score", "gt", json!(70)),
        c("last_activity_at", "not_in_last_days", json!(60)),
        c("activities_30d", "gte", json!(3)),
        c("activity_score", "gt", json!(2)),
        c("customer_value_score", "gt", json!(1_000_000)),
        c("lead.status", "is", json!("qualified")),
        c("deal.stage", "in", json!(["proposal", "negotiation"])),
        c("created_at", "in_last_days", json!(365)),
        and(vec![
            c("industry", "is", json!("technology")),
            c("deal.status", "is", json!("won")),
            c("deal.value_cents", "gt", json!(5_000_000)),
            c("last_activity_at", "not_in_last_days", json!(60)),
        ]),
        and(vec![
            c("won_deals", "gte", json!(1)),
            json!({"op": "not", "children": [c("activities_90d", "gte", json!(1))]}),
        ]),
        json!({"op": "or", "children": [
            c("lead.score", "gte", json!(80)),
            c("open_value_cents", "gt", json!(10_000_000)),
        ]}),
    ]
}

#[derive(Debug, serde::Serialize)]
struct BenchReport {
    backend: String,
    contacts: usize,
    /// Seconds to compute and store the metrics (and RFM scores) of every
    /// contact from the records: the first sync of an organization.
    build_seconds: f64,
    /// Seconds for the metrics of every contact, with RFM, once stored.
    metrics_seconds: f64,
    /// Seconds of a sync after 1,000 contacts (evenly spread) were marked
    /// stale, as writes to their records would: computed again by id, RFM
    /// ranked again.
    incremental_seconds: f64,
    /// Seconds to read the metrics of every contact a day later (the
    /// contacts whose 30- and 90-day counts changed computed again first).
    day_later_seconds: f64,
    /// Seconds per contact for one statement per contact (the sample).
    per_contact_seconds: f64,
    /// The per-contact approach extrapolated to every contact, over the
    /// one-statement pass.
    ratio: f64,
    /// Seconds to create twenty segments (each evaluated once, unless
    /// created empty).
    create_seconds: f64,
    /// Whether they were created empty (`--empty-create`).
    empty_create: bool,
    /// Seconds of the refresh that filled them, when created empty.
    filling_refresh_seconds: Option<f64>,
    /// Seconds to refresh them with nothing changed (their rules evaluated
    /// together: the metrics once).
    refresh_seconds: f64,
    /// Seconds to evaluate the twenty rules one statement each (the
    /// baseline of the refresh; scaled to twenty from `baseline_rules`).
    one_by_one_seconds: f64,
    /// Rules the baseline evaluated.
    baseline_rules: usize,
    /// Seconds to evaluate the twenty rules in one statement, as the
    /// refresh does (its evaluation without the membership reads and
    /// writes).
    together_seconds: f64,
    /// Seconds for the suggestions (k-means over a sample of at most
    /// 20,000 contacts, k from 2 to 8).
    suggestion_seconds: f64,
    /// Clusters suggested.
    suggested_k: usize,
    /// Members of the twenty, together.
    members: i64,
}

/// How `segments bench` runs.
pub struct BenchHow {
    /// Contacts of the per-contact baseline.
    pub sample: u32,
    /// Rules of the refresh's baseline.
    pub baseline_rules: usize,
    /// Create the segments without evaluating them.
    pub empty_create: bool,
}

pub async fn bench(settings: Settings, org: i64, how: BenchHow, json: bool) -> Result<()> {
    let BenchHow {
        sample,
        baseline_rules,
        empty_create,
    } = how;
    let baseline_rules = baseline_rules.clamp(1, bench_rules().len());
    use neuracrm_domain::ContactId;
    use neuracrm_domain::segments::{NewSegment, Rule, SegmentKind};
    use neuracrm_store::segments::Scope;
    use std::time::Instant;

    let store = open_store(&settings).await?;
    let org = OrgId(org);
    super::check_org(&store, Some(org)).await?;
    let now = Utc::now();
    // The metrics of every contact computed from the records and stored:
    // what every read cost before they were stored, and the first sync of
    // an organization costs now.
    store.segments().forget_metrics(org).await?;
    let t = Instant::now();
    store.segments().sync(org, now, true).await?;
    let build_seconds = t.elapsed().as_secs_f64();
    eprintln!("metrics of every contact computed and stored: {build_seconds:.2} s");
    let t = Instant::now();
    let all = store.segments().metrics(org, Scope::All, now).await?;
    let metrics_seconds = t.elapsed().as_secs_f64();
    if all.is_empty() {
        bail!("organization {} has no contacts: seed it first", org.0);
    }
    // Each phase on stderr as it ends, so a long run shows where it is.
    eprintln!(
        "metrics (with RFM) of {} contacts, stored: {metrics_seconds:.2} s",
        all.len()
    );
    // The baseline: the same metrics, one statement per contact, on an
    // evenly spread sample, checked equal to the pass's.
    let step = (all.len() / sample.max(1) as usize).max(1);
    let picked: Vec<_> = all.iter().step_by(step).take(sample as usize).collect();
    let t = Instant::now();
    for m in &picked {
        let one = store
            .segments()
            .metrics(org, Scope::Contacts(&[ContactId(m.contact_id)]), now)
            .await?;
        if one.first() != Some(*m) {
            bail!("contact {}: the per-contact metrics differ", m.contact_id);
        }
    }
    let per_contact_seconds = t.elapsed().as_secs_f64() / picked.len() as f64;
    eprintln!("one statement per contact: {per_contact_seconds:.3} s each");
    // A thousand contacts' records written: their metrics computed again.
    let stale: Vec<ContactId> = all
        .iter()
        .step_by((all.len() / 1000).max(1))
        .take(1000)
        .map(|m| ContactId(m.contact_id))
        .collect();
    store.segments().mark_stale(org, &stale).await?;
    let t = Instant::now();
    store.segments().sync(org, now, true).await?;
    let incremental_seconds = t.elapsed().as_secs_f64();
    eprintln!(
        "{} stale contacts computed again: {incremental_seconds:.2} s",
        stale.len()
    );
    let events = neuracrm_events::BroadcastBus::default();
    let t = Instant::now();
    let mut members = 0;
    for (i, raw) in bench_rules().into_iter().enumerate() {
        let rule = Rule::parse(&raw).map_err(|e| anyhow::anyhow!("{e}"))?;
        let ids = if empty_create {
            Vec::new()
        } else {
            store.segments().evaluate(org, &rule, now).await?
        };
        let new = NewSegment {
            name: format!("bench {i}"),
            description: None,
            kind: SegmentKind::Dynamic,
            rule: raw,
        };
        let (_, applied) = store
            .segments()
            .create(org, None, &new, &rule, &ids, now)
            .await?;
        members += applied.size;
    }
    let create_seconds = t.elapsed().as_secs_f64();
    eprintln!("20 segments created: {create_seconds:.2} s");
    let mut filling_refresh_seconds = None;
    if empty_create {
        let t = Instant::now();
        let s = refresh_all(&store, &events, Some(org), now, |_, _| {}).await?;
        let seconds = t.elapsed().as_secs_f64();
        eprintln!("20 segments filled by a refresh: {seconds:.2} s");
        members = s.entered as i64;
        filling_refresh_seconds = Some(seconds);
    }
    let t = Instant::now();
    let s = refresh_all(&store, &events, Some(org), now, |_, _| {}).await?;
    let refresh_seconds = t.elapsed().as_secs_f64();
    eprintln!("20 segments refreshed: {refresh_seconds:.2} s");
    if s.failed > 0 {
        bail!("{} segments failed to refresh", s.failed);
    }
    // The baseline: the same twenty rules, one statement each.
    let rules: Vec<Rule> = bench_rules()
        .iter()
        .map(|raw| Rule::parse(raw).map_err(|e| anyhow::anyhow!("{e}")))
        .collect::<Result<_>>()?;
    // What the refresh's evaluation costs alone (the rest is reading each
    // segment's members and writing the difference).
    let t = Instant::now();
    let refs: Vec<&Rule> = rules.iter().collect();
    store.segments().evaluate_many(org, &refs, now).await?;
    let together_seconds = t.elapsed().as_secs_f64();
    eprintln!("their rules in one statement: {together_seconds:.2} s");
    let t = Instant::now();
    // Spread over the twenty (the first ones name contact fields only, the
    // cheapest), so the scaled figure stands for all of them.
    let step = rules.len() / baseline_rules;
    for rule in rules.iter().step_by(step).take(baseline_rules) {
        store.segments().evaluate(org, rule, now).await?;
    }
    let one_by_one_seconds = t.elapsed().as_secs_f64() * rules.len() as f64 / baseline_rules as f64;
    eprintln!("their rules one statement each: {one_by_one_seconds:.2} s");
    let t = Instant::now();
    let suggested = neuracrm_actions::segments::suggest::suggestions_of(
        &store,
        org,
        neuracrm_actions::segments::suggest::DEFAULT_SEED,
        now,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let suggestion_seconds = t.elapsed().as_secs_f64();
    eprintln!("suggestions: {suggestion_seconds:.2} s");
    let t = Instant::now();
    store
        .segments()
        .metrics(org, Scope::All, now + chrono::Duration::days(1))
        .await?;
    let day_later_seconds = t.elapsed().as_secs_f64();
    eprintln!("metrics of every contact a day later: {day_later_seconds:.2} s");
    let report = BenchReport {
        backend: format!("{:?}", store.db().backend()),
        contacts: all.len(),
        build_seconds,
        metrics_seconds,
        incremental_seconds,
        day_later_seconds,
        per_contact_seconds,
        ratio: per_contact_seconds * all.len() as f64 / metrics_seconds.max(1e-9),
        create_seconds,
        empty_create,
        filling_refresh_seconds,
        refresh_seconds,
        one_by_one_seconds,
        baseline_rules,
        together_seconds,
        suggestion_seconds,
        suggested_k: suggested.k,
        members,
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} contacts on {}: metrics (with RFM) of all in {:.2} s (one statement per contact would take {:.1}x as long: {:.2} ms each); \
             20 segments created in {:.2} s, refreshed ({} segments, nothing changed) in {:.2} s \
             (their rules one statement each: {:.2} s, {:.1}x); {} members; suggestions (k = {}) in {:.2} s",
            report.contacts,
            report.backend,
            report.metrics_seconds,
            report.ratio,
            report.per_contact_seconds * 1000.0,
            report.create_seconds,
            s.segments,
            report.refresh_seconds,
            report.one_by_one_seconds,
            report.one_by_one_seconds / report.refresh_seconds.max(1e-9),
            report.members,
            report.suggested_k,
            report.suggestion_seconds
        );
        println!(
            "stored metrics: computed for every contact in {:.2} s (the first sync; every read before they were stored), \
             read in {:.2} s ({:.1}x faster), 1,000 stale contacts computed again in {:.2} s, \
             every contact read a day later in {:.2} s",
            report.build_seconds,
            report.metrics_seconds,
            report.build_seconds / report.metrics_seconds.max(1e-9),
            report.incremental_seconds,
            report.day_later_seconds
        );
        println!(
            "the refresh's evaluation alone (the twenty rules in one statement): {:.2} s",
            report.together_seconds
        );
        if let Some(f) = report.filling_refresh_seconds {
            println!("created empty (--empty-create): the refresh that filled them took {f:.2} s");
        }
        if report.baseline_rules < rules.len() {
            println!(
                "the one-statement-each baseline ran {} of the rules (evenly spread), scaled to {}",
                report.baseline_rules,
                rules.len()
            );
        }
    }
    Ok(())
}

//! The pure part of the demo-data generator: turns a [`SeedSpec`] into rows,
//! deterministically, with no IO.
//!
//! The data tells a story a CRM's models can learn from:
//! - each lead has a hidden quality built from its contact's industry,
//!   seniority and company size, its stated budget and wording, and a latent
//!   engagement that also drives how many activities it produces;
//! - a deal's won/lost outcome is drawn from that quality, so scoring has signal;
//! - won deals close in months drawn from a known curve (trend × yearly
//!   seasonality), which is recorded so forecasts can be checked against the
//!   truth;
//! - notes, e-mails and call summaries carry positive, neutral or negative
//!   wording, more negative on deals that were lost.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::rng::Rng;
use super::vocab::*;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedSpec {
    /// Organizations to create.
    pub orgs: u32,
    /// Contacts per organization.
    pub contacts: u32,
    /// Leads per organization.
    pub leads: u32,
    /// Deals per organization (at most one per lead; extra deals have no lead).
    pub deals: u32,
    /// Activities per organization.
    pub activities: u64,
    /// Months of history.
    pub months: u32,
    /// Random seed.
    pub seed: u64,
    /// Closed history ends before the first day of this month; the current
    /// pipeline (open leads and deals) is worked up to this day (the same seed and
    /// anchor always give the same rows).
    pub anchor: NaiveDate,
}

impl SeedSpec {
    /// The small data set `neuracrm demo` serves.
    pub fn demo(anchor: NaiveDate) -> SeedSpec {
        SeedSpec {
            orgs: 3,
            contacts: 1_500,
            leads: 3_000,
            deals: 1_200,
            activities: 30_000,
            months: 36,
            seed: 42,
            anchor,
        }
    }

    /// First month of history.
    pub fn start_month(&self) -> NaiveDate {
        add_months(first_of_month(self.anchor), -(self.months as i32))
    }
}

/// The first day of `d`'s month.
pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("day 1 exists")
}

/// `d` (a first of month) moved by `n` months.
pub fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + n;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
}

fn days_in_month(first: NaiveDate) -> i64 {
    (add_months(first, 1) - first).num_days()
}

fn at(d: NaiveDate, seconds: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")) + Duration::seconds(seconds)
}

/// The revenue curve the generator draws won deals from: relative intensity of
/// month `t` (0 = first month) with trend and yearly seasonality (peak in
/// December, trough in June).
pub fn month_intensity(month_of_year: u32, t: u32) -> f64 {
    let season =
        1.0 + 0.25 * (2.0 * std::f64::consts::PI * (month_of_year as f64 - 12.0) / 12.0).cos();
    1.02f64.powi(t as i32) * season
}

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSeed {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: &'static str,
}

/// A contact to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactSeed {
    pub id: i64,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub job_title: &'static str,
    pub industry: &'static str,
    pub company_size: i64,
    pub owner_id: i64,
    pub created_at: DateTime<Utc>,
    /// Seniority level 0–4 (hidden; drives the outcome).
    pub seniority: u8,
}

/// A lead to create.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadSeed {
    pub id: i64,
    pub contact_id: i64,
    pub owner_id: i64,
    pub title: String,
    pub description: String,
    pub status: &'static str,
    pub source: &'static str,
    pub budget_cents: Option<i64>,
    pub expected_decision: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

/// A deal to create.
#[derive(Debug, Clone, PartialEq)]
pub struct DealSeed {
    pub id: i64,
    pub contact_id: i64,
    pub lead_id: Option<i64>,
    pub owner_id: i64,
    pub title: String,
    pub value_cents: i64,
    pub stage: &'static str,
    pub status: &'static str,
    pub expected_close: Option<NaiveDate>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An activity to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivitySeed {
    pub kind: &'static str,
    pub lead_id: i64,
    pub contact_id: i64,
    pub user_id: i64,
    pub subject: Option<&'static str>,
    pub body: Option<&'static str>,
    pub duration_seconds: Option<i64>,
    pub occurred_at: DateTime<Utc>,
}

/// The first ids to use, so generated rows can reference each other without
/// asking the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdBase {
    pub user: i64,
    pub contact: i64,
    pub lead: i64,
    pub deal: i64,
}

/// One organization's people: users and contacts.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgPeople {
    pub name: String,
    pub users: Vec<UserSeed>,
    pub contacts: Vec<ContactSeed>,
}

/// A slice of one organization's leads with their deals and activities.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeadChunk {
    pub leads: Vec<LeadSeed>,
    pub deals: Vec<DealSeed>,
    pub activities: Vec<ActivitySeed>,
}

/// The expected monthly revenue (in cents) of won deals the generator aims
/// at, month by month from [`SeedSpec::start_month`]: the "true curve" that
/// forecasts of the demo data can be checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub start: NaiveDate,
    pub expected_revenue_cents: Vec<f64>,
}

const STREAM_PEOPLE: u64 = 1;
const STREAM_LEADS: u64 = 2;
/// Which unconverted leads are the current pipeline: its own stream, so the
/// rest of the data (deals, outcomes, activities' counts) is the same with or
/// without it.
const STREAM_PIPELINE: u64 = 3;
/// Share of the leads without a deal that are recent and still being worked.
const CURRENT_SHARE: f64 = 0.25;
/// How far back the current pipeline's leads were created, in days.
const CURRENT_DAYS: i64 = 75;
/// How much faster than the others the current pipeline gathers activities.
const CURRENT_PACE: f64 = 5.0;
/// Share of old unconverted leads a team has since closed as unqualified.
const STALE_CLOSED: f64 = 0.7;

/// The company-size factor of deal values (bigger companies buy bigger).
fn value_median_cents(size: i64) -> f64 {
    800_000.0 * (1.0 + (size as f64).log10())
}

/// Generates organization `g`'s users and contacts (g is 1-based and global:
/// it names the admin login `admin@org<g>.example`).
pub fn people(spec: &SeedSpec, g: u32, ids: IdBase) -> OrgPeople {
    let mut r = Rng::new(spec.seed, (g as u64) << 8 | STREAM_PEOPLE);
    let org_name = format!(
        "{}{} {}",
        r.pick(COMPANY_HEADS),
        r.pick(COMPANY_TAILS),
        ["Group", "Inc", "Ltd", "Co"][g as usize % 4]
    );
    let mut users = vec![UserSeed {
        id: ids.user,
        email: format!("admin@org{g}.example"),
        name: "Demo Admin".into(),
        role: "admin",
    }];
    for i in 1..6 {
        let (f, l) = (*r.pick(FIRST_NAMES), *r.pick(LAST_NAMES));
        users.push(UserSeed {
            id: ids.user + i,
            email: format!(
                "{}.{}{}@org{g}.example",
                f.to_lowercase(),
                l.to_lowercase(),
                i
            ),
            name: format!("{f} {l}"),
            role: if i == 1 { "manager" } else { "rep" },
        });
    }
    let start = spec.start_month();
    let span = (first_of_month(spec.anchor) - start).num_seconds().max(1);
    let contacts = (0..spec.contacts as i64)
        .map(|i| {
            let industry = *r.weighted(INDUSTRY_WEIGHTS);
            let suffixes = INDUSTRY_SUFFIX
                .iter()
                .find(|(n, _)| *n == industry)
                .map(|(_, s)| *s)
                .unwrap_or(&["Co"]);
            let company = format!(
                "{}{} {}",
                r.pick(COMPANY_HEADS),
                r.pick(COMPANY_TAILS),
                r.pick(suffixes)
            );
            let (lo, hi) = *r.weighted(SIZES);
            let title_idx = {
                let weights: Vec<(usize, f64)> =
                    TITLES.iter().enumerate().map(|(i, t)| (i, t.2)).collect();
                *r.weighted(&weights)
            };
            let (seniority, job_title, _) = TITLES[title_idx];
            let (first, last) = (*r.pick(FIRST_NAMES), *r.pick(LAST_NAMES));
            let domain = company
                .split(' ')
                .next()
                .unwrap_or("example")
                .to_lowercase();
            ContactSeed {
                id: ids.contact + i,
                first_name: first,
                last_name: last,
                email: format!(
                    "{}.{}.{}@{}.example.com",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    i,
                    domain
                ),
                phone: format!("+1 555 {:03} {:04}", r.range(100, 999), r.range(0, 9999)),
                company,
                job_title,
                industry,
                company_size: r.range(lo, hi),
                owner_id: users[r.range(1, 5) as usize].id,
                created_at: at(start, r.range(0, span)),
                seniority,
            }
        })
        .collect();
    OrgPeople {
        name: org_name,
        users,
        contacts,
    }
}

/// The hidden per-lead state the chunks are generated from.
struct LeadPlan {
    contact: usize,
    engagement: f64,
    has_deal: bool,
}

/// Generates organization `g`'s leads, deals and activities in chunks of
/// `chunk` leads, calling `sink` with each (in order; ids ascending).
pub fn leads(
    spec: &SeedSpec,
    g: u32,
    people: &OrgPeople,
    ids: IdBase,
    chunk: usize,
    mut sink: impl FnMut(LeadChunk),
) {
    if spec.leads == 0 || people.contacts.is_empty() {
        return;
    }
    let mut r = Rng::new(spec.seed, (g as u64) << 8 | STREAM_LEADS);
    let mut pipeline = Rng::new(spec.seed, (g as u64) << 8 | STREAM_PIPELINE);
    let n = spec.leads as usize;
    let deals_with_lead = (spec.deals as usize).min(n);
    // Which leads become deals: a partial Fisher–Yates shuffle.
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in 0..deals_with_lead {
        let j = r.range(i as i64, n as i64 - 1) as usize;
        order.swap(i, j);
    }
    let mut has_deal = vec![false; n];
    for &i in &order[..deals_with_lead] {
        has_deal[i as usize] = true;
    }
    drop(order);
    let plans: Vec<LeadPlan> = (0..n)
        .map(|i| LeadPlan {
            contact: r.range(0, people.contacts.len() as i64 - 1) as usize,
            engagement: r.normal(),
            has_deal: has_deal[i],
        })
        .collect();
    drop(has_deal);
    // The current pipeline: unconverted leads still worked now, mostly the
    // engaged ones with a senior contact at a sizeable company (a team
    // disqualifies the others along the way).
    let current: Vec<bool> = plans
        .iter()
        .map(|p| {
            let c = &people.contacts[p.contact];
            let promise = 1.5 * p.engagement
                + 0.5 * (c.seniority as f64 - 1.5)
                + 0.5 * ((c.company_size.max(1) as f64).log10() - 2.0);
            let odds = 2.0 / (1.0 + (-promise).exp());
            !p.has_deal && pipeline.chance(CURRENT_SHARE * odds)
        })
        .collect();
    // Activities are shared out in proportion to engagement, exactly; a lead
    // being worked now gathers them faster.
    let weights: Vec<f64> = plans
        .iter()
        .zip(&current)
        .map(|(p, &now)| (0.9 * p.engagement).exp() * if now { CURRENT_PACE } else { 1.0 })
        .collect();
    let mut weight_left: f64 = weights.iter().sum();
    let mut activities_left = spec.activities;

    let start = spec.start_month();
    let months: Vec<(NaiveDate, f64)> = (0..spec.months)
        .map(|t| {
            let m = add_months(start, t as i32);
            (m, month_intensity(m.month(), t))
        })
        .collect();
    let anchor = at(first_of_month(spec.anchor), 0);
    // The current pipeline is worked up to the anchor day itself.
    let today = at(spec.anchor, 0);
    let reps: Vec<i64> = people.users.iter().skip(1).map(|u| u.id).collect();

    let mut out = LeadChunk::default();
    let mut deal_id = ids.deal;
    for (i, plan) in plans.iter().enumerate() {
        let c = &people.contacts[plan.contact];
        let id = ids.lead + i as i64;
        let owner = *r.pick(&reps);

        // Wording and budget.
        let urgent = r.chance(0.25);
        let budget_words = r.chance(0.3);
        let hesitant = !urgent && !budget_words && r.chance(0.3);
        let stated_budget = budget_words && r.chance(0.8) || r.chance(0.25);
        let median = value_median_cents(c.company_size);
        let budget_cents = stated_budget
            .then(|| ((median * (0.5 * r.normal()).exp()) / 100.0).round() as i64 * 100);
        let product = *r.pick(PRODUCTS);
        let mut description = r
            .pick(NEEDS)
            .replace("{p}", product)
            .replace("{n}", &r.range(2, 12).to_string());
        if urgent {
            let urgency: &&str = r.pick(URGENCY);
            description.push_str(urgency);
        }
        if budget_words {
            let b = format!("${}k", budget_cents.unwrap_or(median as i64) / 100_000);
            description.push_str(&r.pick(BUDGET).replace("{b}", &b));
        }
        if hesitant {
            let hesitation: &&str = r.pick(HESITANT);
            description.push_str(hesitation);
        }

        // Hidden quality: the features a scorer can see, plus engagement.
        let industry_effect = match c.industry {
            "technology" => 0.9,
            "healthcare" => 0.7,
            "finance" => 0.5,
            "manufacturing" => 0.3,
            "retail" => 0.1,
            "education" => -0.1,
            "government" => -0.3,
            "nonprofit" => -0.5,
            _ => -0.4,
        };
        let logit = -1.6
            + industry_effect
            + 0.35 * c.seniority as f64
            + 0.15 * (c.company_size as f64).log10()
            + if budget_words { 0.6 } else { 0.0 }
            + if stated_budget { 0.3 } else { 0.0 }
            + if urgent { 0.4 } else { 0.0 }
            + if hesitant { -0.6 } else { 0.0 }
            + 0.8 * plan.engagement
            + 0.5 * r.normal();
        let p_win = 1.0 / (1.0 + (-logit).exp());

        // Timing: deals close in months drawn from the revenue curve.
        let (created_at, end_at, status, deal) = if plan.has_deal {
            let open = r.chance(0.12);
            let cycle_days = r.range(14, 60) + (c.company_size as f64).log10() as i64 * 15;
            if open {
                let created = anchor - Duration::days(r.range(5, 90));
                let expected = (anchor + Duration::days(r.range(10, 120))).date_naive();
                let stage = *r.pick(&["prospecting", "qualification", "proposal", "negotiation"]);
                (
                    created,
                    anchor,
                    "converted",
                    Some((stage, "open", None, Some(expected))),
                )
            } else {
                let won = r.chance(p_win);
                let month = *r.weighted(&months);
                let closed = at(month, r.range(0, days_in_month(month) * 86_400 - 1));
                let created = closed - Duration::days(cycle_days);
                let (stage, st) = if won {
                    ("closed_won", "won")
                } else {
                    ("closed_lost", "lost")
                };
                (
                    created,
                    closed,
                    "converted",
                    Some((stage, st, Some(closed), None)),
                )
            }
        } else {
            let month = *r.weighted(&months);
            let mut created = at(month, r.range(0, days_in_month(month) * 86_400 - 1));
            let age_days = (anchor - created).num_days();
            let mut status = if age_days > 180 {
                *r.pick(&["unqualified", "unqualified", "contacted", "qualified"])
            } else {
                *r.pick(&["new", "new", "contacted", "qualified", "unqualified"])
            };
            let mut end = (created + Duration::days(120)).min(anchor);
            if current[i] {
                // A lead of the current pipeline: recent, open, and worked
                // until today, so the hottest of them are hot now.
                created = today - Duration::seconds(pipeline.range(3_600, CURRENT_DAYS * 86_400));
                end = today;
                status = *pipeline.pick(&["new", "contacted", "contacted", "qualified"]);
            } else if status != "unqualified" && age_days > 120 && pipeline.chance(STALE_CLOSED) {
                // Old and never converted: most teams have closed it by now.
                status = "unqualified";
            }
            (created, end, status, None)
        };
        let mut expected_decision =
            (r.chance(0.6)).then(|| (created_at + Duration::days(r.range(20, 150))).date_naive());
        if current[i] {
            // A lead worked now has its decision ahead of it (soon once
            // qualified), and the further along, the more it shows buying
            // signals.
            let (soon, later) = if status == "qualified" {
                (3, 30)
            } else {
                (7, 75)
            };
            expected_decision = pipeline
                .chance(0.7)
                .then(|| (today + Duration::days(pipeline.range(soon, later))).date_naive());
            let signals = match status {
                "qualified" => 0.8,
                "contacted" => 0.3,
                _ => 0.0,
            };
            if pipeline.chance(signals) {
                let signal: &&str = pipeline.pick(BUYING_SIGNALS);
                description.push_str(signal);
            }
        }

        let source: &&str = r.weighted(SOURCES);
        out.leads.push(LeadSeed {
            id,
            contact_id: c.id,
            owner_id: owner,
            title: format!("{} – {}", c.company, product),
            description,
            status,
            source,
            budget_cents,
            expected_decision,
            created_at,
        });
        if let Some((stage, st, closed_at, expected_close)) = deal {
            out.deals.push(DealSeed {
                id: deal_id,
                contact_id: c.id,
                lead_id: Some(id),
                owner_id: owner,
                title: format!("{} {}", c.company, product),
                value_cents: ((median * (0.6 * r.normal()).exp()) as i64).max(10_000),
                stage,
                status: st,
                expected_close,
                closed_at,
                created_at,
            });
            deal_id += 1;
        }

        // Activities.
        let count = if i + 1 == n {
            activities_left
        } else {
            let expected = activities_left as f64 * weights[i] / weight_left;
            let base = expected.floor();
            let k = base as u64 + u64::from(r.chance(expected - base));
            k.min(activities_left)
        };
        weight_left -= weights[i];
        activities_left -= count;
        let tone = match deal.map(|d| d.1) {
            Some("won") => [0.55, 0.35, 0.10],
            Some("lost") => [0.15, 0.35, 0.50],
            _ => [0.30, 0.50, 0.20],
        };
        let window = (end_at - created_at).num_seconds().max(3600);
        for _ in 0..count {
            let kind = *r.weighted(&[
                ("email_open", 30.0),
                ("email_click", 12.0),
                ("website_visit", 20.0),
                ("email_sent", 15.0),
                ("call", 8.0),
                ("meeting", 4.0),
                ("note", 6.0),
                ("email_received", 5.0),
            ]);
            let text = |r: &mut Rng| {
                let x = r.f64();
                if x < tone[0] {
                    *r.pick(POSITIVE)
                } else if x < tone[0] + tone[1] {
                    *r.pick(NEUTRAL)
                } else {
                    *r.pick(NEGATIVE)
                }
            };
            let (subject, body, duration) = match kind {
                "website_visit" => (
                    None,
                    None,
                    Some(((240.0 * (0.9 * r.normal()).exp()) as i64).clamp(5, 7200)),
                ),
                "call" => (
                    Some(*r.pick(CALL_SUBJECTS)),
                    Some(text(&mut r)),
                    Some(r.range(120, 2400)),
                ),
                "meeting" => (
                    Some(*r.pick(MEETING_SUBJECTS)),
                    Some(text(&mut r)),
                    Some(r.range(1800, 5400)),
                ),
                "note" => (None, Some(text(&mut r)), None),
                "email_received" => (Some(*r.pick(EMAIL_SUBJECTS)), Some(text(&mut r)), None),
                "email_sent" => (Some(*r.pick(EMAIL_SUBJECTS)), Some(*r.pick(NEUTRAL)), None),
                _ => (None, None, None),
            };
            out.activities.push(ActivitySeed {
                kind,
                lead_id: id,
                contact_id: c.id,
                user_id: owner,
                subject,
                body,
                duration_seconds: duration,
                occurred_at: created_at + Duration::seconds(r.range(0, window)),
            });
        }
        if out.leads.len() >= chunk {
            sink(std::mem::take(&mut out));
        }
    }
    // Deals beyond the number of leads have no lead.
    for k in 0..(spec.deals as usize).saturating_sub(n) {
        let c = &people.contacts[r.range(0, people.contacts.len() as i64 - 1) as usize];
        let month = *r.weighted(&months);
        let closed = at(month, r.range(0, days_in_month(month) * 86_400 - 1));
        let won = r.chance(0.35);
        out.deals.push(DealSeed {
            id: deal_id + k as i64,
            contact_id: c.id,
            lead_id: None,
            owner_id: *r.pick(&reps),
            title: format!("{} renewal", c.company),
            value_cents: ((value_median_cents(c.company_size) * (0.6 * r.normal()).exp()) as i64)
                .max(10_000),
            stage: if won { "closed_won" } else { "closed_lost" },
            status: if won { "won" } else { "lost" },
            expected_close: None,
            closed_at: Some(closed),
            created_at: closed - Duration::days(30),
        });
    }
    if !out.leads.is_empty() || !out.deals.is_empty() {
        sink(out);
    }
}

/// The revenue curve won deals of organization `g` were drawn from, scaled to
/// the expected number and value of its won deals.
pub fn truth(spec: &SeedSpec, won_deals: usize, mean_won_value_cents: f64) -> Truth {
    let start = spec.start_month();
    let w: Vec<f64> = (0..spec.months)
        .map(|t| month_intensity(add_months(start, t as i32).month(), t))
        .collect();
    let total: f64 = w.iter().sum();
    Truth {
        start,
        expected_revenue_cents: w
            .iter()
            .map(|x| x / total * won_deals as f64 * mean_won_value_cents)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SeedSpec {
        SeedSpec {
            orgs: 1,
            contacts: 200,
            leads: 500,
            deals: 300,
            activities: 5_000,
            months: 24,
            seed: 7,
            anchor: NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
        }
    }

    fn all_chunks(spec: &SeedSpec) -> (OrgPeople, LeadChunk) {
        let ids = IdBase {
            user: 1,
            contact: 1,
            lead: 1,
            deal: 1,
        };
        let p = people(spec, 1, ids);
        let mut all = LeadChunk::default();
        leads(spec, 1, &p, ids, 64, |c| {
            all.leads.extend(c.leads);
            all.deals.extend(c.deals);
            all.activities.extend(c.activities);
        });
        (p, all)
    }

    #[test]
    fn same_seed_same_rows_and_another_seed_others() {
        let (p1, a1) = all_chunks(&spec());
        let (p2, a2) = all_chunks(&spec());
        assert_eq!(p1, p2);
        assert_eq!(a1, a2);
        let (_, a3) = all_chunks(&SeedSpec { seed: 8, ..spec() });
        assert_ne!(a1.leads, a3.leads);
    }

    #[test]
    fn counts_are_exact() {
        let s = spec();
        let (p, a) = all_chunks(&s);
        assert_eq!(p.contacts.len(), 200);
        assert_eq!(a.leads.len(), 500);
        assert_eq!(a.deals.len(), 300);
        assert_eq!(a.activities.len(), 5_000);
        let ids: std::collections::HashSet<_> = a.leads.iter().map(|l| l.id).collect();
        assert_eq!(ids.len(), 500);
        assert!(
            a.deals
                .iter()
                .all(|d| d.lead_id.is_none_or(|l| ids.contains(&l)))
        );
    }

    #[test]
    fn history_stays_inside_the_window() {
        let s = spec();
        let (_, a) = all_chunks(&s);
        let end = at(first_of_month(s.anchor), 0);
        for d in a.deals.iter().filter(|d| d.status != "open") {
            let closed = d.closed_at.unwrap();
            assert!(closed < end && closed >= at(s.start_month(), 0), "{closed}");
        }
        // Only the current pipeline is worked past the first of the month,
        // and nothing is later than the anchor day.
        let today = at(s.anchor, 0);
        let open: std::collections::HashSet<i64> = a
            .leads
            .iter()
            .filter(|l| matches!(l.status, "new" | "contacted" | "qualified"))
            .map(|l| l.id)
            .collect();
        for act in &a.activities {
            assert!(act.occurred_at <= today);
            assert!(act.occurred_at <= end || open.contains(&act.lead_id));
        }
    }

    #[test]
    fn the_current_pipeline_is_open_recent_and_worked_until_today() {
        // The leads a team works now: a share of the unconverted ones, open,
        // created in the last weeks, with activity up to the anchor day and
        // buying signals in the qualified ones, so the demo has hot leads
        // to call today; old unconverted leads are mostly closed.
        let s = spec();
        let (_, a) = all_chunks(&s);
        let today = at(s.anchor, 0);
        let recent = today - Duration::days(CURRENT_DAYS);
        let converted: std::collections::HashSet<i64> =
            a.deals.iter().filter_map(|d| d.lead_id).collect();
        let unconverted: Vec<&LeadSeed> = a
            .leads
            .iter()
            .filter(|l| !converted.contains(&l.id))
            .collect();
        let young: Vec<&&LeadSeed> = unconverted
            .iter()
            .filter(|l| l.created_at >= recent)
            .collect();
        let current: Vec<&&LeadSeed> = young
            .iter()
            .copied()
            .filter(|l| matches!(l.status, "new" | "contacted" | "qualified"))
            .collect();
        let share = current.len() as f64 / unconverted.len() as f64;
        assert!((0.15..0.45).contains(&share), "{share}");
        assert!(
            current.len() * 10 >= young.len() * 8,
            "most young leads are open"
        );
        let last_week = today - Duration::days(7);
        let worked = current
            .iter()
            .filter(|l| {
                a.activities
                    .iter()
                    .any(|x| x.lead_id == l.id && x.occurred_at >= last_week)
            })
            .count();
        assert!(worked * 2 > current.len(), "{worked} of {}", current.len());
        assert!(current.iter().any(|l| l.status == "qualified"
            && BUYING_SIGNALS.iter().any(|b| l.description.ends_with(b))));
        let old_open = unconverted
            .iter()
            .filter(|l| l.created_at < today - Duration::days(180))
            .filter(|l| l.status != "unqualified")
            .count() as f64;
        let old = unconverted
            .iter()
            .filter(|l| l.created_at < today - Duration::days(180))
            .count() as f64;
        assert!(
            old_open / old < 0.3,
            "{old_open} of {old} old leads still open"
        );
    }

    #[test]
    fn outcomes_depend_on_the_lead() {
        // Won deals come from more senior contacts and more engaged leads.
        let s = SeedSpec {
            contacts: 2_000,
            leads: 6_000,
            deals: 4_000,
            activities: 60_000,
            ..spec()
        };
        let (p, a) = all_chunks(&s);
        let seniority =
            |cid: i64| p.contacts.iter().find(|c| c.id == cid).unwrap().seniority as f64;
        let mut acts = std::collections::HashMap::<i64, usize>::new();
        for x in &a.activities {
            *acts.entry(x.lead_id).or_default() += 1;
        }
        let mean = |status: &str, f: &dyn Fn(&DealSeed) -> f64| {
            let v: Vec<f64> = a
                .deals
                .iter()
                .filter(|d| d.status == status)
                .map(f)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let sen_won = mean("won", &|d| seniority(d.contact_id));
        let sen_lost = mean("lost", &|d| seniority(d.contact_id));
        let act_won = mean("won", &|d| {
            *acts.get(&d.lead_id.unwrap()).unwrap_or(&0) as f64
        });
        let act_lost = mean("lost", &|d| {
            *acts.get(&d.lead_id.unwrap()).unwrap_or(&0) as f64
        });
        assert!(sen_won > sen_lost + 0.2, "{sen_won} vs {sen_lost}");
        assert!(act_won > act_lost * 1.3, "{act_won} vs {act_lost}");
    }

    #[test]
    fn revenue_follows_the_seasonal_curve() {
        let s = SeedSpec {
            contacts: 2_000,
            leads: 20_000,
            deals: 20_000,
            activities: 0,
            months: 24,
            ..spec()
        };
        let (_, a) = all_chunks(&s);
        let mut by_month = [0usize; 12];
        for d in a.deals.iter().filter(|d| d.status == "won") {
            by_month[d.closed_at.unwrap().month0() as usize] += 1;
        }
        assert!(
            by_month[11] as f64 > by_month[5] as f64 * 1.4,
            "{by_month:?}"
        );
    }
}

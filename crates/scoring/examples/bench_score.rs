//! Micro benchmark of the engine alone: scores 1,000,000 synthetic leads and
//! prints leads per second. The batch scorer's end-to-end figure (SQL
//! aggregates → engine → bulk write-back) must stay above 100,000 leads/s;
//! this shows how small a share of that budget the engine takes.
//!
//! ```text
//! cargo run --release -p neuracrm-scoring --example bench_score [-- N [THREADS]]
//! ```
//!
//! Deterministic input (a fixed linear congruential generator), so two runs
//! score the same leads. Facts are built before the clock starts.

use chrono::{Duration, TimeZone, Utc};
use neuracrm_scoring::{
    IntentAssessment, IntentSource, LeadFacts, OfflineIntent, Scorer, ScoringConfig,
};
use std::hint::black_box;
use std::time::Instant;

const INDUSTRIES: &[&str] = &[
    "Computer Software",
    "Hospital & Health Care",
    "Financial Services",
    "Manufacturing",
    "Retail",
    "Higher Education",
    "Government Administration",
    "Non-Profit",
    "Hospitality",
    "",
];
const TITLES: &[&str] = &[
    "CEO",
    "VP Engineering",
    "Director of IT",
    "Product Manager",
    "Software Engineer",
    "Executive Assistant to the CEO",
    "Head of Procurement",
    "Co-Founder & CTO",
    "Analyst",
    "",
];
const DESCRIPTIONS: &[&str] = &[
    "Looking for a CRM to replace spreadsheets; budget approved, need it ASAP.",
    "Just browsing, not interested in a call right now.",
    "Evaluating three vendors, want a demo and pricing for 40 seats. Decision this quarter.",
    "Inbound from webinar. No budget yet, maybe next year.",
    "Renewal of existing contract, funds allocated, go-live in March.",
    "",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let offline = OfflineIntent::new();
    let mut rng = Lcg(42);
    let pick = |rng: &mut Lcg, xs: &[&str]| {
        let s = xs[rng.below(xs.len() as u64) as usize];
        (!s.is_empty()).then(|| s.to_owned())
    };
    // Intent is assessed before scoring (an LLM call or the offline table);
    // precompute it per description, as the cache would.
    let intents: Vec<IntentAssessment> = DESCRIPTIONS
        .iter()
        .map(|d| offline.assess_text(d))
        .collect();
    let facts: Vec<LeadFacts> = (0..n)
        .map(|_| {
            let d = rng.below(DESCRIPTIONS.len() as u64) as usize;
            LeadFacts {
                industry: pick(&mut rng, INDUSTRIES),
                company_size: (rng.below(5) > 0).then(|| rng.below(20_000) as u32),
                job_title: pick(&mut rng, TITLES),
                budget_cents: (rng.below(3) > 0).then(|| rng.below(50_000_000) as i64),
                title: Some("Inbound lead".to_owned()),
                description: (!DESCRIPTIONS[d].is_empty()).then(|| DESCRIPTIONS[d].to_owned()),
                expected_decision: (rng.below(2) > 0)
                    .then(|| now.date_naive() + Duration::days(rng.below(200) as i64 - 20)),
                activity_count: rng.below(60) as u32,
                email_opens: rng.below(20) as u32,
                email_clicks: rng.below(8) as u32,
                website_seconds: rng.below(4_000),
                last_activity_at: (rng.below(4) > 0)
                    .then(|| now - Duration::hours(rng.below(24 * 60) as i64)),
                intent: Some(if DESCRIPTIONS[d].is_empty() {
                    intents[d]
                } else {
                    IntentAssessment {
                        cached: true,
                        ..IntentAssessment::answered(intents[d].intent, IntentSource::Offline)
                    }
                }),
            }
        })
        .collect();
    let built = Instant::now();
    let scorer = match Scorer::new(&ScoringConfig::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };

    println!(
        "Scorer::new (validate + compile the industry table): {:.3} ms",
        built.elapsed().as_secs_f64() * 1e3
    );

    // Warm-up (page in the facts, build the lazily compiled phrase tables).
    for f in facts.iter().take(10_000) {
        black_box(scorer.score(black_box(f), now));
    }

    let started = Instant::now();
    let cpu_before = thread_cpu_ns();
    let checksum: f64 = if threads == 1 {
        // On this thread, so that its CPU time can be read as well.
        facts
            .iter()
            .map(|f| black_box(scorer.score(black_box(f), now)).total)
            .sum()
    } else {
        std::thread::scope(|s| {
            let chunk = n.div_ceil(threads).max(1);
            let handles: Vec<_> = facts
                .chunks(chunk)
                .map(|part| {
                    let scorer = &scorer;
                    s.spawn(move || {
                        part.iter()
                            .map(|f| black_box(scorer.score(black_box(f), now)).total)
                            .sum::<f64>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
        })
    };
    let elapsed = started.elapsed();
    let cpu = match (cpu_before, thread_cpu_ns()) {
        (Some(a), Some(b)) if threads == 1 && b > a => Some((b - a) as f64 / 1e9),
        _ => None,
    };
    let per_second = n as f64 / elapsed.as_secs_f64();
    println!(
        "scored {n} leads on {threads} thread(s) in {:.3} s wall: {:.0} leads/s; mean total {:.2}",
        elapsed.as_secs_f64(),
        per_second,
        checksum / n as f64,
    );
    if let Some(cpu) = cpu {
        // On a shared machine the wall clock includes time spent waiting for
        // a core; the thread's own CPU time does not.
        println!(
            "CPU time of the scoring thread {cpu:.3} s: {:.0} leads/s per core ({:.2} µs/lead)",
            n as f64 / cpu,
            cpu * 1e6 / n as f64
        );
    }
}

/// CPU time consumed by the current thread, from Linux's schedstat.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

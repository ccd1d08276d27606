//! `serve` and `demo`.

use anyhow::{Context, Result, bail};
use neuracrm_domain::Role;
use neuracrm_server::{App, Secret, Settings};
use neuracrm_store::Page;
use neuracrm_store::seed::{SeedSpec, seed, today};

use super::open_store;

/// The demo's database when no `--db` is given.
pub const DEMO_DB: &str = "sqlite://neuracrm-demo.db";
/// Months of past forecast runs the demo's first run replays.
const DEMO_FORECAST_MONTHS: u32 = 12;

pub async fn serve(settings: Settings) -> Result<()> {
    if settings
        .jwt_secret
        .as_ref()
        .is_none_or(|s| s.expose().len() < 16)
    {
        bail!(
            "no JWT secret: set NEURACRM_JWT_SECRET (at least 16 characters) or jwt_secret in the \
             configuration file; `neuracrm demo` runs without one"
        );
    }
    let store = open_store(&settings).await?;
    run(settings, store).await
}

pub async fn demo(mut settings: Settings, db_given: bool) -> Result<()> {
    if !db_given && std::env::var_os("NEURACRM_DATABASE_URL").is_none() {
        settings.database_url = DEMO_DB.into();
    }
    if settings.jwt_secret.is_none() {
        // A fresh random key per run: demo tokens die with the process.
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| anyhow::anyhow!("reading OS randomness for the demo signing key: {e}"))?;
        settings.jwt_secret = Some(Secret::new(
            key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        ));
    }
    let store = open_store(&settings).await?;
    let orgs = store.organizations().ids().await?;
    if orgs.is_empty() {
        eprintln!(
            "creating demo data in {} (first run only)...",
            settings.database_url
        );
        let report = seed(
            &store,
            &SeedSpec::demo(today()),
            &neuracrm_domain::password::hash,
            |_| {},
        )
        .await?;
        eprintln!(
            "  {} organizations, {} contacts, {} leads, {} deals, {} activities in {:.1} s",
            report.organizations.len(),
            report.contacts,
            report.leads,
            report.deals,
            report.activities,
            report.seconds
        );
        // The subscriber only sees activities logged through the API; the
        // seeded ones get their sentiment here, so the summaries have data.
        let service =
            neuracrm_jobs::sentiment::SentimentService::new(settings.sentiment_model.clone());
        let s = neuracrm_jobs::sentiment::backfill(&store, &service, &Default::default(), |_| {})
            .await
            .context("analysing the demo activities' sentiment")?;
        eprintln!(
            "  sentiment of {} activities in {:.1} s",
            s.counts.analyzed, s.seconds
        );
        // A year of stored forecasts, as a deployment running since then
        // would hold: the forecast page's accuracy by horizon has content.
        let started = std::time::Instant::now();
        let quiet = neuracrm_events::BroadcastBus::new(16);
        let runs = neuracrm_jobs::forecasting::replay(
            &store,
            &quiet,
            &Default::default(),
            DEMO_FORECAST_MONTHS,
        )
        .await
        .context("storing the demo's past forecasts")?;
        eprintln!(
            "  {} monthly forecast runs replayed in {:.1} s",
            runs.len(),
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "demo logins (password {} for the seeded admins):",
        neuracrm_store::seed::DEMO_PASSWORD
    );
    // The organizations' admins as stored: an organization registered
    // since the seed has an admin of its own choosing.
    for id in store.organizations().ids().await? {
        let org = store.organizations().get(id).await?;
        let users = store
            .users()
            .list(id, Page::parse(Some(200), None)?)
            .await?;
        for admin in users.items.iter().filter(|u| u.role == Role::Admin) {
            println!("  {:<28} {}", org.name, admin.email);
        }
    }
    run(settings, store).await
}

async fn run(settings: Settings, store: neuracrm_store::Store) -> Result<()> {
    let bind = settings.bind.clone();
    let app = App::build(settings, store)
        .await
        .with_context(|| format!("starting the server on {bind}"))?;
    let addr = app.local_addr()?;
    println!("NeuraCRM is serving on http://{addr} (Ctrl-C to stop)");
    tracing::info!(%addr, "serving");
    app.run_until(neuracrm_server::startup::shutdown_signal())
        .await?;
    Ok(())
}

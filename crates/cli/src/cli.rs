//! The command line (clap). Flags are the top configuration layer.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

/// NeuraCRM: a CRM that scores, forecasts and listens.
#[derive(Debug, Parser)]
#[command(name = "neuracrm", version, about)]
pub struct Cli {
    /// Configuration file (optional; environment variables and flags override it).
    #[arg(long, global = true, default_value = "neuracrm.toml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command can override.
#[derive(Debug, Args, Serialize, Default)]
pub struct Common {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (env NEURACRM_DATABASE_URL).
    #[arg(long = "db", global = true)]
    #[serde(rename = "database_url", skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Address to listen on (env NEURACRM_BIND).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Log filter, e.g. info or neuracrm=debug (env NEURACRM_LOG).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and web UI (needs NEURACRM_JWT_SECRET).
    Serve,
    /// Serve a demo CRM from ./neuracrm-demo.db, created and filled on first run.
    Demo,
    /// Apply database migrations.
    Migrate,
    /// Copy a SQLite database to a new file, consistently, while servers go
    /// on writing to it (for PostgreSQL: print the pg_dump command to run).
    Backup(BackupArgs),
    /// Generate deterministic demo data (counts are per organization).
    Seed(SeedArgs),
    /// Score leads never scored, scored more than 7 days ago or changed since
    /// (every lead with --all), in chunks; prints
    /// {total_processed, successful, failed, seconds}.
    Score(ScoreArgs),
    /// Benchmark of batch scoring against the per-lead-query approach, and the
    /// score's quality on demo data (ROC AUC, won rate per category).
    #[command(name = "score-bench", hide = true)]
    ScoreBench(ScoreBenchArgs),
    /// Forecasting: the forecast cycle, cleanup, and measuring the engine.
    #[command(subcommand)]
    Forecast(ForecastCommand),
    /// Sentiment: VADER scores, training and evaluating a classifier, and the
    /// backfill of activities' stored sentiment.
    #[command(subcommand)]
    Sentiment(SentimentCommand),
    /// Customer segments: refresh the dynamic ones.
    #[command(subcommand)]
    Segments(SegmentsCommand),
    /// E-mail campaigns.
    #[command(subcommand)]
    Campaigns(CampaignsCommand),
    /// AI voice calls (Retell).
    #[command(subcommand)]
    Calls(CallsCommand),
}

#[derive(Debug, Subcommand)]
pub enum CallsCommand {
    /// Run again the effects of call events that failed (activity, the
    /// lead's BANT fields, score) once their backoff has passed; then ask
    /// Retell about every call still registered or ongoing past its
    /// agent's maximum duration (its webhooks were lost) and apply what it
    /// says as the webhooks would have: transcript, activity, analysis,
    /// the lead's BANT fields and score. Prints {checked, applied, queued,
    /// failed, retried: {done, failed}}.
    Sync {
        /// How long past its maximum duration a call is left before it is
        /// looked up, in seconds (default: retell.sync_grace_secs).
        #[arg(long)]
        grace_secs: Option<u64>,
        /// At most this many calls.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// Start the scheduled campaigns that are due and send until they are
    /// done (waiting for retries of temporary failures), through `smtp.url`;
    /// a progress bar on a terminal. Prints what was sent, retried, failed,
    /// bounced and taken over in doubt.
    Process(ProcessArgs),
    /// Benchmark (hidden): a campaign to every contact of the organization
    /// (personalised, links tracked) sent to an SMTP sink on a local port,
    /// messages/s end to end and peak memory, and the specification's
    /// approach (a query, one connection and a commit per message) on a
    /// sample for the ratio. Adds campaigns: run it on a benchmark database.
    #[command(hide = true)]
    Bench {
        /// The organization whose contacts are mailed.
        #[arg(long, default_value_t = 1)]
        org: i64,
        /// Recipients the baseline sends one at a time.
        #[arg(long, default_value_t = 2000)]
        baseline: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Only this organization (every organization when absent).
    #[arg(long)]
    pub org: Option<i64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    /// Re-evaluate every dynamic segment (of one organization with --org),
    /// writing only who entered and left, with one `segment_updated` event
    /// per changed segment; prints {organizations, segments, failed,
    /// entered, left, seconds}.
    Update {
        /// Only this organization.
        #[arg(long)]
        org: Option<i64>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Benchmark (hidden): the metrics of every contact in one statement
    /// against one statement per contact on a sample, and twenty dynamic
    /// segments created and refreshed. Adds segments named `bench …` to the
    /// organization: run it on a benchmark database.
    #[command(hide = true)]
    Bench {
        /// The organization measured.
        #[arg(long, default_value_t = 1)]
        org: i64,
        /// Contacts whose metrics the baseline reads one statement each
        /// (each also ranks every customer of the organization for RFM).
        #[arg(long, default_value_t = 50)]
        sample: u32,
        /// Rules the refresh's baseline evaluates one statement each (N of
        /// the twenty, evenly spread; its time is scaled to twenty).
        #[arg(long, default_value_t = 20)]
        baseline_rules: usize,
        /// Create the twenty segments without evaluating their rules (a
        /// full-size run would evaluate each on its own): their first
        /// refresh fills them, a second one finds nothing changed.
        #[arg(long)]
        empty_create: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SentimentCommand {
    /// Print `neg,neu,pos,compound` (4 decimals) for every row of a CSV, in order.
    Score {
        /// CSV file with a header row.
        #[arg(long)]
        csv: PathBuf,
        /// The column holding the text.
        #[arg(long, default_value = "text")]
        column: String,
    },
    /// Train a classifier on `text,label[,source]` rows (80/20 stratified split,
    /// held-out scores reported) and write a model file.
    Train {
        /// Labelled CSV.
        #[arg(long)]
        csv: PathBuf,
        /// Model file to write.
        #[arg(long)]
        out: PathBuf,
        /// `rf` (random forest) or `logreg`.
        #[arg(long, default_value = "rf")]
        algorithm: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Accuracy, macro-F1 and speed of VADER (and a model) on labelled rows.
    Eval {
        /// Labelled CSV (`text,label`).
        #[arg(long)]
        csv: PathBuf,
        /// A model file to evaluate beside VADER.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Print `{"results": [...]}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Analyse and store the sentiment of existing activities with customer
    /// text (notes, received e-mails, calls) that have none yet.
    Backfill {
        /// Only this organization (default: every organization).
        #[arg(long)]
        org: Option<i64>,
        /// Activities per chunk (one read and one write each).
        #[arg(long, default_value_t = 2_000)]
        chunk: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Analyse one text.
    Analyze {
        /// The text.
        text: String,
        /// A model file (VADER when absent).
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write; it must not exist (a backup never overwrites).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Only this organization (every organization when absent).
    #[arg(long)]
    pub org: Option<i64>,
    /// Rescore every lead, stale or not.
    #[arg(long)]
    pub all: bool,
    /// Print the summary as JSON (one object per run with --continuous).
    #[arg(long)]
    pub json: bool,
    /// Keep running: a batch every `scoring_interval_secs` (env
    /// NEURACRM_SCORING_INTERVAL_SECS), each claimed through the database so
    /// that several schedulers run it once. Stop with Ctrl-C.
    #[arg(long)]
    pub continuous: bool,
    /// Leads read, scored and written per chunk.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chunk: u32,
}

#[derive(Debug, Args)]
pub struct ScoreBenchArgs {
    /// Leads scored with the per-lead-query approach (two queries and one
    /// UPDATE per lead), spread evenly over the database.
    #[arg(long, default_value_t = 2_000)]
    pub sample: u32,
    /// Leads per chunk of the batch.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chunk: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Organizations to create.
    #[arg(long, default_value_t = 1)]
    pub orgs: u32,
    /// Contacts per organization.
    #[arg(long, default_value_t = 1_000)]
    pub contacts: u32,
    /// Leads per organization.
    #[arg(long, default_value_t = 2_000)]
    pub leads: u32,
    /// Deals per organization.
    #[arg(long, default_value_t = 800)]
    pub deals: u32,
    /// Activities per organization.
    #[arg(long, default_value_t = 20_000)]
    pub activities: u64,
    /// Months of history.
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    /// Random seed: the same seed (and anchor) always gives the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// History ends before this date's month (YYYY-MM-DD; default today).
    #[arg(long)]
    pub anchor: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// Fit every active forecasting model and store its results (replacing
    /// the same origin's), writing actuals beside earlier forecasts of closed
    /// months; fails (after the summary) when any model failed.
    Run {
        /// Only this organization.
        #[arg(long)]
        org: Option<i64>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete stored forecast results generated more than `days` days ago.
    Cleanup {
        /// Age in days of the oldest results kept.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Only this organization.
        #[arg(long)]
        org: Option<i64>,
        /// Print `{"deleted": N}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Hold out the last `h` points of every series of a `series_id,date,value`
    /// CSV, fit on the rest, and report sMAPE, MASE, 95% coverage, failures and
    /// milliseconds per series for each model.
    Eval {
        /// CSV with columns `series_id,date,value`.
        #[arg(long)]
        csv: PathBuf,
        /// Held-out points per series.
        #[arg(long, default_value_t = 18)]
        h: usize,
        /// Comma-separated models (ensemble, auto_arima, ets, ets_fast, theta,
        /// regression, prophet, seasonal_naive).
        #[arg(
            long,
            default_value = "ensemble,auto_arima,ets,theta,regression,prophet,seasonal_naive"
        )]
        models: String,
        /// Keep every K-th series, for quick samples.
        #[arg(long, default_value_t = 1)]
        every: usize,
        /// Worker threads (1: single-threaded timings).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

//! Runs the real `neuracrm` binary.

use std::process::{Command, Output};

fn neuracrm(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neuracrm"))
        .args(args)
        .current_dir(dir)
        .env_remove("NEURACRM_DATABASE_URL")
        .env_remove("NEURACRM_JWT_SECRET")
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn serve_refuses_to_start_without_a_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    let o = neuracrm(&["serve", "--db", "sqlite://x.db"], dir.path());
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("NEURACRM_JWT_SECRET"), "{err}");
}

#[test]
fn bad_database_urls_get_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = neuracrm(&["migrate", "--db", "mysql://nope"], dir.path());
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("unsupported database URL"), "{err}");

    // An unwritable SQLite location names the file.
    let o = neuracrm(
        &["migrate", "--db", "sqlite:///nonexistent-dir/sub/crm.db"],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("/nonexistent-dir/sub/crm.db"), "{err}");

    // An unreachable server names the server, never the password.
    let o = neuracrm(
        &["migrate", "--db", "postgres://app:hunter2@127.0.0.1:1/crm"],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("127.0.0.1:1") && !err.contains("hunter2"),
        "{err}"
    );
}

#[test]
fn seed_prints_logins_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "seed",
        "--db",
        "sqlite://a.db",
        "--orgs",
        "2",
        "--contacts",
        "20",
        "--leads",
        "40",
        "--deals",
        "15",
        "--activities",
        "200",
        "--months",
        "12",
        "--seed",
        "5",
        "--anchor",
        "2026-06-01",
    ];
    let o = neuracrm(&args, dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("admin@org1.example") && out.contains("admin@org2.example"),
        "{out}"
    );
    assert!(out.contains("80 leads"), "{out}");
    let o = neuracrm(
        &["seed", "--db", "sqlite://a.db", "--anchor", "June 1st"],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

#[test]
fn sentiment_score_prints_one_line_per_row_in_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "id,body\n1,\"Great call, they LOVE it!!\"\n2,\"The demo failed, they are unhappy\"\n3,\"Meeting moved to Tuesday\"\n",
    )
    .unwrap();
    let o = neuracrm(
        &["sentiment", "score", "--csv", "t.csv", "--column", "body"],
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    let compound = |l: &str| l.rsplit(',').next().unwrap().parse::<f64>().unwrap();
    assert!(
        compound(lines[0]) > 0.5 && compound(lines[1]) < -0.3 && compound(lines[2]) == 0.0,
        "{out}"
    );
    assert!(
        lines.iter().all(|l| l
            .split(',')
            .all(|x| x.split('.').nth(1).is_some_and(|d| d.len() == 4))),
        "{out}"
    );

    let o = neuracrm(
        &["sentiment", "score", "--csv", "t.csv", "--column", "nope"],
        dir.path(),
    );
    assert!(!o.status.success());
    let o = neuracrm(
        &[
            "sentiment",
            "eval",
            "--csv",
            "t.csv",
            "--model",
            "missing.model",
        ],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("missing.model"),
        "{err}"
    );
}

#[test]
fn forecast_eval_reports_every_model_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("series_id,date,value\n");
    for s in ["a", "b"] {
        for t in 0..60 {
            let season = [1.0, 1.1, 1.3, 0.9, 0.8, 1.0, 1.2, 1.4, 1.0, 0.9, 0.8, 1.2][t % 12];
            let v = (100.0 + 2.0 * t as f64) * season + if s == "b" { 50.0 } else { 0.0 };
            csv.push_str(&format!("{s},2000-{:02}-01,{v}\n", t % 12 + 1));
        }
    }
    std::fs::write(dir.path().join("s.csv"), csv).unwrap();
    let o = neuracrm(
        &[
            "forecast",
            "eval",
            "--csv",
            "s.csv",
            "--h",
            "12",
            "--models",
            "ensemble,seasonal_naive",
            "--json",
        ],
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["series"], 2);
    assert_eq!(v["h"], 12);
    let models: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["ensemble", "seasonal_naive"]);
    // A clean seasonal series with trend: the ensemble beats seasonal naive.
    let smape = |i: usize| v["models"][i]["smape_mean"].as_f64().unwrap();
    assert!(smape(0) < smape(1), "{out}");

    let o = neuracrm(&["forecast", "eval", "--csv", "missing.csv"], dir.path());
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("missing.csv"), "{err}");
}

#[test]
fn sentiment_backfill_analyses_existing_activities_once() {
    let dir = tempfile::tempdir().unwrap();
    let o = neuracrm(
        &[
            "seed",
            "--db",
            "sqlite://b.db",
            "--orgs",
            "2",
            "--contacts",
            "20",
            "--leads",
            "40",
            "--deals",
            "15",
            "--activities",
            "400",
            "--months",
            "6",
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let run = |args: &[&str]| {
        let mut all = vec!["sentiment", "backfill", "--db", "sqlite://b.db", "--json"];
        all.extend_from_slice(args);
        let o = neuracrm(&all, dir.path());
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let first = run(&["--org", "1", "--chunk", "50"]);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert_eq!(n(&first, "organizations"), 1);
    assert!(n(&first, "analyzed") > 0, "{first}");
    assert_eq!(
        n(&first, "negative") + n(&first, "neutral") + n(&first, "positive"),
        n(&first, "analyzed"),
        "{first}"
    );
    assert!(
        n(&first, "negative") > 0 && n(&first, "positive") > 0,
        "{first}"
    );
    assert_eq!(n(&first, "failed"), 0);
    // Everything else: organization 2 only, then nothing.
    let rest = run(&[]);
    assert_eq!(n(&rest, "organizations"), 2);
    assert!(n(&rest, "analyzed") > 0, "{rest}");
    assert_eq!(n(&run(&[]), "analyzed"), 0);

    let o = neuracrm(
        &[
            "sentiment",
            "backfill",
            "--db",
            "sqlite://b.db",
            "--org",
            "99",
        ],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("organization 99 not found"),
        "{err}"
    );
}

#[test]
fn forecast_run_stores_every_model_and_cleanup_deletes_old_results() {
    let dir = tempfile::tempdir().unwrap();
    let o = neuracrm(
        &[
            "seed",
            "--db",
            "sqlite://f.db",
            "--orgs",
            "2",
            "--contacts",
            "40",
            "--leads",
            "60",
            "--deals",
            "240",
            "--activities",
            "100",
            "--months",
            "24",
            "--seed",
            "7",
            "--anchor",
            "2026-06-01",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let run = |args: &[&str]| {
        let mut all = vec!["forecast", "run", "--db", "sqlite://f.db"];
        all.extend_from_slice(args);
        neuracrm(&all, dir.path())
    };
    let o = run(&["--json"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let models = summary["models"].as_array().unwrap();
    assert_eq!(
        models.len(),
        2,
        "the seed's model of each organization: {out}"
    );
    for m in models {
        assert_eq!(m["status"], "stored", "{m}");
        assert_eq!(m["periods"], 12, "{m}");
    }
    // Run again, one organization, as text: the same origin is replaced.
    let o = run(&["--org", "1"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("1 organizations, 1 models: 1 stored"), "{out}");
    let o = run(&["--org", "99"]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("organization not found"),
        "{}",
        text(&o).1
    );

    let cleanup = |days: &str| {
        neuracrm(
            &[
                "forecast",
                "cleanup",
                "--db",
                "sqlite://f.db",
                "--days",
                days,
                "--json",
            ],
            dir.path(),
        )
    };
    let o = cleanup("90");
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(text(&o).0.trim(), r#"{"deleted":0}"#);
    let o = cleanup("0");
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        text(&o).0.trim(),
        r#"{"deleted":24}"#,
        "12 months of 2 models, not 36"
    );
}

fn seed_small(dir: &std::path::Path, db: &str) {
    let o = neuracrm(
        &[
            "seed",
            "--db",
            db,
            "--orgs",
            "2",
            "--contacts",
            "30",
            "--leads",
            "60",
            "--deals",
            "20",
            "--activities",
            "300",
            "--months",
            "6",
            "--seed",
            "5",
            "--anchor",
            "2026-06-01",
        ],
        dir,
    );
    assert!(o.status.success(), "{}", text(&o).1);
}

fn summary(o: &Output) -> serde_json::Value {
    let (out, err) = text(o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {out}");
    serde_json::from_str(lines[0]).unwrap()
}

fn counts(v: &serde_json::Value) -> (i64, i64, i64) {
    assert!(v["seconds"].as_f64().unwrap() >= 0.0, "{v}");
    (
        v["total_processed"].as_i64().unwrap(),
        v["successful"].as_i64().unwrap(),
        v["failed"].as_i64().unwrap(),
    )
}

#[test]
fn score_scores_every_stale_lead_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    seed_small(dir.path(), &db);

    let first = summary(&neuracrm(&["score", "--db", &db, "--json"], dir.path()));
    assert_eq!(counts(&first), (120, 120, 0), "{first}");

    // The scores are stored, with a category and a history entry each.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (scored, categorized, history): (i64, i64, i64) = rt.block_on(async {
        let store = neuracrm_store::Store::open(&db, &Default::default())
            .await
            .unwrap();
        let one = |sql: &'static str| {
            let store = store.clone();
            async move {
                let (n,): (i64,) = store
                    .db()
                    .fetch_one(neuracrm_store::Sql::new(sql))
                    .await
                    .unwrap();
                n
            }
        };
        (
            one("SELECT CAST(COUNT(*) AS BIGINT) FROM leads WHERE score BETWEEN 0 AND 100").await,
            one("SELECT CAST(COUNT(*) AS BIGINT) FROM leads WHERE score_category IN ('hot', 'warm', 'lukewarm', 'cold')").await,
            one("SELECT CAST(COUNT(*) AS BIGINT) FROM lead_score_history").await,
        )
    });
    assert_eq!((scored, categorized, history), (120, 120, 120));

    // Nothing is stale any more; --all and --org narrow or widen the run.
    let again = summary(&neuracrm(&["score", "--db", &db, "--json"], dir.path()));
    assert_eq!(counts(&again), (0, 0, 0));
    let org2 = summary(&neuracrm(
        &["score", "--db", &db, "--org", "2", "--all", "--json"],
        dir.path(),
    ));
    assert_eq!(counts(&org2), (60, 60, 0));
    let o = neuracrm(&["score", "--db", &db], dir.path());
    let (out, _) = text(&o);
    assert!(
        o.status.success() && out.starts_with("scored 0 leads: 0 successful, 0 failed"),
        "{out}"
    );

    let o = neuracrm(&["score", "--db", &db, "--org", "99"], dir.path());
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("--org 99") && err.contains("not found"),
        "{err}"
    );
    let o = neuracrm(&["score", "--db", &db, "--chunk", "0"], dir.path());
    assert!(!o.status.success(), "a chunk of zero leads is refused");
}

#[test]
fn score_continuous_runs_a_batch_per_slot_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    seed_small(dir.path(), &db);
    let mut child = Command::new(env!("CARGO_BIN_EXE_neuracrm"))
        .args(["score", "--db", &db, "--continuous", "--json"])
        .current_dir(dir.path())
        .env_remove("NEURACRM_DATABASE_URL")
        .env("NEURACRM_SCORING_INTERVAL_SECS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let wait = std::time::Duration::from_secs(60);
    let first: serde_json::Value = serde_json::from_str(&rx.recv_timeout(wait).unwrap()).unwrap();
    // The next slot (a second later) finds nothing stale.
    let second: serde_json::Value = serde_json::from_str(&rx.recv_timeout(wait).unwrap()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(counts(&first), (120, 120, 0), "{first}");
    assert_eq!(counts(&second), (0, 0, 0), "{second}");
}

#[test]
fn score_bench_compares_both_approaches_on_the_same_leads() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("b.db").display());
    seed_small(dir.path(), &db);
    let o = neuracrm(
        &["score-bench", "--db", &db, "--sample", "20", "--json"],
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["leads"], 120);
    assert_eq!(
        (&r["batch"]["leads"], &r["batch"]["failed"]),
        (&json(120), &json(0))
    );
    assert_eq!(r["per_lead"]["leads"], 20);
    assert_eq!(
        r["agreement"], 20,
        "both approaches give the same scores: {r}"
    );
    assert!(r["ratio"].as_f64().unwrap() > 0.0);
    let q = &r["quality"];
    let won = q["won"].as_u64().unwrap();
    let lost = q["lost"].as_u64().unwrap();
    let by_category: u64 = q["won_rate_by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["won"].as_u64().unwrap() + c["lost"].as_u64().unwrap())
        .sum();
    assert_eq!(by_category, won + lost, "{q}");
    if won > 0 && lost > 0 {
        let auc = q["roc_auc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{q}");
    }

    let empty = format!("sqlite://{}", dir.path().join("empty.db").display());
    let o = neuracrm(&["score-bench", "--db", &empty], dir.path());
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("seed it first"),
        "{err}"
    );
}

fn json(n: i64) -> serde_json::Value {
    serde_json::Value::from(n)
}

#[test]
fn backup_copies_a_database_that_restores_with_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("live.db").display());
    seed_small(dir.path(), &db);
    let o = neuracrm(&["backup", "--db", &db, "--out", "copy.db"], dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("backed up") && out.contains("copy.db"),
        "{out}"
    );

    // Restore: the copy, opened as a database of its own, holds the same rows.
    let copy = format!("sqlite://{}", dir.path().join("copy.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let counts = |url: String| {
        rt.block_on(async move {
            let store = neuracrm_store::Store::open(&url, &Default::default())
                .await
                .unwrap();
            let mut counts = Vec::new();
            for table in [
                "organizations",
                "users",
                "contacts",
                "leads",
                "deals",
                "activities",
            ] {
                let (n,): (i64,) = store
                    .db()
                    .fetch_one(neuracrm_store::Sql::new(&format!(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"
                    )))
                    .await
                    .unwrap();
                counts.push((table, n));
            }
            store.db().close().await;
            counts
        })
    };
    let (source, restored) = (counts(db.clone()), counts(copy));
    assert_eq!(restored, source);
    assert_eq!(
        restored,
        [
            ("organizations", 2),
            ("users", 12),
            ("contacts", 60),
            ("leads", 120),
            ("deals", 40),
            ("activities", 600)
        ]
    );

    // An existing file is never overwritten.
    let before = std::fs::read(dir.path().join("copy.db")).unwrap();
    let o = neuracrm(&["backup", "--db", &db, "--out", "copy.db"], dir.path());
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("copy.db already exists") && err.contains("never overwrites"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.path().join("copy.db")).unwrap(), before);
}

#[test]
fn backup_refuses_what_it_cannot_copy_and_tells_how_to_dump_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let o = neuracrm(
        &["backup", "--db", "sqlite::memory:", "--out", "m.db"],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("in-memory database"), "{err}");
    let o = neuracrm(
        &["backup", "--db", "sqlite://missing.db", "--out", "m.db"],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("no SQLite database at missing.db"), "{err}");
    assert!(
        !dir.path().join("m.db").exists() && !dir.path().join("missing.db").exists(),
        "nothing was created"
    );

    // PostgreSQL: the pg_dump command, without the password; nothing copied.
    let o = neuracrm(
        &[
            "backup",
            "--db",
            "postgres://app:hunter2@db.example:6543/crm",
            "--out",
            "crm.dump",
        ],
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains(
            "pg_dump --format=custom --host=db.example --port=6543 --username=app \
             --dbname=crm --file=crm.dump"
        ),
        "{out}"
    );
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}{err}"
    );
    assert!(!dir.path().join("crm.dump").exists());
}

#[test]
fn segments_update_refreshes_dynamic_segments_and_writes_only_the_difference() {
    use neuracrm_domain::segments::{NewSegment, Rule, SegmentKind};
    let dir = tempfile::tempdir().unwrap();
    seed_small(dir.path(), "sqlite://s.db");
    // A dynamic segment of organization 1 saved with no members yet, and a
    // static one that the update must leave alone.
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rule = serde_json::json!({"field": "total_activities", "operand": "gte", "value": 1});
    rt.block_on(async {
        let store = neuracrm_store::Store::open(&url, &Default::default())
            .await
            .unwrap();
        for kind in [SegmentKind::Dynamic, SegmentKind::Static] {
            let new = NewSegment {
                name: "Active".into(),
                description: None,
                kind,
                rule: rule.clone(),
            };
            let parsed = Rule::parse(&rule).unwrap();
            store
                .segments()
                .create(
                    neuracrm_domain::OrgId(1),
                    None,
                    &new,
                    &parsed,
                    &[],
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
        }
        store.db().close().await;
    });
    let run = |args: &[&str]| {
        let mut all = vec!["segments", "update", "--db", "sqlite://s.db"];
        all.extend_from_slice(args);
        neuracrm(&all, dir.path())
    };
    let o = run(&["--json"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (s["organizations"].as_u64(), s["segments"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    assert!(s["entered"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(s["left"], 0, "{out}");
    // Nothing changed since: nothing is written.
    let o = run(&["--org", "1"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("1 segments of 1 organizations refreshed (0 failed): 0 entered, 0 left"),
        "{out}"
    );
    let o = run(&["--org", "99"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("--org 99"), "{}", text(&o).1);
}

#[path = "../../../server/tests/api/smtp_sink.rs"]
mod smtp_sink;

/// The issue's crash-safety test on the real binary: `campaigns process`
/// is killed with SIGKILL three times in the middle of a campaign and run
/// again until it ends. Every recipient gets the message; only messages in
/// flight at a kill (at most `smtp.connections` per kill) arrive twice, with
/// the same Message-ID; the run that takes over says which rows were in doubt.
#[test]
fn campaigns_process_killed_mid_send_skips_no_one_and_doubles_only_what_was_in_flight() {
    use std::collections::HashMap;
    use std::process::Stdio;

    const N: usize = 2_000;
    const CONNECTIONS: usize = 4;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/crm.db", dir.path().display());
    let sink = rt.block_on(smtp_sink::SmtpSink::start());
    let (org, campaign) = rt.block_on(campaign_of(&db, N));

    let run = || {
        Command::new(env!("CARGO_BIN_EXE_neuracrm"))
            .args(["campaigns", "process", "--db", &db, "--json"])
            .current_dir(dir.path())
            .env("NEURACRM_SMTP__URL", sink.url())
            .env("NEURACRM_SMTP__FROM", "sales@crm.example.com")
            .env("NEURACRM_SMTP__CONNECTIONS", CONNECTIONS.to_string())
            .env("NEURACRM_SMTP__LEASE_SECS", "1")
            .env(
                "NEURACRM_JWT_SECRET",
                "a-test-secret-of-enough-length-0123456789",
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs")
    };
    for kill in 1..=3 {
        let mut child = run();
        // A guard against a run that never gets there, not a timing.
        rt.block_on(async {
            tokio::select! {
                _ = sink.until_received(kill * N / 4) => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(300)) => panic!("stalled"),
            }
        });
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let out = run().wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        report["completed"],
        serde_json::json!([campaign]),
        "{report}"
    );
    assert!(report["in_doubt"].as_u64().unwrap() > 0, "{report}");
    assert!(
        stderr.contains("in doubt"),
        "the take-over is logged: {stderr}"
    );

    let mut by_rcpt: HashMap<String, Vec<String>> = HashMap::new();
    for m in sink.received() {
        by_rcpt
            .entry(m.rcpt.clone())
            .or_default()
            .push(m.header("Message-ID").unwrap());
    }
    assert_eq!(by_rcpt.len(), N, "every recipient received it");
    let doubled: Vec<_> = by_rcpt.values().filter(|ids| ids.len() > 1).collect();
    assert!(
        doubled.len() <= 3 * CONNECTIONS,
        "{} doubled",
        doubled.len()
    );
    for ids in &doubled {
        assert!(ids.iter().all(|i| i == &ids[0]), "same Message-ID: {ids:?}");
    }
    let stats = rt.block_on(async {
        let store = neuracrm_store::Store::open(&db, &Default::default())
            .await
            .unwrap();
        store
            .campaigns()
            .stats(org, neuracrm_domain::CampaignId(campaign))
            .await
            .unwrap()
    });
    assert_eq!(stats.sent as usize, N, "{stats:?}");
    println!(
        "{N} recipients, 3 kills: {} received twice (same Message-ID), {} in doubt at the last take-over",
        doubled.len(),
        report["in_doubt"]
    );
}

/// An organization with `n` contacts and a campaign to all of them, due now.
async fn campaign_of(db: &str, n: usize) -> (neuracrm_domain::OrgId, i64) {
    use neuracrm_domain::{
        CampaignStatus, CampaignTarget, Email, NewCampaign, NewContact, NewEmailTemplate,
    };
    let store = neuracrm_store::Store::open(db, &Default::default())
        .await
        .unwrap();
    let org = store.organizations().create("Crash").await.unwrap().id;
    let mut tx = store.db().begin().await.unwrap();
    for i in 0..n {
        let c = NewContact {
            first_name: format!("P{i}"),
            email: Some(Email::parse(&format!("p{i}@x.example")).unwrap()),
            ..Default::default()
        };
        store
            .contacts()
            .upsert_by_email(&mut tx, org, None, &c)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let c = store.campaigns();
    let t = c
        .create_template(
            org,
            None,
            &NewEmailTemplate {
                name: "T".into(),
                subject: "Hi {{ contact.first_name }}".into(),
                html: "<p>Hello {{ contact.first_name }}</p>".into(),
                text: None,
            },
        )
        .await
        .unwrap();
    let k = c
        .create(
            org,
            None,
            &NewCampaign {
                name: "C".into(),
                template_id: t.id,
                target: CampaignTarget::Contacts {
                    ids: None,
                    filter: None,
                },
            },
        )
        .await
        .unwrap();
    c.transition(
        org,
        None,
        k.id,
        &[CampaignStatus::Draft],
        CampaignStatus::Scheduled,
        Some(chrono::Utc::now()),
    )
    .await
    .unwrap();
    (org, k.id.0)
}

#[test]
fn calls_sync_asks_about_overdue_calls_and_counts_what_retell_could_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("v.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // One call placed two hours ago whose end was never heard of, one
    // placed now.
    rt.block_on(async {
        let store = neuracrm_store::Store::open(&url, &Default::default())
            .await
            .unwrap();
        let org = store.organizations().create("Calls").await.unwrap().id;
        let voice = store.voice();
        for (ago, id) in [(120, "call_lost"), (0, "call_live")] {
            let new = neuracrm_store::voice::NewCall {
                lead_id: None,
                contact_id: None,
                scenario: neuracrm_domain::Scenario::SalesOutbound,
                placed_by: None,
                agent_id: "agent_1".into(),
                from_number: "+14155550100".into(),
                to_number: "+14155550101".into(),
                own_key: false,
                max_duration_ms: 600_000,
            };
            let at = chrono::Utc::now() - chrono::Duration::minutes(ago);
            let call = voice.insert(org, &new, 20, 100, at).await.unwrap().unwrap();
            voice.set_retell_id(org, call.id, id).await.unwrap();
        }
    });
    let run = |jwt: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_neuracrm"));
        c.args(["calls", "sync", "--json", "--db", &url])
            .current_dir(dir.path())
            .env_remove("NEURACRM_DATABASE_URL")
            .env_remove("NEURACRM_JWT_SECRET")
            // Nothing listens there: Retell cannot answer.
            .env("NEURACRM_RETELL__BASE_URL", "http://127.0.0.1:1")
            .env("NEURACRM_RETELL__API_KEY", "key_cli_test")
            .env("NEURACRM_RETELL__MAX_RETRIES", "0");
        if jwt {
            c.env("NEURACRM_JWT_SECRET", "cli-test-secret-with-enough-entropy");
        }
        c.output().unwrap()
    };
    let o = run(false);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("NEURACRM_JWT_SECRET"), "{}", text(&o).1);
    let o = run(true);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"checked": 1, "applied": 0, "queued": 0, "failed": 1,
                           "retried": {"done": 0, "failed": 0}}),
        "only the overdue call; Retell's silence is counted, not fatal"
    );
    assert!(!err.contains("key_cli_test"), "the key never prints: {err}");
}

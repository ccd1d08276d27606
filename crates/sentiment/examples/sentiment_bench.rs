//! Train and evaluate on a labelled CSV, and write the split for the Python
//! peer, so that both run on the very same rows:
//! `cargo run --release --example sentiment_bench -- FILE.csv [rf|logreg] [OUT_DIR]`
//! (OUT_DIR receives train.csv / test.csv and model.bin).
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: sentiment_bench FILE [rf|logreg] [OUT_DIR]")?;
    let algorithm: neuracrm_sentiment::Algorithm =
        args.next().as_deref().unwrap_or("rf").parse()?;
    let out_dir = args.next();
    let data = neuracrm_sentiment::read_labelled(std::fs::File::open(&path)?)?;
    let mut options = neuracrm_sentiment::TrainOptions {
        algorithm,
        ..Default::default()
    };
    if let Ok(v) = std::env::var("MAX_FEATURES") {
        options.tfidf.max_features = if v == "none" { None } else { Some(v.parse()?) };
    }
    if let Ok(v) = std::env::var("MIN_DF") {
        options.tfidf.min_df = v.parse()?;
    }
    if let Ok(v) = std::env::var("LOGREG_TOL") {
        options.logreg.tol = v.parse()?;
    }
    if let Ok(v) = std::env::var("LOGREG_C") {
        options.logreg.c = v.parse()?;
    }
    if std::env::var("NO_VADER").is_ok() {
        options.vader_features = false;
    }
    if let Ok(v) = std::env::var("FOREST_SEED") {
        options.forest.seed = v.parse()?;
    }
    if let Ok(v) = std::env::var("N_TREES") {
        options.forest.n_trees = v.parse()?;
    }
    if let Ok(v) = std::env::var("THREADS") {
        options.forest.threads = v.parse()?;
    }
    let (model, report) = neuracrm_sentiment::train(&data, &options)?;
    println!("{report}");
    if let Some(dir) = out_dir {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir)?;
        let strata: Vec<(String, neuracrm_sentiment::Label)> = data
            .labels
            .iter()
            .enumerate()
            .map(|(i, &l)| (data.sources.get(i).cloned().unwrap_or_default(), l))
            .collect();
        let split = neuracrm_sentiment::split::stratified_split(
            &strata,
            options.test_fraction,
            options.seed,
        )?;
        for (name, rows) in [("train.csv", &split.train), ("test.csv", &split.test)] {
            let mut w = csv::Writer::from_path(dir.join(name))?;
            w.write_record(["text", "label"])?;
            for &i in rows.iter() {
                w.write_record([data.texts[i].as_str(), data.labels[i].as_str()])?;
            }
            w.flush()?;
        }
        let bytes = model.to_bytes()?;
        std::fs::File::create(dir.join("model.bin"))?.write_all(&bytes)?;
        println!(
            "model file {} bytes, {} in {}",
            bytes.len(),
            model.classifier.name(),
            dir.display()
        );
    }
    Ok(())
}

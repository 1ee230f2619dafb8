//! Spotify explorer benchmarks on 1M generated rows (20 regions × 250 days × 200 positions,
//! the reference data set's shape): import of a Kaggle-format `data.csv` into an empty SQLite
//! table (one transaction, prepared upsert, indexes built after the load, ANALYZE, commit), and
//! every ready-made question with default parameters and for one country on the indexed table.
//!
//! Run: `cargo bench --bench spotify_import` (`SPOTIFY_BENCH_ROWS_DAYS=50` for a quicker run).
//! Before the criterion groups it prints where an import's time goes (load, index build,
//! commit) and the total rows/s against the target, then each question's median time against
//! its budget. Criterion's `thrpt` for the import is the same total: rows / (load + indexes +
//! commit), what a user waits for.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stacktop::spotify::gen::{Dataset, GenConfig};
use stacktop::spotify::{
    import_files, questions, ImportOptions, Params, SqliteStore, Store, Summary,
};

/// The target for the whole import (load + index build + commit).
const TARGET_ROWS_PER_SEC: f64 = 300_000.0;
/// Every ready-made question must answer within this on 1M rows.
const QUESTION_BUDGET: Duration = Duration::from_millis(300);

struct Fixture {
    _dir: tempfile::TempDir,
    csv: PathBuf,
    rows: u64,
    indexed: Store,
}

fn fixture(rt: &tokio::runtime::Runtime) -> Fixture {
    let days = std::env::var("SPOTIFY_BENCH_ROWS_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(250);
    let cfg = GenConfig {
        days,
        ..Default::default()
    };
    let ds = Dataset::generate(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("data.csv");
    ds.write_kaggle(&csv).unwrap();
    let db = dir.path().join("indexed.sqlite3");
    let store = Store::Sqlite(Arc::new(SqliteStore::open(&db, "top200").unwrap()));
    let s = rt
        .block_on(import_files(
            &store,
            std::slice::from_ref(&csv),
            &ImportOptions::default(),
            None,
        ))
        .unwrap();
    eprintln!("fixture: {s}");
    Fixture {
        rows: ds.entries.len() as u64,
        _dir: dir,
        csv,
        indexed: store,
    }
}

/// One import of the fixture's CSV into a new, empty store.
fn import_once(rt: &tokio::runtime::Runtime, csv: &PathBuf) -> Summary {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("b.sqlite3"), "top200").unwrap();
    let store = Store::Sqlite(Arc::new(s));
    rt.block_on(import_files(
        &store,
        std::slice::from_ref(csv),
        &ImportOptions::default(),
        None,
    ))
    .unwrap()
}

/// Print the phases of a few imports and the best total against the target.
fn report_phases(rt: &tokio::runtime::Runtime, fx: &Fixture) {
    let runs: Vec<Summary> = (0..3).map(|_| import_once(rt, &fx.csv)).collect();
    for (i, s) in runs.iter().enumerate() {
        eprintln!(
            "import {}: total {:.2} s = {:.0} rows/s ({}; {})",
            i + 1,
            s.elapsed.as_secs_f64(),
            s.rows_per_sec(),
            s.phases(),
            s.method
        );
    }
    if let Some(best) = runs
        .iter()
        .max_by(|a, b| a.rows_per_sec().total_cmp(&b.rows_per_sec()))
    {
        let rate = best.rows_per_sec();
        eprintln!(
            "TOTAL (load + index build + commit), best of {}: {} rows in {:.2} s = {:.0} rows/s \
             [{}] — target >= {:.0} rows/s: {}",
            runs.len(),
            fx.rows,
            best.elapsed.as_secs_f64(),
            rate,
            best.phases(),
            TARGET_ROWS_PER_SEC,
            if rate >= TARGET_ROWS_PER_SEC {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}

/// Print each question's median of five runs against the budget.
fn report_questions(rt: &tokio::runtime::Runtime, fx: &Fixture, scopes: &[(&str, Params)]) {
    let mut slowest = (String::new(), Duration::ZERO);
    for (scope, params) in scopes {
        for q in questions::list() {
            let mut times: Vec<Duration> = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    rt.block_on(fx.indexed.ask(q, params)).unwrap();
                    t.elapsed()
                })
                .collect();
            times.sort();
            let median = times[times.len() / 2];
            let name = format!("{}/{scope}", q.id);
            eprintln!(
                "question {name:<22} median {:7.1} ms",
                median.as_secs_f64() * 1e3
            );
            if median > slowest.1 {
                slowest = (name, median);
            }
        }
    }
    eprintln!(
        "QUESTIONS: slowest {} at {:.1} ms — budget < {} ms: {}",
        slowest.0,
        slowest.1.as_secs_f64() * 1e3,
        QUESTION_BUDGET.as_millis(),
        if slowest.1 < QUESTION_BUDGET {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fx = fixture(&rt);
    report_phases(&rt, &fx);

    let mut g = c.benchmark_group("spotify_sqlite_import");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(fx.rows));
    g.bench_function("kaggle_csv_load_and_index", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let s = SqliteStore::open(&dir.path().join("b.sqlite3"), "top200").unwrap();
                (dir, Store::Sqlite(Arc::new(s)))
            },
            |(dir, store)| {
                let s = rt
                    .block_on(import_files(
                        &store,
                        std::slice::from_ref(&fx.csv),
                        &ImportOptions::default(),
                        None,
                    ))
                    .unwrap();
                assert_eq!(s.rows_read, fx.rows);
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let scopes = [
        ("all", Params::default()),
        (
            "us",
            Params {
                country: Some("us".into()),
                ..Default::default()
            },
        ),
    ];
    report_questions(&rt, &fx, &scopes);
    let mut g = c.benchmark_group("spotify_sqlite_questions");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for (scope, params) in &scopes {
        for q in questions::list() {
            g.bench_function(format!("{}/{scope}", q.id), |b| {
                b.iter(|| rt.block_on(fx.indexed.ask(q, params)).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(spotify, benches);
criterion_main!(spotify);

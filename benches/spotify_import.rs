//! Spotify explorer benchmarks on 1M generated rows (20 regions × 250 days × 200 positions,
//! the reference data set's shape): import of a Kaggle-format `data.csv` into SQLite (one
//! transaction, prepared upsert, indexes built after the load, ANALYZE), and every ready-made
//! question with default parameters and for one country on the indexed table.
//!
//! Run: `cargo bench --bench spotify_import` (`SPOTIFY_BENCH_ROWS_DAYS=50` for a quicker run).
//! Rows/s = 1,000,000 / time per import.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stacktop::spotify::gen::{Dataset, GenConfig};
use stacktop::spotify::{import_files, questions, ImportOptions, Params, SqliteStore, Store};

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

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fx = fixture(&rt);

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

    let mut g = c.benchmark_group("spotify_sqlite_questions");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for (scope, params) in [
        ("all", Params::default()),
        (
            "us",
            Params {
                country: Some("us".into()),
                ..Default::default()
            },
        ),
    ] {
        for q in questions::list() {
            g.bench_function(format!("{}/{scope}", q.id), |b| {
                b.iter(|| rt.block_on(fx.indexed.ask(q, &params)).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(spotify, benches);
criterion_main!(spotify);

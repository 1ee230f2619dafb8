//! Spotify explorer benchmarks on 1M generated rows (20 regions × 250 days × 200 positions,
//! the reference data set's shape): import of a Kaggle-format `data.csv` into an empty SQLite
//! table (one transaction, prepared upsert, indexes built after the load, ANALYZE, summary
//! tables, commit), and every ready-made question with default parameters and for one
//! country, warm, on SQLite and on a MariaDB the bench starts (tests/support: its own temp
//! datadir, 127.0.0.1, random port; never the system server).
//!
//! Run: `cargo bench --bench spotify_import` (`SPOTIFY_BENCH_ROWS_DAYS=50` for a quicker run,
//! `SPOTIFY_BENCH_MARIADB=0` for SQLite only; `cargo bench --bench spotify_import -- none`
//! prints the reports without the criterion groups). Before the criterion groups it prints
//! where an import's time goes (load, index build, summaries, commit) and the total rows/s
//! against the target, then for each store and question the median of five warm runs of the
//! SQL on the chart table alone (what every question ran before the summary tables) and of the
//! SQL that runs now (from the summary tables when the parameters allow), against the 100 ms
//! budget. Criterion's `thrpt` for the import is the same total: rows / (load + indexes +
//! summaries + commit), what a user waits for.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stacktop::spotify::generate::{Dataset, GenConfig};
use stacktop::spotify::{
    import_files, questions, Backend, ImportOptions, Params, SpotifyConfig, SqliteStore, Store,
    Summary,
};

/// The target for the whole import (load + index build + commit).
const TARGET_ROWS_PER_SEC: f64 = 300_000.0;
/// Every ready-made question must answer within this on 1M rows, warm, on both stores.
const QUESTION_BUDGET: Duration = Duration::from_millis(100);

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

/// Median of five warm runs of `sql` (after one unmeasured run).
fn median(rt: &tokio::runtime::Runtime, store: &Store, sql: &str) -> Duration {
    rt.block_on(store.run_query(sql)).unwrap();
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            rt.block_on(store.run_query(sql)).unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Print each question's median from the chart table alone and as it runs now, against the
/// budget.
fn report_questions(
    rt: &tokio::runtime::Runtime,
    store: &Store,
    name: &str,
    scopes: &[(&str, Params)],
) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut slowest = (String::new(), Duration::ZERO);
    for (scope, params) in scopes {
        for q in questions::list() {
            let sql = q.sql(store.table(), store.dialect(), params).unwrap();
            let raw = q.sql_raw(store.table(), store.dialect(), params).unwrap();
            let now = median(rt, store, &sql);
            let id = format!("{}/{scope}", q.id);
            if sql == raw {
                eprintln!(
                    "{name} question {id:<22} chart table {:7.1} ms (no summary form)",
                    ms(now)
                );
            } else {
                let before = median(rt, store, &raw);
                eprintln!(
                    "{name} question {id:<22} chart table {:7.1} ms -> summaries {:7.1} ms",
                    ms(before),
                    ms(now)
                );
            }
            if now > slowest.1 {
                slowest = (id, now);
            }
        }
    }
    eprintln!(
        "{name} QUESTIONS: slowest {} at {:.1} ms — budget <= {} ms: {}",
        slowest.0,
        ms(slowest.1),
        QUESTION_BUDGET.as_millis(),
        if slowest.1 <= QUESTION_BUDGET {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// The same CSV imported into a MariaDB started for the bench, then its questions.
fn report_mariadb(rt: &tokio::runtime::Runtime, fx: &Fixture, scopes: &[(&str, Params)]) {
    if std::env::var("SPOTIFY_BENCH_MARIADB").is_ok_and(|v| v == "0") {
        eprintln!("mariadb: skipped (SPOTIFY_BENCH_MARIADB=0)");
        return;
    }
    use support::mariadb::{MariaDb, MariaDbOptions};
    // The test defaults are tiny (32M buffer pool, 8M redo log): give it room for 1M rows.
    let db = MariaDb::start(
        MariaDbOptions::named("spotify-bench", 1, 0)
            .cnf("innodb-buffer-pool-size=1G")
            .cnf("innodb-log-file-size=256M")
            .cnf("innodb-flush-log-at-trx-commit=2")
            .cnf("skip-log-bin")
            .cnf("local-infile=1"),
    );
    let cfg = SpotifyConfig {
        backend: Backend::Mysql,
        url: Some(db.url()),
        database: Some("spotify".into()),
        table: "top200".into(),
        ..Default::default()
    };
    let store = rt.block_on(Store::open(&cfg)).unwrap();
    let s = rt
        .block_on(import_files(
            &store,
            std::slice::from_ref(&fx.csv),
            &ImportOptions::default(),
            None,
        ))
        .unwrap();
    eprint!("mariadb import: {s}");
    report_questions(rt, &store, "mariadb", scopes);
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
    report_questions(&rt, &fx.indexed, "sqlite", &scopes);
    report_mariadb(&rt, &fx, &scopes);
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

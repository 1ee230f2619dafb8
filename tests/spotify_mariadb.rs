//! The spotify explorer against a real MariaDB started by the test (tests/support/mariadb.rs):
//! the four-format fixtures with their quirks load exactly as on SQLite (LOAD DATA LOCAL
//! INFILE, the batched-INSERT fallback forced, and automatic on a server started with
//! local-infile=0), a re-import changes nothing, every ready-made
//! question returns the same rows on SQLite and MariaDB for the same data, the summary
//! tables answer like the chart table after each kind of import, and a cancelled
//! query is gone from the server's process list (KILL QUERY, not abandoned).

#[path = "spotify_common/mod.rs"]
mod common;

mod support;

use std::time::{Duration, Instant};

use common::*;
use stacktop::spotify::generate::{Dataset, GenConfig};
use stacktop::spotify::runner::{self, Event, Request};
use stacktop::spotify::{
    import_files, questions, Backend, ImportEvent, ImportOptions, SpotifyConfig, Store, Summary,
};
use support::mariadb::{MariaDb, MariaDbOptions};

fn fixtures() -> Vec<std::path::PathBuf> {
    [
        "kaggle_data.csv",
        "charts.csv",
        "regional-gb-daily-2018-07-20.csv",
        "regional-ar-daily-2022-01-05.csv",
        "regional-us-daily-2018-07-21.csv",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect()
}

fn mysql_cfg(db: &MariaDb, table: &str) -> SpotifyConfig {
    SpotifyConfig {
        backend: Backend::Mysql,
        url: Some(db.url()),
        database: Some("spotify".into()),
        table: table.into(),
        ..Default::default()
    }
}

/// The fixtures imported into a fresh SQLite store: its summary and rows, what MariaDB must
/// match.
async fn sqlite_reference() -> (Summary, Vec<Vec<stacktop::spotify::Cell>>) {
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite_store(dir.path());
    let want = import_files(&lite, &fixtures(), &ImportOptions::default(), None)
        .await
        .unwrap();
    (want, dump(&lite).await)
}

async fn dump_table(store: &Store) -> Vec<Vec<stacktop::spotify::Cell>> {
    let sql = DUMP.replace("top200", store.table());
    store.run_query(&sql).await.unwrap().rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_load_like_sqlite_and_reimport_changes_nothing() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-import", 1, 0));
    let (want, want_rows) = sqlite_reference().await;
    assert_eq!(want_rows.len(), 16);

    let my = Store::open(&mysql_cfg(&db, "top200")).await.unwrap();
    // A failed load straight into the empty table is rolled back: still empty.
    let strict = ImportOptions {
        strict: true,
        ..Default::default()
    };
    assert!(import_files(&my, &fixtures(), &strict, None).await.is_err());
    assert_eq!(
        db.query_one("SELECT COUNT(*) FROM spotify.top200")
            .as_deref(),
        Some("0")
    );
    let s = import_files(&my, &fixtures(), &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(s.method.contains("LOAD DATA"), "{s}");
    assert_eq!(
        (s.rows_read, s.inserted, s.bad, s.rejected_files.len()),
        (
            want.rows_read,
            want.inserted,
            want.bad,
            want.rejected_files.len()
        ),
        "{s}"
    );
    assert_eq!(s.skipped, want.skipped);
    assert!(s.rejected_files[0].1.contains("HTML"));
    assert_eq!(dump_table(&my).await, want_rows, "same rows as SQLite");
    // Emoji (4-byte UTF-8) survive, and names are compared exactly (binary collation).
    assert_eq!(
        db.query_one("SELECT track FROM spotify.top200 WHERE country='ec' AND pos=4")
            .as_deref(),
        Some("Fire 🔥 Night")
    );
    assert_eq!(
        db.query_one(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema='spotify' \
             AND table_name='top200' AND column_name='artist' AND collation_name LIKE 'utf8mb4%bin'"
        )
        .as_deref(),
        Some("1")
    );
    assert!(
        db.query_one(
            "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema='spotify' \
             AND table_name='top200' AND index_name <> 'PRIMARY'"
        )
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap()
            > 0,
        "secondary indexes are built after the bulk load"
    );

    // Re-import: nothing new, nothing updated, identical table.
    let again = import_files(&my, &fixtures(), &ImportOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(
        (again.inserted, again.updated, again.duplicates),
        (0, 0, 16),
        "{again}"
    );
    assert_eq!(dump_table(&my).await, want_rows);

    // The batched-INSERT fallback loads the same rows.
    let ins = Store::open(&mysql_cfg(&db, "top200_ins")).await.unwrap();
    let opts = ImportOptions {
        force_insert: true,
        ..Default::default()
    };
    let s = import_files(&ins, &fixtures(), &opts, None).await.unwrap();
    assert!(s.method.contains("INSERT (forced)"), "{s}");
    assert_eq!(dump_table(&ins).await, want_rows);

    // A strict import with bad rows fails and leaves the table as it was.
    assert!(import_files(&my, &fixtures(), &strict, None).await.is_err());
    assert_eq!(dump_table(&my).await, want_rows);
}

/// A server that refuses `LOAD DATA LOCAL INFILE` (started with `local-infile=0`): the import
/// switches to batched INSERTs by itself, says so (progress phase and summary), and loads the
/// same rows as SQLite, into the empty table and again through the staging table. Switched
/// on at run time, the same server gets LOAD DATA again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_refusing_local_infile_gets_batched_inserts_with_the_same_rows() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-noinfile", 1, 0).cnf("local-infile=0"));
    assert_eq!(
        db.query_one("SELECT @@GLOBAL.local_infile").as_deref(),
        Some("0")
    );
    let (want, want_rows) = sqlite_reference().await;

    let my = Store::open(&mysql_cfg(&db, "top200")).await.unwrap();
    let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel();
    let s = import_files(&my, &fixtures(), &ImportOptions::default(), Some(ptx))
        .await
        .unwrap();
    assert!(
        s.method.contains("batched 1000-row INSERT") && s.method.contains("local infile refused"),
        "{s}"
    );
    let mut phases = Vec::new();
    while let Ok(ev) = prx.try_recv() {
        if let ImportEvent::Phase(p) = ev {
            phases.push(p);
        }
    }
    assert!(
        phases
            .iter()
            .any(|p| p.contains("batched INSERTs") && p.contains("local infile refused")),
        "{phases:?}"
    );
    assert_eq!(
        (s.rows_read, s.inserted, s.bad, s.skipped.clone()),
        (
            want.rows_read,
            want.inserted,
            want.bad,
            want.skipped.clone()
        ),
        "{s}"
    );
    assert_eq!(dump_table(&my).await, want_rows, "same rows as SQLite");

    // Re-import (table not empty: staging table, merge): INSERTs again, nothing changes.
    let again = import_files(&my, &fixtures(), &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(again.method.contains("local infile refused"), "{again}");
    assert_eq!((again.inserted, again.updated), (0, 0), "{again}");
    assert_eq!(dump_table(&my).await, want_rows);

    // The same server with local_infile on: LOAD DATA, same rows.
    db.exec("SET GLOBAL local_infile = 1");
    let on = Store::open(&mysql_cfg(&db, "top200_on")).await.unwrap();
    let s = import_files(&on, &fixtures(), &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(s.method.contains("LOAD DATA"), "{s}");
    assert_eq!(dump_table(&on).await, want_rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_question_returns_the_same_rows_on_sqlite_and_mariadb() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-questions", 1, 0));
    let ds = Dataset::generate(&GenConfig::small(4, 40, 50));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.csv");
    ds.write_kaggle(&file).unwrap();
    let lite = sqlite_store(dir.path());
    let my = Store::open(&mysql_cfg(&db, "top200")).await.unwrap();
    for s in [&lite, &my] {
        import_files(
            s,
            std::slice::from_ref(&file),
            &ImportOptions::default(),
            None,
        )
        .await
        .unwrap();
    }
    let rows = ds.expected_rows(stacktop::spotify::formats::Format::Kaggle);
    let mut compared = 0;
    for q in questions::list() {
        for p in param_sets(&rows) {
            let a = lite.ask(q, &p).await.unwrap();
            let b = my
                .ask(q, &p)
                .await
                .unwrap_or_else(|e| panic!("{} on MariaDB: {e:#}", q.id));
            assert_eq!(a.columns, b.columns, "{}", q.id);
            assert_eq!(
                a.rows,
                b.rows,
                "question {} with {p:?}\n{}",
                q.id,
                q.sql("top200", my.dialect(), &p).unwrap()
            );
            compared += usize::from(!a.rows.is_empty());
        }
    }
    assert!(compared >= 40, "too few non-empty answers: {compared}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_tables_answer_like_the_chart_table_on_mariadb() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-summaries", 1, 0));
    db.exec("SET GLOBAL local_infile = 1");
    let ds = Dataset::generate(&GenConfig::small(4, 40, 50));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.csv");
    ds.write_kaggle(&file).unwrap();
    let rows = ds.expected_rows(stacktop::spotify::formats::Format::Kaggle);
    let my = Store::open(&mysql_cfg(&db, "top200")).await.unwrap();
    // Into the empty table (bulk path): every month's summary in the load's transaction.
    let s = import_files(
        &my,
        std::slice::from_ref(&file),
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert!(s.phases().contains("summaries"), "{s}");
    let fast = summaries_match_chart_table(&my, &rows).await;
    assert!(fast >= 40, "too few answers from the summaries: {fast}");

    // An overlapping second import through the staging table (batched INSERTs this time):
    // the months it touched are recomputed in the merge's transaction.
    let ds2 = Dataset::generate(&GenConfig {
        seed: 99,
        start: chrono::NaiveDate::from_ymd_opt(2017, 6, 25).unwrap(),
        ..GenConfig::small(2, 20, 50)
    });
    let file2 = dir.path().join("data2.csv");
    ds2.write_kaggle(&file2).unwrap();
    let forced = ImportOptions {
        force_insert: true,
        ..Default::default()
    };
    let s = import_files(&my, &[file2], &forced, None).await.unwrap();
    assert!(s.updated > 0 && s.inserted > 0, "{s}");
    assert!(summaries_match_chart_table(&my, &rows).await >= 40);

    // A table loaded by an earlier version (no summaries, or all but the all-countries one):
    // built when the store is opened.
    db.exec("DROP TABLE spotify.top200_sum_track_all");
    let again = Store::open(&mysql_cfg(&db, "top200")).await.unwrap();
    assert!(summaries_match_chart_table(&again, &rows).await >= 40);
    db.exec(
        "DROP TABLE spotify.top200_sum_track, spotify.top200_sum_artist, \
         spotify.top200_sum_ones, spotify.top200_sum_track_all",
    );
    let again = Store::open(&mysql_cfg(&db, "top200")).await.unwrap();
    assert!(summaries_match_chart_table(&again, &rows).await >= 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_query_is_killed_on_the_server() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-cancel", 1, 0));
    let my = Store::open(&mysql_cfg(&db, "top200")).await.unwrap();
    import_files(
        &my,
        &[fixture("kaggle_data.csv")],
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    let mut h = runner::spawn(my.clone());
    let sql = "SELECT SLEEP(60) AS slept";
    h.requests
        .send(Request::Sql {
            id: 7,
            sql: sql.into(),
        })
        .unwrap();
    let running = |db: &MariaDb| {
        db.query(
            "SELECT id FROM information_schema.processlist \
             WHERE info LIKE 'SELECT SLEEP(60)%'",
        )
        .len()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while running(&db) == 0 {
        assert!(
            Instant::now() < deadline,
            "the query never reached the server"
        );
        if let Ok(ev) = h.events.try_recv() {
            assert!(matches!(ev, Event::Started { id: 7, .. }), "{ev:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.requests.send(Request::Cancel { id: 7 }).unwrap();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), h.events.recv())
            .await
            .expect("an event after cancel")
            .unwrap();
        match ev {
            Event::Started { .. } => {}
            Event::Cancelled { id: 7 } => break,
            other => panic!("expected Cancelled, got {other:?}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(&db) > 0 {
        assert!(
            Instant::now() < deadline,
            "the query is still in the process list after cancel"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The connection pool still answers afterwards.
    let rs = my.run_query("SELECT 1 AS one").await.unwrap();
    assert_eq!(rs.rows.len(), 1);
    h.requests.send(Request::Shutdown).unwrap();
}

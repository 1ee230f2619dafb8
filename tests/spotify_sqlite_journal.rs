//! The SQLite store's journal during imports: a load into an empty table goes through a
//! rollback journal (pages written once) and the file is back in WAL mode afterwards; a failed
//! load leaves the table empty and the file in WAL mode; with another connection holding the
//! file the load stays in WAL mode; and an import killed mid-transaction (SIGKILL of the real
//! binary) leaves a hot journal that the next open rolls back, with an intact file.

#[path = "spotify_common/mod.rs"]
mod common;

#[path = "support/proc.rs"]
mod hermetic;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use rusqlite::Connection;
use stacktop::spotify::generate::{Dataset, GenConfig};
use stacktop::spotify::{import_files, ImportOptions};

fn journal_mode(db: &Path) -> String {
    let c = Connection::open(db).unwrap();
    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

fn integrity(db: &Path) -> String {
    let c = Connection::open(db).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn journal_file(db: &Path) -> std::path::PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-journal");
    p.into()
}

#[tokio::test]
async fn empty_table_loads_through_a_rollback_journal_then_back_to_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("charts.sqlite3");
    let store = sqlite_store(dir.path());
    assert_eq!(journal_mode(&db), "wal");
    let ds = Dataset::generate(&GenConfig::small(3, 10, 50));
    let csv = dir.path().join("data.csv");
    ds.write_kaggle(&csv).unwrap();
    let files = [csv];

    let s = import_files(&store, &files, &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(s.method.contains("rollback journal"), "{s}");
    assert_eq!(s.inserted, 1500, "{s}");
    let expected = sorted_cells(&ds.expected_rows(stacktop::spotify::formats::Format::Kaggle));
    assert_eq!(dump(&store).await, expected);
    assert_eq!(journal_mode(&db), "wal");
    assert!(!journal_file(&db).exists());
    assert_eq!(integrity(&db), "ok");

    // Not empty any more: the re-import runs in WAL mode and changes nothing.
    let again = import_files(&store, &files, &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(!again.method.contains("rollback journal"), "{again}");
    assert_eq!((again.inserted, again.updated), (0, 0), "{again}");
    assert_eq!(dump(&store).await, expected);
}

#[tokio::test]
async fn failed_load_into_empty_table_leaves_it_empty_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("charts.sqlite3");
    let store = sqlite_store(dir.path());
    // A good file, then one with a bad row: strict mode aborts after the first file's rows
    // were written.
    let files = [
        fixture("regional-ar-daily-2022-01-05.csv"),
        fixture("kaggle_data.csv"),
    ];
    let strict = ImportOptions {
        strict: true,
        ..Default::default()
    };
    let err = import_files(&store, &files, &strict, None)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("kaggle_data.csv"), "{err:#}");
    assert!(dump(&store).await.is_empty());
    assert_eq!(journal_mode(&db), "wal");
    assert!(!journal_file(&db).exists());
    assert_eq!(integrity(&db), "ok");
    // The store still works: the same files load without --strict.
    let s = import_files(&store, &files, &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(s.inserted > 0, "{s}");
}

#[tokio::test]
async fn another_reader_keeps_the_load_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("charts.sqlite3");
    let store = sqlite_store(dir.path());
    // Another connection that has read the file keeps a shared lock while in WAL mode.
    let other = Connection::open(&db).unwrap();
    let n: i64 = other
        .query_row("SELECT COUNT(*) FROM top200", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    let s = import_files(
        &store,
        &[fixture("regional-gb-daily-2018-07-20.csv")],
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert!(!s.method.contains("rollback journal"), "{s}");
    assert_eq!(s.inserted, 3, "{s}");
    let n: i64 = other
        .query_row("SELECT COUNT(*) FROM top200", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(journal_mode(&db), "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_during_the_empty_table_load_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("charts.sqlite3");
    let store = sqlite_store(dir.path());
    let stacktop::spotify::Store::Sqlite(sq) = store.clone() else {
        unreachable!()
    };
    let ds = Dataset::generate(&GenConfig {
        days: 40,
        ..Default::default()
    });
    let csv = dir.path().join("data.csv");
    ds.write_kaggle(&csv).unwrap();
    let s2 = store.clone();
    let import =
        tokio::spawn(
            async move { import_files(&s2, &[csv], &ImportOptions::default(), None).await },
        );
    // Wait until the load runs in rollback-journal mode with our reader closed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(journal_file(&db).exists() && sq.is_busy()) {
        assert!(
            !import.is_finished(),
            "the import ended before it could be observed"
        );
        assert!(
            Instant::now() < deadline,
            "the rollback-journal load never started"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // This query neither fails nor holds up the commit: it runs once the load is committed.
    let rs = store
        .run_query("SELECT COUNT(*) FROM top200")
        .await
        .unwrap();
    assert_eq!(rs.rows, vec![vec![stacktop::spotify::Cell::Int(160_000)]]);
    let s = import.await.unwrap().unwrap();
    assert!(s.method.contains("rollback journal"), "{s}");
    assert_eq!(journal_mode(&db), "wal");
}

/// Start `stacktop spotify import` on `csv` and SIGKILL it once the database file has grown
/// while the journal exists (pages of the open transaction written into the file). Returns
/// whether the kill hit an open transaction (the journal still exists afterwards).
fn kill_mid_import(db: &Path, csv: &Path) -> bool {
    let mut child = hermetic::hermetic_command(env!("CARGO_BIN_EXE_stacktop"))
        .arg("--no-user-config")
        .args(["spotify", "import"])
        .arg(csv)
        .arg("--path")
        .arg(db)
        .env("XDG_DATA_HOME", db.parent().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = journal_file(db);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut start_len = None;
    loop {
        assert!(Instant::now() < deadline, "the import never wrote pages");
        if let Some(status) = child.try_wait().unwrap() {
            // Finished before a kill could hit it.
            assert!(status.success(), "import failed: {status}");
            return false;
        }
        let len = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
        match start_len {
            None if journal.exists() => start_len = Some(len),
            Some(l) if len > l + 1_000_000 && journal.exists() => break,
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    journal.exists() && std::fs::metadata(&journal).unwrap().len() > 0
}

#[tokio::test]
async fn import_killed_mid_transaction_is_rolled_back_on_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("charts.sqlite3");
    let ds = Dataset::generate(&GenConfig {
        days: 40,
        ..Default::default()
    });
    let csv = dir.path().join("data.csv");
    ds.write_kaggle(&csv).unwrap();
    // Create the file and table first, so the killed import finds an empty table.
    drop(sqlite_store(dir.path()));
    let mut hit = false;
    for _ in 0..3 {
        if kill_mid_import(&db, &csv) {
            hit = true;
            break;
        }
        // It committed first: start over with an empty table.
        std::fs::remove_file(&db).unwrap();
        drop(sqlite_store(dir.path()));
    }
    assert!(hit, "three imports finished before they could be killed");
    // A hot journal is left; opening the store rolls it back.
    let store = sqlite_store(dir.path());
    assert!(dump(&store).await.is_empty());
    assert!(!journal_file(&db).exists());
    assert_eq!(integrity(&db), "ok");
    assert_eq!(journal_mode(&db), "wal");
    // And the same import then completes.
    let s = import_files(&store, &[csv], &ImportOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(s.table_rows, 160_000, "{s}");
    assert_eq!(integrity(&db), "ok");
}

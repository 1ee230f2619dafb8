//! Bad CSV input is contained (Trust II): a stray `"` that never closes stops the import with
//! the line where the field opened and loads nothing; one that closes later reports the
//! swallowed lines as a range and loads the rows after it; a line over the record limit is
//! refused without being read whole; rows with extra fields are bad rows with file:line; error
//! messages quote at most a couple of hundred characters. Small inputs with lowered limits.

#[path = "spotify_common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::*;
use stacktop::spotify::csvlimit::{CsvLimits, LimitError};
use stacktop::spotify::{import_files, ImportOptions, Store};

const HEADER: &str = "Position,Track Name,Artist,Streams,URL,Date,Region\n";

fn row(pos: u32) -> String {
    format!(
        "{pos},Song {pos},Artist {pos},{},https://open.spotify.com/track/{:0>22},2017-01-01,ec\n",
        1000 + pos,
        pos
    )
}

/// A Kaggle file: header, then `rows` (a row number is its line number minus one).
fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{HEADER}{body}")).unwrap();
    p
}

fn opts(max_record_bytes: usize) -> ImportOptions {
    ImportOptions {
        limits: CsvLimits {
            max_record_bytes,
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn count(store: &Store) -> i64 {
    match store
        .run_query("SELECT COUNT(*) FROM top200")
        .await
        .unwrap()
        .rows[0][0]
    {
        stacktop::spotify::Cell::Int(n) => n,
        ref other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unclosed_stray_quote_stops_the_import_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    // Lines 2-4 good, line 5 opens a quote that never closes, 300 more rows follow (~30 KB).
    let mut body: String = (1..=3).map(row).collect();
    body.push_str("4,\"Stray quote,Artist,5,https://open.spotify.com/track/x,2017-01-01,ec\n");
    for p in 5..305 {
        body.push_str(&row(p));
    }
    let f = write(dir.path(), "data.csv", &body);
    let err = import_files(&store, std::slice::from_ref(&f), &opts(8 << 10), None)
        .await
        .unwrap_err();
    let le = err.downcast_ref::<LimitError>().expect("a LimitError");
    assert_eq!((le.line, le.open_quote_line), (5, Some(5)), "{err:#}");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("data.csv:5: a quoted field opened on line 5 is still open after 8 KiB"),
        "{msg}"
    );
    assert!(msg.contains("nothing was loaded"), "{msg}");
    // The good rows before it are not loaded either: nothing half-applied.
    assert_eq!(count(&store).await, 0);
}

#[tokio::test]
async fn closed_stray_quote_reports_the_swallowed_lines_and_loads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    // Line 3 opens a quote, line 7 has a second stray quote that closes it: lines 3-7 are one
    // record for any CSV reader; rows 7.. (lines 8..) load.
    let mut body = row(1);
    body.push_str("2,\"Stray,A,5,https://open.spotify.com/track/x,2017-01-01,ec\n");
    for p in 3..=5 {
        body.push_str(&row(p));
    }
    body.push_str("6,Close\" here,A,5,https://open.spotify.com/track/y,2017-01-01,ec\n");
    for p in 7..=20 {
        body.push_str(&row(p));
    }
    let f = write(dir.path(), "data.csv", &body);
    let s = import_files(&store, &[f], &ImportOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((s.rows_read, s.bad), (15, 1), "{s}");
    let bad = &s.bad_examples[0];
    assert_eq!(bad.line, 3, "{bad}");
    assert!(
        bad.reason
            .contains("lines 3-7 not loaded: a quoted field opened on line 3"),
        "{bad}"
    );
    assert_eq!(count(&store).await, 15);
}

#[tokio::test]
async fn long_line_is_refused_without_reading_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let mut body: String = (1..=3).map(row).collect();
    // Line 5: a 200 KB position field, against a 16 KiB limit.
    body.push_str(&"x".repeat(200_000));
    body.push_str(row(4).split_once(',').unwrap().1);
    body.push_str(&row(5));
    let f = write(dir.path(), "long.csv", &body);
    let err = import_files(&store, &[f], &opts(16 << 10), None)
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("long.csv:5: record longer than 16 KiB (the limit)"),
        "{msg}"
    );
    assert!(msg.len() < 300, "{msg}");
    assert_eq!(count(&store).await, 0);
    // The same file with the default 1 MiB limit reads (the long row is a bad row).
    let s = import_files(
        &store,
        &[dir.path().join("long.csv")],
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!((s.rows_read, s.bad), (4, 1), "{s}");
    assert!(
        s.bad_examples[0].reason.chars().count() < 200,
        "a bad value is quoted short: {}",
        s.bad_examples[0].reason.len()
    );
}

#[tokio::test]
async fn extra_fields_are_bad_rows_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let mut body = row(1);
    // Line 3: two extra fields; line 4: 1000 of them (over the 64-field limit too).
    body.push_str(row(2).trim_end());
    body.push_str(",extra,fields\n");
    body.push_str(row(3).trim_end());
    body.push_str(&",x".repeat(1000));
    body.push('\n');
    body.push_str(&row(4));
    let f = write(dir.path(), "wide.csv", &body);
    let s = import_files(&store, &[f], &ImportOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((s.rows_read, s.bad), (2, 2), "{s}");
    let lines: Vec<String> = s.bad_examples.iter().map(|b| b.to_string()).collect();
    assert!(
        lines[0].contains("wide.csv:3: too many fields: 9 (the header has 7, the limit is 64)"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("wide.csv:4: too many fields: 1007"),
        "{lines:?}"
    );
    assert_eq!(count(&store).await, 2);
}

#[tokio::test]
async fn unrecognised_header_error_is_short() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let mut header = String::new();
    for i in 0..2000 {
        let _ = write!(header, "column{i},");
    }
    header.push('\n');
    let p = dir.path().join("odd.csv");
    std::fs::write(&p, &header).unwrap();
    let s = import_files(&store, &[p], &ImportOptions::default(), None)
        .await
        .unwrap();
    let reason = &s.rejected_files[0].1;
    assert!(reason.contains("unrecognised header"), "{reason}");
    assert!(reason.len() < 350, "{} chars: {reason}", reason.len());
}

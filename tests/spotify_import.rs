//! Import tests on SQLite: the hand-made fixtures in all four formats (note line, BOM, CRLF,
//! quoted commas, emoji, empty names, float streams, viral rows, an HTML page), generated
//! data in all four formats against the generator's expected rows, idempotent re-import,
//! strict/cancelled imports leaving the table unchanged, and the read-only guard.

#[path = "spotify_common/mod.rs"]
mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::*;
use stacktop::spotify::formats::Format;
use stacktop::spotify::generate::{Dataset, GenConfig};
use stacktop::spotify::{import_files, Cell, ImportEvent, ImportOptions};

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

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

#[tokio::test]
async fn fixtures_in_all_formats_with_quirks() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let s = import_files(&store, &fixtures(), &ImportOptions::default(), Some(tx))
        .await
        .unwrap();
    assert_eq!(s.rows_read, 16, "{s}");
    assert_eq!(s.inserted, 16);
    assert_eq!(s.table_rows, 16);
    assert_eq!(s.bad, 5, "{s}");
    assert_eq!(s.skipped.values().sum::<u64>(), 2, "viral50 rows: {s}");
    // the HTML page is rejected as a whole, with a reason
    assert_eq!(s.rejected_files.len(), 1, "{s}");
    assert!(s.rejected_files[0]
        .0
        .ends_with("regional-us-daily-2018-07-21.csv"));
    assert!(
        s.rejected_files[0].1.contains("HTML"),
        "{}",
        s.rejected_files[0].1
    );
    // bad rows carry file and line
    let where_: Vec<String> = s
        .bad_examples
        .iter()
        .map(|b| {
            format!(
                "{}:{}",
                b.file.file_name().unwrap().to_string_lossy(),
                b.line
            )
        })
        .collect();
    assert_eq!(
        where_,
        [
            "kaggle_data.csv:8",
            "kaggle_data.csv:9",
            "kaggle_data.csv:10",
            "charts.csv:7",
            "charts.csv:8"
        ]
    );
    assert!(s.bad_examples[0].reason.contains("position"));
    assert!(s.bad_examples[4].reason.contains("Atlantis"));
    let mut saw_progress = false;
    let mut saw_reject = false;
    while let Ok(ev) = rx.try_recv() {
        match ev {
            ImportEvent::Progress(p) => {
                saw_progress = true;
                assert!(p.bytes_done <= p.bytes_total);
            }
            ImportEvent::FileRejected { .. } => saw_reject = true,
            ImportEvent::Phase(_) => {}
        }
    }
    assert!(saw_progress && saw_reject);

    let q = |sql: &str| {
        let store = store.clone();
        let sql = sql.to_string();
        async move { store.run_query(&sql).await.unwrap().rows }
    };
    // 4-byte UTF-8 and CJK survive; empty names are kept as ''
    let r =
        q("SELECT track, artist FROM top200 WHERE country = 'ec' AND pos IN (4, 5) ORDER BY pos")
            .await;
    assert_eq!(
        r,
        vec![
            vec![text("Fire 🔥 Night"), text("방탄소년단")],
            vec![text(""), text("")]
        ]
    );
    // quoted comma in the artist, doubled quotes in the title, URL query string dropped
    let r = q("SELECT artist FROM top200 WHERE country = 'ec' AND pos = 3").await;
    assert_eq!(r[0][0], text("Tyler, The Creator"));
    let r = q("SELECT track, track_id FROM top200 WHERE country = 'ec' AND pos = 6").await;
    assert_eq!(
        r[0],
        vec![text("Say \"Hello\""), text("4sPmO7WMQUAf45kwMOtONw")]
    );
    // charts.csv: names → codes, float streams, primary artist + full list, rank quoted
    let r = q("SELECT country, pos, artist, artists, streams FROM top200 WHERE source = 3 ORDER BY country, pos").await;
    assert_eq!(r.len(), 4);
    assert_eq!(
        r[0],
        vec![
            text("ar"),
            Cell::Int(1),
            text("Shakira"),
            text("Shakira, Maluma"),
            Cell::Int(253019)
        ]
    );
    assert_eq!(r[1][2], text("J Balvin"));
    assert_eq!(r[2][0], text("global"));
    assert_eq!(
        r[3],
        vec![
            text("us"),
            Cell::Int(1),
            text("Justin Bieber"),
            text("Justin Bieber"),
            Cell::Int(1371493)
        ]
    );
    // spotifycharts: note line skipped, date and region from the file name, curly quotes
    let r = q("SELECT list_date, pos, track FROM top200 WHERE country = 'gb' ORDER BY pos").await;
    assert_eq!(r.len(), 3);
    assert_eq!(
        r[0],
        vec![text("2018-07-20"), Cell::Int(1), text("In My Feelings")]
    );
    assert_eq!(r[1][2], text("Don’t Matter To Me"));
    assert_eq!(r[2][2], text("4/5 - From “Patser\""));
    // charts.spotify.com: BOM + CRLF, uri → id, quoted streams
    let r = q("SELECT list_date, track_id, artist, track, streams FROM top200 WHERE country = 'ar' AND source = 4 ORDER BY pos").await;
    assert_eq!(
        r[0],
        vec![
            text("2022-01-05"),
            text("2ZyrAym0sRLwt4PhGotHuI"),
            text("Ryan Castro"),
            text("LA VILLA"),
            Cell::Int(1989059)
        ]
    );
    assert_eq!(r[1][3], text("Tití Me Preguntó 🐰"));

    // re-import changes nothing
    let before = dump(&store).await;
    let again = import_files(&store, &fixtures(), &ImportOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(
        (again.inserted, again.updated, again.duplicates),
        (0, 0, 16),
        "{again}"
    );
    assert_eq!(dump(&store).await, before);
}

#[tokio::test]
async fn generated_data_in_every_format_matches_expected_rows() {
    let ds = Dataset::generate(&GenConfig::small(3, 6, 25));
    for format in Format::ALL {
        let dir = tempfile::tempdir().unwrap();
        let files = match format {
            Format::Kaggle => {
                let p = dir.path().join("data.csv");
                ds.write_kaggle(&p).unwrap();
                vec![p]
            }
            Format::Charts => {
                let p = dir.path().join("charts.csv");
                ds.write_charts(&p, true).unwrap();
                vec![p]
            }
            Format::Spotifycharts => ds
                .write_spotifycharts(&dir.path().join("sc"), true)
                .unwrap(),
            Format::Chartsapi => ds.write_chartsapi(&dir.path().join("api"), true).unwrap(),
        };
        let store = sqlite_store(dir.path());
        let s = import_files(&store, &files, &ImportOptions::default(), None)
            .await
            .unwrap();
        let expected = ds.expected_rows(format);
        assert_eq!(s.rows_read as usize, expected.len(), "{format:?}: {s}");
        assert_eq!(s.bad, 0, "{format:?}: {s}");
        assert_eq!(dump(&store).await, sorted_cells(&expected), "{format:?}");
        // idempotent
        let s2 = import_files(&store, &files, &ImportOptions::default(), None)
            .await
            .unwrap();
        assert_eq!((s2.inserted, s2.updated), (0, 0), "{format:?}");
    }
    // the generator exercises the quirks
    let rows = ds.expected_rows(Format::Kaggle);
    assert!(
        rows.iter()
            .any(|r| r.track.chars().any(|c| c.len_utf8() == 4)),
        "no 4-byte chars"
    );
    assert!(rows.iter().any(|r| r.track.contains(',')));
    assert!(rows.iter().any(|r| r.track.is_empty()));
}

#[tokio::test]
async fn failed_or_cancelled_import_leaves_table_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let good = fixture("regional-gb-daily-2018-07-20.csv");
    import_files(
        &store,
        std::slice::from_ref(&good),
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    let before = dump(&store).await;
    assert_eq!(before.len(), 3);

    // strict: a bad row in the second file aborts everything, including the first file's rows
    let strict = ImportOptions {
        strict: true,
        ..Default::default()
    };
    let files = vec![
        fixture("regional-ar-daily-2022-01-05.csv"),
        fixture("kaggle_data.csv"),
    ];
    let err = import_files(&store, &files, &strict, None)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("kaggle_data.csv"), "{err:#}");
    assert_eq!(dump(&store).await, before);

    // strict: the HTML page aborts too
    let err = import_files(
        &store,
        &[fixture("regional-us-daily-2018-07-21.csv")],
        &strict,
        None,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("HTML"), "{err:#}");

    // cancelled mid-way (flag already set: stops at the first check) → unchanged
    let ds = Dataset::generate(&GenConfig::small(2, 30, 200));
    let big = dir.path().join("data.csv");
    ds.write_kaggle(&big).unwrap();
    let flag = Arc::new(AtomicBool::new(true));
    let opts = ImportOptions {
        cancel: Some(flag),
        ..Default::default()
    };
    let err = import_files(&store, &[big], &opts, None).await.unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err:#}");
    assert_eq!(dump(&store).await, before);

    // a per-chart file without date/region in its name needs --country/--date
    let renamed = dir.path().join("chart.csv");
    std::fs::copy(&good, &renamed).unwrap();
    let s = import_files(
        &store,
        std::slice::from_ref(&renamed),
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.rejected_files.len(), 1);
    let opts = ImportOptions {
        country: Some("de".into()),
        date: Some("2019-02-03".into()),
        ..Default::default()
    };
    let s = import_files(&store, &[renamed], &opts, None).await.unwrap();
    assert_eq!(s.inserted, 3, "{s}");
}

#[tokio::test]
async fn ad_hoc_sql_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    import_files(
        &store,
        &[fixture("kaggle_data.csv")],
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    for bad in [
        "DELETE FROM top200",
        "SELECT 1; DELETE FROM top200",
        "WITH x AS (SELECT 1) DELETE FROM top200",
        "UPDATE top200 SET pos = 0",
    ] {
        let e = store.run_query(bad).await.unwrap_err();
        assert!(e.to_string().contains("refused"), "{bad}: {e}");
    }
    let rs = store
        .run_query("SELECT COUNT(*) AS n FROM top200;")
        .await
        .unwrap();
    assert_eq!(rs.rows, vec![vec![Cell::Int(7)]]);
    assert_eq!(rs.columns, ["n"]);
    assert!(
        rs.summary().starts_with("1 row in set ("),
        "{}",
        rs.summary()
    );
}

//! Helpers shared by the spotify integration tests: open a temp SQLite store, dump the table,
//! turn expected rows into cells.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stacktop::spotify::schema::OwnedRow;
use stacktop::spotify::{Cell, SqliteStore, Store};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/spotify")
        .join(name)
}

pub fn sqlite_store(dir: &Path) -> Store {
    let s = SqliteStore::open(&dir.join("charts.sqlite3"), "top200").unwrap();
    Store::Sqlite(std::sync::Arc::new(s))
}

pub const DUMP: &str =
    "SELECT country, list_date, pos, track_id, track, artist, artists, streams, source \
                        FROM top200 ORDER BY country, list_date, pos";

pub fn row_cells(r: &OwnedRow) -> Vec<Cell> {
    vec![
        Cell::Text(r.country.clone()),
        Cell::Text(r.list_date.clone()),
        Cell::Int(i64::from(r.pos)),
        Cell::Text(r.track_id.clone()),
        Cell::Text(r.track.clone()),
        Cell::Text(r.artist.clone()),
        Cell::Text(r.artists.clone()),
        r.streams
            .map(|s| Cell::Int(i64::from(s)))
            .unwrap_or(Cell::Null),
        Cell::Int(i64::from(r.source)),
    ]
}

pub fn sorted_cells(rows: &[OwnedRow]) -> Vec<Vec<Cell>> {
    let mut v = rows.to_vec();
    v.sort_by(|a, b| (&a.country, &a.list_date, a.pos).cmp(&(&b.country, &b.list_date, b.pos)));
    v.iter().map(row_cells).collect()
}

pub async fn dump(store: &Store) -> Vec<Vec<Cell>> {
    store.run_query(DUMP).await.unwrap().rows
}

/// The parameter sets every question is checked with (shared by the SQLite and MariaDB tests).
pub fn param_sets(rows: &[OwnedRow]) -> Vec<stacktop::spotify::questions::Params> {
    use stacktop::spotify::questions::Params;
    let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day);
    let some_track = rows
        .iter()
        .find(|r| r.country == "us" && r.pos == 3)
        .map(|r| r.track_id.clone());
    vec![
        Params::default(),
        Params {
            country: Some("us".into()),
            limit: 5,
            ..Default::default()
        },
        Params {
            country: Some("global".into()),
            from: d(2017, 6, 10),
            to: d(2017, 7, 1),
            ..Default::default()
        },
        Params {
            from: d(2017, 6, 5),
            to: d(2017, 6, 20),
            pos_min: Some(2),
            pos_max: Some(30),
            limit: 20,
            ..Default::default()
        },
        Params {
            country: Some("gb".into()),
            pos_max: Some(10),
            limit: 3,
            ..Default::default()
        },
        Params {
            country: Some("zz".into()),
            ..Default::default()
        },
        Params {
            country: Some("us".into()),
            track_id: some_track,
            ..Default::default()
        },
        // whole months: answered from the summary tables
        Params {
            from: d(2017, 6, 1),
            to: d(2017, 7, 1),
            limit: 15,
            ..Default::default()
        },
        Params {
            country: Some("us".into()),
            from: d(2017, 7, 1),
            limit: 4,
            ..Default::default()
        },
    ]
}

/// Every question with every parameter set: the SQL that runs (summary tables when the
/// parameters allow) answers exactly like the SQL on the chart table. Returns how many
/// answers came from the summaries.
pub async fn summaries_match_chart_table(store: &Store, rows: &[OwnedRow]) -> usize {
    use stacktop::spotify::questions;
    let mut fast = 0;
    for q in questions::list() {
        for p in param_sets(rows) {
            let sql = q.sql(store.table(), store.dialect(), &p).unwrap();
            let raw = q.sql_raw(store.table(), store.dialect(), &p).unwrap();
            let a = store.run_query(&sql).await.unwrap();
            let b = store.run_query(&raw).await.unwrap();
            assert_eq!(a.columns, b.columns, "{}", q.id);
            assert_eq!(
                a.rows, b.rows,
                "question {} with {p:?}\n{sql}\n-- raw:\n{raw}",
                q.id
            );
            fast += usize::from(sql.contains("_sum_"));
        }
    }
    fast
}

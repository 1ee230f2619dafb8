//! Summary tables of the chart table, kept up to date by the import in the same transaction
//! as the rows (a failed or cancelled import changes neither), so the ready-made questions
//! read a few ten thousand rows instead of a million (`questions`, the `fast` forms):
//!
//! - `<table>_sum_track`: per country, month and track id: chart rows, rows at #1, streams,
//!   first and last chart day, smallest title and artist (the name look-ups); indexed by
//!   track id.
//! - `<table>_sum_artist`: per country, month and (primary) artist: chart rows and streams.
//! - `<table>_sum_ones`: the #1 of every chart (country, day, track id).
//! - `<table>_sum_track_all`: per track id and month over all countries (from `_sum_track`):
//!   chart rows, streams outside `global`, rows outside `global`, smallest title and artist;
//!   clustered on the track id, so the track-level questions without a country read a few
//!   thousand rows in track order instead of grouping every country's rows.
//!
//! An import recomputes every (country, month) it touched from the chart table (and the
//! all-countries rows of those months from `_sum_track`); a MySQL import into an empty table
//! builds everything with one grouped statement per table instead. A store whose summaries
//! are missing (a table loaded by an earlier version) gets them built once, when it is opened.
//! Writing into the chart table by other means leaves them stale.
//!
//! Data flow: store import → [`refresh_sqlite`] / the MySQL statements here → summary tables
//! ← `questions` SQL.

use std::collections::BTreeSet;

use anyhow::{anyhow, Result};
use chrono::{Months, NaiveDate};
use rusqlite::{params, Connection};

/// Table name suffixes.
pub const TRACK: &str = "_sum_track";
pub const ARTIST: &str = "_sum_artist";
pub const ONES: &str = "_sum_ones";
pub const TRACK_ALL: &str = "_sum_track_all";
pub const ALL: [&str; 4] = [TRACK, ARTIST, ONES, TRACK_ALL];

/// The longest chart table name: MySQL identifiers have at most 64 characters, and the
/// summary tables append their suffix.
pub const MAX_TABLE_NAME: usize = 64 - TRACK_ALL.len();

/// Refuse a chart table name that leaves no room for the summary suffixes.
pub fn check_table_name(t: &str) -> Result<()> {
    if t.len() > MAX_TABLE_NAME {
        return Err(anyhow!(
            "table name {t:?} has {} characters: at most {MAX_TABLE_NAME}, so that its summary \
             tables ({t}{TRACK_ALL} …) stay within MySQL's 64-character identifiers",
            t.len()
        ));
    }
    Ok(())
}

/// A (country, first day of the month) whose summary rows must be recomputed.
pub type Group = (String, String);

/// The group of a chart row: its country and the first day of its month (`YYYY-MM-01`).
pub fn group_of(country: &str, list_date: &str) -> Group {
    let month = list_date.get(..8).unwrap_or(list_date);
    (country.to_string(), format!("{month}01"))
}

/// `YYYY-MM-01` of the month after `month`.
fn next_month(month: &str) -> Result<String> {
    let d = NaiveDate::parse_from_str(month, "%Y-%m-%d")
        .map_err(|e| anyhow!("summary: bad month {month:?}: {e}"))?;
    let n = d
        .checked_add_months(Months::new(1))
        .ok_or_else(|| anyhow!("summary: no month after {month}"))?;
    Ok(n.format("%Y-%m-%d").to_string())
}

/// SQLite DDL of the summary tables.
pub fn sqlite_ddl(t: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {t}{TRACK} (
  country TEXT NOT NULL, month TEXT NOT NULL, track_id TEXT NOT NULL,
  days INTEGER NOT NULL, days_at_1 INTEGER NOT NULL, streams INTEGER NULL,
  first_day TEXT NOT NULL, last_day TEXT NOT NULL, track TEXT NOT NULL, artist TEXT NOT NULL,
  PRIMARY KEY (country, month, track_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {t}{TRACK}_ix_track ON {t}{TRACK} (track_id);
CREATE TABLE IF NOT EXISTS {t}{ARTIST} (
  country TEXT NOT NULL, month TEXT NOT NULL, artist TEXT NOT NULL,
  entries INTEGER NOT NULL, streams INTEGER NULL,
  PRIMARY KEY (country, month, artist)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {t}{ONES} (
  country TEXT NOT NULL, list_date TEXT NOT NULL, track_id TEXT NOT NULL,
  PRIMARY KEY (country, list_date)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {t}{TRACK_ALL} (
  track_id TEXT NOT NULL, month TEXT NOT NULL, days INTEGER NOT NULL, streams INTEGER NULL,
  local_rows INTEGER NOT NULL, track TEXT NOT NULL, artist TEXT NOT NULL,
  PRIMARY KEY (track_id, month)
) WITHOUT ROWID;"
    )
}

/// `SELECT` of the all-countries rows from `<t>_sum_track` (append a `WHERE` and
/// `GROUP BY track_id, month`): `streams` and `local_rows` leave `global` out, `days` does not
/// (what `track-streams` and `track-days` count without a country).
fn track_all_select(t: &str) -> String {
    format!(
        "SELECT track_id, month, SUM(days), \
         SUM(CASE WHEN country <> 'global' THEN streams END), \
         SUM(CASE WHEN country <> 'global' THEN 1 ELSE 0 END), MIN(track), MIN(artist) \
         FROM {t}{TRACK}"
    )
}

const TRACK_ALL_COLS: &str = "track_id, month, days, streams, local_rows, track, artist";

/// `true` when all summary tables of `t` exist in the SQLite database.
pub fn sqlite_present(conn: &Connection, t: &str) -> Result<bool> {
    let mut n = 0i64;
    for s in ALL {
        n += conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [format!("{t}{s}")],
            |r| r.get::<_, i64>(0),
        )?;
    }
    Ok(n == ALL.len() as i64)
}

/// Every group present in the chart table.
pub fn sqlite_all_groups(conn: &Connection, t: &str) -> Result<BTreeSet<Group>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT country, substr(list_date, 1, 8) || '01' FROM {t}"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Empty the summary tables of `t`.
pub fn sqlite_clear(conn: &Connection, t: &str) -> Result<()> {
    for s in ALL {
        conn.execute_batch(&format!("DELETE FROM {t}{s}"))?;
    }
    Ok(())
}

/// Recompute the summary rows of `groups` from the chart table `t` (inside the caller's
/// transaction; creates the tables if needed).
pub fn refresh_sqlite(conn: &Connection, t: &str, groups: &BTreeSet<Group>) -> Result<()> {
    conn.execute_batch(&sqlite_ddl(t))?;
    let range = "country = ?1 AND list_date >= ?2 AND list_date < ?3";
    let stmts = [
        format!("DELETE FROM {t}{TRACK} WHERE country = ?1 AND month = ?2 AND ?3 IS NOT NULL"),
        format!(
            "INSERT INTO {t}{TRACK} (country, month, track_id, days, days_at_1, streams, \
             first_day, last_day, track, artist) \
             SELECT country, ?2, track_id, COUNT(*), SUM(pos = 1), SUM(streams), MIN(list_date), \
             MAX(list_date), MIN(track), MIN(artist) FROM {t} WHERE {range} GROUP BY track_id"
        ),
        format!("DELETE FROM {t}{ARTIST} WHERE country = ?1 AND month = ?2 AND ?3 IS NOT NULL"),
        format!(
            "INSERT INTO {t}{ARTIST} (country, month, artist, entries, streams) \
             SELECT country, ?2, artist, COUNT(*), SUM(streams) FROM {t} WHERE {range} \
             GROUP BY artist"
        ),
        format!("DELETE FROM {t}{ONES} WHERE {range}"),
        format!(
            "INSERT INTO {t}{ONES} (country, list_date, track_id) \
             SELECT country, list_date, track_id FROM {t} WHERE {range} AND pos = 1"
        ),
    ];
    let mut prepared = stmts
        .iter()
        .map(|s| conn.prepare(s))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (country, month) in groups {
        let next = next_month(month)?;
        for st in prepared.iter_mut() {
            st.execute(params![country, month, next])?;
        }
    }
    // The all-countries rows of every month touched, from the per-country rows just written.
    let months: BTreeSet<&String> = groups.iter().map(|(_, m)| m).collect();
    let mut del = conn.prepare(&format!("DELETE FROM {t}{TRACK_ALL} WHERE month = ?1"))?;
    let mut ins = conn.prepare(&format!(
        "INSERT INTO {t}{TRACK_ALL} ({TRACK_ALL_COLS}) {} WHERE month = ?1 \
         GROUP BY track_id, month",
        track_all_select(t)
    ))?;
    for m in months {
        del.execute([m])?;
        ins.execute([m])?;
    }
    Ok(())
}

/// MySQL/MariaDB DDL of the summary tables (names with the table's binary collation).
pub fn mysql_ddl(t: &str, coll: &str) -> [String; 4] {
    let cc = "VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL";
    let id = "CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL";
    let name = format!("VARCHAR(512) CHARACTER SET utf8mb4 COLLATE {coll} NOT NULL");
    let tail = format!("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={coll}");
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {t}{TRACK} (country {cc}, month DATE NOT NULL, \
             track_id {id}, days INT UNSIGNED NOT NULL, days_at_1 INT UNSIGNED NOT NULL, \
             streams BIGINT UNSIGNED NULL, first_day DATE NOT NULL, last_day DATE NOT NULL, \
             track {name}, artist {name}, PRIMARY KEY (country, month, track_id), \
             KEY ix_track (track_id)) {tail}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {t}{ARTIST} (country {cc}, month DATE NOT NULL, \
             artist {name}, entries INT UNSIGNED NOT NULL, streams BIGINT UNSIGNED NULL, \
             PRIMARY KEY (country, month, artist)) {tail}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {t}{ONES} (country {cc}, list_date DATE NOT NULL, \
             track_id {id}, PRIMARY KEY (country, list_date)) {tail}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {t}{TRACK_ALL} (track_id {id}, month DATE NOT NULL, \
             days INT UNSIGNED NOT NULL, streams BIGINT UNSIGNED NULL, \
             local_rows INT UNSIGNED NOT NULL, track {name}, artist {name}, \
             PRIMARY KEY (track_id, month)) {tail}"
        ),
    ]
}

/// The MySQL import's temporary table of groups to recompute.
pub const MYSQL_GROUPS: &str = "stacktop_import_groups";

/// `CREATE TEMPORARY TABLE` for [`MYSQL_GROUPS`].
pub fn mysql_groups_ddl() -> String {
    format!(
        "CREATE TEMPORARY TABLE {MYSQL_GROUPS} (country VARCHAR(8) CHARACTER SET ascii \
         COLLATE ascii_bin NOT NULL, month DATE NOT NULL, PRIMARY KEY (country, month))"
    )
}

/// Fill [`MYSQL_GROUPS`] with the groups of the rows in `from` (the chart or staging table).
pub fn mysql_groups_from(from: &str) -> String {
    format!(
        "INSERT IGNORE INTO {MYSQL_GROUPS} (country, month) \
         SELECT DISTINCT country, DATE_FORMAT(list_date, '%Y-%m-01') FROM {from}"
    )
}

/// Statements that recompute the groups in [`MYSQL_GROUPS`] from `t` (run inside the import's
/// transaction).
pub fn mysql_refresh(t: &str) -> Vec<String> {
    let g = MYSQL_GROUPS;
    let join = format!(
        "FROM {g} g JOIN {t} c ON c.country = g.country AND c.list_date >= g.month \
         AND c.list_date < g.month + INTERVAL 1 MONTH"
    );
    vec![
        format!(
            "DELETE s FROM {t}{TRACK} s JOIN {g} g ON s.country = g.country AND s.month = g.month"
        ),
        format!(
            "INSERT INTO {t}{TRACK} (country, month, track_id, days, days_at_1, streams, \
             first_day, last_day, track, artist) \
             SELECT g.country, g.month, c.track_id, COUNT(*), SUM(c.pos = 1), SUM(c.streams), \
             MIN(c.list_date), MAX(c.list_date), MIN(c.track), MIN(c.artist) {join} \
             GROUP BY g.country, g.month, c.track_id"
        ),
        format!(
            "DELETE s FROM {t}{ARTIST} s JOIN {g} g ON s.country = g.country AND s.month = g.month"
        ),
        format!(
            "INSERT INTO {t}{ARTIST} (country, month, artist, entries, streams) \
             SELECT g.country, g.month, c.artist, COUNT(*), SUM(c.streams) {join} \
             GROUP BY g.country, g.month, c.artist"
        ),
        format!(
            "DELETE s FROM {t}{ONES} s JOIN {g} g ON s.country = g.country \
             AND s.list_date >= g.month AND s.list_date < g.month + INTERVAL 1 MONTH"
        ),
        format!(
            "INSERT INTO {t}{ONES} (country, list_date, track_id) \
             SELECT c.country, c.list_date, c.track_id {join} AND c.pos = 1"
        ),
        format!(
            "DELETE s FROM {t}{TRACK_ALL} s JOIN (SELECT DISTINCT month FROM {g}) m \
             ON s.month = m.month"
        ),
        format!(
            "INSERT INTO {t}{TRACK_ALL} ({TRACK_ALL_COLS}) {} \
             WHERE month IN (SELECT DISTINCT month FROM {g}) GROUP BY track_id, month",
            track_all_select(t)
        ),
    ]
}

/// Statements that build the summary tables from the whole chart table `t`, one grouped
/// `INSERT … SELECT` each (a full load: the caller has emptied them, in its transaction).
/// Sorting (`SQL_BIG_RESULT`) beats MariaDB's temporary table keyed on the group for the
/// ~100k groups of a million rows.
pub fn mysql_build_all(t: &str) -> Vec<String> {
    let month = "DATE_FORMAT(list_date, '%Y-%m-01')";
    vec![
        format!(
            "INSERT INTO {t}{TRACK} (country, month, track_id, days, days_at_1, streams, \
             first_day, last_day, track, artist) \
             SELECT SQL_BIG_RESULT country, {month}, track_id, COUNT(*), SUM(pos = 1), \
             SUM(streams), MIN(list_date), MAX(list_date), MIN(track), MIN(artist) FROM {t} \
             GROUP BY country, {month}, track_id"
        ),
        format!(
            "INSERT INTO {t}{ARTIST} (country, month, artist, entries, streams) \
             SELECT SQL_BIG_RESULT country, {month}, artist, COUNT(*), SUM(streams) FROM {t} \
             GROUP BY country, {month}, artist"
        ),
        format!(
            "INSERT INTO {t}{ONES} (country, list_date, track_id) \
             SELECT country, list_date, track_id FROM {t} WHERE pos = 1"
        ),
        format!(
            "INSERT INTO {t}{TRACK_ALL} ({TRACK_ALL_COLS}) {} GROUP BY track_id, month",
            track_all_select(t)
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_months() {
        assert_eq!(
            group_of("us", "2017-06-14"),
            ("us".to_string(), "2017-06-01".to_string())
        );
        assert_eq!(next_month("2017-12-01").unwrap(), "2018-01-01");
        assert_eq!(next_month("2016-02-01").unwrap(), "2016-03-01");
        assert!(next_month("x").is_err());
    }

    #[test]
    fn table_names_leave_room_for_the_suffixes() {
        let longest = "t".repeat(MAX_TABLE_NAME);
        check_table_name(&longest).unwrap();
        for s in ALL {
            assert!(format!("{longest}{s}").len() <= 64, "{s}");
        }
        let e = check_table_name(&format!("{longest}x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 50"), "{e}");
    }
}

//! Shared helpers for the replication fixture tests: load recorded captures from
//! tests/fixtures/mysql/ and turn them into snapshots through the library's own code path
//! (capture → RawRefresh → snapshot::build), exactly like live rows.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use stacktop::repl::capture::{fixture_refresh, parse_tabular, parse_vertical, section, sections};
use stacktop::repl::snapshot::{build, RawRefresh};
use stacktop::repl::{flavor, Row, ServerRole, ServerSnapshot};

pub fn read(rel: &str) -> String {
    let p = format!("{}/tests/fixtures/mysql/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {p}: {e}"))
}

pub fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 19, 15, 0).unwrap()
}

/// A snapshot from a standard-layout MySQL fixture.
pub fn mysql(file: &str, name: &str, addr: &str, role: ServerRole) -> ServerSnapshot {
    let (info, raw) = fixture_refresh(&read(file)).unwrap();
    build(name, addr, role, info, raw, at())
}

pub fn maria_info() -> flavor::ServerInfo {
    flavor::detect("10.11.19-MariaDB-0+deb12u1-log", "Debian 12").unwrap()
}

/// Rows of the first `===== ... =====` section whose title contains `needle`.
pub fn maria_rows(file: &str, needle: &str, vertical: bool) -> Vec<Row> {
    let text = read(&format!("mariadb/{file}"));
    let secs = sections(&text);
    let body = section(&secs, needle).unwrap_or_else(|| panic!("{file}: no section {needle}"));
    if vertical {
        parse_vertical(body)
    } else {
        parse_tabular(body)
    }
}

/// The lab replica (127.0.0.1:23307) with the given status rows and the captured variables.
pub fn maria_replica(status: Vec<Row>) -> ServerSnapshot {
    let mut raw = RawRefresh::empty();
    raw.status = Ok(status);
    raw.variables = Ok(maria_rows(
        "variables-and-tables.txt",
        "replica: crash-safety",
        false,
    ));
    raw.engines = Ok(maria_rows(
        "variables-and-tables.txt",
        "gtid_slave_pos* engines",
        false,
    ));
    raw.table_probes = vec![("gtid_slave_pos".into(), Ok(()))];
    build(
        "replica",
        "127.0.0.1:23307",
        ServerRole::Auto,
        maria_info(),
        raw,
        at(),
    )
}

/// The lab primary (127.0.0.1:23306): captured durability variables and binlog list.
/// `oldest_pos` is what BINLOG_GTID_POS(<oldest binlog>, 4) returned ("" = first binlog).
pub fn maria_primary(oldest_pos: &str) -> ServerSnapshot {
    let mut raw = RawRefresh::empty();
    raw.variables = Ok(maria_rows(
        "variables-and-tables.txt",
        "primary: durability variables",
        false,
    ));
    raw.binlogs = Some(Ok(maria_rows(
        "variables-and-tables.txt",
        "primary: SHOW BINARY LOGS",
        false,
    )));
    raw.binlog_gtid_pos = Some(Ok(Some(oldest_pos.to_string())));
    raw.replica_hosts = Some(Ok(Vec::new()));
    build(
        "primary",
        "127.0.0.1:23306",
        ServerRole::Auto,
        maria_info(),
        raw,
        at(),
    )
}

pub fn healthy_rows() -> Vec<Row> {
    maria_rows(
        "status-healthy.txt",
        "SHOW ALL SLAVES STATUS (vertical)",
        true,
    )
}

/// Set a column of the row whose connection name is `conn`.
pub fn set(rows: &mut [Row], conn: &str, col: &str, val: Option<&str>) {
    let row = rows
        .iter_mut()
        .find(|r| {
            r.iter()
                .any(|(k, v)| k == "Connection_name" && v.as_deref() == Some(conn))
        })
        .expect("connection present");
    match row.iter_mut().find(|(k, _)| k == col) {
        Some(slot) => slot.1 = val.map(str::to_string),
        None => row.push((col.to_string(), val.map(str::to_string))),
    }
}

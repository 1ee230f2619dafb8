//! T1: the `mysql.*` InnoDB statistics and replication metadata tables must be readable.
//! After crashes they can be listed by the dictionary yet fail every query (missing
//! tablespace). The collector probes each with `SELECT 1 FROM mysql.<t> LIMIT 1`; here a
//! failure becomes CRIT with the ordered recovery steps, a privilege error UNKNOWN with the grant.

use super::{ServerCheck, Severity};
use crate::repl::flavor::Version;

/// Tables the collector lists and probes.
pub const PROBED_TABLES: &[&str] = &[
    "innodb_table_stats",
    "innodb_index_stats",
    "slave_master_info",
    "slave_relay_log_info",
    "slave_worker_info",
    "gtid_executed",
    "gtid_slave_pos",
];

/// T1: every probed system table is readable.
pub(super) fn system_tables(ctx: &mut ServerCheck) {
    let probed: Vec<_> = ctx.s.tables.clone();
    if probed.is_empty() {
        return;
    }
    let mut any_bad = false;
    for t in &probed {
        let Some(e) = &t.error else { continue };
        any_bad = true;
        if e.is_privilege() {
            ctx.unknown(
                format!("mysql.{} not probed: {e}", t.table),
                &format!("SELECT ON mysql.{}", t.table),
            );
            continue;
        }
        let steps = recovery_steps(ctx, &t.table);
        ctx.report(
            Severity::Crit,
            format!("mysql.{} is listed but cannot be read: {e}", t.table),
            steps,
        );
    }
    if !any_bad {
        let names: Vec<&str> = probed.iter().map(|t| t.table.as_str()).collect();
        ctx.report(
            Severity::Pass,
            format!("readable: mysql.{}", names.join(", mysql.")),
            Vec::new(),
        );
    }
}

/// Ordered recovery for a dictionary entry whose tablespace is gone.
fn recovery_steps(ctx: &ServerCheck, table: &str) -> Vec<String> {
    let info = ctx.info;
    let upgrade = if info.is_mariadb() {
        "mariadb-upgrade --force"
    } else if info.version >= Version::new(8, 0, 16) {
        "restart with mysqld --upgrade=FORCE"
    } else {
        "mysql_upgrade --force"
    };
    let frm = if info.is_mysql_family() && info.version >= Version::new(8, 0, 0) {
        ".ibd"
    } else {
        ".ibd and .frm"
    };
    let mut v = Vec::new();
    if table.starts_with("slave_") {
        v.push(format!(
            "-- 0. {} (the replica's position is in this table: note SHOW REPLICA STATUS first)",
            info.stop_all_sql()
        ));
    }
    v.extend([
        format!("-- 1. DROP TABLE mysql.{table};"),
        format!("-- 2. if DROP fails (tablespace exists / orphan): ALTER TABLE mysql.{table} DISCARD TABLESPACE; then DROP TABLE mysql.{table};"),
        format!("-- 3. stop the server and remove leftover <datadir>/mysql/{table} {frm} files"),
        "-- 4. restart the server".to_string(),
        format!("-- 5. recreate the system table: {upgrade}"),
    ]);
    if table.starts_with("slave_") || table == "gtid_slave_pos" {
        v.push(
            "-- 6. re-point replication (CHANGE REPLICATION SOURCE / CHANGE MASTER) and start it"
                .into(),
        );
    }
    v
}

//! The audit catalogue: one row per check — its id (stable: shown, in JSON, in `--check`), its
//! title, the servers it runs on (replica / primary side) and the flavors and versions it
//! applies to, the worst severity it can report, its fix text — and the function that runs it.
//! `audit::run` walks this table; nothing else decides which checks exist. Adding a check is
//! one function (in `replica`, `replica_server`, `primary`, `tables` or `cross`) plus one row.

use super::row::{mysql_before, mysql_from, row, Run, MARIADB, MYSQL};
pub use super::row::{Applies, Check, Side, Versions, ALL};
use super::{cross, primary, replica, replica_server, tables, Severity};
use crate::repl::flavor::Version;

use Severity::*;

/// C0, the audit's precondition: results carry the title "server reachable", or "variables
/// readable" when the server answers but `SHOW GLOBAL VARIABLES` does not.
pub const C0: Check = row(
    "C0",
    "server reachable",
    ALL,
    Unknown,
    "(none: connect to the server and make SHOW GLOBAL VARIABLES readable; then the audit runs)",
    Run::Precondition,
);

use Run::{Cross, Server};
use Side::{Every, Primary as Pri, Replica as Rep, Replication as Both};

/// Every check of the audit, in id order (the order of the listing). One row per line.
#[rustfmt::skip]
pub static CATALOGUE: &[Check] = &[
    C0,
    row("P1", "binary log", ALL, Crit, "log_bin = binlog (restart required)", Server(Pri, primary::binary_log)),
    row("P2", "sync_binlog", ALL, Warn, "sync_binlog = 1; SET GLOBAL sync_binlog = 1;", Server(Pri, primary::sync_binlog)),
    row("P3", "InnoDB durability", ALL, Warn, "innodb_flush_log_at_trx_commit = 1; SET GLOBAL innodb_flush_log_at_trx_commit = 1;", Server(Pri, primary::innodb_durability)),
    row("P4", "binlog format", ALL, Warn, "binlog_format = ROW", Server(Pri, primary::binlog_format)),
    row("P5", "binlog retention", ALL, Warn, "binlog_expire_logs_seconds = 1209600 (MySQL 8.0+, MariaDB 10.6.1+), else expire_logs_days = 14; and SET GLOBAL", Server(Pri, primary::time_retention)),
    row("P6", "binlog size retention", ALL, Warn, "binlog_space_limit = 0 / max_binlog_total_size = 0", Server(Pri, primary::size_retention)),
    row("P7", "replica can resume from source binlogs", ALL, Crit, "re-seed the replica (CLONE INSTANCE / backup, then SOURCE_AUTO_POSITION=1 or gtid_slave_pos), then raise binlog retention (P5)", Cross(cross::resume)),
    row("P8", "GTID", ALL, Warn, "gtid_mode = ON, enforce_gtid_consistency = ON (MySQL); gtid_strict_mode = ON (MariaDB)", Server(Both, primary::gtid_config)),
    row("P9", "errant transactions", ALL, Warn, "investigate the local transactions, then inject empty transactions on the source or re-clone; set (super_)read_only = ON", Cross(cross::errant)),
    row("P10", "semi-sync", ALL, Warn, "(none: find why the semi-sync replicas stopped acknowledging)", Server(Pri, primary::semi_sync)),
    row("R0", "replica status readable", ALL, Unknown, "GRANT REPLICATION CLIENT (MySQL) / SLAVE MONITOR (MariaDB 10.5.9+) TO '<monitor user>'@'<host>';", Server(Rep, replica::status_readable)),
    row("R1", "applier metadata repository", MYSQL, Crit, "relay_log_info_repository = TABLE (5.x); delete the FILE line (8.0)", Server(Rep, replica::applier_repository)),
    row("R2", "connection metadata repository", MYSQL, Warn, "master_info_repository = TABLE (5.x); delete the FILE line (8.0)", Server(Rep, replica::connection_repository)),
    row("R3", "metadata table engine", mysql_before(Version::new(8, 0, 0)), Crit, "STOP SLAVE; ALTER TABLE mysql.slave_* ENGINE=InnoDB; START SLAVE;", Server(Rep, replica::repository_engines)),
    row("R4", "relay log recovery", ALL, Crit, "relay_log_recovery = ON", Server(Rep, replica::relay_log_recovery)),
    Check {
        title_mariadb: Some("GTID positioning"),
        ..row("R5", "GTID auto-position", ALL, Warn, "CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION=1 (MySQL 8.0.23+; CHANGE MASTER TO MASTER_AUTO_POSITION=1 before); CHANGE MASTER 'c' TO MASTER_USE_GTID=slave_pos (MariaDB)", Server(Rep, replica::gtid_positioning))
    },
    row("R6", "gtid_slave_pos engine", MARIADB, Crit, "STOP ALL SLAVES; ALTER TABLE mysql.gtid_slave_pos ENGINE=InnoDB; START ALL SLAVES;", Server(Rep, replica::gtid_slave_pos_engine)),
    row("R7", "sync_source_info / sync_master_info", ALL, Warn, "sync_source_info = 1 (sync_master_info before 8.0.26); SET GLOBAL", Server(Rep, replica::sync_source_info)),
    row("R8", "sync_relay_log_info", ALL, Warn, "sync_relay_log_info = 1; SET GLOBAL sync_relay_log_info = 1;", Server(Rep, replica::sync_relay_log_info)),
    row("R9", "sync_relay_log", ALL, Info, "sync_relay_log = 1 (informational)", Server(Rep, replica::sync_relay_log)),
    row("R10", "parallel applier commit order", mysql_from(Version::new(5, 7, 0)), Warn, "replica_preserve_commit_order = ON, replica_parallel_type = LOGICAL_CLOCK (slave_* before 8.0.26)", Server(Rep, replica_server::commit_order)),
    row("R11", "replica binlog durability", ALL, Warn, "sync_binlog = 1, innodb_flush_log_at_trx_commit = 1; and SET GLOBAL", Server(Rep, replica_server::binlog_durability)),
    row("R12", "read-only replica", ALL, Warn, "read_only = ON, super_read_only = ON (MySQL); SET GLOBAL super_read_only = ON;", Server(Rep, replica_server::read_only)),
    row("R13", "skip errors", ALL, Crit, "remove the replica_skip_errors / slave_skip_errors line, then restart", Server(Rep, replica_server::skip_errors)),
    row("R14", "relay log space limit", ALL, Warn, "relay_log_space_limit = 0", Server(Rep, replica_server::relay_log_space_limit)),
    row("R15", "source failure detection", ALL, Warn, "replica_net_timeout = 60; SET GLOBAL; per channel CHANGE MASTER 'c' TO MASTER_HEARTBEAT_PERIOD=5", Server(Rep, replica_server::failure_detection)),
    row("R16", "log replica updates", ALL, Warn, "log_replica_updates = ON (log_slave_updates before 8.0.26)", Server(Rep, replica_server::log_replica_updates)),
    row("R17", "unique server identity", ALL, Crit, "server_id = <unique number>; a cloned datadir: delete <datadir>/auto.cnf and restart", Cross(cross::unique_ids)),
    row("T1", "system table readable", ALL, Crit, "DROP TABLE mysql.<t> (DISCARD TABLESPACE first if needed), remove leftover files, restart, mysql_upgrade / mysqld --upgrade=FORCE / mariadb-upgrade --force", Server(Every, tables::system_tables)),
];

/// The catalogue row of `id`.
pub fn find(id: &str) -> Option<&'static Check> {
    CATALOGUE.iter().find(|c| c.id == id)
}

/// The catalogue as text, one line per check: id, title, side, versions, worst severity, fix.
/// For the `?` overlay and batch output.
pub fn listing() -> Vec<String> {
    CATALOGUE
        .iter()
        .map(|c| {
            let title = match c.title_mariadb {
                Some(m) => format!("{} (MariaDB: {m})", c.title),
                None => c.title.to_string(),
            };
            format!(
                "{:<4} {title} [{}; {}] up to {}: {}",
                c.id,
                c.side_label(),
                c.applies.label(),
                c.worst.label(),
                c.fix
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repl::flavor::{detect, ServerInfo};

    fn info(v: &str) -> ServerInfo {
        detect(v, "").expect("version")
    }

    #[test]
    fn version_gates_keep_the_audit_bounds() {
        let r3 = find("R3").expect("R3");
        assert!(r3.applies.contains(&info("5.7.44-log")));
        assert!(!r3.applies.contains(&info("8.0.0")));
        assert!(!r3.applies.contains(&info("10.11.19-MariaDB")));
        let r10 = find("R10").expect("R10");
        assert!(!r10.applies.contains(&info("5.6.51")));
        assert!(r10.applies.contains(&info("5.7.0")));
        assert!(r10.applies.contains(&info("8.4.3")));
        let r6 = find("R6").expect("R6");
        assert!(r6.applies.contains(&info("11.4.2-MariaDB")));
        assert!(!r6.applies.contains(&info("8.0.36")));
        assert_eq!(r3.applies.label(), "MySQL < 8.0.0 · MariaDB —");
        assert_eq!(r10.applies.label(), "MySQL 5.7.0+ · MariaDB —");
        assert!(Versions {
            from: Version::new(8, 0, 0),
            until: Some(Version::new(8, 0, 0)),
        }
        .is_empty());
    }

    #[test]
    fn results_carry_the_row_id_and_the_flavor_title() {
        let r5 = find("R5").expect("R5");
        assert_eq!(r5.title_for(Some(&info("8.0.36"))), "GTID auto-position");
        assert_eq!(
            r5.title_for(Some(&info("10.11.19-MariaDB"))),
            "GTID positioning"
        );
        assert_eq!(r5.side_label(), "replica");
        assert_eq!(C0.side_label(), "precondition");
        assert_eq!(find("P7").map(Check::side_label), Some("cross-server"));
    }
}

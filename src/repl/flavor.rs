//! Flavor and version detection, and the version-gated choice of statements. Sits between the
//! collector's first query (`SELECT @@version, @@version_comment`) and every later query: the
//! collector asks this module which statement to send, and `status`/`audit` ask which names apply.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Flavor {
    MySql,
    Percona,
    MariaDb,
}

impl Flavor {
    pub fn label(self) -> &'static str {
        match self {
            Flavor::MySql => "MySQL",
            Flavor::Percona => "Percona Server",
            Flavor::MariaDb => "MariaDB",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

impl Version {
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parse the leading `X.Y.Z` of a version string such as `10.11.19-MariaDB-0+deb12u1-log`
    /// or `8.0.36-28`. Missing minor/patch read as 0. `None` when there is no leading number.
    pub fn parse(s: &str) -> Option<Version> {
        let head: String = s
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut it = head.split('.').filter(|p| !p.is_empty());
        let major = it.next()?.parse().ok()?;
        let minor = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let patch = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What a server is, detected once per connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub flavor: Flavor,
    pub version: Version,
    /// `@@version` as reported.
    pub version_string: String,
    pub version_comment: String,
}

/// Why detection failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot understand server version {0:?}")]
pub struct DetectError(pub String);

/// Detect flavor and version from `@@version` and `@@version_comment`.
pub fn detect(version: &str, comment: &str) -> Result<ServerInfo, DetectError> {
    let mut v = Version::parse(version).ok_or_else(|| DetectError(version.to_string()))?;
    let lower_v = version.to_ascii_lowercase();
    let lower_c = comment.to_ascii_lowercase();
    let flavor = if lower_v.contains("mariadb") || lower_c.contains("mariadb") {
        // Old MariaDB (10.x via the replication protocol) may report "5.5.5-10.x.y-MariaDB".
        if v.major == 5 && v.minor == 5 && v.patch == 5 {
            if let Some(rest) = version.strip_prefix("5.5.5-") {
                if let Some(real) = Version::parse(rest) {
                    v = real;
                }
            }
        }
        Flavor::MariaDb
    } else if lower_c.contains("percona") {
        Flavor::Percona
    } else {
        Flavor::MySql
    };
    Ok(ServerInfo {
        flavor,
        version: v,
        version_string: version.to_string(),
        version_comment: comment.to_string(),
    })
}

impl ServerInfo {
    pub fn is_mariadb(&self) -> bool {
        self.flavor == Flavor::MariaDb
    }
    /// MySQL or Percona (same replication code base).
    pub fn is_mysql_family(&self) -> bool {
        !self.is_mariadb()
    }
    /// MySQL family at or above `v`.
    pub fn mysql_at_least(&self, v: Version) -> bool {
        self.is_mysql_family() && self.version >= v
    }
    pub fn mariadb_at_least(&self, v: Version) -> bool {
        self.is_mariadb() && self.version >= v
    }

    /// MySQL ≥ 8.0.22 uses `SHOW REPLICA STATUS` with `Replica_*`/`Source_*` columns.
    pub fn uses_replica_syntax(&self) -> bool {
        self.mysql_at_least(Version::new(8, 0, 22))
    }

    /// The statement listing every replication channel / connection of this server.
    pub fn replica_status_sql(&self) -> &'static str {
        if self.is_mariadb() {
            // Only the ALL form shows named connections; columns keep Slave_*/Master_* names.
            "SHOW ALL SLAVES STATUS"
        } else if self.uses_replica_syntax() {
            "SHOW REPLICA STATUS"
        } else {
            "SHOW SLAVE STATUS"
        }
    }

    /// The statement giving the current binlog file/position.
    pub fn binlog_status_sql(&self) -> &'static str {
        if self.mysql_at_least(Version::new(8, 2, 0)) {
            "SHOW BINARY LOG STATUS"
        } else {
            "SHOW MASTER STATUS"
        }
    }

    /// The statement listing replicas registered on this primary.
    pub fn replica_hosts_sql(&self) -> &'static str {
        if self.uses_replica_syntax() {
            "SHOW REPLICAS"
        } else {
            "SHOW SLAVE HOSTS"
        }
    }

    /// The grant needed for the replica status statement, named for this flavor/version.
    pub fn status_grant(&self) -> &'static str {
        if self.mariadb_at_least(Version::new(10, 5, 9)) {
            "SLAVE MONITOR"
        } else {
            "REPLICATION CLIENT"
        }
    }

    /// The grant needed for `SHOW BINARY LOGS` / binlog status.
    pub fn binlog_grant(&self) -> &'static str {
        if self.mariadb_at_least(Version::new(10, 5, 2)) {
            "BINLOG MONITOR"
        } else {
            "REPLICATION CLIENT"
        }
    }

    /// The grant needed to list the replicas of this primary.
    pub fn replica_hosts_grant(&self) -> &'static str {
        if self.is_mariadb() {
            "REPLICATION MASTER ADMIN"
        } else {
            "REPLICATION SLAVE"
        }
    }

    /// The my.cnf section name to show in fixes.
    pub fn cnf_section(&self) -> &'static str {
        if self.is_mariadb() {
            "[mariadbd]"
        } else {
            "[mysqld]"
        }
    }

    /// Pick the name of a variable that was renamed in MySQL 8.0.26 (`replica`/`source` terms).
    pub fn var_name(&self, new: &'static str, old: &'static str) -> &'static str {
        if self.mysql_at_least(Version::new(8, 0, 26)) {
            new
        } else {
            old
        }
    }

    /// `STOP REPLICA` / `STOP SLAVE` / MariaDB `STOP ALL SLAVES`.
    pub fn stop_all_sql(&self) -> &'static str {
        if self.is_mariadb() {
            "STOP ALL SLAVES;"
        } else if self.uses_replica_syntax() {
            "STOP REPLICA;"
        } else {
            "STOP SLAVE;"
        }
    }

    pub fn start_all_sql(&self) -> &'static str {
        if self.is_mariadb() {
            "START ALL SLAVES;"
        } else if self.uses_replica_syntax() {
            "START REPLICA;"
        } else {
            "START SLAVE;"
        }
    }
}

/// Every variable any check may read, across all flavors and versions. Absent rows in
/// `SHOW GLOBAL VARIABLES WHERE Variable_name IN (...)` simply mean "not on this version".
pub const VARIABLES: &[&str] = &[
    "server_id",
    "server_uuid",
    "gtid_domain_id",
    "read_only",
    "super_read_only",
    "log_bin",
    "sync_binlog",
    "innodb_flush_log_at_trx_commit",
    "binlog_format",
    "expire_logs_days",
    "binlog_expire_logs_seconds",
    "binlog_expire_logs_auto_purge",
    "binlog_space_limit",
    "max_binlog_total_size",
    "slave_connections_needed_for_purge",
    "master_info_repository",
    "relay_log_info_repository",
    "relay_log_recovery",
    "sync_master_info",
    "sync_source_info",
    "sync_relay_log_info",
    "sync_relay_log",
    "replica_parallel_workers",
    "slave_parallel_workers",
    "slave_parallel_threads",
    "replica_preserve_commit_order",
    "slave_preserve_commit_order",
    "replica_parallel_type",
    "slave_parallel_type",
    "slave_parallel_mode",
    "replica_skip_errors",
    "slave_skip_errors",
    "relay_log_space_limit",
    "replica_net_timeout",
    "slave_net_timeout",
    "log_replica_updates",
    "log_slave_updates",
    "gtid_mode",
    "enforce_gtid_consistency",
    "gtid_strict_mode",
    "gtid_executed",
    "gtid_purged",
    "gtid_slave_pos",
    "gtid_binlog_pos",
    "gtid_current_pos",
    "gtid_pos_auto_engines",
    "rpl_semi_sync_master_enabled",
    "rpl_semi_sync_source_enabled",
    "performance_schema",
];

/// Status counters read each refresh.
pub const STATUS_VARIABLES: &[&str] = &[
    "Uptime",
    "Rpl_semi_sync_master_status",
    "Rpl_semi_sync_source_status",
    "Slaves_connected",
];

/// `SHOW GLOBAL VARIABLES WHERE Variable_name IN (...)` for [`VARIABLES`].
pub fn variables_sql() -> String {
    in_list_sql("SHOW GLOBAL VARIABLES", VARIABLES)
}

/// `SHOW GLOBAL STATUS WHERE Variable_name IN (...)` for [`STATUS_VARIABLES`].
pub fn status_variables_sql() -> String {
    in_list_sql("SHOW GLOBAL STATUS", STATUS_VARIABLES)
}

fn in_list_sql(head: &str, names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("{head} WHERE Variable_name IN ({})", list.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_flavors_and_statements() {
        let m = detect("10.11.19-MariaDB-0+deb12u1-log", "Debian 12").unwrap();
        assert_eq!(m.flavor, Flavor::MariaDb);
        assert_eq!(m.version, Version::new(10, 11, 19));
        assert_eq!(m.replica_status_sql(), "SHOW ALL SLAVES STATUS");
        assert_eq!(m.status_grant(), "SLAVE MONITOR");

        let p = detect("8.0.36-28", "Percona Server (GPL), Release 28").unwrap();
        assert_eq!(p.flavor, Flavor::Percona);
        assert_eq!(p.replica_status_sql(), "SHOW REPLICA STATUS");
        assert_eq!(p.binlog_status_sql(), "SHOW MASTER STATUS");

        let old = detect("8.0.21", "MySQL Community Server - GPL").unwrap();
        assert_eq!(old.replica_status_sql(), "SHOW SLAVE STATUS");
        assert_eq!(old.replica_hosts_sql(), "SHOW SLAVE HOSTS");
        let lts = detect("8.4.3", "MySQL Community Server - GPL").unwrap();
        assert_eq!(lts.binlog_status_sql(), "SHOW BINARY LOG STATUS");
        assert_eq!(lts.replica_hosts_sql(), "SHOW REPLICAS");
        assert_eq!(
            lts.var_name("sync_source_info", "sync_master_info"),
            "sync_source_info"
        );

        let legacy = detect("5.5.5-10.3.39-MariaDB", "").unwrap();
        assert_eq!(legacy.version, Version::new(10, 3, 39));
        assert!(detect("garbage", "").is_err());
    }

    #[test]
    fn variables_sql_is_one_statement() {
        let s = variables_sql();
        assert!(s.starts_with("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_id'"));
        assert!(s.contains("'relay_log_info_repository'"));
    }
}

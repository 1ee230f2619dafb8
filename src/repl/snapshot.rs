//! [`ServerSnapshot`]: everything known about one server after one refresh, owned and
//! `Send`, handed from the collector to the UI / batch report. [`build`] is the pure step
//! that turns the raw result rows of a refresh ([`RawRefresh`]) into a snapshot, so live
//! servers and recorded fixtures share it. Failures are data (`ConnState::Reconnecting`,
//! per-probe [`QueryError`]s), never panics.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::ServerRole;
use super::flavor::ServerInfo;
use super::status::{parse_rows, ChannelStatus};
use super::{Row, RowExt};

/// Connection state of the collector for one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnState {
    Connected,
    /// Not connected; `since` = first failure of the current outage.
    Reconnecting {
        since: DateTime<Utc>,
        error: String,
    },
}

/// A server error from one query. `code` is the MySQL error number when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryError {
    pub code: Option<u16>,
    pub message: String,
}

impl QueryError {
    pub fn new(code: Option<u16>, message: impl Into<String>) -> Self {
        QueryError {
            code,
            message: message.into(),
        }
    }
    /// Access denied-like errors: the audit says UNKNOWN and names the grant.
    pub fn is_privilege(&self) -> bool {
        matches!(self.code, Some(1227 | 1142 | 1143 | 1044 | 1370))
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(c) => write!(f, "ERROR {c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Which query of a refresh failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    ReplicaStatus,
    Variables,
    StatusVariables,
    TableEngines,
    BinaryLogs,
    BinlogGtidPos,
    ReplicaHosts,
    Heartbeat,
}

/// Readability probe of one `mysql.*` table (InnoDB stats, replication metadata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableProbe {
    pub table: String,
    pub engine: Option<String>,
    /// `None` = readable; `Some` = the error from `SELECT 1 FROM mysql.<table> LIMIT 1`.
    pub error: Option<QueryError>,
}

/// One binary log on a primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinlogFile {
    pub name: String,
    pub size: Option<u64>,
}

/// A replica registered on a primary (`SHOW REPLICAS` / `SHOW SLAVE HOSTS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaHost {
    pub server_id: Option<u64>,
    pub host: Option<String>,
    pub port: Option<u16>,
}

/// The raw results of one refresh, as generic rows. Built by the collector or by fixtures.
#[derive(Debug, Clone)]
pub struct RawRefresh {
    pub status: Result<Vec<Row>, QueryError>,
    pub variables: Result<Vec<Row>, QueryError>,
    pub status_vars: Result<Vec<Row>, QueryError>,
    /// `TABLE_NAME, ENGINE` rows from information_schema for the probed `mysql.*` tables.
    pub engines: Result<Vec<Row>, QueryError>,
    /// (table, result of the readability probe).
    pub table_probes: Vec<(String, Result<(), QueryError>)>,
    /// `SHOW BINARY LOGS` rows; `None` when not asked (binlog off).
    pub binlogs: Option<Result<Vec<Row>, QueryError>>,
    /// MariaDB `BINLOG_GTID_POS(<oldest binlog>, 4)`.
    pub binlog_gtid_pos: Option<Result<Option<String>, QueryError>>,
    pub replica_hosts: Option<Result<Vec<Row>, QueryError>>,
    /// Heartbeat lag per channel name.
    pub heartbeat: Vec<(String, Result<Option<f64>, QueryError>)>,
}

impl RawRefresh {
    /// A refresh where every query returned nothing (start point for fixtures).
    pub fn empty() -> Self {
        RawRefresh {
            status: Ok(Vec::new()),
            variables: Ok(Vec::new()),
            status_vars: Ok(Vec::new()),
            engines: Ok(Vec::new()),
            table_probes: Vec::new(),
            binlogs: None,
            binlog_gtid_pos: None,
            replica_hosts: None,
            heartbeat: Vec::new(),
        }
    }
}

/// Everything known about one server after one refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSnapshot {
    pub name: String,
    pub address: String,
    pub role: ServerRole,
    pub taken_at: DateTime<Utc>,
    pub state: ConnState,
    /// `None` until the first successful connection.
    pub info: Option<ServerInfo>,
    pub channels: Vec<ChannelStatus>,
    /// Raw status rows for a details pane (same order as `channels`).
    pub status_rows: Vec<Row>,
    /// Global variables present on this server (absent = not applicable to this version).
    pub variables: BTreeMap<String, String>,
    pub status_vars: BTreeMap<String, String>,
    /// `mysql.*` tables of interest with their engine, as listed by information_schema.
    pub tables: Vec<TableProbe>,
    pub binlogs: Option<Vec<BinlogFile>>,
    /// MariaDB: GTID state at the start of the oldest binlog (`""` for the very first binlog).
    pub oldest_binlog_gtid_pos: Option<String>,
    pub replica_hosts: Option<Vec<ReplicaHost>>,
    pub probe_errors: BTreeMap<Probe, QueryError>,
    /// Set when no server is configured and this one was found by local discovery: how
    /// (`repl::discover::Local::label`, e.g. "discovered: socket /run/mysqld/mysqld.sock").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered: Option<String>,
    /// When unreachable: when the collector tries to connect next (the row's countdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_try: Option<DateTime<Utc>>,
}

impl ServerSnapshot {
    /// A snapshot of a server we could not reach.
    pub fn unreachable(
        name: &str,
        address: &str,
        role: ServerRole,
        info: Option<ServerInfo>,
        since: DateTime<Utc>,
        error: String,
    ) -> Self {
        ServerSnapshot {
            name: name.to_string(),
            address: address.to_string(),
            role,
            taken_at: Utc::now(),
            state: ConnState::Reconnecting { since, error },
            info,
            channels: Vec::new(),
            status_rows: Vec::new(),
            variables: BTreeMap::new(),
            status_vars: BTreeMap::new(),
            tables: Vec::new(),
            binlogs: None,
            oldest_binlog_gtid_pos: None,
            replica_hosts: None,
            probe_errors: BTreeMap::new(),
            discovered: None,
            next_try: None,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state == ConnState::Connected
    }

    /// A global variable, `None` when absent on this server (or not read).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    /// First present variable among `names`, with the name that matched.
    pub fn var_any<'n>(&self, names: &[&'n str]) -> Option<(&'n str, &str)> {
        names.iter().find_map(|n| self.var(n).map(|v| (*n, v)))
    }

    /// ON/1/TRUE/YES → true; OFF/0/FALSE/NO → false; other or absent → None.
    pub fn var_bool(&self, name: &str) -> Option<bool> {
        parse_bool(self.var(name)?)
    }

    pub fn var_num(&self, name: &str) -> Option<f64> {
        self.var(name)?.trim().parse().ok()
    }

    /// Is this server replicating from anything (async channels, excluding group replication)?
    pub fn is_replica(&self) -> bool {
        match self.role {
            ServerRole::Replica => true,
            ServerRole::Primary => false,
            ServerRole::Auto => self.channels.iter().any(|c| !c.group_replication),
        }
    }

    /// `Uptime` in seconds, when read.
    pub fn uptime(&self) -> Option<u64> {
        self.status_vars.get("Uptime")?.parse().ok()
    }
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_uppercase().as_str() {
        "ON" | "1" | "TRUE" | "YES" => Some(true),
        "OFF" | "0" | "FALSE" | "NO" => Some(false),
        _ => None,
    }
}

fn name_value_map(rows: &[Row]) -> BTreeMap<String, String> {
    rows.iter()
        .filter_map(|r| {
            let k = r.get_any(&["Variable_name", "VARIABLE_NAME"])?;
            let v = r.get_any(&["Value", "VARIABLE_VALUE"]).unwrap_or("");
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Turn one refresh's raw rows into a snapshot.
pub fn build(
    name: &str,
    address: &str,
    role: ServerRole,
    info: ServerInfo,
    raw: RawRefresh,
    taken_at: DateTime<Utc>,
) -> ServerSnapshot {
    let mut errors = BTreeMap::new();
    let mut keep = |p: Probe, e: QueryError| {
        errors.insert(p, e);
    };
    let status_rows = raw.status.unwrap_or_else(|e| {
        keep(Probe::ReplicaStatus, e);
        Vec::new()
    });
    let mut channels = parse_rows(&status_rows);
    let variables = match raw.variables {
        Ok(r) => name_value_map(&r),
        Err(e) => {
            keep(Probe::Variables, e);
            BTreeMap::new()
        }
    };
    let status_vars = match raw.status_vars {
        Ok(r) => name_value_map(&r),
        Err(e) => {
            keep(Probe::StatusVariables, e);
            BTreeMap::new()
        }
    };
    let engines: Vec<(String, Option<String>)> = match raw.engines {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| {
                let t = r.get_any(&["TABLE_NAME", "table_name"])?;
                Some((
                    t.to_string(),
                    r.get_any(&["ENGINE", "engine"]).map(str::to_string),
                ))
            })
            .collect(),
        Err(e) => {
            keep(Probe::TableEngines, e);
            Vec::new()
        }
    };
    let mut tables: Vec<TableProbe> = engines
        .into_iter()
        .map(|(table, engine)| TableProbe {
            table,
            engine,
            error: None,
        })
        .collect();
    for (table, res) in raw.table_probes {
        let err = res.err();
        match tables.iter_mut().find(|t| t.table == table) {
            Some(t) => t.error = err,
            None => tables.push(TableProbe {
                table,
                engine: None,
                error: err,
            }),
        }
    }
    let binlogs = match raw.binlogs {
        None => None,
        Some(Ok(rows)) => Some(
            rows.iter()
                .filter_map(|r| {
                    Some(BinlogFile {
                        name: r.get("Log_name")?.to_string(),
                        size: r.get("File_size").and_then(|s| s.parse().ok()),
                    })
                })
                .collect(),
        ),
        Some(Err(e)) => {
            keep(Probe::BinaryLogs, e);
            None
        }
    };
    let oldest_binlog_gtid_pos = match raw.binlog_gtid_pos {
        None => None,
        Some(Ok(v)) => Some(v.unwrap_or_default()),
        Some(Err(e)) => {
            keep(Probe::BinlogGtidPos, e);
            None
        }
    };
    let replica_hosts = match raw.replica_hosts {
        None => None,
        Some(Ok(rows)) => Some(
            rows.iter()
                .map(|r| ReplicaHost {
                    server_id: r.get("Server_id").and_then(|s| s.parse().ok()),
                    host: r.get("Host").map(str::to_string),
                    port: r.get("Port").and_then(|s| s.parse().ok()),
                })
                .collect(),
        ),
        Some(Err(e)) => {
            keep(Probe::ReplicaHosts, e);
            None
        }
    };
    for (chan, res) in raw.heartbeat {
        match res {
            Ok(v) => {
                if let Some(c) = channels.iter_mut().find(|c| c.name == chan) {
                    c.heartbeat_lag = v;
                }
            }
            Err(e) => keep(Probe::Heartbeat, e),
        }
    }
    ServerSnapshot {
        name: name.to_string(),
        address: address.to_string(),
        role,
        taken_at,
        state: ConnState::Connected,
        info: Some(info),
        channels,
        status_rows,
        variables,
        status_vars,
        tables,
        binlogs,
        oldest_binlog_gtid_pos,
        replica_hosts,
        probe_errors: errors,
        discovered: None,
        next_try: None,
    }
}

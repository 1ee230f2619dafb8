//! The live side: one mysql_async connection per configured server, refreshed every
//! `interval`; each refresh reads replica status, variables, status counters, the `mysql.*`
//! table probes, binlogs on primaries and heartbeat lag, converts every result set to generic
//! [`Row`]s and hands them to the pure `snapshot::build`. The owned [`ServerSnapshot`] goes out
//! on a bounded tokio mpsc. Failures are data: a lost connection yields
//! `ConnState::Reconnecting { since, error }` and reconnects with exponential backoff.
//! Passwords are resolved per connect from the configured secret source and never logged.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::{my_cnf_client_value, resolve_password, ServerConfig};
use super::flavor::{self, ServerInfo};
use super::snapshot::{self, QueryError, RawRefresh, ServerSnapshot};
use super::{Row, RowExt};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REFRESH_TIMEOUT: Duration = Duration::from_secs(20);
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What the UI can change while collectors run (sent through a `watch` channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// Time between two refreshes of one server.
    pub interval: Duration,
    /// Longest wait between reconnect attempts (the backoff doubles from 1 s up to this).
    pub backoff_max: Duration,
    /// No refresh while paused (a refresh in flight completes).
    pub paused: bool,
    /// Bumped to ask for an immediate refresh (`Ctrl-R`).
    pub refresh_generation: u64,
}

impl Control {
    pub fn new(interval: Duration) -> Self {
        Control {
            interval,
            backoff_max: BACKOFF_MAX,
            paused: false,
            refresh_generation: 0,
        }
    }
}

/// Handle on the running collector tasks; dropping it stops them.
pub struct CollectorHandle {
    tasks: Vec<JoinHandle<()>>,
    control: watch::Sender<Control>,
}

impl CollectorHandle {
    /// Stop every task now.
    pub fn shutdown(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    /// Change interval / pause / backoff, or ask for a refresh now; tasks see it at once.
    pub fn control(&self, f: impl FnOnce(&mut Control)) {
        self.control.send_modify(f);
    }
}

impl Drop for CollectorHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Start one task per server. Each sends a [`ServerSnapshot`] per refresh (or per reconnect
/// attempt) on `tx`; tasks end when the receiver is dropped or the handle is dropped.
/// Must be called inside a tokio runtime.
pub fn spawn(
    servers: Vec<ServerConfig>,
    interval: Duration,
    tx: mpsc::Sender<ServerSnapshot>,
) -> CollectorHandle {
    spawn_controlled(servers, Control::new(interval), tx)
}

/// [`spawn`] with every [`Control`] setting.
pub fn spawn_controlled(
    servers: Vec<ServerConfig>,
    control: Control,
    tx: mpsc::Sender<ServerSnapshot>,
) -> CollectorHandle {
    let (ctl_tx, ctl_rx) = watch::channel(control);
    let tasks = servers
        .into_iter()
        .map(|cfg| tokio::spawn(run_server(cfg, ctl_rx.clone(), tx.clone())))
        .collect();
    CollectorHandle {
        tasks,
        control: ctl_tx,
    }
}

/// Waits `pick(control)` (re-read when the control changes), cut short by a refresh
/// request; holds while paused. Returns false when the handle is gone.
async fn pause_for(
    ctl: &mut watch::Receiver<Control>,
    pick: impl Fn(&Control) -> Duration,
) -> bool {
    let start = tokio::time::Instant::now();
    let generation = ctl.borrow_and_update().refresh_generation;
    loop {
        let c = *ctl.borrow_and_update();
        if c.refresh_generation != generation {
            return true;
        }
        let deadline = start + pick(&c);
        tokio::select! {
            _ = tokio::time::sleep_until(deadline), if !c.paused => return true,
            changed = ctl.changed() => if changed.is_err() { return false },
        }
    }
}

/// Batch mode (`--check`): connect to every server once, refresh once, disconnect.
pub async fn collect_once(servers: &[ServerConfig]) -> Vec<ServerSnapshot> {
    let futs = servers.iter().map(|cfg| async move {
        let started = Utc::now();
        match connect(cfg).await {
            Ok((mut conn, info)) => {
                let snap =
                    match tokio::time::timeout(REFRESH_TIMEOUT, refresh(&mut conn, &info, cfg))
                        .await
                    {
                        Ok(Ok(raw)) => {
                            let mut s = snapshot::build(
                                &cfg.name,
                                &cfg.address(),
                                cfg.role,
                                info,
                                raw,
                                Utc::now(),
                            );
                            stamp_first_seen(&mut s, &mut HashMap::new());
                            s
                        }
                        Ok(Err(e)) => unreachable(cfg, Some(info), started, e.to_string()),
                        Err(_) => unreachable(cfg, Some(info), started, "refresh timed out".into()),
                    };
                let _ = conn.disconnect().await;
                snap
            }
            Err(e) => unreachable(cfg, None, started, e),
        }
    });
    futures::future::join_all(futs).await
}

fn unreachable(
    cfg: &ServerConfig,
    info: Option<ServerInfo>,
    since: DateTime<Utc>,
    error: String,
) -> ServerSnapshot {
    ServerSnapshot::unreachable(&cfg.name, &cfg.address(), cfg.role, info, since, error)
}

/// When the next connection attempt is due, `wait` from now.
fn next_try(wait: Duration) -> Option<DateTime<Utc>> {
    Some(Utc::now() + chrono::Duration::from_std(wait).ok()?)
}

async fn run_server(
    cfg: ServerConfig,
    mut ctl: watch::Receiver<Control>,
    tx: mpsc::Sender<ServerSnapshot>,
) {
    let mut conn: Option<(Conn, ServerInfo)> = None;
    let mut last_info: Option<ServerInfo> = None;
    let mut backoff = BACKOFF_START;
    let mut outage_since: Option<DateTime<Utc>> = None;
    let mut first_seen: HashMap<(String, bool, u32), DateTime<Utc>> = HashMap::new();
    loop {
        if conn.is_none() {
            match connect(&cfg).await {
                Ok(c) => {
                    last_info = Some(c.1.clone());
                    conn = Some(c);
                    backoff = BACKOFF_START;
                    outage_since = None;
                }
                Err(e) => {
                    let since = *outage_since.get_or_insert_with(Utc::now);
                    let wait = backoff;
                    let mut snap = unreachable(&cfg, last_info.clone(), since, e);
                    snap.next_try = next_try(wait.min(ctl.borrow().backoff_max));
                    if tx.send(snap).await.is_err() {
                        return;
                    }
                    if !pause_for(&mut ctl, |c| wait.min(c.backoff_max)).await {
                        return;
                    }
                    backoff = (backoff * 2).min(ctl.borrow().backoff_max.max(BACKOFF_START));
                    continue;
                }
            }
        }
        let Some((c, info)) = conn.as_mut() else {
            continue;
        };
        let res = tokio::time::timeout(REFRESH_TIMEOUT, refresh(c, info, &cfg)).await;
        let mut snap = match res {
            Ok(Ok(raw)) => {
                let mut s = snapshot::build(
                    &cfg.name,
                    &cfg.address(),
                    cfg.role,
                    info.clone(),
                    raw,
                    Utc::now(),
                );
                stamp_first_seen(&mut s, &mut first_seen);
                s
            }
            Ok(Err(e)) => {
                conn = None;
                let since = *outage_since.get_or_insert_with(Utc::now);
                unreachable(&cfg, last_info.clone(), since, e.to_string())
            }
            Err(_) => {
                conn = None;
                let since = *outage_since.get_or_insert_with(Utc::now);
                unreachable(&cfg, last_info.clone(), since, "refresh timed out".into())
            }
        };
        if conn.is_none() {
            snap.next_try = next_try(ctl.borrow().interval);
        }
        if tx.send(snap).await.is_err() {
            return;
        }
        if !pause_for(&mut ctl, |c| c.interval).await {
            return;
        }
    }
}

/// Fill `first_seen` of channel errors: the first refresh that showed this error number.
pub fn stamp_first_seen(
    s: &mut ServerSnapshot,
    seen: &mut HashMap<(String, bool, u32), DateTime<Utc>>,
) {
    let now = s.taken_at;
    let mut live = Vec::new();
    for c in &mut s.channels {
        for (is_io, e) in [
            (true, c.last_io_error.as_mut()),
            (false, c.last_sql_error.as_mut()),
        ] {
            if let Some(e) = e {
                let key = (c.name.clone(), is_io, e.errno);
                e.first_seen = Some(*seen.entry(key.clone()).or_insert(now));
                live.push(key);
            }
        }
    }
    seen.retain(|k, _| live.contains(k));
}

fn opts(cfg: &ServerConfig, password: Option<String>) -> OptsBuilder {
    let home_cnf = dirs::home_dir().map(|h| h.join(".my.cnf"));
    let user = cfg
        .user
        .clone()
        .or_else(|| {
            home_cnf
                .as_deref()
                .and_then(|p| my_cnf_client_value(p, "user"))
        })
        .or_else(|| std::env::var("USER").ok());
    let mut b = OptsBuilder::default()
        .user(user)
        .pass(password)
        .prefer_socket(false)
        .stmt_cache_size(0)
        .conn_ttl(None::<Duration>);
    match (&cfg.socket, &cfg.host) {
        (Some(sock), _) => b = b.socket(Some(sock.to_string_lossy().into_owned())),
        (None, Some(h)) => b = b.ip_or_hostname(h.clone()).tcp_port(cfg.port),
        (None, None) => b = b.ip_or_hostname("127.0.0.1").tcp_port(cfg.port),
    }
    if cfg.tls.enabled {
        let mut ssl = SslOpts::default();
        if let Some(ca) = &cfg.tls.ca {
            ssl = ssl.with_root_certs(vec![ca.clone().into()]);
        }
        if let (Some(cert), Some(key)) = (&cfg.tls.cert, &cfg.tls.key) {
            ssl = ssl.with_client_identity(Some(mysql_async::ClientIdentity::new(
                cert.clone().into(),
                key.clone().into(),
            )));
        }
        if cfg.tls.insecure_skip_verify {
            ssl = ssl
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true);
        }
        b = b.ssl_opts(ssl);
    }
    b
}

/// Connect and detect flavor/version. The error text never contains the password.
async fn connect(cfg: &ServerConfig) -> Result<(Conn, ServerInfo), String> {
    let pw = resolve_password(cfg)
        .await
        .map_err(|e| format!("password: {e}"))?;
    let o = opts(cfg, pw.map(|s| s.expose().to_string()));
    let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(o)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(describe(&e)),
        Err(_) => return Err(format!("connect to {} timed out", cfg.address())),
    };
    let row: Option<(Option<String>, Option<String>)> = conn
        .query_first("SELECT @@version, @@version_comment")
        .await
        .map_err(|e| describe(&e))?;
    let (v, c) = row.unwrap_or((None, None));
    let info = flavor::detect(v.as_deref().unwrap_or(""), c.as_deref().unwrap_or(""))
        .map_err(|e| e.to_string())?;
    Ok((conn, info))
}

fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("ERROR {}: {}", s.code, s.message),
        other => {
            let mut s = other.to_string();
            while s.contains("Input/output error: Input/output error: ") {
                s = s.replace(
                    "Input/output error: Input/output error: ",
                    "Input/output error: ",
                );
            }
            s
        }
    }
}

/// Convert a driver row to the generic [`Row`].
pub fn to_row(r: &mysql_async::Row) -> Row {
    r.columns_ref()
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let v = match r.as_ref(i) {
                None | Some(Value::NULL) => None,
                Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                Some(Value::Int(n)) => Some(n.to_string()),
                Some(Value::UInt(n)) => Some(n.to_string()),
                Some(Value::Float(n)) => Some(n.to_string()),
                Some(Value::Double(n)) => Some(n.to_string()),
                Some(other) => Some(other.as_sql(true).trim_matches('\'').to_string()),
            };
            (col.name_str().into_owned(), v)
        })
        .collect()
}

type Q = Result<Vec<Row>, QueryError>;

/// Run one text-protocol query: server errors become data, connection errors abort.
async fn q(conn: &mut Conn, sql: &str) -> Result<Q, mysql_async::Error> {
    match conn.query::<mysql_async::Row, _>(sql).await {
        Ok(rows) => Ok(Ok(rows.iter().map(to_row).collect())),
        Err(mysql_async::Error::Server(e)) => Ok(Err(QueryError::new(Some(e.code), e.message))),
        Err(e) => Err(e),
    }
}

fn safe_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.')
}

fn safe_file(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The engines query for the `mysql.*` tables T1/R3/R6 look at.
pub fn engines_sql() -> String {
    let list: Vec<String> = super::audit::PROBED_TABLES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect();
    format!(
        "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA='mysql' \
         AND (TABLE_NAME IN ({}) OR TABLE_NAME LIKE 'gtid\\_slave\\_pos%')",
        list.join(",")
    )
}

/// One refresh: every query of the cycle, as raw rows.
pub async fn refresh(
    conn: &mut Conn,
    info: &ServerInfo,
    cfg: &ServerConfig,
) -> Result<RawRefresh, mysql_async::Error> {
    let mut raw = RawRefresh::empty();
    raw.status = q(conn, info.replica_status_sql()).await?;
    raw.variables = q(conn, &flavor::variables_sql()).await?;
    raw.status_vars = q(conn, &flavor::status_variables_sql()).await?;
    raw.engines = q(conn, &engines_sql()).await?;
    if let Ok(rows) = &raw.engines {
        let tables: Vec<String> = rows
            .iter()
            .filter_map(|r| r.get("TABLE_NAME").map(str::to_string))
            .filter(|t| safe_ident(t))
            .collect();
        for t in tables {
            let res = q(conn, &format!("SELECT 1 FROM mysql.`{t}` LIMIT 1")).await?;
            raw.table_probes.push((t, res.map(|_| ())));
        }
    }
    let log_bin = raw
        .variables
        .as_ref()
        .ok()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r.get("Variable_name") == Some("log_bin"))
                .and_then(|r| r.get("Value"))
                .and_then(snapshot::parse_bool)
        })
        .unwrap_or(false);
    if log_bin {
        let logs = q(conn, "SHOW BINARY LOGS").await?;
        if info.is_mariadb() {
            let first = logs
                .as_ref()
                .ok()
                .and_then(|r| r.first())
                .and_then(|r| r.get("Log_name"))
                .filter(|f| safe_file(f))
                .map(str::to_string);
            if let Some(f) = first {
                let pos = q(conn, &format!("SELECT BINLOG_GTID_POS('{f}', 4) AS pos")).await?;
                raw.binlog_gtid_pos = Some(
                    pos.map(|rows| rows.first().and_then(|r| r.get("pos")).map(str::to_string)),
                );
            }
        }
        raw.binlogs = Some(logs);
        raw.replica_hosts = Some(q(conn, info.replica_hosts_sql()).await?);
    }
    if let Some(table) = cfg.heartbeat_table.as_deref().filter(|t| safe_ident(t)) {
        let chans: Vec<(String, u64)> = raw
            .status
            .as_ref()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| {
                        let name = r
                            .get_any(&["Channel_Name", "Connection_name"])
                            .unwrap_or("");
                        let id = r
                            .get_any(&["Source_Server_Id", "Master_Server_Id"])?
                            .parse()
                            .ok()?;
                        Some((name.to_string(), id))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (name, id) in chans {
            let sql = format!(
                "SELECT TIMESTAMPDIFF(MICROSECOND, ts, NOW(6))/1e6 AS lag FROM {table} \
                 WHERE server_id = {id} ORDER BY ts DESC LIMIT 1"
            );
            let res = q(conn, &sql).await?.map(|rows| {
                rows.first()
                    .and_then(|r| r.get("lag"))
                    .and_then(|v| v.parse::<f64>().ok())
            });
            raw.heartbeat.push((name, res));
        }
    }
    Ok(raw)
}

//! The refresh query: ONE statement per refresh that scans `pg_stat_activity` once (own backend
//! excluded) and carries the header values (version, uptime, recovery, max_connections,
//! `pg_stat_database` sums) in the same round trip. Columns that differ between PostgreSQL
//! versions (backend_type, leader_pid, query_id) are detected from the catalog once per
//! connection, and each feature an older server lacks is said once ([`feature_notices`]):
//! leader_pid came in 13, query_id in 14; 10 and 11 are out of support and listed best effort;
//! pg_stat_database (the only stats view the header reads) has the columns used here in every
//! major from 10 to 18 (the checkpointer/bgwriter split of 17 is not read). Rows become the
//! owned [`Session`] model; the [`Header`] is computed client-side from the same rows plus deltas
//! of the previous refresh. Output feeds the collector's [`PgSnapshot`].

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, Row, Statement};

/// Text decoded lossily (query text from a database in another encoding must never fail a refresh).
struct Lossy(String);

impl<'a> FromSql<'a> for Lossy {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Lossy(String::from_utf8_lossy(raw).into_owned()))
    }
    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR | Type::UNKNOWN
        )
    }
}

/// Text borrowed from the row when it is valid UTF-8 (lossily decoded otherwise), for values
/// only looked at, never kept (the state word).
struct LossyRef<'a>(std::borrow::Cow<'a, str>);

impl<'a> FromSql<'a> for LossyRef<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(LossyRef(String::from_utf8_lossy(raw)))
    }
    fn accepts(ty: &Type) -> bool {
        Lossy::accepts(ty)
    }
}

/// `pg_stat_activity.state`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Active,
    Idle,
    IdleInTransaction,
    IdleInTransactionAborted,
    FastpathFunctionCall,
    Disabled,
    Other(String),
    /// NULL: a background process, or a session we may not look at
    Unknown,
}

impl SessionState {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            None => SessionState::Unknown,
            Some("active") => SessionState::Active,
            Some("idle") => SessionState::Idle,
            Some("idle in transaction") => SessionState::IdleInTransaction,
            Some("idle in transaction (aborted)") => SessionState::IdleInTransactionAborted,
            Some("fastpath function call") => SessionState::FastpathFunctionCall,
            Some("disabled") => SessionState::Disabled,
            Some(o) => SessionState::Other(o.to_string()),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            SessionState::Active => "active",
            SessionState::Idle => "idle",
            SessionState::IdleInTransaction => "idle in transaction",
            SessionState::IdleInTransactionAborted => "idle in transaction (aborted)",
            SessionState::FastpathFunctionCall => "fastpath function call",
            SessionState::Disabled => "disabled",
            SessionState::Other(o) => o,
            SessionState::Unknown => "",
        }
    }
}

/// What `pg_stat_activity` shows instead of a query we may not see.
pub const INSUFFICIENT_PRIVILEGE: &str = "<insufficient privilege>";

/// One row of `pg_stat_activity` (the own session is never included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub pid: i32,
    pub datname: Option<String>,
    pub usename: Option<String>,
    /// client address, `None` for a Unix-socket client or a background process
    pub client_addr: Option<String>,
    pub client_port: Option<i32>,
    pub application_name: String,
    /// e.g. `client backend`, `autovacuum worker`, `walsender`; `None` if the column is absent
    pub backend_type: Option<String>,
    pub state: SessionState,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub backend_start: Option<DateTime<Utc>>,
    pub xact_start: Option<DateTime<Utc>>,
    pub query_start: Option<DateTime<Utc>>,
    pub state_change: Option<DateTime<Utc>>,
    /// the query text (lossily decoded); `<insufficient privilege>` when hidden from us
    pub query: String,
    /// false when the server hid this session's details from us
    pub visible: bool,
    pub leader_pid: Option<i32>,
    pub query_id: Option<i64>,
    /// sessions holding the lock this one waits for (`pg_blocking_pids`, only for lock waiters;
    /// de-duplicated, parallel workers given as their leader)
    pub blocking_pids: Vec<i32>,
    /// the lock this session waits for (from `pg_locks`, read only when someone waits)
    pub lock: Option<super::locks::LockWait>,
}

impl Session {
    /// Client backends are the only sessions pgtop lists by default and may ever signal.
    pub fn is_client_backend(&self) -> bool {
        match &self.backend_type {
            Some(t) => t == "client backend",
            // without the column (very old servers): background processes have no database
            None => self.datname.is_some(),
        }
    }

    /// Waiting for a heavyweight lock.
    pub fn is_lock_waiter(&self) -> bool {
        self.wait_event_type.as_deref() == Some("Lock")
    }

    /// Client shown as an address, `local` for Unix sockets, empty for background processes.
    pub fn client_display(&self) -> &str {
        match (&self.client_addr, self.client_port) {
            (Some(a), _) => a,
            (None, Some(-1)) => "local",
            _ => "",
        }
    }

    #[doc(hidden)]
    pub fn for_test(pid: i32, state: SessionState, query: &str) -> Self {
        Session {
            pid,
            datname: Some("postgres".into()),
            usename: Some("postgres".into()),
            client_addr: Some("127.0.0.1".into()),
            client_port: Some(40000),
            application_name: String::new(),
            backend_type: Some("client backend".into()),
            state,
            wait_event_type: None,
            wait_event: None,
            backend_start: Some(Utc::now()),
            xact_start: None,
            query_start: None,
            state_change: None,
            query: query.into(),
            visible: true,
            leader_pid: None,
            query_id: None,
            blocking_pids: Vec::new(),
            lock: None,
        }
    }
}

/// Client-backend sessions by state (the own session counts in `total`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCounts {
    pub total: usize,
    pub active: usize,
    pub idle: usize,
    pub idle_in_transaction: usize,
    pub idle_in_transaction_aborted: usize,
    pub other: usize,
    /// background processes (autovacuum, walsender, checkpointer, ...)
    pub background: usize,
}

/// Which version-dependent columns the server has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityColumns {
    pub backend_type: bool,
    pub leader_pid: bool,
    pub query_id: bool,
}

/// The header block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub server_version: String,
    pub server_version_num: i32,
    pub postmaster_start: DateTime<Utc>,
    pub uptime: Duration,
    pub in_recovery: bool,
    pub max_connections: i32,
    pub counts: SessionCounts,
    /// transactions per second since the previous refresh (None on the first one)
    pub tps: Option<f64>,
    /// buffer cache hit ratio 0..=1 since the previous refresh
    pub cache_hit_ratio: Option<f64>,
    /// (pid, duration) of the longest running active statement
    pub longest_query: Option<(i32, Duration)>,
    /// (pid, duration) of the longest open transaction
    pub longest_transaction: Option<(i32, Duration)>,
    /// client backends waiting for a lock
    pub waiting: usize,
    pub columns: ActivityColumns,
}

/// Connection health as data (the UI shows "disconnected since …").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnectionStatus {
    Connecting,
    Connected {
        since: DateTime<Utc>,
    },
    /// Connected, but the refresh sent at `waiting_since` has had no answer yet (past
    /// `query_timeout` the connection is dropped and this becomes `Disconnected`).
    NoAnswer {
        connected_since: DateTime<Utc>,
        waiting_since: DateTime<Utc>,
    },
    Disconnected {
        since: DateTime<Utc>,
        error: String,
        attempts: u32,
        next_attempt_in: Duration,
    },
}

/// Everything one refresh produced; owned, sent to the UI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PgSnapshot {
    /// refresh counter of the collector
    pub seq: u64,
    /// the server's `now()` for this refresh (durations are computed against it)
    pub server_now: DateTime<Utc>,
    pub taken_at: SystemTime,
    /// time for the round trip and decoding
    pub fetch_time: Duration,
    pub header: Option<Header>,
    /// every other session (client and background), unsorted
    pub sessions: Vec<Session>,
    pub status: ConnectionStatus,
    pub refresh_interval: Duration,
    /// messages for the status line (webhook failures, query errors, ...)
    pub notices: Vec<String>,
    /// `(pid, query_start)` of sessions over the slow threshold in this snapshot
    pub slow_count: usize,
    /// Slack delivery state when a webhook is configured (the header shows it while failing)
    pub alerts: Option<super::slack::AlertStatus>,
    /// the latest `pg_stat_statements` top when the extension is read (with its reading time)
    #[serde(skip)]
    pub statements: Option<std::sync::Arc<super::statements::StatementsTop>>,
    /// the latest `pg_wait_sampling` profile when the extension is read (with its reading time)
    #[serde(skip)]
    pub wait_sampling: Option<std::sync::Arc<super::wait_sampling::WaitProfile>>,
}

impl PgSnapshot {
    /// An empty snapshot carrying only a status (used while disconnected).
    pub fn status_only(seq: u64, status: ConnectionStatus, interval: Duration) -> Self {
        PgSnapshot {
            seq,
            server_now: Utc::now(),
            taken_at: SystemTime::now(),
            fetch_time: Duration::ZERO,
            header: None,
            sessions: Vec::new(),
            status,
            refresh_interval: interval,
            notices: Vec::new(),
            slow_count: 0,
            alerts: None,
            statements: None,
            wait_sampling: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Counters {
    at: DateTime<Utc>,
    xacts: i64,
    hit: i64,
    read: i64,
}

/// Prepared refresh statement for one connection, plus the previous counters for deltas.
pub struct ActivityReader {
    stmt: Statement,
    /// the lock-details statement ([`super::locks::lock_sql`]), run only when someone waits
    lock_stmt: Statement,
    /// how many times the lock-details statement ran on this connection
    lock_queries: u64,
    columns: ActivityColumns,
    /// `server_version_num` seen when connecting (0 if unknown)
    version_num: i32,
    prev: Option<Counters>,
}

/// The oldest major pgtop supports (older ones are listed best effort).
pub const OLDEST_SUPPORTED: i32 = 120000;

/// What this server cannot show, one message per degraded feature, for the status line.
pub fn feature_notices(version_num: i32, c: ActivityColumns) -> Vec<String> {
    let mut v = Vec::new();
    if version_num > 0 && version_num < OLDEST_SUPPORTED {
        v.push(format!(
            "PostgreSQL {}.{} is not supported (12 or newer is): sessions listed best effort",
            version_num / 10000,
            version_num / 100 % 100
        ));
    }
    if !c.backend_type {
        v.push("backend types need PostgreSQL 10: background processes guessed".into());
    }
    if !c.leader_pid {
        v.push("parallel worker leaders need PostgreSQL 13".into());
    }
    if !c.query_id {
        v.push("query ids need PostgreSQL 14".into());
    }
    v
}

/// Text of the refresh statement for the detected columns.
pub fn activity_sql(c: ActivityColumns) -> String {
    let bt = if c.backend_type {
        "a.backend_type::text"
    } else {
        "NULL::text"
    };
    let lp = if c.leader_pid {
        "a.leader_pid"
    } else {
        "NULL::int4"
    };
    let qi = if c.query_id {
        "a.query_id"
    } else {
        "NULL::int8"
    };
    format!(
        "/* stacktop */ WITH h AS (SELECT now() AS now, pg_postmaster_start_time() AS started, \
         pg_is_in_recovery() AS recovery, current_setting('server_version') AS version, \
         current_setting('server_version_num')::int4 AS version_num, \
         current_setting('max_connections')::int4 AS max_conn, \
         (SELECT sum(xact_commit + xact_rollback)::int8 FROM pg_stat_database) AS xacts, \
         (SELECT sum(blks_hit)::int8 FROM pg_stat_database) AS hit, \
         (SELECT sum(blks_read)::int8 FROM pg_stat_database) AS rd) \
         SELECT h.now, h.started, h.recovery, h.version, h.version_num, h.max_conn, h.xacts, h.hit, h.rd, \
         a.pid, a.datname::text, a.usename::text, host(a.client_addr), a.client_port, a.application_name, \
         {bt}, a.state, a.wait_event_type, a.wait_event, a.backend_start, a.xact_start, a.query_start, \
         a.state_change, a.query, {lp}, {qi}, \
         CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END \
         FROM h LEFT JOIN pg_stat_activity a ON a.pid <> pg_backend_pid()"
    )
}

/// Which optional columns `pg_stat_activity` has on this server.
pub async fn detect_columns(client: &Client) -> Result<ActivityColumns, tokio_postgres::Error> {
    let rows = client
        .query(
            "/* stacktop */ SELECT attname::text FROM pg_catalog.pg_attribute \
             WHERE attrelid = 'pg_catalog.pg_stat_activity'::regclass AND attnum > 0 AND NOT attisdropped",
            &[],
        )
        .await?;
    let names: HashSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<_, Lossy>(0).ok().map(|l| l.0))
        .collect();
    Ok(ActivityColumns {
        backend_type: names.contains("backend_type"),
        leader_pid: names.contains("leader_pid"),
        query_id: names.contains("query_id"),
    })
}

pub(super) fn opt_text(row: &Row, i: usize) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(row.try_get::<_, Option<Lossy>>(i)?.map(|l| l.0))
}

impl ActivityReader {
    /// Detects columns and prepares the refresh statement on this connection.
    pub async fn new(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let columns = detect_columns(client).await?;
        let mut r = Self::with_columns(client, columns).await?;
        let v = client
            .query_one(
                "/* stacktop */ SELECT current_setting('server_version_num')::int4",
                &[],
            )
            .await?;
        r.version_num = v.try_get(0)?;
        Ok(r)
    }

    /// [`feature_notices`] for this connection's server.
    pub fn notices(&self) -> Vec<String> {
        feature_notices(self.version_num, self.columns)
    }

    /// Prepares the refresh statement for a given column set (what [`detect_columns`] found;
    /// tests use it to run the statement of older servers against the one they have).
    pub async fn with_columns(
        client: &Client,
        columns: ActivityColumns,
    ) -> Result<Self, tokio_postgres::Error> {
        let stmt = client.prepare(&activity_sql(columns)).await?;
        // pg_locks.waitstart came in 14, like query_id
        let lock_stmt = client
            .prepare(&super::locks::lock_sql(columns.query_id))
            .await?;
        Ok(ActivityReader {
            stmt,
            lock_stmt,
            lock_queries: 0,
            columns,
            version_num: 0,
            prev: None,
        })
    }

    pub fn columns(&self) -> ActivityColumns {
        self.columns
    }

    /// How many times the lock-details statement ran (it runs only when some backend waits on
    /// a lock: at most once per refresh).
    pub fn lock_queries(&self) -> u64 {
        self.lock_queries
    }

    /// One refresh: one statement, one `pg_stat_activity` scan.
    pub async fn fetch(
        &mut self,
        client: &Client,
    ) -> Result<(DateTime<Utc>, Header, Vec<Session>), tokio_postgres::Error> {
        let rows = client.query(&self.stmt, &[]).await?;
        let mut sessions = Vec::with_capacity(rows.len());
        let mut head = None;
        for row in &rows {
            if head.is_none() {
                let now: DateTime<Utc> = row.try_get(0)?;
                let started: DateTime<Utc> = row.try_get(1)?;
                let recovery: bool = row.try_get(2)?;
                let version = opt_text(row, 3)?.unwrap_or_default();
                let version_num: i32 = row.try_get(4)?;
                let max_conn: i32 = row.try_get(5)?;
                let c = Counters {
                    at: now,
                    xacts: row.try_get::<_, Option<i64>>(6)?.unwrap_or(0),
                    hit: row.try_get::<_, Option<i64>>(7)?.unwrap_or(0),
                    read: row.try_get::<_, Option<i64>>(8)?.unwrap_or(0),
                };
                head = Some((now, started, recovery, version, version_num, max_conn, c));
            }
            let Some(pid) = row.try_get::<_, Option<i32>>(9)? else {
                continue;
            };
            let query = opt_text(row, 23)?.unwrap_or_default();
            sessions.push(Session {
                pid,
                datname: opt_text(row, 10)?,
                usename: opt_text(row, 11)?,
                client_addr: opt_text(row, 12)?,
                client_port: row.try_get(13)?,
                application_name: opt_text(row, 14)?.unwrap_or_default(),
                backend_type: opt_text(row, 15)?,
                state: SessionState::parse(
                    row.try_get::<_, Option<LossyRef>>(16)?
                        .as_ref()
                        .map(|l| &*l.0),
                ),
                wait_event_type: opt_text(row, 17)?,
                wait_event: opt_text(row, 18)?,
                backend_start: row.try_get(19)?,
                xact_start: row.try_get(20)?,
                query_start: row.try_get(21)?,
                state_change: row.try_get(22)?,
                visible: query != INSUFFICIENT_PRIVILEGE,
                query,
                leader_pid: row.try_get(24)?,
                query_id: row.try_get(25)?,
                blocking_pids: row.try_get::<_, Option<Vec<i32>>>(26)?.unwrap_or_default(),
                lock: None,
            });
        }
        if super::locks::read(client, &self.lock_stmt, &mut sessions).await? {
            self.lock_queries += 1;
        }
        super::locks::attribute_parallel(&mut sessions);
        let Some((now, started, recovery, version, version_num, max_conn, c)) = head else {
            // the header CTE always yields one row; an empty result means a broken server answer
            return Ok((Utc::now(), self.empty_header(), sessions));
        };
        let (tps, hit_ratio) = match self.prev {
            Some(p) if c.at > p.at && c.xacts >= p.xacts => {
                let secs = (c.at - p.at).num_microseconds().unwrap_or(0) as f64 / 1e6;
                let tps = (secs > 0.0).then(|| (c.xacts - p.xacts) as f64 / secs);
                let dh = (c.hit - p.hit).max(0);
                let dr = (c.read - p.read).max(0);
                let ratio = (dh + dr > 0).then(|| dh as f64 / (dh + dr) as f64);
                (tps, ratio)
            }
            _ => (None, None),
        };
        self.prev = Some(c);
        let mut header = summarize(now, &sessions);
        header.server_version = version;
        header.server_version_num = version_num;
        header.postmaster_start = started;
        header.uptime = (now - started).to_std().unwrap_or(Duration::ZERO);
        header.in_recovery = recovery;
        header.max_connections = max_conn;
        header.tps = tps;
        header.cache_hit_ratio = hit_ratio;
        header.columns = self.columns;
        Ok((now, header, sessions))
    }

    fn empty_header(&self) -> Header {
        let mut h = summarize(Utc::now(), &[]);
        h.columns = self.columns;
        h
    }
}

/// Header fields computed from the rows alone (counts, longest query/transaction, waiting).
pub fn summarize(now: DateTime<Utc>, sessions: &[Session]) -> Header {
    let mut counts = SessionCounts {
        total: 1, // the own session
        ..Default::default()
    };
    let mut longest_query: Option<(i32, Duration)> = None;
    let mut longest_xact: Option<(i32, Duration)> = None;
    let mut waiting = 0;
    for s in sessions {
        if !s.is_client_backend() {
            counts.background += 1;
            continue;
        }
        counts.total += 1;
        match s.state {
            SessionState::Active => counts.active += 1,
            SessionState::Idle => counts.idle += 1,
            SessionState::IdleInTransaction => counts.idle_in_transaction += 1,
            SessionState::IdleInTransactionAborted => counts.idle_in_transaction_aborted += 1,
            _ => counts.other += 1,
        }
        if s.is_lock_waiter() {
            waiting += 1;
        }
        if let Some(d) = s.active_for(now) {
            if longest_query.is_none_or(|(_, m)| d > m) {
                longest_query = Some((s.pid, d));
            }
        }
        if let Some(x) = s.xact_start {
            let d = (now - x).to_std().unwrap_or(Duration::ZERO);
            if longest_xact.is_none_or(|(_, m)| d > m) {
                longest_xact = Some((s.pid, d));
            }
        }
    }
    Header {
        server_version: String::new(),
        server_version_num: 0,
        postmaster_start: now,
        uptime: Duration::ZERO,
        in_recovery: false,
        max_connections: 0,
        counts,
        tps: None,
        cache_hit_ratio: None,
        longest_query,
        longest_transaction: longest_xact,
        waiting,
        columns: ActivityColumns::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_adapts_to_columns() {
        let all = activity_sql(ActivityColumns {
            backend_type: true,
            leader_pid: true,
            query_id: true,
        });
        assert!(all.contains("a.query_id") && all.contains("a.leader_pid"));
        assert_eq!(all.matches("pg_stat_activity").count(), 1, "one scan");
        let none = activity_sql(ActivityColumns::default());
        assert!(none.contains("NULL::int8") && !none.contains("a.query_id"));
    }

    #[test]
    fn each_missing_feature_said_once() {
        let all = ActivityColumns {
            backend_type: true,
            leader_pid: true,
            query_id: true,
        };
        assert!(feature_notices(180004, all).is_empty());
        let v12 = ActivityColumns {
            leader_pid: false,
            query_id: false,
            ..all
        };
        assert_eq!(
            feature_notices(120022, v12),
            vec![
                "parallel worker leaders need PostgreSQL 13".to_string(),
                "query ids need PostgreSQL 14".to_string()
            ]
        );
        let n = feature_notices(110022, v12);
        assert!(n[0].contains("PostgreSQL 11.0 is not supported"), "{n:?}");
        assert_eq!(n.len(), 3);
    }

    #[test]
    fn summary_counts_client_backends_only() {
        let now = Utc::now();
        let mut a = Session::for_test(10, SessionState::Active, "select pg_sleep(9)");
        a.query_start = Some(now - chrono::Duration::seconds(9));
        a.xact_start = a.query_start;
        let mut w = Session::for_test(11, SessionState::Active, "select * from t");
        w.wait_event_type = Some("Lock".into());
        w.query_start = Some(now - chrono::Duration::seconds(2));
        let mut i = Session::for_test(12, SessionState::IdleInTransaction, "select 1");
        i.xact_start = Some(now - chrono::Duration::seconds(20));
        let mut bg = Session::for_test(13, SessionState::Unknown, "");
        bg.backend_type = Some("checkpointer".into());
        let h = summarize(now, &[a, w, i, bg]);
        assert_eq!(h.counts.total, 4);
        assert_eq!(h.counts.active, 2);
        assert_eq!(h.counts.idle_in_transaction, 1);
        assert_eq!(h.counts.background, 1);
        assert_eq!(h.waiting, 1);
        assert_eq!(h.longest_query, Some((10, Duration::from_secs(9))));
        assert_eq!(h.longest_transaction, Some((12, Duration::from_secs(20))));
    }
}

//! The owned model of one refresh's rows: a [`Session`] (one row of `pg_stat_activity`, with
//! the [`LockWait`] it waits for), its [`SessionState`], and the [`Header`] computed from the
//! rows. Plain data shared by the readers ([`super::activity`], [`super::locks`]), the
//! classification, the slow tracker, Slack and the views; it imports nothing of `pg`, so
//! everything can read it without an import cycle.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    pub lock: Option<LockWait>,
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

/// The lock a backend waits for (one not-granted row of `pg_locks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockWait {
    /// e.g. `AccessExclusiveLock`, `ShareLock`
    pub mode: String,
    /// `pg_locks.locktype`: relation, tuple, transactionid, virtualxid, advisory, object, ...
    #[serde(rename = "type")]
    pub locktype: String,
    /// `schema.table` (quoted where needed) for relation, page and tuple locks; `oid N` for a
    /// relation of another database
    pub relation: Option<String>,
    /// the object of a lock without a relation: the xid, the virtual xid, the advisory key, ...
    pub object: Option<String>,
    /// `pg_locks.waitstart` (PostgreSQL 14+)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

impl LockWait {
    /// What is waited for, short: the relation, else the lock type and its object
    /// (`transactionid 1234`, `advisory 1:42:1`).
    pub fn what(&self) -> String {
        match (&self.relation, &self.object) {
            (Some(r), _) if self.locktype == "relation" => r.clone(),
            (Some(r), _) => format!("{} {r}", self.locktype),
            (None, Some(o)) => format!("{} {o}", self.locktype),
            (None, None) => self.locktype.clone(),
        }
    }
}

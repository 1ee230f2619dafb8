//! What one refresh produced, as the collector sends it to the UI: the [`PgSnapshot`] (the
//! sessions and header of [`super::session`], the connection's [`ConnState`], notices,
//! the Slack delivery state and the latest `pg_stat_statements` top). Owned data; imports only
//! the data types it carries.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::session::{Header, Session};
use super::slack::AlertStatus;
use super::statements::StatementsTop;

/// Connection health as data (the UI shows "disconnected since …").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnState {
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
    pub status: ConnState,
    pub refresh_interval: Duration,
    /// messages for the status line (webhook failures, query errors, ...)
    pub notices: Vec<String>,
    /// `(pid, query_start)` of sessions over the slow threshold in this snapshot
    pub slow_count: usize,
    /// Slack delivery state when a webhook is configured (the header shows it while failing)
    pub alerts: Option<AlertStatus>,
    /// the latest `pg_stat_statements` top when the extension is read (with its reading time)
    #[serde(skip)]
    pub statements: Option<Arc<StatementsTop>>,
    /// the latest `pg_wait_sampling` profile when the extension is read (with its reading time)
    #[serde(skip)]
    pub wait_sampling: Option<Arc<super::wait_sampling::WaitProfile>>,
}

impl PgSnapshot {
    /// An empty snapshot carrying only a status (used while disconnected).
    pub fn status_only(seq: u64, status: ConnState, interval: Duration) -> Self {
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

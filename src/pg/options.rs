//! How to run the pgtop collector: [`CollectorOptions`] (connection, intervals, timeouts,
//! thresholds, slow log, Slack), read by the collector, the signaller and `--batch`.

use std::path::PathBuf;
use std::time::Duration;

use super::classify::Thresholds;
use super::conninfo::ConnSpec;
use super::slack::SlackOptions;

/// How to run a collector.
#[derive(Debug, Clone)]
pub struct CollectorOptions {
    pub spec: ConnSpec,
    /// label for logs and messages
    pub server: String,
    pub application_name: String,
    pub interval: Duration,
    pub statement_timeout: Duration,
    /// client-side limit on each refresh query, a kill, and (unless the conninfo has a
    /// `connect_timeout`) a connection attempt
    pub query_timeout: Duration,
    pub thresholds: Thresholds,
    pub slow_log: Option<PathBuf>,
    pub slack: Option<SlackOptions>,
    pub read_only: bool,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// capacity of the snapshot channel
    pub channel_capacity: usize,
    /// how often `pg_stat_statements` is read (when installed)
    pub statements_every: Duration,
    /// how often `pg_wait_sampling` is read (when installed; never in the same refresh as
    /// `pg_stat_statements`)
    pub wait_sampling_every: Duration,
}

impl CollectorOptions {
    pub fn new(spec: ConnSpec) -> Self {
        let server = spec
            .hosts
            .first()
            .map(|h| format!("{}:{}/{}", h.host, h.port, spec.dbname))
            .unwrap_or_default();
        CollectorOptions {
            spec,
            server,
            application_name: "stacktop".into(),
            interval: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(5),
            thresholds: Thresholds::default(),
            slow_log: None,
            slack: None,
            read_only: false,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            channel_capacity: 4,
            statements_every: Duration::from_secs(10),
            wait_sampling_every: Duration::from_secs(5),
        }
    }
}

impl CollectorOptions {
    /// The limit on one whole connection attempt: the conninfo's `connect_timeout` (else
    /// `query_timeout`) for reaching and authenticating, plus `query_timeout` for the session
    /// setup statements.
    pub fn connect_limit(&self) -> Duration {
        self.spec.connect_timeout.unwrap_or(self.query_timeout) + self.query_timeout
    }
}

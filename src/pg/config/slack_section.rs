//! `[pgtop.slack]`: how Slack alerts are delivered (timeouts, retries, rate, outbox); the
//! webhook URL itself is a key of `[pgtop]` (a secret) and never stored here.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::{de_duration, ser_duration};
use crate::pg::conninfo::Secret;
use crate::pg::slack::SlackOptions;

/// Slack delivery options.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// extra attempts of `--test-webhook` (alerts retry for as long as they are queued)
    pub retries: u32,
    /// longest wait between two delivery attempts while the receiver fails
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub backoff_max: Duration,
    pub queue: usize,
    pub resolved: bool,
    /// literals and comments of query texts become `?` (default true)
    pub redact_literals: bool,
    pub max_query_chars: usize,
    /// posts per minute at most; later alerts wait and go out as one digest
    pub max_per_minute: u32,
    /// queued alerts kept at most (oldest dropped and counted beyond)
    pub outbox_max: usize,
    /// directory of the per-server outboxes (default `$XDG_STATE_HOME/stacktop/slack`)
    pub outbox_dir: Option<PathBuf>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        let d = SlackOptions::new(Secret::new(""), "");
        SlackConfig {
            timeout: d.timeout,
            retries: d.retries,
            backoff_max: d.backoff_max,
            queue: d.queue,
            resolved: d.resolved,
            redact_literals: d.redact_literals,
            max_query_chars: d.max_query_chars,
            max_per_minute: d.max_per_minute,
            outbox_max: d.outbox_max,
            outbox_dir: None,
        }
    }
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("resolved", &self.resolved)
            .field("redact_literals", &self.redact_literals)
            .field("outbox_dir", &self.outbox_dir)
            .finish_non_exhaustive()
    }
}

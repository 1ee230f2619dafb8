//! Slack-compatible webhook alerts. The collector hands each refresh's tracker events to
//! [`SlackNotifier::notify`] (a `try_send` on a bounded channel: the refresh never waits, never
//! formats). The delivery task ([`deliver`]) turns events into redacted, mrkdwn-escaped texts
//! ([`message`]), de-duplicates them and queues them in the per-server durable [`outbox`], then
//! posts the oldest queued alerts — one message, or a digest of several — with a timeout,
//! retrying with capped backoff for as long as they are queued. Its state ("failing since …,
//! N queued") is published as an [`AlertStatus`] that the collector puts on every snapshot for
//! the pgtop header; transitions also come back as [`SlackEvent`] notices for the status line.
//! The webhook URL is a [`Secret`]: never logged, never in an error.

pub mod deliver;
pub mod message;
pub mod outbox;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::conninfo::Secret;
use super::tracker::SlowEvent;
pub use message::fmt_secs;

/// Notification settings.
#[derive(Debug, Clone)]
pub struct SlackOptions {
    pub url: Secret,
    /// label of the server in messages
    pub server: String,
    /// per POST (connect + answer)
    pub timeout: Duration,
    /// extra attempts of `--test-webhook` (alerts are retried for as long as they are queued)
    pub retries: u32,
    /// first retry delay, doubled each time up to `backoff_max`
    pub backoff: Duration,
    pub backoff_max: Duration,
    /// capacity of the collector → delivery channel, in refreshes
    pub queue: usize,
    /// send a "resolved" follow-up when a reported query ends
    pub resolved: bool,
    /// replace literals (and comments) in query texts with `?`
    pub redact_literals: bool,
    pub max_query_chars: usize,
    /// at most this many posts per minute; later alerts wait in the outbox (and go as a digest)
    pub max_per_minute: u32,
    /// durable outbox directory of this server (`None`: in memory only)
    pub outbox: Option<PathBuf>,
    /// queued alerts kept at most; beyond, the oldest are dropped and counted
    pub outbox_max: usize,
    /// alerts per digest message at most
    pub digest_max: usize,
}

impl SlackOptions {
    pub fn new(url: Secret, server: impl Into<String>) -> Self {
        SlackOptions {
            url,
            server: server.into(),
            timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            queue: 64,
            resolved: false,
            redact_literals: true,
            max_query_chars: 500,
            max_per_minute: 20,
            outbox: None,
            outbox_max: 10_000,
            digest_max: 40,
        }
    }
}

/// Delivery state, shown in the pgtop header while failing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertStatus {
    /// first failure of the current outage
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// alerts waiting in the outbox
    pub queued: usize,
    /// alerts dropped because the outbox was full (over the outbox's life)
    pub dropped: u64,
}

impl AlertStatus {
    /// "Slack failing since 12:03:04 (3 queued)" while failing.
    pub fn indicator(&self) -> Option<String> {
        let since = self.failing_since?;
        let mut s = format!(
            "Slack failing since {} ({} queued",
            since.with_timezone(&Local).format("%H:%M:%S"),
            self.queued
        );
        if self.dropped > 0 {
            s.push_str(&format!(", {} dropped", self.dropped));
        }
        s.push(')');
        Some(s)
    }
}

/// Delivery transitions reported back to the collector (and from there to the status line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackEvent {
    /// the first failure of an outage
    Failing { error: String, queued: usize },
    /// delivered again after an outage
    Recovered { since: DateTime<Utc> },
    /// alerts lost: the outbox was full, or the delivery task could not keep up
    Dropped { count: u64, reason: &'static str },
    /// anything else worth a line (outbox problems)
    Note(String),
}

impl SlackEvent {
    pub fn notice(&self) -> Option<String> {
        Some(match self {
            SlackEvent::Failing { error, queued } => {
                format!("webhook failed: {error}; retrying ({queued} queued)")
            }
            SlackEvent::Recovered { since } => format!(
                "webhook delivering again (failing since {})",
                since.with_timezone(&Local).format("%H:%M:%S")
            ),
            SlackEvent::Dropped { count, reason } => {
                format!("webhook: {count} alert(s) dropped ({reason})")
            }
            SlackEvent::Note(n) => n.clone(),
        })
    }
}

/// One refresh's worth of tracker events.
#[derive(Debug)]
pub struct Batch {
    pub events: Vec<SlowEvent>,
    /// the first snapshot's events (the start-up burst: one digest)
    pub initial: bool,
}

/// Handle owned by the collector.
pub struct SlackNotifier {
    tx: mpsc::Sender<Batch>,
    status: watch::Receiver<AlertStatus>,
    lost: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SlackNotifier {
    /// Starts the delivery task; returns the handle and the receiver of delivery events.
    pub fn spawn(opts: SlackOptions) -> (SlackNotifier, mpsc::Receiver<SlackEvent>) {
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let (etx, erx) = mpsc::channel(64);
        let (stx, srx) = watch::channel(AlertStatus::default());
        let lost = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(deliver::run(opts, rx, stx, etx, lost.clone()));
        (
            SlackNotifier {
                tx,
                status: srx,
                lost,
                task,
            },
            erx,
        )
    }

    /// Hands one refresh's events to the delivery task; never waits (when its channel is full,
    /// the batch is counted as lost and reported).
    pub fn notify(&mut self, events: Vec<SlowEvent>, initial: bool) {
        if events.is_empty() {
            return;
        }
        if self.tx.try_send(Batch { events, initial }).is_err() {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stops the delivery task after the POST in flight (bounded by the timeout) and waits for
    /// it; queued alerts stay in the outbox. Dropping the notifier does the same without waiting.
    pub async fn shutdown(self) {
        drop(self.tx);
        let _ = self.task.await;
    }

    /// Current delivery state.
    pub fn status(&self) -> AlertStatus {
        self.status.borrow().clone()
    }
}

/// `stacktop pgtop --test-webhook`: sends one test message and waits for the answer.
pub async fn send_test(opts: &SlackOptions) -> Result<(), String> {
    let http = deliver::client(opts.timeout)?;
    let body = json!({
        "text": format!(
            ":white_check_mark: stacktop test message for {}",
            message::escape(&opts.server)
        ),
        "username": "stacktop",
    });
    let mut delay = opts.backoff;
    let mut attempt = 0;
    loop {
        match deliver::post_once(&http, opts, &body).await {
            Ok(()) => return Ok(()),
            Err((e, retry)) => {
                if !retry || attempt >= opts.retries {
                    return Err(if attempt > 0 {
                        format!("{e} (after {} attempts)", attempt + 1)
                    } else {
                        e
                    });
                }
            }
        }
        attempt += 1;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(opts.backoff_max);
    }
}

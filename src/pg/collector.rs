//! The background collector: one tokio task, one persistent connection, a refresh on a fixed
//! cadence (interval changeable at run time), reconnect with backoff forever with the
//! disconnection reported as data, owned [`PgSnapshot`]s out on a bounded channel (`try_send`:
//! a slow consumer loses snapshots, the collector never waits). It also runs the slow tracker
//! (slow log + Slack) on each snapshot and executes signals / EXPLAIN asked for by the UI.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Client;

pub use super::activity::ConnectionStatus;
use super::activity::{ActivityReader, PgSnapshot};
use super::classify::{is_slow, Thresholds};
use super::conninfo::ConnSpec;
use super::kill::{self, SignalKind, SignalOutcome, SignalResult, SignalTarget};
use super::slack::{SlackEvent, SlackNotifier, SlackOptions};
use super::slowlog::SlowLog;
use super::tls;
use super::tracker::SlowTracker;

/// How to run a collector.
#[derive(Debug, Clone)]
pub struct CollectorOptions {
    pub spec: ConnSpec,
    /// label for logs and messages
    pub server: String,
    pub application_name: String,
    pub interval: Duration,
    pub statement_timeout: Duration,
    pub thresholds: Thresholds,
    pub slow_log: Option<PathBuf>,
    pub slack: Option<SlackOptions>,
    pub read_only: bool,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// capacity of the snapshot channel
    pub channel_capacity: usize,
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
            thresholds: Thresholds::default(),
            slow_log: None,
            slack: None,
            read_only: false,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            channel_capacity: 4,
        }
    }
}

/// Requests from the UI.
#[derive(Debug)]
pub enum CollectorCommand {
    SetInterval(Duration),
    SetThresholds(Thresholds),
    /// refresh now (or retry the connection now)
    RefreshNow,
    /// cancel/terminate these backends (each only if pid, backend_start and query_start still match)
    Signal {
        kind: SignalKind,
        targets: Vec<SignalTarget>,
        reply: oneshot::Sender<Vec<SignalResult>>,
    },
    /// plain EXPLAIN (never ANALYZE) of a query, in a read-only transaction; only for queries of
    /// the connected database
    Explain {
        query: String,
        datname: Option<String>,
        reply: oneshot::Sender<Result<Vec<String>, String>>,
    },
    Shutdown,
}

/// The UI's end of a running collector.
pub struct CollectorHandle {
    tx: mpsc::Sender<CollectorCommand>,
    task: tokio::task::JoinHandle<()>,
}

impl CollectorHandle {
    pub fn sender(&self) -> mpsc::Sender<CollectorCommand> {
        self.tx.clone()
    }

    /// Queues a command without waiting (false if the queue is full or the collector ended).
    pub fn try_send(&self, c: CollectorCommand) -> bool {
        self.tx.try_send(c).is_ok()
    }

    pub fn set_interval(&self, d: Duration) -> bool {
        self.try_send(CollectorCommand::SetInterval(d))
    }

    pub fn set_thresholds(&self, t: Thresholds) -> bool {
        self.try_send(CollectorCommand::SetThresholds(t))
    }

    /// Signals targets through the collector's connection; results per target.
    pub async fn signal(&self, kind: SignalKind, targets: Vec<SignalTarget>) -> Vec<SignalResult> {
        let (reply, rx) = oneshot::channel();
        let fallback = targets.clone();
        let sent = self
            .tx
            .send(CollectorCommand::Signal {
                kind,
                targets,
                reply,
            })
            .await;
        match (sent, rx.await) {
            (Ok(()), Ok(r)) => r,
            _ => not_sent(kind, &fallback, "collector stopped"),
        }
    }

    pub async fn explain(
        &self,
        query: String,
        datname: Option<String>,
    ) -> Result<Vec<String>, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(CollectorCommand::Explain {
                query,
                datname,
                reply,
            })
            .await
            .map_err(|_| "collector stopped".to_string())?;
        rx.await.map_err(|_| "collector stopped".to_string())?
    }

    /// Stops the task and waits for it.
    pub async fn shutdown(self) {
        let _ = self.tx.send(CollectorCommand::Shutdown).await;
        let _ = self.task.await;
    }
}

fn not_sent(kind: SignalKind, targets: &[SignalTarget], why: &str) -> Vec<SignalResult> {
    targets
        .iter()
        .map(|t| SignalResult {
            kind,
            target: t.clone(),
            outcome: SignalOutcome::Error(why.to_string()),
            at: Utc::now(),
        })
        .collect()
}

/// Starts the collector task.
pub fn spawn(opts: CollectorOptions) -> (CollectorHandle, mpsc::Receiver<PgSnapshot>) {
    let (tx, cmd_rx) = mpsc::channel(32);
    let (out_tx, out_rx) = mpsc::channel(opts.channel_capacity.max(1));
    let task = tokio::spawn(run(opts, cmd_rx, out_tx));
    (CollectorHandle { tx, task }, out_rx)
}

struct State {
    opts: CollectorOptions,
    seq: u64,
    tracker: SlowTracker,
    slowlog: Option<SlowLog>,
    slack: Option<SlackNotifier>,
    slack_events: Option<mpsc::Receiver<SlackEvent>>,
    notices: Vec<String>,
    out: mpsc::Sender<PgSnapshot>,
    who: String,
}

enum Exit {
    Shutdown,
    Lost(String),
}

impl State {
    fn emit(&mut self, mut snap: PgSnapshot) -> bool {
        if let Some(rx) = self.slack_events.as_mut() {
            while let Ok(ev) = rx.try_recv() {
                if let Some(n) = ev.notice() {
                    self.notices.push(n);
                }
            }
        }
        snap.notices.append(&mut self.notices);
        snap.alerts = self.slack.as_ref().map(SlackNotifier::status);
        match self.out.try_send(snap) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

async fn run(
    opts: CollectorOptions,
    mut cmd_rx: mpsc::Receiver<CollectorCommand>,
    out: mpsc::Sender<PgSnapshot>,
) {
    let mut notices = Vec::new();
    let slowlog = match &opts.slow_log {
        Some(p) => match SlowLog::open(p) {
            Ok(l) => Some(l),
            Err(e) => {
                notices.push(format!("slow log disabled: {}: {e}", p.display()));
                None
            }
        },
        None => None,
    };
    let (slack, slack_events) = match opts.slack.clone() {
        Some(o) => {
            let (n, rx) = SlackNotifier::spawn(o);
            (Some(n), Some(rx))
        }
        None => (None, None),
    };
    let os_user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "?".into());
    let who = format!("{os_user} (db user {})", opts.spec.user);
    notices.extend(opts.spec.warnings.iter().cloned());
    let mut st = State {
        opts,
        seq: 0,
        tracker: SlowTracker::new(),
        slowlog,
        slack,
        slack_events,
        notices,
        out,
        who,
    };
    let first = PgSnapshot::status_only(0, ConnectionStatus::Connecting, st.opts.interval);
    if !st.emit(first) {
        return;
    }
    let mut attempts: u32 = 0;
    let mut down_since = None;
    loop {
        let err = match connect(&st.opts).await {
            Ok((client, conn_task, reader)) => {
                attempts = 0;
                down_since = None;
                let r = connected(&mut st, client, reader, &mut cmd_rx).await;
                conn_task.abort();
                match r {
                    Exit::Shutdown => return,
                    Exit::Lost(e) => e,
                }
            }
            Err(e) => e,
        };
        attempts = attempts.saturating_add(1);
        let since = *down_since.get_or_insert_with(Utc::now);
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
        let delay = (st.opts.backoff_min * factor).min(st.opts.backoff_max);
        let seq = st.next_seq();
        let status = ConnectionStatus::Disconnected {
            since,
            error: err,
            attempts,
            next_attempt_in: delay,
        };
        if !st.emit(PgSnapshot::status_only(seq, status, st.opts.interval)) {
            return;
        }
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                cmd = cmd_rx.recv() => match cmd {
                    None | Some(CollectorCommand::Shutdown) => return,
                    Some(CollectorCommand::RefreshNow) => break,
                    Some(CollectorCommand::SetInterval(d)) => st.opts.interval = d,
                    Some(CollectorCommand::SetThresholds(t)) => st.opts.thresholds = t,
                    Some(CollectorCommand::Signal { kind, targets, reply }) => {
                        let _ = reply.send(not_sent(kind, &targets, "not connected"));
                    }
                    Some(CollectorCommand::Explain { reply, .. }) => {
                        let _ = reply.send(Err("not connected".into()));
                    }
                },
            }
        }
    }
}

async fn connect(
    o: &CollectorOptions,
) -> Result<(Client, tokio::task::JoinHandle<()>, ActivityReader), String> {
    let (client, task) = tls::connect(&o.spec, &o.application_name, o.statement_timeout)
        .await
        .map_err(|e| e.to_string())?;
    match ActivityReader::new(&client).await {
        Ok(r) => Ok((client, task, r)),
        Err(e) => {
            task.abort();
            Err(format!("preparing the activity query failed: {e}"))
        }
    }
}

fn ticker(d: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(d.max(Duration::from_millis(50)));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

async fn connected(
    st: &mut State,
    mut client: Client,
    mut reader: ActivityReader,
    cmd_rx: &mut mpsc::Receiver<CollectorCommand>,
) -> Exit {
    let since = Utc::now();
    let mut tick = ticker(st.opts.interval);
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match refresh(st, &client, &mut reader, since).await {
                    Ok(true) => failures = 0,
                    Ok(false) => return Exit::Shutdown,
                    Err(e) => {
                        failures += 1;
                        if client.is_closed() || failures >= 3 {
                            return Exit::Lost(e);
                        }
                        st.notices.push(format!("refresh failed: {e}"));
                    }
                }
            }
            cmd = cmd_rx.recv() => match cmd {
                None | Some(CollectorCommand::Shutdown) => return Exit::Shutdown,
                Some(CollectorCommand::RefreshNow) => tick.reset_immediately(),
                Some(CollectorCommand::SetInterval(d)) => {
                    st.opts.interval = d;
                    tick = ticker(d);
                }
                Some(CollectorCommand::SetThresholds(t)) => st.opts.thresholds = t,
                Some(CollectorCommand::Signal { kind, targets, reply }) => {
                    let results = kill::signal(&client, kind, &targets, st.opts.read_only).await;
                    if let Some(log) = st.slowlog.as_mut() {
                        for r in results.iter().filter(|r| r.outcome != SignalOutcome::ReadOnly) {
                            if let Err(e) = log.log_signal(&st.opts.server, &st.who, r) {
                                st.notices.push(format!("slow log write failed: {e}"));
                            }
                        }
                    }
                    let _ = reply.send(results);
                }
                Some(CollectorCommand::Explain { query, datname, reply }) => {
                    let r = explain(&mut client, &st.opts.spec.dbname, &query, datname.as_deref()).await;
                    let _ = reply.send(r);
                }
            },
        }
    }
}

/// One refresh. Ok(false) when the consumer is gone.
async fn refresh(
    st: &mut State,
    client: &Client,
    reader: &mut ActivityReader,
    since: chrono::DateTime<Utc>,
) -> Result<bool, String> {
    let t0 = Instant::now();
    let (now, header, sessions) = reader.fetch(client).await.map_err(|e| e.to_string())?;
    let fetch_time = t0.elapsed();
    let th = st.opts.thresholds;
    let events = st.tracker.update(now, &sessions, &th);
    for ev in &events {
        if let Some(log) = st.slowlog.as_mut() {
            if let Err(e) = log.log_event(&st.opts.server, ev) {
                st.notices.push(format!("slow log write failed: {e}"));
            }
        }
    }
    if let Some(s) = st.slack.as_mut() {
        // formatting, redaction and de-duplication happen in the delivery task
        s.notify(events, st.tracker.rounds() == 1);
    }
    let slow_count = sessions.iter().filter(|s| is_slow(s, now, &th)).count();
    let seq = st.next_seq();
    let snap = PgSnapshot {
        seq,
        server_now: now,
        taken_at: std::time::SystemTime::now(),
        fetch_time,
        header: Some(header),
        sessions,
        status: ConnectionStatus::Connected { since },
        refresh_interval: st.opts.interval,
        notices: Vec::new(),
        slow_count,
        alerts: None,
    };
    Ok(st.emit(snap))
}

async fn explain(
    client: &mut Client,
    connected_db: &str,
    query: &str,
    datname: Option<&str>,
) -> Result<Vec<String>, String> {
    if let Some(d) = datname {
        if d != connected_db {
            return Err(format!(
                "EXPLAIN runs only for queries of the connected database ({connected_db}), this one is in {d}"
            ));
        }
    }
    let first = query
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if first.is_empty() || first == "explain" || first == "analyze" || first == "analyse" {
        return Err("nothing to EXPLAIN (never runs EXPLAIN ANALYZE)".into());
    }
    let tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    // extended protocol: a single statement only, so "x; drop table y" cannot run
    let rows = tx
        .query(&format!("EXPLAIN {query}"), &[])
        .await
        .map_err(|e| {
            e.as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string())
        })?;
    let _ = tx.rollback().await;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<_, String>(0).ok())
        .collect())
}

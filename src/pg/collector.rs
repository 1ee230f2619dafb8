//! The background collector: one tokio task, one persistent connection, a refresh on a fixed
//! cadence (interval changeable at run time), reconnect with backoff forever with the
//! disconnection reported as data, owned [`PgSnapshot`]s out on a bounded channel (`try_send`:
//! a slow consumer loses snapshots, the collector never waits). It also runs the slow tracker
//! (slow log + Slack) on each snapshot, and reads `pg_stat_statements` when it is installed
//! ([`super::statements`], every `statements_every`) and `pg_wait_sampling`
//! ([`super::wait_sampling`], every `wait_sampling_every`, never in the same refresh). EXPLAIN
//! does not go through it:
//! [`CollectorHandle::explain`] opens its own connection ([`super::explain`]).
//!
//! Time limits: the whole connect (TCP, TLS, authentication, session setup) is bounded by
//! [`CollectorOptions::connect_limit`], each refresh query by `query_timeout`. A refresh with no
//! answer after a second is reported as [`ConnState::NoAnswer`] (every second), and past
//! `query_timeout` the connection is dropped and re-opened. Signals (cancel / terminate) run on
//! their own connection ([`super::signaller`]), so they never queue behind a stuck refresh.

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Client;

pub use super::activity::ConnState;
use super::activity::{ActivityReader, PgSnapshot};
use super::classify::{is_slow, Thresholds};
use super::explain::Explainer;
use super::kill::{self, SignalKind, SignalOutcome, SignalResult, SignalTarget};
pub use super::options::CollectorOptions;
use super::slack::{SlackEvent, SlackNotifier};
use super::slowlog::SlowLog;
use super::statements::StatementsReader;
use super::tls;
use super::tracker::SlowTracker;
use super::wait_sampling::WaitSamplingReader;

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
    Shutdown,
}

/// The UI's end of a running collector.
pub struct CollectorHandle {
    tx: mpsc::Sender<CollectorCommand>,
    task: tokio::task::JoinHandle<()>,
    signaller: Signaller,
    explainer: Explainer,
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

    /// Signals targets on a connection of their own (never behind a refresh), within the
    /// time limit; results per target. Slow-log write failures are dropped here; use
    /// [`CollectorHandle::signal_with_notices`] to show them.
    pub async fn signal(&self, kind: SignalKind, targets: Vec<SignalTarget>) -> Vec<SignalResult> {
        self.signaller.signal(kind, targets).await.0
    }

    /// [`CollectorHandle::signal`] plus the slow-log problems for the status line.
    pub async fn signal_with_notices(
        &self,
        kind: SignalKind,
        targets: Vec<SignalTarget>,
    ) -> (Vec<SignalResult>, Vec<String>) {
        self.signaller.signal(kind, targets).await
    }

    /// EXPLAIN of a session's query, on its own connection as the session's role (see
    /// [`super::explain`]); never waits for the refresh loop.
    pub async fn explain(
        &self,
        query: String,
        datname: Option<String>,
        usename: Option<String>,
    ) -> Result<Vec<String>, String> {
        self.explainer
            .explain(&query, datname.as_deref(), usename.as_deref())
            .await
    }

    /// Stops the task and waits for it.
    pub async fn shutdown(self) {
        let _ = self.tx.send(CollectorCommand::Shutdown).await;
        let _ = self.task.await;
    }
}

use super::signaller::{not_sent, Signaller};

/// Starts the collector task.
pub fn spawn(opts: CollectorOptions) -> (CollectorHandle, mpsc::Receiver<PgSnapshot>) {
    let (tx, cmd_rx) = mpsc::channel(32);
    let (out_tx, out_rx) = mpsc::channel(opts.channel_capacity.max(1));
    let signaller = Signaller::new(&opts);
    let explainer = Explainer::new(opts.spec.clone(), &opts.application_name);
    let task = tokio::spawn(run(opts, cmd_rx, out_tx));
    (
        CollectorHandle {
            tx,
            task,
            signaller,
            explainer,
        },
        out_rx,
    )
}

struct State {
    opts: CollectorOptions,
    seq: u64,
    tracker: SlowTracker,
    slowlog: Option<SlowLog>,
    slack: Option<SlackNotifier>,
    slack_events: Option<mpsc::Receiver<SlackEvent>>,
    statements: StatementsReader,
    wait_sampling: WaitSamplingReader,
    notices: Vec<String>,
    /// feature notices already shown (each is said once, not at every reconnect)
    said: std::collections::HashSet<String>,
    out: mpsc::Sender<PgSnapshot>,
    who: super::slowlog::Actor,
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
    let who = super::slowlog::Actor::current(&opts.spec.user);
    notices.extend(opts.spec.warnings.iter().cloned());
    let mut st = State {
        statements: StatementsReader::new(opts.statements_every),
        wait_sampling: WaitSamplingReader::new(opts.wait_sampling_every),
        opts,
        seq: 0,
        tracker: SlowTracker::new(),
        slowlog,
        slack,
        slack_events,
        notices,
        said: Default::default(),
        out,
        who,
    };
    let first = PgSnapshot::status_only(0, ConnState::Connecting, st.opts.interval);
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
                for n in reader.notices() {
                    if st.said.insert(n.clone()) {
                        st.notices.push(n);
                    }
                }
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
        let status = ConnState::Disconnected {
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
                },
            }
        }
    }
}

/// Opens the connection and prepares the activity query, all within `connect_limit`.
async fn connect(
    o: &CollectorOptions,
) -> Result<(Client, tokio::task::JoinHandle<()>, ActivityReader), String> {
    let limit = o.connect_limit();
    let work = async {
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
    };
    // on timeout the future is dropped, and with it the half-open connection
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(format!(
            "no answer from {} within {} (connect + session setup)",
            o.spec,
            fmt_secs(limit)
        ))
    })
}

/// `5 s`, `2.5 s`.
fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Why a refresh failed.
enum RefreshError {
    /// the server answered with an error (or the connection broke)
    Query(String),
    /// no answer within `query_timeout`: the connection is presumed dead
    Timeout(String),
}

fn ticker(d: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(d.max(Duration::from_millis(50)));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

async fn connected(
    st: &mut State,
    client: Client,
    mut reader: ActivityReader,
    cmd_rx: &mut mpsc::Receiver<CollectorCommand>,
) -> Exit {
    let since = Utc::now();
    st.statements.reconnected();
    st.wait_sampling.reconnected();
    let mut tick = ticker(st.opts.interval);
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match refresh(st, &client, &mut reader, since).await {
                    Ok(true) => failures = 0,
                    Ok(false) => return Exit::Shutdown,
                    Err(RefreshError::Timeout(e)) => return Exit::Lost(e),
                    Err(RefreshError::Query(e)) => {
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
            },
        }
    }
}

/// One refresh within `query_timeout`; after a second without an answer, a
/// [`ConnState::NoAnswer`] snapshot goes out every second. Ok(false) when the consumer
/// is gone.
async fn refresh(
    st: &mut State,
    client: &Client,
    reader: &mut ActivityReader,
    since: chrono::DateTime<Utc>,
) -> Result<bool, RefreshError> {
    let t0 = Instant::now();
    let asked = Utc::now();
    let limit = st.opts.query_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let first_report = Duration::from_secs(1).min(limit / 2);
    let mut report = tokio::time::interval_at(
        tokio::time::Instant::now() + first_report,
        Duration::from_secs(1),
    );
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let fetch = reader.fetch(client);
    tokio::pin!(fetch);
    let (now, header, sessions) = loop {
        tokio::select! {
            r = &mut fetch => break r.map_err(|e| RefreshError::Query(e.to_string()))?,
            _ = tokio::time::sleep_until(deadline) => {
                return Err(RefreshError::Timeout(format!(
                    "no answer for {} (query_timeout): connection dropped",
                    fmt_secs(limit)
                )));
            }
            _ = report.tick() => {
                let seq = st.next_seq();
                let status = ConnState::NoAnswer { connected_since: since, waiting_since: asked };
                if !st.emit(PgSnapshot::status_only(seq, status, st.opts.interval)) {
                    return Ok(false);
                }
            }
        }
    };
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
        status: ConnState::Connected { since },
        refresh_interval: st.opts.interval,
        notices: Vec::new(),
        slow_count,
        alerts: None,
        statements: st.statements.latest(),
        wait_sampling: st.wait_sampling.latest(),
    };
    if !st.emit(snap) {
        return Ok(false);
    }
    // after the snapshot is out (never delays it): pg_stat_statements and pg_wait_sampling at
    // their own cadences, never both in one refresh
    let read = if st.statements.will_query() {
        st.statements
            .maybe_read(client, st.opts.query_timeout)
            .await
    } else {
        st.wait_sampling
            .maybe_read(client, st.opts.query_timeout)
            .await
    };
    if let Some(n) = read.filter(|n| st.said.insert(n.clone())) {
        st.notices.push(n);
    }
    Ok(true)
}

//! The pgtop arm of `sources::spawn`: starts the [`collector`](super::collector) and forwards its
//! [`PgSnapshot`]s to the UI channel as `Payload::Pg` (plus `Payload::Health` for the connection
//! state and `Payload::Notice` for webhook/slow-log problems). UI requests arrive as
//! `SourceCommand`s; signals and EXPLAIN run in their own tasks (the collector's async
//! `signal()` / `explain()`), so nothing here ever makes the UI loop wait. Their answers come
//! back as `Payload::PgReply`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use tokio::sync::mpsc;

use super::activity::PgSnapshot;
use super::collector::{self, CollectorCommand, CollectorHandle, ConnState};
use super::config::PgConfig;
use super::conninfo::Env;
use super::kill::{SignalOutcome, SignalResult};
pub use super::msg::{PgReply, PgRequest};
use crate::messages::{Payload, SourceCommand, Update};
use crate::wire::{Level, SourceHealth, ViewKind};

fn local(t: DateTime<Utc>) -> DateTime<Local> {
    t.with_timezone(&Local)
}

/// The status-line form of the collector's connection state.
pub fn health(status: &ConnState, now: DateTime<Utc>) -> SourceHealth {
    match status {
        ConnState::Connecting => SourceHealth::Connecting { since: local(now) },
        ConnState::Connected { .. } => SourceHealth::Live { at: local(now) },
        ConnState::NoAnswer { waiting_since, .. } => SourceHealth::Stalled {
            since: local(*waiting_since),
        },
        ConnState::Disconnected {
            since,
            error,
            next_attempt_in,
            ..
        } => SourceHealth::Reconnecting {
            since: local(*since),
            error: error.clone(),
            next_try: chrono::Duration::from_std(*next_attempt_in)
                .ok()
                .map(|d| local(now + d)),
        },
    }
}

/// One status-line summary of signal results, e.g. `cancel: 2 signalled, 1 changed (left alone)`.
pub fn summarize(results: &[SignalResult]) -> (Level, String) {
    let Some(first) = results.first() else {
        return (Level::Info, "nothing was signalled".into());
    };
    let verb = first.kind.verb();
    let count =
        |f: &dyn Fn(&SignalOutcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
    let ok = count(&|o| *o == SignalOutcome::Signalled);
    let not = count(&|o| *o == SignalOutcome::NotSignalled);
    let changed = count(&|o| *o == SignalOutcome::Changed);
    let ro = count(&|o| *o == SignalOutcome::ReadOnly);
    let denied = results.iter().find_map(|r| match &r.outcome {
        SignalOutcome::PermissionDenied(m) => Some(m.clone()),
        _ => None,
    });
    let error = results.iter().find_map(|r| match &r.outcome {
        SignalOutcome::Error(m) => Some(m.clone()),
        _ => None,
    });
    let mut parts = vec![format!("{ok} signalled")];
    if not > 0 {
        parts.push(format!("{not} not signalled"));
    }
    if changed > 0 {
        parts.push(format!("{changed} changed since shown (left alone)"));
    }
    if ro > 0 {
        parts.push(format!("{ro} refused (read-only)"));
    }
    let mut text = format!("{verb}: {}", parts.join(", "));
    let level = if let Some(m) = &denied {
        text.push_str(&format!("; permission denied: {m}"));
        Level::Error
    } else if let Some(m) = &error {
        text.push_str(&format!("; error: {m}"));
        Level::Error
    } else if ok == results.len() {
        Level::Info
    } else {
        Level::Warn
    };
    (level, text)
}

fn send(tx: &mpsc::Sender<Update>, payload: Payload) -> bool {
    match tx.try_send(Update {
        view: ViewKind::Pgtop,
        payload,
    }) {
        Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// Forwards one snapshot: data first, then its health (batch mode waits for the health).
fn forward(tx: &mpsc::Sender<Update>, mut snap: PgSnapshot) -> bool {
    for n in snap.notices.drain(..) {
        send(
            tx,
            Payload::Notice {
                level: Level::Warn,
                text: n,
            },
        );
    }
    // the snapshot's own time (as the replication view does): the health is a function of
    // the snapshot, so a replayed recording shows the same "updated" time
    let h = health(&snap.status, snap.taken_at.into());
    send(tx, Payload::Pg(snap.into())) && send(tx, Payload::Health(h))
}

/// Starts the pgtop collector for `cfg` (`ui_refresh` when `[pgtop] refresh` is unset;
/// `read_only` adds to `cfg.read_only`). Returns the command sender for the UI.
pub fn spawn(
    cfg: &PgConfig,
    ui_refresh: Duration,
    read_only: bool,
    env: &Env,
    tx: mpsc::Sender<Update>,
) -> mpsc::Sender<SourceCommand> {
    let (cmd_tx, cmd_rx) = mpsc::channel(32);
    match cfg.collector_options(env) {
        Ok(mut o) => {
            o.interval = cfg.refresh.unwrap_or(ui_refresh);
            o.read_only |= read_only;
            let (handle, snaps) = collector::spawn(o);
            tokio::spawn(run(Arc::new(handle), snaps, cmd_rx, tx));
        }
        Err(e) => {
            // A setting that cannot work (e.g. password_env unset): shown, never retried.
            let since = Local::now();
            send(
                &tx,
                Payload::Health(SourceHealth::Reconnecting {
                    since,
                    error: e.to_string(),
                    next_try: None,
                }),
            );
            send(
                &tx,
                Payload::Notice {
                    level: Level::Error,
                    text: format!("pgtop: {e}"),
                },
            );
        }
    }
    cmd_tx
}

async fn run(
    handle: Arc<CollectorHandle>,
    mut snaps: mpsc::Receiver<PgSnapshot>,
    mut cmds: mpsc::Receiver<SourceCommand>,
    tx: mpsc::Sender<Update>,
) {
    loop {
        tokio::select! {
            s = snaps.recv() => match s {
                Some(s) => if !forward(&tx, s) { return },
                None => return,
            },
            c = cmds.recv() => match c {
                // the UI is gone: dropping the handle ends the collector
                None => return,
                Some(c) => command(&handle, c, &tx),
            },
        }
    }
}

fn command(handle: &Arc<CollectorHandle>, c: SourceCommand, tx: &mpsc::Sender<Update>) {
    match c {
        SourceCommand::SetInterval(d) => {
            handle.set_interval(d);
        }
        SourceCommand::RefreshNow => {
            handle.try_send(CollectorCommand::RefreshNow);
        }
        // the view keeps what arrives while paused; the collector keeps logging
        SourceCommand::Pause(_) => {}
        SourceCommand::Spotify(_) | SourceCommand::VlogQuery(_) | SourceCommand::Replay(_) => {} // not for this source
        SourceCommand::Pg(PgRequest::SetThresholds(t)) => {
            handle.set_thresholds(t);
        }
        SourceCommand::Pg(PgRequest::Signal { kind, targets }) => {
            let (h, tx) = (handle.clone(), tx.clone());
            tokio::spawn(async move {
                let results = h.signal(kind, targets).await;
                let (level, text) = summarize(&results);
                let _ = tx
                    .send(Update {
                        view: ViewKind::Pgtop,
                        payload: Payload::PgReply(Box::new(PgReply::Signals(results))),
                    })
                    .await;
                let _ = tx
                    .send(Update {
                        view: ViewKind::Pgtop,
                        payload: Payload::Notice { level, text },
                    })
                    .await;
            });
        }
        SourceCommand::Pg(PgRequest::Explain {
            pid,
            query,
            datname,
            usename,
        }) => {
            let (h, tx) = (handle.clone(), tx.clone());
            tokio::spawn(async move {
                let result = h.explain(query, datname, usename).await;
                let _ = tx
                    .send(Update {
                        view: ViewKind::Pgtop,
                        payload: Payload::PgReply(Box::new(PgReply::Explain { pid, result })),
                    })
                    .await;
            });
        }
    }
}

/// `stacktop pgtop --test-webhook`: posts a test message; Ok names where it went (host only).
pub async fn test_webhook(cfg: &PgConfig, env: &Env) -> Result<String, String> {
    let url = cfg.webhook(env).ok_or_else(|| {
        format!(
            "no webhook configured: set [pgtop] slack_webhook, or the environment variable {}",
            cfg.slack_webhook_env
                .as_deref()
                .unwrap_or(super::config::WEBHOOK_ENV)
        )
    })?;
    let host = reqwest::Url::parse(url.expose())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "the webhook".into());
    let server = cfg.name.clone().unwrap_or_else(|| "stacktop".into());
    let opts = cfg.slack_options(url, &server);
    super::slack::send_test(&opts).await.map(|()| host)
}

//! The replay source: the task that stands where the live sources stand in
//! `stacktop replay PATH`. It owns the [`Cursor`], answers the app's
//! [`ReplayCommand`]s (every view's command channel leads here, so nothing can reach a
//! server) and sends the decoded records as the same [`Update`]s the live run delivered,
//! followed by the cursor's [`ReplayStatus`]. The timeline's marks come from
//! [`super::marks::scan`] on a thread of their own.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::cursor::{Cursor, Edge};
use crate::messages::{Payload, SourceCommand, Update};
use crate::sources::SourceHandles;
use crate::wire::replay::{ReplayCommand, ReplayStatus};
use crate::wire::{Level, ViewKind};

/// The marks so far and the share read, or why they could not be read.
type Marks = Result<(Vec<u8>, u8), String>;

/// How often playing moves the cursor.
const PLAY_TICK: Duration = Duration::from_millis(100);

/// Starts the task (and the marks thread); returns the command channel of every view.
pub fn spawn(
    cursor: Cursor,
    path: PathBuf,
    status: ReplayStatus,
    rules: super::marks::Rules,
    tx: mpsc::Sender<Update>,
) -> SourceHandles {
    let (cmd_tx, cmd_rx) = mpsc::channel::<(ViewKind, SourceCommand)>(64);
    let mut handles = SourceHandles::new();
    for view in ViewKind::ALL {
        let (vtx, mut vrx) = mpsc::channel::<SourceCommand>(16);
        let merged = cmd_tx.clone();
        tokio::spawn(async move {
            while let Some(c) = vrx.recv().await {
                if merged.send((view, c)).await.is_err() {
                    break;
                }
            }
        });
        handles.insert(view, vtx);
    }
    let (marks_tx, marks_rx) = mpsc::channel::<Marks>(2);
    let scan_status = status.clone();
    std::thread::spawn(move || {
        let r = super::marks::scan(
            &path,
            &scan_status,
            rules,
            Duration::from_millis(300),
            |m, pct| marks_tx.blocking_send(Ok((m, pct))).is_ok(),
        );
        if let Err(e) = r {
            let _ = marks_tx.blocking_send(Err(e));
        }
    });
    tokio::spawn(run(cursor, status, cmd_rx, marks_rx, tx));
    handles
}

/// A message for the status line of every view (the active one shows it).
fn notices(level: Level, text: &str) -> Vec<Update> {
    ViewKind::ALL
        .into_iter()
        .map(|view| Update {
            view,
            payload: Payload::Notice {
                level,
                text: text.to_string(),
            },
        })
        .collect()
}

/// What one command does to the cursor: the updates to send (the status follows).
pub fn command(
    cursor: &mut Cursor,
    status: &mut ReplayStatus,
    view: ViewKind,
    cmd: ReplayCommand,
) -> Vec<Update> {
    let r = match cmd {
        ReplayCommand::Step { view, by } => match cursor.step(view, by) {
            Ok(Ok(u)) => Ok(u),
            Ok(Err(Edge::Start)) => Ok(notices(Level::Warn, "replay: the start of the recording")),
            Ok(Err(Edge::End)) => Ok(notices(Level::Warn, "replay: the end of the recording")),
            Err(e) => Err(e),
        },
        ReplayCommand::Jump(secs) => cursor.goto(cursor.cursor_ms.saturating_add(secs * 1000)),
        ReplayCommand::Goto(text) => match super::parse_time(&text, Some(cursor.first_ms)) {
            Ok(t) if t < cursor.first_ms || t > cursor.last_ms => {
                let span = format!(
                    "{} – {}",
                    crate::wire::replay::local(cursor.first_ms).format("%Y-%m-%d %H:%M:%S"),
                    crate::wire::replay::local(cursor.last_ms).format("%Y-%m-%d %H:%M:%S")
                );
                return vec![Update {
                    view,
                    payload: Payload::Notice {
                        level: Level::Error,
                        text: format!(":goto {text}: outside the recording ({span})"),
                    },
                }];
            }
            Ok(t) => cursor.goto(t),
            Err(e) => {
                return vec![Update {
                    view,
                    payload: Payload::Notice {
                        level: Level::Error,
                        text: format!(":goto {text}: {e}"),
                    },
                }]
            }
        },
        ReplayCommand::TogglePlay => {
            status.playing = !status.playing && cursor.cursor_ms < cursor.last_ms;
            Ok(Vec::new())
        }
        ReplayCommand::Speed(n) => {
            status.speed = n.max(1);
            Ok(notices(
                Level::Info,
                &format!("replay: speed {}×", status.speed),
            ))
        }
    };
    status.cursor_ms = cursor.cursor_ms;
    r.unwrap_or_else(|e| notices(Level::Error, &format!("replay: {e}")))
}

async fn run(
    mut cursor: Cursor,
    mut status: ReplayStatus,
    mut cmds: mpsc::Receiver<(ViewKind, SourceCommand)>,
    mut marks: mpsc::Receiver<Marks>,
    tx: mpsc::Sender<Update>,
) {
    let mut tick = tokio::time::interval(PLAY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_tick = Instant::now();
    let mut marks_open = true;
    let mut out = cursor.state();
    loop {
        status.cursor_ms = cursor.cursor_ms;
        out.push(Update {
            view: ViewKind::ALL[0], // any: the app keeps the cursor whatever the tab
            payload: Payload::Replay(Box::new(status.clone())),
        });
        for u in out.drain(..) {
            if tx.send(u).await.is_err() {
                return; // the UI has ended
            }
        }
        tokio::select! {
            c = cmds.recv() => match c {
                Some((view, SourceCommand::Replay(cmd))) => {
                    out = command(&mut cursor, &mut status, view, cmd);
                    last_tick = Instant::now();
                }
                // nothing else has anywhere to go: there is no server
                Some(_) => {}
                None => return,
            },
            m = marks.recv(), if marks_open => match m {
                Some(Ok((m, pct))) => {
                    status.marks = m;
                    status.scanned_pct = pct;
                }
                Some(Err(e)) => {
                    status.scanned_pct = 100;
                    out = notices(Level::Error, &format!("replay: timeline marks: {e}"));
                }
                None => marks_open = false,
            },
            _ = tick.tick(), if status.playing => {
                let ms = last_tick.elapsed().as_millis() as i64 * i64::from(status.speed);
                last_tick = Instant::now();
                match cursor.advance_to(cursor.cursor_ms.saturating_add(ms)) {
                    Ok((u, edge)) => {
                        out = u;
                        if edge == Some(Edge::End) {
                            status.playing = false;
                            out.extend(notices(Level::Info, "replay: the end of the recording"));
                        }
                    }
                    Err(e) => {
                        status.playing = false;
                        out = notices(Level::Error, &format!("replay: {e}"));
                    }
                }
            }
        }
    }
}

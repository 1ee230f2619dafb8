//! The player: the thread that owns the replay [`Cursor`] (and so the recording's reader) in
//! `stacktop replay PATH`. It waits for the app's commands and the marks' progress
//! ([`Msg`], from [`super::source`]), moves the cursor ([`command`]; playing: every
//! [`PLAY_TICK`]) and sends the updates with `blocking_send`, each batch followed by the
//! cursor's [`ReplayStatus`]. It ends when the app's channels close.
//!
//! A PostgreSQL store that stops answering (every call is bounded by the store's timeout) is
//! said on the screen: a flash `recording store unreachable: …` (the server by its conninfo
//! without the password) and [`ReplayStatus::store_error`] on the status line until it
//! answers again. Meanwhile commands are answered at once with that message, the server is
//! tried again every [`RETRY_EVERY`] (a new connection, then the state at the cursor read
//! again) and the first command after that interval tries too.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::cursor::{Cursor, Edge};
use super::marks::TimeMarks;
use crate::messages::{Payload, SourceCommand, Update};
use crate::wire::replay::{ReplayCommand, ReplayStatus};
use crate::wire::{Level, ViewKind};

/// How often playing moves the cursor.
pub const PLAY_TICK: Duration = Duration::from_millis(100);
/// A store gone away is tried again at most this often.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The marks found since the last report and the share read, or why they could not be read.
pub type Marks = Result<(TimeMarks, u8), String>;

/// What the player is told.
pub enum Msg {
    /// a command of the app for `view`'s source (only replay commands mean anything here)
    Cmd(ViewKind, SourceCommand),
    Marks(Marks),
}

/// The cursor and what the thread knows about it.
struct Player {
    cursor: Cursor,
    status: ReplayStatus,
    /// a PostgreSQL store: its errors mean the server went away
    remote: bool,
    /// when the store was last tried while [`ReplayStatus::store_error`] is set
    tried: Instant,
    /// when playing last moved the cursor (or a command was done)
    last_tick: Instant,
    /// the marks' reader failed and is reading again (said once)
    marks_failing: bool,
    /// every mark read, binned into [`ReplayStatus::marks`] over the current span
    marks: TimeMarks,
    /// tells the marks' reader that the recording grew (read on)
    grew: std::sync::mpsc::Sender<()>,
    /// the (first, last) times the marks were last binned over
    span: (i64, i64),
}

/// Runs the player until the app's channels close.
pub fn run(
    cursor: Cursor,
    status: ReplayStatus,
    remote: bool,
    rx: Receiver<Msg>,
    grew: std::sync::mpsc::Sender<()>,
    tx: mpsc::Sender<Update>,
) {
    let span = (status.first_ms, status.last_ms);
    let mut p = Player {
        cursor,
        status,
        remote,
        tried: Instant::now(),
        last_tick: Instant::now(),
        marks_failing: false,
        marks: TimeMarks::default(),
        grew,
        span,
    };
    let mut out = p.cursor.state();
    loop {
        p.status.cursor_ms = p.cursor.cursor_ms;
        p.follow_span();
        out.push(Update {
            view: ViewKind::ALL[0], // any: the app keeps the cursor whatever the tab
            payload: Payload::Replay(Box::new(p.status.clone())),
        });
        for u in out.drain(..) {
            if tx.blocking_send(u).is_err() {
                return; // the UI has ended
            }
        }
        let msg = match p.wait() {
            Some(d) => rx.recv_timeout(d),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        out = match msg {
            Ok(Msg::Cmd(view, SourceCommand::Replay(cmd))) => p.command(view, cmd),
            // nothing else has anywhere to go: there is no server
            Ok(Msg::Cmd(..)) => Vec::new(),
            Ok(Msg::Marks(m)) => p.marks(m),
            Err(RecvTimeoutError::Timeout) => p.timer(),
            Err(RecvTimeoutError::Disconnected) => return,
        };
    }
}

impl Player {
    /// How long to wait for a message: until the next play step or retry, or for ever.
    fn wait(&self) -> Option<Duration> {
        let now = Instant::now();
        let play = (self.status.playing && self.status.store_error.is_none())
            .then(|| (self.last_tick + PLAY_TICK).saturating_duration_since(now));
        let retry = self
            .status
            .store_error
            .is_some()
            .then(|| (self.tried + RETRY_EVERY).saturating_duration_since(now));
        match (play, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A play step or a retry that is due.
    fn timer(&mut self) -> Vec<Update> {
        if self.status.store_error.is_some() {
            return if self.tried.elapsed() >= RETRY_EVERY {
                self.retry()
            } else {
                Vec::new()
            };
        }
        if !self.status.playing || self.last_tick.elapsed() < PLAY_TICK {
            return Vec::new();
        }
        let ms = self.last_tick.elapsed().as_millis() as i64 * i64::from(self.status.speed);
        self.last_tick = Instant::now();
        let r = self
            .cursor
            .advance_to(self.cursor.cursor_ms.saturating_add(ms));
        match r {
            Ok((mut out, edge)) => {
                if edge == Some(Edge::End) {
                    self.status.playing = false;
                    out.extend(notices(Level::Info, "replay: the end of the recording"));
                }
                out
            }
            Err(e) => self.failed(e),
        }
    }

    fn command(&mut self, view: ViewKind, cmd: ReplayCommand) -> Vec<Update> {
        self.last_tick = Instant::now();
        let mut out = Vec::new();
        if self.status.store_error.is_some() {
            if self.tried.elapsed() >= RETRY_EVERY {
                out = self.retry();
            }
            if let Some(e) = &self.status.store_error {
                return notices(Level::Error, &unreachable(e));
            }
        }
        match try_command(&mut self.cursor, &mut self.status, view, cmd) {
            Ok(u) => out.extend(u),
            Err(e) => out = self.failed(e),
        }
        out
    }

    /// The store could not be read: a server is unreachable until a retry succeeds; a file's
    /// error is said once.
    fn failed(&mut self, e: rusqlite::Error) -> Vec<Update> {
        self.status.playing = false;
        if !self.remote {
            return notices(Level::Error, &format!("replay: {e}"));
        }
        let e = one_line(e.to_string().trim_start_matches("recording "));
        self.tried = Instant::now();
        let out = notices(Level::Error, &unreachable(&e));
        self.status.store_error = Some(e);
        out
    }

    /// Tries the store again: a new connection, then the state at the cursor.
    fn retry(&mut self) -> Vec<Update> {
        self.tried = Instant::now();
        let t = self.cursor.cursor_ms;
        match self.cursor.reconnect().and_then(|()| self.cursor.goto(t)) {
            Ok(mut out) => {
                self.status.store_error = None;
                out.extend(notices(Level::Info, "recording store reachable again"));
                out
            }
            Err(e) => {
                // still away: the status line keeps saying it (no new flash every retry)
                let e = one_line(e.to_string().trim_start_matches("recording "));
                self.status.store_error = Some(e);
                Vec::new()
            }
        }
    }

    /// The cursor's span in the status: a recording still being written grows (the cursor
    /// reads its span again when a move passes its end), and the marks are binned again over
    /// it; the marks' reader is told to read on.
    fn follow_span(&mut self) {
        let span = (self.cursor.first_ms, self.cursor.last_ms);
        (self.status.first_ms, self.status.last_ms) = span;
        if span == self.span {
            return;
        }
        let grew = span.1 > self.span.1;
        self.span = span;
        self.status.marks = self.marks.cells(&self.status);
        if grew {
            // (the marks' reader has ended only after a file's error, said then)
            let _ = self.grew.send(());
        }
    }

    fn marks(&mut self, m: Marks) -> Vec<Update> {
        match m {
            Ok((marks, pct)) => {
                self.marks_failing = false;
                self.marks.merge(marks);
                self.status.marks = self.marks.cells(&self.status);
                self.status.scanned_pct = pct;
                Vec::new()
            }
            // the marks thread reads it again: said once, unless the cursor says it already
            Err(e) if self.remote => {
                let said = std::mem::replace(&mut self.marks_failing, true);
                if said || self.status.store_error.is_some() {
                    Vec::new()
                } else {
                    notices(
                        Level::Warn,
                        &format!("replay: timeline marks: {} (retrying)", one_line(&e)),
                    )
                }
            }
            Err(e) => {
                self.status.scanned_pct = 100;
                notices(Level::Error, &format!("replay: timeline marks: {e}"))
            }
        }
    }
}

/// The flash of a store gone away.
fn unreachable(e: &str) -> String {
    format!("recording store unreachable: {e}")
}

/// Server text on one line, control characters as `?`.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// A message for the status line of every view (the active one shows it).
pub fn notices(level: Level, text: &str) -> Vec<Update> {
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

/// `:goto` to a time outside the recording: its span said.
fn outside(cursor: &Cursor, view: ViewKind, text: &str) -> rusqlite::Result<Vec<Update>> {
    let span = format!(
        "{} – {}",
        crate::wire::replay::local(cursor.first_ms).format("%Y-%m-%d %H:%M:%S"),
        crate::wire::replay::local(cursor.last_ms).format("%Y-%m-%d %H:%M:%S")
    );
    Ok(vec![Update {
        view,
        payload: Payload::Notice {
            level: Level::Error,
            text: format!(":goto {text}: outside the recording ({span})"),
        },
    }])
}

/// What one command does to the cursor: the updates to send (the status follows); a store
/// that could not be read is said as a notice.
pub fn command(
    cursor: &mut Cursor,
    status: &mut ReplayStatus,
    view: ViewKind,
    cmd: ReplayCommand,
) -> Vec<Update> {
    try_command(cursor, status, view, cmd)
        .unwrap_or_else(|e| notices(Level::Error, &format!("replay: {e}")))
}

/// [`command`], with the store's error given back (the player says a server gone away).
pub fn try_command(
    cursor: &mut Cursor,
    status: &mut ReplayStatus,
    view: ViewKind,
    cmd: ReplayCommand,
) -> rusqlite::Result<Vec<Update>> {
    let r = match cmd {
        ReplayCommand::Step { view, by } => match cursor.step(view, by) {
            Ok(Ok(u)) => Ok(u),
            Ok(Err(Edge::Start)) => Ok(notices(Level::Warn, "replay: the start of the recording")),
            Ok(Err(Edge::End)) => Ok(notices(Level::Warn, "replay: the end of the recording")),
            Err(e) => Err(e),
        },
        ReplayCommand::Jump(secs) => cursor.goto(cursor.cursor_ms.saturating_add(secs * 1000)),
        ReplayCommand::Goto(text) => match super::parse_time(&text, Some(cursor.first_ms)) {
            // a recording still being written may have grown since it was opened
            Ok(t) if t > cursor.last_ms && !cursor.extend()? => outside(cursor, view, &text),
            Ok(t) if t < cursor.first_ms || t > cursor.last_ms => outside(cursor, view, &text),
            Ok(t) => cursor.goto(t),
            Err(e) => {
                return Ok(vec![Update {
                    view,
                    payload: Payload::Notice {
                        level: Level::Error,
                        text: format!(":goto {text}: {e}"),
                    },
                }])
            }
        },
        ReplayCommand::TogglePlay => {
            if !status.playing && cursor.cursor_ms >= cursor.last_ms {
                cursor.extend()?;
            }
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
    (status.first_ms, status.last_ms) = (cursor.first_ms, cursor.last_ms);
    r
}

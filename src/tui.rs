//! The terminal run loop: enter raw mode and the alternate screen, then `select!` over key
//! events, collector updates, a one-second clock and the stopping signals
//! ([`crate::signals`]). Updates are drained before drawing (coalescing) and a frame is drawn
//! only when something changed, at most `ui.fps` times a second. File writes asked for by
//! views ([`Effect::WriteFile`]) run on tokio's blocking pool; their outcome comes back
//! through the loop as a flash.
//!
//! The terminal is restored on every exit path — quit, SIGINT/SIGTERM/SIGHUP/SIGQUIT, a UI
//! panic (`crate::panics`), an error — and around `Ctrl-Z`. Restoring never fails or panics:
//! every terminal write goes through [`TtyOut`], which remembers the first write error (the
//! terminal is gone: ssh dropped, the pane was killed) and from then on writes nothing. A
//! vanished terminal — a write error, or `POLLHUP` on stdout checked every second, since
//! crossterm's reader does not report it — ends the loop with [`Exit::TtyGone`].

use crate::app::App;
use crate::messages::{Effect, Payload, Update};
use crate::signals::{Signals, Stop};
use crate::wire::{Level, ViewKind};
use crossterm::event::Event;
use ratatui::backend::CrosstermBackend;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub use crate::sources::SourceHandles;
use crate::sources::Sources;

/// The terminal the UI draws on.
type Term = ratatui::Terminal<CrosstermBackend<TtyOut>>;

/// Why the UI ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `q`, `Ctrl-C` (a key in raw mode) or `:quit`.
    Quit,
    /// A stopping signal.
    Signal(Stop),
    /// The terminal went away (writes fail, or it was hung up).
    TtyGone,
}

impl Exit {
    /// The process exit code (README's table): 0, 128 + signal, 129 for a vanished terminal.
    pub fn code(self) -> i32 {
        match self {
            Exit::Quit => crate::wire::exit::OK,
            Exit::Signal(s) => s.exit_code(),
            Exit::TtyGone => Stop::Hangup.exit_code(),
        }
    }
}

/// Set at the first failed terminal write: from then on nothing is written.
static TTY_GONE: AtomicBool = AtomicBool::new(false);

/// stdout for the terminal: the first write error marks the terminal gone, and later writes
/// (restoring, showing the cursor when the terminal is dropped) are silently skipped.
pub struct TtyOut(std::io::Stdout);

impl TtyOut {
    pub fn new() -> TtyOut {
        TtyOut(std::io::stdout())
    }

    fn check<T>(r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r {
            if !matches!(
                e.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
            ) {
                TTY_GONE.store(true, Ordering::SeqCst);
            }
        }
        r
    }
}

impl Default for TtyOut {
    fn default() -> Self {
        TtyOut::new()
    }
}

impl Write for TtyOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if TTY_GONE.load(Ordering::SeqCst) {
            return Ok(buf.len());
        }
        Self::check(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if TTY_GONE.load(Ordering::SeqCst) {
            return Ok(());
        }
        Self::check(self.0.flush())
    }
}

/// Whether the terminal is gone: a write failed, or stdout reports a hang-up.
pub fn tty_gone() -> bool {
    if TTY_GONE.load(Ordering::SeqCst) {
        return true;
    }
    let mut p = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let hung = unsafe { libc::poll(&mut p, 1, 0) } == 1
        && p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
    if hung {
        TTY_GONE.store(true, Ordering::SeqCst);
    }
    hung
}

/// The terminal's input, read on a thread of its own. crossterm's reader spins for ever on a
/// terminal that was hung up (its read loop retries on EOF and on EIO), and on the loop's own
/// thread that kept the loop from ever looking at the clock again: with SIGHUP ignored
/// (`nohup`), a dropped ssh session left stacktop running at 100 % CPU, its connections open.
/// Here it can only hold this thread, until the loop's once-a-second [`tty_gone`] ends the
/// process. The channel closes when the terminal is gone or its input fails (after the error).
fn spawn_input() -> std::io::Result<mpsc::Receiver<std::io::Result<Event>>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("stacktop-input".into())
        .spawn(move || loop {
            if tx.is_closed() || tty_gone() {
                return;
            }
            match crossterm::event::poll(Duration::from_millis(200)) {
                Ok(false) => {}
                Ok(true) => {
                    let ev = crossterm::event::read();
                    let failed = ev.is_err();
                    if tx.blocking_send(ev).is_err() || failed {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        })?;
    Ok(rx)
}

/// Raw mode and the alternate screen, and a terminal drawing on them.
fn enter() -> std::io::Result<Term> {
    crossterm::terminal::enable_raw_mode()?;
    let mut out = TtyOut::new();
    crossterm::execute!(out, crossterm::terminal::EnterAlternateScreen)?;
    ratatui::Terminal::new(CrosstermBackend::new(out))
}

/// Leaves raw mode and the alternate screen and shows the cursor. Never fails, never panics,
/// writes nothing once the terminal is gone: safe in the panic hook and on every exit path.
pub fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let mut out = TtyOut::new();
    let _ = crossterm::execute!(
        out,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Writes a line to stderr, ignoring errors (stderr may be the vanished terminal).
pub fn eprint_line(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Runs the UI until the user quits, a stopping signal arrives or the terminal goes away.
pub async fn run(
    mut app: App,
    mut updates: mpsc::Receiver<Update>,
    mut sources: Sources,
    signals: &mut Signals,
) -> anyhow::Result<Exit> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!("stdin/stdout is not a terminal: use --batch to print snapshots instead");
    }
    crate::panics::install(restore_terminal);
    let mut terminal = match enter() {
        Ok(t) => t,
        Err(e) => {
            restore_terminal();
            anyhow::bail!("cannot initialise the terminal: {e}");
        }
    };
    let result = event_loop(&mut terminal, &mut app, &mut updates, &mut sources, signals).await;
    restore_terminal();
    drop(terminal);
    let background = crate::panics::take_all();
    for p in &background {
        eprint_line(&format!("stacktop: a background task panicked: {p}"));
    }
    if matches!(result, Ok(Exit::Quit)) && !background.is_empty() {
        anyhow::bail!("internal error: see the panic message(s) above; please report it");
    }
    result
}

/// An I/O error of the loop: the end of the UI when the terminal is gone, else an error.
fn io_end(e: impl Into<anyhow::Error>) -> anyhow::Result<Exit> {
    if tty_gone() {
        Ok(Exit::TtyGone)
    } else {
        Err(e.into())
    }
}

async fn event_loop(
    terminal: &mut Term,
    app: &mut App,
    updates: &mut mpsc::Receiver<Update>,
    sources: &mut Sources,
    signals: &mut Signals,
) -> anyhow::Result<Exit> {
    let mut events = spawn_input()?;
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let frame = Duration::from_millis(1000 / u64::from(app.config.ui.fps.clamp(1, 60)));
    let mut last_draw = Instant::now() - frame;
    let size = match terminal.size() {
        Ok(s) => s,
        Err(e) => return io_end(e),
    };
    app.resize(size.width, size.height);
    // Outcomes of file writes started by effects (a flash each).
    let (done_tx, mut done_rx) = mpsc::channel::<Update>(16);
    // Test hook: proves that a panic restores the terminal (tests/pty_smoke.rs).
    let panic_after_draw = std::env::var_os("STACKTOP_DEBUG_PANIC_AFTER_DRAW").is_some();
    // Test hook: a panicking background task must not tear the terminal down.
    let mut panic_in_task = std::env::var_os("STACKTOP_DEBUG_PANIC_IN_TASK").is_some();
    loop {
        if app.dirty && last_draw.elapsed() >= frame {
            if let Err(e) = terminal.draw(|f| crate::screen::draw(app, f)) {
                return io_end(e);
            }
            app.dirty = false;
            last_draw = Instant::now();
            if panic_after_draw {
                panic!("STACKTOP_DEBUG_PANIC_AFTER_DRAW is set");
            }
            if std::mem::take(&mut panic_in_task) {
                tokio::spawn(async { panic!("STACKTOP_DEBUG_PANIC_IN_TASK is set") });
            }
        }
        let until_frame = frame.saturating_sub(last_draw.elapsed());
        let mut effects = Vec::new();
        tokio::select! {
            ev = events.recv() => match ev {
                Some(Ok(Event::Key(key))) => effects = app.handle_key(key),
                Some(Ok(Event::Resize(w, h))) => app.resize(w, h),
                Some(Ok(_)) => {}
                Some(Err(e)) => return io_end(e),
                None => return Ok(Exit::TtyGone),
            },
            Some(u) = updates.recv() => {
                app.apply(u);
                // Coalesce: apply everything already queued before the next draw.
                while let Ok(u) = updates.try_recv() {
                    app.apply(u);
                }
            }
            Some(u) = done_rx.recv() => app.apply(u),
            _ = clock.tick() => {
                // crossterm's reader does not report a hung-up terminal: look every second.
                if tty_gone() {
                    return Ok(Exit::TtyGone);
                }
                app.tick(chrono::Local::now());
                for p in crate::panics::take_new() {
                    app.set_flash(
                        crate::wire::Level::Error,
                        format!("internal error in a background task ({p}); that view may stop updating: please report it"),
                    );
                }
            }
            stop = signals.recv() => return Ok(Exit::Signal(stop)),
            _ = tokio::time::sleep(until_frame), if app.dirty => {}
        }
        for e in effects {
            match e {
                Effect::Quit => return Ok(Exit::Quit),
                Effect::Suspend => {
                    if let Err(e) = suspend(terminal) {
                        return io_end(e);
                    }
                    app.dirty = true;
                }
                Effect::Bundle => {
                    let tx = done_tx.clone();
                    let bundler = sources.bundler.clone();
                    let view = app.active;
                    app.set_flash(Level::Info, "incident bundle: writing…");
                    tokio::spawn(async move {
                        let _ = tx.send(write_bundle(view, bundler).await).await;
                    });
                }
                Effect::Copy(text) => {
                    if let Err(e) = copy_osc52(&text) {
                        return io_end(e);
                    }
                }
                Effect::WriteFile {
                    view,
                    path,
                    bytes,
                    what,
                } => {
                    let tx = done_tx.clone();
                    tokio::spawn(async move {
                        let _ = tx.send(write_file(view, path, bytes, what).await).await;
                    });
                }
                Effect::StartSource(view) => {
                    let (level, text) = match sources.start(view) {
                        Ok(true) => (Level::Info, format!("{}: source started", view.name())),
                        Ok(false) => (
                            Level::Info,
                            format!("{}: source already running", view.name()),
                        ),
                        Err(e) => (Level::Warn, e),
                    };
                    app.apply(Update {
                        view,
                        payload: Payload::Notice { level, text },
                    });
                }
                Effect::ToSource(view, cmd) => {
                    // the explorer's local store starts on its first request
                    if crate::sources::starts_on_first_request(view) && !sources.running(view) {
                        let _ = sources.start(view);
                    }
                    if let Some(tx) = sources.get(&view) {
                        // Never block the UI: a full queue drops the request.
                        let _ = tx.try_send(cmd);
                    }
                }
            }
        }
    }
}

/// Performs an [`Effect::Bundle`] on the blocking pool; returns the notice saying where it
/// went (or why not).
pub async fn write_bundle(
    view: ViewKind,
    bundler: Option<crate::record::bundle::Bundler>,
) -> Update {
    let res = match bundler {
        None => Err("incident bundle: not available in this mode".to_string()),
        Some(b) => tokio::task::spawn_blocking(move || {
            b.write(chrono::Local::now()).map(|w| (w, b.minutes))
        })
        .await
        .unwrap_or_else(|e| Err(format!("incident bundle: {e}"))),
    };
    let (level, text) = match res {
        Ok((w, minutes)) => {
            let secs = w.span_ms.map_or(0, |(a, b)| (b - a) / 1000);
            (
                Level::Info,
                format!(
                    "incident bundle ({} records, {}m{:02}s, last {minutes} min kept) written to {}",
                    w.records,
                    secs / 60,
                    secs % 60,
                    w.path.display()
                ),
            )
        }
        Err(e) => (Level::Error, e),
    };
    Update {
        view,
        payload: Payload::Notice { level, text },
    }
}

/// Performs an [`Effect::WriteFile`] on the blocking pool (the file 0600, missing parent
/// directories 0700: [`crate::private_fs`])
/// and returns the flash for `view`: `saved {what} to PATH`, or an error naming the path.
pub async fn write_file(view: ViewKind, path: PathBuf, bytes: Vec<u8>, what: String) -> Update {
    let p = path.clone();
    let res = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        crate::private_fs::write(&p, &bytes)
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    let (level, text) = match res {
        Ok(()) => (Level::Info, format!("saved {what} to {}", path.display())),
        Err(e) => (
            Level::Error,
            format!("cannot save to {}: {e}", path.display()),
        ),
    };
    Update {
        view,
        payload: Payload::Notice { level, text },
    }
}

/// `Ctrl-Z`: restore the terminal, stop the process, and take the terminal back on `fg`.
fn suspend(terminal: &mut Term) -> std::io::Result<()> {
    restore_terminal();
    // SAFETY: raise() only sends a signal to this process; SIGTSTP's default action stops it
    // until SIGCONT.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    // A fresh terminal has empty buffers, so the next draw repaints everything. No
    // `clear()`: it queries the cursor position, whose reply the event reader would swallow.
    *terminal = enter()?;
    Ok(())
}

/// Sends `text` to the terminal clipboard with an OSC 52 escape (tmux passes it on with
/// `set-clipboard on`). Written between frames, never from draw.
fn copy_osc52(text: &str) -> std::io::Result<()> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = TtyOut::new();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

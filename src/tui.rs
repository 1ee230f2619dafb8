//! The terminal run loop: enter raw mode and the alternate screen, then `select!` over key
//! events, collector updates, a one-second clock and SIGTERM/SIGHUP. Updates are drained
//! before drawing (coalescing) and a frame is drawn only when something changed, at most
//! `ui.fps` times a second. The terminal is restored on every exit path, on a UI panic
//! (ratatui's hook) and around `Ctrl-Z`; a background task's panic is shown, not fatal
//! (`crate::panics`). File writes asked for by views ([`Effect::WriteFile`]) run on tokio's
//! blocking pool; their outcome comes back through the loop as a flash.

use crate::app::Level;
use crate::app::{App, Effect};
use crate::collect::{Payload, SourceCommand, Update};
use crate::config::ViewKind;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// Command channels to the collectors, by view.
pub type SourceHandles = HashMap<ViewKind, mpsc::Sender<SourceCommand>>;

/// Runs the UI until the user quits or a termination signal arrives.
pub async fn run(
    mut app: App,
    mut updates: mpsc::Receiver<Update>,
    sources: SourceHandles,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!("stdin/stdout is not a terminal: use --batch to print snapshots instead");
    }
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            anyhow::bail!("cannot initialise the terminal: {e}");
        }
    };
    crate::panics::install();
    let result = event_loop(&mut terminal, &mut app, &mut updates, &sources).await;
    ratatui::restore();
    let background = crate::panics::take_all();
    for p in &background {
        eprintln!("stacktop: a background task panicked: {p}");
    }
    if result.is_ok() && !background.is_empty() {
        anyhow::bail!("internal error: see the panic message(s) above; please report it");
    }
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    updates: &mut mpsc::Receiver<Update>,
    sources: &SourceHandles,
) -> anyhow::Result<()> {
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let frame = Duration::from_millis(1000 / u64::from(app.config.ui.fps.clamp(1, 60)));
    let mut last_draw = Instant::now() - frame;
    let size = terminal.size()?;
    app.resize(size.width, size.height);
    // Outcomes of file writes started by effects (a flash each).
    let (done_tx, mut done_rx) = mpsc::channel::<Update>(16);
    // Test hook: proves that a panic restores the terminal (tests/pty_smoke.rs).
    let panic_after_draw = std::env::var_os("STACKTOP_DEBUG_PANIC_AFTER_DRAW").is_some();
    // Test hook: a panicking background task must not tear the terminal down.
    let mut panic_in_task = std::env::var_os("STACKTOP_DEBUG_PANIC_IN_TASK").is_some();
    loop {
        if app.dirty && last_draw.elapsed() >= frame {
            terminal.draw(|f| crate::ui::draw(app, f))?;
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
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) => effects = app.handle_key(key),
                Some(Ok(Event::Resize(w, h))) => app.resize(w, h),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
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
                app.tick(chrono::Local::now());
                for p in crate::panics::take_new() {
                    app.set_flash(
                        crate::app::Level::Error,
                        format!("internal error in a background task ({p}); that view may stop updating: please report it"),
                    );
                }
            }
            _ = sigterm.recv() => return Ok(()),
            _ = sighup.recv() => return Ok(()),
            _ = tokio::time::sleep(until_frame), if app.dirty => {}
        }
        for e in effects {
            match e {
                Effect::Quit => return Ok(()),
                Effect::Suspend => {
                    suspend(terminal)?;
                    app.dirty = true;
                }
                Effect::Copy(text) => copy_osc52(&text)?,
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
                Effect::ToSource(view, cmd) => {
                    if let Some(tx) = sources.get(&view) {
                        // Never block the UI: a full queue drops the request.
                        let _ = tx.try_send(cmd);
                    }
                }
            }
        }
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
fn suspend(terminal: &mut ratatui::DefaultTerminal) -> anyhow::Result<()> {
    ratatui::restore();
    // SAFETY: raise() only sends a signal to this process; SIGTSTP's default action stops it
    // until SIGCONT.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    // A fresh terminal has empty buffers, so the next draw repaints everything. No
    // `clear()`: it queries the cursor position, whose reply the event reader would swallow.
    *terminal = ratatui::try_init()?;
    crate::panics::install();
    Ok(())
}

/// Sends `text` to the terminal clipboard with an OSC 52 escape (tmux passes it on with
/// `set-clipboard on`). Written between frames, never from draw.
fn copy_osc52(text: &str) -> std::io::Result<()> {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

//! Panic policy while the terminal UI runs.
//!
//! A panic on the UI thread takes the process down: the terminal must be restored first. But a
//! panic inside a background task (a collector on a tokio worker) is caught by tokio while the
//! UI keeps running: restoring the terminal then would leave a live UI drawing into a cooked
//! terminal, and the default hook would print over the screen.
//!
//! So, once [`install`] has run: a panic on the UI thread restores the terminal
//! ([`crate::tui::restore_terminal`], which ignores write errors — a panic inside the hook
//! would abort the process, and a vanished terminal makes every write fail) and then goes to
//! the previous hook (which prints, ignoring errors); a panic on any other thread is only
//! recorded. The UI shows it as an error flash
//! ([`take_new`]) and prints every recorded panic after the terminal is restored ([`take_all`]).

use std::sync::{Mutex, Once, OnceLock};
use std::thread::ThreadId;

static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();
static INSTALLED: Once = Once::new();
static RECORDED: Mutex<Recorded> = Mutex::new(Recorded {
    all: Vec::new(),
    shown: 0,
});

struct Recorded {
    all: Vec<String>,
    shown: usize,
}

/// Makes the calling thread the UI thread and wraps the current panic hook (once; later calls
/// do nothing).
pub fn install() {
    let _ = UI_THREAD.set(std::thread::current().id());
    INSTALLED.call_once(wrap_hook);
}

fn wrap_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if UI_THREAD.get() == Some(&std::thread::current().id()) {
            crate::tui::restore_terminal();
            previous(info);
            return;
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed thread")
            .to_string();
        record(format!("{what}{place} (thread {thread})"));
    }));
}

fn record(msg: String) {
    if let Ok(mut r) = RECORDED.lock() {
        // Bounded: a task panicking in a loop must not grow memory.
        if r.all.len() < 100 {
            r.all.push(msg);
        }
    }
}

/// Background panics recorded since the last call (for the flash line).
pub fn take_new() -> Vec<String> {
    match RECORDED.lock() {
        Ok(mut r) => {
            let new = r.all[r.shown..].to_vec();
            r.shown = r.all.len();
            new
        }
        Err(_) => Vec::new(),
    }
}

/// Every background panic recorded so far (printed once the terminal is restored).
pub fn take_all() -> Vec<String> {
    match RECORDED.lock() {
        Ok(mut r) => {
            r.shown = 0;
            std::mem::take(&mut r.all)
        }
        Err(_) => Vec::new(),
    }
}

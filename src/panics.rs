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
//!
//! Panic messages are masked ([`crate::mask::text`]) wherever they go: recorded ones, and the
//! printed ones through [`install_masking_printer`], which replaces Rust's default printer.

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
/// do nothing). A panic on the UI thread runs `restore_terminal` first (the terminal module
/// passes its own, so this module needs no import of it).
pub fn install(restore_terminal: fn()) {
    let _ = UI_THREAD.set(std::thread::current().id());
    INSTALLED.call_once(|| wrap_hook(restore_terminal));
}

fn wrap_hook(restore_terminal: fn()) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if UI_THREAD.get() == Some(&std::thread::current().id()) {
            restore_terminal();
            previous(info);
            return;
        }
        let what = payload_text(info);
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

/// The panic message with every secret masked ([`crate::mask::text`]): a panic while
/// connecting may carry a conninfo or URI.
fn payload_text(info: &std::panic::PanicHookInfo<'_>) -> String {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string());
    crate::mask::text(&what)
}

/// Replaces Rust's default panic printer by one that masks secrets in the message (same
/// layout: thread, place, message, backtrace note). Call once at start, before any hook that
/// restores the terminal wraps it.
pub fn install_masking_printer() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_string();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        eprintln!(
            "\nthread '{thread}' panicked{place}:\n{}",
            payload_text(info)
        );
        match std::env::var("RUST_BACKTRACE").as_deref() {
            Ok("0") | Err(_) => eprintln!(
                "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"
            ),
            Ok(_) => eprintln!("{}", std::backtrace::Backtrace::force_capture()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The printer, seen from outside: this test runs itself again as a child process that
    /// installs the printer and panics with a conninfo and a URI in the message.
    #[test]
    fn printed_panic_messages_are_masked() {
        const CHILD: &str = "STACKTOP_TEST_PANIC_CHILD";
        if std::env::var_os(CHILD).is_some() {
            install_masking_printer();
            panic!("connect failed: host=db password = 'pa ss' / mysql://u:hunter2@h/db");
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "panics::tests::printed_panic_messages_are_masked",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env_clear()
            .env(CHILD, "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains("panicked at src/panics.rs"), "{err}");
        assert!(
            err.contains("connect failed: host=db password = ********"),
            "{err}"
        );
        assert!(!err.contains("hunter2") && !err.contains("pa ss"), "{err}");
    }

    #[test]
    fn background_panic_messages_are_masked() {
        // The hook is process-wide: put the harness's own back afterwards.
        let saved = std::panic::take_hook();
        install(crate::tui::restore_terminal);
        let h = std::thread::Builder::new()
            .name("collector".into())
            .spawn(|| {
                let ci = "host=db password = 'pa ss' user=u";
                panic!("cannot connect with {ci} or postgres://u:hunter2@db/x");
            })
            .unwrap();
        assert!(h.join().is_err());
        std::panic::set_hook(saved);
        let all = take_all();
        let mine: Vec<&String> = all
            .iter()
            .filter(|m| m.contains("cannot connect"))
            .collect();
        assert_eq!(mine.len(), 1, "{all:?}");
        assert!(
            !mine[0].contains("hunter2") && !mine[0].contains("pa ss"),
            "{}",
            mine[0]
        );
        assert!(mine[0].contains("(thread collector)"), "{}", mine[0]);
    }
}

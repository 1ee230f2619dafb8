//! Starts the real binary in a pseudo-terminal (80x24, TERM=screen as inside tmux), switches
//! tabs, opens help, quits, and checks that the terminal was restored: alternate screen left,
//! cursor shown. SIGTERM must restore it too (every signal and a vanished terminal:
//! `tests/pty_signals.rs`).

#[path = "support/proc.rs"]
mod hermetic;
#[path = "support/pty.rs"]
mod pty;

use portable_pty::CommandBuilder;
use std::io::Write;
use std::time::{Duration, Instant};

struct Session {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    term: pty::Term,
}

impl Session {
    fn start(args: &[&str]) -> Session {
        Self::start_env(args, &[])
    }

    fn start_env(args: &[&str], env: &[(&str, &str)]) -> Session {
        let pty = pty::open_80x24();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_stacktop"));
        cmd.args(args);
        cmd.env_clear();
        for (k, v) in hermetic::hermetic_env_in(hermetic::hermetic_home()) {
            cmd.env(k, v);
        }
        cmd.env("TERM", "screen");
        // the vlog tab reads a varnish instance that does not exist, not the system one
        let home = hermetic::hermetic_home();
        cmd.env("STACKTOP_VLOG__INSTANCE", home.join("no-varnish-here"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (child, writer, term) = pty::spawn(pty, cmd);
        Session {
            child,
            writer,
            term,
        }
    }

    fn pump(&mut self, wait: Duration) {
        self.term.pump(wait)
    }

    fn screen(&self) -> String {
        self.term.contents()
    }

    fn wait_for(&mut self, needle: &str) {
        self.term.wait_for(needle)
    }

    fn wait_gone(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.screen().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "screen kept showing {needle:?}:\n{}",
                self.screen()
            );
            self.pump(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        self.term.wait_exit(&mut *self.child)
    }

    fn assert_restored(&self) {
        self.term.assert_restored()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn switches_tabs_shows_help_and_quits_cleanly() {
    let mut s = Session::start(&["--no-user-config"]);
    s.wait_for("1 pgtop");
    s.wait_for("q quit");
    s.keys("2");
    s.keys("?");
    s.wait_for("help: replication");
    // A lone Esc: wait until it is handled, or the next key would read as Alt-<key>.
    s.keys("\u{1b}");
    s.wait_gone("help: replication");
    s.keys("3?");
    s.wait_for("help: vlogdump");
    s.wait_for("save the filtered rows");
    s.keys("?");
    s.wait_gone("help: vlogdump");
    s.keys("q");
    let st = s.wait_exit();
    assert!(st.success(), "exit status {st:?}");
    s.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut s = Session::start(&["--no-user-config", "vlog"]);
    s.wait_for("3 vlogdump");
    let pid = s.child.process_id().expect("child pid") as i32;
    // SAFETY: sending SIGTERM to our own child process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let st = s.wait_exit();
    assert_eq!(st.signal(), None, "{st:?}");
    assert_eq!(
        st.exit_code(),
        143,
        "128 + SIGTERM, like batch mode: {st:?}"
    );
    s.assert_restored();
}

#[test]
fn a_panic_restores_the_terminal_and_prints_the_message() {
    let mut s = Session::start_env(
        &["--no-user-config"],
        &[("STACKTOP_DEBUG_PANIC_AFTER_DRAW", "1")],
    );
    let st = s.wait_exit();
    assert!(!st.success(), "a panic is a failure exit");
    s.assert_restored();
    let raw = String::from_utf8_lossy(&s.term.raw);
    let leave = raw.rfind("\u{1b}[?1049l").unwrap();
    let msg = raw
        .rfind("STACKTOP_DEBUG_PANIC_AFTER_DRAW is set")
        .expect("the panic message is shown");
    assert!(
        msg > leave,
        "the message is printed after the terminal is restored"
    );
}

#[test]
fn a_background_task_panic_keeps_the_ui_and_is_reported() {
    let mut s = Session::start_env(
        &["--no-user-config"],
        &[("STACKTOP_DEBUG_PANIC_IN_TASK", "1")],
    );
    s.wait_for("internal error in a background task");
    // The UI is still alive and in charge of the terminal: it switches tabs.
    assert!(
        !String::from_utf8_lossy(&s.term.raw).contains("\u{1b}[?1049l"),
        "the terminal was restored under a running UI"
    );
    s.keys("3");
    s.wait_for("3 vlogdump");
    s.keys("q");
    let st = s.wait_exit();
    assert!(!st.success(), "an internal error is a failure exit: {st:?}");
    s.assert_restored();
    let raw = String::from_utf8_lossy(&s.term.raw);
    let leave = raw
        .rfind("\u{1b}[?1049l")
        .expect("left the alternate screen");
    let msg = raw
        .rfind("a background task panicked: STACKTOP_DEBUG_PANIC_IN_TASK is set")
        .expect("the panic is printed at exit");
    assert!(msg > leave, "printed after the terminal is restored");
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_takes_it_again() {
    // Under the test the child's process group is orphaned, so the kernel discards the
    // SIGTSTP it raises: what is checked is the restore before it and the re-init after.
    let mut s = Session::start(&["--no-user-config"]);
    s.wait_for("1 pgtop");
    let before = String::from_utf8_lossy(&s.term.raw)
        .matches("\u{1b}[?1049h")
        .count();
    s.keys("\u{1a}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let raw = String::from_utf8_lossy(&s.term.raw).into_owned();
        if raw.matches("\u{1b}[?1049h").count() > before && raw.contains("\u{1b}[?1049l") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no leave + re-enter of the alternate screen after Ctrl-Z"
        );
        s.pump(Duration::from_millis(50));
    }
    s.wait_for("1 pgtop");
    s.keys("q");
    assert!(s.wait_exit().success());
    s.assert_restored();
}

//! Shared by the pseudo-terminal tests (`pty_smoke.rs`, `pty_signals.rs`, the recorder's): the
//! program started in one ([`spawn`]), the 80x24 screen
//! the program drew (vt100-parsed, and the raw bytes), fed by a reader thread, with bounded
//! waits and the "terminal restored" check. Include with `#[path = "support/pty.rs"]`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The program `cmd` started in `pty`: the child, the keyboard (the master's writer) and its
/// screen, fed by a reader thread that keeps the master open until the child's side closes.
pub fn spawn(
    pty: portable_pty::PtyPair,
    cmd: portable_pty::CommandBuilder,
) -> (
    Box<dyn portable_pty::Child + Send + Sync>,
    Box<dyn Write + Send>,
    Term,
) {
    let child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let writer = pty.master.take_writer().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _keep_master_open = pty.master;
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    (child, writer, Term::new(rx))
}

/// A new 80x24 pseudo-terminal (the size the README promises).
pub fn open_80x24() -> portable_pty::PtyPair {
    portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap()
}

/// What the program wrote to the terminal.
pub struct Term {
    rx: mpsc::Receiver<Vec<u8>>,
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
}

impl Term {
    /// An 80x24 screen fed by the bytes a reader thread sends on `rx`.
    pub fn new(rx: mpsc::Receiver<Vec<u8>>) -> Term {
        Term {
            rx,
            parser: vt100::Parser::new(24, 80, 0),
            raw: Vec::new(),
        }
    }

    /// Applies what arrives within `wait` (and whatever is queued after it).
    pub fn pump(&mut self, wait: Duration) {
        if let Ok(b) = self.rx.recv_timeout(wait) {
            self.parser.process(&b);
            self.raw.extend_from_slice(&b);
        }
        while let Ok(b) = self.rx.try_recv() {
            self.parser.process(&b);
            self.raw.extend_from_slice(&b);
        }
    }

    /// Pumps for the whole of `d` (not only until the first output, as [`Term::pump`]).
    pub fn pump_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            self.pump(left.min(Duration::from_millis(50)));
        }
    }

    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    /// Pumps until the screen shows `needle`; panics with the screen after 15 s.
    pub fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.contents().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "screen never showed {needle:?}:\n{}",
                self.contents()
            );
            self.pump(Duration::from_millis(50));
        }
    }

    /// Pumps until `child` exits (then once more for its last bytes); panics after 15 s.
    pub fn wait_exit(
        &mut self,
        child: &mut (dyn portable_pty::Child + Send + Sync),
    ) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.pump(Duration::from_millis(100));
                return st;
            }
            assert!(Instant::now() < deadline, "stacktop did not exit");
            self.pump(Duration::from_millis(50));
        }
    }

    /// The terminal is back as it was: the alternate screen left after it was entered, the
    /// main screen shown, the cursor visible.
    pub fn assert_restored(&self) {
        let raw = String::from_utf8_lossy(&self.raw);
        let enter = raw
            .rfind("\u{1b}[?1049h")
            .expect("entered the alternate screen");
        let leave = raw
            .rfind("\u{1b}[?1049l")
            .expect("left the alternate screen");
        assert!(leave > enter, "left after entering");
        assert!(
            !self.parser.screen().alternate_screen(),
            "back on the main screen"
        );
        assert!(!self.parser.screen().hide_cursor(), "cursor visible again");
    }
}

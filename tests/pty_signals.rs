//! Signals and a vanished terminal, on the real binary in a pseudo-terminal: SIGINT, SIGTERM,
//! SIGHUP and SIGQUIT each leave the terminal restored (alternate screen left, cursor shown)
//! with the documented exit code (128 + signal); closing the pty's master under the running UI
//! ends it by itself with 129 (never SIGABRT, core dumps off), also when SIGHUP is ignored
//! (`nohup`); and the spawned `varnishlog` (here a script that starts a grandchild, records
//! both pids and waits) is gone after every exit, the batch one included.

use portable_pty::{CommandBuilder, MasterPty};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

#[path = "support/pty.rs"]
mod pty;

const BIN: &str = env!("CARGO_BIN_EXE_stacktop");

/// A temporary home with a `[vlog]` config whose command is the pid-recording script.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        Lab::with_output("")
    }

    /// A lab whose fake varnishlog also runs `output` (a shell loop printing lines) in the
    /// background: the UI loop then wakes up for updates all the time.
    fn with_output(output: &str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-varnishlog");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nd=$(dirname \"$0\")\nsleep 1000 &\necho $! > \"$d/grandchild.pid\"\necho $$ > \"$d/child.pid\"\n{output}\nwait\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            dir.path().join("stacktop.toml"),
            format!(
                "[ui]\nstart_view = \"vlog\"\n[vlog]\ncommand = \"{}\"\n",
                script.display()
            ),
        )
        .unwrap();
        Lab { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--no-user-config".into(),
            "--config".into(),
            self.path("stacktop.toml").display().to_string(),
            "vlog".into(),
        ]
    }

    /// Hermetic environment: nothing of the caller's PG*, MYSQL_*, STACKTOP_*, XDG_*, HOME.
    fn env(&self) -> Vec<(String, String)> {
        let home = self.dir.path().display().to_string();
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("TERM".into(), "screen".into()),
            ("HOME".into(), home.clone()),
            ("XDG_CONFIG_HOME".into(), home.clone()),
            ("XDG_STATE_HOME".into(), home.clone()),
            ("XDG_DATA_HOME".into(), home),
            // pgtop always starts: make it fail fast and locally.
            ("PGHOST".into(), "127.0.0.1".into()),
            ("PGPORT".into(), "1".into()),
        ]
    }

    fn pid(&self, name: &str) -> i32 {
        let f = self.path(name);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(p) = std::fs::read_to_string(&f)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "{} was never written",
                f.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The fake varnishlog and its own child are gone (a zombie left to init counts as gone:
    /// it holds no resources and runs nothing).
    fn assert_children_gone(&self) {
        for name in ["child.pid", "grandchild.pid"] {
            let pid = self.pid(name);
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pid) {
                assert!(
                    Instant::now() < deadline,
                    "{name} {pid} still runs after stacktop exited"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// A failed test leaves the fake varnishlog behind (stacktop was killed before it could end
/// it): ended here by PID, when it is still the lab's (its command line names the lab's dir).
impl Drop for Lab {
    fn drop(&mut self) {
        for name in ["grandchild.pid", "child.pid"] {
            let Some(pid) = std::fs::read_to_string(self.path(name))
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let ours = String::from_utf8_lossy(&cmdline);
            let dir = self.dir.path().display().to_string();
            if alive(pid) && (ours.contains(&dir) || ours.starts_with("sleep\u{0}1000")) {
                // SAFETY: kill() only sends a signal.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // the state follows the parenthesised command name
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

struct Session {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    reader: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    term: pty::Term,
}

impl Session {
    /// Starts `program args` in an 80x24 pty with `env` only.
    fn start(program: &str, args: &[String], env: &[(String, String)], cwd: &Path) -> Session {
        let pty = pty::open_80x24();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.cwd(cwd);
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        // Non-blocking reads, so the reader thread can be stopped and the master really closed.
        let fd = pty.master.as_raw_fd().expect("master fd");
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop2.load(Ordering::SeqCst) {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        Session {
            child,
            master: Some(pty.master),
            writer: Some(writer),
            reader: Some(handle),
            stop,
            term: pty::Term::new(rx),
        }
    }

    fn wait_for(&mut self, needle: &str) {
        self.term.wait_for(needle)
    }

    fn pid(&self) -> i32 {
        self.child.process_id().expect("child pid") as i32
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own, not yet reaped, child.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        self.term.wait_exit(&mut *self.child)
    }

    /// Closes every descriptor of the pty's master: the kernel hangs the terminal up.
    fn hang_up(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.reader.take() {
            h.join().unwrap();
        }
        self.writer.take();
        self.master.take();
    }

    fn assert_restored(&self) {
        self.term.assert_restored()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Core dumps are off in the running process (`Max core file size` 0 in /proc/PID/limits).
fn assert_no_core_limit(pid: i32) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("core limit line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{line}");
}

#[test]
fn each_signal_restores_the_terminal_exits_128_plus_n_and_ends_varnishlog() {
    for (sig, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
        (libc::SIGQUIT, 131),
    ] {
        let lab = Lab::new();
        let mut s = Session::start(BIN, &lab.args(), &lab.env(), lab.dir.path());
        s.wait_for("3 vlogdump");
        let child = lab.pid("child.pid");
        assert!(alive(child), "the fake varnishlog runs");
        if sig == libc::SIGQUIT {
            assert_no_core_limit(s.pid());
        }
        s.signal(sig);
        let st = s.wait_exit();
        assert_eq!(st.signal(), None, "signal {sig}: ended by a signal: {st:?}");
        assert_eq!(st.exit_code(), code, "signal {sig}: {st:?}");
        s.assert_restored();
        lab.assert_children_gone();
        assert!(
            !std::fs::read_dir(lab.dir.path()).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("core")),
            "a core file was written"
        );
    }
}

#[test]
fn quitting_ends_varnishlog_too() {
    let lab = Lab::new();
    let mut s = Session::start(BIN, &lab.args(), &lab.env(), lab.dir.path());
    s.wait_for("3 vlogdump");
    lab.pid("child.pid");
    s.writer.as_mut().unwrap().write_all(b"q").unwrap();
    let st = s.wait_exit();
    assert!(st.success(), "{st:?}");
    s.assert_restored();
    lab.assert_children_gone();
}

/// Closes the master under the running UI and checks it ends by itself with 129, not by a
/// signal (SIGABRT from a panic inside the panic hook) and with its children gone.
fn hang_up_and_check(s: &mut Session, lab: &Lab) {
    s.wait_for("3 vlogdump");
    lab.pid("child.pid");
    assert_no_core_limit(s.pid());
    s.hang_up();
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "stacktop still runs 10 s after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.signal(), None, "killed by a signal: {st:?}");
    assert_eq!(st.exit_code(), 129, "{st:?}");
    lab.assert_children_gone();
}

#[test]
fn a_vanished_terminal_ends_the_ui_without_abort() {
    let lab = Lab::new();
    let mut s = Session::start(BIN, &lab.args(), &lab.env(), lab.dir.path());
    hang_up_and_check(&mut s, &lab);
}

#[test]
fn a_vanished_terminal_ends_the_ui_when_sighup_is_ignored() {
    // `nohup`: SIGHUP stays ignored, so the dead terminal itself must be noticed. crossterm's
    // reader spins for ever on a hung-up terminal; when it did so on the UI loop's thread
    // (before the loop's once-a-second check saw the hang-up: about one hang-up in four),
    // stacktop never ended. Forty hang-ups (80 ms each), the loop woken by updates all the time, make
    // that race show.
    for _ in 0..40 {
        // varnishlog lines all the time: the loop polls the input at every update
        let lab = Lab::with_output("while :; do echo '-   ReqURL /x'; sleep 0.005; done &");
        let mut args = vec![
            "-c".to_string(),
            "trap '' HUP; exec \"$0\" \"$@\"".to_string(),
            BIN.to_string(),
        ];
        args.extend(lab.args());
        let mut s = Session::start("/bin/sh", &args, &lab.env(), lab.dir.path());
        hang_up_and_check(&mut s, &lab);
    }
}

#[test]
fn batch_mode_exits_130_on_sigint_and_ends_varnishlog() {
    let lab = Lab::new();
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(lab.args())
        .arg("--batch")
        .env_clear()
        .envs(lab.env())
        .current_dir(lab.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    lab.pid("child.pid");
    // SAFETY: kill(2) on our own, not yet reaped, child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("batch mode did not exit on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.code(), Some(130), "{st:?}");
    lab.assert_children_gone();
}

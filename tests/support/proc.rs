//! Process plumbing shared by every real-server test helper (MariaDB, Varnish, PostgreSQL,
//! webhook): free loopback ports, a guard that owns a spawned server and kills it (and its
//! whole process group) by PID on Drop, bounded polling, temp dirs, and the
//! "binary missing → install Debian package X" failure.
//!
//! Sits below `mariadb.rs` / `varnish.rs` / `pg.rs`; tests normally use those, not this.
//!
//! Small API:
//! - [`free_port`] — a free TCP port on 127.0.0.1, never handed out twice by this process.
//! - [`require_binary`] / [`find_binary`] — locate a program (PATH, /usr/sbin, /sbin,
//!   `/usr/lib/postgresql/*/bin`); `require_binary` panics naming the Debian package.
//! - [`wait_until`] (panics on timeout) / [`poll_until`] (returns `None`) — bounded polling.
//! - [`temp_dir`] — a `tempfile::TempDir` made world-traversable (0755) so servers that
//!   drop privileges (varnish's `vcache`, `postgres`) can reach files inside it.
//! - [`ProcessGuard::spawn`] — start a `Command` in its own process group with output sent
//!   to a log file; Drop = SIGTERM to the group, bounded wait, SIGKILL, reap.
//! - [`pid_alive`] / [`group_alive`] — is a PID / process group still running (zombies count
//!   as dead).
//! - [`hermetic_command`] / [`hermetic_command_in`] / [`hermetic_env`] — run stacktop (or any
//!   program under test) with none of the developer's `PG*`, `MYSQL_*`, `MARIADB_*`,
//!   `STACKTOP_*`, `XDG_*`, `HOME` variables: HOME and XDG_* point into a private empty dir, so no
//!   default server, `~/.pgpass`, `~/.my.cnf`, user config or Slack webhook is ever reached.
//! - [`random_password`] — 32 hex characters from /dev/urandom for test servers' accounts.
//! - [`cleanup_at_exit`] — for servers kept in a `static` (shared by the tests of one binary):
//!   run a closure (kill by PID, remove the temp dir) when the test binary exits.
//!
//! Orphan safety: children are forked from one long-lived spawner thread with
//! `PR_SET_PDEATHSIG = SIGKILL`, and each guard has a tiny `sh` watchdog that SIGKILLs the
//! process group when the test process dies, so even if the test binary itself is SIGKILLed
//! (no Drop runs) the servers die with it. Guards should be owned by a test (a `static` is
//! never dropped; its server then lives until the test binary exits).
//!
//! The test process is made a child subreaper (`PR_SET_CHILD_SUBREAPER`) on first spawn so
//! orphaned group members are re-parented to it and reaped by the guard. Prefer running a
//! server in the foreground under a guard (e.g. `postgres -D …`, not `pg_ctl start`, which
//! daemonises: its postmaster would be outside any guard). To run as another OS user, set
//! `Command::uid`/`gid` before `ProcessGuard::spawn` (the death signal is set after the
//! uid change, so it still applies).
#![allow(dead_code)]

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long [`ProcessGuard`]'s Drop waits after SIGTERM before SIGKILL.
pub const DROP_GRACE: Duration = Duration::from_secs(10);

/// Panic message suffix used whenever a server binary is missing.
pub const SETUP_HINT: &str = "bash scripts/setup-test-deps.sh";

// ------------------------------------------------------------------ ports

/// A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed
/// out before (so parallel tests in one binary never get the same port). The OS may still
/// give it to someone else before the server binds it; that race is accepted.
pub fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..200 {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind 127.0.0.1:0 to find a free port");
        let mut set = given.lock().unwrap_or_else(|e| e.into_inner());
        if set.insert(port) {
            return port;
        }
    }
    panic!("could not find a free loopback port after 200 attempts");
}

// ------------------------------------------------------------------ binaries

/// Find `name` on PATH, then in /usr/sbin, /sbin and the newest `/usr/lib/postgresql/*/bin`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/sbin".into());
    if let Ok(rd) = fs::read_dir("/usr/lib/postgresql") {
        let mut pg: Vec<PathBuf> = rd.flatten().map(|e| e.path().join("bin")).collect();
        // newest major first: "15" > "13"; compare numerically where possible
        pg.sort_by_key(|p| {
            std::cmp::Reverse(
                p.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0),
            )
        });
        dirs.extend(pg);
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| {
        fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// Like [`find_binary`] but panics with
/// "`name` not found: install Debian package `package` (bash scripts/setup-test-deps.sh)".
/// Tests never skip when a server is missing; they fail with this message.
pub fn require_binary(name: &str, package: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| {
        panic!("`{name}` not found: install Debian package {package} ({SETUP_HINT})")
    })
}

// ------------------------------------------------------------------ polling

/// Call `probe` every ~50 ms (backing off to 250 ms) until it returns `Some`, for at most
/// `timeout`. Returns `None` on timeout. `probe` runs at least once.
pub fn poll_until<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// [`poll_until`] that panics with "timed out after {timeout:?} waiting for {what}".
pub fn wait_until<T>(what: &str, timeout: Duration, probe: impl FnMut() -> Option<T>) -> T {
    poll_until(timeout, probe)
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

// ------------------------------------------------------------------ temp dirs

/// A fresh temp dir (removed on drop) with mode 0755, so unprivileged server processes
/// (varnish's jail user, `postgres`) can traverse it. `prefix` helps when reading /tmp.
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("stacktop-{prefix}-"))
        .tempdir()
        .expect("create temp dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
    dir
}

// ------------------------------------------------------------------ liveness

/// True if `pid` exists and is not a zombie (reads /proc/<pid>/stat).
pub fn pid_alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// True if any non-zombie process has process-group id `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    group_members(pgid).next().is_some()
}

/// (state, pgrp) from /proc/<pid>/stat.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid pgrp ..." — comm may contain spaces/parens: split after the last ')'
    let rest = &s[s.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let _ppid = f.next()?;
    let pgrp = f.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// PIDs of the non-zombie processes whose process-group id is `pgid`.
pub fn group_pids(pgid: u32) -> Vec<u32> {
    group_members(pgid).collect()
}

fn group_members(pgid: u32) -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(move |&pid| {
            proc_stat(pid).is_some_and(|(st, g)| g == pgid && st != 'Z' && st != 'X')
        })
}

/// Send `sig` to a single PID. Errors (already gone) are ignored.
pub fn signal_pid(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a positive pid has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Send `sig` to every process in group `pgid`. Errors (already gone) are ignored.
pub fn signal_group(pgid: u32, sig: i32) {
    if pgid <= 1 {
        return; // never signal "every process" (-1) or our own group (0)
    }
    // SAFETY: kill(2) with a negative pid signals a process group; no memory preconditions.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), sig);
    }
}

// ------------------------------------------------------------------ spawning

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// All children are forked from this one thread, which lives as long as the test binary:
/// PR_SET_PDEATHSIG fires when the *forking thread* exits, so forking from short-lived test
/// threads would kill servers at the end of the test that started them.
fn spawner() -> &'static Mutex<mpsc::Sender<SpawnJob>> {
    static TX: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    TX.get_or_init(|| {
        // Orphaned grandchildren (e.g. varnishd's cache child when the group is SIGKILLed)
        // are re-parented to this process instead of init, so `ProcessGuard` can reap them
        // and they do not linger as zombies. Failure only means possible zombies.
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only sets a process attribute.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0);
        }
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        thread::Builder::new()
            .name("test-support-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("start spawner thread");
        Mutex::new(tx)
    })
}

/// A spawned server process. Drop stops the whole process group (SIGTERM, up to
/// [`DROP_GRACE`], then SIGKILL) and reaps the child, so nothing outlives a failing test.
#[derive(Debug)]
pub struct ProcessGuard {
    name: String,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
    status: Option<ExitStatus>,
    watchdog: Option<Child>,
}

impl ProcessGuard {
    /// Spawn `cmd` in a new process group (pgid = pid), stdin from /dev/null, stdout and
    /// stderr appended to `log`, with SIGKILL as parent-death signal. `name` is used in
    /// messages. Panics if the program cannot be started.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> ProcessGuard {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{name}: open log {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log handle");
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // SAFETY: the closure only calls async-signal-safe prctl/getppid between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel();
        spawner()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((cmd, tx))
            .expect("spawner thread alive");
        let child = rx
            .recv()
            .expect("spawner thread replied")
            .unwrap_or_else(|e| panic!("{name}: cannot start: {e}"));
        let pid = child.id();
        let watchdog = spawn_watchdog(pid);
        ProcessGuard {
            name: name.to_string(),
            child: Some(child),
            pid,
            log: log.to_path_buf(),
            status: None,
            watchdog,
        }
    }

    /// PID of the direct child (also its process-group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Path of the stdout/stderr log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Last `lines` lines of the log (for panic messages).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// `Some(status)` once the direct child has exited (reaps it), `None` while it runs.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.status = Some(st);
                }
            }
        }
        self.status
    }

    /// True while the direct child runs.
    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.try_status().is_none()
    }

    /// Graceful stop: SIGTERM to the group, wait up to `grace` for the child and every group
    /// member to exit, then SIGKILL the group. Idempotent. Returns the child's exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let members = group_pids(self.pid);
        if self.child.is_some() && self.try_status().is_none() {
            signal_group(self.pid, libc::SIGTERM);
        }
        self.finish(grace, &members)
    }

    /// SIGKILL the whole group at once (crash simulation) and reap. Idempotent.
    pub fn kill_hard(&mut self) -> Option<ExitStatus> {
        let members = group_pids(self.pid);
        signal_group(self.pid, libc::SIGKILL);
        self.finish(Duration::ZERO, &members)
    }

    /// Wait up to `grace` for child + group to exit on their own, then SIGKILL; reap the
    /// child and any orphaned `members` re-parented to us.
    fn finish(&mut self, grace: Duration, members: &[u32]) -> Option<ExitStatus> {
        let gone = |g: &mut Self| g.try_status().is_some() && !group_alive(g.pid);
        if poll_until(grace, || gone(self).then_some(())).is_none() {
            signal_group(self.pid, libc::SIGKILL);
            if let Some(c) = self.child.as_mut() {
                let _ = c.kill();
                if let Ok(st) = c.wait() {
                    self.status = Some(st);
                }
            }
            // grandchildren that left the group are not ours to chase; group members are
            let _ = poll_until(Duration::from_secs(5), || {
                (!group_alive(self.pid)).then_some(())
            });
        }
        self.child = None;
        reap(members.iter().copied().filter(|&p| p != self.pid));
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        self.status
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop(DROP_GRACE);
        }
    }
}

/// A `sh` that blocks reading a pipe only we hold; if this test process dies without running
/// Drop (SIGKILL, abort), the pipe closes and it SIGKILLs process group `pgid`. Needed because
/// PR_SET_PDEATHSIG is cleared when a server changes credentials (varnishd's jail does).
/// `None` (no protection, still correct otherwise) if `sh` cannot be started.
fn spawn_watchdog(pgid: u32) -> Option<Child> {
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        "read _ || kill -s KILL -- -\"$1\"",
        "stacktop-watchdog",
        &pgid.to_string(),
    ]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    cmd.spawn().ok() // stdin pipe (O_CLOEXEC) stays in Child until the guard drops it
}

/// Collect exit statuses of dead processes that were re-parented to us (subreaper); pids
/// that are not our children are ignored. Bounded: at most ~1 s.
fn reap(pids: impl Iterator<Item = u32>) {
    let mut left: Vec<u32> = pids.collect();
    let _ = poll_until(Duration::from_secs(1), || {
        left.retain(|&p| {
            let mut st = 0;
            // SAFETY: waitpid on a specific pid with WNOHANG writes only to `st`.
            let r = unsafe { libc::waitpid(p as libc::pid_t, &mut st, libc::WNOHANG) };
            r == 0 // still running (or not yet re-parented): keep waiting
        });
        left.is_empty().then_some(())
    });
}

/// Last `lines` lines of a text file ("" if unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Run a short command to completion with a deadline, returning (status, stdout, stderr).
/// The command runs in its own process group (killed on timeout). Panics on timeout.
pub fn run_bounded(
    what: &str,
    mut cmd: Command,
    timeout: Duration,
) -> (ExitStatus, String, String) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let pid = child.id();
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_out = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = io::Read::read_to_end(&mut out, &mut s);
        s
    });
    let t_err = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = io::Read::read_to_end(&mut err, &mut s);
        s
    });
    let status = poll_until(timeout, || child.try_wait().ok().flatten());
    let status = match status {
        Some(st) => st,
        None => {
            signal_group(pid, libc::SIGKILL);
            let _ = child.wait();
            panic!("{what}: still running after {timeout:?}, killed");
        }
    };
    signal_group(pid, libc::SIGKILL); // stray group members, if any
    let o = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let e = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    (status, o, e)
}

#[path = "proc_hermetic.rs"]
mod clean_env;
pub use clean_env::*;

//! Trust under failure, against a real PostgreSQL started here:
//! - PostgreSQL stopped under pgtop: the UI clears its rows (nothing from before the stop is
//!   drawn or listed), the batch binary prints `state:"disconnected"` snapshot records and no
//!   rows, says why on stderr and exits 1 after `--give-up-after`; an empty snapshot prints its
//!   record.
//! - A silent server (the stacktop backend, then the postmaster, stopped with SIGSTOP): the
//!   collector reports "no answer" within a second, drops the connection after
//!   `query_timeout`, and a kill request completes (own connection) or fails fast.
//! - `stacktop vlog --file x.log` in a terminal starts no PostgreSQL collector, even with PG*
//!   pointing at a live server: no connection in the server's log, no slow log file (and
//!   `stacktop pgtop` with the same environment does both, so the check can fail).

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stacktop::app::App;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::messages::{Update, UPDATE_CHANNEL};
use stacktop::pg::activity::PgSnapshot;
use stacktop::pg::collector::{self, CollectorOptions, ConnState};
use stacktop::pg::conninfo::Env;
use stacktop::pg::kill::{SignalKind, SignalOutcome, SignalTarget};
use stacktop::theme::Theme;
use stacktop::wire::{SourceHealth, ViewKind};
use support::pg::{Pg, PgOpts};
use tokio::sync::mpsc;

const SLEEP: &str = "SELECT pg_sleep(600)";

fn no_env() -> Env {
    Env {
        vars: Box::new(|_| None),
        home: None,
        os_user: Some("root".into()),
    }
}

/// The binary with a cleared environment (no PG*, MYSQL_*, STACKTOP_*, XDG_*, HOME from the
/// test run), HOME and XDG dirs in `home`.
fn bin(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacktop"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .arg("--no-user-config")
        .stdin(Stdio::null());
    c
}

/// Lines of a child's stdout, read on a thread, with a bounded wait for the next one.
struct Lines {
    rx: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn new(r: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(r).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one parses to JSON matching `pred`; panics after `limit`.
    fn until(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    let v: serde_json::Value =
                        serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "no line for {what} within {limit:?}; seen:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Everything until the child closes stdout (bounded).
    fn rest(&mut self, limit: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + limit;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    out.push(serde_json::from_str(&l).expect("JSON line"));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return out,
                Err(_) => panic!(
                    "stdout still open after {limit:?}; seen:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

fn is_record(v: &serde_json::Value) -> bool {
    v["type"] == "snapshot"
}

/// Applies updates to `app` until `cond` holds (bounded).
async fn until(
    app: &mut App,
    rx: &mut mpsc::Receiver<Update>,
    what: &str,
    limit: Duration,
    cond: impl Fn(&App) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond(app) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) => app.apply(u),
            Ok(None) => panic!("source ended while waiting for {what}"),
            Err(_) => panic!(
                "timed out after {limit:?} waiting for {what}; health: {}",
                app.pgtop.core.health.describe()
            ),
        }
    }
}

fn screen(app: &App) -> String {
    let area = ratatui::layout::Rect::new(0, 0, 160, 30);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    stacktop::screen::render(app, area, &mut buf);
    let mut s = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_the_ui_and_the_batch_binary() {
    let mut pg = Pg::start(PgOpts::default());
    let home = tempfile::tempdir().unwrap();

    // batch: 200 ms snapshots, gives up 2 s after the server is gone
    let mut child = bin(home.path())
        .args(["pgtop", "--batch", "--json", "--interval", "200ms"])
        .args(["--give-up-after", "2s", "--slow-threshold", "1s"])
        .arg(pg.conninfo("postgres"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = Lines::new(child.stdout.take().unwrap());
    let mut err_pipe = child.stderr.take().unwrap();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    // nothing running: the snapshot record is printed anyway, with 0 sessions
    let empty = out.until(
        "an empty connected snapshot",
        Duration::from_secs(20),
        |v| is_record(v) && v["state"] == "connected" && v["sessions"] == 0,
    );
    assert_eq!(empty["view"], "pgtop");
    assert!(
        empty["age_ms"].as_i64().is_some_and(|a| a < 2000),
        "{empty}"
    );

    // the UI: the real pgtop source feeding the real App
    let mut cfg = Config::default();
    cfg.ui.refresh = Dur::millis(200);
    cfg.pgtop.conninfo = Some(pg.conninfo("postgres"));
    cfg.pgtop.slow_log = Some(home.path().join("ui-slow.jsonl"));
    cfg.pgtop.query_timeout = Duration::from_secs(2);
    let (tx, mut rx) = mpsc::channel(UPDATE_CHANNEL);
    let _cmd =
        stacktop::pg::source::spawn(&cfg.pgtop, Duration::from_millis(200), false, &no_env(), tx);
    let mut app = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);

    let sleeper = pg.running("postgres", "sleeper", SLEEP).await;
    let pid = sleeper.pid;
    out.until("the sleeper's session row", Duration::from_secs(10), |v| {
        v["type"] == "session" && v["pid"] == pid
    });
    until(
        &mut app,
        &mut rx,
        "the sleeper listed",
        Duration::from_secs(10),
        |a| a.pgtop.listed().iter().any(|s| s.pid == pid),
    )
    .await;
    assert!(screen(&app).contains(SLEEP));

    let stopped = Instant::now();
    pg.stop();
    drop(sleeper);

    // UI: disconnected, and no row from before the stop is shown or listed
    until(
        &mut app,
        &mut rx,
        "DISCONNECTED",
        Duration::from_secs(15),
        |a| {
            matches!(a.pgtop.status, ConnState::Disconnected { .. })
                && a.pgtop.core.health.is_failed()
        },
    )
    .await;
    app.tick(chrono::Local::now());
    let s = screen(&app);
    assert!(!s.contains(SLEEP), "stale row drawn after the stop:\n{s}");
    assert!(app.pgtop.listed().is_empty());
    assert!(
        s.contains("DISCONNECTED since") && s.contains("last data"),
        "{s}"
    );

    // batch: disconnected records without rows, then exit 1 after --give-up-after
    let down = out.until("a disconnected record", Duration::from_secs(15), |v| {
        is_record(v) && v["state"] == "disconnected"
    });
    assert!(
        down["sessions"].is_null() && down["rows"].is_null(),
        "{down}"
    );
    assert!(down["age_ms"].as_i64().is_some(), "{down}");
    let rest = out.rest(Duration::from_secs(20));
    let status = child.wait().unwrap();
    let stderr = err_thread.join().unwrap();
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stopped.elapsed() < Duration::from_secs(20),
        "gave up late: {:?}",
        stopped.elapsed()
    );
    assert!(!rest.is_empty());
    for v in &rest {
        assert!(
            is_record(v) && v["state"] != "connected" && v["sessions"].is_null(),
            "old data re-printed after the disconnect: {v}"
        );
    }
    for l in &out.seen {
        assert!(!l.contains("\"error\""), "an error on stdout: {l}");
    }
    assert!(stderr.contains("pgtop: reconnecting since"), "{stderr}");
    assert!(stderr.contains("giving up"), "{stderr}");
}

fn opts(pg: &Pg, query_timeout: Duration) -> CollectorOptions {
    let mut o = pg.collector_options("postgres", Duration::from_millis(200));
    o.query_timeout = query_timeout;
    o
}

async fn next_where(
    rx: &mut mpsc::Receiver<PgSnapshot>,
    limit: Duration,
    what: &str,
    pred: impl Fn(&PgSnapshot) -> bool,
) -> PgSnapshot {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(s)) if pred(&s) => return s,
            Ok(Some(_)) => {}
            Ok(None) => panic!("collector ended while waiting for {what}"),
            Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_reported_and_kills_do_not_wait_for_it() {
    let pg = Pg::start(PgOpts::default());
    let timeout = Duration::from_secs(2);
    let (h, mut rx) = collector::spawn(opts(&pg, timeout));
    let mut victim = pg.running("postgres", "victim", SLEEP).await;
    let vpid = victim.pid;
    let snap = next_where(&mut rx, Duration::from_secs(10), "the victim", |s| {
        s.sessions.iter().any(|x| x.pid == vpid)
    })
    .await;
    let target = SignalTarget::from_session(
        snap.sessions.iter().find(|x| x.pid == vpid).unwrap(),
        snap.server_now,
    )
    .unwrap();

    // the backend serving the collector goes silent
    let admin = pg.admin().await;
    let row = admin
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'stacktop' \
             AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    let backend = row.get::<_, i32>(0) as u32;
    support::proc::signal_pid(backend, libc::SIGSTOP);
    let stopped = Instant::now();
    let s = next_where(&mut rx, Duration::from_secs(5), "no answer", |s| {
        matches!(s.status, ConnState::NoAnswer { .. })
    })
    .await;
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopped.elapsed()
    );
    let health = stacktop::pg::source::health(&s.status, chrono::Utc::now());
    assert!(matches!(health, SourceHealth::Stalled { .. }), "{health:?}");
    assert!(health.describe().contains("no answer"));

    // a kill meanwhile runs on its own connection: it completes, quickly
    let t0 = Instant::now();
    let r = h.signal(SignalKind::Cancel, vec![target.clone()]).await;
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(r[0].outcome, SignalOutcome::Signalled, "{r:?}");
    assert!(victim.ended(Duration::from_secs(5)).await.is_ok());

    // past query_timeout the silent connection is dropped and reported as disconnected
    let d = next_where(&mut rx, Duration::from_secs(6), "disconnected", |s| {
        matches!(s.status, ConnState::Disconnected { .. })
    })
    .await;
    let ConnState::Disconnected { error, .. } = &d.status else {
        unreachable!()
    };
    assert!(error.contains("no answer"), "{error}");
    assert!(
        stopped.elapsed() < timeout + Duration::from_secs(2),
        "{:?}",
        stopped.elapsed()
    );

    // the whole server goes silent: a kill fails within its limit instead of hanging
    let post = pg.pid().unwrap();
    support::proc::signal_pid(post, libc::SIGSTOP);
    let t0 = Instant::now();
    let r = h.signal(SignalKind::Terminate, vec![target]).await;
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(7),
        "kill waited {took:?} on a silent server"
    );
    assert!(
        matches!(&r[0].outcome, SignalOutcome::Error(e) if e.contains("no answer")),
        "{r:?}"
    );
    support::proc::signal_pid(post, libc::SIGCONT);
    support::proc::signal_pid(backend, libc::SIGCONT);
    // and it comes back
    next_where(&mut rx, Duration::from_secs(20), "connected again", |s| {
        matches!(s.status, ConnState::Connected { .. }) && s.header.is_some()
    })
    .await;
}

/// Runs the binary in a pseudo-terminal with `env`; for each step types its keys and waits
/// until its text shows on screen; then `q`.
fn run_in_pty(args: &[&str], env: &[(&str, String)], steps: &[(&str, &str)]) {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    use std::io::Write;
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_stacktop"));
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("TERM", "screen");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("--no-user-config");
    cmd.args(args);
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut writer = pty.master.take_writer().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let _keep = pty.master;
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut parser = vt100::Parser::new(24, 100, 0);
    for (keys, ready) in steps {
        writer.write_all(keys.as_bytes()).unwrap();
        writer.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while !parser.screen().contents().contains(ready) {
            assert!(
                Instant::now() < deadline,
                "{ready:?} not on screen:\n{}",
                parser.screen().contents()
            );
            if let Ok(b) = rx.recv_timeout(Duration::from_millis(200)) {
                parser.process(&b);
            }
        }
    }
    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let done =
        support::proc::poll_until(Duration::from_secs(10), || child.try_wait().ok().flatten());
    if done.is_none() {
        let _ = child.kill();
        panic!("stacktop did not quit on q");
    }
}

fn stacktop_connections(pg: &Pg) -> usize {
    std::fs::read_to_string(pg.log_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("connection authorized") && l.contains("application_name=stacktop"))
        .count()
}

#[test]
fn vlog_in_a_terminal_starts_no_postgres_collector() {
    let pg = Pg::start(PgOpts {
        extra_conf: vec!["log_connections = on".into()],
        ..PgOpts::default()
    });
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let env = vec![
        ("HOME", home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        ),
        ("XDG_STATE_HOME", state.display().to_string()),
        (
            "XDG_DATA_HOME",
            home.path().join("data").display().to_string(),
        ),
        // everything a PostgreSQL collector would need to connect to the test server
        ("PGHOST", "127.0.0.1".into()),
        ("PGPORT", pg.port.to_string()),
        ("PGUSER", "postgres".into()),
        ("PGPASSWORD", pg.password().to_string()),
        ("PGDATABASE", "postgres".into()),
        ("PGSSLMODE", "disable".into()),
    ];
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/varnish/varnish7-request.log"
    );
    // the vlog tab reads the file; the pgtop tab has no source at all (not even "connecting")
    run_in_pty(
        &["vlog", "--file", fixture],
        &env,
        &[("", "req/s"), ("1", "no PostgreSQL source")],
    );
    let slow_log = state.join("stacktop/pgtop-slow.jsonl");
    assert!(!slow_log.exists(), "vlog wrote a pgtop slow log");
    assert_eq!(stacktop_connections(&pg), 0, "{}", pg.log_tail());

    // the same environment with `stacktop pgtop` does connect and open its slow log, so the
    // checks above can see a collector when there is one
    run_in_pty(&["pgtop"], &env, &[("", "sessions")]);
    assert!(slow_log.exists(), "pgtop opened no slow log");
    let deadline = Instant::now() + Duration::from_secs(5);
    while stacktop_connections(&pg) == 0 {
        assert!(Instant::now() < deadline, "{}", pg.log_tail());
        std::thread::sleep(Duration::from_millis(50));
    }
}

//! Replication health against REAL MariaDB servers (tests/support `ReplicationPair`): the
//! shell's repl source + view fed by live collectors, and the real binary's
//! `stacktop repl --check --json` / `--nagios` / `--batch` on a temp config pointing at the
//! test servers. Every scenario is asserted in the view's state and in the binary's output,
//! then repaired, so scenarios sharing a pair stay independent. Polls with deadlines only.

mod support;

use serde_json::Value;
use stacktop::config::Config;
use stacktop::messages::{SourceCommand, Update};
use stacktop::repl::audit::{CheckResult, Severity};
use stacktop::repl::{ConnState, LiveSeverity, ThreadState};
use stacktop::views::repl::ReplView;
use stacktop::views::View;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use support::mariadb::{MariaDb, MariaDbOptions, ReplicationPair, MONITOR_PASSWORD, MONITOR_USER};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ harness

/// A temp config file for both the in-process source and the binary.
struct Cfg {
    _dir: tempfile::TempDir,
    path: PathBuf,
    text: String,
}

/// `(name, server, user, password)`.
fn config(servers: &[(&str, &MariaDb, &str, &str)]) -> Cfg {
    let mut text =
        String::from("[repl]\nrefresh = \"200ms\"\nreconnect_max = \"300ms\"\nhistory = 20\n");
    // tempdir() is 0700: the password files are not on a command line other users can read
    let dir = tempfile::tempdir().unwrap();
    for (name, db, user, pw) in servers {
        let pw_file = dir.path().join(format!("{name}.pw"));
        std::fs::write(&pw_file, pw).unwrap();
        text.push_str(&format!(
            "\n[[repl.servers]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\n\
             user = \"{user}\"\npassword_command = \"cat '{}'\"\n",
            db.port(),
            pw_file.display()
        ));
    }
    let path = dir.path().join("repl.toml");
    std::fs::write(&path, &text).unwrap();
    Cfg {
        _dir: dir,
        path,
        text,
    }
}

fn monitor_config(pair: &ReplicationPair) -> Cfg {
    config(&[
        ("primary", pair.primary(), MONITOR_USER, &MONITOR_PASSWORD),
        ("replica", pair.replica(), MONITOR_USER, &MONITOR_PASSWORD),
    ])
}

/// The repl source of the shell, running on its own runtime, feeding a [`ReplView`].
struct Live {
    rt: tokio::runtime::Runtime,
    rx: mpsc::Receiver<Update>,
    _cmd: Option<mpsc::Sender<SourceCommand>>,
    view: ReplView,
}

impl Live {
    fn start(cfg: &Cfg) -> Live {
        let c: Config = toml::from_str(&cfg.text).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel(256);
        let cmd = {
            let _g = rt.enter();
            stacktop::repl::source::spawn(&c.repl, Duration::from_secs(1), tx)
        };
        assert!(cmd.is_some(), "servers are configured");
        Live {
            rt,
            rx,
            _cmd: cmd,
            view: ReplView::new(&c.repl),
        }
    }

    /// Applies updates until `cond` holds on the view; panics with the view state at the deadline.
    fn wait(&mut self, what: &str, mut cond: impl FnMut(&ReplView) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if cond(&self.view) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}\n{}\n{:#?}",
                    self.view.batch_text(),
                    self.view.audit
                );
            }
            let rx = &mut self.rx;
            match self
                .rt
                .block_on(async { tokio::time::timeout(left, rx.recv()).await })
            {
                Ok(Some(u)) => self.view.apply(u.payload),
                Ok(None) => panic!("the repl source ended"),
                Err(_) => {}
            }
        }
    }
}

fn chan<'a>(
    v: &'a ReplView,
    server: &str,
    name: &str,
) -> Option<&'a stacktop::repl::ChannelStatus> {
    v.server(server)?.channels.iter().find(|c| c.name == name)
}

fn check<'a>(
    v: &'a ReplView,
    id: &str,
    server: &str,
    channel: Option<&str>,
) -> Option<&'a CheckResult> {
    v.audit.iter().find(|c| {
        c.id == id && c.server == server && (channel.is_none() || c.channel.as_deref() == channel)
    })
}

fn sev(v: &ReplView, id: &str, server: &str, channel: Option<&str>) -> Option<Severity> {
    check(v, id, server, channel).map(|c| c.severity)
}

fn healthy(v: &ReplView) -> bool {
    v.server("primary").is_some_and(|s| s.is_connected())
        && chan(v, "replica", "").is_some_and(|c| {
            c.io_running == ThreadState::Yes
                && c.sql_running == ThreadState::Yes
                && c.lag_seconds.is_some()
        })
}

fn bin(cfg: &Cfg, args: &[&str]) -> Output {
    support::proc::hermetic_command(env!("CARGO_BIN_EXE_stacktop"))
        .arg("--no-user-config")
        .arg("--config")
        .arg(&cfg.path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `stacktop repl --check --json`: the report and the exit code.
fn check_json(cfg: &Cfg) -> (Value, i32) {
    let out = bin(cfg, &["repl", "--check", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

/// Runs `--check --json` until `cond` holds (the servers change asynchronously).
fn check_json_until(cfg: &Cfg, what: &str, cond: impl Fn(&Value) -> bool) -> (Value, i32) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (v, code) = check_json(cfg);
        if cond(&v) {
            return (v, code);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} in --check --json:\n{v:#}"
        );
    }
}

fn j_server<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["servers"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no server {name} in {r:#}"))
}

fn j_chan<'a>(r: &'a Value, server: &str, name: &str) -> Option<&'a Value> {
    j_server(r, server)["channels"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

fn j_check<'a>(r: &'a Value, id: &str, server: &str, channel: Option<&str>) -> Option<&'a Value> {
    r["checks"].as_array()?.iter().find(|c| {
        c["id"] == id && c["server"] == server && channel.is_none_or(|ch| c["channel"] == ch)
    })
}

fn j_sev(r: &Value, id: &str, server: &str, channel: Option<&str>) -> String {
    j_check(r, id, server, channel)
        .map(|c| c["severity"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

// ------------------------------------------------------------------ scenarios

#[test]
fn healthy_pair_setting_change_io_stop_and_sql_error() {
    let pair = ReplicationPair::start();
    let cfg = monitor_config(&pair);
    let mut live = Live::start(&cfg);

    // Healthy: threads running, lag known, audit matches the servers' real settings.
    live.wait("a healthy pair", healthy);
    let v = &live.view;
    assert_eq!(
        v.verdict("replica").unwrap().level,
        LiveSeverity::Ok,
        "{}",
        v.batch_text()
    );
    assert_eq!(chan(v, "replica", "").unwrap().lag_seconds, Some(0));
    let real = |db: &MariaDb, var: &str| db.query_one(&format!("SELECT @@GLOBAL.{var}")).unwrap();
    assert_eq!(real(pair.primary(), "sync_binlog"), "1");
    assert_eq!(sev(v, "P2", "primary", None), Some(Severity::Pass));
    assert_eq!(real(pair.replica(), "relay_log_recovery"), "1");
    assert_eq!(sev(v, "R4", "replica", None), Some(Severity::Pass));
    assert_eq!(real(pair.primary(), "binlog_format"), "ROW");
    assert_eq!(
        sev(v, "P7", "replica", Some("(default)")),
        Some(Severity::Pass),
        "the replica can resume from the primary's oldest binlog"
    );
    assert!(
        v.audit.iter().all(|c| c.missing_grant.is_none()),
        "the monitor user's minimal grants are enough: {:#?}",
        v.audit
    );
    let text = v.batch_text();
    assert!(text.contains("replica") && text.contains("Yes"), "{text}");
    let (r, _) = check_json(&cfg);
    assert_eq!(j_chan(&r, "replica", "").unwrap()["io_running"], "Yes");
    assert_eq!(j_chan(&r, "replica", "").unwrap()["sql_running"], "Yes");
    assert!(j_chan(&r, "replica", "").unwrap()["lag_seconds"].is_u64());
    assert_eq!(j_server(&r, "replica")["verdict"]["level"], "OK");
    assert_eq!(j_sev(&r, "P2", "primary", None), "PASS");
    assert_eq!(j_sev(&r, "R4", "replica", None), "PASS");
    // --batch --json prints the status table per interval.
    let out = bin(
        &cfg,
        &[
            "repl",
            "--batch",
            "--json",
            "--count",
            "2",
            "--interval",
            "200ms",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .filter(|l| l["server"] == "replica" && l["io_running"] == "Yes")
            .count()
            == 2,
        "{lines:#?}"
    );

    // SET GLOBAL sync_binlog=0 changes the audit at the next refresh.
    pair.primary().exec("SET GLOBAL sync_binlog=0");
    live.wait("P2 to turn WARN", |v| {
        sev(v, "P2", "primary", None) == Some(Severity::Warn)
    });
    let p2 = check(&live.view, "P2", "primary", None).unwrap();
    assert!(p2.fix.iter().any(|l| l.contains("sync_binlog")), "{p2:?}");
    let (r, _) = check_json(&cfg);
    assert_eq!(j_sev(&r, "P2", "primary", None), "WARN");
    pair.primary().exec("SET GLOBAL sync_binlog=1");
    live.wait("P2 back to PASS", |v| {
        sev(v, "P2", "primary", None) == Some(Severity::Pass)
    });

    // IO thread stopped: No (not Connecting), CRIT, lag unknown.
    pair.replica().exec("STOP SLAVE IO_THREAD");
    live.wait("IO thread No", |v| {
        chan(v, "replica", "").is_some_and(|c| c.io_running == ThreadState::No)
    });
    let v = &live.view;
    let c = chan(v, "replica", "").unwrap();
    assert_eq!(c.sql_running, ThreadState::Yes);
    assert_eq!(
        c.lag_seconds, None,
        "lag is NULL with the IO thread stopped"
    );
    assert_eq!(v.verdict("replica").unwrap().level, LiveSeverity::Crit);
    let row = v
        .core
        .table
        .data
        .rows
        .iter()
        .find(|r| r.key == "replica\t")
        .unwrap();
    assert_eq!(
        row.cells[5], "unknown",
        "lag shown as unknown, never 0: {:?}",
        row.cells
    );
    assert_eq!(row.cells[3], "No");
    let (r, code) = check_json(&cfg);
    assert_eq!(j_chan(&r, "replica", "").unwrap()["io_running"], "No");
    assert!(j_chan(&r, "replica", "").unwrap()["lag_seconds"].is_null());
    assert_eq!(j_server(&r, "replica")["verdict"]["level"], "CRIT");
    assert_eq!(code, 2);
    pair.replica().exec("START SLAVE IO_THREAD");
    pair.wait_replica_caught_up();
    live.wait("healthy again after START SLAVE IO_THREAD", healthy);

    // SQL thread error: duplicate key on the replica, errno and text shown.
    pair.primary()
        .exec("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY) ENGINE=InnoDB");
    pair.wait_replica_caught_up();
    pair.replica()
        .exec("SET sql_log_bin=0; INSERT INTO app.t VALUES (5); SET sql_log_bin=1");
    pair.primary().exec("INSERT INTO app.t VALUES (5)");
    live.wait("SQL thread error 1062", |v| {
        chan(v, "replica", "").is_some_and(|c| {
            c.sql_running == ThreadState::No
                && c.last_sql_error.as_ref().is_some_and(|e| e.errno == 1062)
        })
    });
    let v = &live.view;
    let e = chan(v, "replica", "")
        .unwrap()
        .last_sql_error
        .clone()
        .unwrap();
    assert!(e.message.contains("Duplicate entry"), "{e:?}");
    assert!(
        e.first_seen.is_some(),
        "MariaDB has no timestamp: first seen by stacktop"
    );
    let verdict = v.verdict("replica").unwrap();
    assert_eq!(verdict.level, LiveSeverity::Crit);
    assert!(verdict.reason.contains("1062"), "{}", verdict.reason);
    let row = v
        .core
        .table
        .data
        .rows
        .iter()
        .find(|r| r.key == "replica\t")
        .unwrap();
    assert!(row.cells[7].contains("1062"), "{:?}", row.cells);
    assert_eq!(v.core.table.data.rows[0].key, "replica\t", "broken first");
    let (r, _) = check_json(&cfg);
    let jc = j_chan(&r, "replica", "").unwrap();
    assert_eq!(jc["sql_running"], "No");
    assert_eq!(jc["last_sql_error"]["errno"], 1062);
    assert!(jc["last_sql_error"]["message"]
        .as_str()
        .unwrap()
        .contains("Duplicate entry"));
    pair.replica().exec(
        "SET sql_log_bin=0; DELETE FROM app.t WHERE id=5; SET sql_log_bin=1; START SLAVE SQL_THREAD",
    );
    pair.wait_replica_caught_up();
    live.wait("healthy after the repair", |v| {
        healthy(v) && chan(v, "replica", "").is_some_and(|c| c.last_sql_error.is_none())
    });
}

#[test]
fn primary_killed_connecting_2003_recovery_then_binlogs_purged_1236() {
    let mut pair = ReplicationPair::start();
    let cfg = monitor_config(&pair);
    let mut live = Live::start(&cfg);
    live.wait("a healthy pair", healthy);

    // Primary killed: the replica's IO thread is Connecting (not No) with error 2003;
    // the primary itself is a "reconnecting since …" row.
    pair.primary_mut().kill_hard();
    live.wait("IO thread Connecting with 2003", |v| {
        chan(v, "replica", "").is_some_and(|c| {
            c.io_running == ThreadState::Connecting
                && c.last_io_error.as_ref().is_some_and(|e| e.errno == 2003)
        }) && v
            .server("primary")
            .is_some_and(|s| matches!(s.state, ConnState::Reconnecting { .. }))
    });
    let v = &live.view;
    assert!(v.verdict("replica").unwrap().level >= LiveSeverity::Warn);
    assert_eq!(v.verdict("primary").unwrap().level, LiveSeverity::Crit);
    let prow = v
        .core
        .table
        .data
        .rows
        .iter()
        .find(|r| r.key == "primary\t")
        .unwrap();
    assert!(
        prow.cells[7].starts_with("reconnecting since "),
        "{:?}",
        prow.cells
    );
    assert!(!v.core.health.is_failed(), "one server is still up");
    // once the collector's connect attempts fail, the snapshot says when it tries next (the
    // row's countdown) and the real error has a short cause for a narrow row
    live.wait("a failed connect attempt to the primary", |v| {
        v.server("primary").is_some_and(|s| match &s.state {
            ConnState::Reconnecting { error, .. } => {
                stacktop::views::repl::down::short_cause(error).map(|c| c.0) == Some("refused")
                    && s.next_try.is_some_and(|t| t > s.taken_at)
            }
            ConnState::Connected => false,
        })
    });
    let s = live.view.server("primary").unwrap();
    let wait = s.next_try.unwrap() - s.taken_at;
    assert!(wait <= chrono::Duration::seconds(61), "{wait}");
    let (r, code) = check_json(&cfg);
    let jc = j_chan(&r, "replica", "").unwrap();
    assert_eq!(jc["io_running"], "Connecting");
    assert_eq!(jc["last_io_error"]["errno"], 2003);
    assert_eq!(
        j_server(&r, "primary")["connection"]["state"],
        "reconnecting"
    );
    assert_eq!(code, 2);
    let out = bin(&cfg, &["repl", "--check", "--nagios"]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("REPL CRITICAL - "), "{line}");

    // `repl --batch` exits with the final state (README "Exit codes"): started while the
    // primary is down it prints the outage; the primary is back before the last snapshot,
    // so the run exits 0 (it exited 1 for an outage in any snapshot).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("batch.out");
    let mut cmd = support::proc::hermetic_command(env!("CARGO_BIN_EXE_stacktop"));
    cmd.arg("--no-user-config")
        .arg("--config")
        .arg(&cfg.path)
        .args([
            "repl",
            "--batch",
            "--json",
            "--interval",
            "200ms",
            "-n",
            "100",
        ]);
    let mut batch = support::proc::ProcessGuard::spawn("repl --batch", cmd, &log);
    let primary_rows = |conn: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["server"] == "primary" && r["connection"] == conn)
            .count()
    };
    support::proc::wait_until("a batch record with the primary down", DEADLINE, || {
        (primary_rows("reconnecting") > 0).then_some(())
    });
    // The primary comes back: both sides recover without restarting anything.
    pair.primary_mut().restart();
    assert!(
        batch.is_running(),
        "the batch run ended before the primary was back (raise -n):\n{}",
        batch.log_tail(20)
    );
    let status = support::proc::wait_until("the batch run's end", Duration::from_secs(90), || {
        batch.try_status()
    });
    let last = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["server"] == "primary")
        .unwrap();
    assert_eq!(last["connection"], "connected", "{}", batch.log_tail(20));
    assert!(primary_rows("reconnecting") > 0);
    assert_eq!(status.code(), Some(0), "{}", batch.log_tail(30));
    pair.wait_replica_caught_up();
    live.wait("recovery after the primary returns", |v| {
        healthy(v)
            && v.verdict("replica")
                .is_some_and(|x| x.level == LiveSeverity::Ok)
    });
    let (r, _) = check_json_until(&cfg, "recovery", |r| {
        j_chan(r, "replica", "").is_some_and(|c| c["io_running"] == "Yes")
    });
    assert_eq!(j_server(&r, "primary")["connection"]["state"], "connected");

    // Binlogs purged past the replica: IO error 1236 and P7 CRIT.
    pair.replica().exec("STOP SLAVE");
    pair.primary().exec(
        "CREATE DATABASE p; CREATE TABLE p.t (id INT PRIMARY KEY); INSERT INTO p.t VALUES (1);
         FLUSH BINARY LOGS; INSERT INTO p.t VALUES (2); FLUSH BINARY LOGS",
    );
    let last = pair
        .primary()
        .query("SHOW MASTER STATUS")
        .first()
        .and_then(|r| r.get("File").map(str::to_string))
        .unwrap();
    pair.primary()
        .exec(&format!("PURGE BINARY LOGS TO '{last}'"));
    live.wait("P7 CRIT before the replica even restarts", |v| {
        sev(v, "P7", "replica", Some("(default)")) == Some(Severity::Crit)
    });
    pair.replica().exec("START SLAVE");
    live.wait("IO error 1236", |v| {
        chan(v, "replica", "")
            .is_some_and(|c| c.last_io_error.as_ref().is_some_and(|e| e.errno == 1236))
    });
    let v = &live.view;
    assert_eq!(v.verdict("replica").unwrap().level, LiveSeverity::Crit);
    assert_eq!(
        sev(v, "P7", "replica", Some("(default)")),
        Some(Severity::Crit)
    );
    let (r, code) = check_json(&cfg);
    assert_eq!(
        j_chan(&r, "replica", "").unwrap()["last_io_error"]["errno"],
        1236
    );
    assert_eq!(j_sev(&r, "P7", "replica", Some("(default)")), "CRIT");
    assert_eq!(code, 2);
}

#[test]
fn broken_named_connection_is_crit_while_default_is_healthy() {
    let mut pair = ReplicationPair::start();
    pair.add_named_connection("src2");
    let cfg = monitor_config(&pair);
    let mut live = Live::start(&cfg);
    live.wait("both connections running", |v| {
        healthy(v) && chan(v, "replica", "src2").is_some_and(|c| c.io_running == ThreadState::Yes)
    });
    assert_eq!(
        live.view.verdict("replica").unwrap().level,
        LiveSeverity::Ok
    );

    let src = pair.named_source("src2");
    src.exec("CREATE DATABASE s2; CREATE TABLE s2.t (id INT PRIMARY KEY)");
    pair.wait_named_caught_up("src2");
    pair.replica()
        .exec("SET sql_log_bin=0; INSERT INTO s2.t VALUES (7); SET sql_log_bin=1");
    pair.named_source("src2")
        .exec("INSERT INTO s2.t VALUES (7)");
    live.wait("src2 SQL error while the default runs", |v| {
        chan(v, "replica", "src2").is_some_and(|c| c.sql_running == ThreadState::No)
    });
    let v = &live.view;
    let d = chan(v, "replica", "").unwrap();
    assert_eq!(
        (d.io_running, d.sql_running),
        (ThreadState::Yes, ThreadState::Yes)
    );
    let verdict = v.verdict("replica").unwrap();
    assert_eq!(
        verdict.level,
        LiveSeverity::Crit,
        "never hidden behind the healthy default"
    );
    assert!(verdict.reason.contains("src2"), "{}", verdict.reason);
    let rows: Vec<&str> = v
        .core
        .table
        .data
        .rows
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(
        rows[0], "replica\tsrc2",
        "the broken connection is listed first: {rows:?}"
    );
    let (r, code) = check_json(&cfg);
    assert_eq!(j_server(&r, "replica")["verdict"]["level"], "CRIT");
    assert_eq!(j_chan(&r, "replica", "").unwrap()["sql_running"], "Yes");
    assert_eq!(j_chan(&r, "replica", "src2").unwrap()["sql_running"], "No");
    assert_eq!(code, 2);
}

#[test]
fn minimal_grants_work_and_fewer_grants_are_unknown_naming_the_grant() {
    let pair = ReplicationPair::start();
    // The documented minimal grants (tests/support creates `monitor` with them).
    let cfg = monitor_config(&pair);
    let (r, _) = check_json(&cfg);
    assert_eq!(j_chan(&r, "replica", "").unwrap()["io_running"], "Yes");
    let unknown: Vec<&Value> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["severity"] == "UNKNOWN")
        .collect();
    assert!(unknown.is_empty(), "minimal grants suffice: {unknown:#?}");

    // Fewer grants: PROCESS only (no SLAVE MONITOR / BINLOG MONITOR / SELECT on mysql.*).
    let weak_pw = support::proc::random_password();
    for db in [pair.primary(), pair.replica()] {
        db.exec(&format!(
            "SET sql_log_bin=0; CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY '{weak_pw}';
             GRANT PROCESS ON *.* TO 'weak'@'127.0.0.1'; SET sql_log_bin=1"
        ));
    }
    let weak = config(&[
        ("primary", pair.primary(), "weak", &weak_pw),
        ("replica", pair.replica(), "weak", &weak_pw),
    ]);
    let mut live = Live::start(&weak);
    live.wait("R0 UNKNOWN naming SLAVE MONITOR", |v| {
        check(v, "R0", "replica", None).is_some()
    });
    let v = &live.view;
    let r0 = check(v, "R0", "replica", None).unwrap();
    assert_eq!(r0.severity, Severity::Unknown);
    assert_eq!(r0.missing_grant.as_deref(), Some("SLAVE MONITOR"), "{r0:?}");
    assert!(
        r0.fix.iter().any(|l| l.contains("GRANT SLAVE MONITOR")),
        "{r0:?}"
    );
    let verdict = v.verdict("replica").unwrap();
    assert_eq!(verdict.level, LiveSeverity::Warn);
    assert!(
        verdict.reason.contains("SLAVE MONITOR"),
        "{}",
        verdict.reason
    );
    assert!(
        v.server("replica").unwrap().is_connected(),
        "no crash, no disconnect"
    );
    let (r, code) = check_json(&weak);
    let j = j_check(&r, "R0", "replica", None).unwrap();
    assert_eq!(j["severity"], "UNKNOWN");
    assert_eq!(j["missing_grant"], "SLAVE MONITOR");
    assert!(code == 1 || code == 3, "WARNING or UNKNOWN, got {code}");
}

#[test]
fn server_flags_and_nothing_to_check() {
    let pair = ReplicationPair::start();
    let bin = || {
        let mut c = support::proc::hermetic_command(env!("CARGO_BIN_EXE_stacktop"));
        c.arg("--no-user-config").stdin(Stdio::null());
        c
    };
    // --server NAME=USER@HOST:PORT and --password-env instead of a config file.
    let out = bin()
        .args([
            "repl",
            "--check",
            "--nagios",
            "--lag-warn",
            "30s",
            "--server",
        ])
        .arg(format!(
            "replica={MONITOR_USER}@127.0.0.1:{}",
            pair.replica().port()
        ))
        .args(["--password-env", "STACKTOP_TEST_MONITOR_PW"])
        .env("STACKTOP_TEST_MONITOR_PW", MONITOR_PASSWORD)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{line}");
    assert!(
        line.starts_with("REPL OK - 1 of 1 servers replicating"),
        "{line}"
    );
    assert!(
        line.contains("servers=1") && line.contains("'lag_replica'=0s"),
        "{line}"
    );
    // A wrong password is data, not a crash: UNKNOWN (cannot log in) with the server's error.
    let out = bin()
        .args(["repl", "--check", "--nagios", "--server"])
        .arg(format!(
            "replica={MONITOR_USER}@127.0.0.1:{}",
            pair.replica().port()
        ))
        .args(["--password-env", "STACKTOP_TEST_MONITOR_PW"])
        .env("STACKTOP_TEST_MONITOR_PW", "wrong")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(line.contains("1045") && !line.contains("wrong"), "{line}");
    assert!(line.starts_with("REPL UNKNOWN - 0 of 1"), "{line}");
    // An unset password variable: UNKNOWN too, naming the variable.
    let out = bin()
        .args(["repl", "--check", "--nagios", "--server"])
        .arg(format!(
            "replica={MONITOR_USER}@127.0.0.1:{}",
            pair.replica().port()
        ))
        .args(["--password-env", "STACKTOP_TEST_UNSET_PW"])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(line.contains("STACKTOP_TEST_UNSET_PW is not set"), "{line}");
    // --batch -n 1 with one of two servers refusing the login: the source is live (the
    // other answers) but the run exits 1 (README "Exit codes"); the row says UNKNOWN.
    let two = config(&[
        ("replica", pair.replica(), MONITOR_USER, &MONITOR_PASSWORD),
        ("primary", pair.primary(), MONITOR_USER, "wrong"),
    ]);
    let out = support::proc::hermetic_command(env!("CARGO_BIN_EXE_stacktop"))
        .arg("--no-user-config")
        .arg("--config")
        .arg(&two.path)
        .args(["repl", "--batch", "-n", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("UNKNOWN") && text.contains("cannot log in"),
        "{text}"
    );
    // Nothing configured: UNKNOWN (3), in every format.
    for (args, want) in [
        (&["repl", "--check"][..], "UNKNOWN"),
        (&["repl", "--check", "--json"][..], "\"status\":\"UNKNOWN\""),
        (
            &["repl", "--check", "--nagios"][..],
            "REPL UNKNOWN - no servers configured",
        ),
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(want),
            "{args:?}"
        );
    }
    // Bad --server syntax is a usage error before anything starts.
    let out = bin()
        .args(["repl", "--check", "--server", "nohost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME=[USER@]HOST[:PORT]"));
}

/// pt-heartbeat's table (its default layout; the test writes the rows pt-heartbeat would):
/// Seconds_Behind_Master says 0 on an idle, caught-up replica, the heartbeat says how old the
/// newest replicated heartbeat is, and the verdict judges that.
#[test]
fn heartbeat_lag_from_a_pt_heartbeat_table() {
    let pair = ReplicationPair::start();
    let p = pair.primary();
    p.exec(
        "CREATE DATABASE percona; \
         CREATE TABLE percona.heartbeat (ts varchar(26) NOT NULL, \
           server_id int unsigned NOT NULL PRIMARY KEY, file varchar(255) DEFAULT NULL, \
           position bigint unsigned DEFAULT NULL, relay_master_log_file varchar(255) DEFAULT NULL, \
           exec_master_log_pos bigint unsigned DEFAULT NULL); \
         GRANT SELECT ON percona.heartbeat TO 'monitor'@'127.0.0.1'",
    );
    // The last heartbeat pt-heartbeat wrote was 90 s ago (its writer died, or the data stopped
    // flowing in a way SHOW SLAVE STATUS does not see).
    let beat = |ago_secs: u32| {
        p.exec(&format!(
            "REPLACE INTO percona.heartbeat (ts, server_id) VALUES \
             (DATE_FORMAT(NOW(6) - INTERVAL {ago_secs} SECOND, '%Y-%m-%dT%H:%i:%s.%f'), @@server_id)"
        ))
    };
    beat(90);
    pair.wait_replica_caught_up();
    let mut cfg = monitor_config(&pair);
    // The replica is the last server in the file.
    cfg.text
        .push_str("heartbeat_table = \"percona.heartbeat\"\n");
    std::fs::write(&cfg.path, &cfg.text).unwrap();
    let mut live = Live::start(&cfg);
    live.wait("heartbeat lag of about 90 s", |v| {
        chan(v, "replica", "").is_some_and(|c| c.heartbeat_lag.is_some_and(|h| h >= 89.0))
    });
    let v = &live.view;
    let c = chan(v, "replica", "").unwrap();
    assert_eq!(
        c.lag_seconds,
        Some(0),
        "Seconds_Behind_Master alone sees no lag"
    );
    assert!(c.heartbeat_lag.unwrap() < 120.0, "{:?}", c.heartbeat_lag);
    let verdict = v.verdict("replica").unwrap();
    assert_eq!(verdict.level, LiveSeverity::Warn, "{}", v.batch_text());
    assert!(verdict.reason.contains("(heartbeat)"), "{}", verdict.reason);
    assert!(v.batch_text().contains("hb"), "{}", v.batch_text());

    // A fresh heartbeat: the lag drops and the verdict is OK again.
    beat(0);
    live.wait("a fresh heartbeat", |v| {
        chan(v, "replica", "").is_some_and(|c| c.heartbeat_lag.is_some_and(|h| h < 30.0))
            && v.verdict("replica")
                .is_some_and(|x| x.level == LiveSeverity::Ok)
    });
    let (r, _) = check_json(&cfg);
    let hb = j_chan(&r, "replica", "").unwrap()["heartbeat_lag"]
        .as_f64()
        .expect("heartbeat lag in --check --json");
    assert!(hb < 30.0, "{hb}");
}

/// A real standalone MariaDB with binary logging off (`skip-log-bin`): the view's row is
/// "not replicating, no binary log" (WARN, never a plain OK), `--nagios` says "0 of 1 servers
/// replicating", and with `role = "primary"` the row takes the audit's CRIT (P1).
#[test]
fn standalone_server_without_binary_log() {
    let solo = MariaDb::start(MariaDbOptions::named("solo", 9, 0).cnf("skip-log-bin"));
    assert_eq!(solo.query_one("SELECT @@log_bin").as_deref(), Some("0"));
    let cfg = config(&[("solo", &solo, MONITOR_USER, &MONITOR_PASSWORD)]);
    let mut live = Live::start(&cfg);
    live.wait("the standalone server's verdict", |v| {
        v.verdicts.iter().any(|x| x.server == "solo")
    });
    let v = live.view.verdicts[0].clone();
    assert_eq!(v.level, LiveSeverity::Warn, "{v:?}");
    assert!(
        v.reason.starts_with("not replicating, no binary log"),
        "{v:?}"
    );
    let out = bin(&cfg, &["repl", "--check", "--nagios"]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{line}");
    assert!(
        line.starts_with("REPL WARNING - 0 of 1 servers replicating (1 not a replica)"),
        "{line}"
    );
    // role = primary: the audit is CRIT (log_bin off), and so is the row
    let text = cfg
        .text
        .replace("name = \"solo\"", "name = \"solo\"\nrole = \"primary\"");
    std::fs::write(&cfg.path, &text).unwrap();
    let (r, code) = check_json(&cfg);
    assert_eq!(code, 2, "{r}");
    assert_eq!(j_sev(&r, "P1", "solo", None), "CRIT");
    let srv = j_server(&r, "solo");
    assert_eq!(srv["verdict"]["level"], "CRIT", "{srv}");
    assert!(
        srv["verdict"]["reason"]
            .as_str()
            .unwrap()
            .contains("audit CRIT P1"),
        "{srv}"
    );
}

/// No `[[repl.servers]]`, no `--server`: `stacktop repl` finds the local server the way the
/// mysql client does, here from `~/.my.cnf` `[client]` in a temp HOME (host, port, user,
/// password) pointing at a test MariaDB — never the system one. The password is not printed.
#[test]
fn no_config_connects_to_the_local_server_from_my_cnf() {
    use std::os::unix::fs::PermissionsExt;
    let db = MariaDb::start(MariaDbOptions::named("local", 11, 0));
    let home = tempfile::tempdir().unwrap();
    let cnf = home.path().join(".my.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[mysqld]\nport=1\n[client]\nhost=127.0.0.1\nport={}\nuser={MONITOR_USER}\n\
             password=\"{}\"\n",
            db.port(),
            &*MONITOR_PASSWORD
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), home.path())
        .args(["--no-user-config", "repl", "--batch", "--json", "-n", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let row = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["server"] == "local")
        .unwrap_or_else(|| panic!("no row for the local server:\n{stdout}\n{stderr}"));
    assert_eq!(row["connection"], "connected", "{row}");
    assert_eq!(row["address"], format!("127.0.0.1:{}", db.port()), "{row}");
    // every record says how it was found (the tab's lasting label)
    assert_eq!(
        row["discovered"],
        format!("discovered: 127.0.0.1:{} (~/.my.cnf)", db.port()),
        "{row}"
    );
    assert!(
        row["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{row}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(&*MONITOR_PASSWORD), "password shown: {text}");
    }
}

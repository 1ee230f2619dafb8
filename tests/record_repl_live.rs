//! The flight recorder on the replication tab, against a real MariaDB primary + replica with
//! GTID (tests/support): a live App fed by the real repl source records itself (the tee's
//! order: the app first, the copy offered with its instant) through a stopped SQL thread, a
//! duplicate-key error (1062) and a killed primary; then the recording is replayed and, at
//! every instant the live app drew, the replayed screen (TestBackend) and the batch JSON equal
//! what the live app showed. `stacktop replay --batch --json` prints the same rows at the same
//! instants.

mod support;

use std::time::Duration;

use stacktop::app::App;
use stacktop::config::Config;
use stacktop::repl::{ConnState, ThreadState};
use stacktop::wire::ViewKind;
use support::mariadb::{MariaDb, ReplicationPair, MONITOR_PASSWORD, MONITOR_USER};
use support::replay::{assert_replay_equals_live, Replayed, Taped};

const LIMIT: Duration = Duration::from_secs(30);

/// The `[repl]` config of the pair (passwords from 0600 files in `dir`).
fn config(dir: &std::path::Path, servers: &[(&str, &MariaDb)]) -> Config {
    let mut text =
        String::from("[repl]\nrefresh = \"200ms\"\nreconnect_max = \"300ms\"\nhistory = 20\n");
    for (name, db) in servers {
        let pw_file = dir.join(format!("{name}.pw"));
        std::fs::write(&pw_file, MONITOR_PASSWORD.as_str()).unwrap();
        text.push_str(&format!(
            "\n[[repl.servers]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\n\
             user = \"{MONITOR_USER}\"\npassword_command = \"cat '{}'\"\n",
            db.port(),
            pw_file.display()
        ));
    }
    std::fs::write(dir.join("repl.toml"), &text).unwrap();
    let mut cfg: Config = toml::from_str(&text).unwrap();
    cfg.ui.start_view = ViewKind::Repl;
    cfg
}

fn replica_chan(app: &App) -> Option<&stacktop::repl::ChannelStatus> {
    app.repl
        .server("replica")?
        .channels
        .iter()
        .find(|c| c.name.is_empty())
}

fn healthy(app: &App) -> bool {
    app.repl.server("primary").is_some_and(|s| s.is_connected())
        && replica_chan(app).is_some_and(|c| {
            c.io_running == ThreadState::Yes
                && c.sql_running == ThreadState::Yes
                && c.lag_seconds.is_some()
        })
}

/// The JSON lines of `stacktop replay --batch --json`, in blocks: a `snapshot` line and the
/// rows after it, keyed by the block's `ts`.
fn blocks(out: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        let j: serde_json::Value = serde_json::from_str(line).unwrap();
        if j["type"] == "snapshot" {
            v.push((j["ts"].as_str().unwrap().to_string(), String::new()));
        }
        if let Some(b) = v.last_mut() {
            if j["type"] != "health" && j["type"] != "notice" {
                b.1.push_str(line);
                b.1.push('\n');
            }
        }
    }
    v
}

#[test]
fn a_replication_fault_replays_as_the_live_tab_showed_it() {
    let mut pair = ReplicationPair::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &[("primary", pair.primary()), ("replica", pair.replica())],
    );
    let rec = dir.path().join("repl.sqlite");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let _cmd = {
        let _g = rt.enter();
        stacktop::repl::source::spawn(&cfg.repl, Duration::from_secs(1), tx)
    };
    let mut live = Taped::new(cfg.clone(), ViewKind::Repl, rx, &rec);

    rt.block_on(live.until("a healthy pair", LIMIT, healthy));

    // fault 1: the SQL thread stopped
    pair.replica().exec("STOP SLAVE SQL_THREAD");
    rt.block_on(live.until("SQL thread No", LIMIT, |a| {
        replica_chan(a).is_some_and(|c| c.sql_running == ThreadState::No)
    }));
    pair.replica().exec("START SLAVE SQL_THREAD");
    rt.block_on(live.until("healthy again", LIMIT, healthy));

    // fault 2: a duplicate key stops the SQL thread with 1062
    pair.primary()
        .exec("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY) ENGINE=InnoDB");
    pair.wait_replica_caught_up();
    pair.replica()
        .exec("SET sql_log_bin=0; INSERT INTO app.t VALUES (5); SET sql_log_bin=1");
    pair.primary().exec("INSERT INTO app.t VALUES (5)");
    rt.block_on(live.until("SQL error 1062", LIMIT, |a| {
        replica_chan(a).is_some_and(|c| c.last_sql_error.as_ref().is_some_and(|e| e.errno == 1062))
    }));
    let fault_shot = live.shots.len() - 1;

    // fault 3: the primary killed: reconnecting, the replica's IO thread Connecting
    pair.primary_mut().kill_hard();
    rt.block_on(live.until("the primary down", LIMIT, |a| {
        a.repl
            .server("primary")
            .is_some_and(|s| matches!(s.state, ConnState::Reconnecting { .. }))
            && replica_chan(a).is_some_and(|c| c.io_running == ThreadState::Connecting)
    }));
    let stats = live.finish();
    drop(_cmd);
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(stats.dropped.load(Relaxed), 0, "{}", stats.summary());
    assert_eq!(stats.lost.load(Relaxed), 0, "{}", stats.summary());

    // the live screens showed the faults (so the comparison below compares something)
    let shots = live.shots.clone();
    assert!(
        shots[fault_shot].screen.contains("1062"),
        "{}",
        shots[fault_shot].screen
    );
    assert!(shots.last().unwrap().screen.contains("reconnecting since"));

    // replayed: the same screen and batch JSON at every instant the live app drew
    let replayed = Replayed::open(cfg, ViewKind::Repl, &rec);
    let n = assert_replay_equals_live(replayed, &shots, "repl");
    // one shot at least per state waited for (healthy, SQL stopped, healthy, 1062, primary down)
    assert!(n >= 5, "{n} instants compared");

    // `stacktop replay --batch --json` prints the same blocks at the same instants
    let out = support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), dir.path())
        .args(["--no-user-config", "replay"])
        .arg(&rec)
        .args(["--batch", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = blocks(&String::from_utf8_lossy(&out.stdout));
    let mut matched = 0;
    for s in &shots {
        let ts = support::replay::local(s.ts_ms).to_rfc3339();
        // the CLI prints rows only while the tab is live (a live app's batch always has them)
        // the last block of that instant: two servers' refreshes recorded in the same
        // millisecond print two blocks, and the live app was drawn after both
        if let Some((_, b)) = printed.iter().rev().find(|(t, _)| *t == ts) {
            if s.batch.contains("\"state\":\"connected\"") {
                // row order: the live app lists servers in its config's order, the CLI
                // replay (no config) in the order they first answered
                let sorted = |t: &str| {
                    let mut l: Vec<&str> = t.lines().collect();
                    l.sort_unstable();
                    l.join("\n")
                };
                assert_eq!(sorted(b), sorted(&s.batch), "replay --batch --json at {ts}");
                matched += 1;
            }
        }
    }
    assert!(
        matched >= 4,
        "{matched} printed blocks matched live instants"
    );
    assert!(printed.iter().any(|(_, b)| b.contains("1062")));
}

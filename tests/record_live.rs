//! The flight recorder against a real PostgreSQL started here: a live `pgtop --batch --json
//! --record=PATH` run with pg_sleep sessions, then `replay PATH --batch --json` prints the same
//! sessions (pids, queries, every field of the batch JSON) at the same instants; the headless
//! `stacktop record` killed with SIGKILL mid-write keeps all but the last second, readable.
//! (A full or stalled disk: `src/record/tests.rs`, with a size-capped file and a stalled writer.)

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use stacktop::record::store::Reader;
use support::pg::Pg;

const SLEEP: &str = "SELECT pg_sleep(600)";

fn stacktop(home: &Path) -> std::process::Command {
    support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), home)
}

/// The JSON lines of a batch or replay output, grouped: each `snapshot` record with its
/// session rows (keyed by pid, `ts` removed).
fn snapshots(out: &str) -> Vec<(chrono::DateTime<chrono::FixedOffset>, BTreeMap<i64, Value>)> {
    let mut v: Vec<(chrono::DateTime<chrono::FixedOffset>, BTreeMap<i64, Value>)> = Vec::new();
    for line in out.lines() {
        let mut j: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}\n{out}"));
        match j["type"].as_str() {
            Some("snapshot") if j["view"] == "pgtop" && !j["rows"].is_null() => {
                let ts = chrono::DateTime::parse_from_rfc3339(j["ts"].as_str().unwrap()).unwrap();
                v.push((ts, BTreeMap::new()));
            }
            Some("session") => {
                let pid = j["pid"].as_i64().unwrap();
                j.as_object_mut().unwrap().remove("ts");
                v.last_mut()
                    .expect("a session after a snapshot")
                    .1
                    .insert(pid, j);
            }
            _ => {}
        }
    }
    v
}

pg_matrix!(replay_prints_what_the_live_batch_showed);

async fn replay_prints_what_the_live_batch_showed(major: u32) {
    let pg = Pg::shared_major(major);
    let dir = tempfile::tempdir().unwrap();
    let a = pg.running("postgres", "rec-sleeper-a", SLEEP).await;
    let b = pg.running("postgres", "rec-sleeper-b", SLEEP).await;
    let rec = dir.path().join("rec.sqlite");
    let (conninfo, password, home) = (
        pg.conninfo_nopw("postgres"),
        pg.password().to_string(),
        dir.path().to_path_buf(),
    );
    let record = format!("--record={}", rec.display());
    let live = tokio::task::spawn_blocking(move || {
        stacktop(&home)
            .env("PGPASSWORD", password)
            .args(["--no-user-config", &record, "pgtop", "--batch", "--json"])
            .args(["--interval", "300ms", "--count", "6"])
            .arg(&conninfo)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let live_out = String::from_utf8_lossy(&live.stdout).into_owned();
    let live_err = String::from_utf8_lossy(&live.stderr).into_owned();
    assert!(live.status.code().is_some(), "{live_err}");
    let live_snaps = snapshots(&live_out);
    assert!(live_snaps.len() >= 3, "{live_out}\n{live_err}");

    // the file is private, and has no password in it
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&rec).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let home = dir.path().to_path_buf();
    let r2 = rec.clone();
    let replay = tokio::task::spawn_blocking(move || {
        stacktop(&home)
            .args(["--no-user-config", "replay"])
            .arg(&r2)
            .args(["--batch", "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let replay_out = String::from_utf8_lossy(&replay.stdout).into_owned();
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let replayed = snapshots(&replay_out);
    assert!(
        replayed.len() >= live_snaps.len(),
        "{} replayed, {} live\nlive: {live_out}\nreplay: {replay_out}",
        replayed.len(),
        live_snaps.len()
    );
    // every snapshot the live run printed was recorded: the same sessions, field for field,
    // recorded within a refresh of when the live run printed it
    for (ts, rows) in &live_snaps {
        assert!(rows.contains_key(&i64::from(a.pid)) && rows.contains_key(&i64::from(b.pid)));
        assert_eq!(rows[&i64::from(a.pid)]["query"], SLEEP);
        let found = replayed.iter().find(|(_, r)| r == rows);
        let (rts, _) = found.unwrap_or_else(|| {
            panic!(
                "live snapshot at {ts} not in the replay\nlive: {live_out}\nreplay: {replay_out}"
            )
        });
        let gap = (*ts - *rts).num_milliseconds().abs();
        assert!(gap <= 1000, "recorded {rts}, printed {ts}");
    }
    assert!(
        !std::fs::read(&rec)
            .unwrap()
            .windows(pg.password().len())
            .any(|w| w == pg.password().as_bytes()),
        "no password in the recording"
    );

    // --from/--to cut by time: only the snapshots in the window
    let (first, last) = Reader::open(&rec).unwrap().span().unwrap().unwrap();
    let mid = first + (last - first) / 2;
    let t = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339()
    };
    let home = dir.path().to_path_buf();
    let (from, r2) = (t(mid), rec.clone());
    let cut = tokio::task::spawn_blocking(move || {
        stacktop(&home)
            .args(["--no-user-config", "replay"])
            .arg(&r2)
            .args(["--batch", "--json", "--from", &from])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let cut = snapshots(&String::from_utf8_lossy(&cut.stdout));
    assert!(!cut.is_empty() && cut.len() < replayed.len());
    assert!(cut.iter().all(|(ts, _)| ts.timestamp_millis() >= mid));
    // the first snapshot after the cut is whole (rebuilt from the keyframe before it)
    assert_eq!(
        cut[0].1,
        replayed
            .iter()
            .find(|(ts, _)| ts.timestamp_millis() >= mid)
            .unwrap()
            .1
    );
    drop((a, b));
}

pg_matrix!(a_killed_recorder_keeps_all_but_the_last_second);

async fn a_killed_recorder_keeps_all_but_the_last_second(major: u32) {
    let pg = Pg::shared_major(major);
    let dir = tempfile::tempdir().unwrap();
    let sleeper = pg.running("postgres", "rec-kill-sleeper", SLEEP).await;
    let rec = dir.path().join("rec.sqlite");
    let cfg = dir.path().join("record.toml");
    std::fs::write(
        &cfg,
        format!(
            "[ui]\nrefresh = \"200ms\"\n[pgtop]\nconninfo = \"{}\"\n[record]\npath = \"{}\"\n",
            pg.conninfo_nopw("postgres"),
            rec.display()
        ),
    )
    .unwrap();
    let mut cmd = stacktop(dir.path());
    cmd.env("PGPASSWORD", pg.password())
        .args(["--no-user-config", "--config"])
        .arg(&cfg)
        .arg("record");
    let log = dir.path().join("record.log");
    let mut proc = support::proc::ProcessGuard::spawn("stacktop record", cmd, &log);
    // recording: at least 15 pgtop snapshots committed
    support::proc::wait_until("15 committed snapshots", Duration::from_secs(30), || {
        let r = Reader::open(&rec).ok()?;
        (r.count().ok()? >= 30).then_some(())
    });
    let before = Reader::open(&rec).unwrap().span().unwrap().unwrap().1;
    let killed_at = chrono::Utc::now().timestamp_millis();
    let t0 = Instant::now();
    proc.kill_hard();
    assert!(t0.elapsed() < Duration::from_secs(5));
    // the file opens (SQLite replays its WAL), every record decodes, and the newest one is at
    // most a second (commit interval) plus a refresh older than the kill
    let r = Reader::open(&rec).unwrap();
    let (_, last) = r.span().unwrap().unwrap();
    assert!(last >= before, "nothing committed was lost");
    assert!(
        killed_at - last <= 1000 + 200 + 300,
        "the last record is {} ms older than the kill\n{}",
        killed_at - last,
        proc.log_tail(20)
    );
    let n = r.count().unwrap();
    let replay = stacktop(dir.path())
        .args(["--no-user-config", "replay"])
        .arg(&rec)
        .args(["--batch", "--json"])
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), Some(0));
    assert!(
        replay.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let out = String::from_utf8_lossy(&replay.stdout);
    let snaps = snapshots(&out);
    let kinds = out
        .lines()
        .filter(|l| l.contains("\"type\":\"snapshot\"") || l.contains("\"type\":\"health\""))
        .count();
    assert!(
        snaps.len() >= 10,
        "{} snapshots of {n} records\n{out}",
        snaps.len()
    );
    assert!(kinds as i64 <= n);
    assert!(snaps
        .iter()
        .all(|(_, rows)| rows.contains_key(&i64::from(sleeper.pid))));
    drop(sleeper);
}

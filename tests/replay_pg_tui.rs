//! The TUI replaying a PostgreSQL store (`stacktop replay postgres://… [--recording ID]`,
//! issue 15), against servers started here:
//! - a live pgtop run recorded to a file, its records copied into PostgreSQL through the store
//!   API: the same keys (`:goto`, steps, minute jumps) give the same screens, whole, from both
//!   stores, through the replay source's player thread;
//! - the store's server hung (SIGSTOP), then stopped, mid-replay: the screen says `recording store unreachable: …`
//!   (the server by its conninfo, never the password) within a bound, keys are answered at
//!   once, the replay comes back when the server does, and the player ends when the app does,
//!   the server dead;
//! - the real binary in a pseudo-terminal: opens the store's recording by id with the password
//!   in the URI (never on screen), and quits at once while the server hangs (SIGSTOP).
//!
//! The recordings of the last two are written by the generator below through the store API:
//! ten minutes of pgtop refreshes at 1 s from 2026-12-03 03:10:00 local, a keyframe every
//! three minutes (long enough that a far `:goto` reads the store again from the keyframe
//! before: the cursor keeps a window of decoded records); pid 101's
//! query names its refresh (`refresh N`), so a screen shows which record is at the cursor.

#[path = "support/pg_fixture.rs"]
mod pg_fixture;
#[path = "support/pty.rs"]
mod pty;
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, TimeZone, Utc};
use crossterm::event::KeyCode;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update, UPDATE_CHANNEL};
use stacktop::pg::activity::{PgSnapshot, Session, SessionState};
use stacktop::record::codec::Encoder;
use stacktop::record::pg_store::{bare_env, PgStore, CALL_TIMEOUT};
use stacktop::record::store::{SqliteReader, Store};
use stacktop::replay::tui;
use stacktop::wire::{SourceHealth, ViewKind};
use support::pg::{Pg, PgOpts};
use support::replay::screen;
use support::replay_player::{Driven, LIMIT};
use tokio::sync::mpsc;

const REFRESHES: i64 = 600;
const SLEEP: &str = "SELECT pg_sleep(600)";

fn url(pg: &Pg) -> String {
    format!(
        "postgres://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable&connect_timeout=3",
        pg.password(),
        pg.port
    )
}

fn config() -> Config {
    let mut c = Config::default();
    // a flash expires by the wall clock: kept for the whole test, screens are comparable
    c.ui.flash = Dur::secs(3600);
    c
}

/// The generator's refresh `i`.
fn at(i: i64) -> DateTime<Utc> {
    (Local.with_ymd_and_hms(2026, 12, 3, 3, 10, 0).unwrap() + chrono::Duration::seconds(i)).to_utc()
}

fn snapshot(i: i64) -> PgSnapshot {
    let mut s101 = Session::for_test(
        101,
        SessionState::Active,
        &format!("SELECT 101 /* refresh {i} */"),
    );
    s101.usename = Some("app".into());
    s101.datname = Some("orders".into());
    s101.backend_start = Some(at(0) - chrono::Duration::hours(1));
    s101.query_start = Some(at(i));
    s101.xact_start = s101.query_start;
    s101.state_change = s101.query_start;
    let sessions = vec![s101];
    pg_fixture::snapshot_at(i as u64, at(0), at(i), sessions)
}

/// The generated recording, encoded: (time, view, kind, keyframe, data).
fn records() -> Vec<(i64, String, String, bool, Vec<u8>)> {
    // a keyframe every 3 minutes: further back than the cursor's look-back (a minute)
    let mut enc = Encoder::new().unwrap().with_keyframe_every(180);
    let health = Update {
        view: ViewKind::Pgtop,
        payload: Payload::Health(SourceHealth::Live {
            at: at(0).with_timezone(&Local),
        }),
    };
    let updates = std::iter::once((0, health)).chain((0..REFRESHES).map(|i| {
        (
            i,
            Update {
                view: ViewKind::Pgtop,
                payload: Payload::Pg(snapshot(i).into()),
            },
        )
    }));
    updates
        .filter_map(|(i, u)| {
            enc.encode(u).unwrap().map(|e| {
                (
                    at(i).timestamp_millis(),
                    e.view.to_string(),
                    e.kind.name().to_string(),
                    e.keyframe,
                    e.data,
                )
            })
        })
        .collect()
}

/// Writes the generated recording into the store at `target` as `label`; returns its id.
fn generate(target: &str, label: &str) -> i64 {
    let mut store = PgStore::create(target, label, &bare_env()).unwrap();
    for (ts, view, kind, key, data) in records() {
        store.insert(ts, &view, &kind, key, &data);
    }
    store.commit().unwrap();
    store.recording()
}

/// Writes the generated recording into a file.
fn generate_file(path: &Path) {
    let mut store = Store::create(path).unwrap();
    for (ts, view, kind, key, data) in records() {
        store.insert(ts, &view, &kind, key, &data).unwrap();
    }
    store.commit().unwrap();
}

/// Opens a recording as `stacktop replay` does (no libpq environment of the developer).
async fn open(path: &Path, id: Option<i64>) -> tui::Opened {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || tui::open_in(&p, id, &config(), bare_env))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the same commands (a `:` line, then keys) on a file replay and a PostgreSQL one and
/// asserts the whole screens are equal after each; returns how many were compared.
async fn compare(
    file: &mut Driven,
    pg: &mut Driven,
    steps: &[(String, Vec<KeyCode>)],
    pw: &str,
) -> usize {
    let same = |a: &Driven, b: &Driven, what: &str| {
        let (sa, sb) = (screen(&a.app), screen(&b.app));
        assert_eq!(
            sa, sb,
            "{what}: the PostgreSQL replay differs from the file's\nfile:\n{sa}\npostgres:\n{sb}"
        );
        assert!(!sb.contains(pw), "{sb}");
    };
    same(file, pg, "opened");
    for (line, keys) in steps {
        for d in [&mut *file, &mut *pg] {
            if !line.is_empty() {
                d.command(line).await;
            }
            for k in keys {
                d.key(*k).await;
            }
        }
        same(file, pg, &format!("after {line:?} {keys:?}"));
    }
    steps.len() + 1
}

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_replays_the_screens_of_the_same_records_in_a_file() {
    let pg = Pg::start(PgOpts::default());
    let dir = tempfile::tempdir().unwrap();
    let _sleeper = pg.running("postgres", "replay-pg-sleeper", SLEEP).await;

    // a live pgtop run recorded to a file
    let live_file = dir.path().join("live.sqlite");
    let mut cfg = config();
    cfg.ui.refresh = Dur::millis(200);
    cfg.pgtop.conninfo = Some(pg.conninfo("postgres"));
    let (tx, rx) = mpsc::channel(UPDATE_CHANNEL);
    let pg_source = support::pg_ui::spawn_pgtop(&cfg, tx);
    let opts =
        stacktop::record::writer::RecorderOptions::new(live_file.clone(), &Default::default());
    let mut live = support::replay::Taped::with_options(cfg, ViewKind::Pgtop, rx, opts);
    let mut seen = 0;
    let mut last = live.app.pgtop.last_data;
    live.until("8 refreshes", LIMIT, |a| {
        if a.pgtop.last_data != last {
            last = a.pgtop.last_data;
            seen += 1;
        }
        seen >= 8
    })
    .await;
    live.finish();
    drop(pg_source);

    // the same records in PostgreSQL
    let target = url(&pg);
    let (t, f) = (target.clone(), live_file.clone());
    let (rows, id) = tokio::task::spawn_blocking(move || {
        let rows = SqliteReader::open(&f)
            .unwrap()
            .batch(0, i64::MAX, 100_000)
            .unwrap();
        let mut store = PgStore::create(&t, "round-trip", &bare_env()).unwrap();
        for r in &rows {
            store.insert(r.ts_ms, &r.view, &r.kind, r.keyframe, &r.data);
        }
        store.commit().unwrap();
        (rows, store.recording())
    })
    .await
    .unwrap();
    assert!(rows.len() >= 8, "{} records", rows.len());
    // the file named as the status line names the store's recording: whole screens compare
    let name = format!("round-trip #{id}");
    let file = dir.path().join(&name);
    std::fs::rename(&live_file, &file).unwrap();

    let mut a = Driven::start(open(&file, None).await, config());
    let mut b = Driven::start(open(Path::new(&target), Some(id)).await, config());
    a.settle().await;
    b.settle().await;
    let status = b.status_line();
    assert!(
        status.contains(&name),
        "the recording's label and id: {status}"
    );
    assert!(!status.contains("127.0.0.1"), "no conninfo: {status}");
    let mid = rows[rows.len() / 2].ts_ms;
    let (next, back) = (KeyCode::Char(']'), KeyCode::Char('['));
    let steps: Vec<(String, Vec<KeyCode>)> = vec![
        (format!("goto {}", rfc3339(mid)), vec![]),
        (String::new(), vec![next, next]),
        (String::new(), vec![back, back]),
        (String::new(), vec![back]),
        (String::new(), vec![KeyCode::Char('}')]),
        (String::new(), vec![KeyCode::Char('{')]),
        (format!("goto {}", rfc3339(rows[1].ts_ms)), vec![]),
        (
            format!("goto {}", rfc3339(rows.last().unwrap().ts_ms)),
            vec![],
        ),
        (String::new(), vec![next]),
    ];
    let mut compared = compare(&mut a, &mut b, &steps, pg.password()).await;
    // the sleeper replays from both, at the cursor's time
    assert!(
        screen(&b.app).contains("pg_sleep(600)"),
        "{}",
        screen(&b.app)
    );
    drop((a, b));

    // ten minutes of refreshes: moves far away rebuild the cursor's window from the keyframe
    // before (read from the store: where decoding starts, then the records)
    let t = target.clone();
    let id = tokio::task::spawn_blocking(move || generate(&t, "long"))
        .await
        .unwrap();
    let name = format!("long #{id}");
    let file = dir.path().join(&name);
    generate_file(&file);
    let mut a = Driven::start(open(&file, None).await, config());
    let mut b = Driven::start(open(Path::new(&target), Some(id)).await, config());
    a.settle().await;
    b.settle().await;
    let (jump, jump_back) = (KeyCode::Char('}'), KeyCode::Char('{'));
    let steps: Vec<(String, Vec<KeyCode>)> = vec![
        ("goto 03:19:00".into(), vec![]),
        (String::new(), vec![back, back]),
        ("goto 03:11:00".into(), vec![back]),
        ("goto 03:17:30".into(), vec![jump_back, jump_back]),
        ("goto 03:14:30".into(), vec![next]),
        (String::new(), vec![jump, next]),
        ("goto 03:10:05".into(), vec![]),
        ("goto 03:19:59".into(), vec![next]),
    ];
    compared += compare(&mut a, &mut b, &steps, pg.password()).await;
    assert!(
        screen(&b.app).contains("refresh 599 */"),
        "{}",
        screen(&b.app)
    );
    assert_eq!(compared, 19);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_gone_mid_replay_is_said_keys_answer_and_the_replay_comes_back() {
    let mut pg = Pg::start(PgOpts::default());
    let target = url(&pg);
    let t = target.clone();
    let id = tokio::task::spawn_blocking(move || generate(&t, "gone"))
        .await
        .unwrap();
    let mut d = Driven::start(open(Path::new(&target), Some(id)).await, config());
    d.settle().await;

    // the server hangs: a far :goto (read from the store) waits for the store's timeout only
    let hung = stop_backends(&pg).await;
    let t0 = Instant::now();
    d.command("goto 03:19:00").await;
    let hang = t0.elapsed();
    let e = d.store_error().unwrap_or_default();
    assert!(e.contains("no answer within 5 s"), "{e}");
    assert!(
        hang >= CALL_TIMEOUT - Duration::from_millis(500) && hang < CALL_TIMEOUT * 2,
        "answered after {hang:?}"
    );
    drop(hung);
    let back = d
        .pump_until(Duration::from_secs(30), |d| d.store_error().is_none())
        .await;
    assert!(back, "no recovery from the hang:\n{}", screen(&d.app));

    d.command("goto 03:10:10").await;
    assert!(
        screen(&d.app).contains("refresh 10 */"),
        "{}",
        screen(&d.app)
    );

    // the server stops: the next read says so, within the store's bounds (a far jump: the
    // records the cursor read ahead of it would answer a step from memory, and truly so)
    tokio::task::block_in_place(|| pg.stop());
    let t0 = Instant::now();
    d.command("goto 03:19:00").await;
    let said = d.pump_until(LIMIT, |d| d.store_error().is_some()).await;
    assert!(said, "never said:\n{}", screen(&d.app));
    let took = t0.elapsed();
    let flash = d.flash();
    eprintln!("{flash}");
    assert!(
        flash.starts_with("recording store unreachable: postgres 127.0.0.1:"),
        "{flash}"
    );
    assert!(!flash.contains(pg.password()), "{flash}");
    d.app.flash = None;
    let status = d.status_line();
    assert!(
        status.contains("recording store unreachable: postgres 127.0.0.1:"),
        "{status}"
    );
    assert!(!status.contains(pg.password()), "{status}");
    assert!(
        screen(&d.app).contains("refresh 10 */"),
        "the last screen stays"
    );
    // keys keep being answered (at once, or after one refused connection)
    let t1 = Instant::now();
    d.key(KeyCode::Char(']')).await;
    let answer = t1.elapsed();
    assert!(answer < Duration::from_secs(3), "answered in {answer:?}");
    assert!(
        d.flash().starts_with("recording store unreachable"),
        "{}",
        d.flash()
    );

    // the server is back: the replay comes back by itself
    tokio::task::block_in_place(|| pg.restart());
    let back = d
        .pump_until(Duration::from_secs(30), |d| d.store_error().is_none())
        .await;
    assert!(back, "the replay never came back:\n{}", screen(&d.app));
    assert_eq!(d.flash(), "recording store reachable again");
    d.command("goto 03:10:50").await;
    assert!(
        screen(&d.app).contains("refresh 50 */"),
        "{}",
        screen(&d.app)
    );
    assert!(d.store_error().is_none());

    // quitting with the server dead: the player ends once the app's channels close
    tokio::task::block_in_place(|| pg.stop());
    d.command("goto 03:19:00").await;
    assert!(d.pump_until(LIMIT, |d| d.store_error().is_some()).await);
    let Driven {
        player,
        handles,
        rx,
        app,
        ..
    } = d;
    drop((handles, rx, app));
    let t2 = Instant::now();
    let ended = support::proc::poll_until(Duration::from_secs(10), || {
        player.is_finished().then_some(())
    });
    assert!(ended.is_some(), "the player did not end after the app");
    eprintln!(
        "hung store said after {hang:?}; store gone said after {took:?}; a key answered in {answer:?}; player ended {:?} after the app",
        t2.elapsed()
    );
}

/// Hangs the server: SIGSTOP to the postmaster and to the store's backends (each backend
/// leads a process group of its own); resumed when the guard is dropped.
async fn stop_backends(pg: &Pg) -> Resume {
    let backends: Vec<i32> = pg
        .admin()
        .await
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'stacktop recorder'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!backends.is_empty(), "the replay's connection");
    let mut pids: Vec<u32> = backends.iter().map(|&p| p as u32).collect();
    pids.push(pg.pid().unwrap());
    let guard = Resume(pids);
    for &p in &guard.0 {
        support::proc::signal_pid(p, libc::SIGSTOP);
    }
    guard
}

/// Sends SIGCONT to a stopped server's processes when dropped (a failed test included).
struct Resume(Vec<u32>);

impl Drop for Resume {
    fn drop(&mut self) {
        for &p in &self.0 {
            support::proc::signal_pid(p, libc::SIGCONT);
        }
    }
}

/// Kills the stacktop child when dropped (a failed test included).
struct KillOnDrop(Box<dyn portable_pty::Child + Send + Sync>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_replays_a_store_and_quits_at_once_while_its_server_hangs() {
    use portable_pty::CommandBuilder;
    use std::io::Write;
    let pg = Pg::start(PgOpts::default());
    let target = url(&pg);
    let t = target.clone();
    let id = tokio::task::spawn_blocking(move || {
        generate(&t, "older");
        generate(&t, "pty-label")
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = pty::open_80x24();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_stacktop"));
    cmd.env_clear();
    for (k, v) in support::proc::hermetic_env_in(dir.path()) {
        cmd.env(k, v);
    }
    cmd.env("TERM", "screen");
    cmd.args(["--no-user-config", "replay", &target, "--recording"]);
    cmd.arg(id.to_string());
    cmd.args(["--from", "03:10:30"]);
    let (child, mut writer, mut term) = pty::spawn(p, cmd);
    let mut child = KillOnDrop(child);
    term.wait_for("refresh 30 */");
    term.wait_for(&format!("pty-label #{id}"));
    let key = |w: &mut Box<dyn Write + Send>, b: &[u8]| {
        w.write_all(b).unwrap();
        w.flush().unwrap();
    };
    key(&mut writer, b"]");
    term.wait_for("refresh 31 */");

    // the server hangs: a far :goto waits for the store's timeout, on the player's thread only
    let _resume = stop_backends(&pg).await;
    key(&mut writer, b":goto 03:19:00\r");
    let asked = Instant::now();
    // the UI answers meanwhile (the help overlay opens and closes)
    key(&mut writer, b"?");
    term.wait_for("help: pgtop");
    key(&mut writer, b"?");
    let closed = support::proc::poll_until(Duration::from_secs(10), || {
        term.pump(Duration::from_millis(50));
        (!term.contents().contains("help: pgtop")).then_some(())
    });
    assert!(closed.is_some(), "help stayed open:\n{}", term.contents());
    // the player is still waiting for the server (its timeout has not passed, nothing said)
    assert!(asked.elapsed() < CALL_TIMEOUT);
    assert!(
        !term.contents().contains("unreachable"),
        "{}",
        term.contents()
    );
    let t0 = Instant::now();
    key(&mut writer, b"q");
    let st = term.wait_exit(&mut *child.0);
    let quit = t0.elapsed();
    assert!(st.success(), "exit {st:?}\n{}", term.contents());
    assert!(
        quit < Duration::from_secs(3),
        "quit took {quit:?} with the server hung"
    );
    term.assert_restored();
    let raw = String::from_utf8_lossy(&term.raw);
    assert!(!raw.contains(pg.password()), "the password on screen");
    eprintln!("quit with the store's server hung: {quit:?}");
}

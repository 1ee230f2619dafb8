//! `stacktop replay PATH` in the TUI (issue 15 item 2): a short recorded session replayed
//! through the same `App::apply` path, screens checked with ratatui's TestBackend at given
//! instants; kill keys refused with no effect; `:goto`, steps and jumps land on the right
//! record; a damaged recording is a clear error.
//!
//! The recording is written by the test-only generator below (no server, no binary fixture
//! committed): four minutes of pgtop refreshes at 1 s from 2026-12-03 03:10:00 local, through
//! the recorder's own encoder and store (keyframes every 60 refreshes, deltas between), plus
//! an unreachable replication server at 03:13:00 and a varnish 503 at 03:13:20. Pid 101's query
//! names its refresh (`refresh N`), so the screen shows which record is at the cursor. Pid 202
//! runs an UPDATE from 03:12:00 to 03:12:30 (slow from 03:12:05 at the 5 s threshold); pid 303
//! waits for its lock from 03:12:10 to 03:12:20.

#[path = "support/pg_fixture.rs"]
mod pg_fixture;
#[path = "support/proc_hermetic.rs"]
mod proc_hermetic;
#[path = "support/screen.rs"]
mod screen;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Local, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Effect, Payload, SourceCommand, Update};
use stacktop::pg::activity::{PgSnapshot, Session, SessionState};
use stacktop::record::codec::Encoder;
use stacktop::record::store::Store;
use stacktop::replay::{marks, source, tui};
use stacktop::theme::Theme;
use stacktop::wire::replay::{mark, ReplayCommand};
use stacktop::wire::SourceHealth;

const REFRESHES: i64 = 240;

fn start() -> DateTime<Local> {
    Local.with_ymd_and_hms(2026, 12, 3, 3, 10, 0).unwrap()
}

/// The time of refresh `i`.
fn at(i: i64) -> DateTime<Utc> {
    (start() + chrono::Duration::seconds(i)).to_utc()
}

fn ms(i: i64) -> i64 {
    at(i).timestamp_millis()
}

fn session(pid: i32, q: &str, since: i64, now: i64) -> Session {
    let mut s = Session::for_test(pid, SessionState::Active, q);
    s.usename = Some("app".into());
    s.datname = Some("orders".into());
    s.backend_start = Some(at(0) - chrono::Duration::hours(1));
    s.query_start = Some(at(since));
    s.xact_start = s.query_start;
    s.state_change = s.query_start;
    let _ = now;
    s
}

/// pgtop's refresh `i`.
fn snapshot(i: i64) -> PgSnapshot {
    let mut sessions = vec![session(101, &format!("SELECT 101 /* refresh {i} */"), i, i)];
    if (120..=150).contains(&i) {
        sessions.push(session(202, "UPDATE accounts SET balance = 0", 120, i));
    }
    if (130..=140).contains(&i) {
        let mut w = session(303, "DELETE FROM accounts WHERE id = 7", 130, i);
        w.wait_event_type = Some("Lock".into());
        w.wait_event = Some("transactionid".into());
        w.blocking_pids = vec![202];
        sessions.push(w);
    }
    pg_fixture::snapshot_at(i as u64, at(0), at(i), sessions)
}

/// Writes the recording (the test-only generator).
fn record(path: &Path) {
    let mut store = Store::create(path).unwrap();
    let mut enc = Encoder::new().unwrap();
    let mut put = |store: &mut Store, i: i64, u: Update| {
        if let Some(e) = enc.encode(u).unwrap() {
            store
                .insert(ms(i), e.view, e.kind.name(), e.keyframe, &e.data)
                .unwrap();
        }
    };
    put(
        &mut store,
        0,
        Update {
            view: ViewKind::Pgtop,
            payload: Payload::Health(SourceHealth::Live {
                at: at(0).with_timezone(&Local),
            }),
        },
    );
    for i in 0..REFRESHES {
        put(
            &mut store,
            i,
            Update {
                view: ViewKind::Pgtop,
                payload: Payload::Pg(snapshot(i).into()),
            },
        );
        if i == 180 {
            let s = stacktop::repl::ServerSnapshot::unreachable(
                "replica1",
                "10.0.0.2:3306",
                stacktop::repl::config::ServerRole::Replica,
                None,
                at(170),
                "Can't connect to MySQL server".into(),
            );
            put(
                &mut store,
                i,
                Update {
                    view: ViewKind::Repl,
                    payload: Payload::Repl(Box::new(s)),
                },
            );
        }
        if i == 200 {
            // a vlog request batch as the recorder stores it (its batch JSON)
            let json = serde_json::json!([{"status": 503, "method": "GET", "url": "/cart"}]);
            let data = zstd::encode_all(json.to_string().as_bytes(), 3).unwrap();
            store
                .insert(ms(i), "vlog", "vlog_requests", true, &data)
                .unwrap();
        }
    }
    store.commit().unwrap();
}

fn config() -> Config {
    let mut c = Config::default();
    c.pgtop.slow_threshold = Duration::from_secs(5);
    c
}

/// A replay as `stacktop replay PATH` runs it, minus the terminal: the app, and the cursor
/// the replay source owns (commands go to [`source::command`] as they would over the channel).
struct Replay {
    app: App,
    o: tui::Opened,
}

impl Replay {
    fn open(path: &Path) -> Replay {
        let cfg = config();
        let mut o = tui::open(path, &cfg).unwrap();
        // the timeline's marks, read to the end
        let mut last = None;
        marks::scan(path, &o.status, o.rules, Duration::ZERO, |m, pct| {
            last = Some((m, pct));
            true
        })
        .unwrap();
        let (m, pct) = last.unwrap();
        o.status.marks = m;
        o.status.scanned_pct = pct;
        let mut app = App::new(cfg, Theme::builtin_default(), o.start.unwrap_or_default());
        for u in o.cursor.state() {
            app.apply(u);
        }
        app.apply(tui::status_update(&o.status));
        Replay { app, o }
    }

    /// Runs the replay commands among `effects`; returns the others.
    fn run(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let mut rest = Vec::new();
        for e in effects {
            match e {
                Effect::ToSource(view, SourceCommand::Replay(c)) => self.cmd(view, c),
                e => rest.push(e),
            }
        }
        rest
    }

    fn cmd(&mut self, view: ViewKind, c: ReplayCommand) {
        for u in source::command(&mut self.o.cursor, &mut self.o.status, view, c) {
            self.app.apply(u);
        }
        self.app.apply(tui::status_update(&self.o.status));
    }

    fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        let mods = if matches!(code, KeyCode::Char(c) if c.is_ascii_uppercase()) {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        let effects = self.app.handle_key(KeyEvent::new(code, mods));
        self.run(effects)
    }

    fn command(&mut self, line: &str) -> Vec<Effect> {
        self.key(KeyCode::Char(':'));
        for c in line.chars() {
            self.key(KeyCode::Char(c));
        }
        self.key(KeyCode::Enter)
    }

    /// The time of the record at the cursor.
    fn record_ms(&self) -> i64 {
        self.o.cursor.current().unwrap().ts_ms
    }

    fn screen(&self) -> ratatui::buffer::Buffer {
        screen::render(&self.app, 120, 30)
    }
}

fn recording() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("incident.rec");
    record(&path);
    (dir, path)
}

fn status_line(buf: &ratatui::buffer::Buffer) -> String {
    screen::line(buf, buf.area.height - 1)
}

#[test]
fn screens_at_given_instants_show_the_recorded_sessions_the_marks_and_the_cursor_time() {
    let (_d, path) = recording();
    let mut r = Replay::open(&path);
    assert_eq!(r.app.active, ViewKind::Pgtop);
    let buf = r.screen();
    let all = screen::text(&buf);
    assert!(all.contains("refresh 0 */"), "{all}");
    assert!(!all.contains("UPDATE accounts"), "{all}");
    let status = status_line(&buf);
    assert!(
        status.contains("replay 2026-12-03 03:10:00 paused"),
        "{status}"
    );
    assert!(
        status.contains("data of 03:10:00 (0 s before the cursor)"),
        "{status}"
    );
    assert!(!status.contains("live"), "never live in replay: {status}");
    assert!(all.contains("READ-ONLY"), "{all}");

    // the timeline: first and last time, the marks where they were, the cursor at the start
    let top = screen::line(&buf, 0);
    assert!(top.starts_with(" 03:10:00 ┃"), "{top}");
    assert!(top.trim_end().ends_with("03:13:59"), "{top}");
    let bar: Vec<char> = top.chars().skip(10).take(120 - 20).collect();
    let cell = |i: i64| (i as usize) * bar.len() / (REFRESHES as usize);
    for (i, want) in [(135, 'L'), (145, 'S'), (180, 'R'), (200, '5')] {
        let around: String = bar[cell(i).saturating_sub(1)..=cell(i) + 1]
            .iter()
            .collect();
        assert!(around.contains(want), "{want} near refresh {i}: {top}");
    }
    assert_eq!(bar[cell(60)], '─', "nothing at 03:11:00: {top}");
    let want = mark::LOCK | mark::SLOW;
    assert_eq!(
        r.o.status.marks[r.o.status.cell_of(ms(135))] & want,
        want,
        "slow and lock at 03:12:15"
    );

    // 03:12:15: the lock chain as it was
    r.command("goto 03:12:15");
    let buf = r.screen();
    let all = screen::text(&buf);
    for want in [
        "refresh 135 */",
        "UPDATE accounts",
        "DELETE FROM accounts",
        "303",
    ] {
        assert!(all.contains(want), "{want} at 03:12:15:\n{all}");
    }
    let status = status_line(&buf);
    assert!(
        status.contains("replay 2026-12-03 03:12:15 paused"),
        "{status}"
    );
    // the tab bar's clock is the cursor, not the wall clock
    assert!(screen::line(&buf, 1).contains("03:12:15"), "{all}");
    let top = screen::line(&buf, 0);
    let cursor = top.chars().position(|c| c == '┃').unwrap() - 10;
    assert!(cursor.abs_diff(cell(135)) <= 1, "cursor at 03:12:15: {top}");

    // a minute forward from the last minute stops at the last record
    r.command("goto 03:13:30");
    r.key(KeyCode::Char('}'));
    r.app.flash = None;
    let status = status_line(&r.screen());
    assert!(
        status.contains("replay 2026-12-03 03:13:59"),
        "clamped to the end: {status}"
    );
}

#[test]
fn kill_keys_are_refused_visibly_and_send_nothing() {
    let (_d, path) = recording();
    let mut r = Replay::open(&path);
    r.command("goto 03:12:15");
    for code in [
        KeyCode::Char('c'),
        KeyCode::Char('k'),
        KeyCode::Char('K'),
        KeyCode::Char('R'),
    ] {
        let left = r.key(code);
        assert!(left.is_empty(), "{code:?} sent {left:?}");
        assert!(
            r.app.active_view().modal().is_none(),
            "{code:?} opened a dialog"
        );
        let flash = r
            .app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default();
        assert_eq!(
            flash, "replay: read-only — kill keys do nothing",
            "{code:?}"
        );
        assert!(
            status_line(&r.screen()).contains("replay: read-only — kill keys do nothing"),
            "{code:?}"
        );
    }
    // a signal a view asked for anyway never leaves the app
    let asked = vec![Effect::ToSource(
        ViewKind::Pgtop,
        SourceCommand::Pg(stacktop::pg::msg::PgRequest::Signal {
            kind: stacktop::pg::kill::SignalKind::Terminate,
            targets: Vec::new(),
        }),
    )];
    assert!(r.app.replay_guard(asked).is_empty());
    // nor does starting a live source
    assert!(r.command("connect").is_empty());
    r.key(KeyCode::Char('2'));
    assert!(r
        .key(KeyCode::Enter)
        .iter()
        .all(|e| !matches!(e, Effect::StartSource(_))));
}

#[test]
fn goto_step_and_jump_land_on_the_right_record() {
    let (_d, path) = recording();
    let mut r = Replay::open(&path);
    assert_eq!(r.record_ms(), ms(0));
    r.command("goto 03:12:10");
    assert_eq!(r.record_ms(), ms(130));
    r.key(KeyCode::Char(']'));
    assert_eq!(r.record_ms(), ms(131));
    r.key(KeyCode::Char('['));
    r.key(KeyCode::Char('['));
    assert_eq!(r.record_ms(), ms(129));
    r.key(KeyCode::Char('}'));
    assert_eq!(r.record_ms(), ms(189));
    assert_eq!(r.o.cursor.cursor_ms, ms(189));
    r.key(KeyCode::Char('{'));
    r.key(KeyCode::Char('{'));
    assert_eq!(r.record_ms(), ms(69));
    // back over a keyframe: 03:11:00 is one (refresh 60), 03:10:59 a delta of the one before
    r.command("goto 03:11:00");
    r.key(KeyCode::Char('['));
    assert_eq!(r.record_ms(), ms(59));
    assert!(screen::text(&r.screen()).contains("refresh 59 */"));
    // far back: the window is rebuilt from the keyframe before
    r.command("goto 03:13:50");
    r.command("goto 2026-12-03T03:10:30");
    assert_eq!(r.record_ms(), ms(30));
    let all = screen::text(&r.screen());
    assert!(
        all.contains("refresh 30 */") && !all.contains("UPDATE accounts"),
        "{all}"
    );
    // forward one refresh at a time through the lock: every record passes through the view
    r.command("goto 03:12:09");
    for i in 130..=141 {
        r.key(KeyCode::Char(']'));
        assert_eq!(r.record_ms(), ms(i));
    }
    let all = screen::text(&r.screen());
    assert!(
        !all.contains("DELETE FROM accounts"),
        "the waiter left at 141:\n{all}"
    );
    // the ends say so
    r.command("goto 03:10:00");
    r.key(KeyCode::Char('['));
    let flash = r.app.flash.as_ref().unwrap().text.clone();
    assert_eq!(flash, "replay: the start of the recording");
    assert_eq!(r.record_ms(), ms(0));
    // bad times are refused with the reason, the cursor stays
    r.command("goto 03:12:10");
    r.command("goto 25:99");
    assert!(r
        .app
        .flash
        .as_ref()
        .unwrap()
        .text
        .contains("expected HH:MM"));
    r.command("goto 2026-12-04 03:12");
    assert!(r
        .app
        .flash
        .as_ref()
        .unwrap()
        .text
        .contains("outside the recording"));
    assert_eq!(r.record_ms(), ms(130));
    // play: P starts at :speed, playing moves forward through every record
    r.command("speed 10");
    assert_eq!(r.o.status.speed, 10);
    r.key(KeyCode::Char('P'));
    assert!(r.o.status.playing);
    r.app.flash = None; // ("replay: speed 10×")
    assert!(status_line(&r.screen()).contains("playing 10×"));
    let (passed, edge) = r.o.cursor.advance_to(ms(140)).unwrap();
    assert_eq!(edge, None);
    let snaps = passed
        .iter()
        .filter(|u| matches!(u.payload, Payload::Pg(_)))
        .count();
    assert_eq!(snaps, 10, "refreshes 131..=140");
    assert_eq!(r.record_ms(), ms(140));
}

#[test]
fn outside_replay_the_cursor_keys_only_say_so() {
    let mut app = App::new(config(), Theme::builtin_default(), ViewKind::Pgtop);
    let e = app.handle_key(KeyEvent::new(KeyCode::Char(']'), KeyModifiers::NONE));
    assert!(e.is_empty());
    assert!(app.flash.unwrap().text.contains("only in replay"));
}

#[test]
fn a_damaged_recording_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // not a recording at all
    let garbage = dir.path().join("garbage.rec");
    std::fs::write(&garbage, b"this is not a database\n".repeat(200)).unwrap();
    let e = tui::open(&garbage, &config()).err().unwrap();
    assert!(
        e.contains("garbage.rec") && e.contains("not a stacktop recording"),
        "{e}"
    );
    // cut in the middle (a disk that filled up, a partial copy)
    let (_d, path) = recording();
    let cut = dir.path().join("cut.rec");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    match tui::open(&cut, &config()) {
        Err(e) => assert!(e.contains("cut.rec"), "{e}"),
        Ok(mut o) => {
            // SQLite found what it needed in the pages left: reading on must fail clearly
            let e = o.cursor.goto(ms(200)).err().map(|e| e.to_string());
            assert!(
                e.is_some_and(|e| !e.is_empty()),
                "a third of the file read as whole"
            );
        }
    }
    // empty: a file the recorder created but never wrote to
    let empty = dir.path().join("empty.rec");
    drop(Store::create(&empty).unwrap());
    let e = tui::open(&empty, &config()).err().unwrap();
    assert!(e.contains("empty.rec") && e.contains("no records"), "{e}");
    // missing
    let e = tui::open(&dir.path().join("nope.rec"), &config())
        .err()
        .unwrap();
    assert!(e.contains("nope.rec") && e.contains("no such file"), "{e}");
    // the command refuses before the terminal changes mode
    let out = proc_hermetic::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), dir.path())
        .args(["replay"])
        .arg(&garbage)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("garbage.rec: not a stacktop recording"),
        "{err}"
    );
}

//! Replaying a recording that is still being written (a headless recorder's file, a fleet's
//! PostgreSQL store): the replay reaches what was recorded after it opened. At the end `]`
//! finds the new refreshes, `:goto` a time recorded since is no longer outside the
//! recording, the timeline's span moves on and the marks of the new records appear on it.
//! Both stores, through the replay source's player and marks threads, as `stacktop replay`
//! runs them (minus the terminal). The recording: a minute of pgtop refreshes at 1 s from
//! 2026-12-03 03:10:00 local, then a second minute appended while the replay is open, with a
//! slow query in refreshes 90–95; pid 101's query names its refresh (`refresh N`).

#[path = "support/pg_fixture.rs"]
mod pg_fixture;
mod support;

use std::path::Path;

use chrono::{DateTime, Local, TimeZone, Utc};
use crossterm::event::KeyCode;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{PgSnapshot, Session, SessionState};
use stacktop::record::codec::Encoder;
use stacktop::record::pg_store::{bare_env, PgStore};
use stacktop::record::store::Store;
use stacktop::replay::tui;
use stacktop::wire::replay::mark;
use stacktop::wire::ViewKind;
use support::pg::{Pg, PgOpts};
use support::replay::screen;
use support::replay_player::Driven;

fn at(i: i64) -> DateTime<Utc> {
    (Local.with_ymd_and_hms(2026, 12, 3, 3, 10, 0).unwrap() + chrono::Duration::seconds(i)).to_utc()
}

fn ms(i: i64) -> i64 {
    at(i).timestamp_millis()
}

fn config() -> Config {
    let mut c = Config::default();
    c.ui.flash = Dur::secs(3600);
    c
}

/// Refresh `i`: pid 101 naming it; in 90–95 also pid 202, running for two hours (slow).
fn snapshot(i: i64) -> PgSnapshot {
    let session = |pid: i32, q: String, since: DateTime<Utc>| {
        let mut s = Session::for_test(pid, SessionState::Active, &q);
        s.usename = Some("app".into());
        s.datname = Some("orders".into());
        s.backend_start = Some(at(0) - chrono::Duration::hours(3));
        s.query_start = Some(since);
        s.xact_start = s.query_start;
        s.state_change = s.query_start;
        s
    };
    let mut sessions = vec![session(101, format!("SELECT 101 /* refresh {i} */"), at(i))];
    if (90..=95).contains(&i) {
        let since = at(i) - chrono::Duration::hours(2);
        sessions.push(session(202, "SELECT pg_sleep(7200)".into(), since));
    }
    pg_fixture::snapshot_at(i as u64, at(0), at(i), sessions)
}

/// Where the recorder writes.
enum Writer {
    File(Store),
    Pg(Box<PgStore>),
}

impl Writer {
    /// Records refreshes `range` and commits them.
    fn record(&mut self, enc: &mut Encoder, range: std::ops::Range<i64>) {
        for i in range {
            let u = Update {
                view: ViewKind::Pgtop,
                payload: Payload::Pg(snapshot(i).into()),
            };
            let Some(e) = enc.encode(u).unwrap() else {
                continue;
            };
            let (view, kind) = (e.view.to_string(), e.kind.name());
            match self {
                Writer::File(s) => s.insert(ms(i), &view, kind, e.keyframe, &e.data).unwrap(),
                Writer::Pg(s) => s.insert(ms(i), &view, kind, e.keyframe, &e.data),
            }
        }
        match self {
            Writer::File(s) => s.commit().unwrap(),
            Writer::Pg(s) => s.commit().unwrap(),
        }
    }
}

/// Opens a recording as `stacktop replay` does (no libpq environment of the developer) and
/// starts its source.
async fn start(path: &Path, id: Option<i64>) -> Driven {
    let p = path.to_path_buf();
    let o = tokio::task::spawn_blocking(move || tui::open_in(&p, id, &config(), bare_env))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    Driven::start(o, config())
}

/// The marks of the cell of refresh `i` on the timeline as drawn now.
fn marks_at(d: &Driven, i: i64) -> u8 {
    let s = d.status();
    s.marks[s.cell_of(ms(i))]
}

/// The whole walk on one store: `writer` has recorded refreshes 0–59, the replay is open on
/// it. (The player also sends a status after the marks' reports, which come while the
/// recording grows: each answer is waited for by what it shows, not by counting statuses.)
async fn follows(what: &str, mut writer: Writer, enc: &mut Encoder, d: &mut Driven) {
    d.until(&format!("{what}: marks read"), |d| {
        d.status().scanned_pct == 100
    })
    .await;
    assert_eq!(d.status().last_ms, ms(59), "{what}");
    assert_eq!(marks_at(d, 92) & mark::SLOW, 0, "{what}: not recorded yet");

    // at the end of what is recorded: nothing further, play does not start, a later time is
    // outside the recording
    d.command("goto 03:10:59").await;
    d.until(&format!("{what}: refresh 59"), |d| {
        screen(&d.app).contains("refresh 59 */")
    })
    .await;
    d.key(KeyCode::Char(']')).await;
    d.until(&format!("{what}: the end"), |d| {
        d.flash() == "replay: the end of the recording"
    })
    .await;
    d.key(KeyCode::Char('P')).await;
    d.command("speed 2").await; // answered after P: the player takes commands in order
    d.until(&format!("{what}: speed 2"), |d| {
        d.flash() == "replay: speed 2×"
    })
    .await;
    assert!(!d.status().playing, "{what}: playing at the end");
    d.command("goto 03:11:50").await;
    d.until(&format!("{what}: outside"), |d| {
        d.flash()
            .starts_with(":goto 03:11:50: outside the recording")
    })
    .await;

    // the recorder writes on: a step past the old end shows the next refresh, and the
    // timeline's end moves on
    tokio::task::block_in_place(|| writer.record(enc, 60..90));
    d.key(KeyCode::Char(']')).await;
    d.until(&format!("{what}: refresh 60"), |d| {
        screen(&d.app).contains("refresh 60 */")
    })
    .await;
    // (the status follows the updates of an answer)
    d.until(&format!("{what}: the timeline's end at refresh 89"), |d| {
        d.status().last_ms == ms(89)
    })
    .await;

    // and on: a time recorded since is no longer outside the recording
    tokio::task::block_in_place(|| writer.record(enc, 90..120));
    d.command("goto 03:11:50").await;
    d.until(&format!("{what}: refresh 110"), |d| {
        screen(&d.app).contains("refresh 110 */")
    })
    .await;
    // (the status follows the updates of an answer)
    d.until(&format!("{what}: the timeline's end at refresh 119"), |d| {
        d.status().last_ms == ms(119)
    })
    .await;
    // the marks of what was appended: read on by the marks' thread, binned on the new span
    d.until(&format!("{what}: a slow mark at refresh 92"), |d| {
        marks_at(d, 92) & mark::SLOW != 0
    })
    .await;
    assert_eq!(marks_at(d, 30) & mark::SLOW, 0, "{what}");

    // at the end again: play starts once the recording has grown
    d.command("goto 03:11:59").await;
    d.until(&format!("{what}: refresh 119"), |d| {
        screen(&d.app).contains("refresh 119 */")
    })
    .await;
    tokio::task::block_in_place(|| writer.record(enc, 120..130));
    d.key(KeyCode::Char('P')).await;
    d.until(&format!("{what}: playing"), |d| d.status().playing)
        .await;
    d.until(&format!("{what}: played on"), |d| {
        d.status().cursor_ms > ms(119)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_still_being_recorded_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.sqlite");
    let mut enc = Encoder::new().unwrap().with_keyframe_every(20);
    let mut writer = Writer::File(Store::create(&path).unwrap());
    writer.record(&mut enc, 0..60);
    let mut d = start(&path, None).await;
    follows("file", writer, &mut enc, &mut d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_recording_still_being_written_is_followed() {
    let pg = Pg::start(PgOpts::default());
    let target = format!(
        "postgres://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable&connect_timeout=3",
        pg.password(),
        pg.port
    );
    let t = target.clone();
    let mut enc = Encoder::new().unwrap().with_keyframe_every(20);
    let (writer, enc, id) = tokio::task::spawn_blocking(move || {
        let store = PgStore::create(&t, "growing", &bare_env()).unwrap();
        let id = store.recording();
        let mut w = Writer::Pg(Box::new(store));
        w.record(&mut enc, 0..60);
        (w, enc, id)
    })
    .await
    .unwrap();
    let mut enc = enc;
    let mut d = start(Path::new(&target), Some(id)).await;
    follows("postgres", writer, &mut enc, &mut d).await;
}

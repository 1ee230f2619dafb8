//! A kill done during a recorded run shows in the TUI replay (issue 15): a live pgtop App
//! recording itself against a PostgreSQL started here cancels a slow sleeper with `K` `y`
//! (effects routed to the real source, as the run loop does); replayed through the TUI's
//! time cursor, the status line says at the kill's instant `recorded: cancel: 1 signalled
//! (pid N)` — marked as recorded, the live run's unmarked notice dropped — and the timeline
//! has a `K` mark there.

mod support;

use std::path::Path;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::messages::{Effect, Payload};
use stacktop::record::store::Reader;
use stacktop::record::writer::RecorderOptions;
use stacktop::wire::replay::{mark, ReplayStatus};
use stacktop::wire::ViewKind;
use support::pg::Pg;
use support::replay::Taped;
use support::replay_cursor::CursorApp;

const MAJOR: u32 = 18;
const SLEEP: &str = "SELECT pg_sleep(600)";
const LIMIT: Duration = Duration::from_secs(20);

fn config(pg: &Pg) -> Config {
    let mut cfg = Config::default();
    cfg.ui.refresh = Dur::millis(200);
    cfg.ui.flash = Dur::secs(3600);
    cfg.pgtop.conninfo = Some(pg.conninfo("postgres"));
    cfg.pgtop.slow_threshold = Duration::from_millis(300);
    cfg
}

/// A key on the live app, its effects sent to the source as the run loop does.
fn key(live: &mut Taped, handles: &stacktop::tui::SourceHandles, c: char) {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    for e in live.app.handle_key(KeyEvent::new(KeyCode::Char(c), mods)) {
        if let Effect::ToSource(v, cmd) = e {
            if let Some(tx) = handles.get(&v) {
                tx.try_send(cmd).expect("source command queue");
            }
        }
    }
}

fn kill_ts(path: &Path) -> Vec<i64> {
    let r = Reader::open(path).unwrap();
    r.batch(0, i64::MAX, 100_000)
        .unwrap()
        .into_iter()
        .filter(|row| row.kind == "kill_done")
        .map(|row| row.ts_ms)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_kill_shows_its_outcome_in_replay_marked_recorded() {
    let pg = Pg::shared_major(MAJOR);
    let sleeper = pg.running("postgres", "rec-kill-sleeper", SLEEP).await;
    let pid = sleeper.pid;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("kill.sqlite");
    let cfg = config(pg);
    let (tx, rx) = tokio::sync::mpsc::channel(stacktop::messages::UPDATE_CHANNEL);
    let handles = support::pg_ui::spawn_pgtop(&cfg, tx);
    let mut live = Taped::with_options(
        cfg.clone(),
        ViewKind::Pgtop,
        rx,
        RecorderOptions::new(rec.clone(), &Default::default()),
    );
    live.until("the sleeper slow on screen", LIMIT, |a| {
        a.pgtop.sessions().iter().any(|s| {
            s.pid == pid
                && s.query_start
                    .is_some_and(|q| (a.pgtop.server_now() - q).num_milliseconds() > 600)
        })
    })
    .await;
    key(&mut live, &handles, 'K');
    let targets: Vec<i32> = live
        .app
        .pgtop
        .dialog
        .as_ref()
        .expect("K opens a confirmation")
        .targets
        .iter()
        .map(|t| t.pid)
        .collect();
    assert_eq!(targets, vec![pid], "K targets the sleeper only");
    key(&mut live, &handles, 'y');
    live.until("the cancel's outcome", LIMIT, |a| {
        a.pgtop
            .dialog
            .as_ref()
            .is_some_and(|d| !d.results.is_empty())
            && a.flash
                .as_ref()
                .is_some_and(|f| f.text.starts_with("cancel:"))
    })
    .await;
    let live_text = live.app.flash.as_ref().unwrap().text.clone();
    assert_eq!(live_text, "cancel: 1 signalled");
    live.until("two more refreshes", LIMIT, {
        let mut seen = live.app.pgtop.last_data;
        let mut n = 0;
        move |a| {
            if a.pgtop.last_data != seen {
                seen = a.pgtop.last_data;
                n += 1;
            }
            n >= 2
        }
    })
    .await;
    live.finish();
    drop(handles);

    let kills = kill_ts(&rec);
    assert_eq!(kills.len(), 1, "one kill recorded");
    let (first, last) = Reader::open(&rec).unwrap().span().unwrap().unwrap();

    // replayed: before the kill, no outcome; at its instant, the recorded outcome
    let mut tui = CursorApp::open(cfg, ViewKind::Pgtop, &rec);
    let before = tui.play_to(kills[0] - 1);
    assert!(!before.contains("signalled"), "{before}");
    let at = tui.play_to(kills[0]);
    let want = format!(
        "{}cancel: 1 signalled (pid {pid})",
        stacktop::replay::recorded::RECORDED
    );
    assert_eq!(
        tui.app.flash.as_ref().map(|f| f.text.as_str()),
        Some(want.as_str()),
        "{at}"
    );
    assert!(at.contains(&want), "on the status line:\n{at}");
    // the live run's own unmarked notice (recorded right after) does not replace it
    let end = tui.play_to(last);
    assert!(end.contains(&want), "{end}");
    assert!(
        !tui.handed.iter().any(|u| matches!(&u.payload,
            Payload::Notice { text, .. } if *text == live_text)),
        "the unmarked live notice is not handed over"
    );

    // the timeline marks the kill's cell
    let status = ReplayStatus {
        first_ms: first,
        last_ms: last,
        ..Default::default()
    };
    let mut marks = Vec::new();
    stacktop::replay::marks::scan(
        &rec,
        &status,
        stacktop::replay::marks::Rules {
            slow: Duration::from_secs(3600),
            lag: Default::default(),
        },
        Duration::from_secs(3600),
        |m, _| {
            marks = m;
            true
        },
    )
    .unwrap();
    assert_ne!(
        marks[status.cell_of(kills[0])] & mark::KILL,
        0,
        "a K mark at the kill"
    );
    drop(sleeper);
}

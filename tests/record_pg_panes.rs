//! The flight recorder and pgtop's seldom-read panes (`w`: `pg_stat_statements` top and
//! `pg_wait_sampling` profile), against a PostgreSQL 15 started here from Debian's binaries
//! with both extensions preloaded and created. A live App with the waits pane open, fed by the
//! real collector (readings every few refreshes), records itself; then
//! - the replay cursor (`replay::cursor`, what `stacktop replay` plays) hands the records to a
//!   fresh App: at every instant the live app drew, the screen and batch JSON are the live ones
//!   and the pane holds the same statements top and wait profile as the live one did;
//! - jumps (`goto`) back and forth give the panes of the new time, never a later reading;
//! - `replay --batch --json` prints the sessions with the `wait_sampling` the live batch had.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use stacktop::app::App;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::PgSnapshot;
use stacktop::pg::collector;
use stacktop::record::store::Reader;
use stacktop::replay::cursor::Cursor;
use stacktop::theme::Theme;
use stacktop::wire::ViewKind;
use support::pg::{Pg, PgOpts};
use support::replay::{batch_json, local, press, screen, Shot, Taped};

const LIMIT: Duration = Duration::from_secs(30);

fn config() -> Config {
    let mut cfg = Config::default();
    // a flash message expires by the wall clock, not the app's (see record_pg_screens.rs)
    cfg.ui.flash = Dur::secs(3600);
    cfg
}

/// The panes the live app held at `ts`: those of the last snapshot with data offered by then.
fn live_panes(offered: &[(i64, Update)], ts: i64) -> (Option<String>, Option<String>) {
    offered
        .iter()
        .rev()
        .filter(|(t, _)| *t <= ts)
        .find_map(|(_, u)| match &u.payload {
            Payload::Pg(s) if s.header.is_some() => Some(panes_of(s)),
            _ => None,
        })
        .unwrap_or_default()
}

fn panes_of(s: &PgSnapshot) -> (Option<String>, Option<String>) {
    (
        s.statements.as_ref().map(|t| format!("{t:?}")),
        s.wait_sampling.as_ref().map(|p| format!("{p:?}")),
    )
}

/// The panes a replayed app holds.
fn app_panes(app: &App) -> (Option<String>, Option<String>) {
    let w = &app.pgtop.waits;
    (
        w.statements.as_ref().map(|t| format!("{t:?}")),
        w.wait_sampling.as_ref().map(|p| format!("{p:?}")),
    )
}

fn apply_all(app: &mut App, us: Vec<Update>) {
    for u in us {
        app.apply(u);
    }
}

/// The session lines of a batch JSON text, without their `ts` (the CLI prints the record's
/// time, the live app its drawing time: a millisecond or two later).
fn sessions(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| l.contains("\"type\":\"session\""))
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("ts");
            v
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_and_wait_sampling_replay_as_the_live_pane_showed_them() {
    for lib in ["pg_stat_statements", "pg_wait_sampling"] {
        let so = format!("/usr/lib/postgresql/15/lib/{lib}.so");
        assert!(
            std::path::Path::new(&so).exists(),
            "{so} not found (bash scripts/setup-test-deps.sh)"
        );
    }
    let pg = Pg::start_debian(
        15,
        PgOpts {
            extra_conf: vec![
                "shared_preload_libraries = 'pg_stat_statements,pg_wait_sampling'".into(),
            ],
            ..Default::default()
        },
    );
    pg.admin()
        .await
        .batch_execute("CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_wait_sampling")
        .await
        .unwrap();
    let _sleeper = pg
        .running("postgres", "panes-sleeper", "SELECT pg_sleep(600)")
        .await;
    // statements for the top, run while recording
    let stop = Arc::new(AtomicBool::new(false));
    let work = {
        let (client, stop) = (pg.admin().await, stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                client
                    .batch_execute("SELECT 'panes', count(*) FROM generate_series(1, 20000)")
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // the real collector, its snapshots sent as the pgtop source sends them (with the health)
    let mut o = pg.collector_options("postgres", Duration::from_millis(100));
    o.statements_every = Duration::from_millis(700);
    o.wait_sampling_every = Duration::from_millis(300);
    let (handle, mut snaps) = collector::spawn(o);
    let (tx, rx) = tokio::sync::mpsc::channel(stacktop::messages::UPDATE_CHANNEL);
    let forward = tokio::spawn(async move {
        while let Some(s) = snaps.recv().await {
            let health = stacktop::pg::source::health(&s.status, s.taken_at.into());
            for payload in [Payload::Pg(Arc::new(s)), Payload::Health(health)] {
                let view = ViewKind::Pgtop;
                if tx.send(Update { view, payload }).await.is_err() {
                    return;
                }
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("panes.sqlite");
    let mut live = Taped::new(config(), ViewKind::Pgtop, rx, &rec);
    press(&mut live.app, 'w');
    assert!(live.app.pgtop.waits.open, "w opens the waits pane");
    let (mut tops, mut profiles) = (Vec::new(), Vec::new());
    live.until("3 statements readings and 5 wait profiles", LIMIT, |a| {
        let w = &a.pgtop.waits;
        if let Some(t) = w.statements.as_ref().map(|t| t.taken_at) {
            if !tops.contains(&t) {
                tops.push(t);
            }
        }
        if let Some(t) = w.wait_sampling.as_ref().map(|p| p.taken_at) {
            if !profiles.contains(&t) {
                profiles.push(t);
            }
        }
        tops.len() >= 3 && profiles.len() >= 5
    })
    .await;
    let stats = live.finish();
    stop.store(true, Ordering::SeqCst);
    work.await.unwrap();
    handle.shutdown().await;
    forward.abort();
    assert_eq!(
        stats.dropped.load(Ordering::Relaxed),
        0,
        "{}",
        stats.summary()
    );
    let shots: Vec<Shot> = live.shots.clone();
    let offered = std::mem::take(&mut live.offered);
    assert!(
        shots
            .iter()
            .any(|s| s.screen.contains("server-side waits since")
                && s.screen.contains("Timeout:PgSleep")),
        "the live pane showed the server's samples:\n{}",
        shots.last().unwrap().screen
    );
    assert!(
        shots
            .iter()
            .any(|s| s.batch.contains("\"wait_sampling\":[{")),
        "the live batch JSON had the sessions' server samples"
    );

    // what the pane records cost (the README's per-day figure is from a larger profile)
    let reader = Reader::open(&rec).unwrap();
    for kind in ["pg_statements", "pg_wait_sampling", "pg_snapshot"] {
        let rows: Vec<_> = reader
            .batch(0, i64::MAX, 100_000)
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect();
        let bytes: usize = rows.iter().map(|r| r.data.len()).sum();
        eprintln!("{kind}: {} records, {bytes} bytes stored", rows.len());
    }

    // played through by the replay cursor: every instant as live
    let mut cursor = Cursor::open(Reader::open(&rec).unwrap(), "panes").unwrap();
    let mut app = App::new(config(), Theme::builtin_default(), ViewKind::Pgtop);
    app.resize(support::replay::W, support::replay::H);
    press(&mut app, 'w');
    apply_all(&mut app, cursor.state());
    let mut with_panes = 0;
    for (i, s) in shots.iter().enumerate() {
        let (us, _) = cursor.advance_to(s.ts_ms).unwrap();
        apply_all(&mut app, us);
        app.tick(local(s.ts_ms));
        let want = live_panes(&offered, s.ts_ms);
        assert_eq!(
            app_panes(&app),
            want,
            "shot {i}: the panes at {}",
            local(s.ts_ms)
        );
        with_panes += usize::from(want.0.is_some() && want.1.is_some());
        assert_eq!(
            screen(&app),
            s.screen,
            "shot {i}: the screen at {}",
            local(s.ts_ms)
        );
        assert_eq!(batch_json(&app), s.batch, "shot {i}: batch JSON");
    }
    assert_eq!(cursor.skipped, 0);
    assert!(with_panes >= 5, "{with_panes} instants with both panes");

    // jumps: the panes of the new time (back to a refresh before the first reading: none)
    let data_at = |ts: i64| {
        offered
            .iter()
            .any(|(t, u)| *t <= ts && matches!(&u.payload, Payload::Pg(s) if s.header.is_some()))
    };
    let first_none = shots
        .iter()
        .position(|s| data_at(s.ts_ms) && live_panes(&offered, s.ts_ms).0.is_none())
        .expect("a live instant with sessions before the first statements reading");
    let mut order: Vec<usize> = vec![shots.len() - 1, shots.len() / 2];
    order.push(first_none);
    order.push(shots.len() * 3 / 4);
    for i in order {
        let ts = shots[i].ts_ms;
        apply_all(&mut app, cursor.goto(ts).unwrap());
        assert_eq!(
            app_panes(&app),
            live_panes(&offered, ts),
            "goto shot {i} ({})",
            local(ts)
        );
    }

    // `replay --batch --json`: each snapshot's sessions as the live batch printed them
    let mut out = Vec::new();
    let reader = Reader::open(&rec).unwrap();
    let skipped =
        stacktop::replay::batch::print(&reader, config(), i64::MIN, i64::MAX, &mut out).unwrap();
    assert_eq!(skipped, 0);
    let out = String::from_utf8(out).unwrap();
    assert!(
        !out.contains("\"type\":\"pg_statements\""),
        "no line of its own"
    );
    let mut blocks: Vec<(i64, String)> = Vec::new();
    for line in out.lines() {
        let j: serde_json::Value = serde_json::from_str(line).unwrap();
        if j["type"] == "snapshot" {
            let ts = chrono::DateTime::parse_from_rfc3339(j["ts"].as_str().unwrap()).unwrap();
            blocks.push((ts.timestamp_millis(), String::new()));
        } else if let Some(b) = blocks.last_mut() {
            b.1.push_str(line);
            b.1.push('\n');
        }
    }
    let mut matched = 0;
    for s in shots
        .iter()
        .filter(|s| s.batch.contains("\"wait_sampling\""))
    {
        let (_, b) = blocks
            .iter()
            .rev()
            .find(|(t, _)| *t <= s.ts_ms)
            .expect("a printed snapshot before the shot");
        assert_eq!(
            sessions(b),
            sessions(&s.batch),
            "replay --batch --json at {}",
            local(s.ts_ms)
        );
        matched += 1;
    }
    assert!(matched >= 5, "{matched} printed blocks matched");
}

//! `pg_wait_sampling` against a real PostgreSQL 15 started here from Debian's binaries with
//! `shared_preload_libraries = 'pg_wait_sampling'` (Debian package
//! `postgresql-15-pg-wait-sampling`; the test fails naming it when it is missing). Not created
//! in the database yet: said once, nothing read. Created: two sessions in `pg_sleep`
//! (Timeout:PgSleep) and one waiting on a table lock (Lock:relation) show up in the collector's
//! profile as deltas since its first reading (the samples taken before it are not counted),
//! with counts that grow from reading to reading at the configured cadence; the `w` pane lists
//! them as server-side samples (idle waits only with `i`) and batch JSON gives each session its
//! own (`wait_sampling`).

mod support;

#[path = "support/screen.rs"]
mod screen;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::PgSnapshot;
use stacktop::pg::collector::{self, CollectorOptions};
use stacktop::pg::wait_sampling::WaitProfile;
use stacktop::pg::waits::event_name;
use stacktop::theme::Theme;
use stacktop::views::View;
use stacktop::wire::ViewKind;
use support::pg::{Pg, PgOpts, Role};
use tokio::sync::mpsc::Receiver;

const PACKAGE: &str = "postgresql-15-pg-wait-sampling";
const LIB: &str = "/usr/lib/postgresql/15/lib/pg_wait_sampling.so";
const EVERY: Duration = Duration::from_millis(400);

fn opts(pg: &Pg) -> CollectorOptions {
    let mut o = pg.collector_options("postgres", Duration::from_millis(100));
    o.wait_sampling_every = EVERY;
    o
}

/// Next connected snapshot satisfying `pred`, within `limit`.
async fn snapshot_where(
    rx: &mut Receiver<PgSnapshot>,
    limit: Duration,
    what: &str,
    pred: impl Fn(&PgSnapshot) -> bool,
) -> PgSnapshot {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(s)) if s.header.is_some() && pred(&s) => return s,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("collector ended while waiting for: {what}"),
            Err(_) => panic!("no snapshot within {limit:?} for: {what}"),
        }
    }
}

/// Server samples of `name` for `pid` in a profile.
fn count_of(p: &WaitProfile, pid: i32, name: &str) -> i64 {
    p.of_pid(pid)
        .iter()
        .filter(|w| event_name(w.event_type.as_deref(), w.event.as_deref()) == name)
        .map(|w| w.count)
        .sum()
}

fn feed(a: &mut App, s: PgSnapshot) {
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(s.into()),
    });
}

fn key(a: &mut App, c: char) {
    a.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
}

fn screen_text(a: &App) -> String {
    screen::text(&screen::render(a, 160, 60))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wait_sampling_profile_in_pane_and_json() {
    assert!(
        std::path::Path::new(LIB).exists(),
        "{LIB} not found: install Debian package {PACKAGE} (bash scripts/setup-test-deps.sh)"
    );
    let pg = Pg::start_debian(
        15,
        PgOpts {
            extra_conf: vec!["shared_preload_libraries = 'pg_wait_sampling'".into()],
            ..Default::default()
        },
    );
    pg.create_role("app", Role::Plain).await;

    // not created in this database yet: said once, nothing read
    let (handle, mut rx) = collector::spawn(opts(&pg));
    let mut said = 0;
    let deadline = Instant::now() + 4 * EVERY;
    while Instant::now() < deadline {
        let s = snapshot_where(&mut rx, Duration::from_secs(5), "refresh", |_| true).await;
        said += s
            .notices
            .iter()
            .filter(|n| n.contains("pg_wait_sampling") && n.contains("not installed"))
            .count();
        assert!(s.wait_sampling.is_none());
    }
    handle.shutdown().await;
    assert_eq!(said, 1, "said once");

    pg.admin()
        .await
        .batch_execute("CREATE EXTENSION pg_wait_sampling")
        .await
        .unwrap();
    let s1 = pg
        .running("app", "ws-sleep-1", "SELECT pg_sleep(600)")
        .await;
    let s2 = pg
        .running("app", "ws-sleep-2", "SELECT pg_sleep(600)")
        .await;
    let (holder, waiter) = pg.lock_pair("app", "ws_lockme").await;
    // the server has sampled them before stacktop starts: not counted
    pg.wait_until(
        &format!(
            "SELECT count(*) = 3 FROM pg_wait_sampling_profile WHERE count > 0 AND \
             ((pid IN ({}, {}) AND event = 'PgSleep') OR (pid = {} AND event_type = 'Lock'))",
            s1.pid, s2.pid, waiter.pid
        ),
        Duration::from_secs(10),
    )
    .await;

    let (handle, mut rx) = collector::spawn(opts(&pg));
    let first = snapshot_where(&mut rx, Duration::from_secs(10), "first reading", |s| {
        s.wait_sampling.is_some()
    })
    .await;
    let base = first.wait_sampling.clone().unwrap();
    assert_eq!(
        base.since, base.taken_at,
        "the first reading is the baseline"
    );
    assert!(base.events.is_empty(), "nothing counted before: {base:?}");
    assert_eq!(base.period_ms, Some(10), "pg_wait_sampling.profile_period");

    // a reading where every test session has samples, then a later one where they grew
    let has_all = |p: &WaitProfile| {
        count_of(p, s1.pid, "Timeout:PgSleep") > 0
            && count_of(p, s2.pid, "Timeout:PgSleep") > 0
            && count_of(p, waiter.pid, "Lock:relation") > 0
    };
    let s = snapshot_where(&mut rx, Duration::from_secs(10), "samples", |s| {
        s.wait_sampling.as_ref().is_some_and(|p| has_all(p))
    })
    .await;
    let p1 = s.wait_sampling.clone().unwrap();
    let later = snapshot_where(&mut rx, Duration::from_secs(10), "a later reading", |s| {
        s.wait_sampling
            .as_ref()
            .is_some_and(|p| p.taken_at > p1.taken_at)
    })
    .await;
    let p2 = later.wait_sampling.clone().unwrap();
    handle.shutdown().await;
    assert_eq!(p2.since, base.since, "deltas from the same first reading");
    let gap = (p2.taken_at - p1.taken_at).to_std().unwrap();
    assert!(
        gap + Duration::from_millis(50) >= EVERY,
        "read at its cadence ({EVERY:?}), not every refresh: {gap:?}"
    );
    for (pid, name) in [
        (s1.pid, "Timeout:PgSleep"),
        (s2.pid, "Timeout:PgSleep"),
        (waiter.pid, "Lock:relation"),
    ] {
        let (a, b) = (count_of(&p1, pid, name), count_of(&p2, pid, name));
        assert!(b > a, "{name} of {pid} grows: {a} then {b}");
    }
    let sleep = p2
        .events
        .iter()
        .find(|e| event_name(e.event_type.as_deref(), e.event.as_deref()) == "Timeout:PgSleep")
        .unwrap();
    assert_eq!(sleep.pids, 2, "{sleep:?}");
    // at 10 ms, a wait sampled since the first reading has about gap/10ms samples per pid; the
    // deltas are far below the totals since the sessions started
    let since_start = (p2.taken_at - base.since).to_std().unwrap();
    let most = 2 * (since_start.as_millis() as i64 / 10 + 20);
    assert!(sleep.count <= most, "{} > {most}: not deltas", sleep.count);

    // the pane: server-side samples, labelled as such; the idle holder only with `i`
    let mut a = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    feed(&mut a, later);
    key(&mut a, 'w');
    let screen = screen_text(&a);
    assert!(
        screen.contains("server-side waits since") && screen.contains("pg_wait_sampling"),
        "{screen}"
    );
    assert!(screen.contains("samples every 10 ms over time"), "{screen}");
    let line = |scr: &str, name: &str| {
        scr.lines()
            .find(|l| l.contains(name) && l.contains("server samples"))
            .map(str::to_string)
    };
    let l = line(&screen, "Timeout:PgSleep").unwrap_or_else(|| panic!("{screen}"));
    assert!(
        l.contains(&format!(" {} server samples", sleep.count)) && l.contains("2 pids"),
        "{l}"
    );
    assert!(line(&screen, "Lock:relation").is_some(), "{screen}");
    assert!(
        line(&screen, "Client:ClientRead").is_none(),
        "idle waits left out by default:\n{screen}"
    );
    key(&mut a, 'i');
    let all = screen_text(&a);
    assert!(
        line(&all, "Client:ClientRead").is_some() || line(&all, "Activity:").is_some(),
        "i shows idle and background waits:\n{all}"
    );
    key(&mut a, 'i');

    // batch JSON: each session its own samples since the first reading
    let rows = a.pgtop.batch_json();
    let row = |pid: i32| {
        rows.iter()
            .find(|r| r["pid"] == pid)
            .unwrap_or_else(|| panic!("{pid} not in {rows:?}"))
    };
    let ws = &row(s1.pid)["wait_sampling"];
    assert_eq!(ws[0]["event_type"], "Timeout", "{ws}");
    assert_eq!(ws[0]["event"], "PgSleep", "{ws}");
    assert_eq!(
        ws[0]["count"].as_i64(),
        Some(count_of(&p2, s1.pid, "Timeout:PgSleep")),
        "{ws}"
    );
    let ws = &row(waiter.pid)["wait_sampling"];
    assert!(
        ws.as_array()
            .unwrap()
            .iter()
            .any(|w| w["event_type"] == "Lock" && w["event"] == "relation"),
        "{ws}"
    );
    pg.terminate(&[s1.pid, s2.pid, waiter.pid, holder.pid])
        .await;
}

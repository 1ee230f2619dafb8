//! Waits over time and the long-transaction threshold against a real PostgreSQL started here
//! (with `pg_stat_statements` preloaded): sessions in known waits (two in `pg_sleep`, one
//! waiting on a lock) are counted in the `w` pane after N refreshes, idle ones only with `i`;
//! a transaction that runs a short statement every 200 ms while it ages is flagged
//! long-transaction (never slow or idle in transaction), logged once and alerted once through
//! the webhook receiver, and listed as such in batch JSON; `pg_stat_statements` is said once
//! when absent and read as deltas from the first reading when installed.

mod support;

#[path = "support/screen.rs"]
mod screen;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::PgSnapshot;
use stacktop::pg::batch::session_json;
use stacktop::pg::classify::{classify, DurationBasis, RowClass, Thresholds};
use stacktop::pg::collector::{self, CollectorOptions};
use stacktop::pg::conninfo::Secret;
use stacktop::pg::slack::SlackOptions;
use stacktop::theme::Theme;
use stacktop::wire::ViewKind;
use support::pg::{Pg, PgOpts, Role};
use support::webhook::{Mode, Webhook};
use tokio::sync::mpsc::Receiver;

fn opts(pg: &Pg) -> CollectorOptions {
    let mut o = pg.collector_options("postgres", Duration::from_millis(100));
    o.statements_every = Duration::from_millis(300);
    o.thresholds = Thresholds {
        slow: Duration::from_secs(1),
        critical: Duration::from_secs(600),
        idle_in_transaction: Duration::from_secs(1),
        long_transaction: Duration::from_secs(1),
    };
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

fn app() -> App {
    let mut cfg = Config::default();
    cfg.pgtop.slow_threshold = Duration::from_secs(1);
    cfg.pgtop.long_transaction_threshold = Duration::from_secs(1);
    App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop)
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
    screen::text(&screen::render(a, 140, 50))
}

/// The pane line of `name` in the first window shown (the last minute).
fn wait_line<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(name))
}

fn log_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pg_matrix!(waits_scenarios);

async fn waits_scenarios(major: u32) {
    let pg = Pg::start_major(
        major,
        PgOpts {
            extra_conf: vec!["shared_preload_libraries = 'pg_stat_statements'".into()],
            ..Default::default()
        },
    );
    pg.create_role("app", Role::Plain).await;
    let dir = tempfile::tempdir().unwrap();
    waits_pane_counts_known_waits(&pg).await;
    long_transaction_flagged_logged_alerted(&pg, dir.path()).await;
    statements_absent_then_deltas(&pg).await;
}

async fn waits_pane_counts_known_waits(pg: &Pg) {
    let s1 = pg.running("app", "w-sleep-1", "SELECT pg_sleep(600)").await;
    let s2 = pg.running("app", "w-sleep-2", "SELECT pg_sleep(600)").await;
    let (holder, waiter) = pg.lock_pair("app", "w_lockme").await;
    let pids = [s1.pid, s2.pid, waiter.pid];
    let (handle, mut rx) = collector::spawn(opts(pg));
    let mut a = app();
    const N: usize = 8;
    let mut fed = 0;
    while fed < N {
        // only refreshes where every test session is in its wait: the counts are exact
        let s = snapshot_where(
            &mut rx,
            Duration::from_secs(20),
            "sessions in their waits",
            |s| {
                let wait = |pid: i32| {
                    s.sessions.iter().find(|x| x.pid == pid).map(|x| {
                        format!(
                            "{}:{}",
                            x.wait_event_type.as_deref().unwrap_or(""),
                            x.wait_event.as_deref().unwrap_or("")
                        )
                    })
                };
                wait(pids[0]).as_deref() == Some("Timeout:PgSleep")
                    && wait(pids[1]).as_deref() == Some("Timeout:PgSleep")
                    && wait(pids[2]).is_some_and(|w| w.starts_with("Lock:"))
                    && wait(holder.pid).is_some()
            },
        )
        .await;
        feed(&mut a, s);
        fed += 1;
    }
    handle.shutdown().await;
    key(&mut a, 'w');
    let screen = screen_text(&a);
    assert!(screen.contains("waits over time"), "{screen}");
    // exactly the three active client backends: 2 sleepers + 1 lock waiter per refresh
    assert!(
        screen.contains(&format!("last 1 min · {N} refreshes, {} samples", 3 * N)),
        "{screen}"
    );
    let sleep = wait_line(&screen, "Timeout:PgSleep").unwrap_or_else(|| panic!("{screen}"));
    assert!(
        sleep.contains(&format!(" {} samples", 2 * N)),
        "two sleepers × {N} refreshes: {sleep}\n{screen}"
    );
    let lock = wait_line(&screen, "Lock:relation").unwrap_or_else(|| panic!("{screen}"));
    assert!(lock.contains(&format!(" {N} samples")), "{lock}\n{screen}");
    assert!(screen.contains("samples") && screen.contains("not time"));
    // the lock holder is idle in transaction (ClientRead): counted only with `i`
    assert!(
        wait_line(&screen, "Client:ClientRead").is_none(),
        "idle sessions are excluded by default:\n{screen}"
    );
    key(&mut a, 'i');
    let all = screen_text(&a);
    let head = wait_line(&all, "last 1 min").unwrap_or_else(|| panic!("{all}"));
    let n: usize = head
        .split(", ")
        .nth(1)
        .and_then(|x| x.split(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{head}"));
    assert!(
        n >= 4 * N,
        "i includes the idle-in-transaction holder and background processes: {head}\n{all}"
    );
    assert!(all.contains("waits of every session"), "{all}");
    key(&mut a, 'i');
    a.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(!screen_text(&a).contains("waits over time"), "Esc closes");
    pg.terminate(&[s1.pid, s2.pid, waiter.pid, holder.pid])
        .await;
}

async fn long_transaction_flagged_logged_alerted(pg: &Pg, dir: &Path) {
    let hook = Webhook::start(Mode::Ok).await;
    let log = dir.join("slow-ltx.jsonl");
    let client = Arc::new(pg.client_app("app", "w-long-tx").await);
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    client.batch_execute("BEGIN; SELECT 1").await.unwrap();
    // a short statement every 200 ms while the transaction ages (active most of the time,
    // never slow, never idle in transaction for long)
    let stop = Arc::new(AtomicBool::new(false));
    let (c2, stop2) = (client.clone(), stop.clone());
    let busy = tokio::spawn(async move {
        while !stop2.load(Ordering::SeqCst) {
            c2.batch_execute("SELECT pg_sleep(0.15)").await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut o = opts(pg);
    o.slow_log = Some(log.clone());
    o.slack = Some(SlackOptions::new(
        Secret::new(hook.url("/hook/LTX")),
        "test",
    ));
    let th = o.thresholds;
    let (handle, mut rx) = collector::spawn(o);
    let s = snapshot_where(
        &mut rx,
        Duration::from_secs(20),
        "a long transaction",
        |s| {
            s.sessions.iter().any(|x| {
                x.pid == pid && classify(x, s.server_now, &th) == RowClass::LongTransaction
            })
        },
    )
    .await;
    let row = s.sessions.iter().find(|x| x.pid == pid).unwrap();
    let j = session_json(row, s.server_now, &th, DurationBasis::Query);
    assert_eq!(j["class"], "long_transaction", "{j}");
    assert_eq!(j["long_transaction"], true, "{j}");
    assert_eq!(j["slow"], false, "{j}");
    // the list marks it (`long tx`, its own role) without colour too
    let mut a = app();
    feed(&mut a, s.clone());
    let screen = screen_text(&a);
    let line = screen
        .lines()
        .find(|l| l.contains(&pid.to_string()) && l.contains("w-long-tx"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(line.contains("long tx"), "{line}");
    let posts = hook.wait_for_posts(1, Duration::from_secs(10)).await;
    // a few more seconds of statements: still one instance, never slow or idle in transaction
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let _ = snapshot_where(&mut rx, Duration::from_secs(5), "refresh", |_| true).await;
    }
    stop.store(true, Ordering::SeqCst);
    busy.await.unwrap();
    handle.shutdown().await;
    let texts: Vec<String> = hook.posts().iter().map(|p| p.text()).collect();
    let mine: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains(&format!("pid {pid} ")))
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "one alert per transaction: {texts:?} (first: {posts:?})"
    );
    assert!(mine[0].contains("Long transaction"), "{}", mine[0]);
    let events: Vec<String> = log_lines(&log)
        .into_iter()
        .filter(|l| l["pid"] == pid)
        .map(|l| l["event"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(events, vec!["long_transaction".to_string()], "{events:?}");
    client.batch_execute("COMMIT").await.unwrap();
}

async fn statements_absent_then_deltas(pg: &Pg) {
    // not created in this database yet: said once, nothing read
    let (handle, mut rx) = collector::spawn(opts(pg));
    let mut said = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let s = snapshot_where(&mut rx, Duration::from_secs(5), "refresh", |_| true).await;
        said += s
            .notices
            .iter()
            .filter(|n| n.contains("pg_stat_statements") && n.contains("not installed"))
            .count();
        assert!(s.statements.is_none());
    }
    handle.shutdown().await;
    assert_eq!(said, 1, "said once");

    let admin = pg.admin().await;
    admin
        .batch_execute(
            "CREATE EXTENSION pg_stat_statements; \
             CREATE TABLE w_probe(i int); GRANT SELECT ON w_probe TO app",
        )
        .await
        .unwrap();
    let probe = "SELECT count(*) FROM w_probe, pg_sleep(0.1)";
    let app_client = pg.client("app").await;
    // calls before stacktop starts: not counted
    for _ in 0..2 {
        app_client.batch_execute(probe).await.unwrap();
    }
    pg.wait_until(
        "SELECT coalesce(sum(calls), 0) >= 1 FROM pg_stat_statements WHERE query LIKE '%w_probe%'",
        Duration::from_secs(10),
    )
    .await;
    let (handle, mut rx) = collector::spawn(opts(pg));
    let first = snapshot_where(&mut rx, Duration::from_secs(10), "first reading", |s| {
        s.statements.is_some()
    })
    .await;
    let base = first.statements.clone().unwrap();
    for _ in 0..3 {
        app_client.batch_execute(probe).await.unwrap();
    }
    let s = snapshot_where(&mut rx, Duration::from_secs(10), "probe deltas", |s| {
        s.statements.as_ref().is_some_and(|t| {
            t.since == base.since
                && t.rows
                    .iter()
                    .any(|r| r.query.contains("w_probe") && r.calls >= 3)
        })
    })
    .await;
    handle.shutdown().await;
    let top = s.statements.clone().unwrap();
    let r = top
        .rows
        .iter()
        .find(|r| r.query.contains("w_probe"))
        .unwrap();
    assert_eq!(r.calls, 3, "deltas since the first reading: {r:?}");
    assert!(r.total_ms >= 300.0, "{r:?}");
    assert_eq!(r.user.as_deref(), Some("app"));
    let mut a = app();
    feed(&mut a, s);
    key(&mut a, 'w');
    let screen = screen_text(&a);
    assert!(screen.contains("top statements by time since"), "{screen}");
    let line = wait_line(&screen, "w_probe").unwrap_or_else(|| panic!("{screen}"));
    assert!(
        line.contains("3 calls") && line.contains("app@postgres"),
        "{line}"
    );
}

//! pgtop core against a real PostgreSQL started by the test (one server for the whole file):
//! sessions made here appear with the right state, duration and slow flag; the own session is
//! absent; cancel/terminate/K hit exactly the intended backends; a changed statement is left
//! alone; read-only refuses; slow log + webhook once per query instance, idle-in-transaction
//! sessions logged and alerted, the lock waiter's alert naming its blocker; a hanging or failing
//! webhook does not delay refreshes; pg_monitor sees the list and gets a message when signalling.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use stacktop::pg::activity::{ActivityColumns, ActivityReader, PgSnapshot, SessionState};
use stacktop::pg::batch::{self, BatchOptions};
use stacktop::pg::classify::{classify, DurationBasis, RowClass, Thresholds};
use stacktop::pg::collector::{self, CollectorOptions, ConnState};
use stacktop::pg::conninfo::Secret;
use stacktop::pg::kill::{
    select_slow_targets, KillExclusions, SignalKind, SignalOutcome, SignalTarget,
};
use stacktop::pg::slack::{self, SlackOptions};
use stacktop::pg::tls;
use support::pg::{Pg, PgOpts, Role};
use support::webhook::{Mode, Webhook};
use tokio::sync::mpsc::Receiver;

const SEC: Duration = Duration::from_secs(1);

fn thresholds(slow_ms: u64) -> Thresholds {
    Thresholds {
        slow: Duration::from_millis(slow_ms),
        critical: Duration::from_secs(600),
        idle_in_transaction: Duration::from_millis(slow_ms),
        long_transaction: Duration::from_secs(600),
    }
}

fn opts(pg: &Pg, user: &str) -> CollectorOptions {
    let mut o = pg.collector_options(user, Duration::from_millis(200));
    o.thresholds = thresholds(1000);
    o
}

/// Next snapshot that satisfies `pred` (connected ones only), within `limit`.
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

fn log_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn target(s: &PgSnapshot, pid: i32) -> SignalTarget {
    let row = s
        .sessions
        .iter()
        .find(|x| x.pid == pid)
        .expect("pid on screen");
    SignalTarget::from_session(row, s.server_now).expect("signallable")
}

pg_matrix!(live_server_scenarios);

/// Every scenario against one server of `major` (one per major per run).
async fn live_server_scenarios(major: u32) {
    let pg = Pg::start_major(major, PgOpts::default());
    pg.create_role("app", Role::Plain).await;
    pg.create_role("mon", Role::Monitor).await;
    let dir = tempfile::tempdir().unwrap();

    sessions_slow_log_and_webhook(&pg, dir.path()).await;
    signals(&pg, dir.path()).await;
    monitor_role(&pg).await;
    older_server_statements(&pg).await;
    feature_notices_once(&pg).await;
    webhook_failures_do_not_delay_refreshes(&pg).await;
    batch_mode(&pg).await;
}

async fn sessions_slow_log_and_webhook(pg: &Pg, dir: &Path) {
    let hook = Webhook::start(Mode::Ok).await;
    let t_start = Instant::now(); // before the sleeper starts: its duration cannot exceed this
    let sleeper = pg
        .running("app", "sleeper", "SELECT pg_sleep(600) /* t-a */")
        .await;
    let iit = pg.idle_in_transaction("app", "iit").await;
    let (holder, waiter) = pg.lock_pair("app", "lockme").await;
    let log = dir.join("slow-a.jsonl");
    let mut o = opts(pg, "postgres");
    o.slow_log = Some(log.clone());
    o.slack = Some(SlackOptions::new(Secret::new(hook.url("/hook/T1")), "test"));
    let (h, mut rx) = collector::spawn(o);

    let s = snapshot_where(&mut rx, 15 * SEC, "sleeper slow and iit long", |s| {
        let slow = s.sessions.iter().any(|x| {
            x.pid == sleeper.pid && classify(x, s.server_now, &thresholds(1000)) == RowClass::Slow
        });
        let iit_long = s.sessions.iter().any(|x| {
            x.pid == iit.pid
                && classify(x, s.server_now, &thresholds(1000)) == RowClass::IdleInTransactionLong
        });
        slow && iit_long
    })
    .await;
    let row = |pid| s.sessions.iter().find(|x| x.pid == pid).unwrap();
    let sl = row(sleeper.pid);
    assert_eq!(sl.state, SessionState::Active);
    assert_eq!(sl.wait_event.as_deref(), Some("PgSleep"));
    assert_eq!(sl.usename.as_deref(), Some("app"));
    assert_eq!(sl.application_name, "sleeper");
    assert!(sl.query.contains("/* t-a */"));
    let d = sl.duration(DurationBasis::Query, s.server_now).unwrap();
    assert!(d >= SEC && d <= t_start.elapsed() + SEC, "duration {d:?}");
    assert_eq!(row(iit.pid).state, SessionState::IdleInTransaction);
    let w = row(waiter.pid);
    assert!(w.is_lock_waiter(), "{w:?}");
    assert_eq!(w.blocking_pids, vec![holder.pid]);
    assert_eq!(row(holder.pid).state, SessionState::IdleInTransaction);
    let hd = s.header.as_ref().unwrap();
    assert!(hd.server_version_num >= 120000);
    assert_eq!(hd.max_connections, 100);
    assert!(hd.waiting >= 1 && hd.counts.active >= 2 && hd.counts.idle_in_transaction >= 2);
    assert_eq!(hd.server_version_num / 10000, pg.major() as i32);
    assert!(hd.columns.backend_type);
    assert_eq!(
        hd.columns.leader_pid,
        pg.major() >= 13,
        "leader_pid from 13 on"
    );
    assert_eq!(hd.columns.query_id, pg.major() >= 14, "query_id from 14 on");
    assert!(hd.longest_transaction.is_some());
    // own session absent
    let own: Vec<i32> = pg
        .admin()
        .await
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'stacktop'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(own.len(), 1, "one collector connection");
    assert!(
        s.sessions.iter().all(|x| x.pid != own[0]),
        "own session listed"
    );
    assert!(s.sessions.iter().all(|x| x.application_name != "stacktop"));
    // TPS / hit ratio come from deltas: present after the first refresh
    let s2 = snapshot_where(&mut rx, 5 * SEC, "second refresh", |_| true).await;
    assert!(s2.header.as_ref().unwrap().tps.is_some());

    // webhook: one post per instance (sleeper and the lock waiter cross the threshold)
    let posts = hook.wait_for_posts(1, 10 * SEC).await;
    assert_eq!(posts[0].method, "POST");
    assert_eq!(posts[0].path, "/hook/T1");
    assert_eq!(posts[0].header("content-type"), Some("application/json"));
    // let several more refreshes pass, then count
    let seq = s2.seq;
    snapshot_where(&mut rx, 10 * SEC, "5 more refreshes", |s| s.seq >= seq + 5).await;
    let posts = hook.posts();
    for pid in [sleeper.pid, waiter.pid] {
        let n = posts
            .iter()
            .filter(|p| {
                p.json()["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!("pid {pid} "))
            })
            .count();
        assert_eq!(n, 1, "posts for pid {pid}: {posts:?}");
    }
    let lines = log_lines(&log);
    for pid in [sleeper.pid, waiter.pid] {
        let n = lines
            .iter()
            .filter(|l| l["event"] == "slow" && l["pid"] == pid)
            .count();
        assert_eq!(n, 1, "log lines for pid {pid}: {lines:?}");
    }
    // idle in transaction over its threshold: logged and alerted once, never as a slow query
    for pid in [iit.pid, holder.pid] {
        let kinds: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|l| l["pid"] == pid)
            .map(|l| &l["event"])
            .collect();
        assert_eq!(kinds, vec!["idle_in_transaction"], "pid {pid}: {lines:?}");
        let n = posts
            .iter()
            .flat_map(|p| {
                p.text()
                    .split("\n\n")
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|t| t.contains("Idle in transaction") && t.contains(&format!("pid {pid} ")))
            .count();
        assert_eq!(n, 1, "idle-in-transaction alerts for pid {pid}: {posts:?}");
    }
    // the lock waiter's alert names the session holding the lock
    assert!(
        posts.iter().any(|p| p
            .text()
            .contains(&format!("waiting for a lock held by pid {} ", holder.pid))),
        "{posts:?}"
    );
    h.shutdown().await;
    // before 14 (no client_connection_check_interval) a sleeping backend outlives its client
    pg.terminate(&[sleeper.pid, iit.pid, holder.pid, waiter.pid])
        .await;
    drop((sleeper, iit, holder, waiter));
    pg.wait_until(
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name IN ('sleeper','iit','lock-holder','lock-waiter')",
        10 * SEC,
    )
    .await;
}

async fn signals(pg: &Pg, dir: &Path) {
    let log = dir.join("slow-b.jsonl");
    let mut o = opts(pg, "postgres");
    o.slow_log = Some(log.clone());
    let (h, mut rx) = collector::spawn(o.clone());
    let mut c1 = pg.running("app", "k1", "SELECT pg_sleep(600)").await;
    let mut t1 = pg.running("app", "k2", "SELECT pg_sleep(600)").await;
    let mut changed = pg.running("app", "k3", "SELECT pg_sleep(600)").await;
    let bystander = pg.running("app", "k4", "SELECT pg_sleep(600)").await;
    let s = snapshot_where(&mut rx, 10 * SEC, "4 sleepers", |s| {
        [c1.pid, t1.pid, changed.pid, bystander.pid]
            .iter()
            .all(|p| {
                s.sessions
                    .iter()
                    .any(|x| x.pid == *p && x.state == SessionState::Active)
            })
    })
    .await;

    // cancel one
    let r = h.signal(SignalKind::Cancel, vec![target(&s, c1.pid)]).await;
    assert_eq!(r[0].outcome, SignalOutcome::Signalled);
    assert_eq!(c1.ended(5 * SEC).await.unwrap().as_deref(), Some("57014"));
    assert!(pg.pid_alive(c1.pid).await, "cancel keeps the session");

    // terminate one
    let r = h
        .signal(SignalKind::Terminate, vec![target(&s, t1.pid)])
        .await;
    assert_eq!(r[0].outcome, SignalOutcome::Signalled);
    t1.ended(5 * SEC).await.unwrap();
    pg.wait_until(
        &format!(
            "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = {}",
            t1.pid
        ),
        5 * SEC,
    )
    .await;

    // statement changed between screen and signal: not hit
    let old = target(&s, changed.pid);
    pg.admin()
        .await
        .execute("SELECT pg_cancel_backend($1)", &[&changed.pid])
        .await
        .unwrap();
    changed.ended(5 * SEC).await.unwrap();
    changed.run("SELECT pg_sleep(600) /* new statement */");
    pg.wait_until(
        &format!("SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = {} AND state = 'active' AND query LIKE '%new statement%'", changed.pid),
        5 * SEC,
    )
    .await;
    let r = h.signal(SignalKind::Terminate, vec![old]).await;
    assert_eq!(r[0].outcome, SignalOutcome::Changed);
    assert!(changed.is_running());
    assert!(bystander.is_running(), "bystander untouched");

    // read-only collector refuses and logs nothing
    let mut ro = o.clone();
    ro.read_only = true;
    ro.slow_log = Some(dir.join("slow-ro.jsonl"));
    let (hro, mut rxro) = collector::spawn(ro);
    let s = snapshot_where(&mut rxro, 10 * SEC, "ro snapshot", |s| {
        s.sessions.iter().any(|x| x.pid == bystander.pid)
    })
    .await;
    let r = hro
        .signal(SignalKind::Terminate, vec![target(&s, bystander.pid)])
        .await;
    assert_eq!(r[0].outcome, SignalOutcome::ReadOnly);
    assert!(bystander.is_running());
    assert!(log_lines(&dir.join("slow-ro.jsonl"))
        .iter()
        .all(|l| l["event"] != "signal"));
    hro.shutdown().await;

    // K: slow rows on screen, minus a non-SELECT statement and an excluded application
    let mut k_sel = pg.running("app", "kk1", "SELECT pg_sleep(600)").await;
    let dml = pg
        .running("app", "kk2", "DO $$BEGIN PERFORM pg_sleep(600); END$$")
        .await;
    let excluded = pg.running("app", "batchjob", "SELECT pg_sleep(600)").await;
    let th = thresholds(500);
    let s = snapshot_where(&mut rx, 10 * SEC, "K candidates slow", |s| {
        [k_sel.pid, dml.pid, excluded.pid].iter().all(|p| {
            s.sessions
                .iter()
                .any(|x| x.pid == *p && classify(x, s.server_now, &th) == RowClass::Slow)
        })
    })
    .await;
    let ex = KillExclusions {
        only_select: true,
        users: vec![],
        applications: vec!["batchjob".into()],
    };
    let targets = select_slow_targets(&s.sessions, s.server_now, &th, &ex);
    let mut pids: Vec<i32> = targets.iter().map(|t| t.pid).collect();
    pids.sort();
    let mut want = vec![k_sel.pid, changed.pid, bystander.pid];
    want.sort();
    assert_eq!(pids, want, "K targets");
    let r = h.signal(SignalKind::Cancel, targets).await;
    assert!(
        r.iter().all(|r| r.outcome == SignalOutcome::Signalled),
        "{r:?}"
    );
    assert_eq!(
        k_sel.ended(5 * SEC).await.unwrap().as_deref(),
        Some("57014")
    );
    assert!(
        dml.is_running() && excluded.is_running(),
        "excluded ones untouched"
    );

    // EXPLAIN: tests/pg_explain.rs

    let lines = log_lines(&log);
    let sig: Vec<_> = lines.iter().filter(|l| l["event"] == "signal").collect();
    assert_eq!(sig.len(), 2 + 1 + 3, "{sig:?}");
    assert!(sig
        .iter()
        .any(|l| l["action"] == "terminate" && l["pid"] == t1.pid));
    // who: the OS account (from the password database, whatever USER says) and the role
    let id = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert!(
        sig.iter()
            .all(|l| l["by"] == me.as_str() && l["db_user"] == "postgres"),
        "{sig:?}"
    );
    h.shutdown().await;
}

async fn monitor_role(pg: &Pg) {
    let victim = pg
        .running("app", "victim", "SELECT pg_sleep(600) /* secret-ish */")
        .await;
    // pg_monitor member: sees queries of other roles
    let (c, task) = tls::connect(&pg.spec("mon"), "stacktop", 5 * SEC)
        .await
        .unwrap();
    let mut reader = ActivityReader::new(&c).await.unwrap();
    let (now, _, sessions) = reader.fetch(&c).await.unwrap();
    let v = sessions
        .iter()
        .find(|x| x.pid == victim.pid)
        .expect("victim listed");
    assert!(v.visible && v.query.contains("secret-ish"));
    assert_eq!(v.state, SessionState::Active);
    task.abort();
    // plain role: the row is there but hidden
    let (c, task) = tls::connect(&pg.spec("app"), "stacktop", 5 * SEC)
        .await
        .unwrap();
    pg.create_role("nobody2", Role::Plain).await;
    let (c2, task2) = tls::connect(&pg.spec("nobody2"), "stacktop", 5 * SEC)
        .await
        .unwrap();
    let mut r2 = ActivityReader::new(&c2).await.unwrap();
    let (_, _, sessions) = r2.fetch(&c2).await.unwrap();
    let v2 = sessions
        .iter()
        .find(|x| x.pid == victim.pid)
        .expect("victim listed for plain role");
    assert!(!v2.visible);
    assert_eq!(v2.query, "<insufficient privilege>");
    assert!(
        SignalTarget::from_session(v2, now).is_none(),
        "hidden rows cannot be targets"
    );
    task.abort();
    drop(c);
    task2.abort();

    // signalling without rights: a clear message, the backend lives on
    let mut o = opts(pg, "mon");
    o.interval = Duration::from_millis(300);
    let (h, mut rx) = collector::spawn(o);
    let s = snapshot_where(&mut rx, 10 * SEC, "victim seen by mon", |s| {
        s.sessions.iter().any(|x| x.pid == victim.pid)
    })
    .await;
    let r = h
        .signal(SignalKind::Cancel, vec![target(&s, victim.pid)])
        .await;
    match &r[0].outcome {
        SignalOutcome::PermissionDenied(m) => assert!(m.contains("pg_signal_backend"), "{m}"),
        o => panic!("expected PermissionDenied, got {o:?}"),
    }
    assert!(victim.is_running());
    h.shutdown().await;
}

/// The columns detected from the catalog match the major, and the refresh statements built
/// for older servers' columns (12: no leader_pid/query_id; 13: no query_id) still yield the
/// sessions on this one, with the missing columns empty.
async fn older_server_statements(pg: &Pg) {
    let sleeper = pg
        .running("app", "old-shape", "SELECT pg_sleep(600) /* old-shape */")
        .await;
    let c = pg.admin().await;
    let detected = stacktop::pg::activity::detect_columns(&c).await.unwrap();
    let major = pg.major();
    assert_eq!(
        detected,
        ActivityColumns {
            backend_type: true,
            leader_pid: major >= 13,
            query_id: major >= 14,
        },
        "PostgreSQL {major}"
    );
    for (version, columns) in [
        (
            "12",
            ActivityColumns {
                backend_type: true,
                leader_pid: false,
                query_id: false,
            },
        ),
        (
            "13",
            ActivityColumns {
                backend_type: true,
                leader_pid: true,
                query_id: false,
            },
        ),
    ] {
        if (columns.leader_pid && !detected.leader_pid) || (columns.query_id && !detected.query_id)
        {
            continue; // a newer shape than this server has
        }
        let mut reader = ActivityReader::with_columns(&c, columns)
            .await
            .unwrap_or_else(|e| panic!("statement for PostgreSQL {version}: {e}"));
        // The sleeper's statement starts asynchronously: poll until it is active.
        let deadline = Instant::now() + 10 * SEC;
        let (header, s) = loop {
            let (_, header, sessions) = reader.fetch(&c).await.unwrap();
            if let Some(s) = sessions
                .into_iter()
                .find(|x| x.pid == sleeper.pid && x.state == SessionState::Active)
            {
                break (header, s);
            }
            assert!(
                Instant::now() < deadline,
                "{version}: sleeper never listed as active"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(s.query.contains("old-shape"), "{version}");
        assert_eq!(s.query_id, None, "{version}: no query_id column");
        assert!(s.is_client_backend(), "{version}: {s:?}");
        assert!(header.max_connections > 0, "{version}");
    }
    drop(c);
}

/// What an older major cannot show is said on the status line, once per feature.
async fn feature_notices_once(pg: &Pg) {
    let (h, mut rx) = collector::spawn(opts(pg, "postgres"));
    let mut notices = Vec::new();
    let deadline = Instant::now() + 10 * SEC;
    let mut connected = 0;
    while connected < 4 {
        let left = deadline.saturating_duration_since(Instant::now());
        let s = tokio::time::timeout(left, rx.recv())
            .await
            .expect("4 refreshes within 10 s")
            .expect("collector running");
        notices.extend(s.notices);
        connected += usize::from(s.header.is_some());
    }
    h.shutdown().await;
    let count = |m: &str| notices.iter().filter(|n| n.contains(m)).count();
    let major = pg.major();
    assert_eq!(
        count("query ids need PostgreSQL 14"),
        usize::from(major < 14),
        "{notices:?}"
    );
    assert_eq!(
        count("parallel worker leaders need PostgreSQL 13"),
        usize::from(major < 13),
        "{notices:?}"
    );
    assert_eq!(count("not supported"), 0, "{notices:?}");
}

async fn webhook_failures_do_not_delay_refreshes(pg: &Pg) {
    // --test-webhook
    let ok = Webhook::start(Mode::Ok).await;
    let so = SlackOptions::new(Secret::new(ok.url("/t")), "orders-db");
    slack::send_test(&so).await.unwrap();
    let p = ok.wait_for_posts(1, 5 * SEC).await;
    assert!(p[0].json()["text"].as_str().unwrap().contains("orders-db"));
    let bad = Webhook::start(Mode::Error500).await;
    let mut so = SlackOptions::new(Secret::new(bad.url("/t")), "orders-db");
    so.retries = 1;
    so.backoff = Duration::from_millis(50);
    let e = slack::send_test(&so).await.unwrap_err();
    assert!(e.contains("500") && !e.contains("127.0.0.1"), "{e}");
    assert_eq!(bad.posts().len(), 2);

    let _sleepers = [
        pg.running("app", "w1", "SELECT pg_sleep(600)").await,
        pg.running("app", "w2", "SELECT pg_sleep(600)").await,
        pg.running("app", "w3", "SELECT pg_sleep(600)").await,
    ];
    for mode in [Mode::Hang, Mode::Error500] {
        let hook = Webhook::start(mode).await;
        let mut o = opts(pg, "postgres");
        o.thresholds = thresholds(100);
        let mut so = SlackOptions::new(Secret::new(hook.url("/h")), "test");
        so.timeout = Duration::from_millis(500);
        so.retries = 1;
        so.backoff = Duration::from_millis(100);
        so.queue = 2;
        o.slack = Some(so);
        let (h, mut rx) = collector::spawn(o);
        snapshot_where(&mut rx, 10 * SEC, "first", |_| true).await;
        hook.wait_for_posts(1, 10 * SEC).await;
        // 3 s of refreshes at 200 ms while the receiver misbehaves
        let t0 = Instant::now();
        let mut times = vec![];
        let mut notices = vec![];
        while t0.elapsed() < 3 * SEC {
            let s =
                snapshot_where(&mut rx, 2 * SEC, "refresh during webhook trouble", |_| true).await;
            assert!(matches!(s.status, ConnState::Connected { .. }));
            times.push(Instant::now());
            notices.extend(s.notices);
        }
        let max_gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(
            times.len() >= 11,
            "{mode:?}: only {} refreshes in 3 s",
            times.len()
        );
        assert!(
            max_gap < Duration::from_millis(600),
            "{mode:?}: gap {max_gap:?}"
        );
        if mode == Mode::Error500 {
            // retried, then reported as a notice; the URL never appears
            assert!(hook.posts().len() >= 2, "retries: {}", hook.posts().len());
            assert!(
                notices.iter().any(|n| n.contains("HTTP 500")),
                "{notices:?}"
            );
        } else {
            assert!(
                notices.iter().any(|n| n.contains("webhook")),
                "timeouts/drops reported: {notices:?}"
            );
        }
        assert!(
            notices.iter().all(|n| !n.contains("127.0.0.1")),
            "{notices:?}"
        );
        h.shutdown().await;
    }
}

async fn batch_mode(pg: &Pg) {
    let sl = pg
        .running("app", "batch-sleeper", "SELECT pg_sleep(600)")
        .await;
    pg.wait_until(
        &format!(
            "SELECT now() - query_start > interval '1.2 s' FROM pg_stat_activity WHERE pid = {}",
            sl.pid
        ),
        10 * SEC,
    )
    .await;
    let o = opts(pg, "postgres");
    let mut b = BatchOptions {
        json: true,
        include_idle: false,
        basis: DurationBasis::Query,
        thresholds: thresholds(1000),
        width: 150,
    };
    let (out, code) = batch::run_once(&o, &b).await.unwrap();
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let me = rows
        .iter()
        .find(|r| r["pid"] == sl.pid)
        .expect("sleeper in batch output");
    assert_eq!(me["slow"], true);
    assert_eq!(me["state"], "active");
    assert_eq!(code, batch::EXIT_SLOW);
    b.thresholds = thresholds(3_600_000);
    let (_, code) = batch::run_once(&o, &b).await.unwrap();
    assert_eq!(code, batch::EXIT_OK);
    b.json = false;
    let (text, _) = batch::run_once(&o, &b).await.unwrap();
    assert!(text.contains(&sl.pid.to_string()) && text.starts_with("PostgreSQL "));
}

/// PostgreSQL 10 and 11 are out of support: pgtop still connects and lists the sessions, and
/// says once that it is best effort (and what it cannot show).
async fn best_effort_old_major(major: u32) {
    let pg = Pg::start_major(major, PgOpts::default());
    pg.create_role("app", Role::Plain).await;
    let sleeper = pg
        .running("app", "old-major", "SELECT pg_sleep(600) /* old-major */")
        .await;
    let (h, mut rx) = collector::spawn(opts(&pg, "postgres"));
    let mut notices = Vec::new();
    let deadline = Instant::now() + 15 * SEC;
    let mut seen = 0;
    while seen < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        let s = tokio::time::timeout(left, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("PostgreSQL {major}: sleeper not listed: {notices:?}"))
            .expect("collector running");
        notices.extend(s.notices.iter().cloned());
        let listed = s.sessions.iter().any(|x| {
            x.pid == sleeper.pid
                && x.state == SessionState::Active
                && x.query.contains("old-major")
                && x.is_client_backend()
        });
        seen += usize::from(listed);
    }
    h.shutdown().await;
    let count = |m: &str| notices.iter().filter(|n| n.contains(m)).count();
    assert_eq!(
        count(&format!("PostgreSQL {major}.")),
        1,
        "said once: {notices:?}"
    );
    assert_eq!(count("is not supported"), 1, "{notices:?}");
    assert_eq!(count("query ids need PostgreSQL 14"), 1, "{notices:?}");
}

mod old_majors {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pg10_best_effort() {
        if crate::support::pg::major_selected(10) {
            super::best_effort_old_major(10).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pg11_best_effort() {
        if crate::support::pg::major_selected(11) {
            super::best_effort_old_major(11).await;
        }
    }
}

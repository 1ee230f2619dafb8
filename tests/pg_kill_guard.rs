//! The signalling statement's guards against a real PostgreSQL started by the test: each case
//! would be hit if exactly one condition (pid, backend_start, query_start, client backend, not
//! the own session) were missing from the statement, and must come back `Changed` with the
//! process untouched; then the right target is signalled. Every case is checked and all
//! failures are reported together.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use stacktop::pg::kill::{self, SignalKind, SignalOutcome, SignalTarget};
use stacktop::pg::tls;
use support::pg::{Pg, PgOpts, Role};
use tokio_postgres::Client;

const SEC: Duration = Duration::from_secs(1);

/// (backend_start, query_start) of `pid` as pg_stat_activity shows it to `c`.
async fn times(c: &Client, pid: i32) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    let r = c
        .query_one(
            "SELECT backend_start, query_start FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

fn target(pid: i32, bs: DateTime<Utc>, qs: Option<DateTime<Utc>>) -> SignalTarget {
    SignalTarget {
        pid,
        backend_start: bs,
        query_start: qs,
        usename: None,
        datname: None,
        application_name: String::new(),
        query: String::new(),
        duration: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_guard_of_the_signal_statement_holds() {
    let pg = Pg::start(PgOpts::default());
    pg.create_role("app", Role::Plain).await;
    let a = pg.running("app", "guard-a", "SELECT pg_sleep(600)").await;
    let b = pg.running("app", "guard-b", "SELECT pg_sleep(600)").await;
    let (c, _task) = tls::connect(&pg.spec("postgres"), "stacktop", 5 * SEC)
        .await
        .unwrap();
    pg.wait_until(
        &format!(
            "SELECT count(*) = 2 FROM pg_stat_activity WHERE pid IN ({}, {}) AND state = 'active'",
            a.pid, b.pid
        ),
        5 * SEC,
    )
    .await;
    let (a_bs, a_qs) = times(&c, a.pid).await;
    let (b_bs, b_qs) = times(&c, b.pid).await;
    let bg: (i32, DateTime<Utc>, Option<DateTime<Utc>>) = {
        let r = c
            .query_one(
                "SELECT pid, backend_start, query_start FROM pg_stat_activity \
                 WHERE backend_type <> 'client backend' AND backend_start IS NOT NULL \
                 ORDER BY backend_type = 'logical replication launcher' DESC, pid LIMIT 1",
                &[],
            )
            .await
            .expect("a background process");
        (r.get(0), r.get(1), r.get(2))
    };
    let mut failures = Vec::new();
    let mut check = |what: &str, got: &SignalOutcome| {
        if *got != SignalOutcome::Changed {
            failures.push(format!("{what}: expected Changed, got {got:?}"));
        }
    };

    // pid: b's times with a's pid (without `pid = $1` this hits b)
    let r = kill::signal(
        &c,
        SignalKind::Terminate,
        &[target(a.pid, b_bs, b_qs)],
        false,
    )
    .await;
    check("pid", &r[0].outcome);
    // backend_start: a recycled pid (same pid, another backend_start)
    let old = a_bs - chrono::Duration::seconds(1);
    let r = kill::signal(
        &c,
        SignalKind::Terminate,
        &[target(a.pid, old, a_qs)],
        false,
    )
    .await;
    check("backend_start", &r[0].outcome);
    // query_start: a new statement on the same session
    let qs = a_qs.map(|t| t - chrono::Duration::seconds(1));
    let r = kill::signal(&c, SignalKind::Cancel, &[target(a.pid, a_bs, qs)], false).await;
    check("query_start", &r[0].outcome);
    // client backend: a background process with its real times
    let r = kill::signal(
        &c,
        SignalKind::Terminate,
        &[target(bg.0, bg.1, bg.2)],
        false,
    )
    .await;
    check("backend_type", &r[0].outcome);
    // own session: inside a transaction pg_stat_activity is a snapshot taken at its first
    // read, so the own row's query_start matches there and only `pid <> pg_backend_pid()`
    // keeps the statement from terminating its own connection
    c.batch_execute("BEGIN").await.unwrap();
    let own: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let (own_bs, own_qs) = times(&c, own).await;
    let r = kill::signal(
        &c,
        SignalKind::Terminate,
        &[target(own, own_bs, own_qs)],
        false,
    )
    .await;
    check("own session", &r[0].outcome);
    // fails only if the own connection was terminated, reported below
    let own_alive = c.batch_execute("ROLLBACK").await.is_ok();

    // nothing was touched
    for (name, be) in [("a", &a), ("b", &b)] {
        if !be.is_running() || !pg.pid_alive(be.pid).await {
            failures.push(format!("{name} was hit"));
        }
    }
    if !pg.pid_alive(bg.0).await {
        failures.push("the background process was hit".into());
    }
    if !own_alive || c.is_closed() {
        failures.push("the own session was hit".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // the right target is signalled, and only it
    let mut a = a;
    let r = kill::signal(
        &c,
        SignalKind::Terminate,
        &[target(a.pid, a_bs, a_qs)],
        false,
    )
    .await;
    assert_eq!(r[0].outcome, SignalOutcome::Signalled);
    a.ended(5 * SEC).await.unwrap();
    pg.wait_until(
        &format!(
            "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = {}",
            a.pid
        ),
        5 * SEC,
    )
    .await;
    assert!(b.is_running() && pg.pid_alive(b.pid).await);
}

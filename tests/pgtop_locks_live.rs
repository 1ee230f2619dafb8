//! Lock trees against a real PostgreSQL of every major (12-18) started here: one blocker holding
//! five, two blockers for one waiter, a chain of three. The tree shape, lock modes and
//! schema-qualified relations come from live snapshots of the real reader; the lock-details
//! statement runs only while someone waits (counted by the reader); terminating the root
//! blocker of the chain hits exactly that backend (the rest of its chain and every other session
//! survive) and keeps the pid + backend_start + query_start guard.

mod support;

use std::time::Duration;

use stacktop::pg::activity::{ActivityReader, Session};
use stacktop::pg::kill::{self, SignalKind, SignalOutcome, SignalTarget};
use stacktop::pg::tls;
use stacktop::views::pgtop::locks::{tree, LockLine};
use support::pg::{Pg, PgOpts, Role};
use tokio_postgres::Client;

const SEC: Duration = Duration::from_secs(1);

async fn connect(pg: &Pg) -> (Client, tokio::task::JoinHandle<()>) {
    let spec = pg.spec("postgres");
    let (c, task) = tls::connect(&spec, "stacktop-locks", 5 * SEC)
        .await
        .unwrap();
    (c, task)
}

fn find(sessions: &[Session], pid: i32) -> &Session {
    sessions
        .iter()
        .find(|s| s.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} not in the snapshot"))
}

/// The subtree under the first line of `pid` (its line included) as (depth, pid).
fn subtree(t: &[LockLine], pid: i32) -> Vec<(usize, i32)> {
    let at = t
        .iter()
        .position(|l| l.pid == pid && !l.repeat)
        .unwrap_or_else(|| panic!("{pid} not in the tree: {t:?}"));
    let d = t[at].depth;
    let mut out = vec![(d, pid)];
    out.extend(
        t[at + 1..]
            .iter()
            .take_while(|l| l.depth > d)
            .map(|l| (l.depth, l.pid)),
    );
    out
}

/// Polls until exactly `n` backends wait on a lock; the activity is in the panic message.
async fn waiters(pg: &Pg, n: i64) {
    let admin = pg.admin().await;
    let deadline = std::time::Instant::now() + 10 * SEC;
    loop {
        let r = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap();
        if r.get::<_, i64>(0) == n {
            return;
        }
        if std::time::Instant::now() > deadline {
            let rows = admin
                .query(
                    "SELECT pid, application_name, state, wait_event_type, wait_event, query, \
                     pg_blocking_pids(pid)::text FROM pg_stat_activity WHERE backend_type = 'client backend'",
                    &[],
                )
                .await
                .unwrap();
            let act: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                        r.get::<_, i32>(0),
                        r.get::<_, Option<String>>(1),
                        r.get::<_, Option<String>>(2),
                        r.get::<_, Option<String>>(3),
                        r.get::<_, Option<String>>(4),
                        r.get::<_, Option<String>>(5),
                        r.get::<_, Option<String>>(6)
                    )
                })
                .collect();
            panic!("not {n} lock waiters within 10 s:\n{}", act.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pg_matrix!(lock_trees_each_major);

async fn lock_trees_each_major(major: u32) {
    let pg = Pg::start_major(major, PgOpts::default());
    pg.create_role("app", Role::Plain).await;
    pg.admin()
        .await
        .batch_execute(
            "CREATE TABLE \"LockMe\"(i int); CREATE TABLE two(i int); \
             CREATE TABLE c1(i int); CREATE TABLE c2(i int); \
             GRANT ALL ON \"LockMe\", two, c1, c2 TO PUBLIC",
        )
        .await
        .unwrap();
    let (c, _task) = connect(&pg).await;
    let mut reader = ActivityReader::new(&c).await.unwrap();

    // nobody waits: no lock-details statement, however many refreshes
    let _busy = pg.running("app", "busy", "SELECT pg_sleep(600)").await;
    for _ in 0..3 {
        reader.fetch(&c).await.unwrap();
    }
    assert_eq!(reader.lock_queries(), 0, "no waiter, no lock query");

    // one blocker holding five
    let holder = pg.idle_in_transaction("app", "holder").await;
    holder
        .client
        .batch_execute("LOCK TABLE \"LockMe\" IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut five = Vec::new();
    for i in 0..5 {
        five.push(
            pg.running(
                "app",
                &format!("five-{i}"),
                "SELECT count(*) FROM \"LockMe\"",
            )
            .await,
        );
    }
    // two blockers for one waiter
    let h1 = pg.idle_in_transaction("app", "h1").await;
    let h2 = pg.idle_in_transaction("app", "h2").await;
    for h in [&h1, &h2] {
        h.client
            .batch_execute("SELECT count(*) FROM two")
            .await
            .unwrap();
    }
    let both = pg
        .running(
            "app",
            "both",
            "BEGIN; LOCK TABLE two IN ACCESS EXCLUSIVE MODE",
        )
        .await;
    // a chain of three: x holds c1; y holds c2 and waits for c1; z waits for c2
    let x = pg.idle_in_transaction("app", "x").await;
    x.client
        .batch_execute("LOCK TABLE c1 IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let y = pg
        .running(
            "app",
            "y",
            "BEGIN; LOCK TABLE c2 IN ACCESS EXCLUSIVE MODE; SELECT count(*) FROM c1",
        )
        .await;
    pg.wait_until(
        &format!(
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = {} AND wait_event_type = 'Lock'",
            y.pid
        ),
        10 * SEC,
    )
    .await;
    let z = pg.running("app", "z", "SELECT count(*) FROM c2").await;
    waiters(&pg, 8).await;

    let before = reader.lock_queries();
    let (now, _, sessions) = reader.fetch(&c).await.unwrap();
    assert_eq!(
        reader.lock_queries(),
        before + 1,
        "one lock query per refresh"
    );
    reader.fetch(&c).await.unwrap();
    assert_eq!(reader.lock_queries(), before + 2);

    let t = tree(&sessions, now);
    // roots, biggest first: the holder of five, the chain's head, then the two holders
    let roots: Vec<i32> = t.iter().filter(|l| l.depth == 0).map(|l| l.pid).collect();
    assert_eq!(roots.len(), 4, "{t:?}");
    assert_eq!(&roots[..2], &[holder.pid, x.pid], "{t:?}");
    assert!(roots[2..].contains(&h1.pid) && roots[2..].contains(&h2.pid));
    // the holder of five: exactly its five waiters, one level down
    let mut sub = subtree(&t, holder.pid);
    assert_eq!(sub.remove(0), (0, holder.pid));
    let mut got: Vec<i32> = sub
        .iter()
        .map(|(d, p)| (*d == 1).then_some(*p).unwrap())
        .collect();
    got.sort_unstable();
    let mut want: Vec<i32> = five.iter().map(|b| b.pid).collect();
    want.sort_unstable();
    assert_eq!(got, want, "{t:?}");
    assert_eq!(t[0].holds_up, 5);
    // the chain nests
    assert_eq!(
        subtree(&t, x.pid),
        vec![(0, x.pid), (1, y.pid), (2, z.pid)],
        "{t:?}"
    );
    // the waiter of two is under both holders, its second line marked as a repeat
    let lines: Vec<&LockLine> = t.iter().filter(|l| l.pid == both.pid).collect();
    assert_eq!(lines.len(), 2, "{t:?}");
    assert_eq!(lines.iter().filter(|l| l.repeat).count(), 1);
    let mut by = find(&sessions, both.pid).blocking_pids.clone();
    by.sort_unstable();
    let mut hs = vec![h1.pid, h2.pid];
    hs.sort_unstable();
    assert_eq!(by, hs, "both blockers");

    // lock details: mode, type, schema-qualified and quoted relation
    let l = find(&sessions, five[0].pid)
        .lock
        .clone()
        .expect("lock details");
    assert_eq!(
        (l.mode.as_str(), l.locktype.as_str(), l.relation.as_deref()),
        ("AccessShareLock", "relation", Some("public.\"LockMe\""))
    );
    assert_eq!(major >= 14, l.since.is_some(), "waitstart from 14 on");
    let l = find(&sessions, both.pid).lock.clone().unwrap();
    assert_eq!(l.mode, "AccessExclusiveLock");
    assert_eq!(l.relation.as_deref(), Some("public.two"));
    assert!(
        find(&sessions, holder.pid).lock.is_none(),
        "the holder waits for nothing"
    );

    // the root blocker of z's chain is x
    let zl = t.iter().find(|l| l.pid == z.pid).unwrap();
    assert_eq!(zl.root, x.pid);
    let target = SignalTarget::from_session(find(&sessions, zl.root), now).unwrap();
    // the guard: a stale query_start leaves it alone
    let mut stale = target.clone();
    stale.query_start = stale.query_start.map(|q| q - chrono::Duration::seconds(1));
    let r = kill::signal(&c, SignalKind::Terminate, &[stale], false).await;
    assert_eq!(r[0].outcome, SignalOutcome::Changed);
    assert!(pg.pid_alive(x.pid).await);
    let r = kill::signal(&c, SignalKind::Terminate, &[target], false).await;
    assert_eq!(r[0].outcome, SignalOutcome::Signalled);
    pg.wait_until(
        &format!(
            "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = {}",
            x.pid
        ),
        10 * SEC,
    )
    .await;
    // y got c1 and now holds z up alone; nobody else was touched
    pg.wait_until(
        &format!(
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = {} AND wait_event_type IS DISTINCT FROM 'Lock'",
            y.pid
        ),
        10 * SEC,
    )
    .await;
    for p in [y.pid, z.pid, holder.pid, h1.pid, h2.pid, both.pid]
        .into_iter()
        .chain(five.iter().map(|b| b.pid))
    {
        assert!(pg.pid_alive(p).await, "pid {p} survives");
    }
    let (now, _, sessions) = reader.fetch(&c).await.unwrap();
    let t = tree(&sessions, now);
    assert_eq!(subtree(&t, y.pid), vec![(0, y.pid), (1, z.pid)], "{t:?}");

    // everyone released: the lock query stops with the waits
    let mut all: Vec<i32> = vec![holder.pid, h1.pid, h2.pid, y.pid, z.pid, both.pid];
    all.extend(five.iter().map(|b| b.pid));
    pg.terminate(&all).await;
    pg.wait_until(
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
        10 * SEC,
    )
    .await;
    let n = reader.lock_queries();
    for _ in 0..3 {
        reader.fetch(&c).await.unwrap();
    }
    assert_eq!(reader.lock_queries(), n, "no waiter, no lock query");
}

pg_matrix!(parallel_group_leader_blocks);

/// A parallel query (forced: no parallel costs, a slow PARALLEL SAFE function per row) holds
/// its table's lock in the leader and every worker; a session wanting ACCESS EXCLUSIVE waits.
/// `pg_blocking_pids` names the leader (once per process of the group: duplicates); the tree
/// shows the leader as the one root blocker, its workers nowhere (with `leader_pid` on 13+
/// they are tied to it; on 12 they are plain sessions that block nobody), and the root-blocker
/// action terminates the leader, which ends the group and lets the waiter through.
async fn parallel_group_leader_blocks(major: u32) {
    let pg = Pg::start_major(major, PgOpts::default());
    pg.create_role("app", Role::Plain).await;
    pg.admin()
        .await
        .batch_execute(
            "CREATE TABLE par_big AS SELECT i FROM generate_series(1, 20000) i; \
             ANALYZE par_big; GRANT ALL ON par_big TO PUBLIC; \
             CREATE FUNCTION par_slow(int) RETURNS int LANGUAGE plpgsql PARALLEL SAFE \
             COST 100000 AS $$BEGIN PERFORM pg_sleep(0.05); RETURN $1; END$$",
        )
        .await
        .unwrap();
    let leader = pg
        .running(
            "app",
            "par-leader",
            "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; \
             SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; \
             SELECT sum(par_slow(i)) FROM par_big",
        )
        .await;
    let workers_of_leader = if major >= 13 {
        format!("leader_pid = {}", leader.pid)
    } else {
        "true".to_string()
    };
    pg.wait_until(
        &format!(
            "SELECT count(*) >= 1 FROM pg_stat_activity \
             WHERE backend_type = 'parallel worker' AND {workers_of_leader}"
        ),
        10 * SEC,
    )
    .await;
    let wants = pg
        .running(
            "app",
            "par-wants",
            "BEGIN; LOCK TABLE par_big IN ACCESS EXCLUSIVE MODE",
        )
        .await;
    waiters(&pg, 1).await;
    let admin = pg.admin().await;
    let raw: Vec<i32> = admin
        .query_one("SELECT pg_blocking_pids($1)", &[&wants.pid])
        .await
        .unwrap()
        .get(0);
    assert!(
        !raw.is_empty() && raw.iter().all(|p| *p == leader.pid),
        "pg_blocking_pids names the leader (duplicated per process): {raw:?}"
    );

    let (c, _task) = connect(&pg).await;
    let mut reader = ActivityReader::new(&c).await.unwrap();
    let (now, _, sessions) = reader.fetch(&c).await.unwrap();
    let workers: Vec<i32> = sessions
        .iter()
        .filter(|s| s.backend_type.as_deref() == Some("parallel worker"))
        .map(|s| s.pid)
        .collect();
    assert!(!workers.is_empty(), "the query runs in parallel");
    for w in &workers {
        let ws = find(&sessions, *w);
        assert_eq!(
            ws.leader_pid,
            (major >= 13).then_some(leader.pid),
            "leader_pid from 13 on"
        );
    }
    assert_eq!(
        find(&sessions, wants.pid).blocking_pids,
        vec![leader.pid],
        "the leader once"
    );
    let t = tree(&sessions, now);
    assert_eq!(
        t.iter()
            .map(|l| (l.depth, l.pid, l.root))
            .collect::<Vec<_>>(),
        vec![(0, leader.pid, leader.pid), (1, wants.pid, leader.pid)],
        "one root, the leader; workers not in the tree: {t:?} (workers {workers:?})"
    );
    assert_eq!(t[0].holds_up, 1);

    // the root-blocker action: the leader, guarded
    let target = SignalTarget::from_session(find(&sessions, t[1].root), now).unwrap();
    assert_eq!(target.pid, leader.pid);
    let r = kill::signal(&c, SignalKind::Terminate, &[target], false).await;
    assert_eq!(r[0].outcome, SignalOutcome::Signalled);
    // the group ends and the waiter gets its lock
    pg.wait_until(
        &format!(
            "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = {} OR backend_type = 'parallel worker'",
            leader.pid
        ),
        10 * SEC,
    )
    .await;
    waiters(&pg, 0).await;
    assert!(pg.pid_alive(wants.pid).await, "the waiter survives");
    pg.terminate(&[wants.pid]).await;
}

//! EXPLAIN (`e`) against a real PostgreSQL started by the test: another role's query is planned
//! with that role's rights only (an IMMUTABLE function folded by the planner cannot terminate a
//! superuser's session, not even after `set_config('role', 'none')` or from inside a view, and
//! cannot advance a sequence), texts that could add
//! EXPLAIN options or a second statement are refused, refusals say why (not a member, superuser
//! target, role gone, parameters before 16), INSERT/DELETE plans work in the read-only
//! transaction, and a lock-waiting EXPLAIN gives up by itself while refreshes go on.

mod support;

use std::time::{Duration, Instant};

use stacktop::pg::activity::PgSnapshot;
use stacktop::pg::collector::{self, CollectorHandle, CollectorOptions};
use stacktop::pg::explain::Explainer;
use stacktop::pg::session::{Session, SessionState};
use support::pg::{Pg, PgOpts, Role};
use tokio::sync::mpsc::Receiver;

const SEC: Duration = Duration::from_secs(1);

/// The backend runs the statement the test gave it: `Pg::running` asks for the backend's pid
/// first, and a refresh taken between the two (still queued when the test reads) shows
/// `SELECT pg_backend_pid()` as its query.
fn running_its_statement(x: &Session) -> bool {
    x.state == SessionState::Active && !x.query.contains("pg_backend_pid")
}

/// Next connected snapshot that lists `pid` running the statement it was given.
async fn with_session(rx: &mut Receiver<PgSnapshot>, pid: i32) -> PgSnapshot {
    let deadline = Instant::now() + 15 * SEC;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(s))
                if s.sessions
                    .iter()
                    .any(|x| x.pid == pid && running_its_statement(x)) =>
            {
                return s
            }
            Ok(Some(_)) => continue,
            Ok(None) => panic!("collector ended"),
            Err(_) => panic!("pid {pid} not listed within 15 s"),
        }
    }
}

/// `e` on the row of `pid`, as the view asks for it (query, database and role from the row).
async fn explain_row(
    h: &CollectorHandle,
    rx: &mut Receiver<PgSnapshot>,
    pid: i32,
) -> Result<Vec<String>, String> {
    let s = with_session(rx, pid).await;
    let row = s.sessions.iter().find(|x| x.pid == pid).unwrap();
    h.explain(row.query.clone(), row.datname.clone(), row.usename.clone())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn explain_scenarios() {
    let pg = Pg::start(PgOpts::default());
    pg.create_role("evil", Role::Plain).await;
    pg.create_role("app", Role::Plain).await;
    let admin = pg.admin().await;
    admin
        .batch_execute(
            "CREATE SCHEMA evil AUTHORIZATION evil; \
             CREATE TABLE pub(i int); GRANT ALL ON pub TO PUBLIC",
        )
        .await
        .unwrap();
    // IMMUTABLE, SECURITY INVOKER: folded by the planner with constant arguments, it runs
    // with the rights of whoever plans it. `evil` itself cannot terminate a superuser's
    // session (the errors are swallowed so its own query runs); a superuser can.
    let evil = pg.client("evil").await;
    evil.batch_execute(
        "CREATE FUNCTION evil.fold(victim int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ \
         BEGIN \
           BEGIN PERFORM pg_catalog.pg_terminate_backend(victim, 3000); \
           EXCEPTION WHEN others THEN NULL; END; \
           RETURN 1; \
         END $$; \
         CREATE FUNCTION evil.reset_then_fold(victim int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ \
         BEGIN \
           BEGIN PERFORM pg_catalog.set_config('role', 'none', true); \
           EXCEPTION WHEN others THEN NULL; END; \
           BEGIN PERFORM pg_catalog.pg_terminate_backend(victim, 3000); \
           EXCEPTION WHEN others THEN NULL; END; \
           RETURN 1; \
         END $$; \
         CREATE SEQUENCE evil.s; \
         CREATE FUNCTION evil.bump() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ \
         BEGIN \
           BEGIN PERFORM pg_catalog.nextval('evil.s'); \
           EXCEPTION WHEN others THEN NULL; END; \
           RETURN 1; \
         END $$;",
    )
    .await
    .unwrap();

    let mut o = CollectorOptions::new(pg.spec("postgres"));
    o.interval = Duration::from_millis(200);
    let (h, mut rx) = collector::spawn(o);

    privilege_escalation_is_confined(&pg, &h, &mut rx).await;
    refusals(&pg, &h).await;
    writes_are_planned_read_only(&pg, &h, &mut rx).await;
    lock_wait_does_not_stall_refreshes(&pg, &h, &mut rx).await;
    h.shutdown().await;
}

async fn privilege_escalation_is_confined(
    pg: &Pg,
    h: &CollectorHandle,
    rx: &mut Receiver<PgSnapshot>,
) {
    // the call in the query text, after trying to switch the role back, or hidden in a view
    for func in ["fold", "reset_then_fold", "view"] {
        let victim = pg
            .running("postgres", "victim", "SELECT pg_sleep(600)")
            .await;
        let sql = if func == "view" {
            let v = format!("evil.v{}", victim.pid);
            pg.client("evil")
                .await
                .batch_execute(&format!(
                    "CREATE VIEW {v} AS SELECT evil.fold({}) AS x",
                    victim.pid
                ))
                .await
                .unwrap();
            format!("SELECT x, pg_sleep(600) FROM {v}")
        } else {
            format!("SELECT evil.{func}({}), pg_sleep(600)", victim.pid)
        };
        let attacker = pg.running("evil", "attacker", &sql).await;
        let plan = explain_row(h, rx, attacker.pid).await;
        let plan = plan.unwrap_or_else(|e| panic!("{func}: EXPLAIN as evil failed: {e}"));
        assert!(
            plan.iter().any(|l| l.contains("Result")),
            "{func}: {plan:?}"
        );
        // pg_terminate_backend(victim, 3000) waits for the end: had it run with the
        // operator's rights, the victim would be gone by now
        assert!(
            victim.is_running() && pg.pid_alive(victim.pid).await,
            "{func}: the planner ran evil's function with the operator's rights"
        );
        assert!(attacker.is_running(), "{func}");
    }
    // the transaction is read-only: even what the role may do that a rollback cannot undo
    // (advancing a sequence) does not happen
    let last = || async {
        let r = pg.admin().await;
        let r = r
            .query_one("SELECT last_value FROM evil.s", &[])
            .await
            .unwrap();
        r.get::<_, i64>(0)
    };
    let bumper = pg
        .running("evil", "bumper", "SELECT evil.bump(), pg_sleep(600)")
        .await;
    let s = with_session(rx, bumper.pid).await;
    let before = last().await;
    let row = s.sessions.iter().find(|x| x.pid == bumper.pid).unwrap();
    h.explain(row.query.clone(), row.datname.clone(), row.usename.clone())
        .await
        .unwrap();
    assert_eq!(last().await, before, "the planner advanced a sequence");
}

async fn refusals(pg: &Pg, h: &CollectorHandle) {
    let pg_db = || Some("postgres".to_string());
    let who = || Some("postgres".to_string());
    for (q, why) in [
        ("(ANALYZE) DELETE FROM pub", "starts with '('"),
        ("/**/ANALYZE DELETE FROM pub", "starts with \"ANALYZE\""),
        ("ANALYZE pub", "starts with \"ANALYZE\""),
        ("SELECT 1; DROP TABLE pub", "more than one statement"),
        (
            "DELETE FROM pub; -- x\n; DROP TABLE pub",
            "more than one statement",
        ),
        ("SELECT * FROM pub WHERE i = $1", "needs PostgreSQL 16"),
    ] {
        let e = h.explain(q.into(), pg_db(), who()).await.unwrap_err();
        assert!(e.contains(why), "{q}: {e}");
    }
    let e = h
        .explain("SELECT 1".into(), pg_db(), Some("ghost".into()))
        .await
        .unwrap_err();
    assert!(e.contains("no longer exists"), "{e}");
    let e = h.explain("SELECT 1".into(), None, who()).await.unwrap_err();
    assert!(e.contains("no database"), "{e}");
    // stacktop connected as a plain role: neither another plain role's nor a superuser's query
    let as_app = Explainer::new(pg.spec("app"), "stacktop");
    let e = as_app
        .explain("SELECT 1", pg_db().as_deref(), Some("evil"))
        .await
        .unwrap_err();
    assert!(e.contains("not a member of \"evil\""), "{e}");
    let e = as_app
        .explain("SELECT 1", pg_db().as_deref(), Some("postgres"))
        .await
        .unwrap_err();
    assert!(e.contains("is a superuser"), "{e}");
    // its own queries are fine
    let plan = as_app
        .explain("SELECT * FROM pub", pg_db().as_deref(), Some("app"))
        .await
        .unwrap();
    assert!(
        plan.iter().any(|l| l.contains("Seq Scan on pub")),
        "{plan:?}"
    );
    pg.wait_until(
        "SELECT count(*) = 1 FROM pg_class WHERE relname = 'pub'",
        2 * SEC,
    )
    .await;
}

async fn writes_are_planned_read_only(pg: &Pg, h: &CollectorHandle, rx: &mut Receiver<PgSnapshot>) {
    let db = Some("postgres".to_string());
    // own role (no sandbox) and another role (sandbox): plain EXPLAIN of writes is allowed in a
    // read-only transaction (nothing is executed)
    for (q, node) in [
        ("INSERT INTO pub VALUES (1)", "Insert on pub"),
        ("UPDATE pub SET i = 2", "Update on pub"),
        ("DELETE FROM pub WHERE i = 1;", "Delete on pub"),
    ] {
        for role in ["postgres", "app"] {
            let plan = h
                .explain(q.into(), db.clone(), Some(role.into()))
                .await
                .unwrap_or_else(|e| panic!("{q} as {role}: {e}"));
            assert!(plan.iter().any(|l| l.contains(node)), "{q}: {plan:?}");
        }
    }
    let app = pg
        .running(
            "app",
            "writer",
            "INSERT INTO pub SELECT 1 FROM pg_sleep(600)",
        )
        .await;
    let plan = explain_row(h, rx, app.pid).await.unwrap();
    assert!(plan.iter().any(|l| l.contains("Insert on pub")), "{plan:?}");
    let n: i64 = pg
        .admin()
        .await
        .query_one("SELECT count(*) FROM pub", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing was written");
}

async fn lock_wait_does_not_stall_refreshes(
    pg: &Pg,
    h: &CollectorHandle,
    rx: &mut Receiver<PgSnapshot>,
) {
    let (_holder, waiter) = pg.lock_pair("app", "lockme").await;
    let s = with_session(rx, waiter.pid).await;
    let row = s
        .sessions
        .iter()
        .find(|x| x.pid == waiter.pid)
        .unwrap()
        .clone();
    let t0 = Instant::now();
    let ex = h.explain(row.query.clone(), row.datname.clone(), row.usename.clone());
    tokio::pin!(ex);
    let mut arrivals = vec![t0];
    let result = loop {
        tokio::select! {
            r = &mut ex => break r,
            s = rx.recv() => { s.expect("collector alive"); arrivals.push(Instant::now()); }
        }
    };
    let took = t0.elapsed();
    let e = result.expect_err("the table is locked");
    assert!(e.contains("lock_timeout"), "{e}");
    assert!(took < 8 * SEC, "EXPLAIN took {took:?}");
    // refresh every 200 ms: snapshots kept coming while EXPLAIN waited ~2 s for its lock
    let gap = arrivals
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(took);
    assert!(
        arrivals.len() >= 4 && gap < Duration::from_millis(1500),
        "{} snapshots in {took:?}, largest gap {gap:?}",
        arrivals.len() - 1
    );
    // the EXPLAIN connection is gone, the collector never waited for the lock
    pg.wait_until(
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'stacktop explain'",
        5 * SEC,
    )
    .await;
    pg.wait_until(
        "SELECT count(*) = 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
         WHERE NOT l.granted AND a.application_name LIKE 'stacktop%'",
        2 * SEC,
    )
    .await;
    assert!(waiter.is_running());
}

pg_matrix!(explain_each_major);

/// On every major: another role's query is planned in the definer sandbox, and `$n`
/// parameters get `EXPLAIN (GENERIC_PLAN)` from 16 on and a clear refusal before.
async fn explain_each_major(major: u32) {
    let pg = Pg::start_major(major, PgOpts::default());
    pg.create_role("app", Role::Plain).await;
    pg.admin()
        .await
        .batch_execute("CREATE TABLE pub(i int); GRANT ALL ON pub TO PUBLIC")
        .await
        .unwrap();
    let ex = Explainer::new(pg.spec("postgres"), "stacktop");
    let plan = ex
        .explain(
            "SELECT * FROM pub WHERE i > 1",
            Some("postgres"),
            Some("app"),
        )
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {major}: {e}"));
    assert!(
        plan.iter().any(|l| l.contains("Seq Scan on pub")),
        "PostgreSQL {major}: {plan:?}"
    );
    let r = ex
        .explain(
            "SELECT * FROM pub WHERE i = $1",
            Some("postgres"),
            Some("app"),
        )
        .await;
    if major >= 16 {
        let plan = r.unwrap_or_else(|e| panic!("PostgreSQL {major}: {e}"));
        assert!(
            plan.iter().any(|l| l.contains("Seq Scan on pub")),
            "PostgreSQL {major}: {plan:?}"
        );
    } else {
        let e = r.unwrap_err();
        assert!(e.contains("needs PostgreSQL 16"), "PostgreSQL {major}: {e}");
    }
}

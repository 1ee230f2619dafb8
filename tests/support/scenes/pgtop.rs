//! pgtop: sessions (critical slow, slow, idle in transaction, blocked, long transaction), an
//! empty server, the connection lost with its retry countdown, the detail pane, the lock tree,
//! the waits pane, the grouped view, the terminate confirmation and the help overlay.

use std::time::Duration;

use crossterm::event::KeyCode;
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{Header, PgSnapshot, Session, SessionState};
use stacktop::pg::collector::ConnState;
use stacktop::pg::locks::LockWait;
use stacktop::wire::SourceHealth;

use super::{press, Scene};
use crate::pg_fixture::{self, active, now};

pub fn scenes() -> Vec<Scene> {
    vec![
        Scene {
            name: "pgtop-sessions",
            state: "pgtop, 7 sessions: critical slow, slow, idle in transaction, blocked by it, long transaction",
            build: |w, h| app(w, h, sessions()),
        },
        Scene {
            name: "pgtop-empty",
            state: "pgtop connected, no other session",
            build: |w, h| app(w, h, Vec::new()),
        },
        Scene {
            name: "pgtop-disconnected",
            state: "pgtop, connection refused 20 s ago, 4th retry in 4 s",
            build: disconnected,
        },
        Scene {
            name: "pgtop-detail",
            state: "pgtop, Enter on the critical slow session: its detail pane",
            build: |w, h| keys(app(w, h, sessions()), &[KeyCode::Enter]),
        },
        Scene {
            name: "pgtop-locks",
            state: "pgtop, L: the lock tree (4101 idle in tx blocks 1203344, which blocks 1203350)",
            build: |w, h| keys(app(w, h, sessions()), &[KeyCode::Char('L')]),
        },
        Scene {
            name: "pgtop-waits",
            state: "pgtop, w: the waits pane after 3 refreshes",
            build: waits,
        },
        Scene {
            name: "pgtop-grouped",
            state: "pgtop, F: grouped by query fingerprint",
            build: |w, h| keys(app(w, h, sessions()), &[KeyCode::Char('F')]),
        },
        Scene {
            name: "pgtop-terminate",
            state: "pgtop, k on the critical slow session: the terminate confirmation",
            build: |w, h| keys(app(w, h, sessions()), &[KeyCode::Char('k')]),
        },
        Scene {
            name: "pgtop-help",
            state: "pgtop, ?: the help overlay",
            build: |w, h| keys(app(w, h, sessions()), &[KeyCode::Char('?')]),
        },
    ]
}

fn keys(mut a: App, codes: &[KeyCode]) -> App {
    for &c in codes {
        press(&mut a, c);
    }
    a
}

fn waiter(pid: i32, by: i32, q: &str, secs: i64) -> Session {
    let mut s = active(pid, "app", q, secs);
    s.wait_event_type = Some("Lock".into());
    s.wait_event = Some("transactionid".into());
    s.blocking_pids = vec![by];
    s.lock = Some(LockWait {
        mode: "ShareLock".into(),
        locktype: "transactionid".into(),
        relation: None,
        object: Some("7731".into()),
        since: None,
    });
    s
}

/// The sessions of a busy primary (pids of several widths; one idle and one background
/// process, hidden until `i`).
fn sessions() -> Vec<Session> {
    let mut crit = active(
        32299,
        "report",
        "select o.id, sum(l.amount) from orders o join lines l using (id) group by o.id",
        95,
    );
    crit.application_name = "checkout-service".into();
    crit.client_addr = Some("10.1.2.3".into());
    crit.client_port = Some(51234);
    let mut idle_tx = active(4101, "batch", "update stock set n = n - 1 where id = 7", 45);
    idle_tx.state = SessionState::IdleInTransaction;
    let mut long_tx = active(5120, "etl", "insert into audit select * from staging", 2);
    long_tx.xact_start = Some(now() - chrono::Duration::minutes(20));
    let mut idle = active(905, "app", "select 1", 300);
    idle.state = SessionState::Idle;
    idle.xact_start = None;
    let mut bg = active(77, "postgres", "autovacuum: VACUUM public.lines", 500);
    bg.backend_type = Some("autovacuum worker".into());
    vec![
        crit,
        idle_tx,
        waiter(1_203_344, 4101, "update stock set n = 0 where id = 7", 3),
        waiter(1_203_350, 1_203_344, "delete from stock where id = 7", 1),
        active(7007, "app", "select pg_sleep(8)", 8),
        long_tx,
        active(812, "app", "select 1", 0),
        idle,
        bg,
    ]
}

fn header(sessions: &[Session]) -> Header {
    Header {
        server_version: "15.20 (Debian 15.20-0+deb12u1)".into(),
        server_version_num: 150020,
        postmaster_start: now() - chrono::Duration::hours(26),
        uptime: Duration::from_secs(26 * 3600 + 120),
        tps: Some(1234.5),
        cache_hit_ratio: Some(0.9912),
        ..pg_fixture::header(sessions)
    }
}

fn snapshot(seq: u64, sessions: Vec<Session>) -> PgSnapshot {
    let mut s = pg_fixture::snapshot(seq, sessions);
    s.header = Some(header(&s.sessions));
    s.taken_at = now().into();
    s
}

fn app(w: u16, h: u16, sessions: Vec<Session>) -> App {
    let mut a = pg_fixture::app_with(Config::default(), snapshot(1, sessions));
    a.resize(w, h);
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Health(SourceHealth::Live {
            at: now().with_timezone(&chrono::Local),
        }),
    });
    a
}

const REFUSED: &str = "connection to host=db1.prod.example.com port=5432 user=app dbname=orders sslmode=prefer failed: error connecting to server: Connection refused (os error 111)";

fn disconnected(w: u16, h: u16) -> App {
    let mut a = app(w, h, sessions());
    let since = now() - chrono::Duration::seconds(20);
    a.now = (now() + chrono::Duration::seconds(21)).with_timezone(&chrono::Local);
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Health(SourceHealth::Reconnecting {
            since: since.with_timezone(&chrono::Local),
            error: REFUSED.into(),
            next_try: Some((now() + chrono::Duration::seconds(25)).with_timezone(&chrono::Local)),
        }),
    });
    let mut down = PgSnapshot::status_only(
        2,
        ConnState::Disconnected {
            since,
            error: REFUSED.into(),
            attempts: 4,
            next_attempt_in: Duration::from_secs(8),
        },
        Duration::from_secs(1),
    );
    down.taken_at = (now() + chrono::Duration::seconds(21)).into();
    pg_fixture::feed(&mut a, down);
    a
}

/// Three refreshes a second apart, the lock waits and an I/O wait sampled in each.
fn waits(w: u16, h: u16) -> App {
    let snap = |seq: u64| {
        let mut v = sessions();
        let mut io = active(6001, "app", "select * from big_table", 4);
        io.wait_event_type = Some("IO".into());
        io.wait_event = Some("DataFileRead".into());
        v.push(io);
        let mut s = snapshot(seq, v);
        s.server_now = now() - chrono::Duration::seconds(3 - seq as i64);
        s
    };
    let mut a = pg_fixture::app_with(Config::default(), snap(1));
    a.resize(w, h);
    pg_fixture::feed(&mut a, snap(2));
    pg_fixture::feed(&mut a, snap(3));
    press(&mut a, KeyCode::Char('w'));
    a
}

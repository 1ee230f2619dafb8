//! pgtop without a server: a fixed clock, sessions, and a snapshot whose header is the
//! library's `summarize()` of its sessions plus the server figures a collector would add
//! (PostgreSQL 15.6, up 1 h, 100 connections). Tests change what they need with struct update.
//! Included with `#[path = "support/pg_fixture.rs"] mod pg_fixture;` (no servers needed).
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{summarize, Header, PgSnapshot, Session, SessionState};
use stacktop::pg::collector::ConnState;
use stacktop::theme::Theme;

/// The fixed server clock: 2026-11-23 11:03:04 UTC.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 11, 3, 4)
        .single()
        .expect("a valid fixed time")
}

/// An active session of `user` in database `orders`, connected an hour ago, whose query and
/// transaction started `secs` seconds before [`now`].
pub fn active(pid: i32, user: &str, q: &str, secs: i64) -> Session {
    let mut s = Session::for_test(pid, SessionState::Active, q);
    s.usename = Some(user.into());
    s.datname = Some("orders".into());
    s.backend_start = Some(now() - chrono::Duration::hours(1));
    s.query_start = Some(now() - chrono::Duration::seconds(secs));
    s.xact_start = s.query_start;
    s.state_change = s.query_start;
    s
}

/// `summarize()` of `sessions` at [`now`] with the server's figures.
pub fn header(sessions: &[Session]) -> Header {
    Header {
        server_version: "15.6".into(),
        server_version_num: 150006,
        postmaster_start: now() - chrono::Duration::hours(1),
        uptime: Duration::from_secs(3600),
        max_connections: 100,
        ..summarize(now(), sessions)
    }
}

/// Snapshot number `seq` of a connected server listing `sessions`, refreshed every second.
pub fn snapshot(seq: u64, sessions: Vec<Session>) -> PgSnapshot {
    let mut s = PgSnapshot::status_only(
        seq,
        ConnState::Connected { since: now() },
        Duration::from_secs(1),
    );
    s.server_now = now();
    s.header = Some(header(&sessions));
    s.sessions = sessions;
    s
}

/// Snapshot `seq` taken at `at` of a server connected since `since` (refreshed every second),
/// its header the bare `summarize()` of `sessions`: the refreshes a recording test generates.
pub fn snapshot_at(
    seq: u64,
    since: DateTime<Utc>,
    at: DateTime<Utc>,
    sessions: Vec<Session>,
) -> PgSnapshot {
    let mut s =
        PgSnapshot::status_only(seq, ConnState::Connected { since }, Duration::from_secs(1));
    s.server_now = at;
    s.taken_at = at.into();
    s.header = Some(summarize(at, &sessions));
    s.sessions = sessions;
    s
}

/// Applies `snap` to the pgtop view.
pub fn feed(a: &mut App, snap: PgSnapshot) {
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snap.into()),
    });
}

/// The App on the pgtop tab with `cfg`, its clock at [`now`], showing `snap`.
pub fn app_with(cfg: Config, snap: PgSnapshot) -> App {
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);
    a.now = now().with_timezone(&chrono::Local);
    feed(&mut a, snap);
    a
}

//! Whole-screen renders of every tab (pgtop, replication, vlogdump, spotify) at 80x24 and
//! 200x50 in their main states, through the real App and ui::draw into a TestBackend, and
//! what must survive a small screen: the pid uncut at any width from 40, every header figure
//! at 80 columns, and an error line's cause and retry countdown at any width from 60.
//! With `STACKTOP_SCREENS_OUT=FILE` the four tabs at 80x24 are also written to FILE as text.

#[path = "support/screen.rs"]
mod screen;

#[path = "repl_common/mod.rs"]
mod common;

use screen::{assert_whole, line, plain, render, whole};

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{
    ActivityColumns, Header, PgSnapshot, Session, SessionCounts, SessionState,
};
use stacktop::pg::collector::ConnState;
use stacktop::theme::Theme;
use stacktop::wire::{SourceHealth, ViewKind};

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 11, 3, 4).unwrap()
}

fn local(t: chrono::DateTime<Utc>) -> chrono::DateTime<chrono::Local> {
    t.with_timezone(&chrono::Local)
}

fn press(a: &mut App, code: KeyCode) {
    a.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

// ---------------------------------------------------------------- pgtop

fn session(pid: i32, user: &str, q: &str, secs: i64) -> Session {
    let mut s = Session::for_test(pid, SessionState::Active, q);
    s.usename = Some(user.into());
    s.datname = Some("orders".into());
    s.application_name = "checkout".into();
    s.backend_start = Some(now() - chrono::Duration::hours(1));
    s.query_start = Some(now() - chrono::Duration::seconds(secs));
    s.xact_start = s.query_start;
    s.state_change = s.query_start;
    s
}

const SLOW_PID: i32 = 32299;
const WAITER_PID: i32 = 1_203_344;

fn pg_sessions() -> Vec<Session> {
    let mut slow = session(
        SLOW_PID,
        "report",
        "select o.id, sum(l.amount) from orders o join lines l using (id) group by o.id",
        95,
    );
    slow.application_name = "checkout-service".into();
    let mut idle_tx = session(4101, "batch", "update stock set n = n - 1 where id = 7", 45);
    idle_tx.state = SessionState::IdleInTransaction;
    let mut waiter = session(WAITER_PID, "app", "select count(*) from stock", 3);
    waiter.wait_event_type = Some("Lock".into());
    waiter.wait_event = Some("relation".into());
    waiter.blocking_pids = vec![4101];
    vec![slow, idle_tx, waiter, session(812, "app", "select 1", 0)]
}

fn pg_snapshot() -> PgSnapshot {
    let mut s = PgSnapshot::status_only(
        1,
        ConnState::Connected { since: now() },
        Duration::from_secs(1),
    );
    s.server_now = now();
    s.taken_at = now().into();
    s.header = Some(Header {
        server_version: "15.20 (Debian 15.20-0+deb12u1)".into(),
        server_version_num: 150020,
        postmaster_start: now() - chrono::Duration::hours(26),
        uptime: Duration::from_secs(26 * 3600 + 120),
        in_recovery: false,
        max_connections: 100,
        counts: SessionCounts {
            total: 4,
            active: 2,
            idle: 0,
            idle_in_transaction: 1,
            other: 1,
            ..Default::default()
        },
        tps: Some(1234.5),
        cache_hit_ratio: Some(0.9912),
        longest_query: Some((SLOW_PID, Duration::from_secs(95))),
        longest_transaction: Some((SLOW_PID, Duration::from_secs(95))),
        waiting: 1,
        columns: ActivityColumns::default(),
    });
    s.sessions = pg_sessions();
    s
}

fn pg_app() -> App {
    let mut a = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    a.now = local(now());
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Health(SourceHealth::Live { at: local(now()) }),
    });
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(pg_snapshot().into()),
    });
    a
}

const REFUSED: &str = "connection to host=db1.prod.example.com port=5432 user=app dbname=orders sslmode=prefer failed: error connecting to server: Connection refused (os error 111)";
const AUTH: &str = "connection to host=db1.prod.example.com port=5432 user=app dbname=orders sslmode=verify-full sslrootcert=/etc/stacktop/root.crt failed: db error: FATAL: password authentication failed for user \"app\"";

/// pgtop after the connection was lost with `error`; the next attempt is 4 s away.
fn pg_down(error: &str) -> App {
    let mut a = pg_app();
    let since = now() - chrono::Duration::seconds(20);
    a.now = local(now() + chrono::Duration::seconds(21));
    let down = PgSnapshot::status_only(
        2,
        ConnState::Disconnected {
            since,
            error: error.into(),
            attempts: 4,
            next_attempt_in: Duration::from_secs(8),
        },
        Duration::from_secs(1),
    );
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Health(SourceHealth::Reconnecting {
            since: local(since),
            error: error.into(),
            next_try: Some(local(now() + chrono::Duration::seconds(25))),
        }),
    });
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(down.into()),
    });
    a
}

/// Every figure of the header, as it must appear whole.
const HEADER_FIGURES: [&str; 11] = [
    "PostgreSQL 15.20",
    "up 1d02h",
    "primary",
    "sessions 4/100",
    "active 2",
    "idle in tx 1",
    "TPS 1234.5",
    "cache hit 99.1%",
    "longest query 1m35s (pid 32299)",
    "waiting 1",
    "connected",
];

#[test]
fn pgtop_with_sessions_at_80x24_and_200x50() {
    let a = pg_app();
    for (w, h) in SIZES {
        let buf = render(&a, w, h);
        assert_whole(&buf, &HEADER_FIGURES);
        assert_whole(
            &buf,
            &["32299", "1203344", "4101", "812", "1m35s", "idle tx"],
        );
        assert_whole(&buf, &["select o.id", "active"]);
        // the lock waiter is marked with its blocker at every size
        assert_whole(&buf, &["by 4101"]);
        // the slow row is marked by its style
        let (x, y) = screen::find(&buf, "select o.id");
        assert!(
            buf[(x, y)]
                .modifier
                .contains(ratatui::style::Modifier::BOLD),
            "critical slow row is bold: {}",
            line(&buf, y)
        );
        if w == 200 {
            assert_whole(&buf, &["checkout", "orders", "report"]);
            // a 16-cell application name is not cut when the screen has room
            assert_whole(&buf, &["checkout-service"]);
            assert_whole(&buf, &["connected, refresh 1.0s"]);
            assert!(whole(&buf, "slow ≥5.0s crit ≥1m00s idle tx ≥30.0s"));
        }
    }
}

#[test]
fn pgtop_pid_column_is_never_cut_from_40_columns() {
    let a = pg_app();
    for w in 40..=200 {
        let buf = render(&a, w, 24);
        for pid in ["32299", "1203344"] {
            // the row that starts with the pid (after the tag column), the pid whole
            let row = (0..24)
                .map(|y| line(&buf, y))
                .find(|l| l[1..].starts_with(pid) && l[1 + pid.len()..].starts_with(' '));
            assert!(
                row.is_some(),
                "{w} columns: pid {pid} cut:\n{}",
                plain(&buf)
            );
        }
        // the duration stays too
        assert!(whole(&buf, "1m35s"), "{w} columns:\n{}", plain(&buf));
    }
}

#[test]
fn pgtop_narrow_list_drops_client_and_application_before_state_and_duration() {
    let a = pg_app();
    let buf = render(&a, 80, 24);
    let (_, y) = screen::find(&buf, "duration");
    let head = line(&buf, y);
    for col in ["pid", "state", "duration", "query"] {
        assert!(head.contains(col), "80: {col} missing: {head}");
    }
    for col in ["client", "application", "backend"] {
        assert!(!head.contains(col), "80: {col} should be left out: {head}");
    }
    let (_, y) = screen::find(&buf, " 32299 ");
    assert!(
        line(&buf, y).contains("select o.id, sum(l.amount)"),
        "the query keeps room at 80: {}",
        line(&buf, y)
    );
}

#[test]
fn pgtop_header_wraps_instead_of_dropping_figures() {
    let a = pg_app();
    for w in [80u16, 90, 100, 120, 160, 200] {
        let buf = render(&a, w, 24);
        assert_whole(&buf, &HEADER_FIGURES);
        assert_whole(&buf, &["longest xact 1m35s (pid 32299)"]);
        // the list starts right under the header: at most 3 header lines
        let (_, y) = screen::find(&buf, "duration");
        assert!(y <= 4, "{w}: header took {} lines", y - 1);
    }
    let buf = render(&a, 200, 24);
    assert!(
        line(&buf, 3).contains("duration"),
        "two header lines at 200:\n{}",
        plain(&buf)
    );
}

/// The banner and the status line keep the state, the cause and the countdown.
fn assert_error_lines(buf: &Buffer, cause: &str, countdown: &str) {
    let w = buf.area.width;
    let (_, by) = screen::find(buf, "DISCONNECTED");
    let banner = line(buf, by);
    assert!(
        banner.contains(cause) && banner.contains(" · retry") && banner.contains(countdown),
        "{w}: banner lacks {cause:?} / {countdown:?}: {banner:?}"
    );
    let status = line(buf, buf.area.height - 1);
    assert!(
        status.contains("DISCONNECTED")
            && status.contains(cause)
            && (status.contains(" · retry in 4 s") || status.contains(" · retry 4 s")),
        "{w}: status lacks the cause or countdown: {status:?}"
    );
}

#[test]
fn pgtop_error_lines_keep_cause_and_countdown_at_every_width_from_60() {
    for (err, cause) in [
        (REFUSED, "Connection refused"),
        (AUTH, "password authentication failed"),
    ] {
        let a = pg_down(err);
        for w in (60..=200).step_by(5).chain([80, 160]) {
            let buf = render(&a, w, 24);
            assert_error_lines(&buf, cause, "4.0s");
            assert!(
                !line(&buf, 23).contains("data 0 s old"),
                "{w}: the age runs on the app clock"
            );
        }
        // wide: the connection string is there in full, cut only when needed
        let buf = render(&a, 200, 24);
        assert!(
            plain(&buf).contains("host=db1.prod.example.com port=5432"),
            "{}",
            plain(&buf)
        );
        let buf = render(&a, 160, 24);
        let status = line(&buf, 23);
        assert!(
            status.contains('…') && status.contains(cause),
            "160: {status:?}"
        );
        if err == REFUSED {
            assert!(
                status.contains("failed: error connecting to server: Connection refused"),
                "160: only the connection string is shortened: {status:?}"
            );
        }
    }
    let a = pg_down(REFUSED);
    let buf = render(&a, 80, 24);
    assert!(
        plain(&buf).contains("not connected: no current sessions"),
        "{}",
        plain(&buf)
    );
    assert!(!whole(&buf, "32299"), "no rows from before the disconnect");
}

// ---------------------------------------------------------------- replication

fn repl_app(names: &[&str]) -> App {
    let mut cfg = Config::default();
    for n in names {
        cfg.repl
            .servers
            .push(stacktop::repl::ServerConfig::tcp(n, "127.0.0.1", 3306));
    }
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Repl);
    a.now = local(common::at() + chrono::Duration::seconds(1));
    a
}

fn feed_repl(a: &mut App, s: stacktop::repl::ServerSnapshot) {
    a.apply(Update {
        view: ViewKind::Repl,
        payload: Payload::Repl(Box::new(s)),
    });
}

fn repl_healthy() -> App {
    let mut a = repl_app(&["primary", "replica"]);
    feed_repl(&mut a, common::maria_primary(""));
    feed_repl(&mut a, common::maria_replica(common::healthy_rows()));
    a
}

const MYSQL_DOWN: &str = "mysql://monitor@replica-2.prod.example.com:3306: Can't connect to MySQL server on 'replica-2.prod.example.com' (111 \"Connection refused\")";

fn repl_down() -> App {
    repl_down_with(MYSQL_DOWN)
}

/// The healthy pair and replica-2 down with `error`; its next attempt is 4 s away.
fn repl_down_with(error: &str) -> App {
    let mut a = repl_app(&["primary", "replica", "replica-2"]);
    feed_repl(&mut a, common::maria_primary(""));
    feed_repl(&mut a, common::maria_replica(common::healthy_rows()));
    let mut down = stacktop::repl::ServerSnapshot::unreachable(
        "replica-2",
        "replica-2.prod.example.com:3306",
        stacktop::repl::ServerRole::Auto,
        None,
        common::at() - chrono::Duration::seconds(30),
        error.into(),
    );
    down.next_try = Some(common::at() + chrono::Duration::seconds(5));
    feed_repl(&mut a, down);
    a
}

/// `HH:MM:SS` in local time, as the replication view shows times.
fn rows_local(t: chrono::DateTime<Utc>) -> String {
    local(t).format("%H:%M:%S").to_string()
}

/// The status row of replica-2 (not the detail pane's lines).
fn repl_down_row(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| line(buf, y))
        .find(|l| l.trim_start().starts_with("CRIT") || l.trim_start().starts_with("UNKN"))
        .filter(|l| l.contains("replica-2"))
        .unwrap_or_else(|| panic!("no replica-2 row:\n{}", plain(buf)))
}

#[test]
fn repl_healthy_pair_and_a_down_server() {
    for (w, h) in SIZES {
        let buf = render(&repl_healthy(), w, h);
        assert_whole(&buf, &["OK", "primary", "replica", "live"]);
        let buf = render(&repl_down(), w, h);
        assert_whole(&buf, &["CRIT", "replica-2", "reconnecting since"]);
        assert!(
            plain(&buf).contains("Can't connect to MySQL server"),
            "{w}x{h}: the cause of the down server is on screen:\n{}",
            plain(&buf)
        );
        // the detail pane says when the next attempt is (a time, never stale)
        let next = rows_local(common::at() + chrono::Duration::seconds(5));
        assert!(
            plain(&buf).contains(&format!("next attempt {next}")),
            "{w}x{h}:\n{}",
            plain(&buf)
        );
        // in its row too: the cause and the countdown, the rest shortened first
        let row = repl_down_row(&buf);
        let (cause, countdown) = if w == 80 {
            ("refused", " · retry 4 s")
        } else {
            ("(111 \"Connection refused\")", " · retry in 4 s")
        };
        assert!(
            row.contains(cause) && row.trim_end().ends_with(countdown),
            "{w}x{h}: the row keeps the cause and countdown: {row:?}"
        );
    }
}

#[test]
fn repl_down_row_keeps_each_cause_and_countdown_from_80_columns() {
    let denied = "ERROR 1045: Access denied for user 'monitor'@'10.0.0.7' (using password: YES)";
    let timeout = "mysql://monitor@replica-2.prod.example.com:3306: Connection timed out";
    for (err, short) in [
        (MYSQL_DOWN, "refused"),
        (denied, "denied"),
        (timeout, "time"),
    ] {
        let a = repl_down_with(err);
        for w in (80..=200).step_by(10) {
            let row = repl_down_row(&render(&a, w, 24));
            assert!(
                row.contains(short) && row.contains("retry") && row.trim_end().ends_with("4 s"),
                "{w}: {row:?}"
            );
        }
    }
}

// ---------------------------------------------------------------- vlogdump

fn vlog_app() -> App {
    use stacktop::vlog::builder::RequestBuilder;
    use stacktop::vlog::{Handling, VlogEvent};
    const T0: f64 = 1_795_460_028.25;
    let mut cfg = Config::default();
    cfg.vlog.slow = stacktop::base::Dur::secs(1);
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Vlog);
    a.now = local(Utc.timestamp_opt(T0 as i64 + 1, 0).unwrap());
    let req = |i: u64, url: &str, h: Handling, status: u16, ms: f64| {
        let mut b = RequestBuilder {
            vxid: 100 + i,
            start: T0 + i as f64 * 0.01,
            handling: h,
            status: Some(status),
            total_ms: Some(ms),
            bytes: 1000 + i,
            ..Default::default()
        };
        b.ip.extend_from_slice(format!("10.0.0.{}", i % 3 + 1).as_bytes());
        b.method.extend_from_slice(b"GET");
        b.url.extend_from_slice(url.as_bytes());
        b.proto.extend_from_slice(b"HTTP/1.1");
        b.reason.extend_from_slice(if status == 503 {
            b"Service Unavailable"
        } else {
            b"OK"
        });
        if h != Handling::Hit {
            b.backend.extend_from_slice(b"origin");
            b.backend_status = Some(status);
        }
        b.build()
    };
    let mut v: Vec<_> = (0..7)
        .map(|i| req(i, &format!("/static/a{i}.css"), Handling::Hit, 200, 0.5))
        .collect();
    v.push(req(7, "/slow/report", Handling::Miss, 200, 1500.0));
    v.push(req(8, "/api/broken", Handling::Pass, 503, 2.0));
    a.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Vlog(VlogEvent::Requests(v)),
    });
    a
}

#[test]
fn vlog_with_requests_and_varnishd_not_running() {
    for (w, h) in SIZES {
        let buf = render(&vlog_app(), w, h);
        assert_whole(&buf, &["/slow/report", "/api/broken", "503", "MISS", "HIT"]);
    }
    let mut a = vlog_app();
    let now = a.now;
    a.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Health(SourceHealth::Reconnecting {
            since: now - chrono::Duration::seconds(12),
            error: "varnishd not running since 18:53:37 (varnishlog: Cannot open /var/lib/varnish/prod-cache-01/_.vsm: No such file or directory); restarting in 5s".into(),
            next_try: Some(now + chrono::Duration::seconds(5)),
        }),
    });
    for w in (60..=200).step_by(10).chain([80, 160]) {
        let buf = render(&a, w, 24);
        let status = line(&buf, 23);
        assert!(
            status.contains("varnishd not running")
                && (status.contains(" · retry in 5 s") || status.contains(" · retry 5 s")),
            "{w}: {status:?}"
        );
    }
}

// ---------------------------------------------------------------- spotify

fn spotify_app() -> App {
    use stacktop::spotify::results::Cell;
    spotify_answer(vec![
        vec![Cell::Text("Drake".into()), Cell::Int(77_631_771)],
        vec![Cell::Text("Ed Sheeran".into()), Cell::Int(52_000_000)],
        vec![Cell::Text("Bad Bunny".into()), Cell::Int(1_500_000)],
    ])
}

/// The spotify tab with a ready-made question answered by `rows` (artist, total_streams).
fn spotify_answer(rows: Vec<Vec<stacktop::spotify::results::Cell>>) -> App {
    use stacktop::spotify::msg::{SpotifyCommand, SpotifyEvent, StoreInfo};
    use stacktop::spotify::results::ResultSet;
    use stacktop::spotify::runner::Event;
    let mut a = App::new(
        Config::default(),
        Theme::builtin_default(),
        ViewKind::Spotify,
    );
    a.now = local(now());
    let ev = |e: SpotifyEvent| Update {
        view: ViewKind::Spotify,
        payload: Payload::Spotify(Box::new(e)),
    };
    a.apply(ev(SpotifyEvent::Info(StoreInfo {
        backend: "sqlite /tmp/x.sqlite3".into(),
        table: "top200".into(),
        rows: 1234,
        countries: vec!["ar".into(), "global".into(), "us".into()],
        first_day: Some("2017-01-01".into()),
        last_day: Some("2018-12-31".into()),
    })));
    for _ in 0..4 {
        press(&mut a, KeyCode::Down);
    }
    let effects = a.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let id = effects
        .iter()
        .find_map(|e| match e {
            stacktop::messages::Effect::ToSource(
                ViewKind::Spotify,
                stacktop::messages::SourceCommand::Spotify(c),
            ) => match &**c {
                SpotifyCommand::Ask { id, .. } => Some(*id),
                _ => None,
            },
            _ => None,
        })
        .expect("an Ask request");
    let rs = ResultSet {
        columns: vec!["artist".into(), "total_streams".into()],
        rows,
        elapsed: Duration::from_millis(160),
        truncated: false,
    };
    a.apply(ev(SpotifyEvent::Job(Event::Finished {
        id,
        result: Arc::new(rs),
    })));
    a
}

#[test]
fn spotify_with_a_result_and_chart_and_a_store_error() {
    for (w, h) in SIZES {
        let buf = render(&spotify_app(), w, h);
        assert_whole(&buf, &["Drake", "Ed Sheeran", "3 rows in set"]);
        assert!(plain(&buf).contains('█'), "{w}x{h}: bars:\n{}", plain(&buf));
    }
    let mut a = spotify_app();
    let now = a.now;
    a.apply(Update {
        view: ViewKind::Spotify,
        payload: Payload::Health(SourceHealth::Reconnecting {
            since: now,
            error: "opening the MySQL store mysql://stacktop@charts-db.prod.example.com:3306/charts: Access denied for user 'stacktop'@'10.0.0.5' (using password: YES)".into(),
            next_try: None,
        }),
    });
    for w in (60..=200).step_by(10).chain([80, 160]) {
        let buf = render(&a, w, 24);
        let status = line(&buf, 23);
        assert!(
            status.contains("DISCONNECTED")
                && status.contains("Access denied for user 'stacktop'@'10.0.0.5'"),
            "{w}: {status:?}"
        );
    }
}

#[test]
fn spotify_bar_chart_says_how_many_bars_it_shows() {
    use stacktop::spotify::results::Cell;
    let artists: Vec<String> = (1..=9).map(|i| format!("Artist {i}")).collect();
    let a = spotify_answer(
        artists
            .iter()
            .enumerate()
            .map(|(i, n)| {
                vec![
                    Cell::Text(n.clone()),
                    Cell::Int(9_000_000 - i as i64 * 900_000),
                ]
            })
            .collect(),
    );
    for (w, h) in SIZES {
        let buf = render(&a, w, h);
        let bars = (0..h).filter(|&y| line(&buf, y).contains('█')).count();
        let shown = artists.iter().filter(|n| whole(&buf, n)).count();
        assert!((1..=9).contains(&bars), "{w}x{h}:\n{}", plain(&buf));
        if bars < 9 {
            let note = format!("{bars} of 9 shown");
            assert!(
                plain(&buf).contains(&note),
                "{w}x{h}: {bars} bars and no {note:?}:\n{}",
                plain(&buf)
            );
        } else {
            assert!(!plain(&buf).contains(" of 9 shown"), "{w}x{h}");
            assert!(shown == 9, "{w}x{h}: every artist:\n{}", plain(&buf));
        }
        if w == 80 {
            assert!(
                bars < 9,
                "80x24 is too short for 9 bars (the case under test)"
            );
        } else {
            assert_eq!(bars, 9, "{w}x{h}: all 9 bars:\n{}", plain(&buf));
        }
    }
}

// ---------------------------------------------------------------- the note

#[test]
fn four_tabs_at_80x24_as_text() {
    let tabs = [
        ("pgtop (sessions, one slow, one waiting)", pg_app()),
        ("pgtop (connection refused)", pg_down(REFUSED)),
        ("replication (healthy pair + a down server)", repl_down()),
        ("vlogdump (requests)", vlog_app()),
        (
            "spotify (a question answered, with its chart)",
            spotify_app(),
        ),
    ];
    let mut out = String::new();
    for (title, a) in &tabs {
        let buf = render(a, 80, 24);
        assert_eq!(buf.area.width, 80);
        out.push_str(&format!("== {title} ==\n{}\n\n", plain(&buf)));
    }
    assert!(out.contains("32299") && out.contains("Connection refused"));
    if let Some(path) = std::env::var_os("STACKTOP_SCREENS_OUT") {
        std::fs::write(&path, &out).expect("write the screens note");
    }
}

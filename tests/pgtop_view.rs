//! The pgtop view without a server: synthetic snapshots applied to the real App, keys pressed,
//! the screen rendered into a TestBackend. Covers the header, row styles (slow bold yellow,
//! critical, idle in transaction), the disconnected banner, the c / k / K confirmations and the
//! SourceCommands they produce, read-only refusal, tags, thresholds, filter, frozen order,
//! detail + EXPLAIN and the lock tree.

use std::time::{Duration, SystemTime};

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use stacktop::app::{App, Effect};
use stacktop::collect::{Payload, SourceCommand, Update};
use stacktop::config::{Config, ViewKind};
use stacktop::pg::activity::{
    ActivityColumns, Header, PgSnapshot, Session, SessionCounts, SessionState,
};
use stacktop::pg::collector::ConnectionStatus;
use stacktop::pg::kill::{SignalKind, SignalOutcome, SignalResult};
use stacktop::pg::source::{PgReply, PgRequest};
use stacktop::theme::Theme;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 11, 3, 4).unwrap()
}

fn active(pid: i32, user: &str, q: &str, secs: i64) -> Session {
    let mut s = Session::for_test(pid, SessionState::Active, q);
    s.usename = Some(user.into());
    s.datname = Some("orders".into());
    s.backend_start = Some(now() - chrono::Duration::hours(1));
    s.query_start = Some(now() - chrono::Duration::seconds(secs));
    s.xact_start = s.query_start;
    s.state_change = s.query_start;
    s
}

fn sessions() -> Vec<Session> {
    let mut idle_tx = active(103, "batch", "update stock set n = n - 1", 45);
    idle_tx.state = SessionState::IdleInTransaction;
    let mut idle = active(105, "app", "select 1", 300);
    idle.state = SessionState::Idle;
    let mut bg = active(106, "postgres", "autovacuum: VACUUM public.t", 500);
    bg.backend_type = Some("autovacuum worker".into());
    let mut waiter = active(104, "app", "select count(*) from stock", 1);
    waiter.wait_event_type = Some("Lock".into());
    waiter.wait_event = Some("relation".into());
    waiter.blocking_pids = vec![103];
    vec![
        waiter,
        active(102, "app", "select pg_sleep(60)", 10),
        idle_tx,
        active(
            101,
            "report",
            "select * from orders\n  join lines using (id)",
            90,
        ),
        idle,
        bg,
    ]
}

fn snapshot(sessions: Vec<Session>) -> PgSnapshot {
    let mut s = PgSnapshot::status_only(
        1,
        ConnectionStatus::Connected { since: now() },
        Duration::from_secs(1),
    );
    s.server_now = now();
    s.header = Some(Header {
        server_version: "15.6".into(),
        server_version_num: 150006,
        postmaster_start: now() - chrono::Duration::hours(1),
        uptime: Duration::from_secs(3600),
        in_recovery: false,
        max_connections: 100,
        counts: SessionCounts {
            total: 6,
            active: 3,
            idle: 1,
            idle_in_transaction: 1,
            ..Default::default()
        },
        tps: Some(12.5),
        cache_hit_ratio: Some(0.991),
        longest_query: Some((101, Duration::from_secs(90))),
        longest_transaction: Some((103, Duration::from_secs(45))),
        waiting: 1,
        columns: ActivityColumns::default(),
    });
    s.sessions = sessions;
    s
}

fn app_with(cfg: Config) -> App {
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);
    a.now = now().with_timezone(&chrono::Local);
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(Box::new(snapshot(sessions()))),
    });
    a
}

fn app() -> App {
    app_with(Config::default())
}

fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    a.handle_key(KeyEvent::new(code, mods))
}

fn command(a: &mut App, line: &str) -> Vec<Effect> {
    press(a, KeyCode::Char(':'));
    for c in line.chars() {
        press(a, KeyCode::Char(c));
    }
    press(a, KeyCode::Enter)
}

fn render(a: &App, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| stacktop::ui::draw(a, f)).unwrap();
    term.backend().buffer().clone()
}

fn line(buf: &ratatui::buffer::Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

fn text(buf: &ratatui::buffer::Buffer) -> String {
    (0..buf.area.height)
        .map(|y| line(buf, y))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (x, y) of the first cell of `needle` on screen.
fn find(buf: &ratatui::buffer::Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let l = line(buf, y);
        if let Some(i) = l.find(needle) {
            let x = l[..i].chars().count() as u16;
            return (x, y);
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

fn signal_of(effects: &[Effect]) -> Option<(SignalKind, Vec<i32>)> {
    effects.iter().find_map(|e| match e {
        Effect::ToSource(
            ViewKind::Pgtop,
            SourceCommand::Pg(PgRequest::Signal { kind, targets }),
        ) => Some((*kind, targets.iter().map(|t| t.pid).collect())),
        _ => None,
    })
}

fn listed(a: &App) -> Vec<i32> {
    a.pgtop.listed().iter().map(|s| s.pid).collect()
}

#[test]
fn header_shows_server_sessions_rates_and_longest() {
    let a = app();
    let buf = render(&a, 200, 30);
    let head = format!("{}\n{}", line(&buf, 1), line(&buf, 2));
    for want in [
        "PostgreSQL 15.6",
        "up 1h00m",
        "primary",
        "sessions 6/100 (active 3, idle 1, idle in tx 1",
        "TPS 12.5",
        "cache hit 99.1%",
        "longest query 1m30s (pid 101)",
        "longest xact 45.0s (pid 103)",
        "waiting 1",
        "connected, refresh 1.0s",
        "slow ≥5.0s crit ≥1m00s idle tx ≥30.0s",
    ] {
        assert!(head.contains(want), "header lacks {want:?}:\n{head}");
    }
}

#[test]
fn default_list_is_non_idle_client_backends_longest_first_and_i_shows_all() {
    let mut a = app();
    assert_eq!(listed(&a), [101, 103, 102, 104]);
    press(&mut a, KeyCode::Char('i'));
    let all = listed(&a);
    assert!(all.contains(&105) && all.contains(&106), "{all:?}");
    let buf = render(&a, 200, 30);
    assert!(text(&buf).contains("autovacuum wor"), "backend type column");
}

#[test]
fn row_styles_carry_slow_critical_and_idle_in_transaction() {
    let mut a = app();
    press(&mut a, KeyCode::Down); // cursor off the first row so its style shows plainly
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    let buf = render(&a, 160, 30);
    let (x, y) = find(&buf, "select pg_sleep(60)");
    assert_eq!(buf[(x, y)].fg, Color::Yellow, "slow = bold yellow");
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    let (x, y) = find(&buf, "select * from orders join lines");
    assert_eq!(buf[(x, y)].fg, Color::LightRed, "critical_slow");
    assert!(buf[(x, y)].modifier.contains(Modifier::UNDERLINED));
    let (x, y) = find(&buf, "update stock");
    assert_eq!(buf[(x, y)].fg, Color::Magenta, "idle_tx");
    let (x, y) = find(&buf, "select count(*) from stock");
    assert!(
        !buf[(x, y)].modifier.contains(Modifier::BOLD),
        "a 1 s query is normal"
    );
    assert!(
        buf[(x, y)].modifier.contains(Modifier::REVERSED),
        "and selected"
    );
}

#[test]
fn disconnected_shows_a_banner_and_keeps_the_last_data() {
    let mut a = app();
    let down = PgSnapshot::status_only(
        9,
        ConnectionStatus::Disconnected {
            since: now(),
            error: "connection refused".into(),
            attempts: 3,
            next_attempt_in: Duration::from_secs(2),
        },
        Duration::from_secs(1),
    );
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(Box::new(down)),
    });
    let buf = render(&a, 160, 30);
    let (x, y) = find(&buf, "DISCONNECTED since");
    let l = line(&buf, y);
    assert!(
        l.contains("connection refused") && l.contains("retry in 2.0s (attempt 3)"),
        "{l}"
    );
    assert_eq!(buf[(x, y)].bg, Color::Red);
    assert!(
        text(&buf).contains("select pg_sleep(60)"),
        "last data still shown"
    );
}

#[test]
fn cancel_asks_naming_pid_user_duration_query_and_n_aborts() {
    let mut a = app();
    let e = press(&mut a, KeyCode::Char('c'));
    assert!(signal_of(&e).is_none(), "nothing is sent before y");
    let buf = render(&a, 160, 30);
    let all = text(&buf);
    assert!(all.contains("Cancel 1 query?"), "{all}");
    let (_, y) = find(&buf, "pid     101");
    let l = line(&buf, y);
    assert!(
        l.contains("user report") && l.contains("1m30s") && l.contains("select * from orders"),
        "{l}"
    );
    let e = press(&mut a, KeyCode::Char('k'));
    assert!(
        e.is_empty() && a.pgtop.dialog.is_some(),
        "other keys are swallowed"
    );
    let e = press(&mut a, KeyCode::Char('n'));
    assert!(signal_of(&e).is_none());
    assert!(a.pgtop.dialog.is_none());
    assert!(a
        .flash
        .as_ref()
        .unwrap()
        .text
        .contains("nothing was signalled"));
    press(&mut a, KeyCode::Char('c'));
    let e = press(&mut a, KeyCode::Char('y'));
    assert_eq!(signal_of(&e), Some((SignalKind::Cancel, vec![101])));
}

#[test]
fn space_tags_and_k_terminates_exactly_the_tagged() {
    let mut a = app();
    press(&mut a, KeyCode::Down); // 103
    press(&mut a, KeyCode::Char(' ')); // tag 103, cursor to 102
    press(&mut a, KeyCode::Down); // 104
    press(&mut a, KeyCode::Char(' ')); // tag 104
    let buf = render(&a, 160, 30);
    assert!(text(&buf).contains("*103") && text(&buf).contains("*104"));
    press(&mut a, KeyCode::Char('k'));
    let all = text(&render(&a, 160, 30));
    assert!(all.contains("Terminate 2 backends?"), "{all}");
    let e = press(&mut a, KeyCode::Char('y'));
    let (kind, mut pids) = signal_of(&e).unwrap();
    pids.sort();
    assert_eq!((kind, pids), (SignalKind::Terminate, vec![103, 104]));
    assert!(a.pgtop.tagged.is_empty(), "tags are used up");
}

#[test]
fn kill_slow_lists_the_targets_cancels_then_offers_terminate_for_survivors() {
    let mut a = app();
    press(&mut a, KeyCode::Char('K'));
    let buf = render(&a, 160, 30);
    let all = text(&buf);
    assert!(
        all.contains("Cancel 2 queries running longer than 5.0s (K)?"),
        "{all}"
    );
    assert!(
        all.contains("pid     101") && all.contains("pid     102"),
        "{all}"
    );
    assert!(
        !all.contains("pid     103") && !all.contains("pid     104"),
        "{all}"
    );
    let e = press(&mut a, KeyCode::Char('y'));
    assert_eq!(signal_of(&e), Some((SignalKind::Cancel, vec![101, 102])));
    // the results come back: both signalled
    let targets = a.pgtop.dialog.as_ref().unwrap().targets.clone();
    let at = Utc::now() - chrono::Duration::seconds(5);
    let results = targets
        .into_iter()
        .map(|t| SignalResult {
            kind: SignalKind::Cancel,
            target: t,
            outcome: SignalOutcome::Signalled,
            at,
        })
        .collect();
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::PgReply(Box::new(PgReply::Signals(results))),
    });
    let all = text(&render(&a, 160, 30));
    assert!(all.contains("cancel pid     101  signalled"), "{all}");
    // a later refresh: 102 ended, 101 still runs the same statement
    let mut later = snapshot(sessions().into_iter().filter(|s| s.pid != 102).collect());
    later.taken_at = SystemTime::now();
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(Box::new(later)),
    });
    let all = text(&render(&a, 160, 30));
    assert!(
        all.contains("1 query still running after the cancel. Terminate its backend?"),
        "{all}"
    );
    let e = press(&mut a, KeyCode::Char('y'));
    assert_eq!(signal_of(&e), Some((SignalKind::Terminate, vec![101])));
}

#[test]
fn read_only_refuses_every_signal_key_visibly() {
    let mut cfg = Config::default();
    cfg.pgtop.read_only = true;
    let mut a = app_with(cfg);
    for k in ['c', 'k', 'K'] {
        a.flash = None;
        let e = press(&mut a, KeyCode::Char(k));
        assert!(e.is_empty(), "{k}: {e:?}");
        assert!(a.pgtop.dialog.is_none());
        assert!(a.flash.as_ref().unwrap().text.contains("read-only"), "{k}");
    }
    assert!(line(&render(&a, 160, 30), 0).contains("READ-ONLY"));
}

#[test]
fn thresholds_change_at_run_time_and_reach_the_collector() {
    let mut a = app();
    let e = command(&mut a, "slow 20s");
    assert!(e.iter().any(|e| matches!(e,
        Effect::ToSource(ViewKind::Pgtop, SourceCommand::Pg(PgRequest::SetThresholds(t))) if t.slow == Duration::from_secs(20))));
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    let buf = render(&a, 160, 30);
    let (x, y) = find(&buf, "select pg_sleep(60)");
    assert!(
        !buf[(x, y)].modifier.contains(Modifier::BOLD),
        "10 s is no longer slow"
    );
    command(&mut a, "critical 10s");
    assert!(
        a.flash.as_ref().unwrap().text.contains("must not be below"),
        "critical < slow refused"
    );
    command(&mut a, "idle 1m");
    assert_eq!(
        a.pgtop.thresholds.idle_in_transaction,
        Duration::from_secs(60)
    );
    command(&mut a, "min 20s");
    assert_eq!(listed(&a), [101, 103]);
}

#[test]
fn filter_language_and_sorting_both_ways() {
    let mut a = app();
    press(&mut a, KeyCode::Char('/'));
    for c in "user:app pg_sleep".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    assert_eq!(listed(&a), [102]);
    press(&mut a, KeyCode::Esc);
    assert_eq!(listed(&a).len(), 4);
    press(&mut a, KeyCode::Char('>')); // query
    press(&mut a, KeyCode::Char('>')); // pid (wraps)
    assert_eq!(listed(&a), [104, 103, 102, 101], "pid descending");
    press(&mut a, KeyCode::Char('<'));
    assert_eq!(listed(&a), [101, 102, 103, 104]);
}

#[test]
fn order_is_frozen_while_navigating() {
    let mut a = app();
    press(&mut a, KeyCode::Down);
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "103");
    // 104 becomes the longest: it would move to the top
    let mut s = sessions();
    s.iter_mut().find(|s| s.pid == 104).unwrap().query_start =
        Some(now() - chrono::Duration::seconds(500));
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(Box::new(snapshot(s))),
    });
    assert_eq!(
        listed(&a),
        [101, 103, 102, 104],
        "order kept under the cursor"
    );
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "103");
}

#[test]
fn detail_pane_explain_and_lock_tree() {
    let mut a = app();
    press(&mut a, KeyCode::Enter);
    let all = text(&render(&a, 160, 40));
    assert!(
        all.contains("query start") && all.contains("join lines using (id)"),
        "{all}"
    );
    let e = press(&mut a, KeyCode::Char('e'));
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::ToSource(
            ViewKind::Pgtop,
            SourceCommand::Pg(PgRequest::Explain { pid: 101, .. })
        )
    )));
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::PgReply(Box::new(PgReply::Explain {
            pid: 101,
            result: Ok(vec!["Hash Join  (cost=1.00..2.00 rows=1 width=8)".into()]),
        })),
    });
    assert!(text(&render(&a, 160, 40)).contains("Hash Join  (cost=1.00"));
    press(&mut a, KeyCode::Esc);
    assert!(a.pgtop.detail.is_none());
    press(&mut a, KeyCode::Char('L'));
    let buf = render(&a, 160, 30);
    let (_, y) = find(&buf, "└─ 104");
    assert!(
        line(&buf, y - 1).contains("103"),
        "blocker above the blocked"
    );
}

#[test]
fn batch_json_has_the_slow_flag_and_exit_code_says_slow_or_critical() {
    let a = app();
    let rows = stacktop::views::View::batch_json(&a.pgtop);
    let by_pid = |p: i64| rows.iter().find(|r| r["pid"] == p).unwrap();
    assert_eq!(by_pid(102)["slow"], true);
    assert_eq!(by_pid(104)["slow"], false);
    assert_eq!(
        stacktop::views::View::batch_exit_code(&a.pgtop),
        Some(stacktop::cli::exit::PG_CRITICAL)
    );
}

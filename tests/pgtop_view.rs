//! The pgtop view without a server: synthetic snapshots applied to the real App, keys pressed,
//! the screen rendered into a TestBackend. Covers the header, row styles (slow bold yellow,
//! critical, idle in transaction), the disconnected banner, the c / k / K confirmations and the
//! SourceCommands they produce, read-only refusal, tags, thresholds, filter, frozen order,
//! detail + EXPLAIN and the lock tree.

#[path = "support/screen.rs"]
mod screen;

#[path = "support/pg_fixture.rs"]
mod pg_fixture;

use pg_fixture::{active, now};

use screen::{find, indicator, line, render, text};

use std::time::{Duration, SystemTime};

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::Effect;
use stacktop::messages::{Payload, SourceCommand, Update};
use stacktop::pg::activity::{Header, PgSnapshot, Session, SessionState};
use stacktop::pg::collector::ConnState;
use stacktop::pg::kill::{SignalKind, SignalOutcome, SignalResult};
use stacktop::pg::msg::{PgReply, PgRequest};
use stacktop::theme::Theme;

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

/// The shared fixture's snapshot with this file's rates and longest transaction.
fn snapshot(sessions: Vec<Session>) -> PgSnapshot {
    let mut s = pg_fixture::snapshot(1, sessions);
    s.header = s.header.map(|h| Header {
        tps: Some(12.5),
        cache_hit_ratio: Some(0.991),
        longest_transaction: Some((103, Duration::from_secs(45))),
        ..h
    });
    s
}

fn app_with(cfg: Config) -> App {
    pg_fixture::app_with(cfg, snapshot(sessions()))
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
fn disconnected_shows_a_banner_and_clears_the_rows() {
    let mut a = app();
    let down = PgSnapshot::status_only(
        9,
        ConnState::Disconnected {
            since: now(),
            error: "connection refused".into(),
            attempts: 3,
            next_attempt_in: Duration::from_secs(2),
        },
        Duration::from_secs(1),
    );
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(down.into()),
    });
    let buf = render(&a, 160, 30);
    let (x, y) = find(&buf, "DISCONNECTED since");
    let l = line(&buf, y);
    assert!(
        l.contains("connection refused") && l.contains("retry in 2.0s (attempt 3)"),
        "{l}"
    );
    assert_eq!(buf[(x, y)].bg, Color::Red);
    assert!(l.contains("last data") && l.contains("rows cleared"), "{l}");
    // rows from before the disconnect are not presented as current: not drawn, not listed
    assert!(
        !text(&buf).contains("select pg_sleep(60)"),
        "stale rows still shown: {}",
        text(&buf)
    );
    assert!(text(&buf).contains("not connected: no current sessions"));
    assert!(a.pgtop.listed().is_empty());
    assert!(stacktop::views::View::batch_json(&a.pgtop).is_empty());
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
        payload: Payload::Pg(later.into()),
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
        payload: Payload::Pg(snapshot(s).into()),
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
    assert!(
        e.iter().any(|e| matches!(
            e,
            Effect::ToSource(
                ViewKind::Pgtop,
                SourceCommand::Pg(PgRequest::Explain { pid: 101, usename: Some(u), .. })
            ) if u == "report"
        )),
        "EXPLAIN names the session's role (it runs as that role)"
    );
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
        Some(stacktop::wire::exit::PG_CRITICAL)
    );
}

// ---- detail pane: wrapping and scrolling at small sizes ----

/// A query longer than the detail pane at 80x24: 30 joins and a last line wider than 80.
fn long_query() -> String {
    let mut q = String::from(
        "select o.id, o.customer_id, o.total, l.sku, l.qty, l.price, c.name, c.email, c.country from orders o",
    );
    for i in 0..30 {
        q.push_str(&format!("\n  join t{i} using (id)"));
    }
    q.push_str(
        "\nwhere o.total > 100 and c.country = 'NZ' and l.sku like 'TAIL-%' order by o.total desc -- query tail marker",
    );
    q
}

/// The fixture app with pid 101 (first in the list) running [`long_query`].
fn app_long(w: u16, h: u16) -> App {
    let mut a = app();
    let mut s = sessions();
    s.iter_mut().find(|s| s.pid == 101).unwrap().query = long_query();
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snapshot(s).into()),
    });
    a.resize(w, h);
    a
}

fn shown(a: &App, w: u16, h: u16) -> (usize, usize, usize) {
    let buf = render(a, w, h);
    indicator(&buf)
        .unwrap_or_else(|| panic!("no position indicator:\n{}", text(&buf)))
        .0
}

fn plan_reply(a: &mut App, pid: i32, plan: Vec<String>) {
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::PgReply(Box::new(PgReply::Explain {
            pid,
            result: Ok(plan),
        })),
    });
}

#[test]
fn detail_scrolls_at_80x24_with_indicator_and_clamping_and_the_list_stays() {
    let mut a = app_long(80, 24);
    let cursor = a.pgtop.core.table.cursor;
    press(&mut a, KeyCode::Enter);
    let buf = render(&a, 80, 24);
    // the query starts on the first page; its tail does not fit
    find(&buf, "select o.id, o.customer_id");
    assert!(!text(&buf).contains("query tail marker"), "{}", text(&buf));
    let ((first, last, total), y) = indicator(&buf).expect("indicator");
    let page = last - first + 1;
    assert_eq!(first, 1);
    assert!(total > 40 && page >= 8, "{first}-{last} of {total}");
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", text(&buf));
    }
    let border = line(&buf, y);
    assert!(
        border.contains("pid 101 (Enter/Esc closes")
            && border.contains(&format!("lines 1-{page} of {total}")),
        "the indicator is in the pane's top border: {border}"
    );
    // a line at a time: j/↓ down, k/↑ up
    press(&mut a, KeyCode::Char('j'));
    assert_eq!(shown(&a, 80, 24), (2, page + 1, total));
    press(&mut a, KeyCode::Down);
    assert_eq!(shown(&a, 80, 24).0, 3);
    press(&mut a, KeyCode::Char('k'));
    press(&mut a, KeyCode::Up);
    assert_eq!(shown(&a, 80, 24).0, 1);
    press(&mut a, KeyCode::Up);
    assert_eq!(shown(&a, 80, 24).0, 1, "clamped at the top");
    // a page at a time (one row of context)
    press(&mut a, KeyCode::Char(' '));
    assert_eq!(shown(&a, 80, 24).0, page);
    press(&mut a, KeyCode::PageDown);
    assert_eq!(shown(&a, 80, 24).0, 2 * page - 1);
    press(&mut a, KeyCode::PageUp);
    assert_eq!(shown(&a, 80, 24).0, page);
    // G: the last page, with the query's (wrapped) tail
    press(&mut a, KeyCode::Char('G'));
    let buf = render(&a, 80, 24);
    assert_eq!(indicator(&buf).unwrap().0, (total - page + 1, total, total));
    find(&buf, "query tail marker");
    // past the end: the last page stays
    for _ in 0..20 {
        press(&mut a, KeyCode::Char('j'));
    }
    press(&mut a, KeyCode::PageDown);
    press(&mut a, KeyCode::End);
    let buf = render(&a, 80, 24);
    assert_eq!(indicator(&buf).unwrap().0, (total - page + 1, total, total));
    find(&buf, "query tail marker");
    press(&mut a, KeyCode::Char('k'));
    assert_eq!(
        shown(&a, 80, 24).0,
        total - page,
        "one key back, not twenty"
    );
    press(&mut a, KeyCode::Char('g'));
    assert_eq!(shown(&a, 80, 24).0, 1);
    press(&mut a, KeyCode::End);
    press(&mut a, KeyCode::Home);
    assert_eq!(shown(&a, 80, 24).0, 1);
    // none of it reached the list: same row, no terminate dialog (k), no tag (Space)
    assert_eq!(a.pgtop.core.table.cursor, cursor);
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "101");
    assert!(a.pgtop.dialog.is_none() && a.pgtop.tagged.is_empty());
    assert_eq!(a.pgtop.detail.as_ref().unwrap().pid, 101);
    // the hint line names the pane's keys while it is open
    let hints = line(&render(&a, 80, 24), 22);
    assert!(
        hints.starts_with("j down  k up  Space page  G end"),
        "{hints}"
    );
    // closed: the keys move the list again
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('j'));
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "103");
}

#[test]
fn explain_plan_appends_and_its_last_wrapped_line_scrolls_into_view_at_80x24() {
    let mut a = app_long(80, 24);
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('j'));
    let e = press(&mut a, KeyCode::Char('e'));
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::ToSource(
            ViewKind::Pgtop,
            SourceCommand::Pg(PgRequest::Explain { pid: 101, .. })
        )
    )));
    let before = shown(&a, 80, 24);
    let mut plan: Vec<String> = (0..30)
        .map(|i| format!("  ->  Hash Join  (cost={i}.00..{i}.50 rows=1 width=8)"))
        .collect();
    plan.push(
        "        Filter: ((total > '100'::numeric) AND (country = 'NZ'::text) AND (sku ~~ 'TAIL-%'::text)) last plan line"
            .into(),
    );
    plan_reply(&mut a, 101, plan);
    let (first, last, total) = shown(&a, 80, 24);
    assert_eq!(first, before.0, "the answer does not move the pane");
    assert!(total >= before.2 + 32, "{total} vs {before:?}");
    press(&mut a, KeyCode::End);
    let buf = render(&a, 80, 24);
    assert_eq!(
        indicator(&buf).unwrap().0,
        (total - (last - first), total, total)
    );
    // the plan line is wider than the pane: wrapped, its end on the next row
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", text(&buf));
    }
    let (_, y) = find(&buf, "last plan line");
    assert!(
        line(&buf, y - 1).contains("Filter: ((total > '100'"),
        "{}",
        text(&buf)
    );
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "101");
}

#[test]
fn another_backends_detail_starts_at_the_top() {
    let mut a = app_long(80, 24);
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('G'));
    assert!(shown(&a, 80, 24).0 > 1);
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Enter);
    let buf = render(&a, 80, 24);
    find(&buf, "pid 103 (Enter/Esc closes");
    // (no indicator at all when the whole detail fits)
    assert_eq!(indicator(&buf).map_or(1, |i| i.0 .0), 1, "{}", text(&buf));
    // and the same backend reopened starts at the top too
    press(&mut a, KeyCode::Char('G'));
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Enter);
    let buf = render(&a, 80, 24);
    assert_eq!(indicator(&buf).map_or(1, |i| i.0 .0), 1, "{}", text(&buf));
    // back on the long query, scrolled to its end before: it opens at the top again
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Enter);
    assert_eq!(shown(&a, 80, 24).0, 1);
}

#[test]
fn detail_at_200x60_wraps_a_long_line_and_end_shows_the_last_plan_line() {
    let mut a = app_long(200, 60);
    let mut s = sessions();
    let long_line = format!(
        "select {} from wide_table -- end of a very long line",
        (0..60)
            .map(|i| format!("column_{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s.iter_mut().find(|s| s.pid == 101).unwrap().query = long_line;
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snapshot(s).into()),
    });
    press(&mut a, KeyCode::Enter);
    let buf = render(&a, 200, 60);
    // wider than the screen: wrapped, its end visible
    find(&buf, "end of a very long line");
    assert!(indicator(&buf).is_none(), "everything fits: no indicator");
    press(&mut a, KeyCode::Char('e'));
    let plan: Vec<String> = (0..60)
        .map(|i| format!("  ->  Seq Scan on part_{i}  (cost=0.00..35.50 rows=2550 width=4)"))
        .collect();
    plan_reply(&mut a, 101, plan);
    let buf = render(&a, 200, 60);
    let ((first, last, total), _) = indicator(&buf).expect("indicator");
    assert_eq!(first, 1);
    assert!(last - first + 1 >= 25, "a tall pane at 200x60: {last}");
    assert!(!text(&buf).contains("part_59 "));
    press(&mut a, KeyCode::End);
    let buf = render(&a, 200, 60);
    find(&buf, "Seq Scan on part_59 ");
    assert_eq!(indicator(&buf).unwrap().0 .2, total);
    assert_eq!(indicator(&buf).unwrap().0 .1, total);
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "101");
}

#[test]
fn help_lists_the_detail_keys() {
    let mut a = app_long(80, 24);
    press(&mut a, KeyCode::Char('?'));
    for _ in 0..60 {
        press(&mut a, KeyCode::Down);
    }
    let all = text(&render(&a, 80, 60));
    assert!(
        all.contains("while the detail pane is open")
            && all.contains("detail: scroll down a line")
            && all.contains("detail: page down"),
        "{all}"
    );
}

#[test]
fn a_short_list_gives_its_spare_rows_to_the_detail_pane() {
    let mut a = app_long(80, 24);
    press(&mut a, KeyCode::Enter);
    let buf = render(&a, 80, 24);
    let (_, title) = find(&buf, "pid 101 (Enter/Esc closes");
    let rows = a.pgtop.core.table.visible_len() as u16;
    assert!(rows >= 2, "fixture has several sessions");
    // header row + one line per session directly above the pane's title: no blank rows
    for y in title - rows..title {
        assert!(
            !line(&buf, y).trim().is_empty(),
            "blank row {y} above the detail pane:\n{}",
            text(&buf)
        );
    }
    assert!(
        line(&buf, title - rows - 1).contains("pid"),
        "{}",
        text(&buf)
    );
}

/// `NO_COLOR` (a colourless theme handed to the App, as run.rs does) and `ui.no_color` /
/// `--no-color` hold after `:theme NAME`; idle-in-transaction rows stay marked (italic).
#[test]
fn no_color_survives_theme_switches_and_idle_tx_keeps_a_marker() {
    let colours = |a: &App| {
        let buf = render(a, 160, 30);
        let (x, y) = find(&buf, "select pg_sleep(60)");
        let slow = buf[(x, y)].clone();
        let (x, y) = find(&buf, "update stock");
        (slow, buf[(x, y)].clone())
    };
    let mut cfg = Config::default();
    cfg.ui.no_color = true;
    let mut by_flag = app_with(cfg);
    let mut by_env = App::new(
        Config::default(),
        Theme::builtin_default().without_colors(),
        ViewKind::Pgtop,
    );
    by_env.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snapshot(sessions()).into()),
    });
    for a in [&mut by_flag, &mut by_env] {
        press(a, KeyCode::Down);
        for theme in [None, Some("theme light"), Some("theme default")] {
            if let Some(t) = theme {
                command(a, t);
            }
            let (slow, idle) = colours(a);
            assert_eq!(
                (slow.fg, slow.bg),
                (Color::Reset, Color::Reset),
                "{theme:?}"
            );
            assert!(slow.modifier.contains(Modifier::BOLD), "{theme:?}");
            assert_eq!(idle.fg, Color::Reset, "{theme:?}");
            assert!(idle.modifier.contains(Modifier::ITALIC), "{theme:?}");
        }
    }
    // Without NO_COLOR, :theme does bring the theme's colours.
    let mut a = app();
    press(&mut a, KeyCode::Down);
    command(&mut a, "theme light");
    assert_ne!(colours(&a).0.fg, Color::Reset);
}

//! The pgtop `/` filter is validated whole: a text that does not parse (`min:abc`, an unknown
//! key) is never applied — not while it is typed (the half-typed prefix does not linger) and
//! not on `Enter`, which refuses it with the reason and keeps the filter committed before.
//! No server: synthetic snapshots applied to the real App.

#[path = "support/screen.rs"]
mod screen;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{
    ActivityColumns, Header, PgSnapshot, Session, SessionCounts, SessionState,
};
use stacktop::pg::collector::ConnState;
use stacktop::theme::Theme;
use stacktop::wire::{Level, ViewKind};

fn app() -> App {
    let mut a = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    let now = chrono::Utc::now();
    let mut snap = PgSnapshot::status_only(
        1,
        ConnState::Connected { since: now },
        Duration::from_secs(1),
    );
    snap.server_now = now;
    snap.header = Some(Header {
        server_version: "15.6".into(),
        server_version_num: 150006,
        postmaster_start: now - chrono::Duration::hours(1),
        uptime: Duration::from_secs(3600),
        in_recovery: false,
        max_connections: 100,
        counts: SessionCounts::default(),
        tps: None,
        cache_hit_ratio: None,
        longest_query: None,
        longest_transaction: None,
        waiting: 0,
        columns: ActivityColumns::default(),
    });
    let mut s = |pid: i32, user: &str, q: &str, secs: i64| {
        let mut s = Session::for_test(pid, SessionState::Active, q);
        s.usename = Some(user.into());
        s.datname = Some("orders".into());
        s.query_start = Some(now - chrono::Duration::seconds(secs));
        s.xact_start = s.query_start;
        s.state_change = s.query_start;
        snap.sessions.push(s);
    };
    s(101, "report", "select * from orders", 90);
    s(102, "app", "select pg_sleep(60)", 10);
    s(103, "minnie", "update stock set n = n - 1", 2);
    a.now = now.with_timezone(&chrono::Local);
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snap.into()),
    });
    a
}

fn press(a: &mut App, code: KeyCode) {
    a.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn type_str(a: &mut App, s: &str) {
    for c in s.chars() {
        press(a, KeyCode::Char(c));
    }
}

fn listed(a: &App) -> Vec<i32> {
    let mut v: Vec<i32> = a.pgtop.listed().iter().map(|s| s.pid).collect();
    v.sort();
    v
}

fn flash(a: &App) -> (Level, String) {
    let f = a.flash.as_ref().expect("a flash message");
    (f.level, f.text.clone())
}

/// The filter indicator as drawn.
fn shown(a: &App) -> String {
    screen::text(&screen::render(a, 120, 20))
}

#[test]
fn a_bad_min_is_refused_and_the_previous_filter_stays() {
    let mut a = app();
    // a committed filter first
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "user:app");
    press(&mut a, KeyCode::Enter);
    assert_eq!(listed(&a), [102]);
    // then a bad one, typed over it
    press(&mut a, KeyCode::Char('/'));
    // the prompt starts with the current filter: Ctrl-U clears it
    a.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_str(&mut a, "min");
    // "min" is valid free text (matches user minnie) and previews live
    assert_eq!(listed(&a), [103]);
    type_str(&mut a, ":abc");
    assert_eq!(
        listed(&a),
        [102],
        "while `min:abc` is typed the committed filter is in effect, not the prefix `min`"
    );
    assert_eq!(flash(&a).0, Level::Error);
    press(&mut a, KeyCode::Enter);
    let (level, text) = flash(&a);
    assert_eq!(level, Level::Error);
    assert!(
        text.contains("filter refused") && text.contains("min") && text.contains("user:app"),
        "{text}"
    );
    assert_eq!(listed(&a), [102], "the previous filter stays");
    assert_eq!(a.pgtop.filter.text, "user:app");
    let s = shown(&a);
    assert!(s.contains("[filter: user:app]"), "{s}");
    assert!(!s.contains("[filter: min"), "{s}");
}

#[test]
fn an_unknown_key_is_refused_with_the_keys_listed() {
    let mut a = app();
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "usr:app");
    assert_eq!(listed(&a), [101, 102, 103], "never applied while typed");
    press(&mut a, KeyCode::Enter);
    let (level, text) = flash(&a);
    assert_eq!(level, Level::Error);
    assert!(text.contains("unknown key `usr:`"), "{text}");
    assert!(text.contains("no filter"), "{text}");
    assert_eq!(listed(&a), [101, 102, 103]);
    assert!(a.pgtop.filter.text.is_empty());
    // `:filter` goes through the same check
    press(&mut a, KeyCode::Char(':'));
    type_str(&mut a, "filter min:soon");
    press(&mut a, KeyCode::Enter);
    assert!(flash(&a).1.contains("filter refused"), "{:?}", flash(&a));
    assert_eq!(listed(&a), [101, 102, 103]);
}

#[test]
fn good_filters_and_casts_still_apply() {
    let mut a = app();
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "min:5s");
    press(&mut a, KeyCode::Enter);
    assert_eq!(listed(&a), [101, 102]);
    press(&mut a, KeyCode::Char(':'));
    type_str(&mut a, "filter n::int");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.pgtop.filter.text, "n::int", "a cast is free text");
    // `:min` survives a filter without `min:`, and a refused one
    press(&mut a, KeyCode::Char(':'));
    type_str(&mut a, "min 30s");
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char(':'));
    type_str(&mut a, "filter select");
    press(&mut a, KeyCode::Enter);
    assert_eq!(listed(&a), [101]);
    press(&mut a, KeyCode::Char(':'));
    type_str(&mut a, "filter bogus:1");
    press(&mut a, KeyCode::Enter);
    assert_eq!(listed(&a), [101]);
    assert_eq!(a.pgtop.filter.text, "select");
}

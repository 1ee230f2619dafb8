//! A pgtop column is defined once (`pg::columns::COLUMNS`) and every output is made from that
//! table: the list's title line on screen, the batch text table's header and the batch JSON
//! object's keys are exactly what the table declares, in its order, so a column cannot be half
//! added (or an output grow a column the table does not know). No server: a synthetic snapshot
//! through the real App.

#[path = "support/screen.rs"]
mod screen;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{PgSnapshot, Session, SessionState};
use stacktop::pg::collector::ConnState;
use stacktop::pg::columns::{TextWidth, COLUMNS, DROP_ORDER, DURATION_COL, QUERY_COL, VIEW};
use stacktop::theme::Theme;
use stacktop::views::View;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 18, 0, 0).unwrap()
}

fn app() -> App {
    let mut s = Session::for_test(4242, SessionState::Active, "select pg_sleep(60)");
    s.query_start = Some(now() - chrono::Duration::seconds(12));
    s.backend_start = Some(now() - chrono::Duration::hours(1));
    s.blocking_pids = vec![7];
    let mut snap = PgSnapshot::status_only(
        1,
        ConnState::Connected { since: now() },
        Duration::from_secs(1),
    );
    snap.server_now = now();
    let mut h = stacktop::pg::activity::summarize(now(), std::slice::from_ref(&s));
    h.server_version = "15.6".into();
    snap.header = Some(h);
    snap.sessions = vec![s];
    let mut a = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    a.now = now().with_timezone(&chrono::Local);
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snap.into()),
    });
    a
}

#[test]
fn every_column_of_the_table_is_in_the_list_the_text_table_and_the_json() {
    let a = app();
    assert!(!COLUMNS.is_empty());

    // the list: on a screen wide enough for every column, the title line is the table's
    // list titles in order (the sorted one carries its ▼)
    let buf = screen::render(&a, 300, 30);
    let title = (0..30)
        .map(|y| screen::line(&buf, y))
        .find(|l| l.starts_with("pid"))
        .unwrap_or_else(|| panic!("no list title:\n{}", screen::text(&buf)));
    let shown: Vec<String> = title
        .split_whitespace()
        .map(|t| t.trim_end_matches(['▼', '▲']).to_string())
        .collect();
    let want: Vec<&str> = COLUMNS
        .iter()
        .filter_map(|c| c.view)
        .map(|v| v.title)
        .collect();
    assert_eq!(shown, want, "list title line: {title}");

    // the batch text table: its header line is the table's text titles in order
    let text = a.pgtop.batch_text();
    let header = text
        .lines()
        .find(|l| l.trim_start().starts_with("PID"))
        .unwrap_or_else(|| panic!("no text header:\n{text}"));
    let want: Vec<&str> = COLUMNS
        .iter()
        .filter_map(|c| c.text)
        .map(|t| t.title)
        .collect();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        want,
        "{text}"
    );
    // a session line has a cell under each title: the pid first, the query last
    let row = text.lines().last().unwrap_or_default();
    assert!(
        row.trim_start().starts_with("4242") && row.ends_with("select pg_sleep(60)"),
        "{text}"
    );

    // batch JSON: the keys are exactly the ones the table declares, none declared twice
    let json = a.pgtop.batch_json();
    assert_eq!(json.len(), 1);
    let keys: BTreeSet<&str> = json[0]
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let declared: Vec<&str> = COLUMNS
        .iter()
        .flat_map(|c| c.json)
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(
        declared.len(),
        declared.iter().collect::<BTreeSet<_>>().len(),
        "a JSON key declared twice: {declared:?}"
    );
    assert_eq!(keys, declared.into_iter().collect(), "{}", json[0]);
    assert_eq!(json[0]["blocked_by"], serde_json::json!([7]));

    // and each column is shown somewhere
    for c in COLUMNS {
        assert!(
            c.view.is_some() || c.text.is_some() || !c.json.is_empty(),
            "column {} is in no output",
            c.id
        );
    }
}

#[test]
fn the_table_derives_the_list_indexes_and_the_text_table_ends_with_the_rest() {
    let titles: Vec<&str> = VIEW.iter().map(|v| v.title).collect();
    assert_eq!(
        titles,
        [
            "pid",
            "database",
            "user",
            "client",
            "application",
            "backend",
            "state",
            "wait",
            "duration",
            "query"
        ]
    );
    assert_eq!((DURATION_COL, QUERY_COL), (8, 9));
    assert_eq!(DROP_ORDER, [5, 3, 4, 1, 2, 6, 7]);
    let mut ids: Vec<&str> = COLUMNS.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), COLUMNS.len(), "column ids are unique");
    let rest: Vec<&str> = COLUMNS
        .iter()
        .filter(|c| c.text.is_some_and(|t| t.width == TextWidth::Rest))
        .map(|c| c.id)
        .collect();
    assert_eq!(rest, ["query"], "one text column takes the rest, the last");
    assert_eq!(
        COLUMNS.iter().rev().find_map(|c| c.text).map(|t| t.title),
        Some("QUERY")
    );
}

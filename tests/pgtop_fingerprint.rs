//! Query fingerprints end to end against a real PostgreSQL started here, once per major
//! (`pg_matrix!`): the real App fed by the real pgtop source, keys pressed as a user would,
//! effects routed to the collector like the run loop does. Six sessions run the same statement
//! with different literals (`select pg_sleep(N) /* k */ , 'litN'`), two run another shape. With
//! `F` the six form one group — by the server's `query_id` on PostgreSQL 14+ (started with
//! `compute_query_id = on`), by the normalised text before 14 — and `K` on that group cancels
//! exactly those six backends (the other shape keeps running), through the confirmation that
//! lists every backend and the pid + backend start + query start guard.

mod support;

use std::time::Duration;

use crossterm::event::KeyCode;
use stacktop::app::App;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::pg::classify::is_slow;
use stacktop::pg::fingerprint::GroupKey;
use stacktop::pg::kill::SignalOutcome;
use support::pg::{Pg, PgOpts};

type Ui = support::pg_ui::PgUi;

fn all_slow(app: &App, pids: &[i32]) -> bool {
    let v = &app.pgtop;
    pids.iter().all(|p| {
        v.sessions()
            .iter()
            .any(|s| s.pid == *p && is_slow(s, v.server_now(), &v.thresholds))
    })
}

/// The pids of the group holding `pid` in the grouped view, and its key.
fn group_of(app: &App, pid: i32) -> Option<(GroupKey, Vec<i32>)> {
    let g = app
        .pgtop
        .query_groups()
        .into_iter()
        .find(|g| g.sessions.iter().any(|s| s.pid == pid))?;
    let mut pids: Vec<i32> = g.sessions.iter().map(|s| s.pid).collect();
    pids.sort();
    Some((g.key, pids))
}

pg_matrix!(fingerprint_groups_and_k_on_a_group);

async fn fingerprint_groups_and_k_on_a_group(major: u32) {
    let opts = PgOpts {
        // the server computes query ids only when asked (or for pg_stat_statements)
        extra_conf: if major >= 14 {
            vec!["compute_query_id = on".into()]
        } else {
            vec![]
        },
        ..PgOpts::default()
    };
    let pg = Pg::start_major(major, opts);
    let mut shape_a = Vec::new();
    for i in 0..6 {
        let sql = format!(
            "{} pg_sleep({}) /* k */ , 'lit{}'",
            if i % 2 == 0 { "select" } else { "SELECT" },
            600 + i,
            "x".repeat(i)
        );
        shape_a.push(pg.running("postgres", &format!("fp-a{i}"), &sql).await);
    }
    let mut shape_b = Vec::new();
    for i in 0..2 {
        let sql = format!("select pg_sleep(600), {i} as n, 'other'::text");
        shape_b.push(pg.running("postgres", &format!("fp-b{i}"), &sql).await);
    }
    let mut a_pids: Vec<i32> = shape_a.iter().map(|b| b.pid).collect();
    a_pids.sort();
    let mut b_pids: Vec<i32> = shape_b.iter().map(|b| b.pid).collect();
    b_pids.sort();
    let all: Vec<i32> = a_pids.iter().chain(&b_pids).copied().collect();

    let mut cfg = Config::default();
    cfg.ui.refresh = Dur::millis(200);
    cfg.pgtop.conninfo = Some(pg.conninfo("postgres"));
    cfg.pgtop.slow_threshold = Duration::from_millis(800);
    let mut ui = Ui::start(cfg);
    ui.until("eight slow sleepers", Duration::from_secs(20), |app| {
        all_slow(app, &all)
    })
    .await;

    ui.press(KeyCode::Char('F'));
    assert!(ui.app.pgtop.groups.on);
    // a refresh fingerprinted while grouped (the first key press used the snapshot at hand)
    let seq = ui.app.pgtop.snap.as_ref().map(|s| s.seq);
    ui.until("a refresh", Duration::from_secs(10), |app| {
        app.pgtop.snap.as_ref().map(|s| s.seq) != seq
    })
    .await;
    let (key_a, pids) = group_of(&ui.app, a_pids[0]).expect("the sleepers are grouped");
    assert_eq!(pids, a_pids, "six texts with different literals: one group");
    let (key_b, pids) = group_of(&ui.app, b_pids[0]).unwrap();
    assert_eq!(pids, b_pids);
    assert_ne!(key_a, key_b);
    match key_a {
        GroupKey::QueryId(q) => {
            assert!(major >= 14, "a query id before 14: {q}");
            assert_ne!(q, 0);
        }
        GroupKey::Text(_) => assert!(major < 14, "PostgreSQL {major} computes query ids"),
    }
    let groups = ui.app.pgtop.query_groups();
    let g = groups.iter().find(|g| g.key == key_a).unwrap();
    assert_eq!(g.text.as_ref(), "select pg_sleep(?), ?");
    assert_eq!(g.active, 6);

    // the cursor to the sleepers' row, then K
    let row = key_a.as_key();
    for _ in 0..20 {
        if ui.app.pgtop.core.table.selected().map(|r| r.key.as_str()) == Some(row.as_str()) {
            break;
        }
        ui.press(KeyCode::Down);
    }
    assert_eq!(
        ui.app.pgtop.core.table.selected().map(|r| r.key.clone()),
        Some(row)
    );
    ui.press(KeyCode::Char('K'));
    let d = ui
        .app
        .pgtop
        .dialog
        .as_ref()
        .expect("K opens a confirmation");
    let mut listed: Vec<i32> = d.targets.iter().map(|t| t.pid).collect();
    listed.sort();
    assert_eq!(listed, a_pids, "exactly the group's backends");
    let text = d
        .lines(chrono::Utc::now())
        .into_iter()
        .map(|l| l.1)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("Cancel 6 queries running longer than"),
        "{text}"
    );
    assert!(text.contains("group: select pg_sleep(?), ?"), "{text}");
    for p in &a_pids {
        assert!(text.contains(&format!("pid {p:>7}")), "{text}");
    }

    ui.press(KeyCode::Char('y'));
    ui.until("signal results", Duration::from_secs(10), |app| {
        app.pgtop
            .dialog
            .as_ref()
            .is_some_and(|d| d.results.len() == 6)
    })
    .await;
    for r in &ui.app.pgtop.dialog.as_ref().unwrap().results {
        assert_eq!(r.outcome, SignalOutcome::Signalled, "pid {}", r.target.pid);
    }
    for b in shape_a.iter_mut() {
        assert_eq!(
            b.ended(Duration::from_secs(10)).await,
            Ok(Some("57014".into())),
            "pid {} cancelled",
            b.pid
        );
    }
    for b in &shape_b {
        assert!(b.is_running(), "pid {} of the other shape untouched", b.pid);
        assert!(pg.pid_alive(b.pid).await);
    }
    ui.until("follow-up check", Duration::from_secs(10), |app| {
        app.pgtop.dialog.as_ref().is_some_and(|d| d.all_ended)
    })
    .await;
    ui.press(KeyCode::Esc);
    // the group is gone from the grouped view; the other shape is still there
    ui.until("the sleepers' group gone", Duration::from_secs(10), |app| {
        group_of(app, a_pids[0]).is_none_or(|(_, p)| p.is_empty())
            && app
                .pgtop
                .query_groups()
                .iter()
                .all(|g| g.key != key_a || g.active == 0)
    })
    .await;
    assert_eq!(
        group_of(&ui.app, b_pids[0]).map(|g| g.1),
        Some(b_pids.clone())
    );
    drop(ui);
    pg.terminate(&b_pids).await;
}

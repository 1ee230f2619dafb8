//! pgtop end to end against a real PostgreSQL started here: the real App fed by the real
//! sources (`sources::spawn`), keys pressed as a user would, effects routed to the collector
//! like the run loop does (no terminal). pg_sleep sessions appear slow; `K` lists and cancels
//! exactly the slow ones; a backend whose statement changed between screen and confirm is left
//! alone; every signal is in the slow log; the binary in batch mode lists the sessions and exits
//! with the slow code. The detail pane of a long query with its real EXPLAIN plan scrolls to the
//! plan's last line at 80x24.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use stacktop::app::App;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::pg::classify::{classify, RowClass};
use stacktop::pg::kill::SignalOutcome;
use support::pg::{Pg, PgOpts};

const SLEEP: &str = "SELECT pg_sleep(600)";

type Ui = support::pg_ui::PgUi;

fn slow(app: &App, pid: i32) -> bool {
    let v = &app.pgtop;
    v.sessions().iter().any(|s| {
        s.pid == pid
            && matches!(
                classify(s, v.server_now(), &v.thresholds),
                RowClass::Slow | RowClass::Critical
            )
    })
}

fn config(pg: &Pg, dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.ui.refresh = Dur::millis(200);
    cfg.pgtop.conninfo = Some(pg.conninfo("postgres"));
    cfg.pgtop.slow_threshold = Duration::from_millis(800);
    cfg.pgtop.slow_log = Some(dir.join("slow.jsonl"));
    cfg
}

pg_matrix!(kill_slow_end_to_end_and_batch_binary);

async fn kill_slow_end_to_end_and_batch_binary(major: u32) {
    let pg = Pg::start_major(major, PgOpts::default());
    let dir = tempfile::tempdir().unwrap();
    let mut a = pg.running("postgres", "sleeper-a", SLEEP).await;
    let mut b = pg.running("postgres", "sleeper-b", SLEEP).await;
    let mut c = pg.running("postgres", "sleeper-c", SLEEP).await;
    let quick = pg
        .running("postgres", "quick", "SELECT pg_sleep(0.3)")
        .await;
    let mut ui = Ui::start(config(&pg, dir.path()));
    let (pa, pb, pc) = (a.pid, b.pid, c.pid);

    ui.until("three slow sleepers", Duration::from_secs(15), |app| {
        slow(app, pa) && slow(app, pb) && slow(app, pc)
    })
    .await;
    assert!(
        ui.app
            .pgtop
            .sessions()
            .iter()
            .all(|s| s.application_name != "stacktop"),
        "the own session is never listed"
    );
    assert!(!slow(&ui.app, quick.pid), "a short query is not slow");

    // K: the confirmation lists exactly the slow ones
    ui.key('K');
    let d = ui
        .app
        .pgtop
        .dialog
        .as_ref()
        .expect("K opens a confirmation");
    let mut listed: Vec<i32> = d.targets.iter().map(|t| t.pid).collect();
    listed.sort();
    let mut want = vec![pa, pb, pc];
    want.sort();
    assert_eq!(listed, want);
    let text = d
        .lines(chrono::Utc::now())
        .into_iter()
        .map(|l| l.1)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("Cancel 3 queries running longer than"),
        "{text}"
    );
    for p in [pa, pb, pc] {
        assert!(text.contains(&format!("pid {p:>7}")), "{text}");
    }

    // between screen and confirm, c's backend starts another statement (same pid)
    pg.admin()
        .await
        .execute("SELECT pg_cancel_backend($1)", &[&pc])
        .await
        .unwrap();
    c.ended(Duration::from_secs(10)).await.unwrap();
    c.run(SLEEP);
    pg.wait_until(
        &format!(
            "SELECT state = 'active' AND query = '{SLEEP}' FROM pg_stat_activity WHERE pid = {pc}"
        ),
        Duration::from_secs(10),
    )
    .await;

    ui.key('y');
    ui.until("signal results", Duration::from_secs(10), |app| {
        app.pgtop
            .dialog
            .as_ref()
            .is_some_and(|d| d.results.len() == 3)
    })
    .await;
    let d = ui.app.pgtop.dialog.as_ref().unwrap();
    for r in &d.results {
        let want = if r.target.pid == pc {
            SignalOutcome::Changed
        } else {
            SignalOutcome::Signalled
        };
        assert_eq!(r.outcome, want, "pid {}", r.target.pid);
    }
    assert_eq!(
        a.ended(Duration::from_secs(10)).await,
        Ok(Some("57014".into()))
    );
    assert_eq!(
        b.ended(Duration::from_secs(10)).await,
        Ok(Some("57014".into()))
    );
    assert!(c.is_running(), "the changed backend was not hit");
    assert!(pg.pid_alive(pc).await);

    // the next refresh shows both cancelled queries gone: no terminate offer
    ui.until("follow-up check", Duration::from_secs(10), |app| {
        app.pgtop.dialog.as_ref().is_some_and(|d| d.all_ended)
    })
    .await;
    ui.key('q'); // closes the dialog (swallowed: not quit)
    assert!(ui.app.pgtop.dialog.is_none() && !ui.app.should_quit);

    // every signal is in the slow log, with its outcome
    let log = std::fs::read_to_string(dir.path().join("slow.jsonl")).unwrap();
    let signals: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "signal")
        .collect();
    assert_eq!(signals.len(), 3, "{log}");
    for p in [pa, pb] {
        assert!(
            signals.iter().any(|v| v["pid"] == p
                && v["action"] == "cancel"
                && v["result"]["outcome"] == "signalled"),
            "{log}"
        );
    }
    assert!(
        signals
            .iter()
            .any(|v| v["pid"] == pc && v["result"]["outcome"] == "changed"),
        "{log}"
    );

    // the binary in batch mode: c still sleeps, so the exit code says "slow" (the same 800 ms
    // threshold as the UI's: c was over it there, so it is over it for the binary too)
    ui.until("c slow again", Duration::from_secs(10), |app| slow(app, pc))
        .await;
    drop(ui);
    // the password in the environment, not on the command line (which other users can read)
    let conninfo = pg.conninfo_nopw("postgres");
    let password = pg.password().to_string();
    let home = dir.path().to_path_buf();
    let t0 = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), &home)
            .env("PGPASSWORD", password)
            .args([
                "--no-user-config",
                "pgtop",
                "--batch",
                "--json",
                "--count",
                "1",
            ])
            .args(["--slow-threshold", "800ms", "--critical-threshold", "10m"])
            .arg(&conninfo)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(15));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(stacktop::wire::exit::PG_SLOW),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = rows.iter().find(|r| r["pid"] == pc).expect("c listed");
    assert_eq!(row["slow"], true);
    assert_eq!(row["query"], SLEEP);
    assert!(rows.iter().all(|r| r["application"] != "stacktop"));
    drop(c);
    drop(quick);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_webhook_flag_posts_once_and_reports_failure() {
    use support::webhook::{Mode, Webhook};
    let hook = Webhook::start(Mode::Ok).await;
    let home = tempfile::tempdir().unwrap();
    let run = |url: String, home: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), &home)
                .env("STACKTOP_TEST_HOOK", url)
                .env("STACKTOP_PGTOP__SLACK__RETRIES", "0")
                .args(["--no-user-config", "pgtop", "--test-webhook"])
                .args(["--slack-webhook-env", "STACKTOP_TEST_HOOK"])
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap()
        })
    };
    let out = run(hook.url("/hook"), home.path().into()).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("test message sent to 127.0.0.1"));
    let posts = hook.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].header("content-type"), Some("application/json"));
    assert!(posts[0].json()["text"]
        .as_str()
        .unwrap()
        .contains("stacktop test message"));
    hook.set_mode(Mode::Error500);
    let out = run(hook.url("/hook"), home.path().into()).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("webhook test failed"), "{err}");
    assert!(
        !err.contains("/hook"),
        "the URL (a secret) is not printed: {err}"
    );
}

/// The screen at `w`x`h`, one string per row.
fn screen(app: &App, w: u16, h: u16) -> Vec<String> {
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    term.draw(|f| stacktop::screen::draw(app, f)).unwrap();
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect()
}

pg_matrix!(detail_of_a_long_query_scrolls_to_the_end_of_its_plan_at_80x24);

async fn detail_of_a_long_query_scrolls_to_the_end_of_its_plan_at_80x24(major: u32) {
    let pg = Pg::start_major(major, PgOpts::default());
    let dir = tempfile::tempdir().unwrap();
    // one row, so it sleeps; a select list longer than the pane, a plan of several nodes
    let cols: Vec<String> = (0..12)
        .map(|i| format!("  c.relname || '_{i}' AS name_{i},"))
        .collect();
    let sql = format!(
        "SELECT\n{}\n  pg_sleep(600)\nFROM pg_class c\n  JOIN pg_namespace n ON n.oid = c.relnamespace\n  \
         JOIN pg_attribute a ON a.attrelid = c.oid\nWHERE c.relname = 'pg_class' AND n.nspname = 'pg_catalog' AND a.attnum = 1",
        cols.join("\n")
    );
    let backend = pg.running("postgres", "long-query", &sql).await;
    let pid = backend.pid;
    let mut ui = Ui::start(config(&pg, dir.path()));
    ui.app.resize(80, 24);
    ui.until("the long query listed", Duration::from_secs(15), |app| {
        app.pgtop.core.table.selected().map(|r| r.key.clone()) == Some(pid.to_string())
    })
    .await;
    ui.press(KeyCode::Enter);
    ui.key('e');
    ui.until("its EXPLAIN plan", Duration::from_secs(15), |app| {
        app.pgtop
            .detail
            .as_ref()
            .is_some_and(|d| matches!(d.explain, Some(Some(_))))
    })
    .await;
    let plan = match &ui.app.pgtop.detail.as_ref().unwrap().explain {
        Some(Some(Ok(plan))) => plan.clone(),
        other => panic!("EXPLAIN failed: {other:?}"),
    };
    assert!(plan.len() >= 3, "{plan:?}");
    let last_word = plan
        .last()
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string();
    let rows = screen(&ui.app, 80, 24);
    let border = rows
        .iter()
        .find(|l| l.contains(&format!("pid {pid} (Enter/Esc closes")))
        .unwrap_or_else(|| panic!("no detail pane:\n{}", rows.join("\n")));
    assert!(border.contains(" lines 1-"), "{border}");
    ui.press(KeyCode::End);
    for _ in 0..5 {
        ui.key('j'); // past the end: stays
    }
    let rows = screen(&ui.app, 80, 24);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", rows.join("\n"));
    }
    // the pane's last row (above the hint and status lines) ends the plan
    assert!(
        rows[21].split_whitespace().last() == Some(last_word.as_str()),
        "last plan line {:?} not at the bottom:\n{}",
        plan.last(),
        rows.join("\n")
    );
    assert_eq!(
        ui.app.pgtop.core.table.selected().map(|r| r.key.clone()),
        Some(pid.to_string()),
        "the list did not move"
    );
    assert!(ui.app.pgtop.dialog.is_none());
    assert!(backend.is_running());
}

//! End to end against a real varnishd (tests/support/varnish.rs): the vlog collector spawns
//! `varnishlog -n <instance> -g request`, known traffic (misses, hits, a pass, a 404, a slow
//! response) goes through varnishd, and exactly those requests reach the view's state in the
//! App. Then the varnishlog child is killed by PID: the health shows the exit and the restart,
//! and new requests appear again. Every wait is bounded; varnishd is stopped by its guard and
//! varnishlog dies with the runtime (kill_on_drop).

mod support;

use std::time::Duration;

use stacktop::app::App;
use stacktop::config::Config;
use stacktop::views::View;
use stacktop::vlog::{source, Filter, Handling};
use stacktop::wire::{SourceHealth, ViewKind};
use support::live::LiveApp;
use support::varnish::Varnish;

fn context(app: &App) -> String {
    format!(
        "health: {}; urls: {:?}",
        app.vlog.core().health.describe(),
        urls(app)
    )
}

fn urls(app: &App) -> Vec<String> {
    app.vlog.shown().map(|r| r.url().into_owned()).collect()
}

/// Readiness probes until one shows up in the view (varnishlog attached).
fn wait_attached(h: &mut LiveApp, v: &Varnish) {
    h.wait_attached(v, 10);
}

/// The requests the view holds, probes left out, in the order the client sent them (by
/// `Timestamp Start`; the log itself is in order of transaction end, so a miss can come after
/// the hits that followed it): (url, handling, status, total ms).
fn traffic(app: &App) -> Vec<(String, Handling, Option<u16>, f64)> {
    let mut v: Vec<(f64, String, Handling, Option<u16>, f64)> = app
        .vlog
        .shown()
        .filter(|r| !r.url().starts_with("/__stacktop_ready"))
        .map(|r| {
            (
                r.start,
                r.url().into_owned(),
                r.handling,
                r.status,
                r.total_ms,
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v.into_iter().map(|(_, u, h, s, t)| (u, h, s, t)).collect()
}

#[test]
fn live_varnishlog_feeds_the_view_and_a_killed_child_comes_back() {
    let v = Varnish::start();
    let mut cfg = Config::default();
    cfg.ui.start_view = ViewKind::Vlog;
    cfg.vlog.instance = Some(v.instance_name());
    let mut sc = source::source_config(&cfg.vlog, &Filter::default());
    sc.backoff_initial = Duration::from_millis(300);
    sc.batch_interval = Duration::from_millis(20);
    let (mut h, _cmd) = LiveApp::vlog(cfg, sc, context);

    h.until("varnishlog to start", 10, |a| a.vlog.child_pid.is_some());
    // Live once the instance is seen attached (not merely because a child was spawned).
    h.until("live", 10, |a| {
        matches!(a.vlog.core().health, SourceHealth::Live { .. })
    });
    wait_attached(&mut h, &v);

    let sent = [
        ("/static/a.css", Handling::Miss, 200),
        ("/static/a.css", Handling::Hit, 200),
        ("/static/a.css", Handling::Hit, 200),
        ("/nocache/x", Handling::Pass, 200),
        ("/missing", Handling::Miss, 404),
        ("/slow?ms=600", Handling::Miss, 200),
        ("/missing", Handling::Hit, 404),
    ];
    for (url, _, status) in sent {
        assert_eq!(v.get(url, &[]).status, status, "GET {url}");
    }
    h.until("the traffic in the view", 10, |a| {
        traffic(a).len() >= sent.len()
    });
    let got = traffic(&h.app);
    let want: Vec<(String, Handling, Option<u16>)> = sent
        .iter()
        .map(|(u, hd, s)| (u.to_string(), *hd, Some(*s)))
        .collect();
    let got_keys: Vec<(String, Handling, Option<u16>)> = got
        .iter()
        .map(|(u, hd, s, _)| (u.clone(), *hd, *s))
        .collect();
    assert_eq!(
        got_keys, want,
        "exactly the requests sent, in the order sent"
    );
    let slow = &got[5];
    assert!(slow.3 >= 600.0, "the slow response took {} ms", slow.3);
    assert!(got.iter().enumerate().all(|(i, r)| i == 5 || r.3 < 600.0));
    assert!(got.iter().all(|r| r.0.starts_with('/')));
    let backend = h
        .app
        .vlog
        .shown()
        .find(|r| r.url() == "/nocache/x")
        .and_then(|r| r.backend().map(|b| b.into_owned()));
    assert!(backend.is_some(), "a pass names its backend");

    // Kill the child by PID: the error shows, then it is restarted.
    let pid = h.app.vlog.child_pid.unwrap();
    // SAFETY: kill(2) on the PID of the varnishlog child this test's collector spawned.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    h.until("the exit on the status line", 10, |a| {
        a.vlog.core().health.is_failed()
    });
    let msg = h.app.vlog.core().health.describe();
    assert!(
        msg.contains("varnishlog exited (killed by a signal)")
            && msg.contains("restarting in 300ms"),
        "{msg}"
    );
    h.until("the restart", 10, |a| {
        a.vlog.starts == 2 && a.vlog.child_pid.is_some_and(|p| p != pid)
    });
    h.until("live again", 10, |a| {
        matches!(a.vlog.core().health, SourceHealth::Live { .. })
    });
    wait_attached(&mut h, &v);
    assert_eq!(v.get("/static/after-restart.css", &[]).status, 200);
    h.until("a request after the restart", 10, |a| {
        traffic(a)
            .iter()
            .any(|r| r.0 == "/static/after-restart.css")
    });
    let last = traffic(&h.app).pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1, last.2),
        ("/static/after-restart.css", Handling::Miss, Some(200))
    );
    assert_eq!(
        traffic(&h.app).len(),
        sent.len() + 1,
        "nothing lost or doubled"
    );
    // Dropping the runtime ends the collector: the varnishlog child is killed (kill_on_drop).
    let second = h.app.vlog.child_pid.unwrap();
    assert!(support::proc::pid_alive(second));
    drop(h);
    support::proc::wait_until(
        "varnishlog to die with the runtime",
        Duration::from_secs(5),
        || (!support::proc::pid_alive(second)).then_some(()),
    );
}

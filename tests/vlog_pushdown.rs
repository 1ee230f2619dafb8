//! Filter push-down (`varnishlog -q`) against real Varnish.
//!
//! 1. A binary capture replayed through `varnishlog -r -q QUERY` for a set of filters: the
//!    filter keeps exactly the same requests from the pushed-down stream as from the whole
//!    capture (the query never drops a row the filter shows), and some queries do thin it.
//! 2. Live: varnishd plus the collector with `push_down`, started with a filter. Editing the
//!    filter at the `/` prompt restarts the spawned varnishlog once, on Enter (not per key),
//!    with the new `-q` (read back from /proc/PID/cmdline); widening it restarts it without
//!    `-q`; the ring and the statistics are kept; a flash says what happened.
//!
//! Every wait is bounded; varnishd is stopped by its guard, varnishlog dies with the runtime.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Effect, SourceCommand};
use stacktop::vlog::{parse_all, source, Filter, Request};
use stacktop::wire::ViewKind;
use support::live::LiveApp;
use support::varnish::Varnish;
use tokio::sync::mpsc;

fn fixture_path(name: &str) -> String {
    format!(
        "{}/tests/fixtures/varnish/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `varnishlog -r <capture> -g request [-q QUERY]`, parsed.
fn replay(query: Option<&str>) -> Vec<Request> {
    let bin = support::proc::require_binary("varnishlog", "varnish");
    let mut cmd = Command::new(bin);
    cmd.args(["-g", "request", "-r"])
        .arg(fixture_path("varnish7-first8sessions.bin"));
    if let Some(q) = query {
        cmd.args(["-q", q]);
    }
    let (st, out, err) = support::proc::run_bounded("varnishlog -r", cmd, Duration::from_secs(30));
    assert!(st.success(), "varnishlog -q {query:?} failed: {err}");
    assert!(err.trim().is_empty(), "varnishlog -q {query:?}: {err}");
    parse_all(out.as_bytes()).0
}

fn ids<'a>(rows: impl Iterator<Item = &'a Request>) -> BTreeSet<String> {
    rows.map(|r| String::from_utf8_lossy(r.req_header("X-Request-Id").unwrap_or(b"-")).into_owned())
        .collect()
}

#[test]
fn pushed_down_queries_never_drop_a_row_the_filter_keeps() {
    let all = replay(None);
    assert_eq!(all.len(), 65, "the capture holds 65 requests");
    let mut thinned = 0;
    for words in [
        r"url=^/static/asset-0\d",
        r"url=\.css$",
        r"url=asset-.[05]\.",
        r"url=^/static/[^/]+-1.\.(js|css)$",
        r"url=^/STATIC",
        "status=304",
        "status=2xx,404",
        "only_hits=1",
        r"client=^127\.0\.0\.[23]$",
        "method=GET url=html$",
        "only_slow=1",
        "url=^/static/ status=200 only_hits=1",
    ] {
        let f = Filter::parse(words).unwrap();
        let q = f
            .vsl_query()
            .unwrap_or_else(|| panic!("{words} should push down"));
        let pushed = replay(Some(&q));
        let want = ids(all.iter().filter(|r| f.matches(r)));
        let got = ids(pushed.iter().filter(|r| f.matches(r)));
        assert_eq!(got, want, "filter {words} with -q {q}");
        assert!(
            ids(pushed.iter()).is_subset(&ids(all.iter())),
            "-q {q} invents rows"
        );
        if pushed.len() < all.len() {
            thinned += 1;
        }
    }
    assert!(thinned >= 10, "only {thinned} queries thinned the stream");
}

struct Harness {
    live: LiveApp,
    cmd: mpsc::Sender<SourceCommand>,
    /// Every `SourceCommand::VlogQuery` the keys produced.
    queries: Vec<Option<String>>,
}

impl std::ops::Deref for Harness {
    type Target = LiveApp;
    fn deref(&self) -> &LiveApp {
        &self.live
    }
}

impl std::ops::DerefMut for Harness {
    fn deref_mut(&mut self) -> &mut LiveApp {
        &mut self.live
    }
}

fn context(app: &App) -> String {
    format!(
        "health: {}; ring: {:?}",
        app.vlog.core.health.describe(),
        ring_urls(app)
    )
}

impl Harness {
    /// A key, its effects carried out as the run loop does (source commands only).
    fn key(&mut self, code: KeyCode, mods: KeyModifiers) {
        for e in self.app.handle_key(KeyEvent::new(code, mods)) {
            if let Effect::ToSource(ViewKind::Vlog, c) = e {
                if let SourceCommand::VlogQuery(q) = &c {
                    self.queries.push(q.clone());
                }
                self.cmd.try_send(c).expect("command queue");
            }
        }
    }

    /// `/`, clear the line, type `text`, Enter.
    fn filter(&mut self, text: &str) {
        self.key(KeyCode::Char('/'), KeyModifiers::NONE);
        self.key(KeyCode::Char('u'), KeyModifiers::CONTROL);
        for c in text.chars() {
            self.key(KeyCode::Char(c), KeyModifiers::NONE);
        }
        self.key(KeyCode::Enter, KeyModifiers::NONE);
    }

    /// Sends `prefix`N until one arrives in the ring: varnishlog is attached and its query
    /// lets `prefix` through.
    fn attached(&mut self, v: &Varnish, prefix: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        for i in 0.. {
            assert!(
                Instant::now() < deadline,
                "no {prefix} request came through"
            );
            let url = format!("{prefix}{i}");
            assert_eq!(v.get(&url, &[]).status, 200, "GET {url}");
            if self.pump_until(Duration::from_millis(700), |a| ring_urls(a).contains(&url)) {
                return;
            }
        }
    }
}

fn ring_urls(app: &App) -> Vec<String> {
    app.vlog.ring.iter().map(|r| r.url().into_owned()).collect()
}

fn shown_urls(app: &App) -> Vec<String> {
    app.vlog.shown().map(|r| r.url().into_owned()).collect()
}

/// The arguments of the varnishlog child `pid` (polled: right after the fork the PID may
/// still show the parent's image for a moment).
fn cmdline(pid: u32) -> Vec<String> {
    support::proc::wait_until(
        "the child to exec varnishlog",
        Duration::from_secs(5),
        || {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = raw
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.first()
                .is_some_and(|a| a.ends_with("varnishlog"))
                .then_some(args)
        },
    )
}

/// The value after `-q`, if any.
fn query_arg(args: &[String]) -> Option<String> {
    let i = args.iter().position(|a| a == "-q")?;
    args.get(i + 1).cloned()
}

#[test]
fn a_committed_filter_restarts_varnishlog_once_with_the_new_query() {
    let v = Varnish::start();
    let mut cfg = Config::default();
    cfg.ui.start_view = ViewKind::Vlog;
    cfg.vlog.instance = Some(v.instance_name());
    cfg.vlog.push_down = true;
    cfg.vlog.filter = vec!["url=^/static/".into()];
    let filter = cfg.vlog.parsed_filter().unwrap();
    let mut sc = source::source_config(&cfg.vlog, &filter);
    sc.backoff_initial = Duration::from_millis(300);
    sc.batch_interval = Duration::from_millis(20);
    let (live, cmd) = LiveApp::vlog(cfg, sc, context);
    let mut h = Harness {
        live,
        cmd,
        queries: Vec::new(),
    };

    h.until("varnishlog to start", 10, |a| a.vlog.child_pid.is_some());
    let first = h.app.vlog.child_pid.unwrap();
    assert_eq!(
        query_arg(&cmdline(first)).as_deref(),
        Some(r#"ReqURL ~ "^/static/""#)
    );
    h.attached(&v, "/static/probe-a");
    assert_eq!(v.get("/nocache/before", &[]).status, 200);
    assert_eq!(v.get("/static/before.css", &[]).status, 200);
    h.until("/static/before.css", 10, |a| {
        ring_urls(a).contains(&"/static/before.css".to_string())
    });
    assert!(
        !ring_urls(&h.app).iter().any(|u| u.starts_with("/nocache/")),
        "the query keeps /nocache/ out of the stream: {:?}",
        ring_urls(&h.app)
    );

    // Narrow to another URL space: one restart, on Enter only.
    h.filter("url=^/nocache/");
    assert_eq!(
        h.queries,
        [Some(r#"ReqURL ~ "^/nocache/""#.to_string())],
        "one query, on Enter, not one per key"
    );
    h.until("the restart for the new query", 10, |a| {
        a.vlog.requeries == 1 && a.vlog.child_pid.is_some_and(|p| p != first)
    });
    let second = h.app.vlog.child_pid.unwrap();
    assert_eq!(
        query_arg(&cmdline(second)).as_deref(),
        Some(r#"ReqURL ~ "^/nocache/""#)
    );
    h.until("the flash", 5, |a| {
        a.flash
            .as_ref()
            .is_some_and(|f| f.text == r#"varnishlog restarted with -q 'ReqURL ~ "^/nocache/"'"#)
    });
    h.attached(&v, "/nocache/probe-b");
    assert_eq!(v.get("/static/during.css", &[]).status, 200);
    assert_eq!(v.get("/nocache/during", &[]).status, 200);
    h.until("/nocache/during", 10, |a| {
        shown_urls(a).contains(&"/nocache/during".to_string())
    });
    let ring = ring_urls(&h.app);
    assert!(
        ring.contains(&"/static/before.css".to_string()),
        "the ring is kept: {ring:?}"
    );
    assert!(
        !ring.contains(&"/static/during.css".to_string()),
        "the new query is in force: {ring:?}"
    );
    assert!(shown_urls(&h.app)
        .iter()
        .all(|u| u.starts_with("/nocache/")));

    // Committing the same filter again changes nothing.
    h.filter("url=^/nocache/");
    // Widen (no filter): restarted without -q, everything comes again.
    h.filter("");
    assert_eq!(h.queries.len(), 3);
    assert_eq!(h.queries[2], None);
    h.until("the restart without a query", 10, |a| {
        a.vlog.requeries == 2 && a.vlog.child_pid.is_some_and(|p| p != second)
    });
    let third = h.app.vlog.child_pid.unwrap();
    assert_eq!(query_arg(&cmdline(third)), None, "{:?}", cmdline(third));
    h.attached(&v, "/static/probe-c");
    for url in ["/static/after.css", "/nocache/after"] {
        assert_eq!(v.get(url, &[]).status, 200);
    }
    h.until("both URL spaces after widening", 10, |a| {
        let s = shown_urls(a);
        s.contains(&"/static/after.css".to_string()) && s.contains(&"/nocache/after".to_string())
    });
    assert_eq!(
        (
            h.app.vlog.starts,
            h.app.vlog.requeries,
            h.app.vlog.failed_restarts()
        ),
        (3, 2, 0),
        "one restart per changed query, none for the repeated one"
    );
    let shown = shown_urls(&h.app);
    assert!(
        shown.contains(&"/static/before.css".to_string())
            && shown.contains(&"/nocache/during".to_string()),
        "rows from every child are kept: {shown:?}"
    );
    let now = h.app.vlog.stats_now(chrono::Local::now());
    let total = h.app.vlog.stats.snapshot(now).total;
    assert_eq!(
        total,
        h.app.vlog.ring.pushed(),
        "the statistics count every row since start"
    );
}

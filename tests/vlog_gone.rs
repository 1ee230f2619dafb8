//! vlog when varnishd is not there, against a real varnishd (tests/support/varnish.rs):
//! killed under a live App the status says "reconnecting since HH:MM:SS: varnishd not running
//! (…)" (the time once) and keeps saying it (same time) across retries until a varnishd is back; `vlog --batch` with no
//! varnishd exits 1 with the reason after three failed starts; Vinyl Cache's `vinyllog` name
//! (the real varnishlog installed under it) is found, named and fed by `VINYL_DEFAULT_N`;
//! `vlog -n NAME -q QUERY --count N` on the command line.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stacktop::app::App;
use stacktop::config::Config;
use stacktop::vlog::{input::Input, source, Filter};
use stacktop::wire::{SourceHealth, ViewKind};
use support::live::LiveApp;
use support::varnish::Varnish;

fn context(app: &App) -> String {
    format!("health: {}", app.vlog.core.health.describe())
}

fn is_live(a: &App) -> bool {
    matches!(a.vlog.core.health, SourceHealth::Live { .. })
}

/// Readiness probes until one shows up in the view (varnishlog attached).
fn wait_attached(h: &mut LiveApp, v: &Varnish) {
    h.wait_attached(v, 15);
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn live_app(instance: &Path) -> LiveApp {
    let mut cfg = Config::default();
    cfg.ui.start_view = ViewKind::Vlog;
    cfg.vlog.instance = Some(instance.display().to_string());
    let path = std::env::var_os("PATH");
    let mut sc = source::source_config_env(&cfg.vlog, &Filter::default(), path.as_deref(), &no_env);
    assert!(sc.probe.is_some(), "a live varnishlog is watched");
    sc.backoff_initial = Duration::from_millis(200);
    sc.backoff_max = Duration::from_secs(1);
    sc.probe_interval = Duration::from_millis(200);
    sc.batch_interval = Duration::from_millis(20);
    LiveApp::vlog(cfg, sc, context).0
}

/// `HH:MM:SS` of "reconnecting since HH:MM:SS: varnishd not running (…)"; the line says the
/// time once (the status bar's "DISCONNECTED since …" line too).
fn down_since(a: &App) -> Option<String> {
    let h = &a.vlog.core.health;
    let d = h.describe();
    let rest = d.strip_prefix("reconnecting since ")?;
    if !rest.get(8..)?.starts_with(": varnishd not running (") {
        return None;
    }
    for line in [&d, &h.describe_at(chrono::Local::now(), None)] {
        assert_eq!(line.matches("since").count(), 1, "the time twice: {line}");
    }
    Some(rest[..8].to_string())
}

#[test]
fn a_killed_varnishd_shows_not_running_until_one_is_back() {
    let mut v1 = Varnish::start();
    // The instance is a name (a symlink) that a second varnishd can take over.
    let names = tempfile::tempdir().unwrap();
    let inst = names.path().join("inst");
    std::os::unix::fs::symlink(v1.workdir(), &inst).unwrap();
    let mut h = live_app(&inst);
    h.until("live", 15, is_live);
    wait_attached(&mut h, &v1);

    v1.stop();
    h.until("varnishd not running", 10, |a| down_since(a).is_some());
    let since = down_since(&h.app).unwrap();
    assert!(h.app.vlog.core.health.is_failed());
    // Retries (200 ms → 1 s backoff) do not flip it back to live, nor move the time.
    assert!(
        !h.pump_until(Duration::from_secs(3), |a| !a.vlog.core.health.is_failed()),
        "the status left 'not running' without a varnishd: {}",
        context(&h.app)
    );
    assert_eq!(down_since(&h.app).as_deref(), Some(since.as_str()));

    let v2 = Varnish::start();
    std::fs::remove_file(&inst).unwrap();
    std::os::unix::fs::symlink(v2.workdir(), &inst).unwrap();
    h.until("live again", 20, is_live);
    wait_attached(&mut h, &v2);
    assert!(is_live(&h.app), "{}", context(&h.app));
}

fn stacktop() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacktop"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .arg("--no-user-config")
        .stdin(Stdio::null());
    c
}

#[test]
fn batch_with_no_varnishd_exits_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent");
    let t0 = Instant::now();
    let mut cmd = stacktop();
    cmd.args(["vlog", "--batch", "-n", absent.to_str().unwrap()]);
    // Bounded: without the give-up rule it would retry forever (and fail here).
    let (status, _out, err) =
        support::proc::run_bounded("vlog --batch", cmd, Duration::from_secs(30));
    let took = t0.elapsed();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(
        err.contains(": varnishd not running (")
            && !err.contains("not running since")
            && err.contains("no varnishd instance at")
            && err.contains("giving up after 3 failed starts"),
        "{err}"
    );
}

#[test]
fn vinyllog_is_found_named_and_fed_by_vinyl_default_n() {
    let v = Varnish::start();
    let bin = tempfile::tempdir().unwrap();
    let real = support::proc::require_binary("varnishlog", "varnish");
    let vinyllog = bin.path().join("vinyllog");
    std::os::unix::fs::symlink(&real, &vinyllog).unwrap();
    let mut cfg = Config::default();
    cfg.ui.start_view = ViewKind::Vlog;
    let workdir = v.instance_name();
    let env = |k: &str| (k == "VINYL_DEFAULT_N").then(|| workdir.clone());
    // Only vinyllog on this PATH: it is the one run, with the instance from the variable.
    let mut sc = source::source_config_env(
        &cfg.vlog,
        &Filter::default(),
        Some(bin.path().as_os_str()),
        &env,
    );
    match &sc.input {
        Input::Command { program, args } => {
            assert_eq!(program, &vinyllog);
            assert!(
                args.windows(2).any(|w| w[0] == "-n" && w[1] == workdir),
                "{args:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sc.probe.as_ref().unwrap().daemon, "vinyld");
    sc.batch_interval = Duration::from_millis(20);
    let mut h = LiveApp::vlog(cfg, sc, context).0;
    h.until("live", 15, is_live);
    wait_attached(&mut h, &v);
    assert!(
        h.app
            .vlog
            .program
            .as_deref()
            .is_some_and(|p| p.contains("vinyllog")),
        "{:?}",
        h.app.vlog.program
    );
    // A configured command wins over the lookup.
    cfg = Config::default();
    cfg.vlog.command = real.display().to_string();
    let sc = source::source_config_env(
        &cfg.vlog,
        &Filter::default(),
        Some(bin.path().as_os_str()),
        &env,
    );
    assert!(matches!(&sc.input, Input::Command { program, .. } if *program == real));
}

#[test]
fn vlog_n_is_the_instance_q_the_query_and_count_stays_long() {
    use clap::Parser;
    let cli = stacktop::cli::Cli::try_parse_from([
        "stacktop",
        "vlog",
        "-n",
        "edge1",
        "-q",
        "ReqURL ~ \"^/api\"",
        "--count",
        "5",
    ])
    .expect("parse");
    let t = cli.overlay();
    assert_eq!(t["vlog"]["instance"].as_str(), Some("edge1"));
    assert_eq!(t["vlog"]["query"].as_str(), Some("ReqURL ~ \"^/api\""));
    assert_eq!(t["batch"]["count"].as_integer(), Some(5));
    // Before the subcommand (and for the other views) -n is still the batch count.
    let cli = stacktop::cli::Cli::try_parse_from(["stacktop", "-n", "3", "pgtop"]).unwrap();
    assert_eq!(cli.overlay()["batch"]["count"].as_integer(), Some(3));
    // The query goes to varnishlog as is, ANDed with a pushed-down filter.
    assert_eq!(
        source::combine_query(Some("ReqURL ~ x"), Some("RespStatus == 503".into())).as_deref(),
        Some("(ReqURL ~ x) and (RespStatus == 503)")
    );
}

/// Without the instance probe (a plain command), the real varnishlog failing to attach again
/// and again: "varnishd not running" since the first failure's time on every retry, never "live"
/// when the next child starts.
#[test]
fn retries_without_a_probe_never_flip_back_to_live() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent").display().to_string();
    let varnishlog = support::proc::require_binary("varnishlog", "varnish");
    let args = vec!["-n".into(), absent, "-t".into(), "0".into()];
    let mut sc = stacktop::vlog::SourceConfig::command(varnishlog, args, true);
    sc.backoff_initial = Duration::from_millis(100);
    sc.backoff_max = Duration::from_millis(200);
    let mut cfg = Config::default();
    cfg.ui.start_view = ViewKind::Vlog;
    let mut h = LiveApp::vlog(cfg, sc, context).0;
    h.until("varnishd not running", 10, |a| down_since(a).is_some());
    let since = down_since(&h.app).unwrap();
    let starts = h.app.vlog.starts;
    let mut flipped = false;
    h.until("four more starts", 15, |a| {
        flipped |= !a.vlog.core.health.is_failed();
        a.vlog.starts >= starts + 4
    });
    assert!(!flipped, "the status left 'not running' between retries");
    assert_eq!(down_since(&h.app).as_deref(), Some(since.as_str()));
    assert!(
        h.app
            .vlog
            .core
            .health
            .describe()
            .contains("Could not get hold of varnishd"),
        "{}",
        context(&h.app)
    );
}

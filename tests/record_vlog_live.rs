//! The flight recorder on the vlog tab, against a real varnishd (tests/support/varnish.rs):
//! the App fed by the real vlog source (varnishlog) records itself while traffic with hits,
//! misses, a pass, a 404 and 500s goes through varnishd; `stacktop replay --batch --json`
//! then prints every request the live run received, request for request, as the live
//! `vlog --batch --json` prints it, stamped with the instant it arrived; the counts (all, 5xx)
//! are the live ones. The TUI replay's time cursor, playing forward, draws the vlog tab as the
//! live app drew it at every instant (requests, counters, header, status line); a `:goto` back
//! shows the state of that instant: no request recorded after it.

mod support;

use std::time::Duration;

use serde_json::Value;
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::Payload;
use stacktop::vlog::{source, Filter, VlogEvent};
use stacktop::wire::ViewKind;
use support::replay::{local, Taped, H};
use support::replay_cursor::CursorApp;
use support::varnish::Varnish;

const PROBE: &str = "/__stacktop_ready";

fn traffic(app: &App) -> usize {
    app.vlog
        .shown()
        .filter(|r| !r.url().starts_with(PROBE))
        .count()
}

#[test]
fn varnish_traffic_with_5xx_replays_request_for_request() {
    let v = Varnish::start();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("vlog.sqlite");
    let mut cfg = Config::default();
    cfg.ui.start_view = ViewKind::Vlog;
    cfg.vlog.instance = Some(v.instance_name());
    // a flash message expires by the wall clock, not the app's: kept for the whole test, the
    // replayed status line is comparable
    cfg.ui.flash = stacktop::base::Dur::secs(3600);
    let mut sc = source::source_config(&cfg.vlog, &Filter::default());
    sc.backoff_initial = Duration::from_millis(300);
    sc.batch_interval = Duration::from_millis(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let _cmd = rt.block_on(async { source::spawn_with(sc, tx) });
    let mut live = Taped::new(cfg.clone(), ViewKind::Vlog, rx, &rec);

    // varnishlog attached: a probe shows up in the view
    let probes = |a: &App| a.vlog.shown().filter(|r| r.url() == PROBE).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "varnishlog never showed a probe"
        );
        assert_eq!(v.get(PROBE, &[]).status, 200);
        if rt.block_on(live.pump_until(Duration::from_millis(700), |a| probes(a) > 0)) {
            break;
        }
    }

    let sent = [
        ("/static/a.css", 200),
        ("/static/a.css", 200),
        ("/nocache/x", 200),
        ("/missing", 404),
        ("/error", 500),
        ("/static/b.css", 200),
        ("/error", 500),
        ("/slow?ms=300", 200),
        ("/error", 500),
    ];
    for (url, status) in sent {
        assert_eq!(v.get(url, &[]).status, status, "GET {url}");
    }
    rt.block_on(
        live.until("the traffic in the view", Duration::from_secs(15), |a| {
            traffic(a) >= sent.len()
        }),
    );
    let stats = live.finish();
    drop(_cmd);
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(stats.dropped.load(Relaxed), 0, "{}", stats.summary());
    assert_eq!(stats.lost.load(Relaxed), 0, "{}", stats.summary());

    // what the live run received: each request's batch JSON, stamped with its instant
    let mut want: Vec<Value> = Vec::new();
    for (ts, u) in &live.offered {
        if let Payload::Vlog(VlogEvent::Requests(reqs)) = &u.payload {
            for r in reqs {
                let mut j = stacktop::vlog::format::json_value(r);
                j.as_object_mut()
                    .unwrap()
                    .insert("ts".into(), local(*ts).to_rfc3339().into());
                want.push(j);
            }
        }
    }
    let five = |v: &[Value]| {
        v.iter()
            .filter(|r| r["status"].as_u64().is_some_and(|s| s >= 500))
            .count()
    };
    assert_eq!(five(&want), 3, "the live run saw the three 500s");
    assert_eq!(
        want.iter().filter(|r| r["url"] != PROBE).count(),
        sent.len(),
        "and exactly the requests sent"
    );

    let out = support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), dir.path())
        .args(["--no-user-config", "replay"])
        .arg(&rec)
        .args(["--batch", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let got: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|j| j.get("url").is_some())
        .collect();
    assert_eq!(got.len(), want.len(), "request count\n{text}");
    assert_eq!(five(&got), 3);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let differ: Vec<String> = w
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| g.get(k.as_str()) != Some(*v))
            .map(|(k, v)| format!("{k}: live {v}, replayed {}", g[k.as_str()]))
            .collect();
        assert_eq!(g, w, "request {i}: {differ:?}");
    }

    // the TUI replay: its time cursor playing forward hands the app every record passed; at
    // every instant the live app drew (from the first record on), the screen is the live one
    let (first, last) = stacktop::record::store::Reader::open(&rec)
        .unwrap()
        .span()
        .unwrap()
        .unwrap();
    let mut tui = CursorApp::open(cfg.clone(), ViewKind::Vlog, &rec);
    let mut compared = 0;
    for (i, shot) in live.shots.iter().enumerate() {
        if shot.ts_ms < first {
            continue;
        }
        let got = tui.play_to(shot.ts_ms);
        assert_eq!(
            got, shot.screen,
            "shot {i}: the replayed vlog tab differs from the live one at {}\nlive:\n{}\nreplayed:\n{got}",
            local(shot.ts_ms), shot.screen
        );
        compared += 1;
    }
    assert!(compared >= 3, "{compared} instants compared");
    assert_eq!(traffic(&tui.app), sent.len(), "every request replayed once");
    assert_eq!(tui.cursor.skipped, 0, "every record decodes");

    // :goto back to the instant the live app first showed the 404: the requests of then,
    // none recorded after (the recording is shorter than the minute a jump rebuilds, so the
    // tab equals the live one then; the status line keeps the last message, compared apart)
    assert!(
        last - first < 50_000,
        "the recording spans {} ms",
        last - first
    );
    let (k, then) = live
        .shots
        .iter()
        .enumerate()
        .find(|(_, s)| s.ts_ms >= first && s.screen.contains("/missing"))
        .expect("a shot with the 404");
    assert!(!then.screen.contains("/slow"), "{}", then.screen);
    let got = tui.goto(then.ts_ms);
    let body = |s: &str| {
        s.lines()
            .take(usize::from(H) - 1)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        body(&got),
        body(&then.screen),
        "shot {k}: after :goto back\nlive:\n{}\nreplayed:\n{got}",
        then.screen
    );
    let arrived: Vec<(u64, String)> = live
        .offered
        .iter()
        .filter(|(ts, _)| *ts <= then.ts_ms)
        .flat_map(|(_, u)| match &u.payload {
            Payload::Vlog(VlogEvent::Requests(r)) => {
                r.iter().map(|r| (r.vxid, r.url().into_owned())).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    let shown: Vec<(u64, String)> = tui
        .app
        .vlog
        .shown()
        .map(|r| (r.vxid, r.url().into_owned()))
        .collect();
    assert_eq!(
        shown, arrived,
        "after :goto back: exactly the requests recorded up to then"
    );
    assert!(shown.iter().all(|(_, u)| u != "/slow?ms=300"));
}

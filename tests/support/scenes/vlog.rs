//! vlogdump: ten live requests (7 hits, a slow miss, a 503 pass, a miss) with the top pane, a
//! filter on 5xx, the detail of the slow request, and varnishd gone (the rows stay).

use crossterm::event::KeyCode;
use stacktop::app::App;
use stacktop::config::{Config, Dur, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::theme::Theme;
use stacktop::vlog::builder::RequestBuilder;
use stacktop::vlog::{Handling, Request, VlogEvent};
use stacktop::wire::SourceHealth;

use super::{press, type_str, Scene};

pub fn scenes() -> Vec<Scene> {
    vec![
        Scene {
            name: "vlog-requests",
            state:
                "vlogdump, 10 requests in a second: 7 HIT, a slow MISS (1.5 s), a 503 PASS, a MISS",
            build: app,
        },
        Scene {
            name: "vlog-filter",
            state: "vlogdump, filter only_status=5xx: 1 of 10 rows",
            build: |w, h| {
                let mut a = app(w, h);
                press(&mut a, KeyCode::Char('/'));
                type_str(&mut a, "only_status=5xx");
                press(&mut a, KeyCode::Enter);
                a
            },
        },
        Scene {
            name: "vlog-detail",
            state: "vlogdump, Enter on the slow request: its record",
            build: |w, h| {
                let mut a = app(w, h);
                for _ in 0..3 {
                    press(&mut a, KeyCode::Up);
                }
                press(&mut a, KeyCode::Enter);
                a
            },
        },
        Scene {
            name: "vlog-gone",
            state: "vlogdump, varnishd gone 12 s ago, restarting in 5 s; the rows stay",
            build: gone,
        },
    ]
}

const T0: f64 = 1_795_460_028.25; // 2026-11-23T18:53:48.250Z

fn req(i: u64, url: &str, h: Handling, status: u16, ms: f64) -> Request {
    let mut b = RequestBuilder {
        vxid: 100 + i,
        start: T0 + i as f64 * 0.01,
        handling: h,
        status: Some(status),
        total_ms: Some(ms),
        bytes: 1000 + i,
        ..Default::default()
    };
    b.ip.extend_from_slice(format!("10.0.0.{}", i % 3 + 1).as_bytes());
    b.method.extend_from_slice(b"GET");
    b.url.extend_from_slice(url.as_bytes());
    b.proto.extend_from_slice(b"HTTP/1.1");
    b.reason.extend_from_slice(if status == 503 {
        b"Service Unavailable"
    } else {
        b"OK"
    });
    if h != Handling::Hit {
        b.backend.extend_from_slice(b"origin");
        b.backend_status = Some(status);
    }
    RequestBuilder::push_header(
        &mut b.req_headers,
        format!("Host: shop{i}.example").as_bytes(),
    );
    RequestBuilder::push_header(&mut b.resp_headers, b"X-Cache: test");
    b.build()
}

fn app(w: u16, h: u16) -> App {
    let mut cfg = Config::default();
    cfg.vlog.slow = Dur::secs(1);
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Vlog);
    a.resize(w, h);
    a.now = chrono::DateTime::from_timestamp(T0 as i64 + 1, 0)
        .unwrap_or_default()
        .with_timezone(&chrono::Local);
    let mut v: Vec<Request> = (0..7)
        .map(|i| req(i, &format!("/static/a{i}.css"), Handling::Hit, 200, 0.5))
        .collect();
    v.push(req(7, "/slow/report", Handling::Miss, 200, 1500.0));
    v.push(req(8, "/api/broken", Handling::Pass, 503, 2.0));
    v.push(req(9, "/static/new.js", Handling::Miss, 200, 3.0));
    a.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Health(SourceHealth::Live { at: a.now }),
    });
    a.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Vlog(VlogEvent::Requests(v)),
    });
    a
}

fn gone(w: u16, h: u16) -> App {
    let mut a = app(w, h);
    let now = a.now;
    a.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Health(SourceHealth::Reconnecting {
            since: now - chrono::Duration::seconds(12),
            error: "varnishd not running since 18:53:37 (varnishlog: Cannot open /var/lib/varnish/prod-cache-01/_.vsm: No such file or directory); restarting in 5s".into(),
            next_try: Some(now + chrono::Duration::seconds(5)),
        }),
    });
    a
}

//! Streaming statistics and the ring: windows, percentiles, top-k accuracy, fixed size.

use stacktop::vlog::builder::RequestBuilder;
use stacktop::vlog::stats::{LatHist, TopK};
use stacktop::vlog::{parse_all, Handling, Request, Ring, Stats};

fn req(url: &str, ip: &str, h: Handling, status: Option<u16>, ms: f64) -> Request {
    let mut b = RequestBuilder::default();
    b.url.extend_from_slice(url.as_bytes());
    b.ip.extend_from_slice(ip.as_bytes());
    b.handling = h;
    b.status = status;
    b.total_ms = Some(ms);
    b.build()
}

#[test]
fn windows_rates_and_percentiles() {
    let mut s = Stats::new();
    let t0 = 1_000_000.0;
    // 70 s of traffic: 10 req/s; second 69 alone has 5xx and slow requests.
    for sec in 0..70 {
        for i in 0..10 {
            let (h, st, ms) = if sec == 69 && i < 5 {
                (Handling::Pass, Some(503), 2000.0)
            } else if i % 2 == 0 {
                (Handling::Hit, Some(200), 1.0)
            } else {
                (Handling::Miss, Some(200), 10.0)
            };
            s.observe(&req("/a?x=1", "10.0.0.1", h, st, ms), t0 + sec as f64 + 0.5);
        }
    }
    let snap = s.snapshot(t0 + 69.9);
    assert_eq!(snap.total, 700);
    assert_eq!(snap.last_10s.requests, 100);
    assert_eq!(
        snap.last_1m.requests, 600,
        "older seconds left the 1-minute ring"
    );
    assert!((snap.last_10s.req_per_s - 10.0).abs() < 1e-9);
    assert!((snap.last_1m.req_per_s - 10.0).abs() < 1e-9);
    assert_eq!(snap.last_10s.rate_5xx, Some(0.05));
    assert_eq!(snap.last_10s.status_classes[5], 5);
    // Hits: 45 of 50 lookups in the other 9 s, 0 of 5 passes + 2 hits + 3 misses in the last.
    let hr = snap.last_10s.hit_ratio.unwrap();
    assert!((hr - 47.0 / 100.0).abs() < 1e-9, "{hr}");
    // Percentiles within one 12 % bucket. Last minute: 297 hits at 1 ms, 298 at 10 ms, 5 at 2 s.
    let p50 = snap.last_1m.p50_ms.unwrap();
    assert!((10.0..=11.3).contains(&p50), "{p50}");
    let mut early = Stats::new();
    for i in 0..100 {
        early.observe(
            &req(
                "/",
                "1",
                Handling::Hit,
                Some(200),
                if i < 60 { 1.0 } else { 10.0 },
            ),
            t0,
        );
    }
    let e = early.snapshot(t0);
    assert!((1.0..=1.13).contains(&e.last_10s.p50_ms.unwrap()));
    assert!((10.0..=11.3).contains(&e.last_10s.p90_ms.unwrap()));
    assert_eq!(e.last_10s.req_per_s, 100.0, "one second covered so far");
    let p90 = snap.last_1m.p90_ms.unwrap();
    assert!((10.0..=11.3).contains(&p90), "{p90}");
    let p99 = snap.last_10s.p99_ms.unwrap();
    assert!((2000.0..=2250.0).contains(&p99), "{p99}");
    // Top URL keyed on the path, query cut.
    assert_eq!(snap.top_urls[0].key, "/a");
    assert_eq!(snap.top_urls[0].count, 700);
    assert_eq!(snap.status_mix[0], (Some(200), 695));
    // A quiet minute later the windows are empty.
    let later = s.snapshot(t0 + 200.0);
    assert_eq!(later.last_1m.requests, 0);
    assert_eq!(later.last_1m.p99_ms, None);
}

#[test]
fn fixture_stats_top_tables_and_backends() {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/varnish/varnish7-request.log"
    ))
    .unwrap();
    let (reqs, _) = parse_all(&data);
    let mut s = Stats::new();
    for r in &reqs {
        s.observe(r, r.start);
    }
    let last = reqs.iter().map(|r| r.start).fold(0.0, f64::max);
    let snap = s.snapshot(last);
    assert_eq!(snap.total, 215);
    let hits: u64 = snap
        .handling
        .iter()
        .filter(|(h, _)| h.is_hit())
        .map(|(_, c)| c)
        .sum();
    assert_eq!(hits, 98);
    let st: u64 = snap
        .status_mix
        .iter()
        .filter(|(c, _)| c.is_some_and(|c| c >= 500))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(st, 9);
    // The /slow/big-* URLs top the p99 table.
    assert!(
        snap.slow_urls.is_empty()
            || snap.slow_urls[0].p99_ms.unwrap() >= snap.slow_urls.last().unwrap().p99_ms.unwrap()
    );
    let origin = snap.backends.iter().find(|b| b.name == "origin").unwrap();
    assert_eq!(origin.requests, 109);
    let none = snap.backends.iter().find(|b| b.name == "(none)").unwrap();
    assert_eq!(none.fetch_errors, 3);
    assert!(none
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("backend dead"));
    assert_eq!(snap.top_clients.len(), 10);
}

#[test]
fn topk_space_saving_finds_heavy_hitters_in_fixed_space() {
    let mut t: TopK<()> = TopK::new(16);
    // 5 heavy keys among 10k distinct light ones.
    for i in 0..10_000u32 {
        t.add(format!("/light/{i}").as_bytes());
        if i % 10 == 0 {
            for h in 0..5 {
                t.add(format!("/heavy/{h}").as_bytes());
            }
        }
    }
    assert_eq!(t.len(), 16);
    let top = t.top();
    for (k, count, err, _) in top.iter().take(5) {
        assert!(k.starts_with(b"/heavy/"), "{}", String::from_utf8_lossy(k));
        assert!(count - err <= 1000 && *count >= 1000, "{count} {err}");
    }
}

#[test]
fn latency_histogram_quantiles() {
    let mut h = LatHist::default();
    assert_eq!(h.quantile(0.5), None);
    for i in 1..=1000 {
        h.add(i as f64);
    }
    let p50 = h.quantile(0.5).unwrap();
    let p99 = h.quantile(0.99).unwrap();
    assert!((500.0..=565.0).contains(&p50), "{p50}");
    assert!((990.0..=1120.0).contains(&p99), "{p99}");
    h.add(f64::NAN);
    h.add(1e12);
    assert_eq!(h.count(), 1002);
}

#[test]
fn ring_bounded_with_dropped_counter() {
    let mut r = Ring::with_detail(1000, 100);
    for i in 0..5000 {
        r.push(req(
            &format!("/{i}"),
            "1.2.3.4",
            Handling::Hit,
            Some(200),
            1.0,
        ));
    }
    assert_eq!(r.len(), 1000);
    assert_eq!(r.dropped(), 4000);
    assert_eq!(r.get(0).unwrap().url(), "/4000");
    assert_eq!(
        r.iter().filter(|q| q.has_detail()).count(),
        0,
        "no headers in these requests"
    );
}

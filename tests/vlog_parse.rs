//! Parser tests on the shared Varnish fixtures (copied under tests/fixtures/varnish/): exact
//! counts from the fixtures README and the 2.1 generator summaries, per-request ground truth
//! from varnishncsa, and the boundedness / malformed-input guarantees.

use std::collections::BTreeMap;

use stacktop::vlog::{parse_all, Format, Handling, Parser, Request};

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/varnish/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

fn count_by<K: Ord, F: Fn(&Request) -> K>(reqs: &[Request], f: F) -> BTreeMap<K, usize> {
    let mut m = BTreeMap::new();
    for r in reqs {
        *m.entry(f(r)).or_insert(0) += 1;
    }
    m
}

fn req_id(r: &Request) -> String {
    String::from_utf8_lossy(r.req_header("X-Request-Id").unwrap_or(b"-")).into_owned()
}

fn map<const N: usize, K: Ord + Clone>(pairs: [(K, usize); N]) -> BTreeMap<K, usize> {
    pairs.into_iter().collect()
}

/// Everything the README asserts for the Varnish 7.1 capture, whichever grouping.
fn assert_v7_counts(name: &str) -> Vec<Request> {
    let data = fixture(name);
    let (reqs, p) = parse_all(&data);
    assert_eq!(p.format(), Some(Format::V4), "{name}");
    assert_eq!(
        p.malformed(),
        0,
        "{name}: no truncated transactions in the capture"
    );
    assert_eq!(p.garbage_lines(), 0, "{name}");
    assert_eq!(reqs.len(), 215, "{name}: 215 client requests");

    // varnishncsa's handling classes (final leg for restarts).
    let ncsa = count_by(&reqs, |r| r.handling.ncsa());
    assert_eq!(
        ncsa,
        map([
            ("-", 1),
            ("hit", 98),
            ("miss", 88),
            ("pass", 20),
            ("pipe", 2),
            ("synth", 6)
        ]),
        "{name}"
    );
    // Our finer labels: 2 grace hits, 14 hit-for-miss.
    let fine = count_by(&reqs, |r| r.handling);
    assert_eq!(fine[&Handling::Grace], 2, "{name}");
    assert_eq!(fine[&Handling::HitForMiss], 14, "{name}");
    assert_eq!(fine[&Handling::Hit], 96, "{name}");
    assert_eq!(fine[&Handling::Miss], 74, "{name}");

    // Logged statuses: the 2 pipes have none.
    let st = count_by(&reqs, |r| r.status);
    assert_eq!(
        st,
        map([
            (None, 2),
            (Some(200), 164),
            (Some(201), 7),
            (Some(206), 3),
            (Some(301), 6),
            (Some(304), 5),
            (Some(400), 2),
            (Some(403), 3),
            (Some(404), 14),
            (Some(500), 6),
            (Some(503), 3),
        ]),
        "{name}"
    );
    for r in reqs.iter().filter(|r| r.status.is_none()) {
        assert_eq!(
            r.handling,
            Handling::Pipe,
            "{name}: only pipes lack a status"
        );
        assert_eq!(r.bytes, 165, "{name}: PipeAcct to-client bytes");
    }

    // Methods as logged: lab-0215 (RAW in the plan) sent `GET /nohost`, lab-0214 never got a
    // method (HttpGarbage) — README's "GET 201 … malformed 2" counts by the plan.
    let m = count_by(&reqs, |r| r.method().into_owned());
    assert_eq!(
        m,
        map([
            (String::new(), 1),
            ("GET".to_string(), 202),
            ("HEAD".to_string(), 3),
            ("POST".to_string(), 5),
            ("PURGE".to_string(), 2),
            ("PUT".to_string(), 2),
        ]),
        "{name}"
    );

    // The malformed request line: no VCL, no ReqStart/ReqURL, 400, HttpGarbage kept as a note.
    let garbage: Vec<_> = reqs
        .iter()
        .filter(|r| r.handling == Handling::None)
        .collect();
    assert_eq!(garbage.len(), 1, "{name}");
    assert_eq!(garbage[0].status, Some(400));
    assert_eq!(garbage[0].note().as_deref(), Some("\"GET%00\""));
    assert_eq!(garbage[0].client_ip(), "");

    // Slow: Timestamp Resp ≥ 1.2 s for exactly the 3 /slow/big-* requests.
    let slow: Vec<_> = reqs.iter().filter(|r| r.total_ms >= 1200.0).collect();
    assert_eq!(slow.len(), 3, "{name}");
    assert!(slow.iter().all(|r| r.url().starts_with("/slow/big-")));

    // Restarts folded: 3 requests with one restart each, no row for a restart leg; the row
    // shows what the client asked for and the final outcome.
    let restarted: Vec<_> = reqs.iter().filter(|r| r.restarts > 0).collect();
    assert_eq!(restarted.len(), 3, "{name}");
    for r in &restarted {
        assert_eq!(r.restarts, 1);
        assert!(r.url().starts_with("/restart/x"), "{}", r.url());
        assert_eq!(r.status, Some(200));
    }
    assert_eq!(
        reqs.iter()
            .filter(|r| r.url() == "/static/restart-target.css")
            .count(),
        0
    );

    // ESI: 3 page views with 2 fragments each; fragments are not rows.
    let esi: Vec<_> = reqs.iter().filter(|r| r.esi > 0).collect();
    assert_eq!(esi.len(), 3, "{name}");
    assert!(esi.iter().all(|r| r.esi == 2 && r.url() == "/esi/page"));
    assert_eq!(reqs.iter().map(|r| r.esi as usize).sum::<usize>(), 6);

    // Hit records: 98 on client requests (the other 4 of 102 are ESI fragment hits).
    assert_eq!(reqs.iter().filter(|r| r.hit_record).count(), 98, "{name}");

    // Backend side joined: 3 fetch failures (503, FetchError, backend `dead`).
    let failed: Vec<_> = reqs.iter().filter(|r| r.fetch_error().is_some()).collect();
    assert_eq!(failed.len(), 3, "{name}");
    assert!(failed.iter().all(|r| r.status == Some(503)
        && r.fetch_error()
            .is_some_and(|e| e.starts_with("backend dead: fail errno"))));
    let fetched = reqs
        .iter()
        .filter(|r| r.backend().as_deref() == Some("origin"))
        .count();
    assert_eq!(
        fetched, 109,
        "{name}: requests whose BeReq opened the origin backend"
    );

    // The raw 0xE9 byte survives (bytes, not UTF-8).
    let raw: Vec<_> = reqs
        .iter()
        .filter(|r| r.req_headers().any(|h| h.contains(&0xE9)))
        .collect();
    assert_eq!(raw.len(), 1, "{name}: one header carries the raw 0xE9 byte");

    // 32 distinct client addresses.
    let ips = count_by(&reqs, |r| r.client_ip().into_owned());
    assert_eq!(ips.keys().filter(|k| !k.is_empty()).count(), 32, "{name}");
    reqs
}

/// Per-request ground truth from `varnishncsa -F '%{X-Request-Id}i %{Varnish:handling}x
/// %{Varnish:hitmiss}x %s %{Varnish:vxid}x %m %U%q %D'`.
fn assert_matches_ncsa(reqs: &[Request]) {
    let truth = String::from_utf8(fixture("varnish7-ncsa.txt")).unwrap();
    let by_id: BTreeMap<String, &Request> = reqs.iter().map(|r| (req_id(r), r)).collect();
    let mut checked = 0;
    for line in truth.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 8, "{line}");
        if f[0] == "-" {
            continue; // the HttpGarbage request, checked above
        }
        let r = by_id
            .get(f[0])
            .unwrap_or_else(|| panic!("{} missing", f[0]));
        assert_eq!(r.handling.ncsa(), f[1], "{line}");
        let status = r
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        assert_eq!(status, f[3], "{line}");
        assert_eq!(r.method(), f[5], "{line}");
        if r.restarts == 0 {
            assert_eq!(r.vxid.to_string(), f[4], "{line}");
            assert_eq!(r.url(), f[6], "{line}");
            // %D (µs) vs our Resp since-start (ms): same clock, rounding only.
            let d_ms: f64 = f[7].parse::<f64>().unwrap() / 1000.0;
            assert!((r.total_ms - d_ms).abs() < 0.01, "{line}: {}", r.total_ms);
        } else {
            assert_eq!(r.vxid.to_string(), f[4], "final leg vxid: {line}");
        }
        checked += 1;
    }
    assert_eq!(checked, 214);
}

#[test]
fn v7_group_request_counts() {
    let reqs = assert_v7_counts("varnish7-request.log");
    assert_matches_ncsa(&reqs);
}

#[test]
fn v7_group_vxid_counts() {
    let reqs = assert_v7_counts("varnish7-vxid.log");
    assert_matches_ncsa(&reqs);
}

#[test]
fn v7_groupings_agree_per_request() {
    let (a, _) = parse_all(&fixture("varnish7-request.log"));
    let (b, _) = parse_all(&fixture("varnish7-vxid.log"));
    let (s, ps) = parse_all(&fixture("varnish7-session-excerpt.log"));
    assert_eq!(ps.malformed(), 0);
    let mb: BTreeMap<String, &Request> = b.iter().map(|r| (req_id(r), r)).collect();
    for r in &a {
        assert_eq!(
            Some(&r),
            mb.get(&req_id(r)),
            "vxid vs request for {}",
            req_id(r)
        );
    }
    let ma: BTreeMap<String, &Request> = a.iter().map(|r| (req_id(r), r)).collect();
    assert_eq!(
        s.len(),
        9,
        "first session (6 requests) + the ESI session (3 pages)"
    );
    for r in &s {
        let o = ma[&req_id(r)];
        assert_eq!(r.url(), o.url());
        assert_eq!(r.status, o.status);
        assert_eq!(r.handling, o.handling);
        assert_eq!(r.esi, o.esi);
        assert_eq!(r.backend_status, o.backend_status);
    }
}

#[test]
fn v7_detail_fields() {
    let (reqs, _) = parse_all(&fixture("varnish7-request.log"));
    let first = &reqs[0];
    assert_eq!(req_id(first), "lab-0001");
    assert_eq!(first.client_ip(), "127.0.0.2");
    assert_eq!(first.protocol(), "HTTP/1.1");
    assert_eq!(first.reason(), "OK");
    assert_eq!(first.bytes, 837);
    assert_eq!(first.backend_status, Some(200));
    assert!((first.backend_ms.unwrap() - 0.431).abs() < 0.001);
    assert!((first.total_ms - 0.655).abs() < 1e-6);
    assert_eq!(first.resp_header("x-cache"), Some(&b"MISS"[..]));
    assert_eq!(first.req_headers().count(), 5);
    let resp_ts = first
        .timestamps()
        .iter()
        .find(|t| !t.backend && t.label.name() == "Resp");
    assert!((resp_ts.unwrap().offset - 0.000655).abs() < 1e-6);
    assert!(first
        .timestamps()
        .iter()
        .any(|t| t.backend && t.label.name() == "Beresp"));
    assert!((first.start - 1795460028.710364).abs() < 1e-6);
    // XFF rewrites (ReqUnset + ReqHeader) leave exactly one X-Forwarded-For.
    for r in &reqs {
        let n = r
            .req_headers()
            .filter(|h| h.to_ascii_lowercase().starts_with(b"x-forwarded-for:"))
            .count();
        assert!(n <= 1, "{}: {n} XFF headers", req_id(r));
    }
}

fn summary(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn assert_v21(log: &str, sum: &str, headless: u64, slow_processing: usize) {
    let (reqs, p) = parse_all(&fixture(log));
    let s = summary(sum);
    assert_eq!(p.format(), Some(Format::V2), "{log}");
    assert_eq!(
        reqs.len() as u64,
        s["transactions"].as_u64().unwrap(),
        "{log}"
    );
    assert_eq!(
        p.malformed(),
        headless,
        "{log}: the headless partial request is skipped"
    );
    assert_eq!(s["headless_partial"].as_u64().unwrap(), headless);
    let h = count_by(&reqs, |r| r.handling);
    let hs = &s["handling"];
    for (k, handling) in [
        ("hit", Handling::Hit),
        ("miss", Handling::Miss),
        ("pass", Handling::Pass),
        ("pipe", Handling::Pipe),
        ("error", Handling::Synth),
    ] {
        assert_eq!(
            h.get(&handling).copied().unwrap_or(0) as u64,
            hs[k].as_u64().unwrap(),
            "{log} {k}"
        );
    }
    assert_eq!(h.len(), 5, "{log}: no other handling");
    let st = count_by(&reqs, |r| r.status);
    for (code, n) in s["status"].as_object().unwrap() {
        let code: u16 = code.parse().unwrap();
        assert_eq!(
            st.get(&Some(code)).copied().unwrap_or(0) as u64,
            n.as_u64().unwrap(),
            "{log} {code}"
        );
    }
    // Pipes have no status.
    assert_eq!(
        st.get(&None).copied().unwrap_or(0) as u64,
        hs["pipe"].as_u64().unwrap()
    );
    assert!(reqs
        .iter()
        .filter(|r| r.status.is_none())
        .all(|r| r.handling == Handling::Pipe));
    let m = count_by(&reqs, |r| r.method().into_owned());
    for (meth, n) in s["methods"].as_object().unwrap() {
        assert_eq!(m[meth] as u64, n.as_u64().unwrap(), "{log} {meth}");
    }
    assert_eq!(m.values().sum::<usize>(), reqs.len());
    let slow = reqs.iter().filter(|r| r.total_ms >= 1000.0).count();
    assert_eq!(
        slow as u64,
        s["slow_over_1000ms"].as_u64().unwrap(),
        "{log}"
    );
    let slow_p = reqs
        .iter()
        .filter(|r| r.ttfb_ms.is_some_and(|t| t >= 1000.0))
        .count();
    assert_eq!(
        slow_p, slow_processing,
        "{log}: vlogdump only_slow=1000 rows"
    );
    // Backend side: every request that used a backend connection names it.
    let with_backend = reqs.iter().filter(|r| r.backend().is_some()).count();
    assert_eq!(
        with_backend as u64,
        s["backend_fetches"].as_u64().unwrap(),
        "{log}"
    );
    // Backend status joined for every fetch (pipes have none); the nan pipe has no backend.
    for r in &reqs {
        match r.handling {
            Handling::Miss | Handling::Pass => {
                assert!(r.backend_status.is_some(), "{log}: {r:?}")
            }
            Handling::Hit => assert!(r.backend().is_none() && r.hit_record),
            _ => {}
        }
    }
    let nan_pipes = reqs
        .iter()
        .filter(|r| r.handling == Handling::Pipe && r.ttfb_ms.is_none())
        .count();
    assert_eq!(nan_pipes as u64, s["pipe_nan_reqend"].as_u64().unwrap());
    assert!(reqs
        .iter()
        .all(|r| !r.client_ip().is_empty() && !r.url().is_empty()));
}

#[test]
fn v21_default_interleaved_counts() {
    assert_v21("varnish21.log", "varnish21.summary.json", 1, 3);
}

#[test]
fn v21_o_grouped_counts() {
    assert_v21("varnish21-o.log", "varnish21-o.summary.json", 0, 4);
}

/// Feeding in arbitrary chunk sizes gives the same requests as one buffer.
#[test]
fn chunking_does_not_matter() {
    for name in ["varnish7-request.log", "varnish21.log"] {
        let data = fixture(name);
        let (whole, _) = parse_all(&data);
        for chunk in [1usize, 7, 4096] {
            let mut p = Parser::new();
            let mut out = Vec::new();
            for c in data.chunks(chunk) {
                p.feed(c, &mut out);
            }
            p.finish(&mut out);
            assert_eq!(out, whole, "{name} chunk {chunk}");
        }
    }
}

/// Truncated and malformed groups are counted and skipped; parsing goes on.
#[test]
fn malformed_groups_are_counted_and_skipped() {
    let data = fixture("varnish7-request.log");
    let text = &data[..];
    // Cut the file in the middle of the second group's request, then append the full file.
    let cut = memchr_nth(text, b"*   << Request", 2) + 300;
    let mut input = text[..cut].to_vec();
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"this line is garbage\n\n");
    input.extend_from_slice(b"-   ReqURL         /orphan-record-without-header\n\n");
    input.extend_from_slice(b"*   << Request  >> notanumber\n\n");
    input.extend_from_slice(text);
    let (reqs, p) = parse_all(&input);
    assert_eq!(reqs.len(), 1 + 215);
    assert_eq!(p.malformed(), 2, "truncated request + orphan records");
    // The garbage line, and the broken header that started a group of nothing.
    assert_eq!(p.garbage_lines(), 2);

    // 2.1: a request cut off by a new ReqStart on the same fd, and an unfinished one at EOF.
    let v2 = b"   12 ReqStart     c 10.0.0.1 1 100\n   12 RxURL        c /a\n   12 ReqStart     c 10.0.0.1 1 101\n   12 RxURL        c /b\n   12 ReqEnd       c 101 1.0 1.5 0 0.1 0.4\n   13 ReqStart     c 10.0.0.2 2 102\n";
    let (reqs, p) = parse_all(v2);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url(), "/b");
    assert_eq!(reqs[0].total_ms, 500.0);
    assert_eq!(p.malformed(), 2);
}

fn memchr_nth(hay: &[u8], needle: &[u8], n: usize) -> usize {
    let mut pos = 0;
    for _ in 0..n {
        let i = hay[pos..]
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        pos += i + 1;
    }
    pos - 1
}

/// vxids repeat across varnishd restarts and concatenated captures: replaying the capture
/// many times gives the same rows every time and keeps the pending structures small.
#[test]
fn repeated_vxids_stay_bounded() {
    for name in ["varnish7-vxid.log", "varnish7-request.log"] {
        let data = fixture(name);
        let mut p = Parser::new();
        let mut out = Vec::new();
        for _ in 0..20 {
            p.feed(&data, &mut out);
        }
        p.finish(&mut out);
        assert_eq!(out.len(), 215 * 20, "{name}");
        assert_eq!(p.malformed(), 0);
        assert_eq!(p.incomplete(), 0, "{name}");
        let restarted = out.iter().filter(|r| r.restarts == 1).count();
        assert_eq!(restarted, 3 * 20);
    }
}

// ---------------------------------------------------------------------------------------------
// Filters on the fixture: the same answers as the VSL queries measured in the reference notes.

use stacktop::vlog::filter::FilterError;
use stacktop::vlog::Filter;

fn kept(reqs: &[Request], args: &[&str]) -> usize {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let f = Filter::parse_args(&args).unwrap();
    reqs.iter().filter(|r| f.matches(r)).count()
}

#[test]
fn filters_on_v7_fixture() {
    let (reqs, _) = parse_all(&fixture("varnish7-request.log"));
    assert_eq!(kept(&reqs, &[]), 215);
    // varnishlog -q 'Timestamp:Resp[2] > 1.0' → 3
    assert_eq!(
        kept(&reqs, &["only_slow=1"]),
        3,
        "vlogdump only_slow=1 means 1000 ms"
    );
    assert_eq!(kept(&reqs, &["slow=1s"]), 3);
    assert_eq!(kept(&reqs, &["slow=250"]), 6);
    // 'RespStatus >= 500' → 9
    assert_eq!(kept(&reqs, &["status=5xx"]), 9);
    assert_eq!(kept(&reqs, &["only_status=503"]), 3);
    assert_eq!(kept(&reqs, &["status=4xx,503"]), 2 + 3 + 14 + 3);
    assert_eq!(kept(&reqs, &["status=!2xx"]), 215 - 164 - 7 - 3);
    assert_eq!(kept(&reqs, &["status=-"]), 2, "pipes have no status");
    // vlogdump's only_status is an unanchored regex over "status reason": 30 → 301 and 304.
    assert_eq!(kept(&reqs, &["only_status=30"]), 11);
    assert_eq!(kept(&reqs, &["only_status=Not Found"]), 14);
    // 'VCL_call eq "PASS"' → 20; 'HitMiss' → 14
    assert_eq!(kept(&reqs, &["handling=pass"]), 20);
    assert_eq!(kept(&reqs, &["handling=hfm"]), 14);
    assert_eq!(kept(&reqs, &["handling=hit,grace"]), 98);
    assert_eq!(
        kept(&reqs, &["handling=!hit,grace,miss,hit-for-miss"]),
        20 + 2 + 6 + 1
    );
    // 'ReqHeader:X-Request-Id eq "lab-0100"' → 1
    assert_eq!(
        kept(&reqs, &["req_headers_match=^X-Request-Id: lab-0100$"]),
        1
    );
    assert_eq!(kept(&reqs, &["-v", "req_headers_match=!^Cookie:"]), 215 - 8);
    assert_eq!(
        kept(&reqs, &["resp_headers_match=X-Cache: HIT"]),
        kept(&reqs, &["resp_header=(?i)x-cache: hit"])
    );
    assert_eq!(kept(&reqs, &["only_hits=1"]), 98);
    // vlogdump's only_misses: MISS (and hit-for-miss) only, never a PASS.
    assert_eq!(
        kept(&reqs, &["only_misses=1"]),
        kept(&reqs, &["handling=miss,hit-for-miss"])
    );
    assert!(kept(&reqs, &["only_misses=1", "handling=pass,hit-for-pass"]) == 0);
    assert!(kept(&reqs, &["handling=pass"]) > 0);
    assert_eq!(kept(&reqs, &["req_method=^(POST|PUT)$"]), 7);
    assert_eq!(kept(&reqs, &["method=!GET"]), 215 - 202);
    assert_eq!(kept(&reqs, &["url_match=^/slow/"]), 12);
    assert_eq!(
        kept(&reqs, &["url=!^/static/"]),
        215 - kept(&reqs, &["url=^/static/"])
    );
    assert_eq!(
        kept(&reqs, &["client_match=^127\\.0\\.0\\.2$"]),
        kept(&reqs, &["client=127.0.0.2$"])
    );
    assert_eq!(
        kept(&reqs, &["backend=dead"]),
        0,
        "failed fetches never opened a backend"
    );
    assert_eq!(kept(&reqs, &["backend=^origin$"]), 109);
    // ANDed.
    assert_eq!(
        kept(
            &reqs,
            &["url=^/slow/", "status=200", "only_misses=1", "slow=1000"]
        ),
        3
    );
}

#[test]
fn filters_on_v21_fixture() {
    let (reqs, _) = parse_all(&fixture("varnish21.log"));
    assert_eq!(kept(&reqs, &["only_hits=1"]), 77);
    assert_eq!(
        kept(&reqs, &["only_misses=1"]),
        kept(&reqs, &["handling=miss,hit-for-miss"])
    );
    assert_eq!(kept(&reqs, &["handling=synth"]), 5);
    // End-to-end ≥ 1 s: 9 (vlogdump's only_slow uses processing time instead: 3).
    assert_eq!(kept(&reqs, &["only_slow=1000"]), 9);
    assert_eq!(
        kept(&reqs, &["req_headers_match=rlnclientipaddr"]),
        kept(&reqs, &["req_header=^rlnclientipaddr: "])
    );
}

#[test]
fn filter_syntax() {
    let f = Filter::parse("url='^/a b' status=5xx only_hits slow=250ms handling=pass,hfm").unwrap();
    assert!(f.only_hits);
    assert_eq!(f.slow_ms, Some(250.0));
    assert_eq!(f.url.as_ref().map(|p| p.as_str()), Some("^/a b"));
    let again = Filter::parse(&f.to_string()).unwrap();
    assert_eq!(again, f, "Display round-trips: {f}");
    assert!(Filter::parse("").unwrap().is_empty());
    assert!(Filter::parse("show_req_headers=1").unwrap().is_empty());
    assert!(matches!(
        Filter::parse("bogus=1"),
        Err(FilterError::UnknownOption(_))
    ));
    assert!(matches!(
        Filter::parse("url=("),
        Err(FilterError::BadRegex { .. })
    ));
    assert!(matches!(
        Filter::parse("slow=abc"),
        Err(FilterError::BadValue { .. })
    ));
    assert!(matches!(
        Filter::parse("handling=nope"),
        Err(FilterError::BadValue { .. })
    ));
    assert!(matches!(
        Filter::parse("url='x"),
        Err(FilterError::UnbalancedQuote)
    ));
    assert!(matches!(
        Filter::parse("url"),
        Err(FilterError::NotNameValue(_))
    ));
    // Push-down to varnishlog -q.
    let q = Filter::parse("url=^/api status=5xx,404 only_slow=500")
        .unwrap()
        .vsl_query();
    assert_eq!(
        q.as_deref(),
        Some("ReqURL ~ \"^/api\" and ((RespStatus >= 500 and RespStatus < 600) or RespStatus == 404) and (Timestamp:Resp[2] >= 0.5 or Timestamp:PipeSess[2] >= 0.5)")
    );
    assert_eq!(
        Filter::parse("url=!^/api handling=pass")
            .unwrap()
            .vsl_query(),
        None
    );
}

/// Varnish 2.1 / 3.0 restarts keep the client's fd and xid: one `ReqStart` … `ReqEnd` with a
/// second `VCL_call recv` after `restart`. That is already one request (the 4.x fold's job is
/// done by the log itself): the request line from the client, the outcome, backend and backend
/// status from the last leg, the restart counted. Grouped (`-o`, 3.0's joined `VCL_call c
/// fetch restart` form, backend groups first) and interleaved (2.1 default) orders.
#[test]
fn legacy_restart_is_one_request_with_the_outcome_of_the_last_leg() {
    let grouped = "\
  14 BackendOpen  b default 127.0.0.1 40000 127.0.0.1 8080
  14 TxRequest    b GET
  14 TxURL        b /api/item
  14 RxStatus     b 503
  14 RxResponse   b Service Unavailable
  14 BackendClose b default

  15 BackendOpen  b backup 127.0.0.1 40001 127.0.0.1 8081
  15 TxRequest    b GET
  15 TxURL        b /api/item
  15 RxStatus     b 200
  15 RxResponse   b OK
  15 BackendReuse b backup

  12 SessionOpen  c 10.1.2.3 5000 :80
  12 ReqStart     c 10.1.2.3 5000 1001
  12 RxRequest    c GET
  12 RxURL        c /api/item
  12 RxProtocol   c HTTP/1.1
  12 RxHeader     c Host: shop.example
  12 VCL_call     c recv lookup
  12 VCL_call     c hash hash
  12 VCL_call     c miss fetch
  12 Backend      c 14 default default
  12 VCL_call     c fetch restart
  12 VCL_call     c recv lookup
  12 VCL_call     c hash hash
  12 VCL_call     c miss fetch
  12 Backend      c 15 backup backup
  12 VCL_call     c fetch deliver
  12 VCL_call     c deliver deliver
  12 TxProtocol   c HTTP/1.1
  12 TxStatus     c 200
  12 TxResponse   c OK
  12 Length       c 321
  12 ReqEnd       c 1001 1365603497.000000000 1365603497.250000000 0.000100000 0.200000000 0.050000000
";
    let interleaved = "\
   12 SessionOpen  c 10.1.2.3 5000 :80
   12 ReqStart     c 10.1.2.3 5000 1001
   12 RxRequest    c GET
   12 RxURL        c /api/item
   12 RxProtocol   c HTTP/1.1
   12 VCL_call     c recv
   12 VCL_return   c lookup
   12 VCL_call     c miss
   12 VCL_return   c fetch
   12 Backend      c 14 default default
   14 TxRequest    b GET
   14 RxStatus     b 503
   14 BackendClose b default
   12 VCL_call     c fetch
   12 VCL_return   c restart
   12 VCL_call     c recv
   12 VCL_return   c lookup
   12 VCL_call     c miss
   12 VCL_return   c fetch
   12 Backend      c 15 backup backup
   15 TxRequest    b GET
   15 RxStatus     b 200
   15 BackendReuse b backup
   12 VCL_call     c fetch
   12 VCL_return   c deliver
   12 TxStatus     c 200
   12 TxResponse   c OK
   12 Length       c 321
   12 ReqEnd       c 1001 1365603497.000000000 1365603497.250000000 0.000100000 0.200000000 0.050000000
";
    for (name, log) in [("grouped", grouped), ("interleaved", interleaved)] {
        let (reqs, p) = parse_all(log.as_bytes());
        assert_eq!(p.format(), Some(Format::V2), "{name}");
        assert_eq!(p.malformed(), 0, "{name}");
        assert_eq!(reqs.len(), 1, "{name}: one row for the restarted request");
        let r = &reqs[0];
        assert_eq!(r.restarts, 1, "{name}");
        assert_eq!(
            (
                r.method().as_ref(),
                r.url().as_ref(),
                r.client_ip().as_ref()
            ),
            ("GET", "/api/item", "10.1.2.3"),
            "{name}"
        );
        assert_eq!(
            (r.handling, r.status),
            (Handling::Miss, Some(200)),
            "{name}"
        );
        assert_eq!(r.backend().as_deref(), Some("backup"), "{name}");
        assert_eq!(
            r.backend_status,
            Some(200),
            "{name}: the last fetch's status"
        );
        assert!((r.total_ms - 250.0).abs() < 1e-3, "{name}: {}", r.total_ms);
    }
}

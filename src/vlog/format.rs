//! Text and JSON renderings of one [`Request`], for `stacktop vlog --batch [--json]` and for
//! saving the filtered rows. `text_line` is cosimo vlogdump's two-line layout (uncoloured):
//!
//! ```text
//!       127.0.0.2 => GET /static/asset-01.js HTTP/1.1 MISS
//!                 <= 200 OK                                                         0.655 ms
//! ```
//!
//! with our handling labels (HIT / MISS / PASS / PIPE / SYNTH / HIT-FOR-MISS / GRACE …) instead
//! of vlogdump's HIT-or-MISS. `compact_line` is one line per request; `json_line` one JSON object.

use std::fmt::Write;

use serde_json::{json, Value};

use super::request::Request;

fn status_reason(r: &Request) -> String {
    match r.status {
        Some(s) => format!("{s} {}", r.reason()),
        None => String::new(),
    }
}

/// vlogdump's two lines (no trailing newline).
pub fn text_line(r: &Request) -> String {
    format!(
        "{:>15} => {} {} {} {}\n{:>15} <= {:<59} {:>10.3} ms",
        r.client_ip(),
        r.method(),
        r.url(),
        r.protocol(),
        r.handling.label(),
        "",
        status_reason(r),
        r.total_ms
    )
}

/// vlogdump's two lines plus, when asked, the header dumps (`        req.http.Name = value`,
/// `        resp.http.Name = value`) and a blank line after them, as `show_req_headers=1` /
/// `show_resp_headers=1` print them. Ends with a newline.
pub fn text_block(r: &Request, req_headers: bool, resp_headers: bool) -> String {
    let mut s = text_line(r);
    s.push('\n');
    let mut dump = |prefix: &str, it: &mut dyn Iterator<Item = &[u8]>| {
        for h in it {
            let h = String::from_utf8_lossy(h);
            let (n, v) = h.split_once(':').unwrap_or((&h, ""));
            let _ = writeln!(s, "        {prefix}.http.{n} = {}", v.trim_start());
        }
        s.push('\n');
    };
    if req_headers {
        dump("req", &mut r.req_headers());
    }
    if resp_headers {
        dump("resp", &mut r.resp_headers());
    }
    s
}

/// `2026-11-23T18:53:48.710Z` for an epoch time (empty when unknown).
pub fn iso_time(t: f64) -> String {
    if t <= 0.0 || !t.is_finite() {
        return String::new();
    }
    let secs = t.floor() as i64;
    let nanos = ((t - t.floor()) * 1e9) as u32;
    chrono::DateTime::from_timestamp(secs, nanos.min(999_999_999))
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// One line: `time client method url protocol handling status reason ms bytes backend`.
pub fn compact_line(r: &Request) -> String {
    let status = r
        .status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "-".into());
    let reason = r.reason();
    format!(
        "{} {} {} {} {} {} {} {} {:.3} {} {}",
        iso_time(r.start),
        or_dash(&r.client_ip()),
        or_dash(&r.method()),
        or_dash(&r.url()),
        or_dash(&r.protocol()),
        r.handling.label(),
        status,
        if reason.is_empty() {
            "-".into()
        } else {
            reason.replace(' ', "_")
        },
        r.total_ms,
        r.bytes,
        r.backend().as_deref().unwrap_or("-"),
    )
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn lines(it: impl Iterator<Item = impl AsRef<[u8]>>) -> Value {
    Value::Array(
        it.map(|h| Value::String(String::from_utf8_lossy(h.as_ref()).into_owned()))
            .collect(),
    )
}

/// The request as a JSON value (raw bytes rendered lossily as UTF-8).
pub fn json_value(r: &Request) -> Value {
    let ts: Vec<Value> = r
        .timestamps()
        .iter()
        .map(|t| {
            json!({
                "label": t.label.name(),
                "side": if t.backend { "backend" } else { "client" },
                "offset_ms": (t.offset as f64 * 1e6).round() / 1e3,
            })
        })
        .collect();
    json!({
        "time": iso_time(r.start),
        "start": r.start,
        "vxid": r.vxid,
        "client_ip": r.client_ip(),
        "method": r.method(),
        "url": r.url(),
        "protocol": r.protocol(),
        "handling": r.handling.label(),
        "status": r.status,
        "reason": r.reason(),
        "total_ms": r.total_ms,
        "ttfb_ms": r.ttfb_ms,
        "bytes": r.bytes,
        "backend": r.backend(),
        "backend_status": r.backend_status,
        "backend_ms": r.backend_ms,
        "fetch_error": r.fetch_error(),
        "restarts": r.restarts,
        "esi": r.esi,
        "note": r.note(),
        "req_headers": lines(r.req_headers()),
        "resp_headers": lines(r.resp_headers()),
        "timestamps": ts,
    })
}

/// One JSON object on one line (no trailing newline).
pub fn json_line(r: &Request) -> String {
    json_value(r).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vlog::builder::RequestBuilder;
    use crate::vlog::request::Handling;

    fn sample() -> Request {
        let mut b = RequestBuilder::default();
        b.ip.extend_from_slice(b"127.0.0.2");
        b.method.extend_from_slice(b"GET");
        b.url.extend_from_slice(b"/static/asset-01.js");
        b.proto.extend_from_slice(b"HTTP/1.1");
        b.reason.extend_from_slice(b"OK");
        b.status = Some(200);
        b.handling = Handling::Miss;
        b.total_ms = Some(0.655);
        b.start = 1795460028.710364;
        RequestBuilder::push_header(&mut b.req_headers, b"Host: 127.0.0.1:6081");
        RequestBuilder::push_header(&mut b.req_headers, b"X-Raw: caf\xe9");
        b.build()
    }

    #[test]
    fn vlogdump_layout() {
        let t = text_line(&sample());
        let l: Vec<&str> = t.lines().collect();
        assert_eq!(
            l[0],
            "      127.0.0.2 => GET /static/asset-01.js HTTP/1.1 MISS"
        );
        assert_eq!(
            l[1],
            format!("{:15} <= {:<59} {:>10} ms", "", "200 OK", "0.655")
        );
        let b = text_block(&sample(), true, false);
        assert!(b.contains("\n        req.http.Host = 127.0.0.1:6081\n"));
        assert!(b.ends_with("\n\n"));
    }

    #[test]
    fn json_and_compact() {
        let v: Value = serde_json::from_str(&json_line(&sample())).unwrap();
        assert_eq!(v["status"], 200);
        assert_eq!(v["handling"], "MISS");
        assert_eq!(v["req_headers"][1], "X-Raw: caf\u{fffd}");
        assert_eq!(v["time"], "2026-11-23T18:53:48.710Z");
        let c = compact_line(&sample());
        assert_eq!(
            c,
            "2026-11-23T18:53:48.710Z 127.0.0.2 GET /static/asset-01.js HTTP/1.1 MISS 200 OK 0.655 0 -"
        );
    }
}

//! The vlog and kill records back to what the live views got, for the TUI replay
//! ([`super::cursor`]): a `vlog_requests` record (each request's batch JSON,
//! `vlog::format::json_value`, see `record::codec`) back into `VlogEvent::Requests` of
//! [`Request`]s rebuilt field for field, a `vlog_stats` record into the malformed count, the
//! parser's summary or the input's lifecycle event, and a `kill_done` record into a status-line
//! notice saying what the live run did, marked `recorded:` (replay is read-only: nothing is
//! signalled now).
//!
//! Bounded: a record is at most `record::decode`'s decompressed limit, and every field is
//! checked (a damaged record is a clear error, counted as skipped by the cursor, never a
//! panic). What the batch JSON does not keep: bytes that are not UTF-8 (recorded as U+FFFD,
//! as the screen shows them) and the original name of an unknown `Timestamp` label.

use serde::Deserialize;
use serde_json::Value;

use crate::messages::{Payload, Update};
use crate::pg::kill::SignalResult;
use crate::record::codec::Kind;
use crate::vlog::builder::RequestBuilder;
use crate::vlog::parser::ParseSummary;
use crate::vlog::{Handling, InputStatus, Request, Timestamp, TsLabel, VlogEvent};
use crate::wire::ViewKind;

/// The prefix of a recorded kill's notice.
pub const RECORDED: &str = "recorded: ";

/// One request as recorded (the fields of `json_value` the view uses; `time` is derived).
#[derive(Deserialize)]
struct Rec {
    vxid: u64,
    start: f64,
    client_ip: String,
    method: String,
    url: String,
    protocol: String,
    handling: String,
    status: Option<u16>,
    total_ms: f64,
    ttfb_ms: Option<f32>,
    bytes: u64,
    backend: Option<String>,
    backend_status: Option<u16>,
    backend_ms: Option<f32>,
    fetch_error: Option<String>,
    restarts: u8,
    esi: u16,
    note: Option<String>,
    reason: String,
    req_headers: Vec<String>,
    resp_headers: Vec<String>,
    timestamps: Vec<RecTs>,
    /// written only when a `Hit` record was logged but the handling does not say so
    #[serde(default)]
    hit_record: Option<bool>,
}

#[derive(Deserialize)]
struct RecTs {
    label: String,
    side: String,
    offset_ms: f64,
}

/// What a `vlog_requests`, `vlog_stats` or `kill_done` record delivered live; `None` for
/// other kinds. `Err` names what is wrong with a damaged record.
pub fn updates(
    kind: Option<Kind>,
    view: ViewKind,
    v: &Value,
) -> Option<Result<Vec<Update>, String>> {
    let kind = kind?;
    let one = |payload| vec![Update { view, payload }];
    let r = match kind {
        Kind::VlogRequests => requests(v).map(|r| one(Payload::Vlog(VlogEvent::Requests(r)))),
        Kind::VlogStats => stats(v).map(|e| e.map(Payload::Vlog).map_or_else(Vec::new, one)),
        Kind::KillDone => kill(v).map(|(level, text)| one(Payload::Notice { level, text })),
        _ => return None,
    };
    Some(r.map_err(|e| format!("corrupt {} record: {e}", kind.name())))
}

/// The requests of a `vlog_requests` record.
pub fn requests(v: &Value) -> Result<Vec<Request>, String> {
    let arr = v.as_array().ok_or("not an array of requests")?;
    arr.iter()
        .enumerate()
        .map(|(i, r)| request(r).map_err(|e| format!("request {i}: {e}")))
        .collect()
}

/// One request, rebuilt as the parser built it.
pub fn request(v: &Value) -> Result<Request, String> {
    let r = Rec::deserialize(v).map_err(|e| e.to_string())?;
    let handling = Handling::from_name(&r.handling)
        .ok_or_else(|| format!("unknown handling {:?}", r.handling))?;
    if !r.start.is_finite() || !r.total_ms.is_finite() {
        return Err("a time that is not a number".into());
    }
    let mut b = RequestBuilder {
        vxid: r.vxid,
        start: r.start,
        handling,
        status: r.status,
        total_ms: Some(r.total_ms),
        ttfb_ms: r.ttfb_ms,
        bytes: r.bytes,
        backend_status: r.backend_status,
        backend_ms: r.backend_ms,
        restarts: r.restarts,
        esi: r.esi,
        hit_record: r.hit_record.unwrap_or_else(|| handling.is_hit()),
        ip: r.client_ip.into_bytes(),
        method: r.method.into_bytes(),
        url: r.url.into_bytes(),
        proto: r.protocol.into_bytes(),
        reason: r.reason.into_bytes(),
        backend: r.backend.unwrap_or_default().into_bytes(),
        fetch_error: r.fetch_error.unwrap_or_default().into_bytes(),
        note: r.note.unwrap_or_default().into_bytes(),
        ..RequestBuilder::default()
    };
    for h in &r.req_headers {
        RequestBuilder::push_header(&mut b.req_headers, h.as_bytes());
    }
    for h in &r.resp_headers {
        RequestBuilder::push_header(&mut b.resp_headers, h.as_bytes());
    }
    let mut req = b.build();
    // the recorded offsets, in their recorded order (the builder's order), not re-derived
    // from absolute times (which would round differently)
    req.timestamps = r
        .timestamps
        .iter()
        .map(|t| Timestamp {
            label: TsLabel::from_bytes(t.label.as_bytes()),
            backend: t.side == "backend",
            offset: (t.offset_ms / 1000.0) as f32,
        })
        .collect();
    Ok(req)
}

/// A `vlog_stats` record: the event it was (`None`: one this version does not know, skipped).
fn stats(v: &Value) -> Result<Option<VlogEvent>, String> {
    let m = v.as_object().ok_or("not an object")?;
    let num = |o: &serde_json::Map<String, Value>, k: &str| o.get(k).and_then(Value::as_u64);
    if let Some(n) = m.get("malformed") {
        return n
            .as_u64()
            .map(|n| Some(VlogEvent::Malformed(n)))
            .ok_or_else(|| "a malformed count that is not a number".into());
    }
    if let Some(s) = m.get("summary") {
        let s = s.as_object().ok_or("a summary that is not an object")?;
        return Ok(Some(VlogEvent::Summary(ParseSummary {
            lines: num(s, "lines").unwrap_or(0),
            malformed: num(s, "malformed").unwrap_or(0),
            garbage_lines: num(s, "garbage_lines").unwrap_or(0),
            long_lines: num(s, "long_lines").unwrap_or(0),
            incomplete: num(s, "incomplete").unwrap_or(0),
        })));
    }
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let st = match m.get("status").and_then(Value::as_str) {
        Some("started") => InputStatus::Started {
            pid: None,
            command: text("command").unwrap_or_default(),
        },
        Some("exited") => InputStatus::Exited {
            code: m
                .get("code")
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok()),
            restart_in: None,
        },
        Some("requery") => InputStatus::Requery {
            query: text("query"),
        },
        Some("finished") => InputStatus::Finished,
        _ => return Ok(None),
    };
    Ok(Some(VlogEvent::Status(st)))
}

/// A `kill_done` record: the live run's summary (`pg::source::summarize`), marked as recorded,
/// with the pids and what happened to each.
fn kill(v: &Value) -> Result<(crate::wire::Level, String), String> {
    let results = Vec::<SignalResult>::deserialize(v).map_err(|e| e.to_string())?;
    let (level, summary) = crate::pg::source::summarize(&results);
    let mut text = format!("{RECORDED}{summary}");
    let pids: Vec<String> = results
        .iter()
        .take(8)
        .map(|r| format!("pid {}", r.target.pid))
        .collect();
    if !pids.is_empty() {
        text.push_str(&format!(" ({}", pids.join(", ")));
        if results.len() > pids.len() {
            text.push_str(&format!(" and {} more", results.len() - pids.len()));
        }
        text.push(')');
    }
    Ok((level, crate::mask::text(&text)))
}

/// The live run's own notice after a kill (the same summary, unmarked), which a recording
/// holds right after the `kill_done` record: the cursor drops it, the recorded one says it.
pub fn live_kill_notice(v: &Value) -> Option<String> {
    let results = Vec::<SignalResult>::deserialize(v).ok()?;
    Some(crate::mask::text(&crate::pg::source::summarize(&results).1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_its_batch_json() {
        let mut b = RequestBuilder {
            vxid: 32770,
            start: 1795460028.710364,
            handling: Handling::Pass,
            hit_record: true,
            status: Some(503),
            total_ms: Some(12.345_678),
            ttfb_ms: Some(0.655),
            backend_ms: Some(11.25),
            backend_status: Some(503),
            bytes: 1234,
            restarts: 1,
            esi: 2,
            ..Default::default()
        };
        b.ip.extend_from_slice(b"127.0.0.2");
        b.method.extend_from_slice(b"GET");
        b.url.extend_from_slice(b"/a?b=1");
        b.proto.extend_from_slice(b"HTTP/1.1");
        b.reason.extend_from_slice(b"Service Unavailable");
        b.backend.extend_from_slice(b"origin");
        b.fetch_error.extend_from_slice(b"no backend connection");
        RequestBuilder::push_header(&mut b.req_headers, b"Host: example");
        RequestBuilder::push_header(&mut b.resp_headers, b"Age: 0");
        b.timestamps
            .push((TsLabel::Start, false, 1795460028.710364));
        b.timestamps.push((TsLabel::Resp, false, 1795460028.722709));
        b.timestamps.push((TsLabel::Beresp, true, 1795460028.721));
        let want = b.build();
        let mut v = crate::vlog::format::json_value(&want);
        v.as_object_mut()
            .unwrap()
            .insert("hit_record".into(), true.into());
        // through the text, as stored
        let v: Value = serde_json::from_str(&v.to_string()).unwrap();
        let got = request(&v).unwrap();
        assert!(got.hit_record && got.has_detail());
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        assert_eq!(
            crate::vlog::format::json_value(&got),
            crate::vlog::format::json_value(&want)
        );
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let bad = [
            serde_json::json!({"vxid": 1}),
            serde_json::json!([{"handling": "NOPE"}]),
            serde_json::json!("text"),
            serde_json::json!([1, 2]),
        ];
        for v in bad {
            let r = updates(Some(Kind::VlogRequests), ViewKind::ALL[0], &v).unwrap();
            assert!(
                r.as_ref()
                    .is_err_and(|e| e.starts_with("corrupt vlog_requests record")),
                "{v}: {r:?}"
            );
        }
        let r = updates(
            Some(Kind::KillDone),
            ViewKind::ALL[0],
            &serde_json::json!({}),
        );
        assert!(r.unwrap().is_err());
        let r = updates(
            Some(Kind::VlogStats),
            ViewKind::ALL[0],
            &serde_json::json!({"malformed": "x"}),
        );
        assert!(r.unwrap().is_err());
    }
}

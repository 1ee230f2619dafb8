//! The parsed client request: what the parsers (`parse_v4`, `parse_v2`) and the folder (`fold`)
//! produce, and what the ring, the statistics, the filter and the formatter consume.
//!
//! Memory matters (a ring holds 100k of these), so every variable-length field lives in one
//! byte arena per request (`text`) addressed by end offsets, and timestamps are 8 bytes each.
//! Text is kept as raw bytes (logs carry non-UTF-8 header bytes); accessors give lossy `str`
//! views that borrow when the bytes are valid UTF-8. Parsers fill a `builder::RequestBuilder`.

use std::borrow::Cow;

/// How Varnish handled the request (varnishncsa's `%{Varnish:handling}x`, refined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum Handling {
    /// Never reached VCL (e.g. `HttpGarbage`), or unknown.
    #[default]
    None = 0,
    Hit = 1,
    Miss = 2,
    Pass = 3,
    Pipe = 4,
    /// Synthetic response (`vcl_synth`, 2.1/3.0 `vcl_error`, purge).
    Synth = 5,
    /// A miss on a hit-for-miss object (`HitMiss` record).
    HitForMiss = 6,
    /// A pass on a hit-for-pass object (`HitPass` record).
    HitForPass = 7,
    /// A hit on an expired object inside its grace period (`Hit` with negative TTL).
    Grace = 8,
}

impl Handling {
    pub const ALL: [Handling; 9] = [
        Handling::None,
        Handling::Hit,
        Handling::Miss,
        Handling::Pass,
        Handling::Pipe,
        Handling::Synth,
        Handling::HitForMiss,
        Handling::HitForPass,
        Handling::Grace,
    ];

    /// The label shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Handling::None => "-",
            Handling::Hit => "HIT",
            Handling::Miss => "MISS",
            Handling::Pass => "PASS",
            Handling::Pipe => "PIPE",
            Handling::Synth => "SYNTH",
            Handling::HitForMiss => "HIT-FOR-MISS",
            Handling::HitForPass => "HIT-FOR-PASS",
            Handling::Grace => "GRACE",
        }
    }

    /// varnishncsa's coarser class (`hit`, `miss`, `pass`, `pipe`, `synth`, `-`).
    pub fn ncsa(self) -> &'static str {
        match self {
            Handling::None => "-",
            Handling::Hit | Handling::Grace => "hit",
            Handling::Miss | Handling::HitForMiss => "miss",
            Handling::Pass | Handling::HitForPass => "pass",
            Handling::Pipe => "pipe",
            Handling::Synth => "synth",
        }
    }

    /// Served from cache (counts as a hit in the hit ratio).
    pub fn is_hit(self) -> bool {
        matches!(self, Handling::Hit | Handling::Grace)
    }

    /// Parse a label or ncsa name, case-insensitive (`hit`, `hfm`, `hit-for-miss`, `grace`...).
    pub fn from_name(s: &str) -> Option<Handling> {
        let l = s.trim().to_ascii_lowercase();
        Some(match l.as_str() {
            "-" | "none" => Handling::None,
            "hit" => Handling::Hit,
            "miss" => Handling::Miss,
            "pass" => Handling::Pass,
            "pipe" => Handling::Pipe,
            "synth" | "error" => Handling::Synth,
            "hit-for-miss" | "hitmiss" | "hfm" => Handling::HitForMiss,
            "hit-for-pass" | "hitpass" | "hfp" => Handling::HitForPass,
            "grace" => Handling::Grace,
            _ => return None,
        })
    }
}

/// Which `Timestamp` record a [`Timestamp`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TsLabel {
    Start,
    Req,
    ReqBody,
    Waitinglist,
    Fetch,
    Process,
    Resp,
    Restart,
    Pipe,
    PipeSess,
    Connected,
    Bereq,
    Beresp,
    BerespBody,
    Retry,
    Error,
    Other,
}

impl TsLabel {
    pub fn from_bytes(b: &[u8]) -> TsLabel {
        match b {
            b"Start" => TsLabel::Start,
            b"Req" => TsLabel::Req,
            b"ReqBody" => TsLabel::ReqBody,
            b"Waitinglist" => TsLabel::Waitinglist,
            b"Fetch" => TsLabel::Fetch,
            b"Process" => TsLabel::Process,
            b"Resp" => TsLabel::Resp,
            b"Restart" => TsLabel::Restart,
            b"Pipe" => TsLabel::Pipe,
            b"PipeSess" => TsLabel::PipeSess,
            b"Connected" => TsLabel::Connected,
            b"Bereq" => TsLabel::Bereq,
            b"Beresp" => TsLabel::Beresp,
            b"BerespBody" => TsLabel::BerespBody,
            b"Retry" => TsLabel::Retry,
            b"Error" => TsLabel::Error,
            _ => TsLabel::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TsLabel::Start => "Start",
            TsLabel::Req => "Req",
            TsLabel::ReqBody => "ReqBody",
            TsLabel::Waitinglist => "Waitinglist",
            TsLabel::Fetch => "Fetch",
            TsLabel::Process => "Process",
            TsLabel::Resp => "Resp",
            TsLabel::Restart => "Restart",
            TsLabel::Pipe => "Pipe",
            TsLabel::PipeSess => "PipeSess",
            TsLabel::Connected => "Connected",
            TsLabel::Bereq => "Bereq",
            TsLabel::Beresp => "Beresp",
            TsLabel::BerespBody => "BerespBody",
            TsLabel::Retry => "Retry",
            TsLabel::Error => "Error",
            TsLabel::Other => "Other",
        }
    }
}

/// One `Timestamp` record, as an offset from the request's start (compact: 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timestamp {
    pub label: TsLabel,
    /// true for the backend (`BeReq`) side.
    pub backend: bool,
    /// Seconds since [`Request::start`] (absolute time = start + offset).
    pub offset: f32,
}

// Field indices into the arena.
pub(crate) const F_IP: usize = 0;
pub(crate) const F_METHOD: usize = 1;
pub(crate) const F_URL: usize = 2;
pub(crate) const F_PROTO: usize = 3;
pub(crate) const F_REASON: usize = 4;
pub(crate) const F_BACKEND: usize = 5;
pub(crate) const F_FETCH_ERROR: usize = 6;
pub(crate) const F_NOTE: usize = 7;
pub(crate) const F_REQ_HDR: usize = 8;
pub(crate) const F_RESP_HDR: usize = 9;
pub(crate) const NFIELDS: usize = 10;

/// One client request, with restarts and ESI folded in and the backend side joined.
#[derive(Clone, PartialEq)]
pub struct Request {
    /// vxid of the (final leg of the) request (Varnish 4+), or the xid (2.1/3.0).
    pub vxid: u64,
    /// Start of the request, seconds since the epoch (`Timestamp Start:` / `ReqEnd` t_req).
    pub start: f64,
    pub handling: Handling,
    /// Client status; `None` for pipes (and requests cut short).
    pub status: Option<u16>,
    /// Total time in ms (`Timestamp Resp:`/`PipeSess:` since start; 2.1: t_end − t_req).
    pub total_ms: f64,
    /// Time to first byte in ms (`Process:`/`Pipe:`; 2.1: `ReqEnd` processing time).
    pub ttfb_ms: Option<f32>,
    /// Bytes sent to the client (`ReqAcct` total tx, `PipeAcct` to client, 2.1 `Length`).
    pub bytes: u64,
    pub backend_status: Option<u16>,
    /// Backend time to response headers in ms (`Timestamp Beresp:`).
    pub backend_ms: Option<f32>,
    /// Number of restarts folded into this request.
    pub restarts: u8,
    /// Number of ESI subrequests this request included.
    pub esi: u16,
    /// A `Hit` record was logged (vlogdump's `only_hits` test).
    pub hit_record: bool,
    pub(crate) text: Box<[u8]>,
    pub(crate) ends: [u32; NFIELDS],
    pub(crate) timestamps: Box<[Timestamp]>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("vxid", &self.vxid)
            .field("start", &self.start)
            .field("client_ip", &self.client_ip())
            .field("method", &self.method())
            .field("url", &self.url())
            .field("protocol", &self.protocol())
            .field("handling", &self.handling)
            .field("status", &self.status)
            .field("reason", &self.reason())
            .field("total_ms", &self.total_ms)
            .field("bytes", &self.bytes)
            .field("backend", &self.backend())
            .field("backend_status", &self.backend_status)
            .field("fetch_error", &self.fetch_error())
            .field("restarts", &self.restarts)
            .field("esi", &self.esi)
            .finish_non_exhaustive()
    }
}

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

impl Request {
    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        self.text.get(start..end).unwrap_or(&[])
    }

    pub fn client_ip_bytes(&self) -> &[u8] {
        self.field(F_IP)
    }
    pub fn method_bytes(&self) -> &[u8] {
        self.field(F_METHOD)
    }
    pub fn url_bytes(&self) -> &[u8] {
        self.field(F_URL)
    }
    pub fn reason_bytes(&self) -> &[u8] {
        self.field(F_REASON)
    }
    pub fn backend_bytes(&self) -> &[u8] {
        self.field(F_BACKEND)
    }
    pub fn client_ip(&self) -> Cow<'_, str> {
        lossy(self.field(F_IP))
    }
    pub fn method(&self) -> Cow<'_, str> {
        lossy(self.field(F_METHOD))
    }
    pub fn url(&self) -> Cow<'_, str> {
        lossy(self.field(F_URL))
    }
    pub fn protocol(&self) -> Cow<'_, str> {
        lossy(self.field(F_PROTO))
    }
    pub fn reason(&self) -> Cow<'_, str> {
        lossy(self.field(F_REASON))
    }
    /// Backend name (`BackendOpen` on 4+, `Backend` on 2.1); `None` when no backend was used.
    pub fn backend(&self) -> Option<Cow<'_, str>> {
        let b = self.field(F_BACKEND);
        (!b.is_empty()).then(|| lossy(b))
    }
    pub fn fetch_error(&self) -> Option<Cow<'_, str>> {
        let b = self.field(F_FETCH_ERROR);
        (!b.is_empty()).then(|| lossy(b))
    }
    /// A note about an odd request: the `HttpGarbage` payload of a malformed request line, or a
    /// `VCL_Error`.
    pub fn note(&self) -> Option<Cow<'_, str>> {
        let b = self.field(F_NOTE);
        (!b.is_empty()).then(|| lossy(b))
    }
    /// Client request headers as one block, `Name: value` lines separated by `\n`.
    pub fn req_headers_block(&self) -> &[u8] {
        self.field(F_REQ_HDR)
    }
    /// Client response headers as one block, `Name: value` lines separated by `\n`.
    pub fn resp_headers_block(&self) -> &[u8] {
        self.field(F_RESP_HDR)
    }
    /// Request headers (as finally seen, `ReqUnset` applied), raw `Name: value` bytes.
    pub fn req_headers(&self) -> impl Iterator<Item = &[u8]> {
        split_lines(self.field(F_REQ_HDR))
    }
    pub fn resp_headers(&self) -> impl Iterator<Item = &[u8]> {
        split_lines(self.field(F_RESP_HDR))
    }
    /// First request header with this name (case-insensitive), value bytes.
    pub fn req_header(&self, name: &str) -> Option<&[u8]> {
        find_header(self.field(F_REQ_HDR), name)
    }
    pub fn resp_header(&self, name: &str) -> Option<&[u8]> {
        find_header(self.field(F_RESP_HDR), name)
    }
    pub fn timestamps(&self) -> &[Timestamp] {
        &self.timestamps
    }
    /// Whether headers and timestamps are still held (see [`Request::strip_detail`]).
    pub fn has_detail(&self) -> bool {
        self.ends[F_RESP_HDR] > self.ends[F_NOTE] || !self.timestamps.is_empty()
    }
    /// Drop the headers and timestamps, keeping what one screen line needs (used by the ring
    /// for its older entries to stay within its memory budget).
    pub fn strip_detail(&mut self) {
        let keep = self.ends[F_NOTE] as usize;
        if keep < self.text.len() {
            self.text = self.text.get(..keep).unwrap_or(&[]).into();
        }
        self.ends[F_REQ_HDR] = keep as u32;
        self.ends[F_RESP_HDR] = keep as u32;
        self.timestamps = Box::new([]);
    }
    /// Heap bytes held by this request (arena + timestamps), for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.text.len() + self.timestamps.len() * std::mem::size_of::<Timestamp>()
    }
    /// Status class digit (5 for 5xx), 0 when there is no status.
    pub fn status_class(&self) -> u16 {
        self.status.map(|s| s / 100).unwrap_or(0)
    }
}

fn split_lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b'\n').filter(|l| !l.is_empty())
}

fn find_header<'a>(block: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let n = name.as_bytes();
    split_lines(block).find_map(|l| {
        let colon = memchr::memchr(b':', l)?;
        if l[..colon].eq_ignore_ascii_case(n) {
            let v = &l[colon + 1..];
            let skip = v.iter().take_while(|&&c| c == b' ').count();
            Some(&v[skip..])
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vlog::builder::RequestBuilder;

    #[test]
    fn build_and_strip_keep_line_fields() {
        let mut b = RequestBuilder::default();
        b.ip.extend_from_slice(b"10.0.0.1");
        b.method.extend_from_slice(b"GET");
        b.url.extend_from_slice(b"/a?b=1");
        b.backend.extend_from_slice(b"origin");
        RequestBuilder::push_header(&mut b.req_headers, b"Host: example");
        RequestBuilder::push_header(&mut b.req_headers, b"X-Forwarded-For: 1.2.3.4");
        RequestBuilder::push_header(&mut b.req_headers, b"Cookie: \xe9t\xe9");
        RequestBuilder::unset_header(&mut b.req_headers, b"X-Forwarded-For: 1.2.3.4");
        b.handling = Handling::Miss;
        b.hitmiss = true;
        let mut r = b.build();
        assert_eq!(r.handling, Handling::HitForMiss);
        assert_eq!(r.url(), "/a?b=1");
        assert_eq!(r.req_header("host"), Some(&b"example"[..]));
        assert_eq!(r.req_header("x-forwarded-for"), None);
        assert_eq!(r.req_header("cookie"), Some(&b"\xe9t\xe9"[..]));
        assert_eq!(r.req_headers().count(), 2);
        assert!(r.has_detail());
        r.strip_detail();
        assert!(!r.has_detail());
        assert_eq!(r.req_headers().count(), 0);
        assert_eq!(r.backend().as_deref(), Some("origin"));
        assert_eq!(r.client_ip(), "10.0.0.1");
    }
}

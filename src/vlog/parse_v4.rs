//! Varnish 4.0 – 7.x `varnishlog` text (`-g request`, `-g vxid`, `-g session`), one line at a
//! time, into transactions handed to the [`Folder`] (which emits [`Request`]s).
//!
//! Layout (vut.c / vsl_arg.c, unchanged 4.x → 7.7):
//! group header `*   << Request  >> 5         ` (levels `*`, `**`, `***`, `*4*`…), record line
//! `-   ReqURL         /path` (prefix, tag padded to 14, one space, payload), blank line after
//! every top-level group. Only the fields a request line and its detail view need are kept.

use super::builder::RequestBuilder;
use super::fold::{BackendInfo, Folder, Leg};
use super::record::{Handling, Request, TsLabel};
use super::scan::{nth_token, parse_f64, parse_timestamp, parse_u16, parse_u64, token, trim_end};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Client,
    Backend,
    Skip,
}

/// Streaming parser for Varnish 4+ text.
#[derive(Debug)]
pub struct V4Parser {
    folder: Folder,
    kind: Kind,
    /// Header seen at level 1 for the current transaction / group.
    leg: Leg,
    be: BackendInfo,
    began: bool,
    ended: bool,
    bad: bool,
    in_group: bool,
    group_orphan_records: bool,
    /// Groups or transactions that were truncated or malformed and skipped.
    pub malformed: u64,
    /// Lines that were neither a header, a record nor blank.
    pub garbage_lines: u64,
}

impl Default for V4Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl V4Parser {
    pub fn new() -> Self {
        V4Parser {
            folder: Folder::new(),
            kind: Kind::None,
            leg: Leg::default(),
            be: BackendInfo::default(),
            began: false,
            ended: false,
            bad: false,
            in_group: false,
            group_orphan_records: false,
            malformed: 0,
            garbage_lines: 0,
        }
    }

    pub fn folder(&self) -> &Folder {
        &self.folder
    }

    /// Feed one line (without its `\n`).
    #[inline]
    pub fn line(&mut self, line: &[u8], out: &mut Vec<Request>) {
        match line.first() {
            Some(b'-') => self.record(line),
            Some(b'*') => self.header(line, out),
            None => self.blank(out),
            Some(b' ') | Some(b'\r') | Some(b'\t') => {
                if trim_end(line).iter().all(|c| *c == b' ' || *c == b'\t') {
                    self.blank(out)
                } else {
                    self.garbage()
                }
            }
            Some(_) => self.garbage(),
        }
    }

    /// End of input.
    pub fn finish(&mut self, out: &mut Vec<Request>) {
        self.finish_tx(out);
        if self.in_group {
            self.end_group(out);
        }
        self.folder.finish(out);
    }

    fn garbage(&mut self) {
        self.garbage_lines += 1;
        if self.kind != Kind::None {
            self.bad = true;
        }
    }

    fn blank(&mut self, out: &mut Vec<Request>) {
        self.finish_tx(out);
        if self.in_group {
            self.end_group(out);
        }
    }

    fn end_group(&mut self, out: &mut Vec<Request>) {
        if self.group_orphan_records {
            self.malformed += 1;
            self.group_orphan_records = false;
        }
        self.in_group = false;
        self.folder.group_end(out);
    }

    fn header(&mut self, line: &[u8], out: &mut Vec<Request>) {
        self.finish_tx(out);
        let (prefix, rest) = token(line);
        let level = match prefix {
            b"*" => 1,
            b"**" => 2,
            b"***" => 3,
            _ => 4,
        };
        if level == 1 && self.in_group {
            // Missing blank line between groups: treat as a group end.
            self.end_group(out);
        }
        if level >= 2 {
            self.folder.grouped = true;
        }
        self.in_group = true;
        // rest: `<< Request  >> 5`
        let (open, rest) = token(rest);
        let (typ, rest) = token(rest);
        let (close, rest) = token(rest);
        let vxid = parse_u64(token(rest).0);
        let (Some(vxid), true) = (vxid, open == b"<<" && close == b">>") else {
            self.malformed += 1;
            self.kind = Kind::Skip;
            return;
        };
        self.began = false;
        self.ended = false;
        self.bad = false;
        match typ {
            b"Request" => {
                self.kind = Kind::Client;
                self.leg.clear();
                self.leg.b.vxid = vxid;
            }
            b"BeReq" => {
                self.kind = Kind::Backend;
                self.be.clear();
                self.be.vxid = vxid;
            }
            _ => self.kind = Kind::Skip,
        }
    }

    fn finish_tx(&mut self, out: &mut Vec<Request>) {
        let kind = std::mem::replace(&mut self.kind, Kind::None);
        match kind {
            Kind::Client => {
                if self.ended && self.began && !self.bad {
                    let fresh = self.folder.take_leg();
                    let leg = std::mem::replace(&mut self.leg, fresh);
                    self.folder.client_leg(leg, out);
                } else {
                    self.malformed += 1;
                }
            }
            Kind::Backend => {
                if self.ended && !self.bad {
                    self.folder.backend(&self.be, out);
                } else {
                    self.malformed += 1;
                }
            }
            Kind::None | Kind::Skip => {}
        }
    }

    #[inline]
    fn record(&mut self, line: &[u8]) {
        // prefix (`-`, `--`, `---`, `-4-`) then spaces, tag, padding to 14, one space, payload.
        let Some(sp) = memchr::memchr(b' ', line) else {
            return self.garbage();
        };
        let mut t = sp;
        while t < line.len() && line[t] == b' ' {
            t += 1;
        }
        let rest = &line[t..];
        let tag_len = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        let tag = &rest[..tag_len];
        let pstart = if tag_len <= 14 { 15 } else { tag_len + 1 };
        let payload = rest.get(pstart..).unwrap_or(&[]);
        match self.kind {
            Kind::Client => self.client_record(tag, payload),
            Kind::Backend => self.backend_record(tag, payload),
            Kind::Skip => {}
            Kind::None => self.group_orphan_records = true,
        }
    }

    #[inline]
    fn client_record(&mut self, tag: &[u8], p: &[u8]) {
        let b = &mut self.leg.b;
        match tag {
            b"ReqHeader" => RequestBuilder::push_header(&mut b.req_headers, p),
            b"RespHeader" => RequestBuilder::push_header(&mut b.resp_headers, p),
            b"Timestamp" => {
                if let Some((label, abs, since)) = parse_timestamp(p) {
                    let l = TsLabel::from_bytes(label);
                    match l {
                        TsLabel::Start if b.start == 0.0 => b.start = abs,
                        TsLabel::Resp | TsLabel::PipeSess => b.total_ms = Some(since * 1000.0),
                        TsLabel::Process if b.ttfb_ms.is_none() => {
                            b.ttfb_ms = Some((since * 1000.0) as f32)
                        }
                        TsLabel::Pipe => b.ttfb_ms = Some((since * 1000.0) as f32),
                        _ => {}
                    }
                    b.timestamps.push((l, false, abs));
                }
            }
            b"VCL_call" => match trim_end(p) {
                b"RECV" => {
                    b.handling = Handling::None;
                    b.hit_grace = false;
                    b.hitmiss = false;
                    b.hitpass = false;
                }
                b"HIT" => b.handling = Handling::Hit,
                b"MISS" => b.handling = Handling::Miss,
                b"PASS" => b.handling = Handling::Pass,
                b"SYNTH" => b.handling = Handling::Synth,
                _ => {}
            },
            b"VCL_return" if trim_end(p) == b"pipe" => b.handling = Handling::Pipe,
            b"Begin" => {
                self.began = true;
                let (what, rest) = token(p);
                let (parent, rest) = token(rest);
                let reason = token(rest).0;
                if what != b"req" {
                    self.bad = true;
                }
                match reason {
                    b"esi" => self.kind = Kind::Skip,
                    b"restart" => self.leg.restart_parent = parse_u64(parent),
                    _ => {}
                }
            }
            b"End" => self.ended = true,
            b"ReqStart" => set_once(&mut b.ip, token(p).0),
            b"ReqMethod" => set_once(&mut b.method, p),
            b"ReqURL" => set_once(&mut b.url, p),
            b"ReqProtocol" => set_once(&mut b.proto, p),
            b"ReqUnset" => RequestBuilder::unset_header(&mut b.req_headers, p),
            b"RespUnset" => RequestBuilder::unset_header(&mut b.resp_headers, p),
            b"RespStatus" => b.status = parse_u16(trim_end(p)),
            b"RespReason" => {
                b.reason.clear();
                b.reason.extend_from_slice(p);
            }
            b"Hit" => {
                b.hit_record = true;
                if let Some(ttl) = nth_token(p, 1).and_then(parse_f64) {
                    b.hit_grace = ttl < 0.0;
                }
            }
            b"HitMiss" => b.hitmiss = true,
            b"HitPass" => b.hitpass = true,
            b"ReqAcct" => {
                if let Some(v) = nth_token(p, 5).and_then(parse_u64) {
                    b.bytes = v;
                }
            }
            b"PipeAcct" => {
                if let Some(v) = nth_token(p, 3).and_then(parse_u64) {
                    b.bytes = v;
                }
            }
            b"Link" => {
                let (what, rest) = token(p);
                let (vx, rest) = token(rest);
                let reason = token(rest).0;
                let vx = parse_u64(vx);
                match (what, reason) {
                    (b"bereq", b"bgfetch") => self.leg.bg_bereq = vx,
                    (b"bereq", _) => self.leg.wait_bereq = vx,
                    (b"req", b"esi") => b.esi = b.esi.saturating_add(1),
                    (b"req", b"restart") => self.leg.restart_child = vx,
                    _ => {}
                }
            }
            b"HttpGarbage" | b"VCL_Error" => set_once(&mut b.note, p),
            _ => {}
        }
    }

    #[inline]
    fn backend_record(&mut self, tag: &[u8], p: &[u8]) {
        let be = &mut self.be;
        match tag {
            b"Timestamp" => {
                if let Some((label, abs, since)) = parse_timestamp(p) {
                    let l = TsLabel::from_bytes(label);
                    if l == TsLabel::Beresp {
                        be.beresp_ms = Some((since * 1000.0) as f32);
                    }
                    be.timestamps.push((l, true, abs));
                }
            }
            b"BackendOpen" => {
                if let Some(name) = nth_token(p, 1) {
                    be.name.clear();
                    be.name.extend_from_slice(name);
                }
            }
            b"BerespStatus" => be.status = parse_u16(trim_end(p)),
            b"FetchError" => {
                be.fetch_error.clear();
                be.fetch_error.extend_from_slice(trim_end(p));
            }
            b"Begin" => self.began = true,
            b"End" => self.ended = true,
            _ => {}
        }
    }
}

#[inline]
fn set_once(dst: &mut Vec<u8>, p: &[u8]) {
    if dst.is_empty() {
        dst.extend_from_slice(p);
    }
}

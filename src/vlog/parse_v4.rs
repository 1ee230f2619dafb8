//! Varnish 4.0 – 7.x `varnishlog` text (`-g request`, `-g vxid`, `-g session`), one line at a
//! time, into transactions handed to the [`Folder`] (which emits [`Request`]s).
//!
//! Layout (vut.c / vsl_arg.c, unchanged 4.x → 7.7):
//! group header `*   << Request  >> 5         ` (levels `*`, `**`, `***`, `*4*`…), record line
//! `-   ReqURL         /path` (prefix, tag padded to 14, one space, payload), blank line after
//! every top-level group. Only the fields a request line and its detail view need are kept.

use super::builder::RequestBuilder;
use super::fold::{BackendInfo, Folder, Leg};
use super::request::{Handling, Request, TsLabel};
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
    /// Level of the current transaction's header (`*` = 1, `**` = 2…): its records must
    /// carry the same prefix (`-`, `--`…), else a header was lost and the records would land
    /// on the wrong transaction.
    level: u8,
    /// A transaction of the current top-level group was damaged: the whole group (one client
    /// request with its fetches and restarts in `-g request`) is dropped and counted once.
    group_bad: bool,
    /// What the folder emitted during the current group, held until the group is known good.
    group_out: Vec<Request>,
    /// Records of the current group (a group of nothing but a broken header is garbage).
    group_records: u64,
    /// vxids of the client transactions of the current group.
    group_vxids: Vec<u64>,
    /// The current group continues a request already counted as malformed.
    group_lost: bool,
    /// Client legs handed to the folder during the current group (dropped with it).
    group_legs: Vec<u64>,
    /// The current group holds a client request (a damaged background fetch is not one).
    group_client: bool,
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
            level: 0,
            group_bad: false,
            group_out: Vec::new(),
            group_records: 0,
            group_client: false,
            group_legs: Vec::new(),
            group_lost: false,
            group_vxids: Vec::new(),
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

    /// A line was lost (too long to keep): the transaction it belonged to is damaged.
    pub fn taint(&mut self) {
        self.damage();
    }

    /// The current transaction (or, between transactions, the group) lost something.
    fn damage(&mut self) {
        if self.kind != Kind::None {
            self.bad = true;
        }
        if self.in_group {
            self.group_bad = true;
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
        // After `End` the transaction is complete: a stray line does not damage it.
        if !(self.kind != Kind::None && self.ended) {
            self.damage();
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
            // Records without a header: a request whose header line was lost.
            self.malformed += 1;
            self.group_orphan_records = false;
        }
        self.in_group = false;
        let mut held = std::mem::take(&mut self.group_out);
        self.folder.group_end(&mut held);
        if self.group_bad && self.group_records == 0 && held.is_empty() {
            // A stray broken header line and nothing else: garbage, not a lost request.
            self.garbage_lines += 1;
        } else if self.group_bad && (!self.group_client || self.group_lost) {
            // A damaged group without a client request (a background fetch): dropped, but
            // no request was lost.
        } else if self.group_bad {
            // Nothing of a damaged request group is shown (no half-joined backend side).
            self.malformed += 1;
            if self.folder.grouped {
                held.clear();
                for v in std::mem::take(&mut self.group_legs) {
                    self.folder.forget(v);
                }
                // A later restart leg (`Begin req P restart`) of these is dropped too.
                for v in std::mem::take(&mut self.group_vxids) {
                    self.folder.lose(v);
                }
            }
        }
        self.group_bad = false;
        self.group_records = 0;
        self.group_client = false;
        self.group_legs.clear();
        self.group_lost = false;
        self.group_vxids.clear();
        out.append(&mut held);
        self.group_out = held;
    }

    fn header(&mut self, line: &[u8], out: &mut Vec<Request>) {
        self.finish_tx(out);
        let (prefix, rest) = token(line);
        let level: u8 = match prefix {
            b"*" => 1,
            b"**" => 2,
            b"***" => 3,
            [b'*', mid @ .., b'*'] if !mid.is_empty() => parse_u64(mid)
                .and_then(|v| u8::try_from(v).ok())
                .unwrap_or(4),
            _ => 4,
        };
        if level == 1 && self.in_group {
            // Missing blank line between groups: treat as a group end.
            self.end_group(out);
        }
        if level > 1 && !self.in_group {
            // A nested transaction without its group header: something was lost.
            self.group_bad = true;
        }
        self.level = level;
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
            self.kind = Kind::Skip;
            self.group_bad = true;
            return;
        };
        self.began = false;
        self.ended = false;
        self.bad = false;
        match typ {
            b"Request" => {
                self.group_client = true;
                self.group_vxids.push(vxid);
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
                    if self.in_group {
                        self.group_legs.push(self.leg.b.vxid);
                    }
                    let fresh = self.folder.take_leg();
                    let leg = std::mem::replace(&mut self.leg, fresh);
                    let dst = if self.in_group {
                        &mut self.group_out
                    } else {
                        out
                    };
                    self.folder.client_leg(leg, dst);
                } else {
                    self.tx_bad(true);
                }
            }
            Kind::Backend => {
                if self.ended && !self.bad {
                    let dst = if self.in_group {
                        &mut self.group_out
                    } else {
                        out
                    };
                    self.folder.backend(&self.be, dst);
                } else {
                    self.tx_bad(false);
                }
            }
            Kind::None | Kind::Skip => {}
        }
    }

    /// A damaged transaction: counted once with its group (or alone outside a group).
    fn tx_bad(&mut self, client: bool) {
        if client {
            // The other legs of a restarted request go with it.
            if let Some(c) = self.leg.restart_child {
                self.folder.lose(c);
            }
            if let Some(p) = self.leg.restart_parent {
                self.folder.forget(p);
            }
            if self.folder.is_lost(self.leg.b.vxid) {
                // Drop the marker (the good path drops it in the folder).
                self.folder.forget_lost(self.leg.b.vxid);
            }
        }
        if self.in_group {
            self.group_bad = true;
        } else {
            self.malformed += 1;
        }
    }

    #[inline]
    fn record(&mut self, line: &[u8]) {
        // prefix (`-`, `--`, `---`, `-4-`) then spaces, tag, padding to 14, one space, payload.
        let Some(sp) = memchr::memchr(b' ', line) else {
            return self.garbage();
        };
        if self.in_group {
            self.group_records += 1;
        }
        if self.kind != Kind::None && record_level(&line[..sp]) != Some(self.level) {
            // A record of another transaction level: its header was lost.
            self.garbage_lines += 1;
            return self.damage();
        }
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
                    b"restart" => {
                        self.leg.restart_parent = parse_u64(parent);
                        let own = self.leg.b.vxid;
                        if self.folder.is_lost(own)
                            || self
                                .leg
                                .restart_parent
                                .is_some_and(|p| self.folder.is_lost(p))
                        {
                            self.group_lost = true;
                        }
                    }
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

/// The level a record prefix stands for: `-` 1, `--` 2, `---` 3, `-4-` 4…
#[inline]
fn record_level(prefix: &[u8]) -> Option<u8> {
    match prefix {
        b"-" => Some(1),
        b"--" => Some(2),
        b"---" => Some(3),
        [b'-', mid @ .., b'-'] if !mid.is_empty() => {
            parse_u64(mid).and_then(|v| u8::try_from(v).ok())
        }
        _ => None,
    }
}

#[inline]
fn set_once(dst: &mut Vec<u8>, p: &[u8]) {
    if dst.is_empty() {
        dst.extend_from_slice(p);
    }
}

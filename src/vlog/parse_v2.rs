//! Legacy Varnish 2.1 / 3.0 `varnishlog` text (`"%5d %-12s %c %s"`), in the default
//! interleaved order and in `-o` grouped order (blank-line separated, joined
//! `VCL_call c recv lookup` form, also 3.0's default), into [`Request`]s.
//!
//! Records are attributed by their first column (a file descriptor): a `ReqStart` on a client fd
//! opens a request, `ReqEnd` closes and emits it. The client's `Backend c <fd> <director>
//! <backend>` record links the backend fd whose `RxStatus b` is the backend status; in `-o`
//! mode the backend group is printed before the client's, so the last finished fetch per
//! backend fd is kept until claimed. State is per fd (bounded by [`MAX_FD`]), never per xid.

use super::builder::RequestBuilder;
use super::request::{Handling, Request};
use super::scan::{nth_token, parse_f64, parse_u16, parse_u64, skip_spaces, token, trim_end};

/// File descriptors above this are ignored (and counted as malformed lines).
pub const MAX_FD: usize = 1 << 20;

#[derive(Debug, Default)]
struct BeState {
    name: Vec<u8>,
    status: Option<u16>,
    /// Client fd + xid waiting for this fetch's status.
    owner: Option<(u32, u64)>,
    done: bool,
    claimed: bool,
}

#[derive(Debug, Default)]
struct ClientSlot {
    open: bool,
    b: RequestBuilder,
    be_fd: Option<u32>,
}

/// Streaming parser for 2.1/3.0 text.
#[derive(Debug, Default)]
pub struct V2Parser {
    clients: Vec<ClientSlot>,
    backends: Vec<BeState>,
    /// Requests seen only in part (`ReqEnd` without `ReqStart`, a `ReqStart` that replaced an
    /// unfinished request) plus unparseable lines.
    pub malformed: u64,
    pub garbage_lines: u64,
}

impl V2Parser {
    /// A line was lost (too long to keep); its transaction cannot be told, count it.
    pub fn taint(&mut self) {
        self.malformed += 1;
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Requests currently open (for tests of boundedness).
    pub fn open_requests(&self) -> usize {
        self.clients.iter().filter(|c| c.open).count()
    }

    /// Feed one line (without its `\n`).
    #[inline]
    pub fn line(&mut self, line: &[u8], out: &mut Vec<Request>) {
        let l = skip_spaces(line);
        if l.is_empty() || trim_end(l).is_empty() {
            return;
        }
        let Some(sp) = memchr::memchr(b' ', l) else {
            self.garbage_lines += 1;
            return;
        };
        let Some(fd) = parse_u64(&l[..sp]).map(|v| v as usize) else {
            self.garbage_lines += 1;
            return;
        };
        let rest = &l[sp + 1..];
        let tag_len = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        let tag = &rest[..tag_len];
        let after = skip_spaces(&rest[tag_len..]);
        let (typ, payload) = match after {
            [t, b' ', p @ ..] => (*t, p),
            [t] => (*t, &[][..]),
            _ => {
                self.garbage_lines += 1;
                return;
            }
        };
        if fd >= MAX_FD {
            self.garbage_lines += 1;
            return;
        }
        match typ {
            b'b' => self.backend_record(fd, tag, payload),
            b'c' => self.client_record(fd, tag, payload, out),
            _ => {
                // `-`: before the reader saw the fd open. Only useful for a request already open.
                if self.clients.get(fd).is_some_and(|c| c.open) || tag == b"ReqEnd" {
                    self.client_record(fd, tag, payload, out)
                }
            }
        }
    }

    pub fn finish(&mut self, _out: &mut Vec<Request>) {
        for c in &mut self.clients {
            if c.open {
                c.open = false;
                self.malformed += 1;
            }
        }
    }

    fn slot(&mut self, fd: usize) -> &mut ClientSlot {
        if self.clients.len() <= fd {
            self.clients.resize_with(fd + 1, ClientSlot::default);
        }
        &mut self.clients[fd]
    }

    fn be(&mut self, fd: usize) -> &mut BeState {
        if self.backends.len() <= fd {
            self.backends.resize_with(fd + 1, BeState::default);
        }
        &mut self.backends[fd]
    }

    fn client_record(&mut self, fd: usize, tag: &[u8], p: &[u8], out: &mut Vec<Request>) {
        if tag == b"ReqStart" {
            let s = self.slot(fd);
            let was_open = s.open;
            s.open = true;
            s.b.clear();
            s.be_fd = None;
            s.b.ip.extend_from_slice(token(p).0);
            s.b.vxid = nth_token(p, 2).and_then(parse_u64).unwrap_or(0);
            if was_open {
                self.malformed += 1;
            }
            return;
        }
        if tag == b"Backend" {
            return self.link_backend(fd, p);
        }
        let Some(s) = self.clients.get_mut(fd).filter(|s| s.open) else {
            if tag == b"ReqEnd" {
                // A request whose start we never saw (headless partial).
                self.malformed += 1;
            }
            return;
        };
        let b = &mut s.b;
        match tag {
            b"RxHeader" => RequestBuilder::push_header(&mut b.req_headers, p),
            b"TxHeader" => RequestBuilder::push_header(&mut b.resp_headers, p),
            b"VCL_call" => {
                let (call, ret) = token(p);
                match call {
                    b"recv" => b.handling = Handling::None,
                    b"hit" => b.handling = Handling::Hit,
                    b"miss" => b.handling = Handling::Miss,
                    b"pass" => b.handling = Handling::Pass,
                    b"pipe" => b.handling = Handling::Pipe,
                    b"error" => b.handling = Handling::Synth,
                    _ => {}
                }
                vcl_return(b, token(ret).0);
            }
            b"VCL_return" => vcl_return(b, trim_end(p)),
            b"RxRequest" => set_once(&mut b.method, p),
            b"RxURL" => set_once(&mut b.url, p),
            b"RxProtocol" => set_once(&mut b.proto, p),
            b"TxStatus" => b.status = parse_u16(trim_end(p)),
            b"TxResponse" => {
                b.reason.clear();
                b.reason.extend_from_slice(p);
            }
            b"Hit" => b.hit_record = true,
            b"Length" => b.bytes = parse_u64(trim_end(p)).unwrap_or(b.bytes),
            b"ReqEnd" => {
                // `<xid> <t_req> <t_end> <dh> <dp> <da>`
                let (_xid, r) = token(p);
                let (treq, r) = token(r);
                let (tend, r) = token(r);
                let (_dh, r) = token(r);
                let (dp, _) = token(r);
                let treq = parse_f64(treq);
                let tend = parse_f64(tend);
                if let Some(t) = treq {
                    b.start = t;
                }
                if let (Some(a), Some(e)) = (treq, tend) {
                    b.total_ms = Some(((e - a) * 1000.0).max(0.0));
                }
                b.ttfb_ms = parse_f64(dp).map(|v| (v * 1000.0) as f32);
                out.push(b.build());
                s.open = false;
                if let Some(bfd) = s.be_fd.take() {
                    if let Some(be) = self.backends.get_mut(bfd as usize) {
                        if be.owner.is_some_and(|(o, _)| o as usize == fd) {
                            be.owner = None;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// `Backend c <be fd> <director> <backend>` on an open client request.
    fn link_backend(&mut self, fd: usize, p: &[u8]) {
        let Some(s) = self.clients.get_mut(fd).filter(|s| s.open) else {
            return;
        };
        if let Some(name) = nth_token(p, 2) {
            s.b.backend.clear();
            s.b.backend.extend_from_slice(name);
        }
        let xid = s.b.vxid;
        let Some(bfd) = nth_token(p, 0)
            .and_then(parse_u64)
            .map(|v| v as usize)
            .filter(|&f| f < MAX_FD)
        else {
            return;
        };
        s.be_fd = Some(bfd as u32);
        let be = self.be(bfd);
        if be.done && !be.claimed {
            // `-o`: the fetch was printed before the client group.
            be.claimed = true;
            let st = be.status;
            if let Some(c) = self.clients.get_mut(fd) {
                c.b.backend_status = st;
            }
        } else {
            be.owner = Some((fd as u32, xid));
        }
    }

    fn backend_record(&mut self, fd: usize, tag: &[u8], p: &[u8]) {
        match tag {
            b"BackendOpen" => {
                let be = self.be(fd);
                *be = BeState::default();
                be.name.extend_from_slice(token(p).0);
            }
            b"TxRequest" => {
                let be = self.be(fd);
                if be.done {
                    be.done = false;
                    be.claimed = false;
                    be.status = None;
                }
            }
            b"RxStatus" => {
                let st = parse_u16(trim_end(p));
                let be = self.be(fd);
                be.status = st;
                if let Some((cfd, xid)) = be.owner {
                    be.claimed = true;
                    if let Some(c) = self.clients.get_mut(cfd as usize) {
                        if c.open && c.b.vxid == xid {
                            c.b.backend_status = st;
                        }
                    }
                }
            }
            b"BackendReuse" | b"BackendClose" => {
                let be = self.be(fd);
                be.done = true;
                be.owner = None;
                let name = token(p).0;
                if !name.is_empty() {
                    be.name.clear();
                    be.name.extend_from_slice(name);
                }
            }
            _ => {}
        }
    }
}

fn set_once(dst: &mut Vec<u8>, p: &[u8]) {
    if dst.is_empty() {
        dst.extend_from_slice(p);
    }
}

fn vcl_return(b: &mut RequestBuilder, ret: &[u8]) {
    match ret {
        b"pipe" => b.handling = Handling::Pipe,
        b"restart" => b.restarts = b.restarts.saturating_add(1),
        _ => {}
    }
}

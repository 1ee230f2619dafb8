//! Folding Varnish 4+ transactions into client requests. `parse_v4` hands over each finished
//! client leg (a `Request` transaction) and each finished backend fetch (`BeReq`); the folder
//! joins the backend side into its client request, merges restart legs (`Link req N restart` /
//! `Begin req P restart`) into one request, and emits finished [`Request`]s.
//!
//! Every structure here is bounded: pending legs (capped, evicted oldest-first and emitted as
//! they are), orphan backend fetches (capped FIFO) and the builder pool. vxids repeat across
//! varnishd restarts, so nothing is keyed forever.

use std::collections::{HashMap, VecDeque};

use super::builder::RequestBuilder;
use super::request::{Request, TsLabel};

/// Most client legs waiting for a backend fetch or a restart continuation.
pub const MAX_PENDING: usize = 1024;
/// Most backend fetches waiting for their client request (`-g vxid` prints them first).
pub const MAX_ORPHANS: usize = 4096;
/// In `-g vxid` mode a leg waits at most this many transactions for its backend fetch.
const VXID_WAIT_TX: u64 = 256;
/// A restart first leg waits at most this many transactions for its next leg.
const RESTART_WAIT_TX: u64 = 1024;
const POOL_KEEP: usize = 64;

/// One client leg (a `Request` transaction that began with `rxreq` or `restart`).
#[derive(Debug, Default)]
pub struct Leg {
    pub b: RequestBuilder,
    /// `Link bereq N fetch|pass|pipe`: the fetch whose details belong to this request.
    pub wait_bereq: Option<u64>,
    /// `Link bereq N bgfetch`: joined if seen in time, never waited for.
    pub bg_bereq: Option<u64>,
    /// `Link req N restart`: this leg continues in transaction N.
    pub restart_child: Option<u64>,
    /// `Begin req P restart`: this leg continues transaction P.
    pub restart_parent: Option<u64>,
    seq: u64,
}

impl Leg {
    pub fn clear(&mut self) {
        self.b.clear();
        self.wait_bereq = None;
        self.bg_bereq = None;
        self.restart_child = None;
        self.restart_parent = None;
        self.seq = 0;
    }
}

/// The backend side of one fetch (`BeReq` transaction).
#[derive(Debug, Default, Clone)]
pub struct BackendInfo {
    pub vxid: u64,
    pub name: Vec<u8>,
    pub fetch_error: Vec<u8>,
    pub status: Option<u16>,
    pub beresp_ms: Option<f32>,
    pub timestamps: Vec<(TsLabel, bool, f64)>,
    seq: u64,
}

impl BackendInfo {
    pub fn clear(&mut self) {
        self.vxid = 0;
        self.name.clear();
        self.fetch_error.clear();
        self.status = None;
        self.beresp_ms = None;
        self.timestamps.clear();
        self.seq = 0;
    }

    fn join_into(&self, b: &mut RequestBuilder) {
        if !self.name.is_empty() {
            b.backend.clear();
            b.backend.extend_from_slice(&self.name);
        }
        if !self.fetch_error.is_empty() {
            b.fetch_error.clear();
            b.fetch_error.extend_from_slice(&self.fetch_error);
        }
        if self.status.is_some() {
            b.backend_status = self.status;
        }
        if self.beresp_ms.is_some() {
            b.backend_ms = self.beresp_ms;
        }
        b.timestamps.retain(|t| !t.1);
        b.timestamps.extend_from_slice(&self.timestamps);
    }
}

/// Counters about what the folder had to give up on (bounded structures at work).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FoldCounters {
    /// Legs emitted without their backend fetch or restart continuation.
    pub incomplete: u64,
    /// Backend fetches whose client request never showed up (ESI fragments, bgfetches...).
    pub orphans_dropped: u64,
}

#[derive(Debug, Default)]
pub struct Folder {
    pending: VecDeque<Leg>,
    orphans: HashMap<u64, BackendInfo>,
    orphan_order: VecDeque<(u64, u64)>,
    pool: Vec<Leg>,
    /// Continuation legs (`Link req N restart`) of requests dropped as malformed: skipped
    /// when they arrive (bounded, oldest forgotten first).
    lost: VecDeque<u64>,
    seq: u64,
    /// Nested groups were seen (`-g request` / `-g session`): a group end means everything of
    /// the group has arrived.
    pub grouped: bool,
    pub counters: FoldCounters,
}

impl Folder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A cleared leg from the pool (no allocation once warm).
    pub fn take_leg(&mut self) -> Leg {
        self.pool.pop().unwrap_or_default()
    }

    /// Give back a leg that will not be used.
    pub fn recycle(&mut self, mut leg: Leg) {
        if self.pool.len() < POOL_KEEP {
            leg.clear();
            self.pool.push(leg);
        }
    }

    fn emit(&mut self, mut leg: Leg, out: &mut Vec<Request>) {
        out.push(leg.b.build());
        self.recycle(leg);
    }

    /// The restart continuation `child` belongs to a request dropped as malformed.
    pub fn lose(&mut self, child: u64) {
        if self.lost.len() >= MAX_PENDING {
            self.lost.pop_front();
        }
        self.lost.push_back(child);
    }

    /// Is `vxid` the continuation of a request already dropped as malformed?
    pub fn is_lost(&self, vxid: u64) -> bool {
        self.lost.contains(&vxid)
    }

    /// `vxid` arrived (damaged itself): no need to wait for it any more.
    pub fn forget_lost(&mut self, vxid: u64) {
        self.lost.retain(|&v| v != vxid);
    }

    /// Drop the pending leg `vxid` (its request was damaged); its continuation is lost too.
    pub fn forget(&mut self, vxid: u64) {
        if let Some(i) = self.pending.iter().position(|p| p.b.vxid == vxid) {
            if let Some(leg) = self.pending.remove(i) {
                if let Some(c) = leg.restart_child {
                    self.lose(c);
                }
                self.recycle(leg);
            }
        }
    }

    /// A finished client leg.
    pub fn client_leg(&mut self, mut leg: Leg, out: &mut Vec<Request>) {
        // Only restart legs: vxids repeat (varnishd restarts), a new request is never skipped.
        let lost = leg.restart_parent.and_then(|parent| {
            self.lost
                .iter()
                .position(|&v| v == leg.b.vxid || v == parent)
        });
        if let Some(i) = lost {
            // The rest of a request already dropped as malformed.
            self.lost.remove(i);
            if let Some(c) = leg.restart_child {
                self.lose(c);
            }
            self.recycle(leg);
            return;
        }
        self.seq += 1;
        leg.seq = self.seq;
        if let Some(parent) = leg.restart_parent {
            let found = self
                .pending
                .iter()
                .position(|p| p.restart_child == Some(leg.b.vxid) || p.b.vxid == parent);
            if let Some(i) = found {
                if let Some(prev) = self.pending.remove(i) {
                    merge_restart(&mut leg.b, &prev.b);
                    if leg.wait_bereq.is_none() {
                        leg.wait_bereq = prev.wait_bereq;
                    }
                    if leg.bg_bereq.is_none() {
                        leg.bg_bereq = prev.bg_bereq;
                    }
                    self.recycle(prev);
                }
            } else {
                // First leg not seen (started before we did, or filtered out).
                leg.b.restarts = leg.b.restarts.saturating_add(1);
            }
        }
        if let Some(w) = leg.wait_bereq {
            if let Some(be) = self.orphans.remove(&w) {
                be.join_into(&mut leg.b);
                leg.wait_bereq = None;
            }
        }
        if let Some(w) = leg.bg_bereq {
            if let Some(be) = self.orphans.remove(&w) {
                be.join_into(&mut leg.b);
                leg.bg_bereq = None;
            }
        }
        if leg.wait_bereq.is_none() && leg.restart_child.is_none() {
            self.emit(leg, out);
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                self.counters.incomplete += 1;
                self.emit(old, out);
            }
        }
        self.pending.push_back(leg);
    }

    /// A finished backend fetch.
    pub fn backend(&mut self, be: &BackendInfo, out: &mut Vec<Request>) {
        self.seq += 1;
        let vx = be.vxid;
        let found = self
            .pending
            .iter()
            .position(|p| p.wait_bereq == Some(vx) || p.bg_bereq == Some(vx));
        if let Some(i) = found {
            let done = {
                let p = &mut self.pending[i];
                be.join_into(&mut p.b);
                if p.wait_bereq == Some(vx) {
                    p.wait_bereq = None;
                } else {
                    p.bg_bereq = None;
                }
                p.wait_bereq.is_none() && p.restart_child.is_none()
            };
            if done {
                if let Some(leg) = self.pending.remove(i) {
                    self.emit(leg, out);
                }
            }
            return;
        }
        if self.orphans.len() >= MAX_ORPHANS {
            self.drop_oldest_orphan();
        }
        let mut copy = be.clone();
        copy.seq = self.seq;
        self.orphan_order.push_back((vx, self.seq));
        if self.orphans.insert(vx, copy).is_some() {
            self.counters.orphans_dropped += 1;
        }
    }

    fn drop_oldest_orphan(&mut self) {
        while let Some((vx, seq)) = self.orphan_order.pop_front() {
            if self.orphans.get(&vx).is_some_and(|o| o.seq == seq) {
                self.orphans.remove(&vx);
                self.counters.orphans_dropped += 1;
                return;
            }
        }
    }

    /// The end of a top-level group (blank line).
    pub fn group_end(&mut self, out: &mut Vec<Request>) {
        if self.grouped {
            // Everything of the group has arrived: emit all but restart first legs.
            let mut i = 0;
            while i < self.pending.len() {
                if self.pending[i].restart_child.is_none() {
                    if let Some(mut leg) = self.pending.remove(i) {
                        if leg.wait_bereq.is_some() {
                            self.counters.incomplete += 1;
                        }
                        leg.wait_bereq = None;
                        self.emit(leg, out);
                    }
                } else {
                    i += 1;
                }
            }
            self.counters.orphans_dropped += self.orphans.len() as u64;
            self.orphans.clear();
            self.orphan_order.clear();
        }
        // Age-based eviction (both modes).
        while let Some(front) = self.pending.front() {
            let limit = if front.restart_child.is_some() {
                RESTART_WAIT_TX
            } else {
                VXID_WAIT_TX
            };
            if self.seq.saturating_sub(front.seq) <= limit {
                break;
            }
            if let Some(leg) = self.pending.pop_front() {
                self.counters.incomplete += 1;
                self.emit(leg, out);
            }
        }
        while let Some(&(vx, seq)) = self.orphan_order.front() {
            if self.seq.saturating_sub(seq) <= MAX_ORPHANS as u64 {
                break;
            }
            self.orphan_order.pop_front();
            if self.orphans.get(&vx).is_some_and(|o| o.seq == seq) {
                self.orphans.remove(&vx);
                self.counters.orphans_dropped += 1;
            }
        }
    }

    /// End of input: emit everything still pending.
    pub fn finish(&mut self, out: &mut Vec<Request>) {
        while let Some(leg) = self.pending.pop_front() {
            self.counters.incomplete += 1;
            self.emit(leg, out);
        }
        self.orphans.clear();
        self.orphan_order.clear();
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
    pub fn orphans_len(&self) -> usize {
        self.orphans.len()
    }
}

/// Fold the earlier leg `prev` of a restarted request into the later leg `cur`: the client's
/// address, request line and headers come from the first leg (what the client sent), the
/// outcome from the last.
fn merge_restart(cur: &mut RequestBuilder, prev: &RequestBuilder) {
    fn take_if(dst: &mut Vec<u8>, src: &[u8]) {
        if !src.is_empty() {
            dst.clear();
            dst.extend_from_slice(src);
        }
    }
    take_if(&mut cur.ip, &prev.ip);
    take_if(&mut cur.method, &prev.method);
    take_if(&mut cur.url, &prev.url);
    take_if(&mut cur.proto, &prev.proto);
    take_if(&mut cur.req_headers, &prev.req_headers);
    if prev.start > 0.0 {
        cur.start = prev.start;
    }
    cur.restarts = prev.restarts.saturating_add(1).saturating_add(cur.restarts);
    cur.esi = cur.esi.saturating_add(prev.esi);
    cur.hit_record |= prev.hit_record;
    if cur.backend.is_empty() {
        take_if(&mut cur.backend, &prev.backend);
        cur.backend_status = cur.backend_status.or(prev.backend_status);
        cur.backend_ms = cur.backend_ms.or(prev.backend_ms);
    }
    if cur.fetch_error.is_empty() {
        take_if(&mut cur.fetch_error, &prev.fetch_error);
    }
    let mut ts = prev.timestamps.clone();
    ts.append(&mut cur.timestamps);
    cur.timestamps = ts;
}

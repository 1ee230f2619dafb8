//! The incident bundle's memory (issue 15): what every live run now keeps — the recorder's
//! writer thread encodes each update and keeps the last `[record] bundle_minutes` (15) in a
//! ring. Synthetic pgtop refreshes of 500 active backends at 1 s (the generator of
//! `benches/record.rs`): 20 minutes pushed through the encoder into a 15-minute ring; prints
//! the encode + push CPU per refresh, the ring's bytes and records, the process's RSS growth,
//! and the time to write a bundle file.
//!
//! Run: `cargo bench --bench bundle_ring`.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};

use stacktop::config::ViewKind;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{ConnState, PgSnapshot, Session, SessionState};
use stacktop::record::bundle::{Bundler, Ring};
use stacktop::record::codec::Encoder;

const BACKENDS: i32 = 500;

struct Gen {
    sessions: Vec<Session>,
    next_pid: i32,
    seq: u64,
    rng: u64,
    queries: Vec<String>,
}

impl Gen {
    fn new() -> Gen {
        let queries = (0..60)
            .map(|i| {
                let cols = "id, customer_id, created_at, status, total, ".repeat(1 + i % 8);
                format!("SELECT {cols}note FROM orders_{i} o WHERE o.customer_id = $1 AND o.status = 'open' ORDER BY created_at DESC LIMIT 50")
            })
            .collect();
        let mut g = Gen {
            sessions: Vec::new(),
            next_pid: 10_000,
            seq: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            queries,
        };
        for _ in 0..BACKENDS {
            let s = g.session();
            g.sessions.push(s);
        }
        g
    }

    fn rand(&mut self, n: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % n
    }

    fn now(&self) -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + self.seq as i64, 0)
            .unwrap()
    }

    fn session(&mut self) -> Session {
        let pid = self.next_pid;
        self.next_pid += 1;
        let k = self.rand(60) as usize;
        let q = self.queries[k].clone();
        let mut s = Session::for_test(pid, SessionState::Active, &q);
        let now = self.now();
        s.datname = Some("orders".into());
        s.usename = Some(format!("app_{}", pid % 7));
        s.application_name = format!("orders-api-{}", pid % 13);
        s.client_addr = Some(format!("10.0.{}.{}", pid % 5, pid % 250));
        s.backend_start = Some(now - chrono::Duration::seconds(3600));
        s.xact_start = Some(now);
        s.query_start = Some(now);
        s.state_change = Some(now);
        s.query_id = Some(pid as i64 * 7919);
        s
    }

    fn refresh(&mut self) -> PgSnapshot {
        self.seq += 1;
        let now = self.now();
        for _ in 0..BACKENDS / 10 {
            let i = self.rand(self.sessions.len() as u64) as usize;
            let k = self.rand(60) as usize;
            let q = self.queries[k].clone();
            let s = &mut self.sessions[i];
            s.query = q;
            s.query_start = Some(now);
            s.state_change = Some(now);
            s.xact_start = Some(now);
        }
        for _ in 0..2 {
            let i = self.rand(self.sessions.len() as u64) as usize;
            self.sessions.remove(i);
            let s = self.session();
            self.sessions.push(s);
        }
        let mut snap = PgSnapshot::status_only(
            self.seq,
            ConnState::Connected {
                since: now - chrono::Duration::seconds(3600),
            },
            Duration::from_secs(1),
        );
        snap.server_now = now;
        snap.taken_at = now.into();
        snap.fetch_time = Duration::from_micros(1800 + self.rand(400));
        snap.slow_count = self.rand(20) as usize;
        snap.sessions = self.sessions.clone();
        snap
    }
}

fn update(s: PgSnapshot) -> Update {
    Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(s.into()),
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut g = Gen::new();
    let mut enc = Encoder::new().unwrap();
    let mut ring = Ring::new(15, 64 << 20);
    let refreshes = 20 * 60;
    let t0 = 1_780_000_000_000i64;
    // the snapshots are made first: only encode + push are timed
    let snaps: Vec<PgSnapshot> = (0..refreshes).map(|_| g.refresh()).collect();
    let rss0 = rss_kb();
    let mut busy = Duration::ZERO;
    for (i, s) in snaps.into_iter().enumerate() {
        let u = update(s);
        let start = Instant::now();
        if let Some(e) = enc.encode(u).unwrap() {
            ring.push(t0 + i as i64 * 1000, &e);
        }
        busy += start.elapsed();
    }
    let rss1 = rss_kb();
    println!(
        "ring: {} records, {:.2} MB after {refreshes} refreshes (15 min kept); encode + push {:.3} ms per refresh; RSS {} kB -> {} kB",
        ring.len(),
        ring.bytes() as f64 / 1e6,
        busy.as_secs_f64() * 1000.0 / refreshes as f64,
        rss0,
        rss1
    );
    let dir = tempfile::tempdir().unwrap();
    let b = Bundler {
        ring: std::sync::Arc::new(std::sync::Mutex::new(ring)),
        dir: dir.path().to_path_buf(),
        label: "bench".into(),
        minutes: 15,
    };
    let start = Instant::now();
    let w = b.write(chrono::Local::now()).unwrap();
    println!(
        "bundle: {} records written in {:.1} ms, file {:.2} MB",
        w.records,
        start.elapsed().as_secs_f64() * 1000.0,
        std::fs::metadata(&w.path).unwrap().len() as f64 / 1e6
    );
}

//! Flight recorder figures (issue 15). Synthetic pgtop refreshes of 500 active backends at 1 s:
//! 60 statement texts of 40–400 bytes, and per refresh 10% of the sessions start a new
//! statement (query, query_start, state_change change), 2 leave and 2 arrive, the header's
//! figures change.
//! - encode + compress per refresh (the writer thread's CPU), and the tee's clone of the
//!   update (the async side's): target ≤ 0.5 ms together;
//! - bytes per refresh → MB per 24 h (target ≤ 100 MB), and the ratio to the raw JSON of the
//!   snapshots;
//! - a 24 h recording (86,400 refreshes written through the store, file size measured): open,
//!   seek to a minute (decode from the keyframe before it), step one record: targets ≤ 1 s,
//!   ≤ 50 ms, ≤ 5 ms (warm page cache).
//!
//! Run: `cargo bench --bench record` (`RECORD_BENCH_HOURS=1` for a shorter file).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use stacktop::config::ViewKind;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{ConnState, PgSnapshot, Session, SessionState};
use stacktop::record::codec::{Decoder, Encoder};
use stacktop::record::store::{Reader, Store};

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
        payload: Payload::Pg(Box::new(s)),
    }
}

fn main() {
    // `cargo bench` passes --bench; nothing else is read
    let hours: u64 = std::env::var("RECORD_BENCH_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(24);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());

    // 1. CPU and bytes per refresh
    let mut g = Gen::new();
    let mut enc = Encoder::new().unwrap();
    let n = 1200u32;
    let snaps: Vec<PgSnapshot> = (0..n).map(|_| g.refresh()).collect();
    let raw: usize = snaps
        .iter()
        .map(|s| serde_json::to_vec(s).unwrap().len())
        .sum();
    let t = Instant::now();
    let clones: Vec<Update> = snaps.iter().map(|s| update(s.clone())).collect();
    let clone_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let t = Instant::now();
    let mut stored = 0usize;
    let mut json = 0usize;
    for u in clones {
        let e = enc.encode(u).unwrap().unwrap();
        stored += e.data.len();
        json += e.raw_len;
    }
    let enc_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let per = stored as f64 / f64::from(n);
    println!(
        "500 active backends, {n} refreshes: tee clone {clone_us:.0} us + encode+zstd {enc_us:.0} us \
         = {:.3} ms per refresh (target <= 0.5 ms)",
        (clone_us + enc_us) / 1000.0
    );
    println!(
        "stored {per:.0} B per refresh (delta JSON {:.0} B before zstd; raw snapshot JSON {:.0} B) \
         -> {:.1} MB per 24 h of records; ratio to raw JSON 1:{:.0}",
        json as f64 / f64::from(n),
        raw as f64 / f64::from(n),
        per * 86_400.0 / 1e6,
        raw as f64 / stored as f64
    );

    // 2. a synthetic recording of `hours`
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.sqlite");
    let mut store = Store::create(&path).unwrap();
    let mut enc = Encoder::new().unwrap();
    let mut g = Gen::new();
    let total = hours * 3600;
    let t0_ms = 1_780_000_000_000i64;
    let t = Instant::now();
    for i in 0..total {
        let e = enc.encode(update(g.refresh())).unwrap().unwrap();
        store
            .insert(
                t0_ms + i as i64 * 1000,
                e.view,
                e.kind.name(),
                e.keyframe,
                &e.data,
            )
            .unwrap();
        if i % 60 == 59 {
            store.commit().unwrap();
        }
    }
    store.commit().unwrap();
    drop(store);
    let build = t.elapsed();
    let size: u64 = ["day.sqlite", "day.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{hours} h recording ({total} refreshes) built in {:.0} s: file {:.1} MB ({:.1} MB per 24 h)",
        build.as_secs_f64(),
        size as f64 / 1e6,
        size as f64 / 1e6 * 24.0 / hours as f64
    );

    let t = Instant::now();
    let r = Reader::open(&path).unwrap();
    let (first, last) = r.span().unwrap().unwrap();
    let open = t.elapsed();
    println!("open: {:.1} ms (target <= 1 s)", open.as_secs_f64() * 1e3);
    let mut worst = Duration::ZERO;
    let mut sum = Duration::ZERO;
    let minutes = (last - first) / 60_000;
    let mut seeded = 12345u64;
    let tries = 50;
    let mut steps = Vec::new();
    for _ in 0..tries {
        seeded = seeded
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let minute = (seeded >> 33) as i64 % minutes.max(1);
        // a minute plus a little: the worst case is just before the next keyframe
        let at = first + minute * 60_000 + 59_000;
        let t = Instant::now();
        let start = r.start_id(at, &["pg_snapshot"]).unwrap().unwrap();
        let rows = r.batch(start, at, 100).unwrap();
        let mut dec = Decoder::default();
        let mut last_id = start;
        for row in &rows {
            dec.decode(&row.kind, row.keyframe, &row.data).unwrap();
            last_id = row.id;
        }
        let d = t.elapsed();
        worst = worst.max(d);
        sum += d;
        // one step forward from there
        let t = Instant::now();
        let row = r.next_after(last_id).unwrap().unwrap();
        dec.decode(&row.kind, row.keyframe, &row.data).unwrap();
        steps.push(t.elapsed());
    }
    steps.sort();
    println!(
        "seek to a minute (+59 s, decoding from the keyframe): mean {:.1} ms, worst {:.1} ms \
         over {tries} (target <= 50 ms)",
        sum.as_secs_f64() * 1e3 / f64::from(tries),
        worst.as_secs_f64() * 1e3
    );
    println!(
        "step: median {:.2} ms, worst {:.2} ms (target <= 5 ms)",
        steps[steps.len() / 2].as_secs_f64() * 1e3,
        steps[steps.len() - 1].as_secs_f64() * 1e3
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.trim());
}

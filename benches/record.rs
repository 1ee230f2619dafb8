//! Flight recorder figures (issue 15). Synthetic pgtop refreshes of 500 active backends at 1 s:
//! 60 statement texts of 40–400 bytes, and per refresh 10% of the sessions start a new
//! statement (query, query_start, xact_start, state_change change), 2 leave and 2 arrive,
//! the snapshot's figures change.
//! 1. encode + compress per refresh (the writer thread's CPU), and the tee's copy of the
//!    update (the async side's): target ≤ 0.5 ms together;
//! 2. bytes per refresh → MB per 24 h (target ≤ 100 MB), the ratio to the raw JSON of the
//!    snapshots, and the keyframe interval's trade-off (bytes against the time to decode a
//!    whole interval, the worst seek or step back);
//! 3. a 24 h recording (86,400 refreshes written through the store, file size measured): open,
//!    seek to a minute (from the keyframe before it), step one refresh forward and back (back
//!    across a keyframe too): targets ≤ 1 s, ≤ 50 ms, ≤ 5 ms (warm page cache);
//! 4. vlog at 20,000 requests/s (2,000-request batches every 100 ms, the collector's batch
//!    interval) through a real [`Recorder`]: drops, and the writer thread's CPU (its
//!    `schedstat`) and the tee's copy of each batch per second of traffic.
//!
//! Run: `cargo bench --bench record` (`RECORD_BENCH_HOURS=1` for a shorter file,
//! `RECORD_BENCH_VLOG_SECS` for the vlog run, default 20, `RECORD_BENCH_FILE=PATH` to keep the
//! recording there and reuse it on the next run).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use stacktop::config::ViewKind;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{ConnState, PgSnapshot, Session, SessionState};
use stacktop::record::store::{Reader, Row, Store};
use stacktop::record::writer::{Recorder, RecorderOptions};
use stacktop::record::{
    codec::{wanted, Encoder, KEYFRAME_EVERY},
    decode::{Decoded, Decoder},
};
use stacktop::vlog::{parse_all, VlogEvent};

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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes per refresh and the time to decode one whole keyframe interval (the worst seek),
/// for a keyframe every `every` refreshes.
fn interval(every: u32, n: u32) -> (f64, Duration) {
    let mut g = Gen::new();
    let mut enc = Encoder::new().unwrap().with_keyframe_every(every);
    let mut recs = Vec::new();
    for _ in 0..n {
        recs.push(enc.encode(update(g.refresh())).unwrap().unwrap());
    }
    let stored: usize = recs.iter().map(|e| e.data.len()).sum();
    // the last complete interval: skip from its keyframe, decode its last refresh
    let key = recs.iter().rposition(|e| e.keyframe).unwrap();
    let key = recs[..key].iter().rposition(|e| e.keyframe).unwrap_or(0);
    let end = key + every as usize - 1;
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let mut dec = Decoder::default();
        let t = Instant::now();
        for e in &recs[key..end] {
            dec.skip(e.kind.name(), e.keyframe, &e.data).unwrap();
        }
        let e = &recs[end];
        dec.decode(e.kind.name(), e.keyframe, &e.data).unwrap();
        best = best.min(t.elapsed());
    }
    (stored as f64 / f64::from(n), best)
}

/// Seeks to `at`: the rows from the keyframe before it, skipped but the last, decoded.
fn seek(r: &Reader, dec: &mut Decoder, at: i64) -> (Row, Box<PgSnapshot>) {
    let start = r.start_id(at, &["pg_snapshot"]).unwrap().unwrap();
    // in arrival order up to the first record after `at` (a query bounded by time would scan
    // the table to its end, as the cursor learned)
    let (mut rows, mut next) = (Vec::new(), start);
    loop {
        let batch = r.batch(next, i64::MAX, 64).unwrap();
        let Some(last) = batch.last() else { break };
        next = last.id + 1;
        let past = batch.iter().position(|x| x.ts_ms > at);
        rows.extend(batch.into_iter().take(past.unwrap_or(usize::MAX)));
        if past.is_some() {
            break;
        }
    }
    let (last, before) = rows.split_last().unwrap();
    for row in before {
        dec.skip(&row.kind, row.keyframe, &row.data).unwrap();
    }
    let Decoded::Pg(s) = dec.decode(&last.kind, last.keyframe, &last.data).unwrap() else {
        panic!("not a pgtop record");
    };
    (last.clone(), s)
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let mean = v.iter().sum::<Duration>().as_secs_f64() * 1e3 / v.len() as f64;
    format!(
        "median {:.2} ms, mean {mean:.2} ms, worst {:.2} ms over {}",
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn cpu_and_size() {
    let mut g = Gen::new();
    let mut enc = Encoder::new().unwrap();
    let n = 1200u32;
    let updates: Vec<Update> = (0..n).map(|_| update(g.refresh())).collect();
    let raw: usize = updates
        .iter()
        .map(|u| match &u.payload {
            Payload::Pg(s) => serde_json::to_vec(&**s).unwrap().len(),
            _ => 0,
        })
        .sum();
    // the tee: what it does per update before the app gets it
    let t = Instant::now();
    let copies: Vec<Update> = updates.iter().filter(|u| wanted(u)).cloned().collect();
    let copy_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    drop(updates);
    let t = Instant::now();
    let (mut stored, mut json) = (0usize, 0usize);
    for u in copies {
        let e = enc.encode(u).unwrap().unwrap();
        stored += e.data.len();
        json += e.raw_len;
    }
    let enc_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let per = stored as f64 / f64::from(n);
    println!(
        "500 active backends, {n} refreshes: tee copy {copy_us:.1} us + encode+zstd {enc_us:.0} us \
         = {:.3} ms per refresh (target <= 0.5 ms)",
        (copy_us + enc_us) / 1000.0
    );
    println!(
        "stored {per:.0} B per refresh (frame JSON {:.0} B before zstd; raw snapshot JSON {:.0} B) \
         -> {:.1} MB per 24 h of records; ratio to raw JSON 1:{:.0}",
        json as f64 / f64::from(n),
        raw as f64 / f64::from(n),
        per * 86_400.0 / 1e6,
        raw as f64 / stored as f64
    );
    for every in [30, 60, 120, 300] {
        let (per, worst) = interval(every, 1200);
        println!(
            "keyframe every {every:>3}: {per:>5.0} B per refresh ({:>5.1} MB per 24 h), decoding a \
             whole interval {:.1} ms",
            per * 86_400.0 / 1e6,
            ms(worst)
        );
    }
}

fn replay(hours: u64) {
    let dir = tempfile::tempdir().unwrap();
    // RECORD_BENCH_FILE=PATH: the recording is kept there, and reused when it exists
    let kept = std::env::var_os("RECORD_BENCH_FILE").map(std::path::PathBuf::from);
    let path = kept
        .clone()
        .unwrap_or_else(|| dir.path().join("day.sqlite"));
    let t = Instant::now();
    if !kept.as_ref().is_some_and(|p| p.exists()) {
        write_recording(&path, hours);
    }
    let build = t.elapsed();
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(format!("{}{f}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{hours} h recording ({} refreshes) built in {:.0} s: file {:.1} MB ({:.1} MB per 24 h)",
        hours * 3600,
        build.as_secs_f64(),
        size as f64 / 1e6,
        size as f64 / 1e6 * 24.0 / hours as f64
    );

    let t = Instant::now();
    let r = Reader::open(&path).unwrap();
    let (first, last) = r.span().unwrap().unwrap();
    println!("open: {:.1} ms (target <= 1 s)", ms(t.elapsed()));
    let minutes = ((last - first) / 60_000).max(1);
    let mut seeded = 12345u64;
    let (mut seeks, mut fwd, mut back, mut back_key) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut dec = Decoder::default();
    for _ in 0..50 {
        seeded = seeded
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let minute = (seeded >> 33) as i64 % minutes;
        // a minute plus 59 s: the worst case, just before the next keyframe
        let at = first + minute * 60_000 + 59_000;
        let t = Instant::now();
        let (row, _snap) = seek(&r, &mut dec, at);
        seeks.push(t.elapsed());
        // one refresh forward (onto the next keyframe)
        let t = Instant::now();
        let next = r.next_after(row.id).unwrap().unwrap();
        let _ = dec.decode(&next.kind, next.keyframe, &next.data).unwrap();
        fwd.push(t.elapsed());
        // and another (a delta)
        let t = Instant::now();
        let next2 = r.next_after(next.id).unwrap().unwrap();
        let _ = dec
            .decode(&next2.kind, next2.keyframe, &next2.data)
            .unwrap();
        fwd.push(t.elapsed());
        // one back from there (the keyframe: in the decoder's cache)
        let t = Instant::now();
        let _ = seek(&r, &mut dec, next.ts_ms);
        back.push(t.elapsed());
        // one back from the keyframe: the whole previous minute from its keyframe
        let t = Instant::now();
        let _ = seek(&r, &mut dec, row.ts_ms);
        back_key.push(t.elapsed());
        // one back within the minute (its keyframe cached now)
        let t = Instant::now();
        let _ = seek(&r, &mut dec, row.ts_ms - 1000);
        back.push(t.elapsed());
    }
    println!(
        "seek to a minute (+59 s, from the keyframe before): {} (target <= 50 ms)",
        stats(seeks)
    );
    println!("step forward: {} (target <= 5 ms)", stats(fwd));
    println!(
        "step back within a minute: {} (target <= 5 ms)",
        stats(back)
    );
    println!(
        "step back across a keyframe: {} (target <= 5 ms)",
        stats(back_key)
    );
    cursor(&path);
}

/// `hours` of synthetic refreshes written through the store at `path`.
fn write_recording(path: &std::path::Path, hours: u64) {
    let mut store = Store::create(path).unwrap();
    let mut enc = Encoder::new().unwrap();
    let mut g = Gen::new();
    let total = hours * 3600;
    let t0_ms = 1_780_000_000_000i64;
    for i in 0..total {
        let e = enc.encode(update(g.refresh())).unwrap().unwrap();
        let ts = t0_ms + i as i64 * 1000;
        store
            .insert(ts, e.view, e.kind.name(), e.keyframe, &e.data)
            .unwrap();
        if i % 60 == 59 {
            store.commit().unwrap();
        }
    }
    store.commit().unwrap();
}

/// CPU time of the calling thread (what a step costs, whatever else the machine runs).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// What the TUI's time cursor (`replay::cursor::Cursor`, which keeps the decoded records from
/// the keyframe before the cursor on) costs per key: `:goto` a random minute (+59 s), then
/// `]` twice and `[` 130 times (so the cursor leaves its window and reloads the minute before
/// at least twice). Wall time and the thread's CPU time, which a loaded machine does not
/// inflate.
fn cursor(path: &std::path::Path) {
    use stacktop::replay::cursor::Cursor;
    let t = Instant::now();
    let c0 = thread_cpu();
    let mut c = Cursor::open(Reader::open(path).unwrap(), "day").unwrap();
    println!(
        "cursor open: {:.1} ms wall, {:.1} ms CPU",
        ms(t.elapsed()),
        ms(thread_cpu() - c0)
    );
    let minutes = ((c.last_ms - c.first_ms) / 60_000).max(3);
    let mut seeded = 777u64;
    let (mut gw, mut gc, mut fw, mut fc, mut bw, mut bc) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let view = ViewKind::Pgtop;
    for _ in 0..20 {
        seeded = seeded
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let minute = 2 + (seeded >> 33) as i64 % (minutes - 2);
        let at = c.first_ms + minute * 60_000 + 59_000;
        let (t, c0) = (Instant::now(), thread_cpu());
        let u = c.goto(at).unwrap();
        assert!(!u.is_empty());
        gw.push(t.elapsed());
        gc.push(thread_cpu() - c0);
        for _ in 0..2 {
            let (t, c0) = (Instant::now(), thread_cpu());
            c.step(view, 1).unwrap().unwrap();
            fw.push(t.elapsed());
            fc.push(thread_cpu() - c0);
        }
        for _ in 0..130 {
            let (t, c0) = (Instant::now(), thread_cpu());
            c.step(view, -1).unwrap().unwrap();
            bw.push(t.elapsed());
            bc.push(thread_cpu() - c0);
        }
    }
    println!(
        "cursor :goto a minute: wall {}; CPU {}",
        stats(gw),
        stats(gc)
    );
    println!("cursor step forward: wall {}; CPU {}", stats(fw), stats(fc));
    // the timeline's marks: every record of the file read once, on the marks thread
    let status = stacktop::wire::replay::ReplayStatus {
        name: "day".into(),
        first_ms: c.first_ms,
        last_ms: c.last_ms,
        cursor_ms: c.first_ms,
        playing: false,
        speed: 1,
        marks: vec![0; stacktop::wire::replay::TIMELINE_CELLS],
        scanned_pct: 0,
        store_error: None,
    };
    let rules = stacktop::replay::marks::Rules {
        slow: Duration::from_secs(5),
        lag: Default::default(),
    };
    let (t, c0) = (Instant::now(), thread_cpu());
    let mut marked = 0;
    stacktop::replay::marks::scan(path, &status, rules, Duration::from_secs(3600), |m, _| {
        marked = m.iter().filter(|&&x| x != 0).count();
        true
    })
    .unwrap();
    println!(
        "timeline marks of the whole file: {:.2} s wall, {:.2} s CPU ({marked} cells marked)",
        t.elapsed().as_secs_f64(),
        (thread_cpu() - c0).as_secs_f64()
    );
    // what the scan cost when it decoded (copied) every snapshot
    let (t, c0) = (Instant::now(), thread_cpu());
    let r = Reader::open(path).unwrap();
    let mut dec = Decoder::default();
    let mut next = 0;
    loop {
        let rows = r.batch(next, i64::MAX, 512).unwrap();
        let Some(last) = rows.last() else { break };
        next = last.id + 1;
        for row in rows {
            let _ = dec.decode(&row.kind, row.keyframe, &row.data);
        }
    }
    println!(
        "decoding every record of the file (the scan before peek_pg): {:.2} s wall, {:.2} s CPU",
        t.elapsed().as_secs_f64(),
        (thread_cpu() - c0).as_secs_f64()
    );
    let slow = bc.iter().filter(|d| **d > Duration::from_millis(5)).count();
    println!(
        "cursor step back: wall {}; CPU {} ({slow} of {} over 5 ms CPU)",
        stats(bw),
        stats(bc.clone()),
        bc.len()
    );
}

/// The CPU time (ns) the thread named `name` has used, from `/proc/self/task/*/schedstat`.
fn thread_cpu_ns(name: &str) -> Option<u64> {
    for t in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let s = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            return s.split(' ').next()?.parse().ok();
        }
    }
    None
}

fn vlog(secs: u64) {
    let p = format!(
        "{}/tests/fixtures/varnish/varnish7-request.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"));
    let base = parse_all(&data).0;
    let batch: Vec<_> = base.iter().cycle().take(2_000).cloned().collect();
    let dir = tempfile::tempdir().unwrap();
    let opts = RecorderOptions::new(dir.path().join("vlog.sqlite"), &Default::default());
    let rec = Recorder::start(opts).unwrap();
    let stats = rec.stats();
    let batches = secs * 10;
    let mut copy = Duration::ZERO;
    let cpu0 = thread_cpu_ns("stacktop-record").unwrap_or(0);
    let t0 = Instant::now();
    for i in 0..batches {
        let due = t0 + Duration::from_millis(100 * i);
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let u = Update {
            view: ViewKind::Vlog,
            payload: Payload::Vlog(VlogEvent::Requests(batch.clone())),
        };
        // the tee's copy of the batch (the app gets the original)
        let t = Instant::now();
        let c = u.clone();
        copy += t.elapsed();
        drop(u);
        rec.offer(chrono::Utc::now().timestamp_millis(), c);
    }
    // wait (bounded) for the writer to commit what it was given
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.written.load(std::sync::atomic::Ordering::Relaxed)
        + stats.dropped.load(std::sync::atomic::Ordering::Relaxed)
        < batches
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = t0.elapsed();
    let cpu = thread_cpu_ns("stacktop-record").unwrap_or(0) - cpu0;
    let st = rec.finish();
    let g = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "vlog at 20,000 requests/s for {secs} s ({batches} batches of 2,000): {} written, {} dropped, {} lost; \
         writer thread CPU {:.1} ms per second of traffic ({:.1} % of a core), tee copy {:.1} ms per second; \
         stored {:.1} MB ({:.0} MB per hour, JSON 1:{:.0}); wall {:.1} s",
        g(&st.written),
        g(&st.dropped),
        g(&st.lost),
        cpu as f64 / 1e6 / secs as f64,
        cpu as f64 / 1e7 / secs as f64,
        ms(copy) / secs as f64,
        g(&st.stored_bytes) as f64 / 1e6,
        g(&st.stored_bytes) as f64 / 1e6 * 3600.0 / secs as f64,
        g(&st.raw_bytes) as f64 / g(&st.stored_bytes).max(1) as f64,
        wall.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else is read
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|h| h.parse().ok())
            .unwrap_or(d)
    };
    println!(
        "load average at start: {} (keyframe every {KEYFRAME_EVERY})",
        load()
    );
    cpu_and_size();
    replay(env("RECORD_BENCH_HOURS", 24));
    vlog(env("RECORD_BENCH_VLOG_SECS", 20));
    println!("load average at the end: {}", load());
}

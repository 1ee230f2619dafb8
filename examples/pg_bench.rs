//! Refresh benchmark for the pgtop core: runs the real collector against a server for N
//! refreshes at a fixed interval and, per snapshot, does what the view does before drawing
//! (default row selection, sort, classification). Prints one JSON line with the client CPU per
//! refresh (getrusage, steady state after the first refresh), RSS and the refresh cadence.
//! usage: pg_bench CONNINFO [REFRESHES=60] [INTERVAL_MS=1000]

use std::time::{Duration, Instant};

use stacktop::pg::batch::default_rows;
use stacktop::pg::classify::{classify, DurationBasis, Thresholds};
use stacktop::pg::collector::{self, CollectorOptions};
use stacktop::pg::conninfo::{resolve, ConnOverrides, Env};

fn cpu() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let ci = args
        .get(1)
        .ok_or("usage: pg_bench CONNINFO [REFRESHES] [INTERVAL_MS]")?;
    let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let ms: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let spec = resolve(Some(ci), &ConnOverrides::default(), &Env::system()).map_err(|e| e.to_string())?;
        let mut o = CollectorOptions::new(spec);
        o.interval = Duration::from_millis(ms);
        let th = Thresholds::default();
        o.thresholds = th;
        let (h, mut rx) = collector::spawn(o);
        let mut got = 0u64;
        let mut start: Option<(Instant, Duration)> = None;
        let mut rows_seen = 0usize;
        let mut slow = 0usize;
        let mut max_fetch = Duration::ZERO;
        while got < n + 1 {
            let s = match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(s)) => s,
                _ => return Err("no snapshot within 30 s".to_string()),
            };
            if s.header.is_none() {
                continue;
            }
            // what the view does per refresh before drawing
            let rows = default_rows(&s.sessions, s.server_now, false, DurationBasis::Query);
            slow = rows.iter().filter(|r| classify(r, s.server_now, &th) != stacktop::pg::RowClass::Normal).count();
            rows_seen = s.sessions.len();
            max_fetch = max_fetch.max(s.fetch_time);
            got += 1;
            if start.is_none() {
                start = Some((Instant::now(), cpu())); // steady state from the first refresh on
            }
        }
        let (t0, c0) = start.ok_or("no refresh")?;
        let (wall, used) = (t0.elapsed(), cpu() - c0);
        let refreshes = n as f64;
        println!(
            "{{\"tool\":\"stacktop pg core\",\"refreshes\":{n},\"interval_ms\":{ms},\"sessions\":{rows_seen},\"slow_rows\":{slow},\
             \"cpu_ms_per_refresh\":{:.3},\"cadence_ms\":{:.1},\"max_fetch_ms\":{:.1},\"rss_kb\":{},\"hwm_kb\":{}}}",
            used.as_secs_f64() * 1000.0 / refreshes,
            wall.as_secs_f64() * 1000.0 / refreshes,
            max_fetch.as_secs_f64() * 1000.0,
            status_kb("VmRSS:"),
            status_kb("VmHWM:")
        );
        h.shutdown().await;
        Ok(())
    })
}

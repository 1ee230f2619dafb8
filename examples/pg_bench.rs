//! Refresh benchmark for pgtop: runs the real collector against a server for N refreshes at a
//! fixed interval and, per snapshot, does what the UI does: the snapshot goes through the app
//! into the pgtop view (row selection, sort, classification) and the whole screen is drawn by
//! the real render into a 200x50 buffer (the terminal write itself is not included). Prints one
//! JSON line with the client CPU per refresh (getrusage, steady state after the first refresh),
//! RSS and the refresh cadence; with RSS_EVERY_S > 0 also an RSS sample every RSS_EVERY_S
//! seconds (`rss_samples_kb`, the first taken after the first refresh).
//! usage: pg_bench CONNINFO [REFRESHES=60] [INTERVAL_MS=1000] [RSS_EVERY_S=0] [WIDTHxHEIGHT=200x50]

use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::pg::collector::{self, CollectorOptions};
use stacktop::pg::conninfo::{resolve, ConnOverrides, Env};
use stacktop::theme::Theme;

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

const USAGE: &str = "usage: pg_bench CONNINFO [REFRESHES] [INTERVAL_MS] [RSS_EVERY_S] [WxH]";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let ci = args.get(1).ok_or(USAGE)?;
    let num = |i: usize, d: u64| -> Result<u64, String> {
        args.get(i).map_or(Ok(d), |s| {
            s.parse().map_err(|_| format!("{USAGE}: bad {s:?}"))
        })
    };
    let n = num(2, 60)?.max(1);
    let ms = num(3, 1000)?;
    let rss_every = num(4, 0)?;
    let (w, h) = match args.get(5) {
        None => (200u16, 50u16),
        Some(s) => s
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .ok_or_else(|| format!("{USAGE}: bad size {s:?}"))?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let spec = resolve(Some(ci), &ConnOverrides::default(), &Env::system()).map_err(|e| e.to_string())?;
        let mut o = CollectorOptions::new(spec);
        o.interval = Duration::from_millis(ms);
        let (hd, mut rx) = collector::spawn(o);
        let mut app = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        let mut got = 0u64;
        let mut start: Option<(Instant, Duration)> = None;
        let mut rows_seen = 0usize;
        let mut max_fetch = Duration::ZERO;
        let mut samples: Vec<u64> = Vec::new();
        let mut next_sample = Instant::now();
        while got < n + 1 {
            let s = match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(s)) => s,
                _ => return Err("no snapshot within 30 s".to_string()),
            };
            if s.header.is_none() {
                continue;
            }
            rows_seen = s.sessions.len();
            max_fetch = max_fetch.max(s.fetch_time);
            // what the UI loop does per refresh: apply to the view, then draw the screen
            app.tick(chrono::Local::now());
            app.apply(Update { view: ViewKind::Pgtop, payload: Payload::Pg(s.into()) });
            buf.reset();
            stacktop::screen::render(&app, area, &mut buf);
            got += 1;
            if start.is_none() {
                start = Some((Instant::now(), cpu())); // steady state from the first refresh on
            }
            if rss_every > 0 && Instant::now() >= next_sample {
                samples.push(status_kb("VmRSS:"));
                next_sample += Duration::from_secs(rss_every);
            }
        }
        let (t0, c0) = start.ok_or("no refresh")?;
        let (wall, used) = (t0.elapsed(), cpu() - c0);
        let refreshes = n as f64;
        // the screen must show the sessions, or nothing was drawn
        let text: String = buf.content().iter().map(|c| c.symbol()).collect();
        let drawn = text.contains("pg_sleep") || text.contains("UPDATE");
        let samples: Vec<String> = samples.iter().map(u64::to_string).collect();
        println!(
            "{{\"tool\":\"stacktop pgtop (view + draw {w}x{h})\",\"refreshes\":{n},\"interval_ms\":{ms},\"sessions\":{rows_seen},\
             \"drawn\":{drawn},\"cpu_ms_per_refresh\":{:.3},\"cadence_ms\":{:.1},\"max_fetch_ms\":{:.1},\"rss_kb\":{},\"hwm_kb\":{},\
             \"rss_samples_kb\":[{}]}}",
            used.as_secs_f64() * 1000.0 / refreshes,
            wall.as_secs_f64() * 1000.0 / refreshes,
            max_fetch.as_secs_f64() * 1000.0,
            status_kb("VmRSS:"),
            status_kb("VmHWM:"),
            samples.join(",")
        );
        hd.shutdown().await;
        Ok(())
    })
}

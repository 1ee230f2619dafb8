//! Streaming statistics over the request stream, in FIXED memory: the header line (req/s, hit
//! ratio, 5xx rate, p50/p90/p99 over the last 10 s and 1 min, status mix) and the side panes
//! (top URLs by count and by p99, top clients, per-backend errors). The view calls
//! [`Stats::observe`] for every request and [`Stats::snapshot`] when it draws.
//!
//! Memory: a ring of 60 one-second buckets, each with a log-scale latency histogram (160
//! buckets, ×2^(1/6) ≈ 12 % wide, 0.01 ms … 16 min); space-saving top-k sketches (Metwally et
//! al.) for URLs (each with its own latency histogram) and clients; at most 64 backends.
//! Nothing grows with traffic.

use super::request::{Handling, Request};
pub use super::sketch::{LatHist, TopK, LAT_BUCKETS};

const WINDOW_SECS: usize = 60;
pub const TOP_URLS: usize = 128;
pub const TOP_CLIENTS: usize = 64;
pub const MAX_BACKENDS: usize = 64;
const URL_KEY_MAX: usize = 256;
/// URLs need this many samples before they rank by p99.
const MIN_SAMPLES_FOR_P99: u64 = 5;

#[derive(Debug, Clone, Default)]
struct Second {
    sec: i64,
    count: u32,
    hits: u32,
    lookups: u32,
    err5xx: u32,
    classes: [u32; 6],
    lat: LatHist,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendSnapshot {
    pub name: String,
    pub requests: u64,
    /// Requests with a `FetchError`.
    pub fetch_errors: u64,
    /// Requests whose backend status (or client status, without one) was 5xx.
    pub errors_5xx: u64,
    pub last_error: Option<String>,
}

/// One time window of the header line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowStats {
    pub seconds: u32,
    pub requests: u64,
    pub req_per_s: f64,
    /// (HIT + GRACE) / (HIT + GRACE + MISS + HIT-FOR-MISS + PASS + HIT-FOR-PASS).
    pub hit_ratio: Option<f64>,
    /// Fraction of requests with a 5xx status.
    pub rate_5xx: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Counts by status class: [no status (pipe), 1xx, 2xx, 3xx, 4xx, 5xx].
    pub status_classes: [u64; 6],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopEntry {
    pub key: String,
    pub count: u64,
    /// Space-saving overestimation bound: the true count is in `count - error ..= count`.
    pub error: u64,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Requests observed since start (or the last reset).
    pub total: u64,
    pub last_10s: WindowStats,
    pub last_1m: WindowStats,
    /// Status code counts since start, most frequent first (`None` = no status, pipes).
    pub status_mix: Vec<(Option<u16>, u64)>,
    pub handling: Vec<(Handling, u64)>,
    /// Most requested URL paths (query string cut), highest count first.
    pub top_urls: Vec<TopEntry>,
    /// Among the tracked URLs with enough samples, the slowest by p99.
    pub slow_urls: Vec<TopEntry>,
    pub top_clients: Vec<TopEntry>,
    pub backends: Vec<BackendSnapshot>,
}

/// Streaming aggregates (fixed memory; see the module header).
#[derive(Debug)]
pub struct Stats {
    secs: Vec<Second>,
    first_sec: Option<i64>,
    total: u64,
    by_handling: [u64; 9],
    /// index = status code 100..=599 → code − 100; 500 = other; 501 = none.
    status: Vec<u64>,
    urls: TopK<LatHist>,
    clients: TopK<()>,
    backends: Vec<BackendSnapshot>,
    backend_other: BackendSnapshot,
    /// How many entries the snapshot lists per top table.
    pub top_n: usize,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            secs: vec![Second::default(); WINDOW_SECS],
            first_sec: None,
            total: 0,
            by_handling: [0; 9],
            status: vec![0; 502],
            urls: TopK::new(TOP_URLS),
            clients: TopK::new(TOP_CLIENTS),
            backends: Vec::new(),
            backend_other: BackendSnapshot {
                name: "(other)".into(),
                ..Default::default()
            },
            top_n: 10,
        }
    }

    /// Forget everything.
    pub fn reset(&mut self) {
        let n = self.top_n;
        *self = Stats::new();
        self.top_n = n;
    }

    /// Count one request at time `now` (seconds since the epoch: arrival time for a live
    /// stream, or `r.start` for a replay).
    pub fn observe(&mut self, r: &Request, now: f64) {
        self.total += 1;
        self.by_handling[r.handling as usize] += 1;
        let si = match r.status {
            Some(s @ 100..=599) => (s - 100) as usize,
            Some(_) => 500,
            None => 501,
        };
        self.status[si] += 1;
        let class = match r.status {
            Some(s @ 100..=599) => (s / 100) as usize,
            _ => 0,
        };
        let is_5xx = class == 5;

        // Time window.
        let sec = now.floor() as i64;
        let first = *self.first_sec.get_or_insert(sec);
        if sec < first {
            self.first_sec = Some(sec);
        }
        let slot = &mut self.secs[sec.rem_euclid(WINDOW_SECS as i64) as usize];
        if slot.sec != sec {
            if slot.sec > sec {
                // Older than the window: counted in totals only.
                return self.observe_tables(r, is_5xx);
            }
            *slot = Second {
                sec,
                ..Second::default()
            };
        }
        slot.count += 1;
        let lookup = matches!(
            r.handling,
            Handling::Hit
                | Handling::Grace
                | Handling::Miss
                | Handling::HitForMiss
                | Handling::Pass
                | Handling::HitForPass
        );
        if lookup {
            slot.lookups += 1;
            if r.handling.is_hit() {
                slot.hits += 1;
            }
        }
        if is_5xx {
            slot.err5xx += 1;
        }
        slot.classes[class] += 1;
        slot.lat.add(r.total_ms);
        self.observe_tables(r, is_5xx);
    }

    fn observe_tables(&mut self, r: &Request, is_5xx: bool) {
        let url = r.url_bytes();
        let path = match memchr::memchr(b'?', url) {
            Some(i) => &url[..i],
            None => url,
        };
        let path = &path[..path.len().min(URL_KEY_MAX)];
        self.urls.add(path).add(r.total_ms);
        self.clients.add(r.client_ip_bytes());

        let name = r.backend_bytes();
        let has_error = r.fetch_error().is_some();
        let be_5xx = r.backend_status.map(|s| s >= 500).unwrap_or(is_5xx);
        if name.is_empty() && !has_error {
            return;
        }
        let name = if name.is_empty() {
            &b"(none)"[..]
        } else {
            name
        };
        let idx = self.backends.iter().position(|b| b.name.as_bytes() == name);
        let b = match idx {
            Some(i) => &mut self.backends[i],
            None if self.backends.len() < MAX_BACKENDS => {
                self.backends.push(BackendSnapshot {
                    name: String::from_utf8_lossy(name).into_owned(),
                    ..Default::default()
                });
                let last = self.backends.len() - 1;
                &mut self.backends[last]
            }
            None => &mut self.backend_other,
        };
        b.requests += 1;
        if has_error {
            b.fetch_errors += 1;
            b.last_error = r.fetch_error().map(|e| e.into_owned());
        }
        if be_5xx {
            b.errors_5xx += 1;
        }
    }

    fn window(&self, now_sec: i64, n: usize) -> WindowStats {
        let mut w = WindowStats {
            seconds: n as u32,
            ..Default::default()
        };
        let mut hist = LatHist::default();
        let (mut hits, mut lookups, mut e5) = (0u64, 0u64, 0u64);
        for s in &self.secs {
            if s.count > 0 && s.sec <= now_sec && s.sec > now_sec - n as i64 {
                w.requests += s.count as u64;
                hits += s.hits as u64;
                lookups += s.lookups as u64;
                e5 += s.err5xx as u64;
                for (a, b) in w.status_classes.iter_mut().zip(s.classes.iter()) {
                    *a += *b as u64;
                }
                hist.merge(&s.lat);
            }
        }
        // Before a full window has passed, divide by the time actually covered.
        let covered = self
            .first_sec
            .map(|f| (now_sec - f + 1).clamp(1, n as i64))
            .unwrap_or(n as i64);
        w.req_per_s = w.requests as f64 / covered as f64;
        w.hit_ratio = (lookups > 0).then(|| hits as f64 / lookups as f64);
        w.rate_5xx = (w.requests > 0).then(|| e5 as f64 / w.requests as f64);
        w.p50_ms = hist.quantile(0.50);
        w.p90_ms = hist.quantile(0.90);
        w.p99_ms = hist.quantile(0.99);
        w
    }

    pub fn snapshot(&self, now: f64) -> StatsSnapshot {
        let now_sec = now.floor() as i64;
        let mut status_mix: Vec<(Option<u16>, u64)> = self
            .status
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .filter_map(|(i, &c)| match i {
                0..=499 => Some((Some(i as u16 + 100), c)),
                501 => Some((None, c)),
                _ => None,
            })
            .collect();
        status_mix.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let handling = Handling::ALL
            .iter()
            .map(|&h| (h, self.by_handling[h as usize]))
            .filter(|(_, c)| *c > 0)
            .collect();
        let entry = |k: &[u8], c: u64, e: u64, p99: Option<f64>| TopEntry {
            key: String::from_utf8_lossy(k).into_owned(),
            count: c,
            error: e,
            p99_ms: p99,
        };
        let all_urls = self.urls.top();
        let top_urls = all_urls
            .iter()
            .take(self.top_n)
            .map(|(k, c, e, h)| entry(k, *c, *e, h.quantile(0.99)))
            .collect();
        let mut slow: Vec<TopEntry> = all_urls
            .iter()
            .filter(|(_, _, _, h)| h.count() >= MIN_SAMPLES_FOR_P99)
            .map(|(k, c, e, h)| entry(k, *c, *e, h.quantile(0.99)))
            .collect();
        slow.sort_by(|a, b| {
            b.p99_ms
                .unwrap_or(0.0)
                .total_cmp(&a.p99_ms.unwrap_or(0.0))
                .then(b.count.cmp(&a.count))
        });
        slow.truncate(self.top_n);
        let top_clients = self
            .clients
            .top()
            .iter()
            .take(self.top_n)
            .map(|(k, c, e, _)| entry(k, *c, *e, None))
            .collect();
        let mut backends = self.backends.clone();
        if self.backend_other.requests > 0 {
            backends.push(self.backend_other.clone());
        }
        backends.sort_by(|a, b| {
            (b.fetch_errors + b.errors_5xx)
                .cmp(&(a.fetch_errors + a.errors_5xx))
                .then(b.requests.cmp(&a.requests))
        });
        StatsSnapshot {
            total: self.total,
            last_10s: self.window(now_sec, 10),
            last_1m: self.window(now_sec, WINDOW_SECS),
            status_mix,
            handling,
            top_urls,
            slow_urls: slow,
            top_clients,
            backends,
        }
    }
}

//! Waits over time, client-side: every refresh is one sample of the `(wait_event_type,
//! wait_event)` of each session (a backend with no wait event counts as `CPU (no wait)`), kept
//! in a ring of at most 15 minutes and at most [`MAX_SAMPLES`] refreshes whatever the interval,
//! with at most [`MAX_NAMES`] distinct wait names (more count as `other`), so memory is bounded.
//! Active client backends and the other sessions (idle ones, background processes) are counted
//! apart, so the toggle that includes the others applies to the past too. [`WaitHistory::window`]
//! sums the last 1, 5 or 15 minutes into the top waits, each with counts per time bucket for a
//! sparkline. Counts are samples (backends × refreshes), not time. Pure: no I/O, no clock.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::activity::{Session, SessionState};

/// The windows the pane shows.
pub const WINDOWS: [Duration; 3] = [
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(900),
];
/// How far back samples are kept.
pub const HORIZON: Duration = Duration::from_secs(900);
/// Refreshes kept whatever the interval: 15 minutes at 100 ms, the shortest refresh.
pub const MAX_SAMPLES: usize = 9000;
/// Distinct wait names remembered (PostgreSQL has a few hundred); later ones count as `other`.
pub const MAX_NAMES: usize = 512;
/// Name of a sample without a wait event (running on CPU, or about to wait).
pub const NO_WAIT: &str = "CPU (no wait)";
/// Name counting the waits past [`MAX_NAMES`].
pub const OTHER: &str = "other";

/// One refresh: per wait name id, (active client backends, other sessions).
#[derive(Debug, Clone)]
struct Sample {
    at: DateTime<Utc>,
    counts: Box<[(u16, u32, u32)]>,
}

/// The ring of samples (view state; see the module doc).
#[derive(Debug, Clone, Default)]
pub struct WaitHistory {
    names: Vec<String>,
    ids: HashMap<String, u16>,
    ring: VecDeque<Sample>,
}

/// One wait over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitRow {
    pub name: String,
    /// backend samples in the window
    pub samples: u64,
    /// samples per time bucket, oldest first (for the sparkline)
    pub buckets: Vec<u64>,
}

/// The top waits over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSummary {
    pub window: Duration,
    /// refreshes in the window
    pub refreshes: usize,
    /// backend samples in the window (all waits)
    pub samples: u64,
    /// how much of the window the kept samples cover (less than `window` after a start)
    pub covered: Duration,
    /// most sampled first, at most the `n` asked for
    pub top: Vec<WaitRow>,
}

/// `Lock:transactionid`, `Timeout:PgSleep`, or [`NO_WAIT`].
pub fn wait_name(s: &Session) -> String {
    let mut out = String::new();
    write_wait_name(&mut out, s);
    out
}

/// `type:event` of a wait event type and event (a session's, or `pg_wait_sampling`'s), or
/// [`NO_WAIT`].
pub fn event_name(event_type: Option<&str>, event: Option<&str>) -> String {
    let mut out = String::new();
    push_event_name(&mut out, event_type, event);
    out
}

/// [`wait_name`] into `out` (cleared first), so a refresh can reuse one buffer.
fn write_wait_name(out: &mut String, s: &Session) {
    out.clear();
    push_event_name(out, s.wait_event_type.as_deref(), s.wait_event.as_deref());
}

fn push_event_name(out: &mut String, event_type: Option<&str>, event: Option<&str>) {
    match (event_type, event) {
        (Some(t), Some(e)) => {
            out.push_str(t);
            out.push(':');
            out.push_str(e);
        }
        (Some(t), None) => out.push_str(t),
        (None, Some(e)) => out.push_str(e),
        (None, None) => out.push_str(NO_WAIT),
    }
}

/// An active client backend (what is sampled by default).
pub fn is_active_client(s: &Session) -> bool {
    s.is_client_backend() && s.state == SessionState::Active
}

impl WaitHistory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refreshes kept.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Server time of the newest sample.
    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.ring.back().map(|s| s.at)
    }

    /// Distinct wait names remembered.
    pub fn names(&self) -> usize {
        self.names.len()
    }

    fn id(&mut self, name: String) -> u16 {
        if let Some(&i) = self.ids.get(&name) {
            return i;
        }
        if self.names.len() >= MAX_NAMES {
            return self.id_of_other();
        }
        let i = self.names.len() as u16;
        self.ids.insert(name.clone(), i);
        self.names.push(name);
        i
    }

    fn id_of_other(&mut self) -> u16 {
        if let Some(&i) = self.ids.get(OTHER) {
            return i;
        }
        let i = self.names.len() as u16;
        self.names.push(OTHER.into());
        self.ids.insert(OTHER.into(), i);
        i
    }

    /// Records one refresh taken at server time `at`; drops what is older than [`HORIZON`]
    /// before the newest sample and the oldest past [`MAX_SAMPLES`].
    pub fn record(&mut self, at: DateTime<Utc>, sessions: &[Session]) {
        let mut counts: Vec<(u16, u32, u32)> = Vec::new();
        // one name buffer per refresh: a name already known costs no allocation
        let mut name = String::new();
        for s in sessions {
            write_wait_name(&mut name, s);
            let id = match self.ids.get(name.as_str()) {
                Some(&i) => i,
                None => self.id(name.clone()),
            };
            let active = is_active_client(s);
            match counts.iter_mut().find(|c| c.0 == id) {
                Some(c) if active => c.1 += 1,
                Some(c) => c.2 += 1,
                None => counts.push((id, u32::from(active), u32::from(!active))),
            }
        }
        self.ring.push_back(Sample {
            at,
            counts: counts.into_boxed_slice(),
        });
        let newest = self.ring.back().map_or(at, |s| s.at.max(at));
        let horizon = chrono::Duration::from_std(HORIZON).unwrap_or_default();
        while self.ring.len() > MAX_SAMPLES
            || self.ring.front().is_some_and(|s| s.at < newest - horizon)
        {
            self.ring.pop_front();
        }
    }

    /// Forgets every sample (e.g. another server).
    pub fn clear(&mut self) {
        self.ring.clear();
    }

    /// The top `n` waits over the last `window` before the newest sample, with `buckets` time
    /// buckets each; `include_all` counts idle sessions and background processes too.
    pub fn window(
        &self,
        window: Duration,
        include_all: bool,
        n: usize,
        buckets: usize,
    ) -> WindowSummary {
        let buckets = buckets.max(1);
        let mut out = WindowSummary {
            window,
            refreshes: 0,
            samples: 0,
            covered: Duration::ZERO,
            top: Vec::new(),
        };
        let Some(newest) = self.last_at() else {
            return out;
        };
        let w = chrono::Duration::from_std(window).unwrap_or_default();
        let start = newest - w;
        let span = w.num_milliseconds().max(1);
        let mut per: HashMap<u16, (u64, Vec<u64>)> = HashMap::new();
        let mut oldest = newest;
        for s in self.ring.iter().rev().take_while(|s| s.at > start) {
            out.refreshes += 1;
            oldest = oldest.min(s.at);
            let off = (s.at - start).num_milliseconds().clamp(0, span);
            let b = ((off as u128 * buckets as u128 / span as u128) as usize).min(buckets - 1);
            for &(id, active, other) in s.counts.iter() {
                let c = u64::from(active) + if include_all { u64::from(other) } else { 0 };
                if c == 0 {
                    continue;
                }
                let e = per.entry(id).or_insert_with(|| (0, vec![0; buckets]));
                e.0 += c;
                e.1[b] += c;
                out.samples += c;
            }
        }
        out.covered = (newest - oldest).to_std().unwrap_or_default();
        let mut top: Vec<WaitRow> = per
            .into_iter()
            .map(|(id, (samples, buckets))| WaitRow {
                name: self.names[usize::from(id)].clone(),
                samples,
                buckets,
            })
            .collect();
        top.sort_by(|a, b| b.samples.cmp(&a.samples).then_with(|| a.name.cmp(&b.name)));
        top.truncate(n);
        out.top = top;
        out
    }
}

/// `▁▃█` with a space for an empty bucket, scaled to the largest bucket.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v == 0 || max == 0 {
                ' '
            } else {
                let i = ((u128::from(v) * 8 - 1) / u128::from(max)).min(7);
                BARS[i as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pid: i32, state: SessionState, wait: Option<(&str, &str)>) -> Session {
        let mut s = Session::for_test(pid, state, "select 1");
        if let Some((t, e)) = wait {
            s.wait_event_type = Some(t.into());
            s.wait_event = Some(e.into());
        }
        s
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn counts_active_client_waits_by_window_and_toggle() {
        let sleep = session(1, SessionState::Active, Some(("Timeout", "PgSleep")));
        let lock = session(2, SessionState::Active, Some(("Lock", "relation")));
        let cpu = session(3, SessionState::Active, None);
        let idle = session(4, SessionState::Idle, Some(("Client", "ClientRead")));
        let mut bg = session(
            5,
            SessionState::Unknown,
            Some(("Activity", "CheckpointerMain")),
        );
        bg.backend_type = Some("checkpointer".into());
        let mut h = WaitHistory::new();
        // 10 minutes ago: only the lock waiter; the last minute: two sleepers and the lock
        for i in 0..60 {
            h.record(t(i), &[lock.clone(), idle.clone(), bg.clone()]);
        }
        for i in 540..600 {
            let mut s2 = sleep.clone();
            s2.pid = 6;
            h.record(
                t(i),
                &[sleep.clone(), s2, lock.clone(), cpu.clone(), idle.clone()],
            );
        }
        let one = h.window(WINDOWS[0], false, 5, 10);
        assert_eq!(one.refreshes, 60);
        let names: Vec<(&str, u64)> = one
            .top
            .iter()
            .map(|r| (r.name.as_str(), r.samples))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Timeout:PgSleep", 120),
                (NO_WAIT, 60),
                ("Lock:relation", 60)
            ]
        );
        assert_eq!(one.samples, 240);
        assert_eq!(one.covered, Duration::from_secs(59));
        let fifteen = h.window(WINDOWS[2], false, 5, 15);
        assert_eq!(fifteen.refreshes, 120);
        assert_eq!(fifteen.top[0].name, "Lock:relation");
        assert_eq!(fifteen.top[0].samples, 120);
        // the lock waiter's sparkline: 10 minutes ago (a third into the window) and now
        let spark = &fifteen.top[0].buckets;
        assert_eq!(spark.iter().sum::<u64>(), 120);
        assert!(spark[5] > 0 && spark[14] > 0, "{spark:?}");
        assert!(spark[0] == 0 && spark[10] == 0, "{spark:?}");
        // idle sessions and background processes only with the toggle, for the past too
        assert!(!fifteen.top.iter().any(|r| r.name == "Client:ClientRead"));
        let all = h.window(WINDOWS[2], true, 10, 15);
        let idle_row = all
            .top
            .iter()
            .find(|r| r.name == "Client:ClientRead")
            .unwrap();
        assert_eq!(idle_row.samples, 120);
        assert!(all
            .top
            .iter()
            .any(|r| r.name == "Activity:CheckpointerMain"));
        assert_eq!(h.window(WINDOWS[0], false, 1, 10).top.len(), 1);
    }

    #[test]
    fn bounded_by_time_count_and_names() {
        let s = session(1, SessionState::Active, Some(("IO", "DataFileRead")));
        let mut h = WaitHistory::new();
        for i in 0..2000 {
            h.record(t(i), std::slice::from_ref(&s));
        }
        assert_eq!(h.len(), 901, "15 minutes at 1 s");
        assert_eq!(h.window(WINDOWS[2], false, 5, 10).refreshes, 900);
        // 10 ms apart (a faster cadence than any refresh): at most MAX_SAMPLES kept
        let mut h = WaitHistory::new();
        let base = t(0);
        for i in 0..(MAX_SAMPLES as i64 + 500) {
            h.record(
                base + chrono::Duration::milliseconds(i * 10),
                std::slice::from_ref(&s),
            );
        }
        assert_eq!(h.len(), MAX_SAMPLES);
        // a flood of distinct names counts as `other` past the limit
        let mut h = WaitHistory::new();
        let many: Vec<Session> = (0..(MAX_NAMES as i32 + 100))
            .map(|i| {
                let e = format!("E{i}");
                session(i, SessionState::Active, Some(("Ext", e.as_str())))
            })
            .collect();
        h.record(t(0), &many);
        assert!(h.names() <= MAX_NAMES + 1, "{}", h.names());
        let w = h.window(WINDOWS[0], false, MAX_NAMES + 200, 4);
        assert_eq!(w.samples, many.len() as u64);
        assert!(w.top.iter().any(|r| r.name == OTHER && r.samples >= 100));
        h.clear();
        assert!(h.is_empty() && h.window(WINDOWS[0], false, 5, 4).top.is_empty());
    }

    #[test]
    fn sparkline_scales_to_the_largest_bucket() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
        assert_eq!(sparkline(&[u64::MAX, 1]), "█▁");
    }
}

//! The timeline's marks ([`crate::wire::replay::mark`]): every record of the recording read
//! once, on its own thread with its own connection, so the TUI opens at once and the marks
//! fill in while it is used (a 24 h recording takes a while to decode), and read on when the
//! player finds that the recording grew.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::pg::activity::{ConnState, PgSnapshot, Session, SessionState};
use crate::record::store::Reader;
use crate::record::{
    codec::Kind,
    decode::{Decoded, Decoder},
};
use crate::wire::replay::{mark, ReplayStatus, TIMELINE_CELLS};

/// What is marked where the config does not say.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// pgtop's slow threshold
    pub slow: Duration,
    /// replication's verdict thresholds
    pub lag: crate::repl::LagThresholds,
}

/// The flags of one decoded record.
pub fn flags(kind: Option<Kind>, d: &Decoded, rules: &Rules) -> u8 {
    match (kind, d) {
        (_, Decoded::Pg(s)) => pg_flags(s, &s.sessions, rules.slow),
        (_, Decoded::Repl(s)) => {
            let v = crate::repl::verdict::judge(s, &rules.lag);
            if v.level >= crate::repl::LiveSeverity::Warn {
                mark::REPL
            } else {
                0
            }
        }
        (_, Decoded::Health(h)) if h.state == "disconnected" => mark::DOWN,
        (Some(Kind::VlogRequests), Decoded::Json(serde_json::Value::Array(reqs))) => {
            let any_5xx = reqs.iter().any(|r| {
                r.get("status")
                    .and_then(|s| s.as_u64())
                    .is_some_and(|s| (500..600).contains(&s))
            });
            if any_5xx {
                mark::HTTP_5XX
            } else {
                0
            }
        }
        (Some(Kind::KillDone), Decoded::Json(serde_json::Value::Array(a))) if !a.is_empty() => {
            mark::KILL
        }
        _ => 0,
    }
}

/// The flags of a pgtop snapshot `s` (its header) with these `sessions`.
fn pg_flags(s: &PgSnapshot, sessions: &[Session], slow: Duration) -> u8 {
    let mut f = 0;
    if matches!(s.status, ConnState::Disconnected { .. }) {
        f |= mark::DOWN;
    }
    for x in sessions {
        if x.is_lock_waiter() {
            f |= mark::LOCK;
        }
        let running = x
            .query_start
            .and_then(|q| (s.server_now - q).to_std().ok())
            .unwrap_or_default();
        if x.state == SessionState::Active && x.is_client_backend() && running >= slow {
            f |= mark::SLOW;
        }
    }
    f
}

/// At most this many times are kept in [`TimeMarks`]: past it, they are kept at half the
/// resolution (a 24 h recording ends up at about 2 s, far finer than a timeline cell).
const MAX_TIMES: usize = 1 << 16;

/// The flags found so far, by time (only times that have one), to the millisecond until there
/// are too many ([`MAX_TIMES`]). The player bins them over the timeline's current span
/// ([`TimeMarks::cells`]), which moves on while the recording is still being written.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeMarks {
    /// the resolution, ms: a time is kept as the start of its `unit`
    unit: i64,
    at: BTreeMap<i64, u8>,
}

impl Default for TimeMarks {
    fn default() -> Self {
        TimeMarks {
            unit: 1,
            at: BTreeMap::new(),
        }
    }
}

impl TimeMarks {
    /// Flags `f` at time `ts_ms`.
    pub fn add(&mut self, ts_ms: i64, f: u8) {
        if f == 0 {
            return;
        }
        *self
            .at
            .entry(ts_ms - ts_ms.rem_euclid(self.unit))
            .or_default() |= f;
        while self.at.len() > MAX_TIMES {
            self.unit = self.unit.saturating_mul(2);
            let unit = self.unit;
            let old = std::mem::take(&mut self.at);
            for (t, f) in old {
                *self.at.entry(t - t.rem_euclid(unit)).or_default() |= f;
            }
        }
    }

    /// Adds the flags of `other`.
    pub fn merge(&mut self, other: TimeMarks) {
        for (t, f) in other.at {
            self.add(t, f);
        }
    }

    /// The timeline's [`TIMELINE_CELLS`] cells over `status`'s span (times outside it in the
    /// first or last cell). A time kept at a coarser resolution is placed at the end of its
    /// unit, so the recording's last instant (the last cell's only time) keeps its mark.
    pub fn cells(&self, status: &ReplayStatus) -> Vec<u8> {
        let mut cells = vec![0u8; TIMELINE_CELLS];
        for (&t, &f) in &self.at {
            cells[status.cell_of(t.saturating_add(self.unit - 1))] |= f;
        }
        cells
    }
}

/// Reads a recording for its marks, from its first record on and, called again, on from where
/// it stopped (a recording still being written).
#[derive(Default)]
pub struct Scan {
    dec: Decoder,
    /// the id to read next
    next: i64,
    /// records read so far
    done: i64,
}

impl Scan {
    /// Reads to the end of what `reader` holds now, calling `progress(new marks, percent)`
    /// about every `every` and once at the end (the percent of a first read: of the records
    /// counted when it started; after that 100); false from `progress` stops it. Errors name
    /// the recording `name` (a server's messages name the server).
    pub fn read_on(
        &mut self,
        reader: &Reader,
        name: &str,
        rules: Rules,
        every: Duration,
        mut progress: impl FnMut(TimeMarks, u8) -> bool,
    ) -> Result<bool, String> {
        let err = |e: rusqlite::Error| {
            if reader.is_remote() {
                e.to_string() // a server's messages name it (without the password)
            } else {
                format!("recording {name}: {e}")
            }
        };
        let total = match self.done {
            0 => reader.count().map_err(err)?.max(1),
            _ => 0,
        };
        let pct = |done: i64| match total {
            0 => 100,
            t => (done * 100 / t).min(99) as u8,
        };
        let mut fresh = TimeMarks::default();
        let mut last = Instant::now();
        loop {
            let rows = reader.batch(self.next, i64::MAX, 512).map_err(err)?;
            let Some(l) = rows.last() else { break };
            self.next = l.id + 1;
            for row in rows {
                self.done += 1;
                // a pgtop record is read without copying its sessions
                let f = match self.dec.peek_pg(&row.kind, row.keyframe, &row.data) {
                    Ok(Some((shell, sessions))) => pg_flags(&shell, sessions, rules.slow),
                    Err(_) => continue,
                    Ok(None) => match self.dec.decode(&row.kind, row.keyframe, &row.data) {
                        Ok(d) => flags(Kind::parse(&row.kind), &d, &rules),
                        Err(_) => continue,
                    },
                };
                fresh.add(row.ts_ms, f);
            }
            if last.elapsed() >= every {
                last = Instant::now();
                if !progress(std::mem::take(&mut fresh), pct(self.done)) {
                    return Ok(false);
                }
            }
        }
        Ok(progress(fresh, 100))
    }
}

/// Reads the whole recording at `path`, calling `progress(marks over `status`'s span,
/// percent)` about every `every` and once at the end; stops early when `progress` returns
/// false.
pub fn scan(
    path: &std::path::Path,
    status: &ReplayStatus,
    rules: Rules,
    every: Duration,
    mut progress: impl FnMut(Vec<u8>, u8) -> bool,
) -> Result<(), String> {
    let reader = Reader::open(path)?;
    let name = path.display().to_string();
    let mut all = TimeMarks::default();
    Scan::default().read_on(&reader, &name, rules, every, |m, pct| {
        all.merge(m);
        progress(all.cells(status), pct)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short recording keeps its marks to the millisecond (a cell can be a few ms wide); a
    /// long one is kept at a coarser resolution, its memory bounded, its cells the same.
    #[test]
    fn time_marks_are_exact_when_few_and_bounded_when_many() {
        let status = |first, last| ReplayStatus {
            first_ms: first,
            last_ms: last,
            ..Default::default()
        };
        // 2 s recording: a kill at 1,234 ms lands in its own cell
        let short = status(1_000_000, 1_002_000);
        let mut m = TimeMarks::default();
        m.add(1_001_234, mark::KILL);
        m.add(1_001_500, 0); // nothing to keep
        assert_eq!(m.at.len(), 1);
        let cells = m.cells(&short);
        assert_eq!(cells[short.cell_of(1_001_234)], mark::KILL);
        assert_eq!(cells.iter().filter(|&&c| c != 0).count(), 1);

        // a flag every 100 ms for 24 h: 864,000 times, kept in at most MAX_TIMES
        let day = status(0, 86_399_900);
        let mut all = TimeMarks::default();
        let mut part = TimeMarks::default();
        for i in 0..864_000i64 {
            let f = if i % 1000 == 7 {
                mark::HTTP_5XX
            } else {
                mark::SLOW
            };
            part.add(i * 100, f);
            if i % 50_000 == 0 {
                all.merge(std::mem::take(&mut part)); // as the player adds up reports
            }
        }
        all.merge(part);
        assert!(all.at.len() <= MAX_TIMES, "{}", all.at.len());
        // (the last cell is only the recording's last instant: it has its mark too)
        let cells = &all.cells(&day);
        assert!(cells.iter().all(|&c| c & mark::SLOW != 0));
        let with_5xx = cells.iter().filter(|&&c| c & mark::HTTP_5XX != 0).count();
        // one every 100 s: in every 180 s cell but the last instant's
        assert_eq!(with_5xx, TIMELINE_CELLS - 1);
    }
}

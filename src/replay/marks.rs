//! The timeline's marks ([`crate::wire::replay::mark`]): every record of the recording read
//! once, on its own thread with its own connection, so the TUI opens at once and the marks
//! fill in while it is used (a 24 h recording takes a while to decode).

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

/// Reads the whole recording at `path`, calling `progress(marks, percent)` about every
/// `every` and once at the end; stops early when `progress` returns false.
pub fn scan(
    path: &std::path::Path,
    status: &ReplayStatus,
    rules: Rules,
    every: Duration,
    progress: impl FnMut(Vec<u8>, u8) -> bool,
) -> Result<(), String> {
    let reader = Reader::open(path)?;
    let name = path.display().to_string();
    scan_reader(&reader, &name, status, rules, every, progress)
}

/// [`scan`] with a reader opened by the caller (a recording of a PostgreSQL store: its own
/// connection); errors name the recording `name`.
pub fn scan_reader(
    reader: &Reader,
    name: &str,
    status: &ReplayStatus,
    rules: Rules,
    every: Duration,
    mut progress: impl FnMut(Vec<u8>, u8) -> bool,
) -> Result<(), String> {
    let err = |e: rusqlite::Error| {
        if reader.is_remote() {
            e.to_string() // a server's messages name it (without the password)
        } else {
            format!("recording {name}: {e}")
        }
    };
    let total = reader.count().map_err(err)?.max(1);
    let mut marks = vec![0u8; TIMELINE_CELLS];
    let mut dec = Decoder::default();
    let mut next = 0;
    let mut done = 0i64;
    let mut last = Instant::now();
    loop {
        let rows = reader.batch(next, i64::MAX, 512).map_err(err)?;
        let Some(l) = rows.last() else { break };
        next = l.id + 1;
        for row in rows {
            done += 1;
            // a pgtop record is read without copying its sessions
            let f = match dec.peek_pg(&row.kind, row.keyframe, &row.data) {
                Ok(Some((shell, sessions))) => pg_flags(&shell, sessions, rules.slow),
                Err(_) => continue,
                Ok(None) => match dec.decode(&row.kind, row.keyframe, &row.data) {
                    Ok(d) => flags(Kind::parse(&row.kind), &d, &rules),
                    Err(_) => continue,
                },
            };
            if f != 0 {
                marks[status.cell_of(row.ts_ms)] |= f;
            }
        }
        if last.elapsed() >= every {
            last = Instant::now();
            let pct = (done * 100 / total).min(99) as u8;
            if !progress(marks.clone(), pct) {
                return Ok(());
            }
        }
    }
    progress(marks, 100);
    Ok(())
}

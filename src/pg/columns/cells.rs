//! Cell texts shared by the list, the batch table, the JSON and the slow log: short state
//! names, the wait and blocked-by cells, a waited-for lock as JSON, durations.

use std::time::Duration;

use serde_json::{json, Value};

use crate::pg::session::{LockWait, Session, SessionState};

/// Short state names for the narrow column.
pub fn state_short(s: &SessionState) -> &str {
    match s {
        SessionState::IdleInTransaction => "idle tx",
        SessionState::IdleInTransactionAborted => "idle tx!",
        SessionState::FastpathFunctionCall => "fastpath",
        other => other.as_str(),
    }
}

/// `Lock:relation`, `IO:DataFileRead`, or empty.
pub fn wait(s: &Session) -> String {
    match (&s.wait_event_type, &s.wait_event) {
        (Some(t), Some(e)) => format!("{t}:{e}"),
        (Some(t), None) => t.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => String::new(),
    }
}

/// The list's wait column: `by 1234+2` (first blocking pid, how many more) for a session
/// blocked by others, else its wait event (`Lock:tuple`, `IO:DataFileRead`), else empty.
pub fn blk(s: &Session) -> String {
    if s.blocking_pids.is_empty() {
        wait(s)
    } else {
        blocked_or_wait(s)
    }
}

/// The batch table's WAIT cell: `by 1234+2` (the first blocking pid and how many more) when
/// it waits for sessions, else the wait event.
pub fn blocked_or_wait(s: &Session) -> String {
    match s.blocking_pids.split_first() {
        Some((first, [])) => format!("by {first}"),
        Some((first, more)) => format!("by {first}+{}", more.len()),
        None => s.wait_event.clone().unwrap_or_default(),
    }
}

/// A waited-for lock as batch JSON and the slow log show it: `{mode, relation, type, object}`.
pub fn lock_json(l: &LockWait) -> Value {
    json!({
        "mode": l.mode,
        "relation": l.relation,
        "type": l.locktype,
        "object": l.object,
    })
}

/// `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`.
pub fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs();
    if s < 1 {
        format!("{}ms", d.as_millis())
    } else if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86400, (s % 86400) / 3600)
    }
}

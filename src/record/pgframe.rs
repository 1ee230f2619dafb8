//! A pgtop snapshot as stored ([`PgFrame`]): the snapshot without its sessions (header,
//! status, notices), and the sessions as [`SessionDelta`]s — on a keyframe every session
//! whole, otherwise only the fields that changed since the previous snapshot (a session that
//! starts a statement stores `query` only when the text changed, plus its new times), the
//! pids that left, and the pid order when it is not the previous order with newcomers
//! appended. Keys are short (they are in every record) and times are nanoseconds after the
//! snapshot's `server_now` (`"qs":0` instead of a 32-byte date), so a delta is small before
//! zstd sees it. Applying the frames in order gives back every snapshot field for field
//! (`statements`, not recorded, excepted).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::pg::activity::{PgSnapshot, Session, SessionState};

/// A pgtop snapshot as stored: whole (keyframe) or as a change of the previous one.
#[derive(Debug, Serialize, Deserialize)]
pub struct PgFrame {
    /// the snapshot without its sessions
    pub snap: PgSnapshot,
    /// every session (keyframe), or the changed ones and the newcomers (delta)
    #[serde(rename = "s", default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<SessionDelta>,
    /// pids gone since the previous snapshot
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<i32>,
    /// the pid order, when it is not the previous order with newcomers at the end
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<i32>>,
}

/// A time as stored: nanoseconds after the snapshot's `server_now` (nearly always), or the
/// time itself when that does not fit an i64 (± 292 years).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ts {
    Rel(i64),
    Abs(DateTime<Utc>),
}

fn ts(v: &Option<DateTime<Utc>>, base: DateTime<Utc>) -> Option<Ts> {
    v.map(|t| match (t - base).num_nanoseconds() {
        Some(n) => Ts::Rel(n),
        None => Ts::Abs(t),
    })
}

fn ts_back(v: Option<Ts>, base: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
    match v {
        None => Ok(None),
        Some(Ts::Abs(t)) => Ok(Some(t)),
        Some(Ts::Rel(n)) => base
            .checked_add_signed(TimeDelta::nanoseconds(n))
            .map(Some)
            .ok_or_else(|| format!("a time out of range ({n} ns after {base})")),
    }
}

fn same<T: Clone>(v: &T, _: DateTime<Utc>) -> T {
    v.clone()
}

fn same_back<T>(v: T, _: DateTime<Utc>) -> Result<T, String> {
    Ok(v)
}

/// A field that is present is `Some` (even when its value is `null`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

macro_rules! session_delta {
    ($($f:ident $key:literal: $s:ty, $enc:ident, $dec:ident;)*) => {
        /// One session as stored: its pid and the fields that changed (all of them in a
        /// keyframe and for a newcomer). An absent field is unchanged.
        #[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
        pub struct SessionDelta {
            #[serde(rename = "p")]
            pub pid: i32,
            $(
                #[serde(
                    rename = $key,
                    default,
                    skip_serializing_if = "Option::is_none",
                    deserialize_with = "present"
                )]
                pub $f: Option<$s>,
            )*
        }

        impl SessionDelta {
            /// Every field (a keyframe's sessions, newcomers).
            pub fn whole(s: &Session, base: DateTime<Utc>) -> SessionDelta {
                SessionDelta { pid: s.pid, $($f: Some($enc(&s.$f, base)),)* }
            }

            /// The fields of `now` that differ from `prev` (same pid); `None` when none do.
            pub fn between(prev: &Session, now: &Session, base: DateTime<Utc>) -> Option<SessionDelta> {
                let mut d = SessionDelta { pid: now.pid, ..SessionDelta::default() };
                let mut any = false;
                $(
                    if prev.$f != now.$f {
                        d.$f = Some($enc(&now.$f, base));
                        any = true;
                    }
                )*
                any.then_some(d)
            }

            /// Writes the present fields into `s`.
            pub fn apply(self, s: &mut Session, base: DateTime<Utc>) -> Result<(), String> {
                s.pid = self.pid;
                $(
                    if let Some(v) = self.$f {
                        s.$f = $dec(v, base)?;
                    }
                )*
                Ok(())
            }
        }

        /// Does not compile when `Session` gains a field the list above lacks.
        #[allow(dead_code)]
        fn every_field_is_recorded(s: Session) {
            let Session { pid: _, $($f: _),* } = s;
        }
    };
}

session_delta! {
    datname "d": Option<String>, same, same_back;
    usename "u": Option<String>, same, same_back;
    client_addr "ca": Option<String>, same, same_back;
    client_port "cp": Option<i32>, same, same_back;
    application_name "a": String, same, same_back;
    backend_type "bt": Option<String>, same, same_back;
    state "st": SessionState, same, same_back;
    wait_event_type "wt": Option<String>, same, same_back;
    wait_event "we": Option<String>, same, same_back;
    backend_start "bs": Option<Ts>, ts, ts_back;
    xact_start "xs": Option<Ts>, ts, ts_back;
    query_start "qs": Option<Ts>, ts, ts_back;
    state_change "sc": Option<Ts>, ts, ts_back;
    query "q": String, same, same_back;
    visible "v": bool, same, same_back;
    leader_pid "lp": Option<i32>, same, same_back;
    query_id "qi": Option<i64>, same, same_back;
    blocking_pids "bp": Vec<i32>, same, same_back;
    lock "l": Option<crate::pg::locks::LockWait>, same, same_back;
}

/// A session with no field set yet (a newcomer before its delta is applied).
fn blank(pid: i32) -> Session {
    Session {
        pid,
        datname: None,
        usename: None,
        client_addr: None,
        client_port: None,
        application_name: String::new(),
        backend_type: None,
        state: SessionState::Unknown,
        wait_event_type: None,
        wait_event: None,
        backend_start: None,
        xact_start: None,
        query_start: None,
        state_change: None,
        query: String::new(),
        visible: false,
        leader_pid: None,
        query_id: None,
        blocking_pids: Vec::new(),
        lock: None,
    }
}

/// The snapshot without its sessions (and without `statements` and `wait_sampling`, which are not recorded).
pub fn shell(s: &PgSnapshot) -> PgSnapshot {
    let PgSnapshot {
        seq,
        server_now,
        taken_at,
        fetch_time,
        header,
        sessions: _,
        status,
        refresh_interval,
        notices,
        slow_count,
        alerts,
        statements: _,
        wait_sampling: _,
    } = s;
    PgSnapshot {
        seq: *seq,
        server_now: *server_now,
        taken_at: *taken_at,
        fetch_time: *fetch_time,
        header: header.clone(),
        sessions: Vec::new(),
        status: status.clone(),
        refresh_interval: *refresh_interval,
        notices: notices.clone(),
        slow_count: *slow_count,
        alerts: alerts.clone(),
        statements: None,
        wait_sampling: None,
    }
}

/// Whether no pid is listed twice (deltas are by pid; a snapshot with duplicates is stored
/// as a keyframe).
pub fn pids_unique(sessions: &[Session]) -> bool {
    let mut pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
    pids.sort_unstable();
    pids.windows(2).all(|w| w[0] != w[1])
}

/// The frame of a keyframe: `shell` with every session of `now`.
pub fn keyframe(shell: PgSnapshot, now: &[Session]) -> PgFrame {
    let base = shell.server_now;
    PgFrame {
        sessions: now.iter().map(|s| SessionDelta::whole(s, base)).collect(),
        snap: shell,
        gone: Vec::new(),
        order: None,
    }
}

/// The frame of a delta: `shell`, and what changed from `prev` to `now` (pids unique in both).
pub fn delta(shell: PgSnapshot, prev: &[Session], now: &[Session]) -> PgFrame {
    let base = shell.server_now;
    let before: HashMap<i32, &Session> = prev.iter().map(|s| (s.pid, s)).collect();
    let here: HashSet<i32> = now.iter().map(|s| s.pid).collect();
    let gone: Vec<i32> = prev
        .iter()
        .map(|s| s.pid)
        .filter(|p| !here.contains(p))
        .collect();
    let mut newcomers = Vec::new();
    let sessions = now
        .iter()
        .filter_map(|s| match before.get(&s.pid) {
            Some(p) => SessionDelta::between(p, s, base),
            None => {
                newcomers.push(s.pid);
                Some(SessionDelta::whole(s, base))
            }
        })
        .collect();
    // the order decoding gives: the previous minus the gone, newcomers appended by pid
    newcomers.sort_unstable();
    let implied = prev
        .iter()
        .map(|s| s.pid)
        .filter(|p| here.contains(p))
        .chain(newcomers);
    let order =
        (!implied.eq(now.iter().map(|s| s.pid))).then(|| now.iter().map(|s| s.pid).collect());
    PgFrame {
        snap: shell,
        sessions,
        gone,
        order,
    }
}

/// The sessions after `frame`: built from nothing (keyframe) or from `prev` (delta).
/// Takes the sessions, gone pids and order out of `frame` (its `snap` stays).
pub fn apply(prev: Option<Vec<Session>>, frame: &mut PgFrame) -> Result<Vec<Session>, String> {
    let base = frame.snap.server_now;
    let (sessions, gone, order) = (
        std::mem::take(&mut frame.sessions),
        std::mem::take(&mut frame.gone),
        frame.order.take(),
    );
    let Some(prev) = prev else {
        let mut out = Vec::with_capacity(sessions.len());
        for d in sessions {
            let mut s = blank(d.pid);
            d.apply(&mut s, base)?;
            out.push(s);
        }
        return Ok(out);
    };
    let gone: HashSet<i32> = gone.into_iter().collect();
    let mut out: Vec<Session> = if gone.is_empty() {
        prev
    } else {
        prev.into_iter()
            .filter(|s| !gone.contains(&s.pid))
            .collect()
    };
    let pos: HashMap<i32, usize> = out.iter().enumerate().map(|(i, s)| (s.pid, i)).collect();
    let mut fresh = Vec::new();
    for d in sessions {
        match pos.get(&d.pid) {
            Some(&i) => d.apply(&mut out[i], base)?,
            None => {
                let mut s = blank(d.pid);
                d.apply(&mut s, base)?;
                fresh.push(s);
            }
        }
    }
    fresh.sort_by_key(|s| s.pid);
    out.extend(fresh);
    if let Some(order) = order {
        let pos: HashMap<i32, usize> = order.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        out.sort_by_key(|s| pos.get(&s.pid).copied().unwrap_or(usize::MAX));
    }
    Ok(out)
}

//! Threshold-crossing detection, run by the collector on every snapshot. Two kinds of instances:
//! a slow statement (pid + backend_start + query_start) emits `Crossed` once (also for queries
//! already slow at startup) and `Critical` once when the higher threshold is passed later; an
//! idle-in-transaction session over its threshold (pid + backend_start + xact_start) emits
//! `IdleInTransaction` once; an active session in a transaction over the long-transaction threshold
//! while its statement is not slow (pid + backend_start + xact_start) emits `LongTransaction`
//! once. A reported instance that ends emits `Resolved`. Lock waiters carry the
//! sessions blocking them. Memory is bounded by the sessions currently present. Feeds slowlog and
//! slack (which de-duplicates across restarts with [`SlowEvent::key`]).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::classify::{classify, RowClass, Thresholds};
use super::session::{LockWait, Session};

/// What an instance is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceKind {
    /// an active statement over the slow threshold
    Slow,
    /// a transaction left idle over the idle-in-transaction threshold
    IdleInTransaction,
    /// an active session whose transaction is over the long-transaction threshold while its
    /// current statement is young
    LongTransaction,
}

/// One instance: kind, pid and the start of its statement (slow) or transaction (idle in tx,
/// long transaction).
pub type InstanceKey = (InstanceKind, i32, DateTime<Utc>);

/// A session holding a lock another one waits for (from `pg_blocking_pids`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocker {
    pub pid: i32,
    pub usename: Option<String>,
    pub application_name: String,
    pub state: String,
    pub query: String,
}

/// What the log and the notifier need about an instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceInfo {
    pub kind: InstanceKind,
    pub pid: i32,
    pub query_start: DateTime<Utc>,
    pub backend_start: Option<DateTime<Utc>>,
    pub xact_start: Option<DateTime<Utc>>,
    pub datname: Option<String>,
    pub usename: Option<String>,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub query: String,
    /// active-for (slow), idle-in-transaction-for or transaction age (long transaction) when
    /// last seen
    pub duration: Duration,
    /// sessions holding the lock this one waits for (empty unless it waits for a lock)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<Blocker>,
    /// the lock it waits for (mode, type, relation), when it waits on one
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockWait>,
}

impl InstanceInfo {
    /// The instance of `kind` about session `s` (one constructor for every kind).
    pub fn new(
        kind: InstanceKind,
        s: &Session,
        query_start: DateTime<Utc>,
        duration: Duration,
        blocked_by: Vec<Blocker>,
    ) -> Self {
        InstanceInfo {
            kind,
            pid: s.pid,
            query_start,
            backend_start: s.backend_start,
            xact_start: s.xact_start,
            datname: s.datname.clone(),
            usename: s.usename.clone(),
            application_name: s.application_name.clone(),
            client_addr: s.client_addr.clone(),
            query: s.query.clone(),
            duration,
            blocked_by,
            lock: s.lock.clone(),
        }
    }

    /// A slow-statement instance with the given query, for tests.
    #[doc(hidden)]
    pub fn for_test(pid: i32, query: &str) -> Self {
        InstanceInfo {
            kind: InstanceKind::Slow,
            pid,
            query_start: Utc::now(),
            backend_start: Some(Utc::now()),
            xact_start: None,
            datname: Some("postgres".into()),
            usename: Some("app".into()),
            application_name: String::new(),
            client_addr: None,
            query: query.into(),
            duration: Duration::from_secs(10),
            blocked_by: Vec::new(),
            lock: None,
        }
    }

    /// Stable identity of the instance across stacktop restarts (server is the outbox's).
    pub fn key(&self) -> String {
        let ts = |t: Option<DateTime<Utc>>| t.map_or(0, |t| t.timestamp_micros());
        match self.kind {
            InstanceKind::Slow => format!(
                "q:{}:{}:{}",
                self.pid,
                ts(self.backend_start),
                self.query_start.timestamp_micros()
            ),
            InstanceKind::IdleInTransaction => format!(
                "x:{}:{}:{}",
                self.pid,
                ts(self.backend_start),
                ts(self.xact_start)
            ),
            InstanceKind::LongTransaction => format!(
                "t:{}:{}:{}",
                self.pid,
                ts(self.backend_start),
                ts(self.xact_start)
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SlowEvent {
    /// first seen over the slow threshold (`critical` when already over the critical one)
    Crossed { info: InstanceInfo, critical: bool },
    /// previously reported slow, now over the critical threshold
    Critical { info: InstanceInfo },
    /// first seen idle in transaction over its threshold
    IdleInTransaction { info: InstanceInfo },
    /// first seen active in a transaction over the long-transaction threshold
    LongTransaction { info: InstanceInfo },
    /// a reported instance is no longer running
    Resolved { info: InstanceInfo },
}

impl SlowEvent {
    pub fn info(&self) -> &InstanceInfo {
        match self {
            SlowEvent::Crossed { info, .. }
            | SlowEvent::Critical { info }
            | SlowEvent::IdleInTransaction { info }
            | SlowEvent::LongTransaction { info }
            | SlowEvent::Resolved { info } => info,
        }
    }
}

struct Entry {
    info: InstanceInfo,
    critical: bool,
    seen_in: u64,
}

/// Remembers which instances were reported; entries are evicted when the instance disappears.
#[derive(Default)]
pub struct SlowTracker {
    reported: HashMap<InstanceKey, Entry>,
    round: u64,
}

fn blockers(s: &Session, all: &[Session]) -> Vec<Blocker> {
    s.blocking_pids
        .iter()
        .take(8)
        .map(|&pid| match all.iter().find(|b| b.pid == pid) {
            Some(b) => Blocker {
                pid,
                usename: b.usename.clone(),
                application_name: b.application_name.clone(),
                state: b.state.as_str().to_string(),
                query: b.query.clone(),
            },
            None => Blocker {
                pid,
                usename: None,
                application_name: String::new(),
                state: String::new(),
                query: String::new(),
            },
        })
        .collect()
}

fn since(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> Duration {
    t.map_or(Duration::ZERO, |t| (now - t).to_std().unwrap_or_default())
}

impl SlowTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of instances currently remembered.
    pub fn len(&self) -> usize {
        self.reported.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reported.is_empty()
    }

    /// Snapshots compared so far (1 right after the first: its events are the start-up burst).
    pub fn rounds(&self) -> u64 {
        self.round
    }

    /// Forget everything (e.g. after a reconnect the server may have restarted).
    pub fn clear(&mut self) {
        self.reported.clear();
    }

    fn insert(&mut self, key: InstanceKey, info: InstanceInfo, critical: bool) {
        let seen_in = self.round;
        self.reported.insert(
            key,
            Entry {
                info,
                critical,
                seen_in,
            },
        );
    }

    /// Compare one snapshot with what was reported before.
    pub fn update(
        &mut self,
        now: DateTime<Utc>,
        sessions: &[Session],
        t: &Thresholds,
    ) -> Vec<SlowEvent> {
        self.round += 1;
        let mut events = Vec::new();
        for s in sessions {
            if !s.is_client_backend() {
                continue;
            }
            let class = classify(s, now, t);
            // an open transaction stays the same instance while it runs statements in between
            // (or goes idle in between, for a long transaction)
            if let Some(xs) = s.xact_start.or(s.state_change) {
                for kind in [
                    InstanceKind::IdleInTransaction,
                    InstanceKind::LongTransaction,
                ] {
                    if let Some(e) = self.reported.get_mut(&(kind, s.pid, xs)) {
                        e.seen_in = self.round;
                    }
                }
            }
            if class == RowClass::LongTransaction {
                let Some(xs) = s.xact_start else {
                    continue;
                };
                let key = (InstanceKind::LongTransaction, s.pid, xs);
                let age = since(now, Some(xs));
                if let Some(e) = self.reported.get_mut(&key) {
                    e.info.duration = age;
                    continue;
                }
                let qs = s.query_start.unwrap_or(xs);
                let info = InstanceInfo::new(
                    InstanceKind::LongTransaction,
                    s,
                    qs,
                    age,
                    blockers(s, sessions),
                );
                events.push(SlowEvent::LongTransaction { info: info.clone() });
                self.insert(key, info, false);
                continue;
            }
            if class == RowClass::IdleInTransactionLong {
                let Some(xs) = s.xact_start.or(s.state_change) else {
                    continue;
                };
                let key = (InstanceKind::IdleInTransaction, s.pid, xs);
                if let Some(e) = self.reported.get_mut(&key) {
                    e.info.duration = since(now, s.state_change);
                    continue;
                }
                let info = InstanceInfo::new(
                    InstanceKind::IdleInTransaction,
                    s,
                    s.query_start.unwrap_or(xs),
                    since(now, s.state_change),
                    Vec::new(),
                );
                events.push(SlowEvent::IdleInTransaction { info: info.clone() });
                self.insert(key, info, false);
                continue;
            }
            let (Some(qs), Some(d)) = (s.query_start, s.active_for(now)) else {
                continue;
            };
            let key = (InstanceKind::Slow, s.pid, qs);
            if let Some(e) = self.reported.get_mut(&key) {
                e.seen_in = self.round;
                e.info.duration = d;
                if class == RowClass::Critical && !e.critical {
                    e.critical = true;
                    e.info.blocked_by = blockers(s, sessions);
                    e.info.lock.clone_from(&s.lock);
                    events.push(SlowEvent::Critical {
                        info: e.info.clone(),
                    });
                }
                continue;
            }
            if !matches!(class, RowClass::Slow | RowClass::Critical) {
                continue;
            }
            let info = InstanceInfo::new(InstanceKind::Slow, s, qs, d, blockers(s, sessions));
            let critical = class == RowClass::Critical;
            events.push(SlowEvent::Crossed {
                info: info.clone(),
                critical,
            });
            self.insert(key, info, critical);
        }
        let round = self.round;
        let mut gone: Vec<InstanceKey> = self
            .reported
            .iter()
            .filter(|(_, e)| e.seen_in != round)
            .map(|(k, _)| *k)
            .collect();
        gone.sort_by_key(|k| (k.2, k.1));
        for k in gone {
            if let Some(e) = self.reported.remove(&k) {
                events.push(SlowEvent::Resolved { info: e.info });
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::session::SessionState;

    fn th() -> Thresholds {
        Thresholds {
            slow: Duration::from_secs(5),
            critical: Duration::from_secs(20),
            idle_in_transaction: Duration::from_secs(5),
            long_transaction: Duration::from_secs(10),
        }
    }

    #[test]
    fn once_per_instance_then_resolved_and_evicted() {
        let t0 = Utc::now();
        let th = th();
        let mut s = Session::for_test(7, SessionState::Active, "select pg_sleep(100)");
        s.query_start = Some(t0);
        let mut tr = SlowTracker::new();
        assert!(tr
            .update(t0 + chrono::Duration::seconds(1), &[s.clone()], &th)
            .is_empty());
        assert_eq!(tr.rounds(), 1);
        let ev = tr.update(t0 + chrono::Duration::seconds(6), &[s.clone()], &th);
        assert!(matches!(
            &ev[..],
            [SlowEvent::Crossed {
                critical: false,
                ..
            }]
        ));
        assert!(tr
            .update(t0 + chrono::Duration::seconds(7), &[s.clone()], &th)
            .is_empty());
        let ev = tr.update(t0 + chrono::Duration::seconds(21), &[s.clone()], &th);
        assert!(matches!(&ev[..], [SlowEvent::Critical { .. }]));
        // same pid, new statement: a new instance
        let mut s2 = s.clone();
        s2.query_start = Some(t0 + chrono::Duration::seconds(22));
        let ev = tr.update(t0 + chrono::Duration::seconds(30), &[s2.clone()], &th);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(matches!(&ev[0], SlowEvent::Crossed { .. }));
        assert!(matches!(&ev[1], SlowEvent::Resolved { info } if info.query_start == t0));
        assert_eq!(tr.len(), 1);
        let ev = tr.update(t0 + chrono::Duration::seconds(31), &[], &th);
        assert!(matches!(&ev[..], [SlowEvent::Resolved { .. }]));
        assert!(tr.is_empty());
    }

    #[test]
    fn idle_in_transaction_once_per_transaction_and_lock_blockers_named() {
        let t0 = Utc::now();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let mut iit = Session::for_test(8, SessionState::IdleInTransaction, "update t set x = 1");
        iit.xact_start = Some(t0);
        iit.query_start = Some(t0);
        iit.state_change = Some(t0);
        let mut waiter = Session::for_test(9, SessionState::Active, "update t set x = 2");
        waiter.query_start = Some(t0);
        waiter.wait_event_type = Some("Lock".into());
        waiter.blocking_pids = vec![8];
        let mut tr = SlowTracker::new();
        let ev = tr.update(at(6), &[iit.clone(), waiter.clone()], &th());
        assert_eq!(ev.len(), 2, "{ev:?}");
        let SlowEvent::IdleInTransaction { info } = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!((info.pid, info.kind), (8, InstanceKind::IdleInTransaction));
        assert_eq!(info.duration, Duration::from_secs(6));
        let b = &ev[1].info().blocked_by;
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].pid, b[0].state.as_str()), (8, "idle in transaction"));
        assert_eq!(b[0].query, "update t set x = 1");
        // a statement inside the same transaction: not a new alert when it goes idle again
        let mut busy = iit.clone();
        busy.state = SessionState::Active;
        busy.query_start = Some(at(7));
        busy.state_change = Some(at(7));
        let ev = tr.update(at(7), &[busy], &th());
        assert!(
            matches!(&ev[..], [SlowEvent::Resolved { info }] if info.pid == 9),
            "{ev:?}"
        );
        let mut again = iit.clone();
        again.query_start = Some(at(7));
        again.state_change = Some(at(8));
        assert!(tr.update(at(20), &[again.clone()], &th()).is_empty());
        // a new transaction is a new instance
        let mut next = again.clone();
        next.xact_start = Some(at(21));
        next.state_change = Some(at(21));
        let ev = tr.update(at(30), &[next], &th());
        assert!(
            matches!(&ev[0], SlowEvent::IdleInTransaction { .. }),
            "{ev:?}"
        );
        assert!(matches!(&ev[1], SlowEvent::Resolved { info } if info.pid == 8));
        assert_ne!(ev[0].info().key(), ev[1].info().key());
    }

    #[test]
    fn long_transaction_once_per_transaction_not_slow_not_idle() {
        let t0 = Utc::now();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let mut s = Session::for_test(5, SessionState::Active, "select 1");
        s.xact_start = Some(t0);
        s.query_start = Some(at(9));
        let mut tr = SlowTracker::new();
        assert!(tr.update(at(9), &[s.clone()], &th()).is_empty());
        s.query_start = Some(at(11));
        let ev = tr.update(at(11), &[s.clone()], &th());
        let [SlowEvent::LongTransaction { info }] = &ev[..] else {
            panic!("{ev:?}")
        };
        assert_eq!(info.kind, InstanceKind::LongTransaction);
        assert_eq!(info.duration, Duration::from_secs(11));
        assert!(info.key().starts_with("t:5:"));
        // more short statements, and idle moments, in the same transaction: no new event
        s.query_start = Some(at(12));
        assert!(tr.update(at(12), &[s.clone()], &th()).is_empty());
        let mut idle = s.clone();
        idle.state = SessionState::IdleInTransaction;
        idle.state_change = Some(at(13));
        assert!(tr.update(at(13), &[idle], &th()).is_empty());
        assert!(tr.update(at(14), &[s.clone()], &th()).is_empty());
        // the transaction ends: resolved
        let mut next = s.clone();
        next.xact_start = Some(at(15));
        next.query_start = Some(at(15));
        let ev = tr.update(at(15), &[next], &th());
        assert!(
            matches!(&ev[..], [SlowEvent::Resolved { info }] if info.kind == InstanceKind::LongTransaction),
            "{ev:?}"
        );
    }
}

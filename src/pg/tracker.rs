//! Threshold-crossing detection per query instance (pid + query_start), run by the collector on
//! every snapshot: emits `Crossed` once per instance (also for queries already slow at startup),
//! `Critical` once when the higher threshold is passed later, and `Resolved` when a reported
//! instance ends. Memory is bounded by the sessions currently present. Feeds slowlog and slack.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::activity::Session;
use super::classify::{classify, RowClass, Thresholds};

/// One query instance: a pid and the start of its statement.
pub type InstanceKey = (i32, DateTime<Utc>);

/// What the log and the notifier need about an instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceInfo {
    pub pid: i32,
    pub query_start: DateTime<Utc>,
    pub backend_start: Option<DateTime<Utc>>,
    pub datname: Option<String>,
    pub usename: Option<String>,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub query: String,
    /// active-for duration when last seen
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SlowEvent {
    /// first seen over the slow threshold (`critical` when already over the critical one)
    Crossed { info: InstanceInfo, critical: bool },
    /// previously reported slow, now over the critical threshold
    Critical { info: InstanceInfo },
    /// a reported instance is no longer running
    Resolved { info: InstanceInfo },
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

    /// Forget everything (e.g. after a reconnect the server may have restarted).
    pub fn clear(&mut self) {
        self.reported.clear();
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
            let (Some(qs), Some(d)) = (s.query_start, s.active_for(now)) else {
                continue;
            };
            let key = (s.pid, qs);
            if let Some(e) = self.reported.get_mut(&key) {
                e.seen_in = self.round;
                e.info.duration = d;
                if class == RowClass::Critical && !e.critical {
                    e.critical = true;
                    events.push(SlowEvent::Critical {
                        info: e.info.clone(),
                    });
                }
                continue;
            }
            if !matches!(class, RowClass::Slow | RowClass::Critical) {
                continue;
            }
            let info = InstanceInfo {
                pid: s.pid,
                query_start: qs,
                backend_start: s.backend_start,
                datname: s.datname.clone(),
                usename: s.usename.clone(),
                application_name: s.application_name.clone(),
                client_addr: s.client_addr.clone(),
                query: s.query.clone(),
                duration: d,
            };
            let critical = class == RowClass::Critical;
            events.push(SlowEvent::Crossed {
                info: info.clone(),
                critical,
            });
            self.reported.insert(
                key,
                Entry {
                    info,
                    critical,
                    seen_in: self.round,
                },
            );
        }
        let round = self.round;
        let gone: Vec<InstanceKey> = self
            .reported
            .iter()
            .filter(|(_, e)| e.seen_in != round)
            .map(|(k, _)| *k)
            .collect();
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
    use crate::pg::activity::SessionState;

    #[test]
    fn once_per_instance_then_resolved_and_evicted() {
        let t0 = Utc::now();
        let th = Thresholds {
            slow: Duration::from_secs(5),
            critical: Duration::from_secs(20),
            idle_in_transaction: Duration::from_secs(5),
        };
        let mut s = Session::for_test(7, SessionState::Active, "select pg_sleep(100)");
        s.query_start = Some(t0);
        let mut tr = SlowTracker::new();
        assert!(tr
            .update(t0 + chrono::Duration::seconds(1), &[s.clone()], &th)
            .is_empty());
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
}

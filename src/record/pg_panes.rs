//! pgtop's seldom-read panes in a recording: the `pg_stat_statements` top
//! ([`Kind::PgStatements`]) and the `pg_wait_sampling` profile ([`Kind::PgWaitSampling`]),
//! which every [`PgSnapshot`] carries as a shared `Arc` but its own record does not serialize.
//!
//! Writing ([`PaneTracker`]): a pane is recorded when its `Arc` is not the one recorded last
//! (pointer inequality: the collector makes a new one per reading, every 10 s and 5 s by
//! default), as a self-contained record (`keyframe`) just before the snapshot that brought it,
//! and once more before a pgtop keyframe when it was not recorded since the keyframe before
//! (so the pane record a reader needs is never more than two keyframes back). Statement texts
//! pass through [`crate::mask::text`] (a password clause of a utility statement never reaches
//! the file; display redacts literals anyway).
//!
//! Reading ([`super::pg_panes_latest::Latest`]): the decoder gives these records as JSON; [`Latest::pass`] keeps the
//! latest of each and puts them on every pgtop snapshot decoded after them, so a snapshot
//! carries exactly the panes the live one carried. A reader of the same format that does not
//! know these kinds skips them as undecodable (counted), showing the panes empty as before.

use std::sync::Arc;

use crate::pg::activity::PgSnapshot;
use crate::pg::statements::StatementsTop;
use crate::pg::wait_sampling::WaitProfile;

/// Which pane a record holds (`codec::Kind::PgStatements`, `codec::Kind::PgWaitSampling`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Statements,
    WaitSampling,
}

/// The encoder's memory of what it recorded last.
#[derive(Debug, Default)]
pub struct PaneTracker {
    statements: Slot<StatementsTop>,
    wait_sampling: Slot<WaitProfile>,
}

#[derive(Debug)]
struct Slot<T> {
    last: Option<Arc<T>>,
    /// recorded since the last pgtop keyframe
    since_key: bool,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            last: None,
            since_key: false,
        }
    }
}

impl<T> Slot<T> {
    /// Whether `now` is to be recorded with a snapshot (`keyframe`: its record is one).
    fn due(&mut self, now: &Option<Arc<T>>, keyframe: bool) -> Option<Arc<T>> {
        let now = now.as_ref()?;
        let changed = self.last.as_ref().is_none_or(|l| !Arc::ptr_eq(l, now));
        let stale = keyframe && !self.since_key;
        if keyframe {
            self.since_key = false;
        }
        if !(changed || stale) {
            return None;
        }
        self.last = Some(Arc::clone(now));
        // a record written just before a keyframe belongs to the interval it closes
        self.since_key = !keyframe;
        Some(Arc::clone(now))
    }
}

impl PaneTracker {
    /// The pane records (kind, JSON) to write before the record of `snap`, in order.
    pub fn due(
        &mut self,
        snap: &PgSnapshot,
        keyframe: bool,
    ) -> Result<Vec<(Pane, Vec<u8>)>, String> {
        let mut out = Vec::new();
        if let Some(top) = self.statements.due(&snap.statements, keyframe) {
            let mut top = (*top).clone();
            for r in &mut top.rows {
                r.query = crate::mask::text(&r.query);
            }
            out.push((Pane::Statements, json(&top)?));
        }
        if let Some(p) = self.wait_sampling.due(&snap.wait_sampling, keyframe) {
            out.push((Pane::WaitSampling, json(&*p)?));
        }
        Ok(out)
    }

    /// Forgets what was recorded (records were lost): the next snapshot records the panes again.
    pub fn reset(&mut self) {
        *self = PaneTracker::default();
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(v).map_err(|e| format!("cannot encode a record: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Payload, Update};
    use crate::pg::activity::ConnState;
    use crate::pg::statements::StatementDelta;
    use crate::record::codec::Encoder;
    use crate::record::codec::Kind;
    use crate::record::decode::Decoded;
    use crate::record::decode::Decoder;
    use crate::record::pg_panes_latest::Latest;
    use crate::wire::ViewKind;
    use chrono::{TimeZone, Utc};
    use std::time::Duration;

    fn top(query: &str) -> Arc<StatementsTop> {
        let t = Utc.with_ymd_and_hms(2026, 12, 4, 3, 0, 0).unwrap();
        Arc::new(StatementsTop {
            since: t,
            taken_at: t + chrono::Duration::seconds(10),
            rows: vec![StatementDelta {
                key: (10, 5, -77),
                user: Some("app".into()),
                database: Some("shop".into()),
                calls: 3,
                total_ms: 1250.5,
                query: query.into(),
            }],
        })
    }

    fn snap(seq: u64, st: &Arc<StatementsTop>) -> Update {
        let mut s = PgSnapshot::status_only(seq, ConnState::Connecting, Duration::from_secs(1));
        s.statements = Some(Arc::clone(st));
        Update {
            view: ViewKind::ALL[0],
            payload: Payload::Pg(Arc::new(s)),
        }
    }

    fn kinds(enc: &mut Encoder, u: Update) -> Vec<Kind> {
        enc.encode_all(u).unwrap().iter().map(|e| e.kind).collect()
    }

    #[test]
    fn an_unchanged_pane_is_recorded_once_and_again_before_a_stale_keyframe() {
        let mut enc = Encoder::new().unwrap().with_keyframe_every(4);
        let a = top("SELECT 1");
        // first snapshot (a keyframe): the pane, then the snapshot
        assert_eq!(
            kinds(&mut enc, snap(1, &a)),
            [Kind::PgStatements, Kind::PgSnapshot]
        );
        // the same Arc: not again (a clone of it with equal content would be a new reading)
        for seq in 2..=4 {
            assert_eq!(kinds(&mut enc, snap(seq, &a)), [Kind::PgSnapshot]);
        }
        // keyframe 2, nothing recorded since keyframe 1 (the record before a keyframe counts
        // for the interval it closes): again, before it
        assert_eq!(
            kinds(&mut enc, snap(5, &a)),
            [Kind::PgStatements, Kind::PgSnapshot]
        );
        // a new reading: recorded at once
        let b = top("SELECT 2");
        assert_eq!(
            kinds(&mut enc, snap(6, &b)),
            [Kind::PgStatements, Kind::PgSnapshot]
        );
        for seq in 7..=8 {
            assert_eq!(kinds(&mut enc, snap(seq, &b)), [Kind::PgSnapshot]);
        }
        // keyframe 3: recorded since keyframe 2, not again; keyframe 4: again
        for seq in 9..=12 {
            assert_eq!(kinds(&mut enc, snap(seq, &b)), [Kind::PgSnapshot]);
        }
        assert_eq!(
            kinds(&mut enc, snap(13, &b)),
            [Kind::PgStatements, Kind::PgSnapshot]
        );
        // lost records: recorded again
        enc.reset();
        assert_eq!(
            kinds(&mut enc, snap(12, &b)),
            [Kind::PgStatements, Kind::PgSnapshot]
        );
    }

    #[test]
    fn panes_come_back_on_the_snapshots_after_them_with_texts_masked() {
        let mut enc = Encoder::new().unwrap();
        let a = top("SELECT dblink_connect('postgresql://app:hunter2@db/shop')");
        let mut dec = Decoder::default();
        let mut latest = Latest::default();
        let mut got = Vec::new();
        for e in enc.encode_all(snap(1, &a)).unwrap() {
            assert!(
                !String::from_utf8_lossy(&zstd::decode_all(&e.data[..]).unwrap())
                    .contains("hunter2")
            );
            let d = dec.decode(e.kind.name(), e.keyframe, &e.data).unwrap();
            got.push(latest.pass(e.kind.name(), d));
        }
        let Some(Decoded::Pg(s)) = got.pop() else {
            panic!("the snapshot last")
        };
        let back = s.statements.expect("the statements on the snapshot");
        assert_eq!(back.rows.len(), 1);
        assert!(
            !back.rows[0].query.contains("hunter2"),
            "{}",
            back.rows[0].query
        );
        let mut want = (*a).clone();
        want.rows[0].query = back.rows[0].query.clone();
        assert_eq!(*back, want);
        assert!(s.wait_sampling.is_none());
    }
}

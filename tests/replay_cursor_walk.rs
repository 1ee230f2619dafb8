//! The replay cursor decodes pgtop snapshots only when it shows them (from a decoder state it
//! kept a few records before), reads the window before its own a few records per step back,
//! and frees what it left behind a little at a time. Whatever the way it reaches a refresh —
//! opened there, stepped back to it across many keyframe intervals, stepped or played forward,
//! jumped to — it hands over exactly the snapshot that was recorded, with the panes read
//! before it, and holds a bounded number of records. No server: a recording written by the
//! encoder (keyframe every 20 refreshes, so a walk crosses many windows).

#[path = "support/pg_fixture.rs"]
mod pg_fixture;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{PgSnapshot, Session};
use stacktop::pg::statements::{StatementDelta, StatementsTop};
use stacktop::record::codec::Encoder;
use stacktop::record::store::{Reader, Store};
use stacktop::replay::cursor::Cursor;
use stacktop::wire::ViewKind;

const T0: i64 = 1_796_000_000_000;
const REFRESHES: i64 = 600;

fn at(i: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(T0 + i * 1000).unwrap()
}

/// The statements top read at refresh `i` (one every 50 refreshes).
fn top(i: i64) -> Arc<StatementsTop> {
    Arc::new(StatementsTop {
        since: at(0),
        taken_at: at(i),
        rows: vec![StatementDelta {
            key: (1, 2, i),
            user: Some("app".into()),
            database: Some("shop".into()),
            calls: i,
            total_ms: 1.5,
            query: format!("SELECT top {i}"),
        }],
    })
}

/// Refresh `i`: 40 sessions; each refresh a few start a new statement, one leaves and one
/// arrives (so every delta changes, adds and removes sessions).
fn refreshes() -> Vec<PgSnapshot> {
    let mut sessions: Vec<Session> = (0..40)
        .map(|p| pg_fixture::active(1000 + p, "app", "SELECT 1", 1))
        .collect();
    let mut next_pid = 2000;
    let mut out = Vec::new();
    for i in 0..REFRESHES {
        for (k, s) in sessions.iter_mut().enumerate() {
            if (k as i64 + i) % 7 == 0 {
                s.query = format!("UPDATE t{k} SET n = {i}");
                s.query_start = Some(at(i));
            }
        }
        if i > 0 {
            sessions.remove((i as usize * 13) % sessions.len());
            sessions.push(pg_fixture::active(next_pid, "batch", "COPY x", 0));
            next_pid += 1;
        }
        let mut s = pg_fixture::snapshot_at(i as u64, at(0), at(i), sessions.clone());
        s.statements = Some(top(i - i % 50));
        out.push(s);
    }
    out
}

fn recording(dir: &std::path::Path, snaps: &[PgSnapshot]) -> std::path::PathBuf {
    let path = dir.join("walk.sqlite");
    let mut store = Store::create(&path).unwrap();
    let mut enc = Encoder::new().unwrap().with_keyframe_every(20);
    for (i, s) in snaps.iter().enumerate() {
        let u = Update {
            view: ViewKind::Pgtop,
            payload: Payload::Pg(Arc::new(s.clone())),
        };
        for e in enc.encode_all(u).unwrap() {
            store
                .insert(
                    T0 + i as i64 * 1000,
                    e.view,
                    e.kind.name(),
                    e.keyframe,
                    &e.data,
                )
                .unwrap();
        }
    }
    store.commit().unwrap();
    path
}

/// The pgtop snapshots among `us`.
fn pg_of(us: &[Update]) -> Vec<Arc<PgSnapshot>> {
    us.iter()
        .filter_map(|u| match &u.payload {
            Payload::Pg(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Asserts `got` is the recorded refresh it says it is (sessions, header, panes).
fn same(got: &PgSnapshot, snaps: &[PgSnapshot], how: &str) {
    let want = &snaps[got.seq as usize];
    // (not assert_eq: 40 sessions printed twice would bury the message)
    assert!(
        got.sessions == want.sessions,
        "{how}: the sessions of refresh {} are not the recorded ones",
        got.seq
    );
    assert_eq!(got.header, want.header, "{how}: header of {}", got.seq);
    let q = |s: &PgSnapshot| s.statements.as_ref().map(|t| t.rows[0].query.clone());
    assert_eq!(q(got), q(want), "{how}: panes of {}", got.seq);
}

/// The one snapshot a move that hands over the state gave, checked; its refresh.
fn state_is(us: &[Update], snaps: &[PgSnapshot], how: &str) -> i64 {
    let pg = pg_of(us);
    assert_eq!(pg.len(), 1, "{how}: one pgtop snapshot in the state");
    same(&pg[0], snaps, how);
    pg[0].seq as i64
}

#[test]
fn every_way_to_a_refresh_hands_over_the_recorded_snapshot_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let snaps = refreshes();
    let path = recording(dir.path(), &snaps);
    let mut c = Cursor::open(Reader::open(&path).unwrap(), "walk").unwrap();
    assert_eq!(state_is(&c.state(), &snaps, "opened"), 0);

    // from the end, back to the start one refresh at a time: 30 keyframe intervals, each
    // window before read a little per step
    let end = c.goto(c.last_ms).unwrap();
    assert_eq!(state_is(&end, &snaps, "goto end"), REFRESHES - 1);
    let mut most = 0;
    for want in (0..REFRESHES - 1).rev() {
        let us = c
            .step(ViewKind::Pgtop, -1)
            .unwrap()
            .expect("a refresh before");
        assert_eq!(state_is(&us, &snaps, "step back"), want);
        most = most.max(c.held());
    }
    assert!(c.step(ViewKind::Pgtop, -1).unwrap().is_err(), "the start");
    // the window before read whole (a minute of look-back: 60 records or more), the cursor's
    // interval, two after it, and the next window before being read: well under the 600
    // records walked (without the trimming behind the cursor: all of them)
    assert!(most <= 250, "held {most} records stepping back");

    // forward one refresh at a time: every snapshot handed over, in order
    for want in 1..REFRESHES {
        let us = c
            .step(ViewKind::Pgtop, 1)
            .unwrap()
            .expect("a refresh after");
        let pg = pg_of(&us);
        assert_eq!(pg.len(), 1);
        assert_eq!(pg[0].seq as i64, want);
        same(&pg[0], &snaps, "step forward");
        most = most.max(c.held());
    }
    assert!(most <= 250, "held {most} records stepping forward");

    // jumps anywhere, then playing on: every refresh passed, in order, as recorded
    for (jump, play) in [(33, 7), (590, 4), (3, 45), (271, 29), (150, 1), (19, 21)] {
        let us = c.goto(T0 + jump * 1000).unwrap();
        assert_eq!(state_is(&us, &snaps, "goto"), jump);
        let (us, _) = c.advance_to(T0 + (jump + play) * 1000).unwrap();
        let seqs: Vec<i64> = pg_of(&us).iter().map(|s| s.seq as i64).collect();
        let want: Vec<i64> = (jump + 1..=(jump + play).min(REFRESHES - 1)).collect();
        assert_eq!(seqs, want, "played from {jump}");
        for s in pg_of(&us) {
            same(&s, &snaps, "played");
        }
        // and back a few from there
        for k in 1..=3 {
            let us = c
                .step(ViewKind::Pgtop, -1)
                .unwrap()
                .expect("a refresh before");
            let now = (jump + play).min(REFRESHES - 1) - k;
            assert_eq!(state_is(&us, &snaps, "back after play"), now);
        }
    }
    assert_eq!(c.skipped, 0, "every record decodes");
}

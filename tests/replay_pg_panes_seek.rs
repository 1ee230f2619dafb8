//! A jump of the replay cursor far from where it was (a rebuilt window) finds the pgtop panes
//! recorded long before the time asked for: a `pg_stat_statements` top read once, further back
//! than the pgtop keyframe and the cursor's minute of look-back, is still on the snapshot the
//! jump hands over — and one recorded after that time never is. No server: a recording written
//! by the encoder.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{ConnState, PgSnapshot};
use stacktop::pg::statements::{StatementDelta, StatementsTop};
use stacktop::record::codec::Encoder;
use stacktop::record::store::{Reader, Store};
use stacktop::replay::cursor::Cursor;
use stacktop::wire::ViewKind;

const T0: i64 = 1_796_000_000_000;

fn top(i: i64) -> Arc<StatementsTop> {
    let t = Utc.timestamp_millis_opt(T0 + i * 1000).unwrap();
    Arc::new(StatementsTop {
        since: t,
        taken_at: t,
        rows: vec![StatementDelta {
            key: (1, 2, i),
            user: Some("app".into()),
            database: Some("shop".into()),
            calls: i,
            total_ms: 2.5,
            query: format!("SELECT {i}"),
        }],
    })
}

/// The statements top on the pgtop snapshot of a jump to refresh `i`.
fn after_goto(c: &mut Cursor, i: i64) -> Option<String> {
    let us = c.goto(T0 + i * 1000).unwrap();
    let snaps: Vec<_> = us
        .iter()
        .filter_map(|u| match &u.payload {
            Payload::Pg(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(snaps.len(), 1, "one pgtop snapshot handed over");
    assert_eq!(snaps[0].seq, i as u64);
    snaps[0]
        .statements
        .as_ref()
        .map(|t| t.rows[0].query.clone())
}

#[test]
fn a_jump_finds_the_statements_read_long_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seek.sqlite");
    let mut store = Store::create(&path).unwrap();
    // keyframes at refreshes 0, 100, 200, 300; one refresh a second
    let mut enc = Encoder::new().unwrap().with_keyframe_every(100);
    let (a, b) = (top(0), top(105));
    for i in 0..320i64 {
        let mut s = PgSnapshot::status_only(
            i as u64,
            ConnState::Connected {
                since: Utc.timestamp_millis_opt(T0).unwrap(),
            },
            Duration::from_secs(1),
        );
        s.taken_at = Utc.timestamp_millis_opt(T0 + i * 1000).unwrap().into();
        // a reading at 0, another at 105, then none (the collector keeps the last one)
        s.statements = Some(if i < 105 { a.clone() } else { b.clone() });
        let u = Update {
            view: ViewKind::ALL[0],
            payload: Payload::Pg(Arc::new(s)),
        };
        for e in enc.encode_all(u).unwrap() {
            store
                .insert(T0 + i * 1000, e.view, e.kind.name(), e.keyframe, &e.data)
                .unwrap();
        }
    }
    store.commit().unwrap();
    drop(store);
    let mut c = Cursor::open(Reader::open(&path).unwrap(), "seek").unwrap();
    // 105 was recorded in the interval it closes: not again before keyframe 200; at 300 again
    assert_eq!(after_goto(&mut c, 290).as_deref(), Some("SELECT 105"));
    assert_eq!(after_goto(&mut c, 104).as_deref(), Some("SELECT 0"));
    assert_eq!(after_goto(&mut c, 210).as_deref(), Some("SELECT 105"));
    assert_eq!(after_goto(&mut c, 319).as_deref(), Some("SELECT 105"));
    assert_eq!(after_goto(&mut c, 0).as_deref(), Some("SELECT 0"));
    // the pgtop deltas read between a pane record and the keyframe after it cannot be decoded
    // without their keyframe (before the window): not shown, and not counted as damaged
    assert_eq!(c.skipped, 0);
}

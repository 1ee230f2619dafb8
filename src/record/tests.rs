//! The codec round trip (deltas, order, keyframes), the store's seek, and the writer under a
//! stalled and a full disk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec::{Decoded, Decoder, Encoder, KEYFRAME_EVERY};
use super::store::Reader;
use super::writer::{Recorder, RecorderOptions};
use crate::messages::{Payload, Update};
use crate::pg::activity::{ConnState, PgSnapshot, Session, SessionState};
use crate::wire::SourceHealth;
use crate::wire::ViewKind;

fn snap(seq: u64, sessions: Vec<Session>) -> PgSnapshot {
    let mut s = PgSnapshot::status_only(
        seq,
        ConnState::Connected {
            since: chrono::Utc::now(),
        },
        Duration::from_secs(1),
    );
    s.sessions = sessions;
    s
}

fn pg(s: PgSnapshot) -> Update {
    Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(Box::new(s)),
    }
}

fn sessions(n: i32, gen: u64) -> Vec<Session> {
    (0..n)
        .map(|i| {
            let mut s = Session::for_test(100 + i, SessionState::Active, "SELECT pg_sleep(600)");
            s.backend_start = chrono::DateTime::from_timestamp(1_780_000_000, 0);
            if i % 10 == (gen % 10) as i32 {
                s.query = format!("SELECT {gen}");
            }
            s
        })
        .collect()
}

#[test]
fn deltas_decode_to_the_recorded_snapshots() {
    let mut enc = Encoder::new().unwrap();
    let mut dec = Decoder::default();
    let mut keyframes = 0;
    for gen in 0..(2 * KEYFRAME_EVERY as u64 + 5) {
        let mut ss = sessions(50, gen);
        // pids come and go, and the order changes now and then
        ss.retain(|s| s.pid != 100 + (gen % 7) as i32);
        if gen % 5 == 0 {
            ss.reverse();
        }
        if gen % 3 == 0 {
            let mut s = Session::for_test(9000 + gen as i32, SessionState::Idle, "new");
            s.backend_start = None;
            ss.push(s);
        }
        let want = snap(gen, ss.clone());
        let e = enc.encode(pg(want.clone())).unwrap().unwrap();
        keyframes += usize::from(e.keyframe);
        let Decoded::Pg(got) = dec.decode(e.kind.name(), e.keyframe, &e.data).unwrap() else {
            panic!("not a pg record");
        };
        assert_eq!(got.sessions, want.sessions, "generation {gen}");
        assert_eq!(got.seq, want.seq);
        assert_eq!(got.status, want.status);
        if !e.keyframe {
            assert!(
                e.raw_len < 50 * 300,
                "a delta of a few sessions: {}",
                e.raw_len
            );
        }
    }
    assert_eq!(keyframes, 3, "the first and one every {KEYFRAME_EVERY}");
    // a delta without its keyframe is refused, not misdecoded
    let e = enc.encode(pg(snap(999, sessions(50, 1)))).unwrap().unwrap();
    assert!(!e.keyframe);
    assert!(Decoder::default()
        .decode(e.kind.name(), e.keyframe, &e.data)
        .is_err());
}

#[test]
fn secrets_in_errors_are_masked_before_writing() {
    let mut enc = Encoder::new().unwrap();
    let h = SourceHealth::Reconnecting {
        since: chrono::Local::now(),
        error: "cannot connect to postgres://app:hunter2@db/x".into(),
        next_try: None,
    };
    let e = enc
        .encode(Update {
            view: ViewKind::Pgtop,
            payload: Payload::Health(h),
        })
        .unwrap()
        .unwrap();
    let json = zstd::decode_all(&e.data[..]).unwrap();
    let text = String::from_utf8(json).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("disconnected"), "{text}");
}

#[test]
fn replayed_updates_are_what_the_live_app_got() {
    let mut enc = Encoder::new().unwrap();
    let mut dec = Decoder::default();
    let mut round = |u: Update| {
        let e = enc.encode(u).unwrap().unwrap();
        dec.decode(e.kind.name(), e.keyframe, &e.data)
            .unwrap()
            .into_updates(ViewKind::Pgtop)
    };
    // a notice comes back as the notice (masked)
    let got = round(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Notice {
            level: crate::wire::Level::Warn,
            text: "slack: postgres://app:hunter2@db refused".into(),
        },
    });
    let [Update {
        payload: Payload::Notice { level, text },
        ..
    }] = &got[..]
    else {
        panic!("{got:?}");
    };
    assert_eq!(*level, crate::wire::Level::Warn);
    assert!(
        text.contains("refused") && !text.contains("hunter2"),
        "{text}"
    );
    // a pgtop snapshot is followed by the health the source sent with it
    let s = snap(1, sessions(3, 0));
    let want = crate::pg::source::health(&s.status, s.taken_at.into());
    let got = round(pg(s));
    assert!(matches!(got[0].payload, Payload::Pg(_)), "{got:?}");
    assert!(
        matches!(&got[1].payload, Payload::Health(h) if *h == want),
        "{got:?}"
    );
    assert_eq!(got.len(), 2);
}

/// Now, in ms: records far in the past would be deleted by retention.
fn base() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn opts(dir: &std::path::Path) -> RecorderOptions {
    let mut o = RecorderOptions::new(dir.join("rec.sqlite"), &super::RecordConfig::default());
    o.commit_every = Duration::from_millis(50);
    o
}

#[test]
fn a_stalled_writer_drops_with_a_counter_and_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let stall = Arc::new(AtomicBool::new(true));
    let mut o = opts(dir.path());
    o.stall = Some(stall.clone());
    let rec = Recorder::start(o).unwrap();
    let n = 3 * super::writer::CHANNEL as u64;
    let t = base();
    let t0 = Instant::now();
    for i in 0..n {
        rec.offer(t + i as i64, pg(snap(i, sessions(20, i))));
    }
    // 192 offers against a writer that does nothing: no offer waited for it
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    let stats = rec.stats();
    let dropped = stats.dropped.load(Ordering::Relaxed);
    assert!(
        dropped >= n - super::writer::CHANNEL as u64 - 1,
        "{dropped}"
    );
    stall.store(false, Ordering::SeqCst);
    let stats = rec.finish();
    let written = stats.written.load(Ordering::Relaxed);
    // what was queued was written, plus one record saying how many were dropped
    assert_eq!(written + dropped, n + 1, "{}", stats.summary());
    let r = Reader::open(&dir.path().join("rec.sqlite")).unwrap();
    assert_eq!(r.count().unwrap() as u64, written);
    let rows = r.batch(0, i64::MAX, 10_000).unwrap();
    let mut dec = Decoder::default();
    let drops: Vec<_> = rows.iter().filter(|r| r.kind == "recorder").collect();
    assert_eq!(drops.len(), 1);
    let d = drops[0];
    let Decoded::Json(v) = dec.decode(&d.kind, d.keyframe, &d.data).unwrap() else {
        panic!()
    };
    assert_eq!(v["dropped_total"], serde_json::json!(dropped));
}

#[test]
fn a_full_disk_loses_records_with_a_counter_and_the_file_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.max_pages = Some(20); // 80 kB at 4 kB pages
    let rec = Recorder::start(o).unwrap();
    let (t, t0) = (base(), Instant::now());
    for i in 0..400u64 {
        rec.offer(t + i as i64, pg(snap(i, sessions(200, i))));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(t0.elapsed() < Duration::from_secs(5));
    let stats = rec.finish();
    let lost = stats.lost.load(Ordering::Relaxed);
    let written = stats.written.load(Ordering::Relaxed);
    assert!(lost > 0, "{}", stats.summary());
    assert!(written > 0, "{}", stats.summary());
    let err = stats.last_error.lock().unwrap().clone().unwrap_or_default();
    assert!(err.contains("full"), "{err}");
    // every record kept decodes (a lost batch restarts the deltas with a keyframe)
    let r = Reader::open(&dir.path().join("rec.sqlite")).unwrap();
    let rows = r.batch(0, i64::MAX, 100_000).unwrap();
    assert_eq!(rows.len() as u64, written);
    let mut dec = Decoder::default();
    for row in rows {
        dec.decode(&row.kind, row.keyframe, &row.data)
            .unwrap_or_else(|e| panic!("record {}: {e}", row.id));
    }
}

#[test]
fn the_file_is_private_and_seeks_from_the_keyframe_before() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::start(opts(dir.path())).unwrap();
    let t = base();
    for i in 0..150u64 {
        rec.offer(t + 1_000 * i as i64, pg(snap(i, sessions(10, i))));
    }
    rec.finish();
    let path = dir.path().join("rec.sqlite");
    for f in ["rec.sqlite", "rec.sqlite-wal", "rec.sqlite-shm"] {
        let p = dir.path().join(f);
        if p.exists() {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    let r = Reader::open(&path).unwrap();
    // at 100 s the last keyframe is record 60 (t = 60 s)
    let start = r.start_id(t + 100_000, &["pg_snapshot"]).unwrap().unwrap();
    let row = &r.batch(start, i64::MAX, 1).unwrap()[0];
    assert!(row.keyframe);
    assert_eq!(row.ts_ms, t + 60_000);
    assert_eq!(r.next_after(row.id).unwrap().unwrap().ts_ms, t + 61_000);
}

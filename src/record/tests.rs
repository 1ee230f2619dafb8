//! The codec round trip (deltas, order, keyframes), the store's seek, and the writer under a
//! stalled and a full disk.
//! Why this file is long: unit tests only (`#[cfg(test)]`), one scenario per function.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::store::Reader;
use super::writer::{Recorder, RecorderOptions};
use super::{
    codec::{Encoder, KEYFRAME_EVERY},
    decode::{Decoded, Decoder},
};
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
        payload: Payload::Pg(s.into()),
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

/// A small xorshift generator: the property tests are reproducible from their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
    fn maybe<T>(&mut self, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
        if self.next(3) == 0 {
            return None;
        }
        Some(f(self))
    }
    fn time(
        &mut self,
        base: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        match self.next(8) {
            0 => None,
            // far from the snapshot's time: stored as the time itself
            1 => chrono::DateTime::from_timestamp(-11_000_000_000 + self.next(1000) as i64, 7),
            _ => Some(base - chrono::Duration::nanoseconds(self.next(10_000_000_000_000) as i64)),
        }
    }
}

/// Changes some fields of `s` at random (each field on its own, so every field is seen
/// changing alone and with others).
fn mutate(r: &mut Rng, s: &mut Session, base: chrono::DateTime<chrono::Utc>) {
    use crate::pg::locks::LockWait;
    for _ in 0..=r.next(3) {
        match r.next(19) {
            0 => s.datname = r.maybe(|r| format!("db{}", r.next(3))),
            1 => s.usename = r.maybe(|r| format!("u{}", r.next(3))),
            2 => s.client_addr = r.maybe(|r| format!("10.0.0.{}", r.next(3))),
            3 => s.client_port = r.maybe(|r| r.next(70_000) as i32 - 1),
            4 => {
                s.application_name = ["", "psql", "api \"x\" \u{1F600}"][r.next(3) as usize].into()
            }
            5 => s.backend_type = r.maybe(|_| "autovacuum worker".into()),
            6 => {
                s.state = [
                    SessionState::Active,
                    SessionState::Idle,
                    SessionState::IdleInTransaction,
                    SessionState::Other("weird".into()),
                    SessionState::Unknown,
                ][r.next(5) as usize]
                    .clone()
            }
            7 => s.wait_event_type = r.maybe(|_| "Lock".into()),
            8 => s.wait_event = r.maybe(|r| ["relation", "ClientRead"][r.next(2) as usize].into()),
            9 => s.backend_start = r.time(base),
            10 => s.xact_start = r.time(base),
            11 => s.query_start = r.time(base),
            12 => s.state_change = r.time(base),
            13 => s.query = format!("SELECT {} -- ' \" \\ \n", r.next(4)),
            14 => s.visible = !s.visible,
            15 => s.leader_pid = r.maybe(|r| r.next(5) as i32),
            16 => s.query_id = r.maybe(|r| r.next(u64::MAX) as i64),
            17 => s.blocking_pids = (0..r.next(3)).map(|i| i as i32 + 1).collect(),
            _ => {
                s.lock = r.maybe(|r| LockWait {
                    mode: "ShareLock".into(),
                    locktype: "transactionid".into(),
                    relation: r.maybe(|_| "public.t".into()),
                    object: r.maybe(|_| "123".into()),
                    since: r.time(base),
                })
            }
        }
    }
}

/// The first difference, readably.
fn same_sessions(got: &[Session], want: &[Session], what: &str) {
    let pids = |v: &[Session]| v.iter().map(|s| s.pid).collect::<Vec<_>>();
    assert_eq!(pids(got), pids(want), "{what}: pids");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{what}: pid {}", w.pid);
    }
}

/// Everything recorded of a snapshot (`statements` is not), as comparable JSON.
fn recorded(s: &PgSnapshot) -> serde_json::Value {
    serde_json::to_value(s).unwrap()
}

#[test]
fn field_deltas_decode_equal_over_random_changes() {
    for seed in [1u64, 0xDEAD_BEEF, 42_4242] {
        let mut r = Rng(seed);
        let mut enc = Encoder::new().unwrap();
        // one decoder reads every record; one skips most (as seeking does); one seeks back
        let (mut all, mut skipping) = (Decoder::default(), Decoder::default());
        let mut ss: Vec<Session> = (0..30)
            .map(|i| Session::for_test(100 + i, SessionState::Active, "SELECT 1"))
            .collect();
        let mut next_pid = 1000;
        let mut records = Vec::new();
        for gen in 0..(3 * KEYFRAME_EVERY as u64) {
            let mut want = snap(gen, Vec::new());
            want.server_now += chrono::Duration::nanoseconds(r.next(1 << 40) as i64);
            let base = want.server_now;
            for _ in 0..r.next(8) {
                let i = r.next(ss.len() as u64) as usize;
                if let Some(s) = ss.get_mut(i) {
                    mutate(&mut r, s, base);
                }
            }
            match r.next(10) {
                0 if !ss.is_empty() => {
                    ss.remove(r.next(ss.len() as u64) as usize);
                }
                1 => {
                    next_pid += 1 + r.next(3) as i32;
                    let mut s = Session::for_test(next_pid, SessionState::Idle, "new");
                    mutate(&mut r, &mut s, base);
                    let at = r.next(ss.len() as u64 + 1) as usize;
                    ss.insert(at, s);
                }
                2 => ss.reverse(),
                // a pid listed twice: stored as a keyframe
                3 if gen % 17 == 0 && !ss.is_empty() => ss.push(ss[0].clone()),
                4 => {
                    let first = ss.first().map_or(0, |f| f.pid);
                    ss.retain(|s| s.pid != first);
                }
                _ => {}
            }
            want.sessions = ss.clone();
            want.slow_count = r.next(5) as usize;
            want.notices = (0..r.next(2)).map(|i| format!("notice {i}")).collect();
            let e = enc.encode(pg(want.clone())).unwrap().unwrap();
            let Decoded::Pg(got) = all.decode(e.kind.name(), e.keyframe, &e.data).unwrap() else {
                panic!("not a pg record");
            };
            same_sessions(
                &got.sessions,
                &want.sessions,
                &format!("seed {seed} generation {gen}"),
            );
            assert_eq!(
                recorded(&got),
                recorded(&want),
                "seed {seed} generation {gen}"
            );
            if gen % 7 == 6 {
                let Decoded::Pg(got) = skipping.decode(e.kind.name(), e.keyframe, &e.data).unwrap()
                else {
                    panic!("not a pg record");
                };
                assert_eq!(
                    recorded(&got),
                    recorded(&want),
                    "seed {seed} skipping at {gen}"
                );
            } else {
                skipping.skip(e.kind.name(), e.keyframe, &e.data).unwrap();
            }
            // duplicate pids are dropped from the list above after their keyframe
            if ss.len() > 1 && ss[0].pid == ss[ss.len() - 1].pid {
                ss.pop();
            }
            records.push((e, want));
        }
        // seek back: decode again from each keyframe (the decoder's cached keyframe on the
        // second pass) and get the same snapshots
        for pass in 0..2 {
            let mut k = 0;
            for (i, (e, want)) in records.iter().enumerate() {
                if e.keyframe {
                    k = i;
                }
                if i % 11 != 5 {
                    continue;
                }
                for (e, _) in &records[k..i] {
                    all.skip(e.kind.name(), e.keyframe, &e.data).unwrap();
                }
                let Decoded::Pg(got) = all.decode(e.kind.name(), e.keyframe, &e.data).unwrap()
                else {
                    panic!("not a pg record");
                };
                assert_eq!(
                    recorded(&got),
                    recorded(want),
                    "seed {seed} seek {i} pass {pass}"
                );
            }
        }
    }
}

#[test]
fn a_delta_stores_only_the_fields_that_changed() {
    let prev: Vec<Session> = (0..20)
        .map(|i| {
            Session::for_test(
                100 + i,
                SessionState::Active,
                "SELECT a_long_statement_text",
            )
        })
        .collect();
    let mut now = prev.clone();
    now[3].state = SessionState::Idle;
    now[5].query_start = Some(chrono::Utc::now());
    let shell = super::pgframe::shell(&snap(1, Vec::new()));
    let f = super::pgframe::delta(shell, &prev, &now);
    let json = serde_json::to_string(&f.sessions).unwrap();
    assert_eq!(f.sessions.len(), 2, "{json}");
    assert!(json.contains(r#"{"p":103,"st":"idle"}"#), "{json}");
    assert!(json.contains(r#""p":105,"qs":"#), "{json}");
    assert!(!json.contains("a_long_statement_text"), "{json}");
    assert!(f.gone.is_empty() && f.order.is_none());
}

#[test]
fn a_recording_of_an_older_format_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    drop(super::store::Store::create(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE meta SET value = 'stacktop-recording 1' WHERE key = 'format'",
        [],
    )
    .unwrap();
    drop(conn);
    let Err(e) = Reader::open(&path) else {
        panic!("an old recording opened");
    };
    assert!(e.contains("made by an older stacktop"), "{e}");
    assert!(e.contains("old.sqlite"), "{e}");
    let Err(e) = super::store::Store::create(&path) else {
        panic!("an old recording was appended to");
    };
    assert!(e.contains("made by an older stacktop"), "{e}");
}

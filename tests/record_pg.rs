//! The flight recorder's PostgreSQL store (issue 15, "Stores") against servers started here:
//! a live run recorded to a file and the same records in PostgreSQL replay to identical batch
//! JSON; a live run recording straight to `postgres://…` replays its sessions, `--list` shows
//! the recordings; a server that goes away mid-recording costs counted lost records and a
//! reconnect, never a stalled offer; retention by age and size on the server; the password of
//! the target never appears in any output.

mod support;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use stacktop::messages::{Payload, Update};
use stacktop::record::pg_store::{bare_env, PgReader, PgStore};
use stacktop::record::store::Reader;
use stacktop::record::store::SqliteReader;
use stacktop::record::writer::{Recorder, RecorderOptions};
use stacktop::wire::{Level, ViewKind};
use support::pg::{Pg, PgOpts};

const SLEEP: &str = "SELECT pg_sleep(600)";

fn stacktop(home: &Path) -> std::process::Command {
    support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), home)
}

fn url(pg: &Pg) -> String {
    format!(
        "postgres://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable&connect_timeout=3",
        pg.password(),
        pg.port
    )
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(home: &Path, args: &[&str]) -> Out {
    let o = stacktop(home)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn no_password(pg: &Pg, outs: &[&Out]) {
    for o in outs {
        for s in [&o.stdout, &o.stderr] {
            assert!(!s.contains(pg.password()), "password in output:\n{s}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_round_trips_a_recording() {
    let pg = Pg::start(PgOpts::default());
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let sleeper = pg.running("postgres", "recpg-sleeper", SLEEP).await;
    let file = dir.path().join("live.sqlite");
    let target = url(&pg);
    let (conninfo, pw) = (pg.conninfo_nopw("postgres"), pg.password().to_string());

    // 1. a live run recorded to a file; its records copied into PostgreSQL as they are
    let record = format!("--record={}", file.display());
    let (h, ci, p) = (home.clone(), conninfo.clone(), pw.clone());
    let live = tokio::task::spawn_blocking(move || {
        stacktop(&h)
            .env("PGPASSWORD", p)
            .args(["--no-user-config", &record, "pgtop", "--batch", "--json"])
            .args(["--interval", "300ms", "--count", "5", &ci])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    // 3: a slow query was seen (the sleeper, once it passes the threshold)
    assert!(matches!(live.status.code(), Some(0 | 3)), "{live:?}");
    let t = target.clone();
    let (copied, id) = tokio::task::spawn_blocking(move || {
        let src = SqliteReader::open(&file).unwrap();
        let rows = src.batch(0, i64::MAX, 100_000).unwrap();
        let mut store = PgStore::create(&t, "copied", &bare_env()).unwrap();
        for r in &rows {
            store.insert(r.ts_ms, &r.view, &r.kind, r.keyframe, &r.data);
        }
        store.commit().unwrap();
        (rows, store.recording())
    })
    .await
    .unwrap();
    assert!(copied.len() >= 5, "{} records", copied.len());

    // the reader gives back the same rows, through the backend-neutral Reader
    let t = target.clone();
    let back = tokio::task::spawn_blocking(move || {
        let r = Reader::Pg(Box::new(PgReader::open(&t, Some(id), &bare_env()).unwrap()));
        let rows = r.batch(0, i64::MAX, 100_000).unwrap();
        let span = r.span().unwrap();
        let count = r.count().unwrap();
        let second = r.next_after(rows[0].id).unwrap();
        (rows, span, count, second)
    })
    .await
    .unwrap();
    assert_eq!(back.0, copied);
    assert_eq!(back.2, copied.len() as i64);
    assert_eq!(
        back.1,
        Some((copied[0].ts_ms, copied.last().unwrap().ts_ms))
    );
    assert_eq!(back.3.as_ref(), copied.get(1));

    // replayed, both give the same batch JSON, whole and from a middle instant on
    let mid = chrono::DateTime::from_timestamp_millis(copied[copied.len() / 2].ts_ms)
        .unwrap()
        .to_rfc3339();
    let f = dir.path().join("live.sqlite");
    let fs = f.to_str().unwrap();
    let ids = id.to_string();
    for extra in [vec![], vec!["--from", mid.as_str()]] {
        let a = run(
            &home,
            &[&["replay", fs, "--batch", "--json"], &extra[..]].concat(),
        );
        let b = run(
            &home,
            &[
                &["replay", &target, "--recording", &ids, "--batch", "--json"],
                &extra[..],
            ]
            .concat(),
        );
        assert_eq!(a.code, Some(0), "{}", a.stderr);
        assert_eq!(b.code, Some(0), "{}", b.stderr);
        assert!(
            a.stdout.contains(&format!("\"pid\":{}", sleeper.pid)),
            "{}",
            a.stdout
        );
        assert_eq!(a.stdout, b.stdout, "file and PostgreSQL replays differ");
        no_password(&pg, &[&a, &b]);
    }

    // 2. a live run recording straight to PostgreSQL, labelled by the config
    let cfg = dir.path().join("rec.toml");
    std::fs::write(&cfg, "[record]\nlabel = \"orders-db\"\n").unwrap();
    let (h, t, c) = (home.clone(), target.clone(), cfg.clone());
    let live2 = tokio::task::spawn_blocking(move || {
        let record = format!("--record={t}");
        stacktop(&h)
            .env("PGPASSWORD", pw)
            .arg("--config")
            .arg(&c)
            .args([&record, "pgtop", "--batch", "--json"])
            .args(["--interval", "300ms", "--count", "4", &conninfo])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let live2_err = String::from_utf8_lossy(&live2.stderr).into_owned();
    assert!(
        matches!(live2.status.code(), Some(0 | 3)),
        "{:?} {live2_err}",
        live2.status
    );
    assert!(!live2_err.contains(pg.password()), "{live2_err}");
    let list = run(&home, &["replay", &target, "--list"]);
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    // the TUI opens the server's recording (then refuses a stdin that is no terminal: the
    // TUI itself is tests/replay_pg_tui.rs), never a panic
    let tui = run(&home, &["replay", &target]);
    assert_ne!(tui.code, Some(0), "{}", tui.stderr);
    assert!(!tui.stderr.contains("panicked"), "{}", tui.stderr);
    assert!(tui.stderr.contains("not a terminal"), "{}", tui.stderr);
    assert!(!tui.stderr.contains(pg.password()), "{}", tui.stderr);
    assert!(list.stdout.contains("copied"), "{}", list.stdout);
    let line = list
        .stdout
        .lines()
        .find(|l| l.contains("orders-db"))
        .unwrap_or_else(|| panic!("{}", list.stdout));
    let newest = line.split_whitespace().next().unwrap().to_string();
    // the newest recording is the default
    let a = run(&home, &["replay", &target, "--batch", "--json"]);
    let b = run(
        &home,
        &[
            "replay",
            &target,
            "--recording",
            &newest,
            "--batch",
            "--json",
        ],
    );
    assert_eq!(a.code, Some(0), "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    assert!(
        a.stdout.contains(&format!("\"pid\":{}", sleeper.pid)),
        "{}",
        a.stdout
    );

    // a wrong password and an unknown recording: clear errors, no password
    let wrong = target.replace(pg.password(), "Wr0ngSecretPw");
    let bad = run(&home, &["replay", &wrong, "--batch", "--json"]);
    assert_ne!(bad.code, Some(0));
    assert!(bad.stderr.contains("127.0.0.1"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("Wr0ngSecretPw"), "{}", bad.stderr);
    let none = run(
        &home,
        &[
            "replay",
            &target,
            "--recording",
            "999999",
            "--batch",
            "--json",
        ],
    );
    assert!(
        none.stderr.contains("no recording 999999"),
        "{}",
        none.stderr
    );
    no_password(&pg, &[&list, &a, &b, &bad, &none]);
}

fn notice(i: u64) -> Update {
    Update {
        view: ViewKind::Pgtop,
        payload: Payload::Notice {
            level: Level::Info,
            text: format!("notice {i}"),
        },
    }
}

async fn records_of(pg: &Pg, recording: i64) -> i64 {
    let c = pg.admin().await;
    c.query_one(
        "SELECT count(*) FROM stacktop.records WHERE recording = $1",
        &[&recording],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_gone_mid_recording_costs_records_not_a_stall() {
    let mut pg = Pg::start(PgOpts::default());
    let target = url(&pg);
    let cfg = stacktop::record::RecordConfig::default();
    let mut opts = RecorderOptions::new(target.clone().into(), &cfg);
    opts.bare_env = true;
    opts.label = "gone".into();
    opts.commit_every = Duration::from_millis(100);
    let rec = tokio::task::spawn_blocking(move || Recorder::start(opts).unwrap())
        .await
        .unwrap();
    let stats = rec.stats();
    let mut i = 0u64;
    let mut slowest = Duration::ZERO;
    let mut offer = |rec: &Recorder| {
        i += 1;
        let t = Instant::now();
        rec.offer(chrono::Utc::now().timestamp_millis(), notice(i));
        slowest = slowest.max(t.elapsed());
    };
    // writing: the recording is the newest (id 1 on this fresh server)
    let deadline = Instant::now() + Duration::from_secs(20);
    while stats.written.load(Ordering::Relaxed) < 10 {
        assert!(Instant::now() < deadline, "{}", stats.summary());
        offer(&rec);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = records_of(&pg, 1).await;
    assert!(before >= 10);

    tokio::task::block_in_place(|| pg.stop());
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.lost.load(Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "{}", stats.summary());
        offer(&rec);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = stats.last_error.lock().unwrap().clone().unwrap_or_default();
    assert!(err.contains("127.0.0.1"), "{err}");
    assert!(!err.contains(pg.password()), "{err}");

    tokio::task::block_in_place(|| pg.restart());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        offer(&rec);
        tokio::time::sleep(Duration::from_millis(50)).await;
        if records_of(&pg, 1).await > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no reconnect: {}",
            stats.summary()
        );
    }
    assert!(
        slowest < Duration::from_millis(50),
        "an offer waited {slowest:?}"
    );
    let stats = tokio::task::spawn_blocking(move || rec.finish())
        .await
        .unwrap();
    assert!(!stats.summary().contains(pg.password()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_on_the_server_by_age_and_size() {
    let pg = Pg::start(PgOpts::default());
    let target = url(&pg);
    tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now().timestamp_millis();
        let data = vec![7u8; 10_000];
        let mut s = PgStore::create(&target, "retain", &bare_env()).unwrap();
        // 100 records an hour old, then 100 recent ones
        for i in 0..200i64 {
            let ts = if i < 100 {
                now - 3_600_000 + i
            } else {
                now - 1000 + i
            };
            s.insert(ts, "pgtop", "notice", true, &data);
        }
        s.commit().unwrap();
        let id = s.recording();
        let deleted = s.retain(now - 600_000, u64::MAX).unwrap();
        assert_eq!(deleted, 100);
        let r = PgReader::open(&target, Some(id), &bare_env()).unwrap();
        assert_eq!(r.count().unwrap(), 100);
        assert!(r.span().unwrap().unwrap().0 >= now - 1000);
        // the size bound: about 300 kB of the ~1 MB left, the newest kept
        let newest = r.span().unwrap().unwrap().1;
        s.retain(now - 600_000, 300_000).unwrap();
        assert!(s.used_bytes() <= 300_000, "{}", s.used_bytes());
        let n = r.count().unwrap();
        assert!((20..=30).contains(&n), "{n} records left");
        assert_eq!(r.span().unwrap().unwrap().1, newest);
        // and the rest still reads in order
        let rows = r.batch(0, i64::MAX, 1000).unwrap();
        assert_eq!(rows.len() as i64, n);
        assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    })
    .await
    .unwrap();
}

//! The flight recorder on the pgtop tab, against one PostgreSQL started here (shared by the
//! tests of this file):
//! - a lock chain (x holds c1; y holds c2 and waits for x; z waits for y) and pg_sleep sessions
//!   recorded from a live App with the lock tree (`L`) open: replayed, the screen and batch
//!   JSON equal the live ones at every instant the live app drew;
//! - the writer stuck (a stalled disk), then the file full (SQLite `max_page_count`): updates
//!   are dropped with a counter, the UI side's apply never waits for the disk, and what was
//!   kept replays;
//! - the real binary in a pseudo-terminal with `--record=PATH`: quit with `q`, the terminal is
//!   restored, the file is 0600 and replays the sleeper.

#[path = "support/pty.rs"]
mod pty;
mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stacktop::app::App;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::record::store::Reader;
use stacktop::record::writer::RecorderOptions;
use stacktop::views::pgtop::locks::tree;
use stacktop::wire::ViewKind;
use support::pg::Pg;
use support::replay::{assert_replay_equals_live, press, Replayed, Taped};

/// The one major these tests run against (the recorder does not depend on it; the per-major
/// recording test is `record_live.rs`).
const MAJOR: u32 = 18;
const SLEEP: &str = "SELECT pg_sleep(600)";
const LIMIT: Duration = Duration::from_secs(20);

fn config(pg: &Pg) -> Config {
    let mut cfg = Config::default();
    cfg.ui.refresh = Dur::millis(200);
    cfg.pgtop.conninfo = Some(pg.conninfo("postgres"));
    // a flash message expires by the wall clock, not the app's: kept for the whole test, the
    // replayed status line is comparable (and shows the recorded notice)
    cfg.ui.flash = Dur::secs(3600);
    cfg
}

/// The pgtop source of `cfg` feeding a [`Taped`] app (as `support::pg_ui`, hermetic env).
fn taped(cfg: &Config, opts: RecorderOptions) -> (Taped, stacktop::tui::SourceHandles) {
    let (tx, rx) = tokio::sync::mpsc::channel(stacktop::messages::UPDATE_CHANNEL);
    let handles = support::pg_ui::spawn_pgtop(cfg, tx);
    (
        Taped::with_options(cfg.clone(), ViewKind::Pgtop, rx, opts),
        handles,
    )
}

fn opts(path: &Path) -> RecorderOptions {
    RecorderOptions::new(path.into(), &Default::default())
}

/// A condition for [`Taped::until`]: `n` more pgtop refreshes than `app` has had.
fn refreshes(app: &App, n: usize) -> impl FnMut(&App) -> bool {
    let mut seen = app.pgtop.last_data;
    let mut count = 0;
    move |a| {
        if a.pgtop.last_data != seen {
            seen = a.pgtop.last_data;
            count += 1;
        }
        count >= n
    }
}

/// (depth, pid) of the lock tree the view would draw.
fn lock_tree(app: &App) -> Vec<(usize, i32)> {
    tree(app.pgtop.sessions(), app.pgtop.server_now())
        .iter()
        .map(|l| (l.depth, l.pid))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_chain_replays_in_the_lock_tree_as_it_was_shown() {
    let pg = Pg::shared_major(MAJOR);
    pg.admin()
        .await
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS rec_c1(i int); CREATE TABLE IF NOT EXISTS rec_c2(i int)",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("locks.sqlite");
    let cfg = config(pg);
    let _a = pg.running("postgres", "rec-sleeper-a", SLEEP).await;
    let _b = pg.running("postgres", "rec-sleeper-b", SLEEP).await;
    let (mut live, _handles) = taped(&cfg, opts(&rec));
    press(&mut live.app, 'L');
    assert!(live.app.pgtop.locks, "L opens the lock tree");

    // the chain builds up while recording: x, then y waiting for x, then z waiting for y
    let x = pg.idle_in_transaction("postgres", "rec-x").await;
    x.client
        .batch_execute("LOCK TABLE rec_c1 IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let y = pg
        .running(
            "postgres",
            "rec-y",
            "BEGIN; LOCK TABLE rec_c2 IN ACCESS EXCLUSIVE MODE; SELECT count(*) FROM rec_c1",
        )
        .await;
    let z = pg
        .running("postgres", "rec-z", "SELECT count(*) FROM rec_c2")
        .await;
    let chain = [(0, x.pid), (1, y.pid), (2, z.pid)];
    live.until("the chain in the lock tree", LIMIT, |a| {
        let t = lock_tree(a);
        chain.iter().all(|l| t.contains(l))
    })
    .await;
    // a few refreshes more with the chain on screen
    live.until("five more refreshes", LIMIT, refreshes(&live.app, 5))
        .await;
    let stats = live.finish();
    assert_eq!(
        stats.dropped.load(Ordering::Relaxed),
        0,
        "{}",
        stats.summary()
    );
    // `STACKTOP_WRITE_RECORDING_FIXTURE=tests/fixtures/recordings/pgtop-lock-chain.sqlite`
    // rewrites the recording `tests/pgtop_from_recording.rs` replays (the recorder has closed
    // the file: its WAL is checkpointed into it)
    if let Some(out) = std::env::var_os("STACKTOP_WRITE_RECORDING_FIXTURE") {
        std::fs::copy(&rec, &out).unwrap();
        eprintln!("recording fixture written to {}", Path::new(&out).display());
    }
    let shots = live.shots.clone();
    let last = &shots.last().unwrap().screen;
    for p in [x.pid, y.pid, z.pid] {
        assert!(last.contains(&p.to_string()), "pid {p} on screen:\n{last}");
    }

    let mut replayed = Replayed::open(cfg, ViewKind::Pgtop, &rec);
    press(&mut replayed.app, 'L');
    let n = assert_replay_equals_live(replayed, &shots, "pgtop lock tree");
    assert!(n >= 4, "{n} instants compared");
    drop((x, y, z));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_then_full_disk_drops_with_a_counter_and_never_holds_the_ui() {
    let pg = Pg::shared_major(MAJOR);
    let _s = pg.running("postgres", "rec-disk-sleeper", SLEEP).await;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("full.sqlite");
    let mut cfg = config(pg);
    cfg.ui.refresh = Dur::millis(50);
    let stall = Arc::new(AtomicBool::new(true));
    let mut o = opts(&rec);
    o.stall = Some(stall.clone());
    o.max_pages = Some(24);
    o.commit_every = Duration::from_millis(100);
    let (mut live, _handles) = taped(&cfg, o);
    let stats = live.recorder.as_ref().unwrap().stats();

    // a watchdog frees a writer the test could not free itself (a UI blocked on the disk)
    let freed_by_watchdog = Arc::new(AtomicBool::new(false));
    {
        let (stall, flag) = (stall.clone(), freed_by_watchdog.clone());
        std::thread::spawn(move || {
            let t = Instant::now();
            while stall.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(30) {
                std::thread::park_timeout(Duration::from_millis(100));
            }
            if stall.swap(false, Ordering::SeqCst) {
                flag.store(true, Ordering::SeqCst);
            }
        });
    }
    // stuck writer: the app goes on applying until the recorder has dropped updates
    let st = stats.clone();
    live.until("updates dropped while the writer is stuck", LIMIT, |_| {
        st.dropped.load(Ordering::Relaxed) >= 20
    })
    .await;
    assert!(
        !freed_by_watchdog.load(Ordering::SeqCst),
        "the app had to wait for the disk"
    );
    let stuck_max = live.max_apply;
    // the app applied every update while the writer could not take any (the queue of
    // writer::CHANNEL filled, the rest dropped): no update waited for the disk
    assert!(
        live.applied as usize > stacktop::record::writer::CHANNEL + 20,
        "{} applied",
        live.applied
    );
    stall.store(false, Ordering::SeqCst);

    // the full file: writes fail, records are lost (counted), the app goes on
    let st = stats.clone();
    live.until("a write failing on the full file", LIMIT, |_| {
        st.lost.load(Ordering::Relaxed) > 0
    })
    .await;
    live.until(
        "three refreshes after the disk filled",
        LIMIT,
        refreshes(&live.app, 3),
    )
    .await;
    let stats = live.finish();
    let summary = stats.summary();
    assert!(summary.contains("full"), "{summary}");
    assert!(stats.dropped.load(Ordering::Relaxed) >= 20, "{summary}");
    // bounded: the offer is a try_send; a tenth of a second is far above it even on a loaded
    // machine, and far below a stuck disk (seconds)
    assert!(
        stuck_max < Duration::from_millis(100) && live.max_apply < Duration::from_millis(100),
        "apply took up to {stuck_max:?} with the writer stuck, {:?} in all",
        live.max_apply
    );
    // what was kept opens and decodes
    let r = Reader::open(&rec).unwrap();
    assert!(r.count().unwrap() > 0);
    let (_, last) = r.span().unwrap().unwrap();
    let mut replayed = Replayed::open(cfg, ViewKind::Pgtop, &rec);
    replayed.feed_until(last);
    assert_eq!(replayed.skipped, 0);
    assert!(replayed.applied > 0);
}

/// The real binary in a pseudo-terminal (80x24) with `--record=PATH`, against the shared server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_with_record_quits_restored_and_its_file_replays() {
    use portable_pty::CommandBuilder;
    use std::io::Write;
    let pg = Pg::shared_major(MAJOR);
    let sleeper = pg.running("postgres", "rec-pty-sleeper", SLEEP).await;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("sub/tui.sqlite");
    let p = pty::open_80x24();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_stacktop"));
    cmd.env_clear();
    for (k, v) in support::proc::hermetic_env_in(dir.path()) {
        cmd.env(k, v);
    }
    cmd.env("TERM", "screen");
    cmd.env("PGPASSWORD", pg.password());
    cmd.arg("--no-user-config");
    cmd.arg(format!("--record={}", rec.display()));
    cmd.args(["--refresh", "200ms", "pgtop"]);
    cmd.arg(pg.conninfo_nopw("postgres"));
    let (mut child, mut writer, mut term) = pty::spawn(p, cmd);
    let pid = sleeper.pid.to_string();
    term.wait_for(&pid);
    // recording: the sleeper is in a committed record before quitting
    support::proc::wait_until("a committed record", LIMIT, || {
        (Reader::open(&rec).ok()?.count().ok()? >= 3).then_some(())
    });
    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let st = term.wait_exit(&mut *child);
    assert!(st.success(), "exit {st:?}\n{}", term.contents());
    term.assert_restored();

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&rec).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the recording is private");
    let out = support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), dir.path())
        .args(["--no-user-config", "replay"])
        .arg(&rec)
        .args(["--batch", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.contains("\"type\":\"session\"")
            && l.contains(&format!("\"pid\":{pid},"))
            && l.contains("pg_sleep(600)")),
        "the sleeper replays:\n{text}"
    );
    assert!(
        !std::fs::read(&rec)
            .unwrap()
            .windows(pg.password().len())
            .any(|w| w == pg.password().as_bytes()),
        "no password in the recording"
    );
    drop(sleeper);
}

//! A view test that starts from a recording instead of hand-built snapshots (issue 15, item 5):
//! `tests/fixtures/recordings/pgtop-lock-chain.sqlite` is a real pgtop run recorded by
//! `tests/record_pg_screens.rs` against PostgreSQL 18 (two `pg_sleep` sessions; x holds
//! `rec_c1`, y holds `rec_c2` and waits for x, z waits for y). Fed to an App through the public
//! reader and decoder (`support::replay::Replayed`), the lock tree shows the chain as the live
//! run did, `R` on it asks to terminate x alone and lists what that unblocks, and the
//! confirmed signal carries x's pid + backend_start + query_start guard from the recording.
//!
//! The file is also a check that recordings of this format keep opening: a change that cannot
//! read it fails here. To record it again: `STACKTOP_WRITE_RECORDING_FIXTURE=$PWD/tests/
//! fixtures/recordings/pgtop-lock-chain.sqlite cargo test --test record_pg_screens a_lock_chain`
//! (then update the pids below).

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::config::Config;
use stacktop::messages::{Effect, SourceCommand};
use stacktop::pg::kill::SignalKind;
use stacktop::pg::msg::PgRequest;
use stacktop::record::store::Reader;
use stacktop::views::pgtop::locks::tree;
use stacktop::wire::ViewKind;
use support::replay::{press, screen, Replayed};

/// The pids of the recorded chain.
const X: i32 = 24583;
const Y: i32 = 24595;
const Z: i32 = 24598;

/// The recording copied into a temporary directory (SQLite writes its `-shm` next to the file
/// it opens; the checkout stays untouched) and its last instant.
fn recording() -> (tempfile::TempDir, std::path::PathBuf, i64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgtop-lock-chain.sqlite");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/recordings/pgtop-lock-chain.sqlite"
        ),
        &path,
    )
    .unwrap();
    let (_, last) = Reader::open(&path).unwrap().span().unwrap().unwrap();
    (dir, path, last)
}

fn key(app: &mut stacktop::app::App, code: KeyCode) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn the_recorded_lock_chain_drives_the_lock_tree_and_the_root_blocker_action() {
    let (_dir, path, last) = recording();
    let mut r = Replayed::open(Config::default(), ViewKind::Pgtop, &path);
    r.feed_until(last);
    assert_eq!(r.skipped, 0, "every record decodes");
    let app = &mut r.app;
    press(app, 'L');
    let t: Vec<(usize, i32)> = tree(app.pgtop.sessions(), app.pgtop.server_now())
        .iter()
        .map(|l| (l.depth, l.pid))
        .collect();
    assert_eq!(t, [(0, X), (1, Y), (2, Z)], "the chain as recorded");
    let s = screen(app);
    let root = s
        .lines()
        .find(|l| l.contains(&format!("■ {X}")))
        .unwrap_or_else(|| panic!("x marked as the root:\n{s}"));
    assert!(root.contains("holds up 2"), "{root}");
    assert!(root.contains("LOCK TABLE rec_c1"), "{root}");

    // `R` on the chain: terminate x, and the confirmation says it unblocks y and z
    press(app, 'R');
    let s = screen(app);
    assert!(s.contains(&X.to_string()), "the root's pid:\n{s}");
    for p in [Y, Z] {
        assert!(s.contains(&p.to_string()), "{p} listed as unblocked:\n{s}");
    }
    let effects = key(app, KeyCode::Char('y'));
    let signal = effects.iter().find_map(|e| match e {
        Effect::ToSource(
            ViewKind::Pgtop,
            SourceCommand::Pg(PgRequest::Signal { kind, targets }),
        ) => Some((*kind, targets.clone())),
        _ => None,
    });
    let (kind, targets) = signal.expect("a signal after y");
    assert_eq!(kind, SignalKind::Terminate);
    assert_eq!(targets.len(), 1, "the root alone");
    let x = app
        .pgtop
        .sessions()
        .iter()
        .find(|s| s.pid == X)
        .unwrap()
        .clone();
    assert_eq!(targets[0].pid, X);
    assert_eq!(Some(targets[0].backend_start), x.backend_start);
    assert_eq!(targets[0].query_start, x.query_start);
}

//! Whole-screen snapshots of every tab in its main states at 80x24 and 200x50: the real App
//! fed fixed data on a fixed clock (TZ=UTC, `App::now` set), keys pressed as a user would,
//! drawn by `ui::draw` into a TestBackend and compared with the reviewed files in
//! `tests/snapshots/` (text and one style letter per cell, see `support/snapshot.rs`). Any change
//! fails with the first differing line; `STACKTOP_UPDATE_SNAPSHOTS=1 cargo test --test
//! snapshots` rewrites the files (review them with `git diff`). The scenes are in
//! `support/scenes/`, one file per tab.

#[path = "support/screen.rs"]
mod screen;

#[path = "support/snapshot.rs"]
mod snapshot;

#[path = "support/pg_fixture.rs"]
mod pg_fixture;

#[path = "repl_common/mod.rs"]
mod common;

#[path = "support/scenes/mod.rs"]
mod scenes;

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

/// One test for all screens: the time zone is set once before any App exists (dates and times
/// are drawn in local time), and every difference is reported together.
#[test]
fn every_screen_matches_its_reviewed_snapshot() {
    std::env::set_var("TZ", "UTC");
    let mut snaps = snapshot::Snapshots::new();
    for scene in scenes::all() {
        for (w, h) in SIZES {
            let a = (scene.build)(w, h);
            let buf = screen::render(&a, w, h);
            snaps.check(&format!("{}-{w}x{h}", scene.name), scene.state, &buf);
        }
    }
    snaps.finish();
}

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

/// The harness itself, on a plain buffer in a temporary directory: update mode writes the file,
/// an unchanged screen passes, one changed cell fails naming the file's line and both texts, a
/// changed style alone fails too, and a file no scene draws is reported.
#[test]
fn a_changed_cell_or_style_fails_with_the_line_and_a_stale_file_is_reported() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};
    let tmp = tempfile::tempdir().expect("temp dir");
    let (dir, out) = (tmp.path().join("snaps"), tmp.path().join("out"));
    let screen = |text: &str, yellow: bool| {
        let mut b = Buffer::empty(Rect::new(0, 0, 12, 3));
        let style = if yellow {
            Style::default().fg(Color::Yellow)
        } else {
            Style::default()
        };
        b.set_string(0, 1, text, style);
        b
    };
    let run = |update: bool, b: &Buffer| {
        let mut s = snapshot::Snapshots::in_dir(dir.clone(), out.clone(), update);
        s.check("tiny-12x3", "a test screen", b);
        s.result().err()
    };
    assert_eq!(run(true, &screen("pid 32299", true)), None);
    let file = std::fs::read_to_string(dir.join("tiny-12x3.txt")).expect("written");
    assert!(
        file.starts_with("# tiny-12x3 12x3: a test screen\n\npid 32299\n"),
        "{file}"
    );
    assert!(file.contains("# a = fg Yellow"), "{file}");
    assert_eq!(run(false, &screen("pid 32299", true)), None);

    let msg = run(false, &screen("pid 32298", true)).expect("a changed cell fails");
    assert!(msg.contains("tiny-12x3.txt:3 differs"), "{msg}");
    assert!(
        msg.contains(r#"want: "pid 32299""#) && msg.contains(r#"got:  "pid 32298""#),
        "{msg}"
    );
    assert!(
        out.join("tiny-12x3.txt").exists(),
        "the new screen for diff -u"
    );

    let msg = run(false, &screen("pid 32299", false)).expect("a changed style fails");
    assert!(msg.contains("tiny-12x3.txt:7 differs"), "{msg}");

    std::fs::write(dir.join("gone-80x24.txt"), "old").expect("write");
    let msg = run(false, &screen("pid 32299", true)).expect("a stale file fails");
    assert!(
        msg.contains("gone-80x24.txt: no scene draws it any more"),
        "{msg}"
    );
}

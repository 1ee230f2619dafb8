//! `stacktop spotify demo` end to end, as a new user runs it: the real binary in a hermetic
//! environment whose HOME, XDG dirs and TMPDIR are temporary directories. It generates and
//! imports the sample into the default store (`$XDG_DATA_HOME/stacktop/spotify.sqlite3`),
//! opens the tab (batch mode prints the tab's snapshot), removes its temporary CSV, leaves a
//! store that already holds charts alone, and is listed in `--help`.

#[path = "support/proc.rs"]
mod hermetic;

use std::path::Path;
use std::process::Output;

fn stacktop(home: &Path, args: &[&str]) -> Output {
    let tmp = home.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    hermetic::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), home)
        .env("TMPDIR", &tmp)
        .args(args)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn demo_loads_sample_charts_into_the_default_store_and_opens_the_tab() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // 20 regions × 3 days × 200 positions
    let o = stacktop(h, &["-b", "-n", "1", "spotify", "demo", "--days", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("12000 synthetic chart rows"),
        "{}",
        err(&o)
    );
    let db = h.join(".local/share/stacktop/spotify.sqlite3");
    assert!(db.is_file(), "default store {}", db.display());
    // The tab opened: its batch snapshot is what the store holds.
    let text = out(&o);
    assert!(text.contains(&format!("sqlite {}", db.display())), "{text}");
    assert!(text.contains("12000 chart rows · 20 countries"), "{text}");
    // The generated CSV is gone.
    let left: Vec<_> = std::fs::read_dir(h.join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");

    // The questions answer from it.
    let o = stacktop(h, &["spotify", "ask", "number-ones", "--limit", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("| track_id"), "{}", out(&o));
    assert!(err(&o).contains("3 rows in set"), "{}", err(&o));
    // "N rows in set" once, on stderr only
    assert!(!out(&o).contains("rows in set"), "{}", out(&o));

    // A store that holds charts is left alone, and the tab still opens.
    let o = stacktop(h, &["-b", "-n", "1", "spotify", "demo", "--days", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("already holds 12000 chart rows"),
        "{}",
        err(&o)
    );
    assert!(out(&o).contains("12000 chart rows"), "{}", out(&o));

    // Bad --days: usage error, nothing changes.
    let o = stacktop(h, &["spotify", "demo", "--days", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}

#[test]
fn demo_is_listed_in_help() {
    let home = tempfile::tempdir().unwrap();
    let o = stacktop(home.path(), &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains("spotify demo"), "{}", out(&o));
    let o = stacktop(home.path(), &["spotify", "--help"]);
    assert!(out(&o).contains("demo"), "{}", out(&o));
}

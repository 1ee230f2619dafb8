//! The incident bundle end to end: the real binary in a pseudo-terminal, pgtop on a PostgreSQL
//! started here, NOT recording (no --record); `B` writes the last minutes to one 0600 file in
//! `[record] bundle_dir`, the status line says where, and `stacktop replay BUNDLE --batch
//! --json` prints the sessions the screen showed. The password is in neither.

#[path = "support/pty.rs"]
mod pty;
mod support;

use std::io::Write;
use std::time::Duration;

use portable_pty::CommandBuilder;
use support::pg::{Pg, PgOpts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_key_writes_a_replayable_file_without_record() {
    let pg = Pg::start(PgOpts::default());
    let sleeper = pg
        .running("postgres", "bundle-sleeper", "SELECT pg_sleep(600)")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let bundles = dir.path().join("b");
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[ui]\nrefresh = \"300ms\"\n[record]\nlabel = \"orders\"\nbundle_dir = \"{}\"\n",
            bundles.display()
        ),
    )
    .unwrap();

    let pty = pty::open_80x24();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_stacktop"));
    cmd.env_clear();
    for (k, v) in support::proc::hermetic_env_in(&home) {
        cmd.env(k, v);
    }
    cmd.env("TERM", "screen");
    cmd.env("PGPASSWORD", pg.password());
    cmd.arg("--config");
    cmd.arg(&cfg);
    cmd.args(["pgtop", "--interval", "300ms"]);
    cmd.arg(pg.conninfo_nopw("postgres"));
    let (mut child, mut writer, mut term) = pty::spawn(pty, cmd);
    tokio::task::block_in_place(|| {
        term.wait_for("SELECT pg_sleep(600)");
        // a few refreshes (every 300 ms), then the key (`pump` alone returned at the first
        // redraw: one refresh in the bundle, under load)
        term.pump_for(Duration::from_millis(1500));
        writer.write_all(b"B").unwrap();
        writer.flush().unwrap();
        term.wait_for("incident bundle (");
    });
    let screen = term.contents();
    assert!(!screen.contains(pg.password()));
    let files: Vec<_> = std::fs::read_dir(&bundles)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}\n{screen}");
    let bundle = &files[0];
    let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("stacktop-bundle-orders-"), "{name}");
    assert!(name.ends_with(".sqlite"), "{name}");
    // the status line says where (the path may be cut to the terminal width)
    assert!(screen.contains("written to /"), "{screen}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(bundle).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    tokio::task::block_in_place(|| {
        writer.write_all(b"q").unwrap();
        writer.flush().unwrap();
        term.wait_exit(&mut *child);
    });

    let out = support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), &home)
        .arg("replay")
        .arg(bundle)
        .args(["--batch", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let sessions = stdout
        .lines()
        .filter(|l| l.contains(&format!("\"pid\":{}", sleeper.pid)))
        .count();
    assert!(
        sessions >= 2,
        "the sleeper in {sessions} refreshes:\n{stdout}"
    );
    assert!(!stdout.contains(pg.password()));
    let raw = std::fs::read(bundle).unwrap();
    let pw = pg.password().as_bytes();
    assert!(!raw.windows(pw.len()).any(|w| w == pw));
}

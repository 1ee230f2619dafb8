//! Where the recorder writes and the replay reads, by the command line (the real binary,
//! hermetic HOME): `stacktop record PATH` writes to PATH (it was ignored: the recording went to
//! `[record] path` or the state directory); `stacktop replay` without PATH opens where
//! `stacktop record` writes with the same config, and says which file when there is none; a
//! `stacktop record` with no source configured creates no recording. The source is vlog
//! reading a real Varnish 7 capture (no server needed).

mod support;

use std::path::Path;
use std::time::Duration;

use stacktop::record::store::Reader;
use support::proc::{hermetic_command_in, wait_until, ProcessGuard};

fn stacktop(home: &Path) -> std::process::Command {
    let mut c = hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), home);
    c.arg("--no-user-config");
    c
}

#[test]
fn record_writes_to_its_path_and_replay_reads_the_configured_recording() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let default = home.join(".local/state/stacktop/recording.sqlite");
    let capture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/varnish/varnish7-request.log");
    let vlog = dir.path().join("vlog.toml");
    std::fs::write(
        &vlog,
        format!("[vlog]\nfile = {:?}\n", capture.display().to_string()),
    )
    .unwrap();

    // `record PATH`: the recording is at PATH, not at the default
    let rec = dir.path().join("named.sqlite");
    let mut cmd = stacktop(&home);
    cmd.arg("--config").arg(&vlog).arg("record").arg(&rec);
    let mut p = ProcessGuard::spawn("stacktop record", cmd, &dir.path().join("record.log"));
    let n = wait_until("records in PATH", Duration::from_secs(30), || {
        let n = Reader::open(&rec).ok()?.count().ok()?;
        (n > 0).then_some(n)
    });
    p.stop(Duration::from_secs(5));
    let log = p.log_tail(5);
    assert!(
        log.contains(&format!("recording to {}", rec.display())),
        "{log}"
    );
    assert!(!default.exists(), "also written to the default path");

    // `replay` without PATH: `[record] path` of its config
    let cfg = dir.path().join("replay.toml");
    std::fs::write(
        &cfg,
        format!("[record]\npath = {:?}\n", rec.display().to_string()),
    )
    .unwrap();
    let out = stacktop(&home)
        .arg("--config")
        .arg(&cfg)
        .args(["replay", "--batch", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let vlog_lines = stdout
        .lines()
        .filter(|l| l.contains(r#""view":"vlog""#))
        .count();
    assert!(
        vlog_lines > 0,
        "{n} records, none printed:\n{stdout}\n{stderr}"
    );

    // without PATH or `[record] path`: the default, which nothing wrote: said, not created
    let out = stacktop(&home)
        .args(["replay", "--batch", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&default.display().to_string()), "{stderr}");
    assert!(
        !default.exists(),
        "replay created the recording it could not find"
    );

    // `record` with nothing to record: a usage error, and no recording file
    let out = stacktop(&home).arg("record").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing to record"), "{stderr}");
    assert!(!default.exists(), "an empty recording was created");
}

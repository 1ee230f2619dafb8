//! `stacktop config check` lists every problem of every file (unknown keys with a suggestion
//! and their section, bad values, duplicate keys with their section, bytes that are not UTF-8,
//! the cross-field rules) and exits 2; start-up refuses the same files for the same reasons.
//! Each fixture in tests/fixtures/config-check/ lists its expected lines as `# expect: …`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config-check")
}

/// The binary with a hermetic environment (no PG*, MYSQL_*, STACKTOP_*, XDG_*, user HOME).
fn bin(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacktop"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .current_dir(dir());
    c
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn expected(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    let v: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(str::to_string)
        .collect();
    assert!(!v.is_empty(), "{name}: no `# expect:` lines");
    v
}

#[test]
fn every_problem_of_every_file_is_listed() {
    let home = tempfile::tempdir().unwrap();
    let files = ["many-problems.toml", "cross-field.toml", "duplicate.toml"];
    let o = bin(home.path())
        .args(["config", "check"])
        .args(files)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let stdout = out(&o);
    for f in files {
        let want = expected(f);
        let got: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{f}:")))
            .collect();
        assert_eq!(got.len(), want.len(), "{f}: {got:#?}");
        for (w, g) in want.iter().zip(&got) {
            assert!(g.starts_with(w.as_str()), "{f}: wanted {w:?}, got {g:?}");
        }
    }
}

#[test]
fn bytes_that_are_not_utf8_are_located_and_the_rest_is_checked() {
    let home = tempfile::tempdir().unwrap();
    let f = home.path().join("latin1.toml");
    let mut bytes = b"[pgtop]\nname = \"caf".to_vec();
    bytes.push(0xe9); // é in Latin-1
    bytes.extend_from_slice(b"\"\nport = 99999\n");
    std::fs::write(&f, bytes).unwrap();
    let o = bin(home.path())
        .args(["config", "check"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let s = out(&o);
    let shown = f.display().to_string();
    assert!(
        s.contains(&format!(
            "{shown}:2:12: not UTF-8: invalid byte 0xe9 at byte offset 19"
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!("{shown}:3:8: key `pgtop.port`: bad value 99999")),
        "the rest of the file is checked too: {s}"
    );
}

#[test]
fn start_up_refuses_what_check_refuses_with_every_reason() {
    let home = tempfile::tempdir().unwrap();
    let o = bin(home.path())
        .args([
            "--no-user-config",
            "--config",
            "cross-field.toml",
            "--batch",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "key `ui.theme`: bad value \"nosuch\"",
        "key `pgtop.critical_threshold`",
        "key `repl.lag_warn`",
        "key `vlog.filter[1]`",
        "key `vlog.filter[2]`",
    ] {
        assert!(
            err.contains(want),
            "start-up does not report {want:?}: {err}"
        );
    }
    assert!(out(&o).is_empty(), "nothing ran: {}", out(&o));
}

#[test]
fn a_good_file_passes() {
    let home = tempfile::tempdir().unwrap();
    let f = home.path().join("good.toml");
    std::fs::write(
        &f,
        "[ui]\ntheme = \"mono\"\n[pgtop]\nslow_threshold = \"2s\"\ncritical_threshold = \"1m\"\n[vlog]\nfilter = [\"status=5xx\", \"url=^/api\"]\n",
    )
    .unwrap();
    let o = bin(home.path())
        .args(["config", "check"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).ends_with(": ok\n"), "{}", out(&o));
}

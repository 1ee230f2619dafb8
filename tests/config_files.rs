//! Config and theme files: every shipped example parses, every error fixture fails with its
//! expected message (file, line, key, value), and a bad file stops stacktop before the
//! terminal changes mode.

#[path = "support/proc.rs"]
mod hermetic;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    hermetic::hermetic_command(env!("CARGO_BIN_EXE_stacktop"))
}

fn files(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .toml files in {dir}");
    v
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_shipped_config_parses() {
    let all = files("configs");
    assert!(
        all.len() >= 5,
        "one example per view plus a per-database one"
    );
    for f in all {
        stacktop::config::check_file(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_shipped_theme_parses_and_defines_slow() {
    let all = files("themes");
    assert!(all.len() >= 3);
    for f in all {
        let t = stacktop::theme::load(f.to_str().unwrap(), None).unwrap_or_else(|e| panic!("{e}"));
        let slow = t.style(stacktop::theme::Role::Slow);
        assert!(
            slow.add_modifier.contains(ratatui::style::Modifier::BOLD),
            "{}: slow is bold",
            f.display()
        );
    }
    for (name, _) in stacktop::theme::BUILTIN {
        stacktop::theme::load(name, None).unwrap();
    }
}

#[test]
fn each_error_fixture_fails_with_its_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config-errors");
    for f in files("tests/fixtures/config-errors") {
        let text = std::fs::read_to_string(&f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("first line: # expect: …");
        let name = f.file_name().unwrap();
        let out = bin()
            .current_dir(&dir)
            .args(["config", "check"])
            .arg(name)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", f.display());
        assert!(
            stdout(&out).contains(expect.trim_end()),
            "{}: wanted {expect:?}, got {:?}",
            f.display(),
            stdout(&out)
        );
    }
}

#[test]
fn bad_config_stops_before_the_terminal_changes_mode() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config-errors/bad-duration.toml");
    let out = bin().arg("--config").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad-duration.toml:3:18: key `pgtop.slow_threshold`: bad value \"soon\""),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}') && !stdout(&out).contains('\u{1b}'),
        "no escape sequence was written"
    );
}

#[test]
fn unknown_theme_is_a_clear_error() {
    let out = bin()
        .args(["--theme", "nosuch", "--batch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no such theme; shipped themes: default, light, mono"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_show_merges_layers_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("db.toml");
    std::fs::write(&f, "[pgtop]\nconninfo = \"postgres://app:hunter2@db/x\"\npassword = \"s3cret\"\nslow_threshold = \"2s\"\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = bin()
        .arg("--config")
        .arg(&f)
        .args(["--theme", "mono", "config", "show"])
        .env("STACKTOP_PGTOP__CRITICAL_THRESHOLD", "45s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(!s.contains("hunter2") && !s.contains("s3cret"), "{s}");
    assert!(s.contains("postgres://app:********@db/x"), "{s}");
    assert!(s.contains("slow_threshold = \"2s\""), "file layer: {s}");
    assert!(
        s.contains("critical_threshold = \"45s\""),
        "environment layer: {s}"
    );
    assert!(s.contains("theme = \"mono\""), "flag layer: {s}");
    let err = stderr(&out);
    assert!(
        err.contains("readable by others") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = bin()
        .arg("--config")
        .arg(&f)
        .args(["config", "show"])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("readable by others"));
}

#[test]
fn completions_are_generated() {
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("stacktop"));
}

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

/// `--theme` completes to the theme names (shipped + `~/.config/stacktop/themes/*.toml` when
/// the script is generated), `--grouping` to its values: never to file names.
#[test]
fn completions_offer_theme_names_and_grouping_values_not_files() {
    let home = tempfile::tempdir().unwrap();
    let themes = home.path().join(".config/stacktop/themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::write(themes.join("ocean.toml"), "extends = \"default\"\n").unwrap();
    let gen = |shell: &str| {
        let out = hermetic::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        stdout(&out)
    };
    // bash: the value list, not `compgen -f` (file names), after --theme / --grouping
    let bash = gen("bash");
    for (opt, words) in [
        ("--theme", "default light mono ocean"),
        ("--grouping", "request vxid session"),
    ] {
        let arms: Vec<&str> = bash
            .split(&format!("{opt})"))
            .skip(1)
            .map(|a| a.split(";;").next().unwrap_or(""))
            .collect();
        assert!(!arms.is_empty(), "no {opt} arm in bash:\n{bash}");
        for arm in &arms {
            assert!(
                arm.contains(&format!("compgen -W \"{words}\"")) && !arm.contains("compgen -f"),
                "bash {opt}: {arm}"
            );
        }
    }
    // zsh: `:VALUE_NAME:(values)` instead of `_files`
    let zsh = gen("zsh");
    assert!(zsh.contains(":(default light mono ocean)"), "{zsh}");
    assert!(zsh.contains(":(request vxid session)"), "{zsh}");
    for line in zsh
        .lines()
        .filter(|l| l.contains("--theme") || l.contains("--grouping"))
    {
        assert!(!line.contains("_files"), "zsh: {line}");
    }
    // fish: -f (no files) with the values
    let fish = gen("fish");
    for (opt, values) in [
        ("-l theme", &["default", "light", "mono", "ocean"][..]),
        ("-l grouping", &["request", "vxid", "session"][..]),
    ] {
        // one `complete` statement may span lines (one value per line)
        let lines: Vec<&str> = fish
            .split("\ncomplete ")
            .filter(|l| l.contains(&format!("{opt} ")))
            .collect();
        assert!(!lines.is_empty(), "no {opt} in fish:\n{fish}");
        for l in lines {
            assert!(l.contains(" -f "), "fish completes files: {l}");
            for v in values {
                assert!(l.contains(v), "fish {opt} lacks {v}: {l}");
            }
        }
    }
    // a value outside the list is refused with the list (only --grouping: a theme may be a path)
    let out = bin().args(["vlog", "--grouping", "raw"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("request, vxid, session"),
        "{}",
        stderr(&out)
    );
}

/// `stacktop --help` (and `-h`) ends with examples naming every subcommand.
#[test]
fn help_lists_examples_of_every_subcommand() {
    for flag in ["--help", "-h"] {
        let out = bin().arg(flag).output().unwrap();
        assert!(out.status.success());
        let text = stdout(&out);
        let (_, examples) = text
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("no Examples: in {flag}:\n{text}"));
        for l in examples.lines() {
            assert!(
                l.chars().count() <= 80,
                "{flag}: wider than 80 columns: {l}"
            );
        }
        for sub in ["pgtop", "repl", "vlog", "spotify", "config", "completions"] {
            assert!(
                examples
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("stacktop {sub} "))),
                "{flag}: no example of {sub}:\n{examples}"
            );
        }
        for common in [
            "pgtop -h db1 -p 5433 -U app -d orders",
            "repl --config ",
            "vlog -n ",
            "spotify demo",
            "spotify import ",
            "--batch",
            "--json",
        ] {
            assert!(
                examples.contains(common),
                "{flag}: no {common:?}:\n{examples}"
            );
        }
    }
}

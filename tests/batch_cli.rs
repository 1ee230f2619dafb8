//! Batch mode and non-terminal use of the real binary.

#[path = "support/proc.rs"]
mod hermetic;

use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = hermetic::hermetic_command(env!("CARGO_BIN_EXE_stacktop"));
    c.arg("--no-user-config").stdin(Stdio::null());
    c
}

#[test]
fn without_a_terminal_the_ui_refuses_and_points_to_batch() {
    let out = bin().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a terminal: use --batch"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
}

#[test]
fn batch_rejects_a_bad_interval_before_starting() {
    let out = bin()
        .args(["pgtop", "--batch", "--interval", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a duration"));
}

/// `stacktop pgtop -h HOST -p PORT -U USER -d DB` takes psql's flags: a batch run against a
/// refused port names every one of them (`-h` is the host, not help; `-d` the database, not
/// the interval).
#[test]
fn pgtop_takes_psql_flags() {
    let port = hermetic::free_port().to_string();
    let out = bin()
        .args([
            "pgtop",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "app",
            "-d",
            "orders",
        ])
        .args([
            "--batch",
            "-n",
            "1",
            "--interval",
            "100ms",
            "--query-timeout",
            "2s",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let want = format!("host=127.0.0.1 port={port} user=app dbname=orders");
    assert!(err.contains(&want), "want {want:?} in {err}");

    let out = bin().args(["pgtop", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("-h, --host") && help.contains("-d, --dbname"),
        "{help}"
    );
}

/// Before the subcommand `-d` is still the batch interval (top-style), and `--interval`
/// after `pgtop` is parsed as one too.
#[test]
fn interval_flags_around_pgtop() {
    for args in [
        &["-d", "soon", "pgtop", "--batch"][..],
        &["pgtop", "--batch", "--interval", "soon"][..],
    ] {
        let out = bin().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("expected a duration"), "{args:?}: {err}");
    }
}

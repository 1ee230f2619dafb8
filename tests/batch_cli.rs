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

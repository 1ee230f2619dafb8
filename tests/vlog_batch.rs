//! `stacktop vlog --batch` through the real binary on the Varnish fixtures: one line per
//! request, exit 0 at the end of the input, JSON lines, stdin, `--count`, vlogdump filter
//! words and layout, and the exit codes for a bad filter / missing file.

#[path = "support/proc.rs"]
mod hermetic;

use std::io::Write;
use std::process::{Command, Output, Stdio};

const FIXTURE: &str = "tests/fixtures/varnish/varnish7-request.log";

fn bin() -> Command {
    let mut c = hermetic::hermetic_command(env!("CARGO_BIN_EXE_stacktop"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.arg("--no-user-config").stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn file_batch_prints_one_line_per_request_and_exits_0() {
    let o = run(&["vlog", "--file", FIXTURE, "--batch"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 215);
    assert!(out.lines().next().unwrap().starts_with(
        "2026-11-23T18:53:48.710Z 127.0.0.2 GET /static/asset-01.js HTTP/1.1 MISS 200 OK"
    ));
    assert_eq!(out.lines().filter(|l| l.contains(" HIT ")).count(), 98 - 2); // 2 grace hits
}

#[test]
fn json_batch_parses_and_filters_apply() {
    let o = run(&["vlog", "--file", FIXTURE, "--batch", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 215);
    assert!(rows
        .iter()
        .all(|r| r["url"].is_string() && r["handling"].is_string()));
    let o = run(&[
        "vlog",
        "--file",
        FIXTURE,
        "--batch",
        "--json",
        "only_status=5xx",
    ]);
    let n5: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(n5.len(), 6 + 3, "500×6 + 503×3");
    assert!(n5.iter().all(|r| r["status"].as_u64().unwrap() >= 500));
}

#[test]
fn stdin_count_and_vlogdump_layout() {
    let data = std::fs::read(format!("{}/{FIXTURE}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut child = bin()
        .args(["vlog", "-", "--batch", "--count", "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data); // the reader may stop early (count reached)
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().count(), 3);

    let o = run(&[
        "vlog",
        "--file",
        FIXTURE,
        "--batch",
        "--vlogdump-layout",
        "only_slow=1",
    ]);
    let out = stdout(&o);
    assert_eq!(
        out.lines().count(),
        6,
        "3 slow requests, two lines each:\n{out}"
    );
    assert!(
        out.contains(" => GET /slow/big-0?ms=1200 HTTP/1.1 MISS"),
        "{out}"
    );
}

#[test]
fn bad_filter_is_a_usage_error_and_a_missing_file_a_runtime_error() {
    let o = run(&["vlog", "--file", FIXTURE, "--batch", "url_match=("]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("vlog filter"));
    let o = run(&["vlog", "--file", "/nonexistent/varnish.log", "--batch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot open /nonexistent/varnish.log"));
}

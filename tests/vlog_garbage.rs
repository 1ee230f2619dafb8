//! Damaged input, from a real capture (tests/fixtures/varnish/varnish7-request.log, 215
//! requests, `-g request`): garbage lines injected inside records never put a field on the
//! wrong request (each printed request has exactly the URL and backend of the clean parse
//! for its vxid), every request is either printed or counted as malformed, an over-long line
//! is dropped (never parsed cut) and counted, and the batch CLI reports it all on stderr. A
//! binary capture given to `--file`, or a file that is not varnishlog text at all, exits 1
//! with a hint.

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};

use stacktop::vlog::{parse_all, Parser};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/varnish/varnish7-request.log"
);
const REQUESTS: usize = 215;

fn fixture() -> Vec<u8> {
    std::fs::read(FIXTURE).expect("fixture")
}

/// After every `every`th line, one line of garbage (cycling through several kinds: binary
/// bytes, an empty record, a record of a level the capture does not have, a broken header,
/// plain text). A well-formed record of the right level cannot be told from data.
fn inject(data: &[u8], every: usize) -> Vec<u8> {
    let kinds: [&[u8]; 5] = [
        b"\x00\x01\x02garbage\xff\xfe",
        b"-",
        b"--- BackendOpen    99 evil 10.0.0.1 80 10.0.0.2 1234 connect",
        b"*** not a header",
        b"random text in the middle of a record",
    ];
    let mut out = Vec::new();
    for (i, line) in data.split(|&c| c == b'\n').enumerate() {
        out.extend_from_slice(line);
        out.push(b'\n');
        // Inside groups only (between groups a stray record is an orphan, counted apart).
        if i % every == every - 1 && !line.is_empty() {
            out.extend_from_slice(kinds[(i / every) % kinds.len()]);
            out.push(b'\n');
        }
    }
    out
}

type Clean = HashMap<u64, (String, Option<String>)>;

fn clean() -> Clean {
    let (reqs, p) = parse_all(&fixture());
    assert_eq!(reqs.len(), REQUESTS);
    assert_eq!(p.malformed(), 0);
    reqs.iter()
        .map(|r| {
            let b = r.backend().map(|b| b.into_owned());
            (r.vxid, (r.url().into_owned(), b))
        })
        .collect()
}

#[test]
fn garbage_inside_records_never_lands_on_another_request() {
    let clean = clean();
    for every in [7usize, 13, 29, 50, 97] {
        let (got, p) = parse_all(&inject(&fixture(), every));
        for r in &got {
            let (url, backend) = clean.get(&r.vxid).expect("a vxid of the capture");
            assert_eq!(*url, r.url(), "every {every}: URL of {}", r.vxid);
            assert_eq!(
                backend.as_deref(),
                r.backend().as_deref(),
                "every {every}: backend of {} ({url})",
                r.vxid
            );
        }
        // Each request is printed or counted (one damaged request group = one malformed).
        assert_eq!(
            got.len() as u64 + p.malformed(),
            REQUESTS as u64,
            "every {every}: {} parsed, {} malformed",
            got.len(),
            p.malformed()
        );
        assert!(p.malformed() > 0 && p.garbage_lines() > 0, "every {every}");
    }
}

#[test]
fn an_over_long_line_is_dropped_and_its_request_counted() {
    let data = fixture();
    // One header of request `lab-0100` grows past the 1 MiB line limit.
    let needle = b"X-Request-Id: lab-0100";
    let at = data
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("lab-0100");
    let mut damaged = data[..at + needle.len()].to_vec();
    damaged.extend(std::iter::repeat_n(b'a', stacktop::vlog::parser::MAX_LINE));
    damaged.extend_from_slice(&data[at + needle.len()..]);
    let mut p = Parser::new();
    let mut got = Vec::new();
    for chunk in damaged.chunks(64 * 1024) {
        p.feed(chunk, &mut got);
    }
    p.finish(&mut got);
    let s = p.summary();
    assert_eq!(s.long_lines, 1);
    assert_eq!(s.malformed, 1);
    assert_eq!(got.len(), REQUESTS - 1);
    assert!(
        got.iter()
            .all(|r| r.req_header("X-Request-Id") != Some(b"lab-0100")),
        "the request with the cut line is not shown"
    );
    // The same line in one piece (not spanning chunks) is dropped the same way.
    let (whole, p2) = parse_all(&damaged);
    assert_eq!((whole.len(), p2.summary().long_lines), (REQUESTS - 1, 1));
}

fn stacktop(args: &[&str]) -> Output {
    let home = env!("CARGO_TARGET_TMPDIR");
    Command::new(env!("CARGO_BIN_EXE_stacktop"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .env("HOME", home)
        .arg("--no-user-config")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run stacktop")
}

#[test]
fn batch_on_a_damaged_capture_prints_only_whole_requests_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.log");
    std::fs::write(&path, inject(&fixture(), 29)).unwrap();
    let (expect, p) = parse_all(&inject(&fixture(), 29));
    let o = stacktop(&["vlog", "--batch", "--file", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count(),
        expect.len()
    );
    let want = format!(
        "{} requests read, {} printed, {} malformed",
        expect.len(),
        expect.len(),
        p.malformed()
    );
    assert!(err.contains(&want), "summary {want:?} in {err}");
}

#[test]
fn a_binary_capture_or_other_file_given_to_file_fails_with_a_hint() {
    let bin = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/varnish/varnish7-first8sessions.bin"
    );
    let o = stacktop(&["vlog", "--batch", "--file", bin]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(o.stdout.is_empty());
    assert!(
        err.contains("binary capture") && err.contains("--replay"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello\nthis is not a log\n").unwrap();
    let o = stacktop(&["vlog", "--batch", "--file", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not varnishlog text"), "{err}");
}

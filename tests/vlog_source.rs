//! The collector with real child processes: `cat` of a fixture standing in for `varnishlog`,
//! a child that dies (restart with backoff, stderr captured), a followed file, a missing
//! program. Every wait is bounded; tasks are aborted (children killed) at the end.

use std::time::{Duration, Instant};

use stacktop::vlog::collector;
use stacktop::vlog::input::{SourceConfig, VarnishlogArgs};
use stacktop::vlog::Format;
use stacktop::vlog::{InputStatus, VlogEvent};
use tokio::sync::mpsc;

fn fixture_path(name: &str) -> String {
    format!(
        "{}/tests/fixtures/varnish/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Collect events until `done` says so, or fail after `secs`.
async fn collect_until(
    rx: &mut mpsc::Receiver<VlogEvent>,
    secs: u64,
    mut done: impl FnMut(&[(Instant, VlogEvent)]) -> bool,
) -> Vec<(Instant, VlogEvent)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut evs = Vec::new();
    while !done(&evs) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) => evs.push((Instant::now(), e)),
            Ok(None) => break,
            Err(_) => panic!(
                "timed out; events so far: {:#?}",
                evs.iter().map(|e| short(&e.1)).collect::<Vec<_>>()
            ),
        }
    }
    evs
}

fn short(e: &VlogEvent) -> String {
    match e {
        VlogEvent::Requests(r) => format!("Requests({})", r.len()),
        other => format!("{other:?}"),
    }
}

fn requests(evs: &[(Instant, VlogEvent)]) -> usize {
    evs.iter()
        .map(|(_, e)| match e {
            VlogEvent::Requests(r) => r.len(),
            _ => 0,
        })
        .sum()
}

fn finished(evs: &[(Instant, VlogEvent)]) -> bool {
    evs.iter()
        .any(|(_, e)| *e == VlogEvent::Status(InputStatus::Finished))
}

#[tokio::test]
async fn cat_as_varnishlog_delivers_all_requests() {
    let (tx, mut rx) = mpsc::channel(4);
    let mut cfg = SourceConfig::command("cat", vec![fixture_path("varnish7-request.log")], false);
    cfg.batch_max = 50;
    let h = collector::spawn(cfg, tx);
    let evs = collect_until(&mut rx, 20, finished).await;
    h.abort();
    assert_eq!(requests(&evs), 215);
    let statuses: Vec<&VlogEvent> = evs
        .iter()
        .map(|e| &e.1)
        .filter(|e| matches!(e, VlogEvent::Status(_)))
        .collect();
    assert!(matches!(
        statuses[0],
        VlogEvent::Status(InputStatus::Started { pid: Some(_), .. })
    ));
    assert!(statuses.contains(&&VlogEvent::Status(InputStatus::Detected(Format::V4))));
    assert!(statuses.contains(&&VlogEvent::Status(InputStatus::Exited {
        code: Some(0),
        restart_in: None
    })));
    assert!(
        evs.iter()
            .all(|(_, e)| !matches!(e, VlogEvent::Requests(r) if r.len() > 50)),
        "batch_max respected"
    );
    assert!(!evs
        .iter()
        .any(|(_, e)| matches!(e, VlogEvent::Malformed(_))));
}

#[tokio::test]
async fn dying_child_is_restarted_with_backoff_and_stderr_is_shown() {
    let (tx, mut rx) = mpsc::channel(64);
    // Prints the 2.1 sample, complains on stderr, dies with status 3.
    let script = format!(
        "cat '{}'; echo \"varnishlog: VSM: Could not get hold of varnishd\" >&2; exit 3",
        fixture_path("varnish21-o.log")
    );
    let mut cfg = SourceConfig::command("sh", vec!["-c".into(), script], true);
    cfg.backoff_initial = Duration::from_millis(100);
    cfg.backoff_max = Duration::from_millis(400);
    let h = collector::spawn(cfg, tx);
    let exits = |evs: &[(Instant, VlogEvent)]| {
        evs.iter()
            .filter(|(_, e)| matches!(e, VlogEvent::Status(InputStatus::Exited { .. })))
            .count()
    };
    let evs = collect_until(&mut rx, 20, |e| exits(e) >= 4).await;
    h.abort();
    // Each run delivers its 70 requests; stderr captured each time.
    assert_eq!(requests(&evs), 4 * 70);
    let stderr: Vec<&String> = evs
        .iter()
        .filter_map(|(_, e)| match e {
            VlogEvent::Stderr(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(stderr.len(), 4);
    assert!(stderr
        .iter()
        .all(|s| s.as_str() == "varnishlog: VSM: Could not get hold of varnishd"));
    // Exponential backoff, capped.
    let waits: Vec<Duration> = evs
        .iter()
        .filter_map(|(_, e)| match e {
            VlogEvent::Status(InputStatus::Exited { code, restart_in }) => {
                assert_eq!(*code, Some(3));
                *restart_in
            }
            _ => None,
        })
        .collect();
    assert_eq!(waits, [100, 200, 400, 400].map(Duration::from_millis));
    // And really waited: each start comes at least the announced backoff after the exit.
    let mut last_exit: Option<(Instant, Duration)> = None;
    let mut starts = 0;
    for (t, e) in &evs {
        match e {
            VlogEvent::Status(InputStatus::Exited {
                restart_in: Some(w),
                ..
            }) => last_exit = Some((*t, *w)),
            VlogEvent::Status(InputStatus::Started { .. }) => {
                starts += 1;
                if let Some((te, w)) = last_exit.take() {
                    assert!(
                        t.duration_since(te) >= w - Duration::from_millis(5),
                        "restarted too early"
                    );
                }
            }
            _ => {}
        }
    }
    assert!(starts >= 4);
}

#[tokio::test]
async fn missing_program_reports_spawn_failure() {
    let (tx, mut rx) = mpsc::channel(8);
    let cfg = SourceConfig::command("/nonexistent/varnishlog", vec![], false);
    let h = collector::spawn(cfg, tx);
    let evs = collect_until(&mut rx, 10, finished).await;
    h.abort();
    match &evs[0].1 {
        VlogEvent::Status(InputStatus::SpawnFailed {
            error,
            restart_in: None,
        }) => {
            assert!(error.contains("Debian package `varnish`"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn followed_file_picks_up_appended_lines() {
    let data = std::fs::read(fixture_path("varnish21.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("varnishlog.txt");
    let half = data.len() / 2;
    std::fs::write(&path, &data[..half]).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let mut cfg = SourceConfig::file(&path, true);
    cfg.follow_poll = Duration::from_millis(20);
    cfg.batch_interval = Duration::from_millis(20);
    let h = collector::spawn(cfg, tx);
    let first = collect_until(&mut rx, 10, |e| requests(e) > 0).await;
    let n1 = requests(&first);
    assert!(n1 > 0 && n1 < 150);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&data[half..]).unwrap();
    }
    let rest = collect_until(&mut rx, 10, |e| n1 + requests(e) >= 150).await;
    h.abort();
    assert_eq!(n1 + requests(&rest), 150);
}

#[tokio::test]
async fn plain_file_and_malformed_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.log");
    // The 2.1 sample starts with a headless partial request: counted, not fatal.
    std::fs::copy(fixture_path("varnish21.log"), &path).unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let h = collector::spawn(SourceConfig::file(&path, false), tx);
    let evs = collect_until(&mut rx, 10, finished).await;
    h.abort();
    assert_eq!(requests(&evs), 150);
    let malformed: u64 = evs
        .iter()
        .map(|(_, e)| match e {
            VlogEvent::Malformed(n) => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(malformed, 1);
    assert!(evs
        .iter()
        .any(|(_, e)| *e == VlogEvent::Status(InputStatus::Detected(Format::V2))));
}

#[test]
fn varnishlog_arguments() {
    let a = VarnishlogArgs {
        instance: Some("edge1".into()),
        query: Some("ReqURL ~ \"^/api\"".into()),
        extra: vec!["-T".into(), "30".into()],
        ..Default::default()
    };
    assert_eq!(
        a.to_args(),
        [
            "-g",
            "request",
            "-n",
            "edge1",
            "-q",
            "ReqURL ~ \"^/api\"",
            "-T",
            "30"
        ]
    );
    let live = SourceConfig::varnishlog(&a);
    assert!(live.restart);
    let replay = SourceConfig::varnishlog(&VarnishlogArgs {
        read_file: Some("cap.bin".into()),
        ..Default::default()
    });
    assert!(!replay.restart, "a -r replay ends, it is not restarted");
}

/// A binary capture replayed through a real `varnishlog -r` (8 sessions, lab-0001..lab-0065).
#[tokio::test]
async fn binary_capture_through_varnishlog_r() {
    let (tx, mut rx) = mpsc::channel(16);
    let args = VarnishlogArgs {
        read_file: Some(fixture_path("varnish7-first8sessions.bin").into()),
        ..Default::default()
    };
    let h = collector::spawn(SourceConfig::varnishlog(&args), tx);
    let evs = collect_until(&mut rx, 30, |e| {
        finished(e)
            || e.iter()
                .any(|(_, e)| matches!(e, VlogEvent::Status(InputStatus::SpawnFailed { .. })))
    })
    .await;
    h.abort();
    if let Some(VlogEvent::Status(InputStatus::SpawnFailed { error, .. })) =
        evs.first().map(|e| &e.1)
    {
        panic!("varnishlog is needed for this test (Debian package `varnish`): {error}");
    }
    let mut ids: Vec<String> = evs
        .iter()
        .filter_map(|(_, e)| match e {
            VlogEvent::Requests(r) => Some(r),
            _ => None,
        })
        .flatten()
        .map(|r| String::from_utf8_lossy(r.req_header("X-Request-Id").unwrap_or(b"-")).into_owned())
        .collect();
    ids.sort();
    let want: Vec<String> = (1..=65).map(|i| format!("lab-{i:04}")).collect();
    assert_eq!(ids, want);
    assert!(evs.iter().any(|(_, e)| *e
        == VlogEvent::Status(InputStatus::Exited {
            code: Some(0),
            restart_in: None
        })));
}

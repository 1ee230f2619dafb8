//! `stacktop vlog --batch`: a stream, not snapshots. Each request that passes the filter is
//! printed as it arrives (compact text, vlogdump's layout, or JSON lines); `--count N` stops
//! after N requests. A file, stdin or replay ends with its input; a live varnishlog runs
//! until interrupted, or until [`START_ATTEMPTS`] starts in a row failed (varnishd not
//! running, varnishlog exiting or missing): then exit 1 with the reason on stderr. The
//! child's stderr and failures go to stderr; at the end a summary line (requests read,
//! printed, malformed, dropped lines) goes to stderr. Exit 1 when the input failed or was not
//! varnishlog text.
//!
//! Nothing is kept per request: each batch is printed and dropped (the ring and the
//! statistics are not fed), so memory stays flat whatever the output format.

use std::io::Write;

use tokio::sync::mpsc;

use super::msg::{InputStatus, VlogEvent};
use crate::app::App;
use crate::messages::{Payload, Update};
use crate::wire::{exit, Level};

/// Failed starts in a row (no request and no attached instance in between) after which a
/// live batch gives up with exit 1. With the default backoff (0.5 s, 1 s, 2 s) and
/// varnishlog's own wait for the instance, that is about 10 s when varnishd is not running.
pub const START_ATTEMPTS: u32 = 3;

/// Counters for the summary line.
#[derive(Debug, Default)]
struct Tally {
    read: u64,
    printed: u64,
    malformed: u64,
    garbage_lines: u64,
    long_lines: u64,
}

/// `give_up`: `--give-up-after` when given; then a live varnishlog that keeps failing is
/// retried for that long instead of [`START_ATTEMPTS`] starts.
pub async fn stream(
    mut app: App,
    mut updates: mpsc::Receiver<Update>,
    give_up: Option<std::time::Duration>,
) -> i32 {
    let json = app.config.batch.json;
    let count = app.config.batch.count;
    let mut t = Tally::default();
    let mut failures = 0u32;
    let mut last_error: Option<String> = None;
    let mut stdout = std::io::stdout();
    let mut out = String::new();
    let mut code = exit::OK;
    let mut down_since: Option<tokio::time::Instant> = None;
    loop {
        let next = match (give_up, down_since) {
            (Some(g), Some(d)) => match tokio::time::timeout_at(d + g, updates.recv()).await {
                Ok(n) => n,
                Err(_) => {
                    eprintln!(
                        "stacktop: vlog: giving up: the input has been failing for {} (--give-up-after): {}",
                        humantime::format_duration(g),
                        last_error.as_deref().unwrap_or("the source did not start")
                    );
                    code = exit::RUNTIME;
                    break;
                }
            },
            _ => updates.recv().await,
        };
        let Some(u) = next else { break };
        match &u.payload {
            Payload::Vlog(VlogEvent::Requests(reqs)) => {
                failures = 0;
                down_since = None;
                t.read += reqs.len() as u64;
                let v = &app.vlog;
                out.clear();
                let mut done = false;
                for r in reqs.iter().filter(|r| v.vlog_filter().matches(r)) {
                    out.push_str(&v.line(r, json));
                    out.push('\n');
                    t.printed += 1;
                    if count.is_some_and(|c| t.printed >= c) {
                        done = true;
                        break;
                    }
                }
                if stdout
                    .write_all(out.as_bytes())
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    return exit::OK; // stdout closed (e.g. piped into head): not an error
                }
                if done {
                    break;
                }
                if out.capacity() > 1 << 20 {
                    out = String::new(); // one huge batch does not stay allocated
                }
                continue; // the ring and statistics are not needed here
            }
            Payload::Vlog(VlogEvent::Summary(s)) => {
                t.malformed += s.malformed;
                t.garbage_lines += s.garbage_lines;
                t.long_lines += s.long_lines;
            }
            Payload::Vlog(VlogEvent::Status(st)) => match st {
                InputStatus::Attached => failures = 0,
                InputStatus::Gone { .. } | InputStatus::SpawnFailed { .. } => failures += 1,
                InputStatus::Exited { restart_in, code }
                    if restart_in.is_some() || *code != Some(0) =>
                {
                    failures += 1
                }
                InputStatus::Error(e) => last_error = Some(e.clone()),
                _ => {}
            },
            Payload::Notice { level, text } if *level != Level::Info => {
                eprintln!("stacktop: {text}");
            }
            Payload::Health(h) if h.is_failed() => {
                let d = h.describe();
                eprintln!("stacktop: {d}");
                last_error = Some(d);
            }
            _ => {}
        }
        let finished = matches!(
            u.payload,
            Payload::Vlog(VlogEvent::Status(InputStatus::Finished))
        );
        app.apply(u);
        if failures > 0 {
            down_since.get_or_insert_with(tokio::time::Instant::now);
        } else {
            down_since = None;
        }
        if give_up.is_none() && failures >= START_ATTEMPTS {
            eprintln!(
                "stacktop: giving up after {START_ATTEMPTS} failed starts: {}",
                last_error.as_deref().unwrap_or("the source did not start")
            );
            code = exit::RUNTIME;
            break;
        }
        if finished {
            break;
        }
    }
    if code == exit::OK && app.vlog.core.health.is_failed() {
        code = exit::RUNTIME;
    }
    eprintln!(
        "stacktop: vlog: {} requests read, {} printed, {} malformed, {} lines dropped ({} not understood, {} too long)",
        t.read,
        t.printed,
        t.malformed,
        t.garbage_lines + t.long_lines,
        t.garbage_lines,
        t.long_lines
    );
    code
}

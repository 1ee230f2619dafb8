//! The supervisor of the vlog collector's child process (`input::Input::Command`): start the
//! child (`varnishlog` / `vinyllog` or a wrapper), read its stdout through the parser
//! (`pump::pump`), forward its stderr (bounded: each line at most `STDERR_LINE_MAX` bytes,
//! read in pieces of that size), restart it with exponential backoff when it exits, restart it
//! at once for a new `-q` ([`super::input::QueryWatch`]), and watch the instance it reads
//! (`SourceConfig::probe`): before each start and every `probe_interval` while it runs, the
//! work directory's shared memory must name live processes, else `InputStatus::Gone` is sent
//! (the child is stopped, or not started) and the next try waits for the backoff. While the
//! instance is there the child is `Attached`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::mpsc;

use super::input::{QueryWatch, SourceConfig, VarnishlogArgs};
use super::instance::{self, Vsm};
use super::msg::{InputStatus, VlogEvent};
use super::pump::{pump, send, Closed, ReadState};

/// Longest stderr line forwarded (longer ones are cut); stderr is read in pieces of at
/// most this size, so a child cannot make us buffer more.
pub const STDERR_LINE_MAX: usize = 1024;

/// The live arguments with `query` in place of the current `-q`, when that changes them.
fn requery(live: &mut Option<VarnishlogArgs>, query: Option<String>) -> Option<Vec<String>> {
    let a = live.as_mut()?;
    if a.query == query {
        return None;
    }
    a.query = query;
    Some(a.to_args())
}

/// The probe's verdict (`Unknown` without a probe).
fn check(cfg: &SourceConfig) -> Vsm {
    match &cfg.probe {
        Some(p) => instance::probe(&p.dir, &p.daemon),
        None => Vsm::Unknown,
    }
}

/// Why a child was stopped by us.
enum Stopped {
    /// For a new query (these arguments).
    Requery(Vec<String>),
    /// The instance went away (already reported).
    Gone,
}

pub(super) async fn run_command(
    cfg: &SourceConfig,
    program: PathBuf,
    mut args: Vec<String>,
    tx: &mpsc::Sender<VlogEvent>,
    mut query: QueryWatch,
) -> Result<(), Closed> {
    let mut live = cfg.live_args.clone();
    let mut query_open = true;
    let mut backoff = cfg.backoff_initial;
    'run: loop {
        let display = std::iter::once(program.to_string_lossy().into_owned())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let restart_in = cfg.restart.then_some(backoff);
        let started = Instant::now();
        let mut stopped: Option<Stopped> = None;
        if let Vsm::Dead(reason) = check(cfg) {
            // No point starting a reader for an instance that is not there.
            let st = InputStatus::Gone { reason, restart_in };
            send(tx, VlogEvent::Status(st)).await?;
        } else {
            let mut cmd = Command::new(&program);
            cmd.args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                // Its own process group: ended with its children at exit (`crate::children`).
                .process_group(0);
            match cmd.spawn() {
                Err(e) => {
                    let hint = if e.kind() == std::io::ErrorKind::NotFound {
                        " (is Varnish installed? Debian package `varnish`; Vinyl Cache 9 names it vinyllog)"
                    } else {
                        ""
                    };
                    let error = format!("cannot start {}: {e}{hint}", program.display());
                    let st = InputStatus::SpawnFailed { error, restart_in };
                    send(tx, VlogEvent::Status(st)).await?;
                }
                Ok(mut child) => {
                    let pid = child.id();
                    if let Some(p) = pid {
                        crate::children::register(p);
                    }
                    let st = InputStatus::Started {
                        pid,
                        command: display.clone(),
                    };
                    send(tx, VlogEvent::Status(st)).await?;
                    let err_task = child
                        .stderr
                        .take()
                        .map(|e| tokio::spawn(forward_stderr(e, tx.clone())));
                    let mut st = ReadState::new(cfg, &display);
                    let mut attached = false;
                    if let Some(mut out) = child.stdout.take() {
                        // The pump is never cancelled (a batch in flight would be lost): a new
                        // query or a vanished instance kills the child and the pump reads its
                        // output to the end. SIGTERM lets varnishlog flush; SIGKILL if it is
                        // still there after a while.
                        let pump_fut = pump(&mut out, &mut st, tx, None);
                        tokio::pin!(pump_fut);
                        let mut kill_at: Option<tokio::time::Instant> = None;
                        let mut probe = tokio::time::interval(cfg.probe_interval);
                        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        loop {
                            tokio::select! {
                                r = &mut pump_fut => {
                                    r?;
                                    break;
                                }
                                c = query.changed(), if query_open && stopped.is_none() => match c {
                                    Ok(()) => {
                                        let q = query.borrow_and_update().clone();
                                        if let Some(a) = requery(&mut live, q.clone()) {
                                            let ev = InputStatus::Requery { query: q };
                                            send(tx, VlogEvent::Status(ev)).await?;
                                            stopped = Some(Stopped::Requery(a));
                                            terminate(&mut child);
                                            kill_at = Some(tokio::time::Instant::now() + STOP_GRACE);
                                        }
                                    }
                                    Err(_) => query_open = false,
                                },
                                _ = probe.tick(), if cfg.probe.is_some() && stopped.is_none() => {
                                    match check(cfg) {
                                        Vsm::Dead(reason) => {
                                            let st = InputStatus::Gone { reason, restart_in };
                                            send(tx, VlogEvent::Status(st)).await?;
                                            stopped = Some(Stopped::Gone);
                                            attached = false;
                                            terminate(&mut child);
                                            kill_at = Some(tokio::time::Instant::now() + STOP_GRACE);
                                        }
                                        Vsm::Alive | Vsm::Unknown if !attached => {
                                            attached = true;
                                            send(tx, VlogEvent::Status(InputStatus::Attached)).await?;
                                        }
                                        _ => {}
                                    }
                                }
                                _ = tokio::time::sleep_until(kill_at.unwrap_or_else(tokio::time::Instant::now)), if kill_at.is_some() => {
                                    kill_at = None;
                                    let _ = child.start_kill();
                                }
                            }
                        }
                    }
                    st.finish(tx).await?;
                    let code = match child.wait().await {
                        Ok(s) => {
                            if let Some(p) = pid {
                                crate::children::reaped(p);
                            }
                            s.code()
                        }
                        Err(_) => None,
                    };
                    if let Some(t) = err_task {
                        // stderr ends with the child; bounded wait in case a grandchild holds it.
                        let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
                    }
                    if started.elapsed() >= cfg.backoff_reset_after
                        && (attached || cfg.probe.is_none())
                    {
                        backoff = cfg.backoff_initial;
                    }
                    if stopped.is_none() {
                        let restart_in = cfg.restart.then_some(backoff);
                        let st = InputStatus::Exited { code, restart_in };
                        send(tx, VlogEvent::Status(st)).await?;
                    }
                }
            }
        }
        if let Some(Stopped::Requery(a)) = stopped {
            // Stopped on purpose: start again at once with the new query.
            args = a;
            backoff = cfg.backoff_initial;
            continue 'run;
        }
        let Some(wait) = cfg.restart.then_some(backoff) else {
            return send(tx, VlogEvent::Status(InputStatus::Finished)).await;
        };
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                _ = tx.closed() => return Err(Closed),
                c = query.changed(), if query_open => match c {
                    // While waiting to restart: start now, with the new query.
                    Ok(()) => {
                        let q = query.borrow_and_update().clone();
                        if let Some(a) = requery(&mut live, q.clone()) {
                            send(tx, VlogEvent::Status(InputStatus::Requery { query: q })).await?;
                            args = a;
                            backoff = cfg.backoff_initial;
                            continue 'run;
                        }
                    }
                    Err(_) => query_open = false,
                },
            }
        }
        backoff = (backoff * 2).min(cfg.backoff_max);
    }
}

/// How long a child stopped for a new query may take to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// SIGTERM to the child (varnishlog flushes and exits); nothing if it has already exited.
fn terminate(child: &mut tokio::process::Child) {
    match child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) on the PID of our own child, which has not been reaped yet
        // (`id()` is `None` once it has), so the PID cannot have been reused.
        Some(pid) => unsafe {
            libc::kill(pid, libc::SIGTERM);
        },
        None => {
            let _ = child.start_kill();
        }
    }
}

/// Splits a byte stream into lines of at most `max` bytes (the rest of a longer line is
/// skipped); never holds more than `max` bytes.
#[derive(Debug, Default)]
pub struct BoundedLines {
    cur: Vec<u8>,
    skipping: bool,
}

impl BoundedLines {
    /// Feeds bytes; calls `emit` for each finished line (cut lines end with `…`).
    pub fn feed(&mut self, data: &[u8], max: usize, mut emit: impl FnMut(String)) {
        for &c in data {
            if c == b'\n' {
                let line = String::from_utf8_lossy(&self.cur).trim_end().to_string();
                emit(if self.skipping { line + "…" } else { line });
                self.cur.clear();
                self.skipping = false;
            } else if self.cur.len() < max {
                self.cur.push(c);
            } else {
                self.skipping = true;
            }
        }
    }

    /// The last line without a newline, if any.
    pub fn finish(&mut self, emit: impl FnOnce(String)) {
        if !self.cur.is_empty() {
            let line = String::from_utf8_lossy(&self.cur).trim_end().to_string();
            emit(line);
            self.cur.clear();
        }
    }
}

async fn forward_stderr(mut err: tokio::process::ChildStderr, tx: mpsc::Sender<VlogEvent>) {
    let mut buf = vec![0u8; STDERR_LINE_MAX];
    let mut lines = BoundedLines::default();
    loop {
        let n = match err.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut out = Vec::new();
        lines.feed(&buf[..n], STDERR_LINE_MAX, |l| out.push(l));
        for l in out {
            if tx.send(VlogEvent::Stderr(l)).await.is_err() {
                return;
            }
        }
    }
    let mut last = None;
    lines.finish(|l| last = Some(l));
    if let Some(l) = last {
        let _ = tx.send(VlogEvent::Stderr(l)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedLines;

    #[test]
    fn stderr_lines_are_bounded() {
        let mut b = BoundedLines::default();
        let mut got = Vec::new();
        let long = vec![b'x'; 5000];
        b.feed(&long, 16, |l| got.push(l));
        assert!(b.cur.len() <= 16);
        b.feed(b"\nshort\npart", 16, |l| got.push(l));
        b.finish(|l| got.push(l));
        assert_eq!(
            got,
            vec![
                format!("{}…", "x".repeat(16)),
                "short".into(),
                "part".into()
            ]
        );
    }
}

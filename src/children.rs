//! Long-running child processes (the spawned `varnishlog`) are ended and reaped on every exit
//! path: quit, a signal, a vanished terminal, a panic on the UI thread.
//!
//! A child is started in its own process group (so a wrapper script's own children go with
//! it) and [`register`]ed; once its collector has waited for it, [`reaped`] forgets it. When
//! the UI or batch mode ends (normally or by a panic), [`kill_all`] kills the process group of
//! every child still registered while the runtime still owns them (not yet reaped, so the
//! group id cannot have been reused). Then [`Reaper`] (declared before the tokio runtime, so
//! dropped after it — no task can wait for a child any more) kills and waits for every child
//! still registered, bounded; it first checks, without reaping, that the pid is still an
//! unreaped child of this process, so a pid reused by another process is never signalled.

use std::sync::Mutex;
use std::time::{Duration, Instant};

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Records a child that leads its own process group.
pub fn register(pid: u32) {
    if let Ok(mut v) = CHILDREN.lock() {
        v.push(pid);
    }
}

/// The child was waited for: forget it.
pub fn reaped(pid: u32) {
    if let Ok(mut v) = CHILDREN.lock() {
        v.retain(|&p| p != pid);
    }
}

/// Sends SIGKILL to the process group of every registered child (call it before the runtime
/// is dropped: the children are still running or unreaped, their tasks are waiting for them).
pub fn kill_all() {
    let pids = match CHILDREN.lock() {
        Ok(v) => v.clone(),
        Err(_) => return,
    };
    for pid in pids {
        if let Ok(p) = libc::pid_t::try_from(pid) {
            // SAFETY: `p` leads a process group of ours whose collector has not reaped it yet.
            unsafe {
                libc::kill(-p, libc::SIGKILL);
            }
        }
    }
}

/// Ends and reaps every registered child when dropped (see the module doc).
pub struct Reaper;

impl Drop for Reaper {
    fn drop(&mut self) {
        reap_all();
    }
}

/// Kills (SIGKILL, whole process group) and waits for every registered child; each wait is
/// bounded to 2 s.
pub fn reap_all() {
    let pids = match CHILDREN.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(_) => return,
    };
    for pid in pids {
        let Ok(p) = libc::pid_t::try_from(pid) else {
            continue;
        };
        if !is_unreaped_child(p) {
            continue;
        }
        // SAFETY: `p` is our unreaped child, so neither its pid nor its group id can have been
        // reused; signalling them only affects that child and its group.
        unsafe {
            libc::kill(-p, libc::SIGKILL);
            libc::kill(p, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let mut status = 0;
            // SAFETY: plain waitpid on our own child.
            let r = unsafe { libc::waitpid(p, &mut status, libc::WNOHANG) };
            if r != 0 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Whether `pid` is a child of this process that has not been reaped (running or zombie).
fn is_unreaped_child(pid: libc::pid_t) -> bool {
    // SAFETY: WNOWAIT leaves the child waitable; `info` is a plain out-parameter.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT,
        ) == 0
    }
}

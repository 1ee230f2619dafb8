//! Ending the process on a signal, the same way in the UI and in batch mode.
//!
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT are caught (from the start of the async runtime on) so
//! the UI can restore the terminal and every exit path ends the children ([`crate::children`]);
//! the exit code is then the shell's convention, 128 + the signal number: 130 SIGINT,
//! 143 SIGTERM, 129 SIGHUP (also used when the terminal went away), 131 SIGQUIT. A SIGHUP
//! that was already ignored when stacktop started (`nohup`) stays ignored. In raw mode
//! `Ctrl-C` is a key, not SIGINT: it quits with 0.
//!
//! [`disable_core_dumps`] sets `RLIMIT_CORE` to 0 at start: a core file would hold the
//! passwords and query texts in memory.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// A signal that ends stacktop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
    Hangup,
    Quit,
}

impl Stop {
    /// The exit code: 128 + the signal number.
    pub fn exit_code(self) -> i32 {
        128 + match self {
            Stop::Interrupt => libc::SIGINT,
            Stop::Terminate => libc::SIGTERM,
            Stop::Hangup => libc::SIGHUP,
            Stop::Quit => libc::SIGQUIT,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
            Stop::Quit => "SIGQUIT",
        }
    }
}

/// The registered handlers. Create it inside the runtime, as early as possible.
pub struct Signals {
    int: Signal,
    term: Signal,
    quit: Signal,
    /// `None` when SIGHUP was ignored at start (`nohup stacktop …`).
    hup: Option<Signal>,
}

impl Signals {
    /// Registers the handlers (the default actions no longer apply from here on).
    pub fn new() -> std::io::Result<Signals> {
        let hup = if ignored(libc::SIGHUP) {
            None
        } else {
            Some(signal(SignalKind::hangup())?)
        };
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            quit: signal(SignalKind::quit())?,
            hup,
        })
    }

    /// Waits for the next stopping signal.
    pub async fn recv(&mut self) -> Stop {
        let hup = async {
            match self.hup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.int.recv() => Stop::Interrupt,
            _ = self.term.recv() => Stop::Terminate,
            _ = self.quit.recv() => Stop::Quit,
            _ = hup => Stop::Hangup,
        }
    }
}

/// Whether `sig`'s disposition is SIG_IGN (inherited from the parent).
fn ignored(sig: libc::c_int) -> bool {
    // SAFETY: a null new action only reads the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Sets the core-file size limit to 0 (soft and hard): no core dump can leak secrets.
pub fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct; lowering a limit needs no privilege.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Stop::Interrupt.exit_code(), 130);
        assert_eq!(Stop::Terminate.exit_code(), 143);
        assert_eq!(Stop::Hangup.exit_code(), 129);
        assert_eq!(Stop::Quit.exit_code(), 131);
    }
}

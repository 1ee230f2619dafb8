//! vlog's own messages: what the collector tells the view ([`VlogEvent`], inside
//! `Payload::Vlog`), including the input stream's lifecycle ([`InputStatus`]: started, read,
//! exited, gone, finished). The status line's health is derived from it by `vlog::source`.

use std::time::Duration;

use super::detect::Format;
use super::parser::ParseSummary;
use super::request::Request;

/// What the collector tells the view.
#[derive(Debug, Clone, PartialEq)]
pub enum VlogEvent {
    /// Parsed client requests, in log order.
    Requests(Vec<Request>),
    /// This many more malformed / truncated groups were skipped.
    Malformed(u64),
    Status(InputStatus),
    /// One line the child wrote on stderr (at most `supervisor::STDERR_LINE_MAX` bytes).
    Stderr(String),
    /// End of one input stream (a file, stdin, one run of a child): what the parser saw.
    Summary(ParseSummary),
    /// No vlog source runs: whether varnishd runs here and how to point at it.
    Hint(String),
    /// Replay only (a jump of the time cursor): the view starts over with these requests
    /// (the ones recorded in the minute before the cursor), its counters from zero.
    Replace(Vec<Request>),
}

/// The lifecycle of the input stream (a child, a file, stdin), not the status line's
/// health (`vlog::source` derives that from it).
#[derive(Debug, Clone, PartialEq)]
pub enum InputStatus {
    /// A child process was started (`command` is for display).
    Started { pid: Option<u32>, command: String },
    /// Reading a file or stdin.
    Reading { what: String },
    /// The input format was recognised.
    Detected(Format),
    /// The child exited; restarted after `restart_in` if set.
    Exited {
        code: Option<i32>,
        restart_in: Option<Duration>,
    },
    /// The child could not be started.
    SpawnFailed {
        error: String,
        restart_in: Option<Duration>,
    },
    /// A read error on the input.
    Error(String),
    /// The input ended and will not come back (file without follow, stdin, `-r` replay).
    Finished,
    /// The live `varnishlog` is being restarted for a new `-q` (`None`: no query); a
    /// `Started` follows (or `SpawnFailed`).
    Requery { query: Option<String> },
    /// The child runs and the instance is there (its shared memory names live processes).
    Attached,
    /// The daemon (varnishd / vinyld) does not run: the child was not started or was stopped;
    /// retried after `restart_in` if set.
    Gone {
        reason: String,
        restart_in: Option<Duration>,
    },
}

//! What the vlog collector reads and how ([`SourceConfig`]): a spawned program (`varnishlog`
//! with [`VarnishlogArgs`], or any command), stdin or a file; restart backoff, batching, the
//! instance [`Probe`] and the run-time `-q` ([`QueryWatch`]). Data only, no I/O.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;

/// Watch an instance's work directory while a live child runs ([`super::instance::probe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub dir: PathBuf,
    /// `varnishd` or `vinyld`, for messages.
    pub daemon: String,
}

/// The `-q` a live `varnishlog` should run with (`None` = no query), newest value only: when
/// it changes to something other than the current query, the child is restarted with it.
/// Ignored by stdin, files, replays and other programs.
pub type QueryWatch = watch::Receiver<Option<String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    #[default]
    Request,
    Vxid,
    Session,
}

/// Arguments for a spawned `varnishlog`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VarnishlogArgs {
    /// `-n NAME` instance.
    pub instance: Option<String>,
    pub grouping: Grouping,
    /// `-q QUERY` (e.g. from `Filter::vsl_query`).
    pub query: Option<String>,
    /// `-r FILE`: replay a binary capture.
    pub read_file: Option<PathBuf>,
    /// Anything else, appended as is.
    pub extra: Vec<String>,
}

impl VarnishlogArgs {
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec![
            "-g".to_string(),
            match self.grouping {
                Grouping::Request => "request",
                Grouping::Vxid => "vxid",
                Grouping::Session => "session",
            }
            .to_string(),
        ];
        if let Some(n) = &self.instance {
            a.push("-n".into());
            a.push(n.clone());
        }
        if let Some(r) = &self.read_file {
            a.push("-r".into());
            a.push(r.to_string_lossy().into_owned());
        }
        if let Some(q) = &self.query {
            a.push("-q".into());
            a.push(q.clone());
        }
        a.extend(self.extra.iter().cloned());
        a
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Spawn a program that writes varnishlog text on stdout.
    Command {
        program: PathBuf,
        args: Vec<String>,
    },
    Stdin,
    File {
        path: PathBuf,
        follow: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    pub input: Input,
    /// Restart the child when it exits (live `varnishlog`); off for replays.
    pub restart: bool,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A child that ran at least this long restarts after `backoff_initial` again.
    pub backoff_reset_after: Duration,
    /// Send a batch once it holds this many requests…
    pub batch_max: usize,
    /// …or this long after its first request.
    pub batch_interval: Duration,
    /// Poll interval for `File { follow: true }` at end of file.
    pub follow_poll: Duration,
    /// The arguments of a live spawned `varnishlog` whose `-q` may change at run time
    /// (a [`QueryWatch`] change rebuilds the command line from them). `None`: fixed arguments.
    pub live_args: Option<VarnishlogArgs>,
    /// The instance a live child reads: checked before each start and every
    /// `probe_interval` while it runs (not running: `Gone`, the child is stopped).
    pub probe: Option<Probe>,
    pub probe_interval: Duration,
}

impl SourceConfig {
    fn base(input: Input, restart: bool) -> Self {
        SourceConfig {
            input,
            restart,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            backoff_reset_after: Duration::from_secs(10),
            batch_max: 2048,
            batch_interval: Duration::from_millis(100),
            follow_poll: Duration::from_millis(200),
            live_args: None,
            probe: None,
            probe_interval: Duration::from_secs(1),
        }
    }

    /// Spawn `varnishlog` with these arguments; restarted when it dies unless it replays a file.
    pub fn varnishlog(args: &VarnishlogArgs) -> Self {
        Self::varnishlog_program("varnishlog", args)
    }

    /// Like [`SourceConfig::varnishlog`] with another program name or path. A live one (no
    /// `-r`) accepts a new `-q` at run time.
    pub fn varnishlog_program(program: impl Into<PathBuf>, args: &VarnishlogArgs) -> Self {
        let live = args.read_file.is_none();
        let mut c = Self::base(
            Input::Command {
                program: program.into(),
                args: args.to_args(),
            },
            live,
        );
        c.live_args = live.then(|| args.clone());
        c
    }

    /// Any program writing varnishlog text (tests, wrappers such as `ssh host varnishlog`).
    pub fn command(program: impl Into<PathBuf>, args: Vec<String>, restart: bool) -> Self {
        Self::base(
            Input::Command {
                program: program.into(),
                args,
            },
            restart,
        )
    }

    pub fn stdin() -> Self {
        Self::base(Input::Stdin, false)
    }

    pub fn file(path: impl Into<PathBuf>, follow: bool) -> Self {
        Self::base(
            Input::File {
                path: path.into(),
                follow,
            },
            false,
        )
    }
}

//! The collector, first stage of the vlog data flow: spawns `varnishlog` (default `-g request`,
//! `-n NAME`, a pushed-down `-q` query, extra args, or `-r FILE` for binary captures), or reads
//! stdin, or a text file (optionally followed). Bytes go through `parser::Parser`; batches of
//! [`Request`]s plus status / stderr / malformed events go to the view over a bounded tokio
//! channel (back-pressure: a slow view slows the reader, memory stays bounded). A dead child is
//! restarted with exponential backoff; its stderr is forwarded line by line. A live
//! `varnishlog` whose arguments are known ([`SourceConfig::live_args`]) takes a new `-q` at run
//! time (a [`QueryWatch`]): the child is stopped, its output read to the end (nothing
//! parsed is lost) and it is started again at once with the new query.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::detect::Format;
use super::parser::{ParseSummary, Parser};
use super::record::Request;

/// What the collector tells the view.
#[derive(Debug, Clone, PartialEq)]
pub enum VlogEvent {
    /// Parsed client requests, in log order.
    Requests(Vec<Request>),
    /// This many more malformed / truncated groups were skipped.
    Malformed(u64),
    Status(SourceStatus),
    /// One line the child wrote on stderr (at most `STDERR_LINE_MAX` bytes).
    Stderr(String),
    /// End of one input stream (a file, stdin, one run of a child): what the parser saw.
    Summary(ParseSummary),
    /// No vlog source runs: whether varnishd runs here and how to point at it.
    Hint(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
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

/// Watch an instance's work directory while a live child runs ([`instance::probe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub dir: PathBuf,
    /// `varnishd` or `vinyld`, for messages.
    pub daemon: String,
}

/// Longest stderr line forwarded (longer ones are cut); stderr is read in pieces of at
/// most this size, so a child cannot make us buffer more.
pub const STDERR_LINE_MAX: usize = 1024;

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

/// Start the collector task. It ends when the input is finished for good or when the
/// receiver is dropped; aborting the handle kills the child (`kill_on_drop`).
pub fn spawn(cfg: SourceConfig, tx: mpsc::Sender<VlogEvent>) -> JoinHandle<()> {
    let (_query_tx, query) = watch::channel(None);
    spawn_with_query(cfg, tx, query)
}

/// [`spawn`] with a query to follow ([`QueryWatch`]).
pub fn spawn_with_query(
    cfg: SourceConfig,
    tx: mpsc::Sender<VlogEvent>,
    query: QueryWatch,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = run(cfg, tx, query).await;
    })
}

/// The receiver went away.
pub(super) struct Closed;

pub(super) async fn send(tx: &mpsc::Sender<VlogEvent>, ev: VlogEvent) -> Result<(), Closed> {
    tx.send(ev).await.map_err(|_| Closed)
}

async fn run(
    cfg: SourceConfig,
    tx: mpsc::Sender<VlogEvent>,
    query: QueryWatch,
) -> Result<(), Closed> {
    match cfg.input.clone() {
        Input::Stdin => {
            send(
                &tx,
                VlogEvent::Status(SourceStatus::Reading {
                    what: "stdin".into(),
                }),
            )
            .await?;
            let mut st = ReadState::new(&cfg, "stdin");
            // A duplicate of fd 0 read through tokio's blocking file pool (no `io-std` feature).
            use std::os::fd::AsFd;
            let dup = std::io::stdin().as_fd().try_clone_to_owned();
            let mut input = match dup {
                Ok(fd) => tokio::fs::File::from_std(std::fs::File::from(fd)),
                Err(e) => {
                    let msg = format!("cannot read stdin: {e}");
                    return send(&tx, VlogEvent::Status(SourceStatus::Error(msg))).await;
                }
            };
            pump(&mut input, &mut st, &tx, None).await?;
            st.finish(&tx).await?;
            send(&tx, VlogEvent::Status(SourceStatus::Finished)).await
        }
        Input::File { path, follow } => run_file(&cfg, path, follow, &tx).await,
        Input::Command { program, args } => {
            super::child::run_command(&cfg, program, args, &tx, query).await
        }
    }
}

/// Parser + pending batch + counters for one input stream.
pub(super) struct ReadState {
    parser: Parser,
    batch: Vec<Request>,
    batch_started: Option<Instant>,
    batch_max: usize,
    interval: Duration,
    malformed_sent: u64,
    format_sent: bool,
    /// What is read (`stdin`, a path, a command), for messages.
    what: String,
    /// The input was found to be binary and reported: stop reading.
    binary_sent: bool,
}

impl ReadState {
    pub(super) fn new(cfg: &SourceConfig, what: &str) -> Self {
        ReadState {
            parser: Parser::new(),
            batch: Vec::new(),
            batch_started: None,
            batch_max: cfg.batch_max.max(1),
            interval: cfg.batch_interval,
            malformed_sent: 0,
            format_sent: false,
            what: what.to_string(),
            binary_sent: false,
        }
    }

    /// Parses a chunk; `Ok(true)` when the input turned out not to be text (reported).
    async fn feed(&mut self, data: &[u8], tx: &mpsc::Sender<VlogEvent>) -> Result<bool, Closed> {
        let before = self.batch.len();
        self.parser.feed(data, &mut self.batch);
        if self.batch.len() > before && self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        if self.parser.is_binary() {
            if !self.binary_sent {
                self.binary_sent = true;
                let msg = format!(
                    "{} looks like a binary capture (varnishlog -w), not varnishlog text: use --replay",
                    self.what
                );
                send(tx, VlogEvent::Status(SourceStatus::Error(msg))).await?;
            }
            return Ok(true);
        }
        self.after_parse(tx, false).await?;
        Ok(false)
    }

    async fn after_parse(
        &mut self,
        tx: &mpsc::Sender<VlogEvent>,
        force: bool,
    ) -> Result<(), Closed> {
        if !self.format_sent {
            if let Some(f) = self.parser.format() {
                self.format_sent = true;
                send(tx, VlogEvent::Status(SourceStatus::Detected(f))).await?;
                if f == Format::Raw {
                    let msg = "varnishlog -g raw output is not supported: use -g request";
                    send(tx, VlogEvent::Status(SourceStatus::Error(msg.into()))).await?;
                }
            }
        }
        let m = self.parser.malformed();
        if m > self.malformed_sent {
            send(tx, VlogEvent::Malformed(m - self.malformed_sent)).await?;
            self.malformed_sent = m;
        }
        let due = self
            .batch_started
            .is_some_and(|t| t.elapsed() >= self.interval);
        // Full batches go at once; a partial one when it is due (or at the end).
        while self.batch.len() >= self.batch_max {
            let b: Vec<Request> = self.batch.drain(..self.batch_max).collect();
            send(tx, VlogEvent::Requests(b)).await?;
        }
        if self.batch.is_empty() {
            self.batch_started = None;
        } else if force || due {
            let b = std::mem::take(&mut self.batch);
            self.batch_started = None;
            send(tx, VlogEvent::Requests(b)).await?;
        }
        Ok(())
    }

    pub(super) async fn finish(&mut self, tx: &mpsc::Sender<VlogEvent>) -> Result<(), Closed> {
        self.parser.finish(&mut self.batch);
        self.after_parse(tx, true).await?;
        let sum = self.parser.summary();
        if self.parser.format().is_none() && !self.binary_sent && sum.lines > 0 {
            let msg = format!(
                "{} is not varnishlog text: no record or group header in {} lines",
                self.what, sum.lines
            );
            send(tx, VlogEvent::Status(SourceStatus::Error(msg))).await?;
        }
        send(tx, VlogEvent::Summary(sum)).await
    }
}

/// Read until EOF (or a read error, reported), flushing batches on time.
pub(super) async fn pump<R: AsyncRead + Unpin>(
    r: &mut R,
    st: &mut ReadState,
    tx: &mpsc::Sender<VlogEvent>,
    mut read_total: Option<&mut u64>,
) -> Result<(), Closed> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut tick = tokio::time::interval(st.interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            res = r.read(&mut buf) => match res {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    if let Some(t) = read_total.as_deref_mut() {
                        *t += n as u64;
                    }
                    if st.feed(&buf[..n], tx).await? {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    send(tx, VlogEvent::Status(SourceStatus::Error(format!("read error: {e}")))).await?;
                    return Ok(());
                }
            },
            _ = tick.tick() => st.after_parse(tx, false).await?,
        }
    }
}

async fn run_file(
    cfg: &SourceConfig,
    path: PathBuf,
    follow: bool,
    tx: &mpsc::Sender<VlogEvent>,
) -> Result<(), Closed> {
    let what = path.display().to_string();
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            let msg = format!("cannot open {what}: {e}");
            return send(tx, VlogEvent::Status(SourceStatus::Error(msg))).await;
        }
    };
    send(
        tx,
        VlogEvent::Status(SourceStatus::Reading { what: what.clone() }),
    )
    .await?;
    let mut st = ReadState::new(cfg, &what);
    let mut pos = 0u64;
    loop {
        pump(&mut file, &mut st, tx, Some(&mut pos)).await?;
        if !follow || st.binary_sent {
            break;
        }
        st.after_parse(tx, true).await?;
        tokio::time::sleep(cfg.follow_poll).await;
        // Truncated or rotated in place: start over.
        if let Ok(meta) = tokio::fs::metadata(&path).await {
            if meta.len() < pos {
                st.finish(tx).await?;
                st = ReadState::new(cfg, &what);
                pos = 0;
                if let Err(e) = file.seek(std::io::SeekFrom::Start(0)).await {
                    let msg = format!("seek {what}: {e}");
                    return send(tx, VlogEvent::Status(SourceStatus::Error(msg))).await;
                }
            }
        }
    }
    st.finish(tx).await?;
    send(tx, VlogEvent::Status(SourceStatus::Finished)).await
}

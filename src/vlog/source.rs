//! The collector, first stage of the vlog data flow: spawns `varnishlog` (default `-g request`,
//! `-n NAME`, a pushed-down `-q` query, extra args, or `-r FILE` for binary captures), or reads
//! stdin, or a text file (optionally followed). Bytes go through `parser::Parser`; batches of
//! [`Request`]s plus status / stderr / malformed events go to the view over a bounded tokio
//! channel (back-pressure: a slow view slows the reader, memory stays bounded). A dead child is
//! restarted with exponential backoff; its stderr is forwarded line by line.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeekExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::detect::Format;
use super::parser::Parser;
use super::record::Request;

/// What the collector tells the view.
#[derive(Debug, Clone, PartialEq)]
pub enum VlogEvent {
    /// Parsed client requests, in log order.
    Requests(Vec<Request>),
    /// This many more malformed / truncated groups were skipped.
    Malformed(u64),
    Status(SourceStatus),
    /// One line the child wrote on stderr.
    Stderr(String),
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
}

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
        }
    }

    /// Spawn `varnishlog` with these arguments; restarted when it dies unless it replays a file.
    pub fn varnishlog(args: &VarnishlogArgs) -> Self {
        let restart = args.read_file.is_none();
        Self::base(
            Input::Command {
                program: "varnishlog".into(),
                args: args.to_args(),
            },
            restart,
        )
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
    tokio::spawn(async move {
        let _ = run(cfg, tx).await;
    })
}

/// The receiver went away.
struct Closed;

async fn send(tx: &mpsc::Sender<VlogEvent>, ev: VlogEvent) -> Result<(), Closed> {
    tx.send(ev).await.map_err(|_| Closed)
}

async fn run(cfg: SourceConfig, tx: mpsc::Sender<VlogEvent>) -> Result<(), Closed> {
    match cfg.input.clone() {
        Input::Stdin => {
            send(
                &tx,
                VlogEvent::Status(SourceStatus::Reading {
                    what: "stdin".into(),
                }),
            )
            .await?;
            let mut st = ReadState::new(&cfg);
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
        Input::Command { program, args } => run_command(&cfg, program, args, &tx).await,
    }
}

/// Parser + pending batch + counters for one input stream.
struct ReadState {
    parser: Parser,
    batch: Vec<Request>,
    batch_started: Option<Instant>,
    batch_max: usize,
    interval: Duration,
    malformed_sent: u64,
    format_sent: bool,
}

impl ReadState {
    fn new(cfg: &SourceConfig) -> Self {
        ReadState {
            parser: Parser::new(),
            batch: Vec::new(),
            batch_started: None,
            batch_max: cfg.batch_max.max(1),
            interval: cfg.batch_interval,
            malformed_sent: 0,
            format_sent: false,
        }
    }

    async fn feed(&mut self, data: &[u8], tx: &mpsc::Sender<VlogEvent>) -> Result<(), Closed> {
        let before = self.batch.len();
        self.parser.feed(data, &mut self.batch);
        if self.batch.len() > before && self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        self.after_parse(tx, false).await
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

    async fn finish(&mut self, tx: &mpsc::Sender<VlogEvent>) -> Result<(), Closed> {
        self.parser.finish(&mut self.batch);
        self.after_parse(tx, true).await
    }
}

/// Read until EOF (or a read error, reported), flushing batches on time.
async fn pump<R: AsyncRead + Unpin>(
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
                    st.feed(&buf[..n], tx).await?
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
    let mut st = ReadState::new(cfg);
    let mut pos = 0u64;
    loop {
        pump(&mut file, &mut st, tx, Some(&mut pos)).await?;
        if !follow {
            break;
        }
        st.after_parse(tx, true).await?;
        tokio::time::sleep(cfg.follow_poll).await;
        // Truncated or rotated in place: start over.
        if let Ok(meta) = tokio::fs::metadata(&path).await {
            if meta.len() < pos {
                st.finish(tx).await?;
                st = ReadState::new(cfg);
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

async fn run_command(
    cfg: &SourceConfig,
    program: PathBuf,
    args: Vec<String>,
    tx: &mpsc::Sender<VlogEvent>,
) -> Result<(), Closed> {
    let display = std::iter::once(program.to_string_lossy().into_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut backoff = cfg.backoff_initial;
    loop {
        let restart_in = cfg.restart.then_some(backoff);
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        match cmd.spawn() {
            Err(e) => {
                let hint = if e.kind() == std::io::ErrorKind::NotFound {
                    " (is Varnish installed? Debian package `varnish`)"
                } else {
                    ""
                };
                let error = format!("cannot start {}: {e}{hint}", program.display());
                send(
                    tx,
                    VlogEvent::Status(SourceStatus::SpawnFailed { error, restart_in }),
                )
                .await?;
            }
            Ok(mut child) => {
                let pid = child.id();
                send(
                    tx,
                    VlogEvent::Status(SourceStatus::Started {
                        pid,
                        command: display.clone(),
                    }),
                )
                .await?;
                let err_task = child
                    .stderr
                    .take()
                    .map(|e| tokio::spawn(forward_stderr(e, tx.clone())));
                let mut st = ReadState::new(cfg);
                if let Some(mut out) = child.stdout.take() {
                    pump(&mut out, &mut st, tx, None).await?;
                }
                st.finish(tx).await?;
                let code = match child.wait().await {
                    Ok(s) => s.code(),
                    Err(_) => None,
                };
                if let Some(t) = err_task {
                    // stderr ends with the child; bounded wait in case a grandchild holds it.
                    let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
                }
                if started.elapsed() >= cfg.backoff_reset_after {
                    backoff = cfg.backoff_initial;
                }
                let restart_in = cfg.restart.then_some(backoff);
                send(
                    tx,
                    VlogEvent::Status(SourceStatus::Exited { code, restart_in }),
                )
                .await?;
            }
        }
        let Some(wait) = cfg.restart.then_some(backoff) else {
            return send(tx, VlogEvent::Status(SourceStatus::Finished)).await;
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tx.closed() => return Err(Closed),
        }
        backoff = (backoff * 2).min(cfg.backoff_max);
    }
}

async fn forward_stderr(err: tokio::process::ChildStderr, tx: mpsc::Sender<VlogEvent>) {
    let mut r = BufReader::new(err);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                line.truncate(4096);
                let s = String::from_utf8_lossy(&line).trim_end().to_string();
                if tx.send(VlogEvent::Stderr(s)).await.is_err() {
                    return;
                }
            }
        }
    }
}

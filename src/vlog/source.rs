//! The vlog source task (the vlog arm of `sources::spawn`, like `pg::source`): turns `[vlog]` config into a [`SourceConfig`], starts
//! [`collector::spawn`] and forwards its [`VlogEvent`]s to the UI loop as
//! `messages::Update { view: Vlog, payload: Payload::Vlog(..) }`, plus `Payload::Health`
//! (child started / exited / restarting, with the child's last stderr line) and
//! `Payload::Notice` (stderr lines, detected format, a restart for a new `-q`). Called from
//! `sources::spawn`. With `push_down` and a live `varnishlog`, `SourceCommand::VlogQuery`
//! (sent by the view when a filter is committed) restarts the child with the new `-q`.

use chrono::{DateTime, Local};
use tokio::sync::mpsc;

use super::collector;
use super::filter::Filter;
use super::input::{Grouping, Input, Probe, SourceConfig, VarnishlogArgs};
use super::instance;
use super::msg::{InputStatus, VlogEvent};
use crate::config::{Config, VlogConfig, VlogGrouping};
use crate::messages::{Payload, SourceCommand, Update};
use crate::wire::{Level, SourceHealth, ViewKind};

/// Whether the vlog collector should run: batch mode on this view, the UI opening on it, or
/// an explicit input (file, stdin, replay, instance) in the config.
pub fn wanted(config: &Config, only: Option<ViewKind>) -> bool {
    match only {
        Some(v) => v == ViewKind::Vlog,
        None => {
            let c = &config.vlog;
            config.ui.start_view == ViewKind::Vlog
                || c.stdin
                || c.file.is_some()
                || c.replay.is_some()
                || c.instance.is_some()
        }
    }
}

/// The source configuration for `[vlog]` (the filter only matters with `push_down`; then a
/// live `varnishlog` also takes a new `-q` when the filter changes). Looks up `PATH` and
/// `VINYL_DEFAULT_N` / `VARNISH_DEFAULT_N` in the environment.
pub fn source_config(cfg: &VlogConfig, filter: &Filter) -> SourceConfig {
    let path = std::env::var_os("PATH");
    source_config_env(cfg, filter, path.as_deref(), &|k| std::env::var(k).ok())
}

/// [`source_config`] with an explicit `PATH` and environment lookup.
pub fn source_config_env(
    cfg: &VlogConfig,
    filter: &Filter,
    path: Option<&std::ffi::OsStr>,
    env: &dyn Fn(&str) -> Option<String>,
) -> SourceConfig {
    if cfg.stdin || cfg.file.as_deref().is_some_and(|f| f.as_os_str() == "-") {
        return SourceConfig::stdin();
    }
    if let Some(f) = &cfg.file {
        return SourceConfig::file(f.clone(), cfg.follow);
    }
    let program = instance::resolve_program(&cfg.command, path);
    let vinyl = instance::is_vinyl(&program);
    let live = cfg.replay.is_none();
    // Only a live log reader of the default program family gets the instance from the
    // environment and is watched; a wrapper (`ssh host varnishlog`) is taken as it is.
    let known = program
        .file_name()
        .is_some_and(|n| n == instance::VARNISHLOG || n == instance::VINYLLOG);
    let inst = if known && live {
        instance::default_instance(cfg.instance.as_deref(), vinyl, env)
    } else {
        cfg.instance.clone()
    };
    let pushed = if cfg.push_down {
        filter.vsl_query()
    } else {
        None
    };
    let args = VarnishlogArgs {
        instance: inst.clone(),
        grouping: match cfg.grouping {
            VlogGrouping::Request => Grouping::Request,
            VlogGrouping::Vxid => Grouping::Vxid,
            VlogGrouping::Session => Grouping::Session,
        },
        query: combine_query(cfg.query.as_deref(), pushed),
        read_file: cfg.replay.clone(),
        extra: cfg.args.clone(),
    };
    let mut sc = SourceConfig::command(&program, args.to_args(), live);
    if cfg.push_down && live {
        sc.live_args = Some(args);
    }
    if known && live {
        sc.probe = Some(Probe {
            dir: instance::work_dir(inst.as_deref(), vinyl),
            daemon: instance::daemon_name(&program).to_string(),
        });
    }
    sc
}

/// The `-q` for varnishlog: the configured query and the pushed-down filter, ANDed.
pub fn combine_query(configured: Option<&str>, pushed: Option<String>) -> Option<String> {
    match (configured.map(str::trim).filter(|q| !q.is_empty()), pushed) {
        (Some(c), Some(p)) => Some(format!("({c}) and ({p})")),
        (Some(c), None) => Some(c.to_string()),
        (None, p) => p,
    }
}

/// Starts the collector; returns its command sender. Only `VlogQuery` does something (see
/// the module doc); the stream is never paused at the source, pausing only freezes the
/// display.
pub fn spawn(cfg: &VlogConfig, tx: mpsc::Sender<Update>) -> mpsc::Sender<SourceCommand> {
    // A bad filter was rejected at start-up (run.rs); here it only feeds push-down.
    let filter = cfg.parsed_filter().unwrap_or_default();
    spawn_inner(source_config(cfg, &filter), tx, cfg.query.clone())
}

/// Starts the collector for an explicit [`SourceConfig`] (tests use short backoffs).
pub fn spawn_with(sc: SourceConfig, tx: mpsc::Sender<Update>) -> mpsc::Sender<SourceCommand> {
    spawn_inner(sc, tx, None)
}

/// `base_query`: the configured `-q`, ANDed with each pushed-down filter query.
fn spawn_inner(
    sc: SourceConfig,
    tx: mpsc::Sender<Update>,
    base_query: Option<String>,
) -> mpsc::Sender<SourceCommand> {
    let (ctx, mut crx) = mpsc::channel::<SourceCommand>(8);
    let (itx, mut irx) = mpsc::channel::<VlogEvent>(2);
    // The newest query only: never blocks, and the last filter committed always wins.
    let (query_tx, query_rx) = tokio::sync::watch::channel::<Option<String>>(None);
    let program = match &sc.input {
        Input::Command { program, .. } => program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.display().to_string()),
        _ => "input".into(),
    };
    tokio::spawn(async move {
        let handle = collector::spawn_with_query(sc, itx, query_rx);
        let mut fwd = Forwarder {
            tx,
            daemon: instance::daemon_name(std::path::Path::new(&program)),
            program,
            last_stderr: None,
            last_live: None,
            requery: None,
            down_since: None,
            down: None,
        };
        loop {
            tokio::select! {
                ev = irx.recv() => match ev {
                    Some(ev) => {
                        if fwd.forward(ev).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                cmd = crx.recv(), if !crx.is_closed() => {
                    // SetInterval / RefreshNow / Pause do not apply to a stream.
                    if let Some(SourceCommand::VlogQuery(q)) = cmd {
                        query_tx.send_replace(combine_query(base_query.as_deref(), q));
                    }
                }
            }
        }
        handle.abort(); // kills the child (kill_on_drop)
    });
    ctx
}

struct Forwarder {
    tx: mpsc::Sender<Update>,
    /// The program's file name (`varnishlog`, `vinyllog`…), for messages.
    program: String,
    /// The daemon it reads (`varnishd` / `vinyld`), for messages.
    daemon: &'static str,
    last_stderr: Option<String>,
    /// Second of the last `Live` health sent (at most one per second).
    last_live: Option<i64>,
    /// A restart for a new `-q` is under way (announced once the new child runs).
    requery: Option<Option<String>>,
    /// The source has been failing since then (kept across retries until data flows again).
    down_since: Option<DateTime<Local>>,
    /// The health sent while down (sent again when a retry starts a child).
    down: Option<SourceHealth>,
}

struct Closed;

/// Most updates queued for the consumer before a batch of requests waits (see `wait_room`).
const MAX_QUEUED: usize = 2;

/// Does a stderr line of varnishlog say that varnishd is not there (any more)?
pub fn says_gone(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "could not get hold",
        "is it running",
        "abandoned",
        "no such file",
        "vsm:",
    ]
    .iter()
    .any(|p| l.contains(p))
}

impl Forwarder {
    async fn send(&self, payload: Payload) -> Result<(), Closed> {
        self.tx
            .send(Update {
                view: ViewKind::Vlog,
                payload,
            })
            .await
            .map_err(|_| Closed)
    }

    /// Back-pressure by volume: a batch of requests waits while more than `MAX_QUEUED`
    /// updates are queued for the UI (or batch printer), so a slow consumer (JSON output)
    /// keeps a few batches in flight, not hundreds.
    async fn wait_room(&self) {
        while self.tx.max_capacity() - self.tx.capacity() > MAX_QUEUED && !self.tx.is_closed() {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    async fn live(&mut self, now: DateTime<Local>) -> Result<(), Closed> {
        self.down_since = None;
        self.down = None;
        let sec = now.timestamp();
        if self.last_live != Some(sec) {
            self.last_live = Some(sec);
            self.send(Payload::Health(SourceHealth::Live { at: now }))
                .await?;
        }
        Ok(())
    }

    async fn forward(&mut self, ev: VlogEvent) -> Result<(), Closed> {
        let now = Local::now();
        match &ev {
            VlogEvent::Requests(r) if !r.is_empty() => {
                self.live(now).await?;
                self.wait_room().await;
            }
            VlogEvent::Requests(_)
            | VlogEvent::Malformed(_)
            | VlogEvent::Summary(_)
            | VlogEvent::Hint(_)
            | VlogEvent::Replace(_) => {}
            VlogEvent::Stderr(line) => {
                let line = line.trim();
                if !line.is_empty() && !line.chars().all(|c| c == '.') {
                    self.last_stderr = Some(line.to_string());
                    let text = format!("{}: {line}", self.program);
                    self.send(Payload::Notice {
                        level: Level::Warn,
                        text,
                    })
                    .await?;
                    if says_gone(line) && self.down.is_none() {
                        let h = self.failed(self.not_running(line), None, now);
                        self.send(Payload::Health(h)).await?;
                    }
                }
            }
            VlogEvent::Status(st) => {
                if let Some(h) = self.health(st, now) {
                    self.last_live = None;
                    self.send(Payload::Health(h)).await?;
                }
                if let InputStatus::Detected(f) = st {
                    self.send(Payload::Notice {
                        level: Level::Info,
                        text: format!("{} format: {f:?}", self.program),
                    })
                    .await?;
                }
                match st {
                    InputStatus::Requery { query } => self.requery = Some(query.clone()),
                    InputStatus::Started { .. } => {
                        self.last_stderr = None;
                        if let Some(q) = self.requery.take() {
                            let text = match q {
                                Some(q) => format!("{} restarted with -q '{q}'", self.program),
                                None => format!("{} restarted without -q", self.program),
                            };
                            self.send(Payload::Notice {
                                level: Level::Info,
                                text,
                            })
                            .await?;
                        }
                    }
                    InputStatus::SpawnFailed { .. } => self.requery = None,
                    _ => {}
                }
            }
        }
        self.send(Payload::Vlog(ev)).await
    }

    /// `varnishd not running (why)`. No time here: the health around it says since when
    /// (`reconnecting since HH:MM:SS: varnishd not running (why)`, the time the trouble began).
    fn not_running(&self, why: &str) -> String {
        format!("{} not running ({why})", self.daemon)
    }

    /// A failure: the health to show, keeping the time the trouble began.
    fn failed(
        &mut self,
        error: String,
        restart_in: Option<std::time::Duration>,
        now: DateTime<Local>,
    ) -> SourceHealth {
        let since = *self.down_since.get_or_insert(now);
        let next_try = restart_in.and_then(|d| chrono::Duration::from_std(d).ok().map(|d| now + d));
        let error = match restart_in {
            Some(d) => format!("{error}; restarting in {}", humantime::format_duration(d)),
            None => error,
        };
        let h = SourceHealth::Reconnecting {
            since,
            error,
            next_try,
        };
        self.down = Some(h.clone());
        h
    }

    /// The health a status implies (`None`: unchanged).
    fn health(&mut self, st: &InputStatus, now: DateTime<Local>) -> Option<SourceHealth> {
        match st {
            InputStatus::Reading { .. } | InputStatus::Attached => {
                self.down_since = None;
                self.down = None;
                Some(SourceHealth::Live { at: now })
            }
            // A child runs, but nothing says the instance is there yet: not live. While
            // failing, the failure stays on screen until data flows or the probe attaches.
            InputStatus::Started { .. } => Some(
                self.down
                    .clone()
                    .unwrap_or(SourceHealth::Connecting { since: now }),
            ),
            InputStatus::Exited { code, restart_in } => {
                if restart_in.is_none() && *code == Some(0) {
                    return None; // a replay that ended normally
                }
                if self.down_since.is_none() {
                    self.down_since = Some(now);
                }
                let error = match &self.last_stderr {
                    Some(l) if says_gone(l) => self.not_running(l),
                    l => {
                        let code =
                            code.map_or("killed by a signal".to_string(), |c| format!("code {c}"));
                        let mut e = format!("{} exited ({code})", self.program);
                        if let Some(l) = l {
                            e.push_str(": ");
                            e.push_str(l);
                        }
                        e
                    }
                };
                Some(self.failed(error, *restart_in, now))
            }
            InputStatus::Gone { reason, restart_in } => {
                if self.down_since.is_none() {
                    self.down_since = Some(now);
                }
                let why = match &self.last_stderr {
                    Some(l) => format!("{reason}; {}: {l}", self.program),
                    None => reason.clone(),
                };
                let error = self.not_running(&why);
                Some(self.failed(error, *restart_in, now))
            }
            InputStatus::SpawnFailed { error, restart_in } => {
                Some(self.failed(error.clone(), *restart_in, now))
            }
            InputStatus::Error(e) => Some(self.failed(e.clone(), None, now)),
            InputStatus::Detected(_) | InputStatus::Finished | InputStatus::Requery { .. } => None,
        }
    }
}

/// With no vlog source: tells the tab (`VlogEvent::Hint`) whether varnishd / vinyld runs
/// here and how to point at it, again every few seconds when that changes. Ends when the
/// channel closes.
pub fn spawn_hint(cfg: &VlogConfig, tx: mpsc::Sender<Update>) {
    let instance = cfg.instance.clone();
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            let inst = instance.clone();
            let Ok(hint) =
                tokio::task::spawn_blocking(move || instance::first_run_hint(inst.as_deref()))
                    .await
            else {
                return;
            };
            if hint != last {
                last = hint.clone();
                let u = Update {
                    view: ViewKind::Vlog,
                    payload: Payload::Vlog(VlogEvent::Hint(hint)),
                };
                if tx.send(u).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                _ = tx.closed() => return,
            }
        }
    });
}

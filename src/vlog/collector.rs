//! The shell side of the vlog source: turns `[vlog]` config into a [`SourceConfig`], starts
//! [`source::spawn`] and forwards its [`VlogEvent`]s to the UI loop as
//! `collect::Update { view: Vlog, payload: Payload::Vlog(..) }`, plus `Payload::Health`
//! (child started / exited / restarting, with the child's last stderr line) and
//! `Payload::Notice` (stderr lines, detected format, a restart for a new `-q`). Called from
//! `sources::spawn`. With `push_down` and a live `varnishlog`, `SourceCommand::VlogQuery`
//! (sent by the view when a filter is committed) restarts the child with the new `-q`.

use chrono::{DateTime, Local};
use tokio::sync::mpsc;

use super::filter::Filter;
use super::source::{self, Grouping, SourceConfig, SourceStatus, VarnishlogArgs, VlogEvent};
use crate::app::Level;
use crate::collect::{Payload, SourceCommand, SourceHealth, Update};
use crate::config::{Config, ViewKind, VlogConfig, VlogGrouping};

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
/// live `varnishlog` also takes a new `-q` when the filter changes).
pub fn source_config(cfg: &VlogConfig, filter: &Filter) -> SourceConfig {
    if cfg.stdin || cfg.file.as_deref().is_some_and(|f| f.as_os_str() == "-") {
        return SourceConfig::stdin();
    }
    if let Some(f) = &cfg.file {
        return SourceConfig::file(f.clone(), cfg.follow);
    }
    let args = VarnishlogArgs {
        instance: cfg.instance.clone(),
        grouping: match cfg.grouping {
            VlogGrouping::Request => Grouping::Request,
            VlogGrouping::Vxid => Grouping::Vxid,
            VlogGrouping::Session => Grouping::Session,
        },
        query: if cfg.push_down {
            filter.vsl_query()
        } else {
            None
        },
        read_file: cfg.replay.clone(),
        extra: cfg.args.clone(),
    };
    let mut sc = SourceConfig::command(&cfg.command, args.to_args(), cfg.replay.is_none());
    if cfg.push_down && cfg.replay.is_none() {
        sc.live_args = Some(args);
    }
    sc
}

/// Starts the collector; returns its command sender. Only `VlogQuery` does something (see
/// the module doc); the stream is never paused at the source, pausing only freezes the
/// display.
pub fn spawn(cfg: &VlogConfig, tx: mpsc::Sender<Update>) -> mpsc::Sender<SourceCommand> {
    // A bad filter was rejected at start-up (run.rs); here it only feeds push-down.
    let filter = cfg.parsed_filter().unwrap_or_default();
    spawn_with(source_config(cfg, &filter), tx)
}

/// Starts the collector for an explicit [`SourceConfig`] (tests use short backoffs).
pub fn spawn_with(sc: SourceConfig, tx: mpsc::Sender<Update>) -> mpsc::Sender<SourceCommand> {
    let (ctx, mut crx) = mpsc::channel::<SourceCommand>(8);
    let (itx, mut irx) = mpsc::channel::<VlogEvent>(64);
    // The newest query only: never blocks, and the last filter committed always wins.
    let (query_tx, query_rx) = tokio::sync::watch::channel::<Option<String>>(None);
    let program = match &sc.input {
        source::Input::Command { program, .. } => program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.display().to_string()),
        _ => "input".into(),
    };
    tokio::spawn(async move {
        let handle = source::spawn_with_query(sc, itx, query_rx);
        let mut fwd = Forwarder {
            tx,
            program,
            last_stderr: None,
            last_live: None,
            requery: None,
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
                        query_tx.send_replace(q);
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
    program: String,
    last_stderr: Option<String>,
    /// Second of the last `Live` health sent (at most one per second).
    last_live: Option<i64>,
    /// A restart for a new `-q` is under way (announced once the new child runs).
    requery: Option<Option<String>>,
}

struct Closed;

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

    async fn live(&mut self, now: DateTime<Local>) -> Result<(), Closed> {
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
            VlogEvent::Requests(_) => self.live(now).await?,
            VlogEvent::Malformed(_) => {}
            VlogEvent::Stderr(line) => {
                if !line.trim().is_empty() {
                    self.last_stderr = Some(line.trim().to_string());
                    let text = format!("{}: {}", self.program, line.trim());
                    self.send(Payload::Notice {
                        level: Level::Warn,
                        text,
                    })
                    .await?;
                }
            }
            VlogEvent::Status(st) => {
                if let Some(h) = self.health(st, now) {
                    self.last_live = None;
                    self.send(Payload::Health(h)).await?;
                }
                if let SourceStatus::Detected(f) = st {
                    self.send(Payload::Notice {
                        level: Level::Info,
                        text: format!("varnishlog format: {f:?}"),
                    })
                    .await?;
                }
                match st {
                    SourceStatus::Requery { query } => self.requery = Some(query.clone()),
                    SourceStatus::Started { .. } => {
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
                    SourceStatus::SpawnFailed { .. } => self.requery = None,
                    _ => {}
                }
            }
        }
        self.send(Payload::Vlog(ev)).await
    }

    /// The health a status implies (`None`: unchanged).
    fn health(&self, st: &SourceStatus, now: DateTime<Local>) -> Option<SourceHealth> {
        let failed = |error: String, restart_in: Option<std::time::Duration>| {
            let next_try =
                restart_in.and_then(|d| chrono::Duration::from_std(d).ok().map(|d| now + d));
            let error = match restart_in {
                Some(d) => format!("{error}; restarting in {}", humantime::format_duration(d)),
                None => error,
            };
            SourceHealth::Reconnecting {
                since: now,
                error,
                next_try,
            }
        };
        match st {
            SourceStatus::Started { .. } | SourceStatus::Reading { .. } => {
                Some(SourceHealth::Live { at: now })
            }
            SourceStatus::Exited { code, restart_in } => {
                if restart_in.is_none() && *code == Some(0) {
                    return None; // a replay that ended normally
                }
                let code = code.map_or("killed by a signal".to_string(), |c| format!("code {c}"));
                let mut error = format!("{} exited ({code})", self.program);
                if let Some(l) = &self.last_stderr {
                    error.push_str(": ");
                    error.push_str(l);
                }
                Some(failed(error, *restart_in))
            }
            SourceStatus::SpawnFailed { error, restart_in } => {
                Some(failed(error.clone(), *restart_in))
            }
            SourceStatus::Error(e) => Some(failed(e.clone(), None)),
            SourceStatus::Detected(_) | SourceStatus::Finished | SourceStatus::Requery { .. } => {
                None
            }
        }
    }
}

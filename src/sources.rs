//! Starts the collector task of each source that was asked for and keeps their command
//! channels. A view's source runs only when
//! - the config or a flag names a target for it ([`configured`]: `[pgtop]` connection keys,
//!   `[[repl.servers]]`, `[vlog]` file / stdin / replay / instance, any `[spotify]` setting), or
//! - it is the view the command opens (`stacktop vlog …` starts vlog; plain `stacktop` starts
//!   its start view), or
//! - the user asks for it in its tab (`Enter` on an empty tab or `:connect`: the view returns
//!   `Effect::StartSource`, the run loop calls [`Sources::start`]).
//!
//! Batch mode runs the opened view's source only. The pgtop slow log and Slack alerts live in
//! the pgtop collector, so an instance that does not watch PostgreSQL writes and sends nothing.

use std::collections::HashMap;

use crate::config::Config;
use crate::messages::{SourceCommand, Update};
use crate::wire::ViewKind;
use tokio::sync::mpsc;

/// Command channels to the running collectors, by view.
pub type SourceHandles = HashMap<ViewKind, mpsc::Sender<SourceCommand>>;

/// Whether the config (all layers, flags included) names a target for `view`.
pub fn configured(config: &Config, view: ViewKind) -> bool {
    match view {
        ViewKind::Pgtop => config.pgtop.names_target(),
        ViewKind::Repl => !config.repl.servers.is_empty(),
        ViewKind::Vlog => {
            let c = &config.vlog;
            c.stdin || c.file.is_some() || c.replay.is_some() || c.instance.is_some()
        }
        ViewKind::Spotify => config.spotify != crate::spotify::config::SpotifyConfig::default(),
    }
}

/// Whether `view`'s source starts on the view's first request (the explorer's local store)
/// rather than from `Enter` / `:connect` on its empty tab.
pub fn starts_on_first_request(view: ViewKind) -> bool {
    view == ViewKind::Spotify
}

/// The running sources plus what it takes to start another one later.
pub struct Sources {
    handles: SourceHandles,
    config: Config,
    tx: mpsc::Sender<Update>,
    /// the incident bundle key's writer (live runs: the recorder's memory of the last minutes)
    pub bundler: Option<crate::record::bundle::Bundler>,
}

impl Sources {
    /// Starts every configured source (the headless recorder: nothing is opened). Returns the
    /// sources and, per configured view that could not start, why.
    pub fn start_configured(config: &Config, tx: mpsc::Sender<Update>) -> (Self, Vec<String>) {
        let mut s = Sources {
            handles: SourceHandles::new(),
            config: config.clone(),
            tx,
            bundler: None,
        };
        let mut errors = Vec::new();
        for view in ViewKind::ALL {
            if configured(config, view) {
                if let Err(e) = s.start(view) {
                    errors.push(e);
                }
            }
        }
        (s, errors)
    }

    /// Starts the sources of a run: batch mode the opened view's only; the UI the opened
    /// view's and every configured one. Must be called inside a tokio runtime.
    pub fn start_for(
        config: &Config,
        open: ViewKind,
        batch: bool,
        tx: mpsc::Sender<Update>,
    ) -> Self {
        let mut s = Sources {
            handles: SourceHandles::new(),
            config: config.clone(),
            tx,
            bundler: None,
        };
        for view in ViewKind::ALL {
            let wanted = if batch {
                view == open
            } else {
                view == open || configured(config, view)
            };
            if wanted {
                // a view that cannot start says so in its own tab (it stays "no source")
                let _ = s.start(view);
            }
        }
        if !batch && !s.running(ViewKind::Vlog) {
            // The tab says whether varnishd runs and how to point at it.
            crate::vlog::source::spawn_hint(&config.vlog, s.tx.clone());
        }
        s
    }

    /// Sources already running, one channel per view (`stacktop replay PATH`: the replay
    /// source answers for every view, so [`Sources::start`] never starts a live one).
    pub fn fixed(config: &Config, handles: SourceHandles, tx: mpsc::Sender<Update>) -> Self {
        Sources {
            handles,
            config: config.clone(),
            tx,
            bundler: None,
        }
    }

    /// Starts `view`'s source with the config's settings (defaults where it has none).
    /// Ok(false): it was already running. Err: it cannot run without settings.
    pub fn start(&mut self, view: ViewKind) -> Result<bool, String> {
        self.start_with_env(view, &crate::pg::conninfo::Env::system())
    }

    /// [`Sources::start`] with the libpq environment given (tests pass an empty one).
    pub fn start_with_env(
        &mut self,
        view: ViewKind,
        pg_env: &crate::pg::conninfo::Env,
    ) -> Result<bool, String> {
        if self.handles.contains_key(&view) {
            return Ok(false);
        }
        let c = &self.config;
        let tx = self.tx.clone();
        let cmd = match view {
            ViewKind::Pgtop => {
                crate::pg::source::spawn(&c.pgtop, c.ui.refresh.get(), c.ui.read_only, pg_env, tx)
            }
            // the embedded SQLite file by default
            ViewKind::Spotify => crate::spotify::source::spawn(c.spotify.clone(), tx),
            // `varnishlog -g request` on the default instance by default
            ViewKind::Vlog => crate::vlog::source::spawn(&c.vlog, tx),
            ViewKind::Repl => crate::repl::source::spawn(&c.repl, c.ui.refresh.get(), tx)
                .ok_or_else(|| {
                    "replication: no server configured: add [[repl.servers]] to the config or \
                     run stacktop repl --server NAME=[USER@]HOST[:PORT]"
                        .to_string()
                })?,
        };
        self.handles.insert(view, cmd);
        Ok(true)
    }

    /// The command channel of `view`'s source, if it runs.
    pub fn get(&self, view: &ViewKind) -> Option<&mpsc::Sender<SourceCommand>> {
        self.handles.get(view)
    }

    /// Whether `view`'s source runs.
    pub fn running(&self, view: ViewKind) -> bool {
        self.handles.contains_key(&view)
    }

    pub fn into_handles(self) -> SourceHandles {
        self.handles
    }
}

/// Starts the sources for `config`: `only` = that view's source alone (batch mode, tests);
/// `None` = every configured one. Must be called inside a tokio runtime.
pub fn spawn(config: &Config, only: Option<ViewKind>, tx: mpsc::Sender<Update>) -> SourceHandles {
    spawn_with_env(config, only, tx, &crate::pg::conninfo::Env::system())
}

/// [`spawn`] with the libpq environment (`PG*` variables, home for `.pgpass`, OS user) given
/// instead of read from the process: tests pass an empty one so the developer's settings never
/// leak in.
pub fn spawn_with_env(
    config: &Config,
    only: Option<ViewKind>,
    tx: mpsc::Sender<Update>,
    pg_env: &crate::pg::conninfo::Env,
) -> SourceHandles {
    let mut s = Sources {
        handles: SourceHandles::new(),
        config: config.clone(),
        tx,
        bundler: None,
    };
    for view in ViewKind::ALL {
        let wanted = match only {
            Some(v) => v == view,
            None => configured(config, view),
        };
        if wanted {
            let _ = s.start_with_env(view, pg_env);
        }
    }
    s.into_handles()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_named_targets_count_as_configured() {
        let mut c = Config::default();
        for v in ViewKind::ALL {
            assert!(!configured(&c, v), "{v:?} configured by default");
        }
        c.pgtop.slow_threshold = std::time::Duration::from_secs(1);
        assert!(
            !configured(&c, ViewKind::Pgtop),
            "a threshold names no server"
        );
        c.pgtop.host = Some("db1".into());
        assert!(configured(&c, ViewKind::Pgtop));
        c.vlog.file = Some("x.log".into());
        assert!(configured(&c, ViewKind::Vlog));
        c.spotify.backend = crate::spotify::config::Backend::Mysql;
        assert!(configured(&c, ViewKind::Spotify));
        assert!(!configured(&c, ViewKind::Repl));
    }
}

//! Starts the collector task of each configured source and returns their command channels.
//! `only` restricts this to one view (batch mode). Each view's arm is a small function in its
//! own module.

use crate::collect::Update;
use crate::config::{Config, ViewKind};
use crate::tui::SourceHandles;
use tokio::sync::mpsc;

/// Spawns the collectors for `config`. Views without a configured source stay idle.
/// Must be called inside a tokio runtime.
pub fn spawn(config: &Config, only: Option<ViewKind>, tx: mpsc::Sender<Update>) -> SourceHandles {
    let mut handles = SourceHandles::new();
    let wanted = |k: ViewKind| only.is_none_or(|o| o == k);
    // pgtop needs no settings (libpq defaults, PG* variables, .pgpass), so it always runs.
    if wanted(ViewKind::Pgtop) {
        let cmd = crate::pg::source::spawn(
            &config.pgtop,
            config.ui.refresh.get(),
            config.ui.read_only,
            &crate::pg::conninfo::Env::system(),
            tx.clone(),
        );
        handles.insert(ViewKind::Pgtop, cmd);
    }
    if wanted(ViewKind::Spotify) {
        // The explorer always has a store: the embedded SQLite file by default.
        handles.insert(
            ViewKind::Spotify,
            crate::spotify::source::spawn(config.spotify.clone(), tx.clone()),
        );
    }
    if crate::vlog::collector::wanted(config, only) {
        let cmd = crate::vlog::collector::spawn(&config.vlog, tx.clone());
        handles.insert(ViewKind::Vlog, cmd);
    } else if only.is_none() {
        // The tab says whether varnishd runs and how to point at it.
        crate::vlog::collector::spawn_hint(&config.vlog, tx.clone());
    }
    if wanted(ViewKind::Repl) {
        if let Some(h) = crate::repl::source::spawn(&config.repl, config.ui.refresh.get(), tx) {
            handles.insert(ViewKind::Repl, h);
        }
    }
    handles
}

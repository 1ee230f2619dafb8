//! The replication view's source for the shell: starts the per-server collectors
//! ([`super::collector`]) for `[repl]`, forwards every [`ServerSnapshot`] as
//! `Update { view: Repl, payload: Payload::Repl(..) }` on the shell's bounded channel, and
//! turns the UI's [`SourceCommand`]s (interval, refresh now, pause) into collector controls.
//! Called from `sources::spawn`; ends when the UI side of the channel is dropped.

use std::time::Duration;

use tokio::sync::mpsc;

use super::collector::{self, Control};
use super::snapshot::ServerSnapshot;
use crate::config::ReplConfig;
use crate::messages::{Payload, SourceCommand, Update};
use crate::wire::{SourceHealth, ViewKind};

/// Starts the collectors of `cfg.servers`; with none configured, of the local server found
/// by [`super::discover::local`] (`~/.my.cnf`, the default socket, 127.0.0.1:3306), saying on
/// the status line which one it uses and labelling its snapshots (`discovered`) for the tab. `default_refresh` is `ui.refresh`, used when
/// `repl.refresh` is unset. Always `Some` (kept an `Option` for the callers).
pub fn spawn(
    cfg: &ReplConfig,
    default_refresh: Duration,
    tx: mpsc::Sender<Update>,
) -> Option<mpsc::Sender<SourceCommand>> {
    let (servers, found) = if cfg.servers.is_empty() {
        let l = super::discover::local();
        (vec![l.server], Some((l.how, l.label)))
    } else {
        (cfg.servers.clone(), None)
    };
    let interval = cfg
        .refresh
        .map_or(default_refresh, |d| d.get())
        .max(Duration::from_millis(100));
    let control = Control {
        backoff_max: cfg.reconnect_max.get().max(Duration::from_millis(100)),
        ..Control::new(interval)
    };
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    tokio::spawn(forward(servers, found, control, tx, cmd_rx));
    Some(cmd_tx)
}

async fn forward(
    servers: Vec<super::ServerConfig>,
    found: Option<(String, String)>,
    control: Control,
    tx: mpsc::Sender<Update>,
    mut commands: mpsc::Receiver<SourceCommand>,
) {
    let send = |payload| {
        tx.send(Update {
            view: ViewKind::Repl,
            payload,
        })
    };
    let connecting = SourceHealth::Connecting {
        since: chrono::Local::now(),
    };
    if send(Payload::Health(connecting)).await.is_err() {
        return;
    }
    // The notice says it once; the label stays on every snapshot (the tab shows it).
    let mut label = None;
    if let Some((text, l)) = found {
        label = Some(l);
        let level = crate::wire::Level::Info;
        if send(Payload::Notice { level, text }).await.is_err() {
            return;
        }
    }
    let (snap_tx, mut snaps) = mpsc::channel::<ServerSnapshot>(64);
    let handle = collector::spawn_controlled(servers, control, snap_tx);
    let mut commands_open = true;
    loop {
        tokio::select! {
            s = snaps.recv() => match s {
                Some(mut s) => {
                    s.discovered.clone_from(&label);
                    if send(Payload::Repl(Box::new(s))).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            c = commands.recv(), if commands_open => match c {
                Some(SourceCommand::SetInterval(d)) => {
                    handle.control(|c| c.interval = d.max(Duration::from_millis(100)))
                }
                Some(SourceCommand::RefreshNow) => {
                    handle.control(|c| c.refresh_generation = c.refresh_generation.wrapping_add(1))
                }
                Some(SourceCommand::Pause(p)) => handle.control(|c| c.paused = p),
                Some(SourceCommand::Spotify(_) | SourceCommand::Pg(_) | SourceCommand::VlogQuery(_) | SourceCommand::Replay(_)) => {} // not for this source
                None => commands_open = false,
            },
        }
    }
    drop(handle);
}

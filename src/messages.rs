//! The messages on the update channel between the sources and the app: one tokio task per
//! source (PostgreSQL poller, MySQL poller, varnishlog stream, query runner) owns its
//! connection and sends owned [`Update`]s over a bounded channel; the UI loop is the only
//! owner of view state and answers with [`SourceCommand`]s (the views ask for them as
//! [`Effect`]s). A failure is data ([`SourceHealth::Reconnecting`]), never a crash.
//!
//! Each source's own messages live in that source (`pg::msg`, `spotify::msg`,
//! `repl::snapshot`, `vlog::msg::VlogEvent`); this module only gathers them, so it sits
//! above the sources' data and below their tasks, the views and the app.

use crate::wire::{Level, SourceHealth, ViewKind};
use std::time::Duration;

/// Capacity of the update channel from collectors to the UI loop.
pub const UPDATE_CHANNEL: usize = 256;

/// What a collector sends.
#[derive(Clone, Debug)]
pub struct Update {
    pub view: ViewKind,
    pub payload: Payload,
}

/// The content of an update.
#[derive(Clone, Debug)]
pub enum Payload {
    Health(SourceHealth),
    /// One refresh (or failed reconnect attempt) of one replication server.
    Repl(Box<crate::repl::snapshot::ServerSnapshot>),
    /// vlogdump: parsed requests, malformed counts and source status from the varnishlog
    /// collector (`vlog::collector`).
    Vlog(crate::vlog::msg::VlogEvent),
    /// A message for the status line (e.g. a child's stderr or a webhook failure).
    Notice {
        level: Level,
        text: String,
    },
    /// The spotify explorer's query results, import progress and store info.
    Spotify(Box<crate::spotify::msg::SpotifyEvent>),
    /// pgtop: one refresh of `pg_stat_activity` (or a status-only snapshot while disconnected).
    /// Shared, not owned: the recorder's tee copies the update as a refcount, not 500
    /// sessions; readers only read it. Build it as `Payload::Pg(snapshot.into())`.
    Pg(std::sync::Arc<crate::pg::activity::PgSnapshot>),
    /// pgtop: the answer to a signal or EXPLAIN request.
    PgReply(Box<crate::pg::msg::PgReply>),
    /// `stacktop replay PATH`: where the time cursor is (the app keeps it; no view gets it).
    Replay(Box<crate::wire::replay::ReplayStatus>),
}

/// Requests from the UI to a collector.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceCommand {
    SetInterval(Duration),
    RefreshNow,
    Pause(bool),
    /// A query, question, import, cancel, export or save for the spotify explorer.
    Spotify(Box<crate::spotify::msg::SpotifyCommand>),
    /// pgtop: thresholds, cancel/terminate, EXPLAIN.
    Pg(crate::pg::msg::PgRequest),
    /// vlogdump: the committed filter's `varnishlog -q` query (`None`: not expressible). A
    /// live `varnishlog` with `push_down` is restarted when it changes; others ignore it.
    VlogQuery(Option<String>),
    /// `stacktop replay PATH`: move the time cursor (only the replay source takes it).
    Replay(crate::wire::replay::ReplayCommand),
}

/// What the run loop must do after an update.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    Suspend,
    /// Write the incident bundle (the last minutes of every tab) off the UI thread; where it
    /// went comes back as a notice.
    Bundle,
    ToSource(ViewKind, SourceCommand),
    /// Start this view's source with the config's settings (libpq / varnishlog / SQLite
    /// defaults where there are none); asked from a tab that has no source yet.
    StartSource(ViewKind),
    /// Put text on the terminal's clipboard (OSC 52; works through tmux with set-clipboard).
    Copy(String),
    /// Write `bytes` to `path` (parent directories created), off the UI thread; the result
    /// comes back to `view` as a flash: `saved {what} to PATH` or `cannot save to PATH: why`.
    /// Views render what to save; only the run loop touches the file system.
    WriteFile {
        view: ViewKind,
        path: std::path::PathBuf,
        bytes: Vec<u8>,
        what: String,
    },
}

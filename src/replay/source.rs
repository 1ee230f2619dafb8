//! The replay source: what stands where the live sources stand in `stacktop replay PATH`.
//! The [`Cursor`] lives on a thread of its own, the player ([`super::player`]): reading a
//! recording blocks (SQLite I/O; a PostgreSQL store's reader drives its own runtime, which
//! cannot run inside the TUI's), so none of it runs on the async runtime. Every view's command
//! channel leads here (so nothing can reach a server): a small task per view forwards the
//! app's [`ReplayCommand`]s to the player, which answers with the decoded records as the same
//! [`Update`]s the live run delivered, followed by the cursor's [`ReplayStatus`]. The
//! timeline's marks come from [`super::marks::scan_reader`] on a thread of their own, with a
//! reader of their own ([`Target::open`]).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::cursor::Cursor;
use super::player::{Msg, RETRY_EVERY};
use crate::messages::{SourceCommand, Update};
use crate::pg::conninfo::Env;
use crate::record::store::Reader;
use crate::sources::SourceHandles;
use crate::wire::replay::ReplayStatus;
use crate::wire::ViewKind;

pub use super::player::{command, try_command};

/// A recording's place: a file, or one recording of a PostgreSQL store.
#[derive(Clone, Debug)]
pub struct Target {
    pub path: PathBuf,
    /// the recording's id (a file: 1)
    pub recording: i64,
    /// the environment a PostgreSQL target is resolved in (libpq's variables, `.pgpass`…:
    /// [`Env::system`]; tests give an empty one)
    pub env: fn() -> Env,
}

impl Target {
    /// Opens a reader of its own on the recording.
    pub fn open(&self) -> Result<Reader, String> {
        Reader::open_recording_in(&self.path, Some(self.recording), &(self.env)())
    }

    /// Whether it is on a server (which can go away and come back).
    pub fn is_remote(&self) -> bool {
        crate::record::store::is_postgres(&self.path)
    }

    /// The target as messages name it (a server without its password).
    pub fn display(&self) -> String {
        crate::record::store::display_target(&self.path)
    }
}

/// Starts the player thread, the marks thread and the forwarding tasks; returns the command
/// channel of every view and the player's thread (it ends when the app's channels close).
pub fn spawn(
    cursor: Cursor,
    status: ReplayStatus,
    rules: super::marks::Rules,
    target: Target,
    tx: mpsc::Sender<Update>,
) -> (SourceHandles, std::thread::JoinHandle<()>) {
    // unbounded: filled by key presses and the marks' few progress reports only
    let (msg_tx, msg_rx) = std::sync::mpsc::channel::<Msg>();
    let mut handles = SourceHandles::new();
    for view in ViewKind::ALL {
        let (vtx, mut vrx) = mpsc::channel::<SourceCommand>(16);
        let to_player = msg_tx.clone();
        tokio::spawn(async move {
            while let Some(c) = vrx.recv().await {
                if to_player.send(Msg::Cmd(view, c)).is_err() {
                    break;
                }
            }
        });
        handles.insert(view, vtx);
    }
    let remote = target.is_remote();
    let (grew_tx, grew_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || marks(&target, rules, &msg_tx, &grew_rx));
    let player =
        std::thread::spawn(move || super::player::run(cursor, status, remote, msg_rx, grew_tx, tx));
    (handles, player)
}

/// The marks thread: the whole recording read once, then read on each time the player says it
/// grew; on a server, read again from the start every [`RETRY_EVERY`] after a failure, until
/// it succeeds or the player has ended (the player adds marks up: read twice is harmless).
fn marks(
    target: &Target,
    rules: super::marks::Rules,
    to_player: &std::sync::mpsc::Sender<Msg>,
    grew: &std::sync::mpsc::Receiver<()>,
) {
    let name = target.display();
    let every = Duration::from_millis(300);
    let send = |m, pct| to_player.send(Msg::Marks(Ok((m, pct)))).is_ok();
    loop {
        let r = target.open().and_then(|reader| {
            let mut scan = super::marks::Scan::default();
            if !scan.read_on(&reader, &name, rules, every, send)? {
                return Ok(()); // the player has ended
            }
            // until the player ends (the channel closes)
            while grew.recv().is_ok() {
                while grew.try_recv().is_ok() {}
                if !scan.read_on(&reader, &name, rules, every, send)? {
                    break;
                }
            }
            Ok(())
        });
        match r {
            Ok(()) => return,
            Err(e) => {
                if to_player.send(Msg::Marks(Err(e))).is_err() || !target.is_remote() {
                    return;
                }
                std::thread::sleep(RETRY_EVERY);
            }
        }
    }
}

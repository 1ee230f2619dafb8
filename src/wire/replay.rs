//! The words of replay in the TUI (`stacktop replay PATH`): what the time cursor is asked to
//! do ([`ReplayCommand`], sent by the app as a `SourceCommand`) and where it is
//! ([`ReplayStatus`], sent back as an update and drawn as the timeline and the status line).

/// A request to the replay source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayCommand {
    /// One refresh of `view` back (`-1`) or forward (`1`).
    Step {
        view: super::ViewKind,
        by: i8,
    },
    /// Move the cursor by this many seconds (±60: a minute).
    Jump(i64),
    /// `:goto TIME`: `HH:MM[:SS]` on the recording's day, `YYYY-MM-DD HH:MM[:SS]` or RFC 3339.
    Goto(String),
    TogglePlay,
    /// Play at this many times real time (1, 10, 60).
    Speed(u32),
}

/// What a timeline cell holds (bit flags, [`ReplayStatus::marks`]).
pub mod mark {
    /// a pgtop session over the slow threshold
    pub const SLOW: u8 = 1;
    /// a pgtop session waiting for a lock
    pub const LOCK: u8 = 2;
    /// a replication server at WARN or worse (lag, a stopped thread, unreachable)
    pub const REPL: u8 = 4;
    /// a varnish request answered 5xx
    pub const HTTP_5XX: u8 = 8;
    /// a source lost its connection
    pub const DOWN: u8 = 16;
    /// a backend was cancelled or terminated (a recorded kill, whatever its outcome)
    pub const KILL: u8 = 32;
}

/// Cells of the timeline computed over the whole recording (the drawing merges them to the
/// screen's width).
pub const TIMELINE_CELLS: usize = 480;

/// Where the time cursor is, and the marks of the recording.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ReplayStatus {
    /// The recording as the status line names it: a file's name (never its directory), or a
    /// PostgreSQL store's recording label and id (`orders-db #3`; never the conninfo).
    pub name: String,
    /// first and last record times, ms since the epoch
    pub first_ms: i64,
    pub last_ms: i64,
    /// the cursor: the recording's time being shown
    pub cursor_ms: i64,
    pub playing: bool,
    /// times real time while playing
    pub speed: u32,
    /// [`TIMELINE_CELLS`] cells of [`mark`] flags over `first_ms..=last_ms`
    pub marks: Vec<u8>,
    /// share of the recording read for the marks so far, 0..=100
    pub scanned_pct: u8,
    /// Why the recording's store cannot be read now (a PostgreSQL server gone away: the
    /// server's masked name and the error); `None` while it reads. Shown on the status line
    /// until the store answers again.
    pub store_error: Option<String>,
}

impl ReplayStatus {
    /// The timeline cell of time `ms`.
    pub fn cell_of(&self, ms: i64) -> usize {
        let span = (self.last_ms - self.first_ms).max(1) as i128;
        let at = (ms.clamp(self.first_ms, self.last_ms) - self.first_ms) as i128;
        ((at * (TIMELINE_CELLS as i128 - 1)) / span) as usize
    }

    /// The cursor as local time.
    pub fn cursor(&self) -> chrono::DateTime<chrono::Local> {
        local(self.cursor_ms)
    }
}

/// ms since the epoch as local time (the epoch for an impossible value).
pub fn local(ms: i64) -> chrono::DateTime<chrono::Local> {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&chrono::Local)
}

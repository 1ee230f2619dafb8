//! `stacktop replay PATH` without `--batch`: the TUI on a recording, a file or a PostgreSQL
//! store (`stacktop replay postgres://… [--recording ID]`). The recording is opened (and
//! refused with a clear error) before the terminal changes mode; then the normal run loop
//! ([`crate::tui::run`]) runs with the replay source ([`super::source`]) in place of every
//! live one.

use std::path::Path;

use tokio::sync::mpsc;

use super::cursor::Cursor;
use super::marks::Rules;
use super::source::Target;
use crate::app::App;
use crate::cli::{exit, ReplayArgs};
use crate::config::Config;
use crate::messages::{Payload, Update, UPDATE_CHANNEL};
use crate::pg::conninfo::Env;
use crate::record::store::Reader;
use crate::theme::Theme;
use crate::wire::replay::{ReplayStatus, TIMELINE_CELLS};
use crate::wire::ViewKind;

/// A recording ready to show.
pub struct Opened {
    pub cursor: Cursor,
    /// the cursor's status (marks not read yet)
    pub status: ReplayStatus,
    /// the tab of the first refresh recorded
    pub start: Option<ViewKind>,
    pub rules: Rules,
    /// where it was opened from, for the marks' own reader ([`super::marks::scan`])
    pub target: Target,
}

/// Opens the recording at `path` with the cursor on its first record. The error names the
/// file and what is wrong with it (missing, not a recording, damaged, empty).
pub fn open(path: &Path, cfg: &Config) -> Result<Opened, String> {
    open_recording(path, None, cfg)
}

/// [`open`] for recording `id` of a PostgreSQL store (`None`: the newest; a file has one).
/// The errors name the server by its conninfo without the password.
pub fn open_recording(path: &Path, id: Option<i64>, cfg: &Config) -> Result<Opened, String> {
    open_in(path, id, cfg, Env::system)
}

/// [`open_recording`] with the environment a PostgreSQL target is resolved in (also by the
/// marks' own reader).
pub fn open_in(
    path: &Path,
    id: Option<i64>,
    cfg: &Config,
    env: fn() -> Env,
) -> Result<Opened, String> {
    let reader = Reader::open_recording_in(path, id, &env())?;
    let (name, shown) = match &reader {
        Reader::Pg(r) => (
            format!(
                "{} #{}",
                crate::record::store::display_target(path),
                r.recording()
            ),
            format!("{} #{}", r.label(), r.recording()),
        ),
        Reader::File(_) => (
            path.display().to_string(),
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let target = Target {
        path: path.to_path_buf(),
        recording: reader.recording(),
        env,
    };
    let cursor = Cursor::open(reader, &name)?;
    let status = ReplayStatus {
        name: shown,
        first_ms: cursor.first_ms,
        last_ms: cursor.last_ms,
        cursor_ms: cursor.cursor_ms,
        playing: false,
        speed: 1,
        marks: vec![0; TIMELINE_CELLS],
        scanned_pct: 0,
        store_error: None,
    };
    Ok(Opened {
        start: cursor.first_view(),
        cursor,
        status,
        rules: Rules {
            slow: cfg.pgtop.slow_threshold,
            lag: cfg.repl.thresholds(),
        },
        target,
    })
}

/// The update that tells the app where the cursor is.
pub fn status_update(status: &ReplayStatus) -> Update {
    Update {
        view: ViewKind::ALL[0], // any: the app keeps the cursor whatever the tab
        payload: Payload::Replay(Box::new(status.clone())),
    }
}

/// Runs the TUI on the recording; returns the exit code.
pub fn run(args: &ReplayArgs, cfg: Config, theme: Theme, runtime: &tokio::runtime::Runtime) -> i32 {
    let path = args.target(&cfg.record);
    let mut opened = match open_recording(&path, args.recording, &cfg) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("stacktop: {e}");
            return exit::RUNTIME;
        }
    };
    if let Some(from) = &args.from {
        let t = match super::parse_time(from, Some(opened.cursor.first_ms)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("stacktop: replay: --from {from:?}: {e}");
                return exit::USAGE;
            }
        };
        if let Err(e) = opened.cursor.goto(t) {
            if opened.target.is_remote() {
                eprintln!("stacktop: {e}"); // the server's messages name it
            } else {
                eprintln!("stacktop: recording {}: {e}", path.display());
            }
            return exit::RUNTIME;
        }
        opened.status.cursor_ms = opened.cursor.cursor_ms;
    }
    let start = opened.start.unwrap_or(cfg.ui.start_view);
    let mut app = App::new(cfg, theme, start);
    // read-only and on the recording's clock from the first key on
    app.apply(status_update(&opened.status));
    runtime.block_on(async move {
        let mut signals = match crate::signals::Signals::new() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stacktop: cannot install signal handlers: {e}");
                return exit::RUNTIME;
            }
        };
        let (tx, rx) = mpsc::channel(UPDATE_CHANNEL);
        let (handles, _player) = super::source::spawn(
            opened.cursor,
            opened.status,
            opened.rules,
            opened.target,
            tx.clone(),
        );
        let sources = crate::sources::Sources::fixed(&app.config, handles, tx);
        match crate::tui::run(app, rx, sources, &mut signals).await {
            Ok(end) => end.code(),
            Err(e) => {
                crate::tui::eprint_line(&format!("stacktop: {e}"));
                exit::RUNTIME
            }
        }
    })
}

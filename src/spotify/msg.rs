//! The spotify explorer's own messages on the update channel: what the view asks of the
//! source ([`SpotifyCommand`], inside `SourceCommand::Spotify`) and what comes back
//! ([`SpotifyEvent`], inside `Payload::Spotify`).

use std::path::PathBuf;
use std::sync::Arc;

use super::questions::Params;
use super::results::ResultSet;
use super::runner::{Event, JobId};

/// Requests from the explorer tab.
#[derive(Debug, Clone, PartialEq)]
pub enum SpotifyCommand {
    /// Ad-hoc SQL (the read-only guard applies).
    Sql { id: JobId, sql: String },
    /// A ready-made question.
    Ask {
        id: JobId,
        question: String,
        params: Params,
    },
    /// Import chart files (`:import PATH...`).
    Import { id: JobId, files: Vec<PathBuf> },
    /// Cancel a running query or import.
    Cancel { id: JobId },
    /// Write a whole result to `path` (default: a new file under `<data_dir>/exports/`).
    Export {
        result: Arc<ResultSet>,
        name: String,
        path: Option<PathBuf>,
        json: bool,
    },
    /// Save a query as `<data_dir>/queries/<name>.sql`.
    SaveQuery { name: String, sql: String },
    /// The editor ran `sql`: add it to the history file (`<data_dir>/sql_history.json`).
    AddHistory { sql: String },
}

/// What the store holds, for the parameter pickers and the status line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreInfo {
    /// `sqlite /path` or `mysql host:port/db`.
    pub backend: String,
    pub table: String,
    pub rows: u64,
    pub countries: Vec<String>,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
}

/// A saved query.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedQuery {
    pub name: String,
    pub sql: String,
}

/// Events for the explorer tab.
#[derive(Debug, Clone, PartialEq)]
pub enum SpotifyEvent {
    Info(StoreInfo),
    /// A query, question or import job of the runner: started, finished, failed, progress.
    Job(Event),
    Exported {
        path: PathBuf,
        rows: usize,
    },
    SavedQueries(Vec<SavedQuery>),
    /// The SQL editor's history saved by earlier sessions (oldest first), sent at start.
    History(Vec<String>),
    /// A failure outside a job (export, save).
    Error(String),
}

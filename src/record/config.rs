//! `[record]`: the flight recorder's settings (a config section, below the config aggregate
//! like the sources' own sections).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::base::Dur;

/// `[record]`: where and how long to keep recordings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordConfig {
    /// Record every live run to `path` (the `--record` flag does the same for one run).
    pub enabled: bool,
    /// The recording file (unset: `$XDG_STATE_HOME/stacktop/recording.sqlite`), or a
    /// PostgreSQL server: `postgres://…` (libpq URI; tables `stacktop.recordings/records`).
    pub path: Option<PathBuf>,
    /// The name of this instance's recordings on a PostgreSQL server and in incident bundle
    /// file names (unset: the machine's host name).
    pub label: Option<String>,
    /// Records older than this are deleted (checked every minute).
    pub max_age: Dur,
    /// The file is kept under this many megabytes by deleting the oldest records.
    pub max_size_mb: u64,
    /// The incident bundle key (`B`) writes this many minutes of every tab (kept in memory
    /// in every live run, recording or not).
    pub bundle_minutes: u64,
    /// The memory those minutes may take; the oldest go first.
    pub bundle_max_mb: u64,
    /// Where bundles are written (unset: next to the recording file, or the state directory
    /// when recording to PostgreSQL).
    pub bundle_dir: Option<PathBuf>,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            enabled: false,
            path: None,
            max_age: Dur::secs(7 * 24 * 3600),
            max_size_mb: 1024,
            label: None,
            bundle_minutes: 15,
            bundle_max_mb: 64,
            bundle_dir: None,
        }
    }
}

impl RecordConfig {
    /// The recording file: the configured one or the default under the state directory.
    pub fn file(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(default_path)
    }

    /// The recordings' label: the configured one or the machine's host name.
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(default_label)
    }

    /// Where incident bundles go.
    pub fn bundle_dir(&self) -> PathBuf {
        if let Some(d) = &self.bundle_dir {
            return d.clone();
        }
        let file = self.file();
        let beside = (!is_postgres(&file))
            .then(|| file.parent().map(|p| p.to_path_buf()))
            .flatten()
            .filter(|p| !p.as_os_str().is_empty());
        beside
            .or_else(|| default_path().parent().map(|p| p.to_path_buf()))
            .unwrap_or_default()
    }
}

/// Whether a `--record`/`replay` target names a PostgreSQL server (`postgres://`,
/// `postgresql://`: the libpq URI forms) rather than a file.
pub fn is_postgres(target: &std::path::Path) -> bool {
    let s = target.to_string_lossy();
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// The machine's host name (empty when unknown).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// [`host_name`], or `stacktop` when there is none.
pub fn default_label() -> String {
    Some(host_name())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "stacktop".into())
}

/// `$XDG_STATE_HOME/stacktop/recording.sqlite` (or `./stacktop-recording.sqlite` without a
/// home directory).
pub fn default_path() -> PathBuf {
    crate::private_fs::state_dir()
        .map(|d| d.join("recording.sqlite"))
        .unwrap_or_else(|| PathBuf::from("stacktop-recording.sqlite"))
}

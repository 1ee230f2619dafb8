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
    /// The recording file (unset: `$XDG_STATE_HOME/stacktop/recording.sqlite`).
    pub path: Option<PathBuf>,
    /// Records older than this are deleted (checked every minute).
    pub max_age: Dur,
    /// The file is kept under this many megabytes by deleting the oldest records.
    pub max_size_mb: u64,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            enabled: false,
            path: None,
            max_age: Dur::secs(7 * 24 * 3600),
            max_size_mb: 1024,
        }
    }
}

impl RecordConfig {
    /// The recording file: the configured one or the default under the state directory.
    pub fn file(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(default_path)
    }
}

/// `$XDG_STATE_HOME/stacktop/recording.sqlite` (or `./stacktop-recording.sqlite` without a
/// home directory).
pub fn default_path() -> PathBuf {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
        .map(|d| d.join("stacktop").join("recording.sqlite"))
        .unwrap_or_else(|| PathBuf::from("stacktop-recording.sqlite"))
}

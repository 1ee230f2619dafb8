//! Configuration: the typed, strict (`deny_unknown_fields`) settings every part of stacktop
//! reads. Layers, lowest first: built-in defaults ← `~/.config/stacktop/config.toml` ←
//! each `--config FILE` in order ← `STACKTOP_*` environment variables ← command-line flags
//! (see [`load`]). Loading happens before the terminal changes mode, so a bad file is
//! reported on a normal terminal with file, line, key and value.

pub mod check;
pub mod load;
pub mod validate;

pub use crate::base::secrets;
pub use crate::base::{ConfigError, Dur};
pub use crate::wire::ViewKind;
pub use load::{check_file, load, LoadOptions, Loaded};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The whole effective configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub ui: UiConfig,
    pub batch: BatchConfig,
    pub pgtop: PgtopConfig,
    pub repl: ReplConfig,
    pub vlog: VlogConfig,
    pub spotify: SpotifyConfig,
    /// `[keys]`: the user's key bindings (see [`crate::keymap::user`]).
    pub keys: crate::keymap::KeysConfig,
    /// `[record]`: the flight recorder's file and retention.
    pub record: crate::record::config::RecordConfig,
}

/// `[ui]`: the shell itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Theme name (shipped or in `~/.config/stacktop/themes/`) or path to a theme file.
    pub theme: String,
    /// Default refresh interval for polled views.
    pub refresh: Dur,
    /// Maximum frames drawn per second (drawing happens only when something changed).
    pub fps: u16,
    /// View shown at start when no subcommand names one.
    pub start_view: ViewKind,
    /// How long a flash message stays on the status line.
    pub flash: Dur,
    /// Disables every action that changes a server (kill keys and the like), visibly.
    pub read_only: bool,
    /// Strip colours (modifiers such as bold stay). `NO_COLOR` in the environment does the same.
    pub no_color: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            theme: "default".into(),
            refresh: Dur::secs(1),
            fps: 20,
            start_view: ViewKind::default(),
            flash: Dur::secs(4),
            read_only: false,
            no_color: false,
        }
    }
}

/// `[batch]`: `--batch` mode, printing snapshots instead of drawing (like `top -b`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    pub enabled: bool,
    /// Number of snapshots to print (unset: until interrupted).
    pub count: Option<u64>,
    /// Interval between snapshots (unset: `ui.refresh`).
    pub interval: Option<Dur>,
    /// NDJSON instead of text tables.
    pub json: bool,
    /// Exit 1 after the source has been unreachable this long (unset: 5 minutes; `0s`: at the
    /// first failure). The UI never gives up.
    pub give_up_after: Option<Dur>,
}

/// `[pgtop]`: the PostgreSQL activity view. One definition, owned by the pg core: connection
/// (conninfo, host, port, user, dbname, sslmode, sslrootcert, password_env/_command),
/// thresholds, slow log, Slack webhook, read_only and `K` exclusions (see `configs/pgtop.toml`).
pub use crate::pg::config::PgConfig as PgtopConfig;

/// `[repl]`: MySQL/MariaDB replication health.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplConfig {
    /// Refresh interval of the replication collectors (unset: `ui.refresh`).
    pub refresh: Option<Dur>,
    /// Lag (after SQL_Delay) at or above which a channel is WARN.
    pub lag_warn: Dur,
    /// Lag at or above which a channel is CRIT.
    pub lag_crit: Dur,
    /// An IO thread `Connecting` for longer than this (first seen by stacktop) is CRIT.
    pub connecting_crit: Dur,
    /// Longest wait between reconnect attempts (backoff doubles from 1s up to this).
    pub reconnect_max: Dur,
    /// Lag samples kept per channel for the sparkline.
    pub history: usize,
    /// The servers to watch (replicas and, optionally, their primary).
    pub servers: Vec<crate::repl::ServerConfig>,
}

impl Default for ReplConfig {
    fn default() -> Self {
        ReplConfig {
            refresh: None,
            lag_warn: Dur::secs(60),
            lag_crit: Dur::secs(600),
            connecting_crit: Dur::secs(300),
            reconnect_max: Dur::secs(30),
            history: 120,
            servers: Vec::new(),
        }
    }
}

impl ReplConfig {
    /// The verdict thresholds.
    pub fn thresholds(&self) -> crate::repl::LagThresholds {
        crate::repl::LagThresholds {
            warn_seconds: self.lag_warn.get().as_secs_f64(),
            crit_seconds: self.lag_crit.get().as_secs_f64(),
            connecting_crit_seconds: self.connecting_crit.get().as_secs() as i64,
        }
    }
}

/// `[vlog]`: the varnishlog stream view (vlogdump). Input, first match wins: `stdin`,
/// `file` (`-` = stdin), `replay` (a binary capture through `varnishlog -r`), else a live
/// `varnishlog` (`command`, `-g grouping`, `-n instance`, `-q` pushed-down query, `args`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VlogConfig {
    /// The varnishlog program (a wrapper such as `ssh-varnishlog` works if it prints the same text).
    pub command: String,
    /// Extra arguments appended to the varnishlog command line.
    pub args: Vec<String>,
    /// `-n` instance name (or work directory); unset: `VINYL_DEFAULT_N` / `VARNISH_DEFAULT_N`.
    pub instance: Option<String>,
    /// `-q` VSL query passed to varnishlog as is (ANDed with a pushed-down filter).
    pub query: Option<String>,
    /// `-g` grouping: request (default), vxid or session.
    pub grouping: VlogGrouping,
    /// Push the filter down to `varnishlog -q` when it can be expressed as a VSL query (less
    /// traffic to parse; the header statistics then see only matching requests).
    pub push_down: bool,
    /// Read this text file instead of spawning varnishlog (`-` = stdin).
    pub file: Option<PathBuf>,
    /// Keep reading `file` as it grows (like `tail -f`).
    pub follow: bool,
    /// Read varnishlog text from stdin (`varnishlog -g request | stacktop vlog -`).
    pub stdin: bool,
    /// Replay a binary capture (`varnishlog -w` file) through `varnishlog -r`.
    pub replay: Option<PathBuf>,
    /// Requests kept in memory (the newest N; older ones are dropped and counted).
    pub ring_size: usize,
    /// Requests slower than this are styled as slow.
    pub slow: Dur,
    /// Start-up filter in vlogdump `name=value` words, e.g. `["status=5xx", "url=^/api"]`.
    pub filter: Vec<String>,
    /// Batch text layout: `compact` (one line per request) or `vlogdump` (cosimo's two lines).
    pub batch_layout: VlogLayout,
    /// Where `w` saves by default (unset: `$XDG_STATE_HOME/stacktop/`).
    pub save_dir: Option<PathBuf>,
    /// Show the lower pane (top URLs, clients, backends) at start.
    pub pane: bool,
}

impl Default for VlogConfig {
    fn default() -> Self {
        VlogConfig {
            command: "varnishlog".into(),
            args: Vec::new(),
            instance: None,
            query: None,
            grouping: VlogGrouping::Request,
            push_down: false,
            file: None,
            follow: false,
            stdin: false,
            replay: None,
            ring_size: 100_000,
            slow: Dur::secs(1),
            filter: Vec::new(),
            batch_layout: VlogLayout::Compact,
            save_dir: None,
            pane: true,
        }
    }
}

impl VlogConfig {
    /// The start-up filter (validated at start, before the terminal changes mode).
    pub fn parsed_filter(&self) -> Result<crate::vlog::Filter, crate::vlog::filter::FilterError> {
        crate::vlog::Filter::parse_args(&self.filter)
    }
}

/// `vlog.grouping`: varnishlog `-g`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VlogGrouping {
    #[default]
    Request,
    Vxid,
    Session,
}

/// `vlog.batch_layout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VlogLayout {
    #[default]
    Compact,
    Vlogdump,
}

/// `[spotify]`: the chart explorer (see [`crate::spotify::SpotifyConfig`]).
pub use crate::spotify::SpotifyConfig;

/// The user's config directory (`$XDG_CONFIG_HOME/stacktop` or `~/.config/stacktop`).
pub fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("stacktop"))
}

//! The command line: the clap definitions of every option and subcommand live here — global
//! options (every one of them has a config key, see [`overlay`]), one subcommand per view,
//! `config check|show` and shell completions ([`crate::completions`] reads these, never the
//! other way). Parsing and config loading happen before the terminal changes mode.

mod overlay;

use crate::base::Dur;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes (documented in README.md).
pub use crate::wire::exit;

/// The values of `vlog --grouping` (`vlog.grouping`), offered by completion.
pub const GROUPINGS: [&str; 3] = ["request", "vxid", "session"];

/// `stacktop --help` (and `-h`) ends with these: the common invocations of every view.
pub const EXAMPLES: &str = "\
Examples:
  stacktop                                        the configured tabs
  stacktop pgtop -h db1 -p 5433 -U app -d orders  psql's flags
  stacktop pgtop --batch --json -n 3              3 NDJSON snapshots (top -b)
  stacktop repl --config configs/repl.toml        replication health
  stacktop repl --check --nagios                  one Nagios line, exit 0-3
  stacktop repl --batch -n 1                      exit 1 if a server is down
  stacktop vlog -n edge1                          varnishlog -n edge1
  stacktop vlog --file varnish.log only_misses=1  a saved log, vlogdump filter
  stacktop spotify demo                           sample charts, imported
  stacktop spotify import charts.csv              import chart CSV files
  stacktop config check configs/orders.toml       validate a config file
  stacktop completions bash                       bash completion script";

#[derive(Debug, Parser)]
#[command(
    name = "stacktop",
    version,
    after_help = EXAMPLES,
    about = "A terminal UI for the people who keep databases and caches alive",
    long_about = "stacktop: pgtop (PostgreSQL sessions), MySQL/MariaDB replication health, \
                  vlogdump (varnishlog) and a Spotify top-200 chart explorer in one terminal UI.\n\n\
                  Config layers, lowest first: built-in defaults, ~/.config/stacktop/config.toml, \
                  each --config FILE, STACKTOP_<SECTION>__<KEY> environment variables, flags."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// Config file (repeatable; later files override earlier ones). One per database is usual.
    #[arg(short = 'c', long = "config", value_name = "FILE", global = true)]
    pub config: Vec<PathBuf>,
    /// Do not read ~/.config/stacktop/config.toml.
    #[arg(long, global = true)]
    pub no_user_config: bool,
    /// Theme name (default, light, mono, or one in ~/.config/stacktop/themes) or a .toml file. [ui.theme]
    #[arg(long, value_name = "NAME|FILE", global = true)]
    pub theme: Option<String>,
    /// Refresh interval, e.g. 2s or 500ms. [ui.refresh]
    #[arg(long, value_name = "DUR", global = true)]
    pub refresh: Option<Dur>,
    /// Maximum frames per second. [ui.fps]
    #[arg(long, value_name = "N", global = true)]
    pub fps: Option<u16>,
    /// Disable every action that changes a server. [ui.read_only]
    #[arg(long, global = true)]
    pub read_only: bool,
    /// No colours (NO_COLOR is honoured too). [ui.no_color]
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Print snapshots to stdout instead of drawing, like top -b. [batch.enabled]
    #[arg(short = 'b', long, global = true)]
    pub batch: bool,
    /// Number of batch snapshots (default: until interrupted). [batch.count]
    #[arg(short = 'n', long, value_name = "N", global = true)]
    pub count: Option<u64>,
    /// Interval between batch snapshots (default: the refresh interval). [batch.interval]
    #[arg(short = 'd', long, value_name = "DUR", global = true)]
    pub interval: Option<Dur>,
    /// Batch output as NDJSON (one JSON object per line). [batch.json]
    #[arg(long, global = true)]
    pub json: bool,
    /// Batch: exit 1 once the source has been unreachable this long (default 5m; the UI
    /// never gives up). [batch.give_up_after]
    #[arg(long, value_name = "DUR", global = true)]
    pub give_up_after: Option<Dur>,
    /// Record this run (flight recorder) to PATH or `[record] path`; `--record=PATH` (with
    /// `=`). [record.enabled, record.path]
    #[arg(long, value_name = "PATH", num_args = 0..=1, require_equals = true, global = true)]
    pub record: Option<Option<PathBuf>>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open on the pgtop view (PostgreSQL sessions). psql's -h -p -U -d; --help for help.
    #[command(disable_help_flag = true)]
    Pgtop(PgtopArgs),
    /// Open on the MySQL/MariaDB replication view.
    Repl(ReplArgs),
    /// Open on the vlogdump view (varnishlog stream).
    Vlog(VlogArgs),
    /// Open on the Spotify top-200 explorer (`spotify demo`: sample charts to try it).
    Spotify(SpotifyArgs),
    /// Validate or print configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Record the configured sources without a terminal until SIGINT/SIGTERM (flight recorder).
    Record(RecordArgs),
    /// Replay a recording in the TUI, or print it (`--batch --json`, `--from T --to T`).
    Replay(ReplayArgs),
}

/// `stacktop record`: headless recording.
#[derive(Debug, Args, Default)]
pub struct RecordArgs {
    /// The recording file or `postgres://…` (default: `[record] path`, else the state
    /// directory).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
}

/// `stacktop replay [PATH]`: a recording in the TUI, or its records as the live batch output.
#[derive(Debug, Args, Default)]
pub struct ReplayArgs {
    /// The recording file, or a PostgreSQL server (`postgres://…`) recorded into (default:
    /// `[record] path`, else the state directory: where `stacktop record` writes).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// List the recordings (a PostgreSQL server holds one per recorder start) and exit.
    #[arg(long)]
    pub list: bool,
    /// Which recording of a PostgreSQL server (an id from --list; default: the newest).
    #[arg(long, value_name = "ID")]
    pub recording: Option<i64>,
    /// From this time on: RFC 3339 (`2026-12-03T03:12:00Z`), or `HH:MM[:SS]` today, local.
    #[arg(long, value_name = "T")]
    pub from: Option<String>,
    /// Up to this time (same forms as --from).
    #[arg(long, value_name = "T")]
    pub to: Option<String>,
}

impl ReplayArgs {
    /// The recording to replay: PATH, else where `stacktop record` writes with this config.
    pub fn target(&self, record: &crate::record::RecordConfig) -> PathBuf {
        self.path.clone().unwrap_or_else(|| record.file())
    }
}

#[derive(Debug, Args, Default)]
pub struct PgtopArgs {
    /// libpq URI or key/value conninfo. [pgtop.conninfo]
    #[arg(value_name = "CONNINFO")]
    pub conninfo: Option<String>,
    /// Server host or socket directory, as for psql -h. [pgtop.host]
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// Server port, as for psql -p. [pgtop.port]
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// User name, as for psql -U. [pgtop.user]
    #[arg(short = 'U', long)]
    pub user: Option<String>,
    /// Database name, as for psql -d (here -d is not the batch interval: use --interval). [pgtop.dbname]
    #[arg(short = 'd', long)]
    pub dbname: Option<String>,
    // Same id as the global `-d, --interval`: clap then does not propagate the global one
    // here, so `-d` is free for the database name (the value still reaches `global`).
    /// Interval between batch snapshots (default: the refresh interval). [batch.interval]
    #[arg(long, value_name = "DUR")]
    pub interval: Option<Dur>,
    /// Print help (-h is the host, as for psql).
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// TLS: disable, allow, prefer, require, verify-ca or verify-full. [pgtop.sslmode]
    #[arg(long, value_name = "MODE")]
    pub sslmode: Option<String>,
    /// CA certificate (PEM) for verify-ca / verify-full. [pgtop.sslrootcert]
    #[arg(long, value_name = "FILE")]
    pub sslrootcert: Option<PathBuf>,
    /// Environment variable holding the password. [pgtop.password_env]
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// No answer from PostgreSQL within this (connect, a refresh, a kill): the connection is
    /// dropped and re-opened (default 5s). [pgtop.query_timeout]
    #[arg(long, value_name = "DUR")]
    pub query_timeout: Option<Dur>,
    /// Queries running longer than this are slow (bold yellow, logged, alerted). [pgtop.slow_threshold]
    #[arg(long, value_name = "DUR")]
    pub slow_threshold: Option<Dur>,
    /// A second, higher threshold. [pgtop.critical_threshold]
    #[arg(long, value_name = "DUR")]
    pub critical_threshold: Option<Dur>,
    /// Idle-in-transaction sessions older than this are flagged. [pgtop.idle_in_transaction_threshold]
    #[arg(long, value_name = "DUR")]
    pub idle_in_transaction_threshold: Option<Dur>,
    /// Active sessions whose transaction is older than this while the statement is not slow are flagged. [pgtop.long_transaction_threshold]
    #[arg(long, value_name = "DUR")]
    pub long_transaction_threshold: Option<Dur>,
    /// Slow-query log file. [pgtop.slow_log]
    #[arg(long, value_name = "FILE")]
    pub slow_log: Option<PathBuf>,
    /// Environment variable holding the Slack webhook URL (default STACKTOP_SLACK_WEBHOOK). [pgtop.slack_webhook_env]
    #[arg(long, value_name = "VAR")]
    pub slack_webhook_env: Option<String>,
    /// Send a test message to the configured Slack webhook and exit (0 sent, 1 failed).
    #[arg(long)]
    pub test_webhook: bool,
}

#[derive(Debug, Args, Default)]
pub struct ReplArgs {
    /// Action (no config key): check every server once, print verdicts and the crash-safe
    /// audit (text, or JSON with --json) and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    #[arg(long)]
    pub check: bool,
    /// Action (no config key): with --check, print one Nagios line (same exit codes).
    #[arg(long, requires = "check")]
    pub nagios: bool,
    /// A server to watch, NAME=[USER@]HOST[:PORT] (repeatable; replaces the configured
    /// list). Password: --password-env, else ~/.my.cnf [client]. [repl.servers]
    #[arg(long = "server", value_name = "NAME=[USER@]HOST[:PORT]", value_parser = parse_server)]
    pub servers: Vec<crate::repl::ServerConfig>,
    /// Environment variable holding the password of every --server. [repl.servers[].password_env]
    #[arg(long, value_name = "VAR", requires = "servers")]
    pub password_env: Option<String>,
    /// Lag at or above which a channel is WARN. [repl.lag_warn]
    #[arg(long, value_name = "DUR")]
    pub lag_warn: Option<Dur>,
    /// Lag at or above which a channel is CRIT. [repl.lag_crit]
    #[arg(long, value_name = "DUR")]
    pub lag_crit: Option<Dur>,
    /// An IO thread connecting for longer than this is CRIT. [repl.connecting_crit]
    #[arg(long, value_name = "DUR")]
    pub connecting_crit: Option<Dur>,
    /// Longest wait between reconnect attempts. [repl.reconnect_max]
    #[arg(long, value_name = "DUR")]
    pub reconnect_max: Option<Dur>,
}

/// Parses `--server NAME=[USER@]HOST[:PORT]`.
pub fn parse_server(s: &str) -> Result<crate::repl::ServerConfig, String> {
    let bad = || format!("expected NAME=[USER@]HOST[:PORT], got \"{s}\"");
    let (name, rest) = s.split_once('=').ok_or_else(bad)?;
    let name = name.trim();
    if name.is_empty() || rest.is_empty() {
        return Err(bad());
    }
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err(bad()),
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("bad port \"{p}\" in \"{s}\""))?,
        ),
        None => (hostport, 3306),
    };
    if host.is_empty() {
        return Err(bad());
    }
    let mut c = crate::repl::ServerConfig::tcp(name, host, port);
    c.user = user;
    Ok(c)
}

#[derive(Debug, Args, Default)]
pub struct VlogArgs {
    /// Read this varnishlog text file (or - for stdin) instead of spawning varnishlog. [vlog.file]
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Keep reading the file as it grows. [vlog.follow]
    #[arg(long)]
    pub follow: bool,
    /// varnishd / vinyld instance, name or work directory, as for varnishlog -n (default:
    /// VINYL_DEFAULT_N or VARNISH_DEFAULT_N). [vlog.instance]
    #[arg(short = 'n', long, value_name = "NAME")]
    pub instance: Option<String>,
    /// VSL query passed to varnishlog -q as is (ANDed with a pushed-down filter). [vlog.query]
    #[arg(short = 'q', long, value_name = "QUERY")]
    pub query: Option<String>,
    /// Batch: stop after N requests (here -n is the instance). [batch.count]
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Requests kept in memory. [vlog.ring_size]
    #[arg(long, value_name = "N")]
    pub ring_size: Option<usize>,
    /// Requests slower than this are highlighted. [vlog.slow]
    #[arg(long, value_name = "DUR")]
    pub slow: Option<Dur>,
    /// Replay a binary capture through varnishlog -r. [vlog.replay]
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// varnishlog -g grouping: request, vxid or session. [vlog.grouping]
    #[arg(long, value_name = "G", value_parser = clap::builder::PossibleValuesParser::new(GROUPINGS))]
    pub grouping: Option<String>,
    /// Push the filter down to varnishlog -q when possible. [vlog.push_down]
    #[arg(long)]
    pub push_down: bool,
    /// Batch text in cosimo vlogdump's two-line layout. [vlog.batch_layout = "vlogdump"]
    #[arg(long)]
    pub vlogdump_layout: bool,
    /// `-` (read stdin) and vlogdump filter options: only_hits=1, only_misses=1,
    /// only_slow=MS, url_match=RE, only_status=5xx, req_headers_match=RE,
    /// resp_headers_match=RE, client_match=RE, req_method=RE, handling=pass,pipe,
    /// backend=RE, show_req_headers=1 (a `!` negates a regex). [vlog.filter, vlog.stdin]
    #[arg(value_name = "name=value")]
    pub filters: Vec<String>,
}

#[derive(Debug, Args, Default)]
pub struct SpotifyArgs {
    #[command(subcommand)]
    pub action: Option<SpotifyAction>,
    /// Storage backend: sqlite (embedded, default) or mysql. [spotify.backend]
    #[arg(long, global = true, value_name = "sqlite|mysql")]
    pub backend: Option<String>,
    /// SQLite file (default ~/.local/share/stacktop/spotify.sqlite3). [spotify.path]
    #[arg(long, global = true, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// MySQL/MariaDB URL, mysql://user@host:port/db (prefer password_env for the password). [spotify.url]
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// MySQL/MariaDB host. [spotify.host]
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// MySQL/MariaDB port. [spotify.port]
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// MySQL/MariaDB user. [spotify.user]
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Environment variable holding the MySQL password. [spotify.password_env]
    #[arg(long, global = true, value_name = "VAR")]
    pub password_env: Option<String>,
    /// MySQL database. [spotify.database]
    #[arg(long, global = true, value_name = "NAME")]
    pub database: Option<String>,
    /// Chart table. [spotify.table]
    #[arg(long, global = true, value_name = "NAME")]
    pub table: Option<String>,
    /// Saved queries and exports go here (default ~/.local/share/stacktop). [spotify.data_dir]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `stacktop spotify <action>`: work with the chart store without the UI.
#[derive(Debug, Subcommand)]
pub enum SpotifyAction {
    /// Import chart CSV files (Kaggle data.csv / charts.csv, spotifycharts.com, charts.spotify.com).
    Import(SpotifyImportArgs),
    /// Answer a ready-made question (see `stacktop spotify questions`).
    Ask(SpotifyAskArgs),
    /// Run one read-only statement (SELECT, WITH, SHOW, EXPLAIN).
    Sql(SpotifySqlArgs),
    /// List the ready-made questions.
    Questions,
    /// Generate a sample chart set (synthetic, in seconds), import it and open the tab.
    Demo(SpotifyDemoArgs),
}

#[derive(Debug, Args)]
pub struct SpotifyDemoArgs {
    /// Chart days to generate (20 regions × 200 positions each).
    #[arg(long, default_value_t = 120, value_name = "N")]
    pub days: u32,
}

#[derive(Debug, Args)]
pub struct SpotifyImportArgs {
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Force the format instead of detecting it: kaggle, charts, spotifycharts, chartsapi.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Region code for per-chart files whose name has none (e.g. us, global).
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// Chart date for per-chart files whose name has none.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Load nothing if any file or row is bad.
    #[arg(long)]
    pub strict: bool,
    /// Batched INSERTs instead of LOAD DATA LOCAL INFILE (MySQL).
    #[arg(long)]
    pub no_local_infile: bool,
}

#[derive(Debug, Args)]
pub struct SpotifyAskArgs {
    /// Question id, e.g. artist-streams.
    pub question: String,
    /// Region code (from the data), or global.
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// First chart day (inclusive).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<chrono::NaiveDate>,
    /// End of the range (exclusive).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<chrono::NaiveDate>,
    /// Chart positions, e.g. 1-10 or 1.
    #[arg(long, value_name = "A-B")]
    pub positions: Option<String>,
    /// Rows in top-N answers.
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
    /// Spotify track id for track-history.
    #[arg(long, value_name = "ID")]
    pub track: Option<String>,
    /// CSV instead of a text table (--json for JSON).
    #[arg(long)]
    pub csv: bool,
    /// Print the SQL instead of running it.
    #[arg(long)]
    pub show_sql: bool,
}

#[derive(Debug, Args)]
pub struct SpotifySqlArgs {
    /// The statement.
    pub sql: String,
    /// CSV instead of a text table (--json for JSON).
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate config files; prints each problem with file, line, key and value.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the effective configuration (all layers merged), secrets masked.
    Show,
}

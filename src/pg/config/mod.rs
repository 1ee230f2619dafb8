//! `[pgtop]` settings of a per-database TOML file (`serde`, unknown keys rejected): connection,
//! refresh, thresholds, slow log, Slack, read_only and `K` exclusions. Turns into a resolved
//! [`ConnSpec`] (running `password_command` / reading `password_env`) and [`CollectorOptions`].
//! Passwords are never stored here; the webhook URL and conninfo are redacted in `Debug`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::classify::{DurationBasis, Thresholds};
use super::conninfo::{resolve, ConnInfoError, ConnOverrides, ConnSpec, Env, Secret, SslMode};
use super::kill::KillExclusions;
use super::options::CollectorOptions;
use super::slack::SlackOptions;

mod slack_section;
mod values;

pub use slack_section::SlackConfig;
pub use values::parse_duration;
use values::{de_duration, de_opt_duration, de_secret, ser_duration, ser_opt_duration, ser_secret};

/// Env var consulted for the webhook when the file has none.
pub const WEBHOOK_ENV: &str = "STACKTOP_SLACK_WEBHOOK";

#[derive(Debug, thiserror::Error)]
pub enum PgConfigError {
    #[error("pgtop config: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("pgtop config: {0}")]
    Invalid(String),
    #[error(transparent)]
    Conn(#[from] ConnInfoError),
    #[error("{0}")]
    PasswordCommand(String),
}

/// `[pgtop]` of a stacktop config file (the section type of `config::Config::pgtop`): a
/// per-database file holds everything — connection, thresholds, slow log, webhook, read_only.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PgConfig {
    /// label used in logs and messages (default: the host)
    pub name: Option<String>,
    /// libpq URI or key/value conninfo (may be empty: PG* env vars and defaults apply)
    pub conninfo: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub dbname: Option<String>,
    /// name of an environment variable holding the password
    pub password_env: Option<String>,
    /// command whose first output line is the password (run with `sh -c`)
    pub password_command: Option<String>,
    /// literal password (prefer `password_env`, `password_command` or `.pgpass`)
    #[serde(deserialize_with = "de_secret", serialize_with = "ser_secret")]
    pub password: Option<Secret>,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<String>,
    /// refresh interval of this view (unset: `ui.refresh`)
    #[serde(
        deserialize_with = "de_opt_duration",
        serialize_with = "ser_opt_duration"
    )]
    pub refresh: Option<Duration>,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub statement_timeout: Duration,
    /// client-side limit on every PostgreSQL call (connect, each refresh query, a kill): no
    /// answer within it drops the connection and reconnects
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub query_timeout: Duration,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub slow_threshold: Duration,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub critical_threshold: Duration,
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub idle_in_transaction_threshold: Duration,
    /// an active session whose transaction is this old while its statement is not slow
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub long_transaction_threshold: Duration,
    pub duration_basis: DurationBasis,
    /// slow-query log path (default under the XDG state dir)
    pub slow_log: Option<PathBuf>,
    /// set false to write no slow log
    pub slow_log_enabled: bool,
    #[serde(deserialize_with = "de_secret", serialize_with = "ser_secret")]
    pub slack_webhook: Option<Secret>,
    /// env var holding the webhook URL (default `STACKTOP_SLACK_WEBHOOK`)
    pub slack_webhook_env: Option<String>,
    pub slack: SlackConfig,
    pub read_only: bool,
    pub kill: KillExclusions,
}

impl Default for PgConfig {
    fn default() -> Self {
        let t = Thresholds::default();
        PgConfig {
            name: None,
            conninfo: None,
            host: None,
            port: None,
            user: None,
            dbname: None,
            password_env: None,
            password_command: None,
            password: None,
            sslmode: None,
            sslrootcert: None,
            refresh: None,
            statement_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(5),
            slow_threshold: t.slow,
            critical_threshold: t.critical,
            idle_in_transaction_threshold: t.idle_in_transaction,
            long_transaction_threshold: t.long_transaction,
            duration_basis: DurationBasis::Query,
            slow_log: None,
            slow_log_enabled: true,
            slack_webhook: None,
            slack_webhook_env: None,
            slack: SlackConfig::default(),
            read_only: false,
            kill: KillExclusions::default(),
        }
    }
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ci = self
            .conninfo
            .as_ref()
            .map(|c| match super::conninfo::parse_conninfo(c) {
                Ok(p) => format!("{p:?}"),
                Err(_) => "<unparsable>".to_string(),
            });
        f.debug_struct("PgConfig")
            .field("name", &self.name)
            .field("conninfo", &ci)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password_env", &self.password_env)
            .field("sslmode", &self.sslmode)
            .field("refresh", &self.refresh)
            .field("slow_threshold", &self.slow_threshold)
            .field("critical_threshold", &self.critical_threshold)
            .field(
                "idle_in_transaction_threshold",
                &self.idle_in_transaction_threshold,
            )
            .field(
                "long_transaction_threshold",
                &self.long_transaction_threshold,
            )
            .field("slow_log", &self.slow_log)
            .field("slack_webhook", &self.slack_webhook)
            .field("read_only", &self.read_only)
            .field("kill", &self.kill)
            .finish_non_exhaustive()
    }
}

impl PgConfig {
    /// Parses a `[pgtop]` table body and validates it.
    pub fn from_toml_str(s: &str) -> Result<Self, PgConfigError> {
        let c: PgConfig = toml::from_str(s)?;
        c.validate()?;
        Ok(c)
    }

    /// The first of [`PgConfig::problems`], as an error.
    pub fn validate(&self) -> Result<(), PgConfigError> {
        match self.problems().into_iter().next() {
            Some((_, msg)) => Err(PgConfigError::Invalid(msg)),
            None => Ok(()),
        }
    }

    /// Every cross-field problem, as (key, message); empty when the settings are usable.
    /// Start-up and `stacktop config check` both report these (`config::check::validate`).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.refresh.is_some_and(|r| r < Duration::from_millis(100)) {
            v.push(("refresh", "refresh must be at least 100ms".into()));
        }
        if self.critical_threshold < self.slow_threshold {
            v.push((
                "critical_threshold",
                "critical_threshold must not be below slow_threshold".into(),
            ));
        }
        if self.slack.max_query_chars == 0 || self.slack.max_query_chars > 10_000 {
            v.push((
                "slack.max_query_chars",
                "slack.max_query_chars must be between 1 and 10000".into(),
            ));
        }
        if self.slack.outbox_max == 0 || self.slack.timeout.is_zero() {
            v.push((
                "slack.outbox_max",
                "slack.outbox_max and slack.timeout must be above 0".into(),
            ));
        }
        if self.statement_timeout.is_zero() {
            v.push((
                "statement_timeout",
                "statement_timeout must be above 0".into(),
            ));
        }
        if self.query_timeout < Duration::from_millis(100) {
            v.push((
                "query_timeout",
                "query_timeout must be at least 100ms".into(),
            ));
        }
        v
    }

    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            slow: self.slow_threshold,
            critical: self.critical_threshold,
            idle_in_transaction: self.idle_in_transaction_threshold,
            long_transaction: self.long_transaction_threshold,
        }
    }

    fn password(&self, env: &Env) -> Result<Option<Secret>, PgConfigError> {
        if let Some(var) = &self.password_env {
            return match (env.vars)(var) {
                Some(p) => Ok(Some(Secret::new(p))),
                None => Err(PgConfigError::Invalid(format!(
                    "password_env: environment variable {var} is not set"
                ))),
            };
        }
        if let Some(cmd) = &self.password_command {
            let timeout = crate::base::secrets::PASSWORD_COMMAND_TIMEOUT;
            return crate::base::secrets::password_command(cmd, timeout)
                .map(Some)
                .map_err(|e| PgConfigError::PasswordCommand(e.to_string()));
        }
        Ok(self.password.clone())
    }

    /// Resolves the connection (conninfo + fields + env + service + .pgpass).
    pub fn conn_spec(&self, env: &Env) -> Result<ConnSpec, PgConfigError> {
        let ov = ConnOverrides {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            dbname: self.dbname.clone(),
            sslmode: self.sslmode,
            sslrootcert: self.sslrootcert.clone(),
            password: self.password(env)?,
        };
        Ok(resolve(self.conninfo.as_deref(), &ov, env)?)
    }

    /// The webhook URL from the file or the environment.
    pub fn webhook(&self, env: &Env) -> Option<Secret> {
        self.slack_webhook.clone().or_else(|| {
            let var = self.slack_webhook_env.as_deref().unwrap_or(WEBHOOK_ENV);
            (env.vars)(var).map(Secret::new)
        })
    }

    /// The slow log: `slow_log`, else [`super::slowlog::DEFAULT_NAME`] in `env`'s state
    /// directory; `None` when turned off (or without a state directory).
    pub fn slow_log_path(&self, env: &Env) -> Option<PathBuf> {
        if !self.slow_log_enabled {
            return None;
        }
        (self.slow_log.clone())
            .or_else(|| Some(env.state_dir()?.join(super::slowlog::DEFAULT_NAME)))
    }

    /// The durable outbox of this server: `<outbox_dir>/<label>-<hash of label, host, port,
    /// database>`, so stacktops watching different databases never share one.
    pub fn outbox_path(&self, server: &str, spec: &ConnSpec, env: &Env) -> Option<PathBuf> {
        let base =
            (self.slack.outbox_dir.clone()).or_else(|| env.state_dir().map(|d| d.join("slack")))?;
        let (host, port) = spec
            .hosts
            .first()
            .map(|h| (h.host.to_string(), h.port))
            .unwrap_or_default();
        let identity = format!("{server}\0{host}\0{port}\0{}", spec.dbname);
        // FNV-1a: stable across builds and Rust versions
        let hash = identity.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let slug = crate::private_fs::safe_name(server);
        Some(base.join(format!("{slug}-{hash:016x}")))
    }

    pub fn slack_options(&self, url: Secret, server: &str) -> SlackOptions {
        let mut o = SlackOptions::new(url, server);
        o.timeout = self.slack.timeout;
        o.retries = self.slack.retries;
        o.backoff_max = self.slack.backoff_max.max(o.backoff);
        o.queue = self.slack.queue;
        o.outbox_max = self.slack.outbox_max;
        o.resolved = self.slack.resolved;
        o.redact_literals = self.slack.redact_literals;
        o.max_query_chars = self.slack.max_query_chars;
        o.max_per_minute = self.slack.max_per_minute;
        o
    }

    /// Whether this section names a server to watch (a connection key is set). PG* variables,
    /// service files and .pgpass alone do not: they only say how to connect once asked.
    pub fn names_target(&self) -> bool {
        self.conninfo.is_some()
            || self.host.is_some()
            || self.port.is_some()
            || self.user.is_some()
            || self.dbname.is_some()
            || self.password_env.is_some()
            || self.password_command.is_some()
            || self.password.is_some()
            || self.sslrootcert.is_some()
    }

    /// Everything the collector needs (opening the slow log is left to `collector::spawn`).
    pub fn collector_options(&self, env: &Env) -> Result<CollectorOptions, PgConfigError> {
        let spec = self.conn_spec(env)?;
        let server = self
            .name
            .clone()
            .unwrap_or_else(|| super::conninfo::server_label(&spec));
        let slack = self.webhook(env).map(|u| {
            let mut so = self.slack_options(u, &server);
            so.outbox = self.outbox_path(&server, &spec, env);
            so
        });
        let mut o = CollectorOptions::new(spec);
        o.server = server;
        if let Some(r) = self.refresh {
            o.interval = r;
        }
        o.statement_timeout = self.statement_timeout;
        o.query_timeout = self.query_timeout;
        o.thresholds = self.thresholds();
        o.slow_log = self.slow_log_path(env);
        o.slack = slack;
        o.read_only = self.read_only;
        Ok(o)
    }
}

#[cfg(test)]
mod tests;

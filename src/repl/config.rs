//! Configuration of the servers the replication view watches (deserialized from the lead's
//! config file with serde), and password resolution. First stop of the data flow: the
//! collector turns each [`ServerConfig`] into one persistent mysql_async connection.
//!
//! Passwords live only in [`Secret`], whose `Debug`/`Display` print `<redacted>`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the server is expected to be. `Auto` decides from what the server reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerRole {
    Replica,
    Primary,
    #[default]
    Auto,
}

/// TLS options for one server connection (rustls).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Use TLS at all.
    #[serde(default)]
    pub enabled: bool,
    /// PEM file with the CA certificate(s) to trust.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// PEM client certificate chain (with `key`).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// PEM client private key (with `cert`).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Skip certificate verification (self-signed lab servers). Off by default.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

fn default_port() -> u16 {
    3306
}

/// One server to watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Display name, unique in the config.
    pub name: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Unix socket path; used instead of host/port when set.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    #[serde(default)]
    pub user: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Shell command whose first stdout line is the password (`sh -c`).
    #[serde(default)]
    pub password_command: Option<String>,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub role: ServerRole,
    /// pt-heartbeat table, e.g. `percona.heartbeat`, for heartbeat lag.
    #[serde(default)]
    pub heartbeat_table: Option<String>,
}

impl ServerConfig {
    /// A TCP server config with defaults (handy for tests and the CLI).
    pub fn tcp(name: &str, host: &str, port: u16) -> Self {
        ServerConfig {
            name: name.to_string(),
            host: Some(host.to_string()),
            port,
            socket: None,
            user: None,
            password_env: None,
            password_command: None,
            tls: TlsConfig::default(),
            role: ServerRole::Auto,
            heartbeat_table: None,
        }
    }

    /// `host:port` or the socket path, for display.
    pub fn address(&self) -> String {
        match (&self.socket, &self.host) {
            (Some(s), _) => s.display().to_string(),
            (None, Some(h)) => format!("{h}:{}", self.port),
            (None, None) => format!("localhost:{}", self.port),
        }
    }
}

/// A password: the shell's [`Secret`], never shown by `Debug` or `Display`.
pub use crate::base::secrets::Secret;

/// Why a password could not be obtained. Never contains the password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("{0}")]
    CommandSpawn(String),
    #[error("{0}")]
    CommandFailed(String),
    #[error("password_command printed no password")]
    CommandEmpty,
}

/// Resolve the password for `cfg`: `password_env`, else `password_command`, else the
/// `password` of the `[client]` group in `~/.my.cnf`, else none.
pub async fn resolve_password(cfg: &ServerConfig) -> Result<Option<Secret>, PasswordError> {
    if let Some(var) = &cfg.password_env {
        return match std::env::var(var) {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(_) => Err(PasswordError::EnvMissing(var.clone())),
        };
    }
    if let Some(cmd) = &cfg.password_command {
        use crate::base::secrets::{password_command, PasswordCommandError as E};
        let cmd = cmd.clone();
        let timeout = crate::base::secrets::PASSWORD_COMMAND_TIMEOUT;
        let pw = tokio::task::spawn_blocking(move || password_command(&cmd, timeout))
            .await
            .map_err(|e| PasswordError::CommandSpawn(e.to_string()))?
            .map_err(|e| match e {
                E::Spawn(..) => PasswordError::CommandSpawn(e.to_string()),
                E::Failed(..) | E::Timeout(..) => PasswordError::CommandFailed(e.to_string()),
            })?;
        let line = pw.expose().trim_end_matches('\r');
        if line.is_empty() {
            return Err(PasswordError::CommandEmpty);
        }
        return Ok(Some(Secret::new(line)));
    }
    let Some(home) = dirs::home_dir() else {
        return Ok(None);
    };
    Ok(my_cnf_client_value(&home.join(".my.cnf"), "password").map(Secret::new))
}

/// Read `key` from the `[client]` group of a my.cnf-style file (missing file → `None`).
pub fn my_cnf_client_value(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_my_cnf_client(&text, key)
}

/// Parse `key` from the `[client]` group of my.cnf text. Quotes around the value are removed.
pub fn parse_my_cnf_client(text: &str, key: &str) -> Option<String> {
    let mut in_client = false;
    let mut found = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            in_client = line.eq_ignore_ascii_case("[client]");
            continue;
        }
        if !in_client {
            continue;
        }
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line, ""),
        };
        if k.replace('-', "_").eq_ignore_ascii_case(key) {
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(v);
            found = Some(v.to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_never_printed() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn my_cnf_client_group_only() {
        let t = "[mysqld]\npassword=server\n[client]\nuser=monitor\npassword = \"s3 cret\"\n[mysql]\npassword=other\n";
        assert_eq!(
            parse_my_cnf_client(t, "password").as_deref(),
            Some("s3 cret")
        );
        assert_eq!(parse_my_cnf_client(t, "user").as_deref(), Some("monitor"));
        assert_eq!(
            parse_my_cnf_client("[mysqld]\npassword=x\n", "password"),
            None
        );
    }

    #[test]
    fn config_rejects_unknown_fields_and_defaults_role() {
        let ok: ServerConfig = toml::from_str("name='r1'\nhost='db1'\nrole='replica'\n").unwrap();
        assert_eq!(ok.role, ServerRole::Replica);
        assert_eq!(ok.port, 3306);
        let bad = toml::from_str::<ServerConfig>("name='r1'\npasword_env='X'\n");
        assert!(bad.is_err());
    }

    #[tokio::test]
    async fn password_from_env_and_command() {
        let mut c = ServerConfig::tcp("a", "127.0.0.1", 3306);
        c.password_env = Some("STACKTOP_REPL_TEST_PW_UNSET_VAR".into());
        assert!(matches!(
            resolve_password(&c).await,
            Err(PasswordError::EnvMissing(_))
        ));
        c.password_env = None;
        c.password_command = Some("printf 'pw1\\nrest'".into());
        assert_eq!(
            resolve_password(&c).await.unwrap(),
            Some(Secret::new("pw1"))
        );
        c.password_command = Some("exit 3".into());
        let e = resolve_password(&c).await.unwrap_err();
        assert!(matches!(e, PasswordError::CommandFailed(_)));
    }
}

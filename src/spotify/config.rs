//! `[spotify]` configuration: which backend (embedded SQLite by default, or MySQL/MariaDB),
//! where the SQLite file lives (XDG data dir), how to reach and log in to MySQL (password
//! from an environment variable or a command, never stored), and the database/table names.
//! Debug output never shows a password (a password in `url` is masked).
//!
//! Data flow: config file / CLI → [`SpotifyConfig`] → `Store::open`.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use super::schema::check_ident;
use crate::base::Dur;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    #[default]
    Sqlite,
    Mysql,
}

/// The explorer's settings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpotifyConfig {
    pub backend: Backend,
    /// SQLite file; default `$XDG_DATA_HOME/stacktop/spotify.sqlite3`.
    pub path: Option<PathBuf>,
    /// `mysql://user@host:port/db` (a password in it works but is better given by
    /// `password_env` / `password_command`).
    pub url: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// Name of an environment variable holding the MySQL password.
    pub password_env: Option<String>,
    /// Shell command printing the MySQL password on stdout (e.g. `pass show db/spotify`).
    pub password_command: Option<String>,
    /// The MySQL password itself (discouraged: prefer `password_env` / `password_command`;
    /// stacktop warns when the file holding it is readable by others).
    pub password: Option<String>,
    /// MySQL database. Unset: the database in `url`'s path (`mysql://…/charts`), else
    /// `spotify`; see [`SpotifyConfig::database`].
    pub database: Option<String>,
    /// Chart table (default `top200`).
    pub table: String,
    /// Saved queries (`queries/`) and exports (`exports/`); default `$XDG_DATA_HOME/stacktop`.
    pub data_dir: Option<PathBuf>,
    /// MySQL: the SQL editor's own account (a SELECT-only user); default: `user`.
    pub sql_user: Option<String>,
    /// Environment variable holding `sql_user`'s password.
    pub sql_password_env: Option<String>,
    /// Shell command printing `sql_user`'s password.
    pub sql_password_command: Option<String>,
    /// `sql_user`'s password itself (discouraged, like `password`).
    pub sql_password: Option<String>,
    /// Rows fetched at most per query (questions and SQL); the rest is not read.
    pub max_rows: usize,
    /// MySQL: server-side time limit of an editor statement (`max_statement_time` on MariaDB,
    /// `max_execution_time` on MySQL).
    pub sql_timeout: Dur,
}

/// The MySQL database when neither `database` nor `url` names one.
pub const DEFAULT_DATABASE: &str = "spotify";

/// Default of `spotify.max_rows`.
pub const DEFAULT_MAX_ROWS: usize = 10_000;

impl Default for SpotifyConfig {
    fn default() -> Self {
        SpotifyConfig {
            backend: Backend::Sqlite,
            path: None,
            url: None,
            host: None,
            port: None,
            user: None,
            password_env: None,
            password_command: None,
            password: None,
            database: None,
            table: "top200".into(),
            data_dir: None,
            sql_user: None,
            sql_password_env: None,
            sql_password_command: None,
            sql_password: None,
            max_rows: DEFAULT_MAX_ROWS,
            sql_timeout: Dur::secs(30),
        }
    }
}

impl std::fmt::Debug for SpotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotifyConfig")
            .field("backend", &self.backend)
            .field("path", &self.path)
            .field("url", &self.url.as_deref().map(mask_url_password))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password_env", &self.password_env)
            .field(
                "password_command",
                &self.password_command.as_ref().map(|_| "<set>"),
            )
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("database", &self.database())
            .field("table", &self.table)
            .field("data_dir", &self.data_dir)
            .field("sql_user", &self.sql_user)
            .field("sql_password_env", &self.sql_password_env)
            .field(
                "sql_password_command",
                &self.sql_password_command.as_ref().map(|_| "<set>"),
            )
            .field(
                "sql_password",
                &self.sql_password.as_ref().map(|_| "********"),
            )
            .field("max_rows", &self.max_rows)
            .field("sql_timeout", &self.sql_timeout)
            .finish()
    }
}

/// `mysql://u:secret@h/db` → `mysql://u:********@h/db` (the shared masker: a `/`, `@` or `:`
/// in the password, `?password=` parameters).
pub fn mask_url_password(url: &str) -> String {
    crate::mask::conninfo(url)
}

impl SpotifyConfig {
    /// Check names and combinations.
    pub fn validate(&self) -> Result<()> {
        self.validate_table()?;
        check_ident(&self.database())?;
        if let (Some(set), Some(in_url)) = (&self.database, self.url_database()) {
            if *set != in_url {
                bail!(
                    "database is {set:?} but url names database {in_url:?}: set only one \
                     (or make them agree)"
                );
            }
        }
        let sources = [
            self.password_env.is_some(),
            self.password_command.is_some(),
            self.password.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            bail!("set only one of password_env, password_command and password");
        }
        let sql_sources = [
            self.sql_password_env.is_some(),
            self.sql_password_command.is_some(),
            self.sql_password.is_some(),
        ];
        if sql_sources.iter().filter(|s| **s).count() > 1 {
            bail!("set only one of sql_password_env, sql_password_command and sql_password");
        }
        if self.sql_user.is_none() && sql_sources.contains(&true) {
            bail!("sql_password_env / sql_password_command / sql_password need sql_user");
        }
        if self.max_rows == 0 || self.max_rows > 10_000_000 {
            bail!("max_rows must be 1..=10000000, not {}", self.max_rows);
        }
        if self.sql_timeout.get().is_zero() {
            bail!("sql_timeout must be above 0");
        }
        Ok(())
    }

    /// The chart table's name: an identifier short enough for its summary tables' names
    /// (`summary::MAX_TABLE_NAME`).
    pub fn validate_table(&self) -> Result<()> {
        check_ident(&self.table)?;
        super::summary::check_table_name(&self.table)
    }

    /// The MySQL database to use: `database` when set, else the one in `url`'s path
    /// (`mysql://user@host/charts` → `charts`), else `spotify`. Both set and different is a
    /// [`SpotifyConfig::validate`] error, never a silent choice.
    pub fn database(&self) -> String {
        self.database
            .clone()
            .or_else(|| self.url_database())
            .unwrap_or_else(|| DEFAULT_DATABASE.into())
    }

    /// The database named in `url`'s path, if any (`mysql://h/` and `mysql://h` name none).
    pub fn url_database(&self) -> Option<String> {
        let opts = mysql_async::Opts::from_url(self.url.as_deref()?).ok()?;
        opts.db_name().filter(|d| !d.is_empty()).map(String::from)
    }

    /// The SQLite file to use.
    pub fn sqlite_path(&self) -> Result<PathBuf> {
        if let Some(p) = &self.path {
            return Ok(p.clone());
        }
        let dir = dirs::data_dir().ok_or_else(|| {
            anyhow!("no XDG data directory (set HOME or XDG_DATA_HOME, or give spotify.path)")
        })?;
        Ok(dir.join("stacktop").join("spotify.sqlite3"))
    }

    /// The MySQL password from `password_env`, `password_command` or `password`, if
    /// configured. Errors name the source that failed, never the secret.
    pub fn resolve_password(&self) -> Result<Option<String>> {
        crate::base::secrets::resolve_password(
            self.password.as_deref(),
            self.password_env.as_deref(),
            self.password_command.as_deref(),
        )
        .map(|p| p.map(|s| s.expose().to_string()))
        .map_err(|e| anyhow!(e))
    }

    /// The SQL editor's password (`sql_password_env`, `sql_password_command`,
    /// `sql_password`), if configured; errors name the source, never the secret.
    pub fn resolve_sql_password(&self) -> Result<Option<String>> {
        crate::base::secrets::resolve_password(
            self.sql_password.as_deref(),
            self.sql_password_env.as_deref(),
            self.sql_password_command.as_deref(),
        )
        .map(|p| p.map(|s| s.expose().to_string()))
        .map_err(|e| anyhow!("sql password: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_hides_secrets() {
        let c: SpotifyConfig = toml::from_str(
            "backend = \"mysql\"\nurl = \"mysql://root:hunter2@127.0.0.1:3306/spotify\"\ntable = \"charts\"\n",
        )
        .unwrap();
        assert_eq!(c.backend, Backend::Mysql);
        assert_eq!(c.database(), "spotify");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("root:********@"), "{dbg}");
        assert!(toml::from_str::<SpotifyConfig>("bogus = 1").is_err());
        let bad = SpotifyConfig {
            table: "x;drop".into(),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    /// `--url mysql://…/charts` loads into `charts`: the URL's database beats the default,
    /// an explicit `database` beats nothing silently (equal is fine, different is an error).
    #[test]
    fn database_from_the_url_unless_set() {
        let cfg = |text: &str| toml::from_str::<SpotifyConfig>(text).unwrap();
        let url = "url = \"mysql://app:p%2Fw@db1:3307/charts\"\n";
        let c = cfg(url);
        assert_eq!(c.database(), "charts");
        assert!(c.validate().is_ok());
        assert!(format!("{c:?}").contains("\"charts\""));
        assert_eq!(cfg("").database(), "spotify");
        assert_eq!(cfg("url = \"mysql://db1/\"").database(), "spotify");
        assert_eq!(cfg("database = \"x\"").database(), "x");
        let same = cfg(&format!("{url}database = \"charts\""));
        assert_eq!(same.database(), "charts");
        assert!(same.validate().is_ok());
        let clash = cfg(&format!("{url}database = \"spotify\""));
        let e = clash.validate().unwrap_err().to_string();
        assert!(e.contains("\"spotify\"") && e.contains("\"charts\""), "{e}");
        assert!(
            !e.contains("p%2Fw") && !e.contains("p/w"),
            "no password: {e}"
        );
        // bad names in the URL are refused like a bad `database`
        assert!(cfg("url = \"mysql://db1/a%3Bdrop\"").validate().is_err());
    }

    #[test]
    fn password_command() {
        let c = SpotifyConfig {
            password_command: Some("printf 's3cret\\n'".into()),
            ..Default::default()
        };
        assert_eq!(c.resolve_password().unwrap().as_deref(), Some("s3cret"));
        assert!(!format!("{c:?}").contains("printf"));
    }
}

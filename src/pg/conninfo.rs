//! Connection parameters by libpq conventions: URI or `key=value` conninfo, flag overrides,
//! a service file, `PG*` environment variables, defaults, and `.pgpass` (ignored unless 0600).
//! First stage of the pgtop data flow: config → [`ConnSpec`] → `tls::connect` → collector.
//! The password is held in a [`Secret`] and never appears in `Debug`/`Display`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A password or token: the shell's [`Secret`], never shown by `Debug` or `Display`.
pub use crate::base::secrets::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConnInfoError {
    #[error("invalid connection string: {0}")]
    Syntax(String),
    #[error("invalid connection option \"{0}\"")]
    UnknownOption(String),
    #[error("invalid value for connection option {key}: \"{value}\"")]
    BadValue { key: String, value: String },
    #[error("service file: {0}")]
    Service(String),
    #[error("TLS: {0}")]
    Tls(String),
}

/// libpq `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Raw keyword → value map from a conninfo string (password redacted in `Debug`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnParams(BTreeMap<String, String>);

impl fmt::Debug for ConnParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            if crate::mask::is_secret_key(k) {
                m.entry(k, &crate::mask::MASK);
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

impl ConnParams {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_string(), value.into());
    }
    fn set_if_absent(&mut self, key: &str, value: &str) {
        self.0
            .entry(key.to_string())
            .or_insert_with(|| value.to_string());
    }
}

pub(crate) const KNOWN_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "options",
    "application_name",
    "fallback_application_name",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "sslcompression",
    "gssencmode",
    "client_encoding",
    "channel_binding",
];

fn check_key(key: &str) -> Result<(), ConnInfoError> {
    if KNOWN_KEYS.contains(&key) {
        Ok(())
    } else {
        Err(ConnInfoError::UnknownOption(key.to_string()))
    }
}

mod files;
mod parse;

use files::apply_service;
pub use files::pgpass_lookup;
pub use parse::{parse_conninfo, scrub};

/// Looks up one environment variable.
pub type VarLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where environment variables, the home directory and the OS user come from (tests inject).
pub struct Env {
    pub vars: VarLookup,
    pub home: Option<PathBuf>,
    pub os_user: Option<String>,
}

impl Env {
    pub fn system() -> Self {
        Env {
            vars: Box::new(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
            home: dirs::home_dir(),
            os_user: os_user_name(),
        }
    }
    /// stacktop's state directory in this environment ([`crate::private_fs::state_dir_in`]):
    /// where the slow log and the Slack outboxes go by default.
    pub fn state_dir(&self) -> Option<PathBuf> {
        crate::private_fs::state_dir_in(self.var("XDG_STATE_HOME").as_deref(), self.home.as_deref())
    }

    fn var(&self, k: &str) -> Option<String> {
        (self.vars)(k)
    }
}

fn os_user_name() -> Option<String> {
    if let Some(u) = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    {
        return Some(u);
    }
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
    })
}

/// Values given by flags or the config file's own fields; they win over the conninfo string.
#[derive(Debug, Clone, Default)]
pub struct ConnOverrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub dbname: Option<String>,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<String>,
    pub password: Option<Secret>,
}

/// One host to try, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub host: String,
    pub hostaddr: Option<std::net::IpAddr>,
    pub port: u16,
}

impl HostSpec {
    pub fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }
}

/// Fully resolved connection parameters (password redacted in `Debug`/`Display`).
#[derive(Debug, Clone)]
pub struct ConnSpec {
    pub hosts: Vec<HostSpec>,
    pub user: String,
    pub dbname: String,
    pub password: Option<Secret>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    pub options: Option<String>,
    /// Notes for the user (e.g. a `.pgpass` ignored for its permissions).
    pub warnings: Vec<String>,
}

impl fmt::Display for ConnSpec {
    /// The effective conninfo, without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self.hosts.iter().map(|h| h.host.as_str()).collect();
        let ports: Vec<String> = self.hosts.iter().map(|h| h.port.to_string()).collect();
        write!(
            f,
            "host={} port={} user={} dbname={} sslmode={}",
            hosts.join(","),
            ports.join(","),
            self.user,
            self.dbname,
            self.sslmode.as_str()
        )?;
        if let Some(r) = &self.sslrootcert {
            write!(f, " sslrootcert={r}")?;
        }
        Ok(())
    }
}

const ENV_MAP: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGDATABASE", "dbname"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGPASSFILE", "passfile"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGOPTIONS", "options"),
];

/// Debian's compiled-in socket directory.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// Resolves a conninfo (may be empty) with libpq's precedence: overrides, conninfo, service file,
/// environment, defaults; then `.pgpass` when no password was given.
pub fn resolve(
    conninfo: Option<&str>,
    ov: &ConnOverrides,
    env: &Env,
) -> Result<ConnSpec, ConnInfoError> {
    resolve_inner(conninfo, ov, env).map_err(|e| scrub(e, conninfo.unwrap_or("")))
}

/// `host:port/dbname` of the first host: the server label on screen, in the slow log and in
/// Slack. Built from the parsed fields only; should one of them still hold the password (a
/// URI too odd to split right), it is masked there too.
pub fn server_label(spec: &ConnSpec) -> String {
    let label = spec
        .hosts
        .first()
        .map(|h| format!("{}:{}/{}", h.host, h.port, spec.dbname))
        .unwrap_or_default();
    match &spec.password {
        Some(p) if !p.expose().is_empty() && label.contains(p.expose()) => {
            label.replace(p.expose(), crate::mask::MASK)
        }
        _ => label,
    }
}

fn resolve_inner(
    conninfo: Option<&str>,
    ov: &ConnOverrides,
    env: &Env,
) -> Result<ConnSpec, ConnInfoError> {
    let mut p = match conninfo {
        Some(s) if !s.trim().is_empty() => parse_conninfo(s)?,
        _ => ConnParams::default(),
    };
    if let Some(h) = &ov.host {
        p.set("host", h.clone());
        p.0.remove("hostaddr");
    }
    if let Some(v) = ov.port {
        p.set("port", v.to_string());
    }
    if let Some(v) = &ov.user {
        p.set("user", v.clone());
    }
    if let Some(v) = &ov.dbname {
        p.set("dbname", v.clone());
    }
    if let Some(v) = ov.sslmode {
        p.set("sslmode", v.as_str());
    }
    if let Some(v) = &ov.sslrootcert {
        p.set("sslrootcert", v.clone());
    }
    let service = p
        .get("service")
        .map(str::to_string)
        .or_else(|| env.var("PGSERVICE"));
    if let Some(name) = service {
        apply_service(&mut p, &name, env)?;
    }
    for (var, key) in ENV_MAP {
        if let Some(v) = env.var(var) {
            p.set_if_absent(key, &v);
        }
    }
    let mut warnings = Vec::new();
    let user = p
        .get("user")
        .map(str::to_string)
        .or_else(|| env.os_user.clone())
        .unwrap_or_else(|| "postgres".to_string());
    let dbname = p
        .get("dbname")
        .map(str::to_string)
        .unwrap_or_else(|| user.clone());
    let host_str = p.get("host").map(str::to_string).unwrap_or_else(|| {
        if Path::new(DEFAULT_SOCKET_DIR).is_dir() {
            DEFAULT_SOCKET_DIR.to_string()
        } else {
            "localhost".to_string()
        }
    });
    let hosts_in: Vec<&str> = host_str.split(',').collect();
    let ports_in: Vec<&str> = p.get("port").unwrap_or("5432").split(',').collect();
    let addrs_in: Vec<&str> = p
        .get("hostaddr")
        .map(|a| a.split(',').collect())
        .unwrap_or_default();
    if ports_in.len() != 1 && ports_in.len() != hosts_in.len() {
        return Err(ConnInfoError::Syntax(format!(
            "could not match {} port numbers to {} hosts",
            ports_in.len(),
            hosts_in.len()
        )));
    }
    let mut hosts = Vec::new();
    for (i, h) in hosts_in.iter().enumerate() {
        let ps = if ports_in.len() == 1 {
            ports_in[0]
        } else {
            ports_in[i]
        };
        let ps = if ps.is_empty() { "5432" } else { ps };
        let port: u16 = ps.parse().map_err(|_| ConnInfoError::BadValue {
            key: "port".into(),
            value: ps.into(),
        })?;
        let hostaddr = match addrs_in.get(i).filter(|a| !a.is_empty()) {
            Some(a) => Some(a.parse().map_err(|_| ConnInfoError::BadValue {
                key: "hostaddr".into(),
                value: a.to_string(),
            })?),
            None => None,
        };
        let host = if h.is_empty() {
            DEFAULT_SOCKET_DIR.to_string()
        } else {
            h.to_string()
        };
        hosts.push(HostSpec {
            host,
            hostaddr,
            port,
        });
    }
    let sslmode = match p.get("sslmode") {
        Some(s) => SslMode::parse(s).ok_or_else(|| ConnInfoError::BadValue {
            key: "sslmode".into(),
            value: s.into(),
        })?,
        None => SslMode::Prefer,
    };
    let connect_timeout = match p.get("connect_timeout") {
        Some(s) => {
            let secs: u64 = s.trim().parse().map_err(|_| ConnInfoError::BadValue {
                key: "connect_timeout".into(),
                value: s.into(),
            })?;
            (secs > 0).then(|| Duration::from_secs(secs.max(2)))
        }
        None => None,
    };
    let mut password = ov
        .password
        .clone()
        .or_else(|| p.get("password").map(Secret::new));
    if password.is_none() {
        let passfile = p
            .get("passfile")
            .map(PathBuf::from)
            .or_else(|| env.home.as_ref().map(|h| h.join(".pgpass")));
        if let (Some(pf), Some(first)) = (passfile, hosts.first()) {
            password = pgpass_lookup(&pf, first, &dbname, &user, &mut warnings);
        }
    }
    Ok(ConnSpec {
        hosts,
        user,
        dbname,
        password,
        sslmode,
        sslrootcert: p.get("sslrootcert").map(str::to_string),
        sslcert: p.get("sslcert").map(PathBuf::from),
        sslkey: p.get("sslkey").map(PathBuf::from),
        connect_timeout,
        options: p.get("options").map(str::to_string),
        warnings,
    })
}

#[cfg(test)]
mod tests;

//! Connection parameters by libpq conventions: URI or `key=value` conninfo, flag overrides,
//! a service file, `PG*` environment variables, defaults, and `.pgpass` (ignored unless 0600).
//! First stage of the pgtop data flow: config → [`ConnSpec`] → `tls::connect` → collector.
//! The password is held in a [`Secret`] and never appears in `Debug`/`Display`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A password or token: the shell's [`Secret`], never shown by `Debug` or `Display`.
pub use crate::config::secrets::Secret;

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
            if k == "password" {
                m.entry(k, &"***");
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

const KNOWN_KEYS: &[&str] = &[
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

/// Parses a conninfo: a `postgresql://` / `postgres://` URI or `key=value` pairs.
pub fn parse_conninfo(s: &str) -> Result<ConnParams, ConnInfoError> {
    let t = s.trim();
    if t.starts_with("postgresql://") || t.starts_with("postgres://") {
        parse_uri(t)
    } else {
        parse_kv(t)
    }
}

fn parse_kv(s: &str) -> Result<ConnParams, ConnInfoError> {
    let mut out = ConnParams::default();
    let mut it = s.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            it.next();
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.next() != Some('=') {
            return Err(ConnInfoError::Syntax(format!(
                "missing \"=\" after \"{key}\""
            )));
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let mut val = String::new();
        if it.peek() == Some(&'\'') {
            it.next();
            let mut closed = false;
            while let Some(c) = it.next() {
                match c {
                    '\\' => {
                        if let Some(n) = it.next() {
                            val.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => val.push(c),
                }
            }
            if !closed {
                return Err(ConnInfoError::Syntax(format!(
                    "unterminated quoted string for \"{key}\""
                )));
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                it.next();
                if c == '\\' {
                    if let Some(n) = it.next() {
                        val.push(n);
                    }
                } else {
                    val.push(c);
                }
            }
        }
        check_key(&key)?;
        out.set(&key, val);
    }
    Ok(out)
}

fn pct_decode(s: &str) -> Result<String, ConnInfoError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ConnInfoError::Syntax("invalid percent-encoding in URI".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ConnInfoError::Syntax("URI is not valid UTF-8".into()))
}

fn parse_uri(s: &str) -> Result<ConnParams, ConnInfoError> {
    let mut out = ConnParams::default();
    let rest = s.split_once("://").map(|x| x.1).unwrap_or("");
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match main.find('/') {
        Some(i) => (&main[..i], Some(&main[i + 1..])),
        None => (main, None),
    };
    let hostlist = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            match userinfo.split_once(':') {
                Some((u, p)) => {
                    if !u.is_empty() {
                        out.set("user", pct_decode(u)?);
                    }
                    out.set("password", pct_decode(p)?);
                }
                None if !userinfo.is_empty() => out.set("user", pct_decode(userinfo)?),
                None => {}
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for part in hostlist.split(',') {
            let (h, p) = if let Some(r) = part.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| ConnInfoError::Syntax("missing \"]\" in IPv6 host".into()))?;
                let port = r[end + 1..].strip_prefix(':').unwrap_or("");
                (&r[..end], port)
            } else {
                match part.rsplit_once(':') {
                    Some((h, p)) => (h, p),
                    None => (part, ""),
                }
            };
            hosts.push(pct_decode(h)?);
            ports.push(p.to_string());
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            out.set("host", hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            out.set("port", ports.join(","));
        }
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        out.set("dbname", pct_decode(db)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| ConnInfoError::Syntax(format!("missing \"=\" in \"{pair}\"")))?;
            let k = pct_decode(k)?;
            check_key(&k)?;
            out.set(&k, pct_decode(v)?);
        }
    }
    Ok(out)
}

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

fn apply_service(p: &mut ConnParams, name: &str, env: &Env) -> Result<(), ConnInfoError> {
    let mut files = Vec::new();
    if let Some(f) = env.var("PGSERVICEFILE") {
        files.push(PathBuf::from(f));
    } else if let Some(h) = &env.home {
        files.push(h.join(".pg_service.conf"));
    }
    let sysconf = env
        .var("PGSYSCONFDIR")
        .unwrap_or_else(|| "/etc/postgresql-common".to_string());
    files.push(Path::new(&sysconf).join("pg_service.conf"));
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Some(pairs) = service_section(&text, name, &f)? {
            for (k, v) in pairs {
                if k == "service" {
                    return Err(ConnInfoError::Service(format!(
                        "nested service specifications not supported ({})",
                        f.display()
                    )));
                }
                check_key(&k)?;
                p.set_if_absent(&k, &v);
            }
            return Ok(());
        }
    }
    Err(ConnInfoError::Service(format!(
        "definition of service \"{name}\" not found"
    )))
}

fn service_section(
    text: &str,
    name: &str,
    file: &Path,
) -> Result<Option<Vec<(String, String)>>, ConnInfoError> {
    let mut in_section = false;
    let mut found = None::<Vec<(String, String)>>;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(sec) = line.strip_prefix('[') {
            if found.is_some() && in_section {
                break;
            }
            in_section = sec.trim_end_matches(']').trim() == name;
            if in_section {
                found = Some(Vec::new());
            }
            continue;
        }
        if in_section {
            let (k, v) = line.split_once('=').ok_or_else(|| {
                ConnInfoError::Service(format!("syntax error in {} line {}", file.display(), n + 1))
            })?;
            if let Some(f) = found.as_mut() {
                f.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    Ok(found)
}

/// Looks up `.pgpass`; ignored (with a warning) unless it is a regular file without group/other
/// permissions, as libpq does.
pub fn pgpass_lookup(
    file: &Path,
    host: &HostSpec,
    dbname: &str,
    user: &str,
    warnings: &mut Vec<String>,
) -> Option<Secret> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() {
        warnings.push(format!(
            "password file \"{}\" is not a plain file",
            file.display()
        ));
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        warnings.push(format!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            file.display()
        ));
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let hostname = if host.is_socket() && host.host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        host.host.as_str()
    };
    let port = host.port.to_string();
    let want = [hostname, port.as_str(), dbname, user];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() < 5 {
            continue;
        }
        let ok = want
            .iter()
            .zip(fields.iter())
            .all(|(w, f)| f == "*" || f == w);
        if ok {
            return Some(Secret::new(fields[4].clone()));
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(last) = out.last_mut() {
                        last.push(n);
                    }
                }
            }
            ':' if out.len() < 5 => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_with(vars: &[(&str, &str)], home: Option<PathBuf>) -> Env {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env {
            vars: Box::new(move |k| m.get(k).cloned()),
            home,
            os_user: Some("osuser".into()),
        }
    }

    #[test]
    fn key_value_with_quotes_and_escapes() {
        let p = parse_conninfo(r"host=db1 port = 5433 password='it''s' user='a b\'c' dbname=x\ y")
            .unwrap_err();
        // '' is not an escape in libpq: the first quote ends the value, then "s'" is garbage
        assert!(matches!(
            p,
            ConnInfoError::Syntax(_) | ConnInfoError::UnknownOption(_)
        ));
        let p = parse_conninfo(r"host=db1 port = 5433 user='a b\'c' dbname=x\ y").unwrap();
        assert_eq!(p.get("host"), Some("db1"));
        assert_eq!(p.get("port"), Some("5433"));
        assert_eq!(p.get("user"), Some("a b'c"));
        assert_eq!(p.get("dbname"), Some("x y"));
        assert!(matches!(
            parse_conninfo("hots=x"),
            Err(ConnInfoError::UnknownOption(k)) if k == "hots"
        ));
        assert!(parse_conninfo("host").is_err());
        assert!(parse_conninfo("user='abc").is_err());
    }

    #[test]
    fn uri_forms() {
        let p = parse_conninfo(
            "postgresql://al%40ice:s%3Acret@h1:5433,[::1]:5434/orders?sslmode=verify-full&application_name=x",
        )
        .unwrap();
        assert_eq!(p.get("user"), Some("al@ice"));
        assert_eq!(p.get("password"), Some("s:cret"));
        assert_eq!(p.get("host"), Some("h1,::1"));
        assert_eq!(p.get("port"), Some("5433,5434"));
        assert_eq!(p.get("dbname"), Some("orders"));
        assert_eq!(p.get("sslmode"), Some("verify-full"));
        let p = parse_conninfo("postgres://%2Ftmp%2Fsock/db").unwrap();
        assert_eq!(p.get("host"), Some("/tmp/sock"));
        assert!(parse_conninfo("postgres://h/db?bogus=1").is_err());
        assert!(!format!("{p:?}").contains("cret"));
    }

    #[test]
    fn precedence_overrides_conninfo_env_defaults() {
        let env = env_with(
            &[
                ("PGHOST", "envhost"),
                ("PGPORT", "6000"),
                ("PGUSER", "envuser"),
                ("PGSSLMODE", "require"),
            ],
            None,
        );
        let ov = ConnOverrides {
            port: Some(7000),
            ..Default::default()
        };
        let s = resolve(Some("host=cihost dbname=cidb"), &ov, &env).unwrap();
        assert_eq!(s.hosts[0].host, "cihost");
        assert_eq!(s.hosts[0].port, 7000);
        assert_eq!(s.user, "envuser");
        assert_eq!(s.dbname, "cidb");
        assert_eq!(s.sslmode, SslMode::Require);
        let s = resolve(None, &ConnOverrides::default(), &env_with(&[], None)).unwrap();
        assert_eq!(s.user, "osuser");
        assert_eq!(s.dbname, "osuser");
        assert_eq!(s.hosts[0].port, 5432);
        assert_eq!(s.sslmode, SslMode::Prefer);
        assert!(resolve(Some("port=1,2"), &ConnOverrides::default(), &env).is_err());
        assert!(resolve(Some("sslmode=bogus"), &ConnOverrides::default(), &env).is_err());
    }

    #[test]
    fn pgpass_requires_0600_and_matches_wildcards() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pf = dir.path().join(".pgpass");
        std::fs::write(
            &pf,
            "# comment\nother:*:*:*:nope\ndbhost:5432:*:alice:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .unwrap();
        std::fs::set_permissions(&pf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let env = env_with(&[], Some(dir.path().to_path_buf()));
        let ci = "host=dbhost user=alice dbname=orders";
        let s = resolve(Some(ci), &ConnOverrides::default(), &env).unwrap();
        assert!(s.password.is_none());
        assert!(s.warnings[0].contains("0600"), "{:?}", s.warnings);
        std::fs::set_permissions(&pf, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = resolve(Some(ci), &ConnOverrides::default(), &env).unwrap();
        assert_eq!(s.password.as_ref().unwrap().expose(), "pa:ss");
        assert!(!format!("{s:?}").contains("pa:ss"));
        assert!(!s.to_string().contains("pa:ss"));
        let s = resolve(Some("host=x user=bob"), &ConnOverrides::default(), &env).unwrap();
        assert_eq!(s.password.unwrap().expose(), "fallback");
        // an explicit password wins over .pgpass
        let ov = ConnOverrides {
            password: Some(Secret::new("explicit")),
            ..Default::default()
        };
        let s = resolve(Some(ci), &ov, &env).unwrap();
        assert_eq!(s.password.unwrap().expose(), "explicit");
    }

    #[test]
    fn service_file_fills_unset_keys() {
        let dir = tempfile::tempdir().unwrap();
        let sf = dir.path().join("svc.conf");
        std::fs::write(
            &sf,
            "[other]\nhost=nope\n\n[orders]\n# c\nhost=svchost\nport=6543\ndbname=orders\n",
        )
        .unwrap();
        let env = env_with(
            &[
                ("PGSERVICEFILE", sf.to_str().unwrap()),
                ("PGSYSCONFDIR", "/nonexistent"),
            ],
            None,
        );
        let s = resolve(
            Some("service=orders dbname=mine"),
            &ConnOverrides::default(),
            &env,
        )
        .unwrap();
        assert_eq!(s.hosts[0].host, "svchost");
        assert_eq!(s.hosts[0].port, 6543);
        assert_eq!(s.dbname, "mine");
        let e = resolve(Some("service=missing"), &ConnOverrides::default(), &env).unwrap_err();
        assert!(e.to_string().contains("missing"));
    }
}

//! The files libpq reads besides the conninfo: the service file and `.pgpass`.

use std::path::{Path, PathBuf};

use super::{check_key, ConnInfoError, ConnParams, Env, HostSpec, Secret, DEFAULT_SOCKET_DIR};

pub(super) fn apply_service(
    p: &mut ConnParams,
    name: &str,
    env: &Env,
) -> Result<(), ConnInfoError> {
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

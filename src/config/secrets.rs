//! Secrets: where passwords and webhook URLs come from (environment, `password_command`,
//! the file itself), how they are masked in `config show`, and the warning for files that
//! hold one and are readable by others. A [`Secret`] never prints its content.

use std::fmt;
use std::path::Path;
use std::process::Command;

/// Keys whose values are secrets wherever they appear.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    (k.contains("password") && !k.ends_with("_env") && !k.ends_with("_command"))
        || k.contains("webhook")
        || k.contains("secret")
        || k.contains("token")
}

/// A string that must not be shown: `Debug` and `Display` print `********`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself: only for handing to a driver or an HTTP client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// Resolves a password: `password_env` first, then `password_command`, then the literal value.
/// Errors say which source failed, never what it held.
pub fn resolve_password(
    literal: Option<&str>,
    env_name: Option<&str>,
    command: Option<&str>,
) -> Result<Option<Secret>, String> {
    if let Some(name) = env_name {
        return match std::env::var(name) {
            Ok(v) => Ok(Some(Secret(v))),
            Err(_) => Err(format!(
                "password_env: environment variable {name} is not set"
            )),
        };
    }
    if let Some(cmd) = command {
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .output()
            .map_err(|e| format!("password_command could not start: {e}"))?;
        if !out.status.success() {
            return Err(format!("password_command exited with {}", out.status));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or("").to_string();
        return Ok(Some(Secret(first)));
    }
    Ok(literal.map(Secret::new))
}

const MASK: &str = "********";

/// Returns a copy of `table` with every secret masked, including passwords inside URIs
/// (`postgres://user:pw@host`) and conninfo strings (`password=pw`).
pub fn mask_table(table: &toml::Table) -> toml::Table {
    table
        .iter()
        .map(|(k, v)| (k.clone(), mask_value(k, v)))
        .collect()
}

fn mask_value(key: &str, v: &toml::Value) -> toml::Value {
    match v {
        toml::Value::String(s) if is_secret_key(key) && !s.is_empty() => {
            toml::Value::String(MASK.into())
        }
        toml::Value::String(s) => toml::Value::String(mask_in_string(s)),
        toml::Value::Table(t) => toml::Value::Table(mask_table(t)),
        toml::Value::Array(a) => toml::Value::Array(a.iter().map(|x| mask_value(key, x)).collect()),
        other => other.clone(),
    }
}

/// Masks `user:password@` in URIs and `password=...` in key/value strings.
pub fn mask_in_string(s: &str) -> String {
    let mut out = s.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, MASK);
            }
        }
    }
    mask_kv_password(&out)
}

fn mask_kv_password(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find("password=") {
        let start = i + pos + "password=".len();
        out.push_str(&s[i..start]);
        let end = s[start..]
            .find([' ', '&', ';'])
            .map_or(s.len(), |e| start + e);
        out.push_str(MASK);
        i = end;
    }
    out.push_str(&s[i..]);
    out
}

fn holds_secret(t: &toml::Table) -> Option<String> {
    for (k, v) in t {
        match v {
            toml::Value::String(s) if is_secret_key(k) && !s.is_empty() => return Some(k.clone()),
            toml::Value::String(s) if mask_in_string(s) != *s => return Some(k.clone()),
            toml::Value::Table(sub) => {
                if let Some(inner) = holds_secret(sub) {
                    return Some(format!("{k}.{inner}"));
                }
            }
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(sub) = item {
                        if let Some(inner) = holds_secret(sub) {
                            return Some(format!("{k}[].{inner}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// A warning when `path` holds a secret and its permissions let group or others read it.
pub fn permission_warnings(path: &Path, table: &toml::Table) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let Some(key) = holds_secret(table) else {
        return Vec::new();
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        vec![format!(
            "{} holds a secret (`{key}`) and is readable by others (mode {mode:o}): run chmod 600 {} \
             or move the secret to an environment variable or password_command",
            path.display(),
            path.display()
        )]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_uri_and_kv_passwords() {
        assert_eq!(
            mask_in_string("postgres://app:hunter2@db:5432/x"),
            "postgres://app:********@db:5432/x"
        );
        assert_eq!(
            mask_in_string("host=db password=hunter2 user=x"),
            "host=db password=******** user=x"
        );
        assert_eq!(mask_in_string("postgres://app@db/x"), "postgres://app@db/x");
    }

    #[test]
    fn masks_secret_keys_in_tables() {
        let t: toml::Table = toml::from_str(
            "[pgtop]\npassword = \"pw\"\nslack_webhook = \"https://hooks/x\"\npassword_env = \"PGPW\"\n",
        )
        .unwrap();
        let m = mask_table(&t);
        let s = toml::to_string(&m).unwrap();
        assert!(!s.contains("pw\""), "{s}");
        assert!(!s.contains("hooks"), "{s}");
        assert!(s.contains("PGPW"), "{s}");
    }

    #[test]
    fn secret_debug_is_masked() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
    }

    #[test]
    fn password_command_first_line() {
        let p = resolve_password(None, None, Some("printf 'abc\\nrest'")).unwrap();
        assert_eq!(p.unwrap().expose(), "abc");
        assert!(resolve_password(None, Some("STACKTOP_SURELY_UNSET_VAR"), None).is_err());
    }
}

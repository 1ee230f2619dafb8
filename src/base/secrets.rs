//! Secrets: where passwords and webhook URLs come from (environment, `password_command`,
//! the file itself), how they are masked in `config show`, and the warning for files that
//! hold one and are readable by others. A [`Secret`] never prints its content.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Keys whose values are secrets wherever they appear (see [`crate::mask::is_secret_key`]).
pub fn is_secret_key(key: &str) -> bool {
    crate::mask::is_secret_key(key)
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
        return password_command(cmd, PASSWORD_COMMAND_TIMEOUT)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    Ok(literal.map(Secret::new))
}

/// How long `password_command` may run before it is killed.
pub const PASSWORD_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Most a `password_command` may print (the first line is the password).
const MAX_COMMAND_OUTPUT: u64 = 64 * 1024;

/// Why `password_command` gave no password. Names the command (its first word) only: never
/// its arguments, its output or its error output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordCommandError {
    #[error("password_command `{0}` could not be started: {1}")]
    Spawn(String, String),
    #[error("password_command `{0}` exited with {1}")]
    Failed(String, String),
    #[error("password_command `{0}` did not finish within {1}s and was killed")]
    Timeout(String, u64),
}

/// The command's name for messages: its first word that is not a `VAR=value` assignment.
pub fn command_name(cmd: &str) -> String {
    cmd.split_whitespace()
        .find(|w| !w.contains('='))
        .unwrap_or("sh")
        .chars()
        .take(64)
        .collect()
}

/// Runs `cmd` with `sh -c` (stdin and stderr closed, its own process group) and returns the
/// first line it prints. Past `timeout` the whole process group is killed (SIGKILL) and the
/// error says so.
pub fn password_command(cmd: &str, timeout: Duration) -> Result<Secret, PasswordCommandError> {
    use std::os::unix::process::CommandExt;
    let name = command_name(cmd);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| PasswordCommandError::Spawn(name.clone(), e.kind().to_string()))?;
    let pgid = child.id() as i32;
    let stdout = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel();
    // The reader owns the child: it reads stdout to its end, then reaps the process.
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(out) = stdout {
            let _ = out.take(MAX_COMMAND_OUTPUT).read_to_end(&mut buf);
        }
        let status = child.wait();
        let _ = tx.send((buf, status));
    });
    match rx.recv_timeout(timeout) {
        Ok((buf, Ok(status))) if status.success() => {
            let text = String::from_utf8_lossy(&buf);
            Ok(Secret(text.lines().next().unwrap_or("").to_string()))
        }
        Ok((_, Ok(status))) => Err(PasswordCommandError::Failed(name, status.to_string())),
        Ok((_, Err(e))) => Err(PasswordCommandError::Failed(name, e.kind().to_string())),
        Err(_) => {
            // SAFETY: kill() only sends a signal; the negative pid is the process group the
            // child leads (process_group(0) above), so its own children go too.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            Err(PasswordCommandError::Timeout(
                name,
                timeout.as_secs().max(1),
            ))
        }
    }
}

const MASK: &str = crate::mask::MASK;

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

/// Masks secrets inside a config string: a URI's or conninfo's password, secret `key=value`
/// words, SQL password clauses ([`crate::mask::value`]).
pub fn mask_in_string(s: &str) -> String {
    crate::mask::value(s)
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
        let e = resolve_password(None, None, Some("printf 'out-s3cret'; exit 3")).unwrap_err();
        assert!(
            e.contains("`printf`") && e.contains("exit status: 3"),
            "{e}"
        );
        assert!(!e.contains("out-s3cret"), "{e}");
        assert_eq!(command_name("PGPASSWORD=x pass show db"), "pass");
    }

    /// A command that hangs is killed with its whole process group after the timeout; the
    /// error names the command, not its arguments or what it printed.
    #[test]
    fn password_command_times_out_and_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let pidf = dir.path().join("grandchild.pid");
        let cmd = format!(
            "sleep 30 & echo $! > {}; echo printed-s3cret; wait",
            pidf.display()
        );
        let t0 = std::time::Instant::now();
        let e = password_command(&cmd, Duration::from_secs(2)).unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
        let msg = e.to_string();
        assert!(matches!(e, PasswordCommandError::Timeout(..)), "{msg}");
        assert_eq!(
            msg,
            "password_command `sleep` did not finish within 2s and was killed"
        );
        let pid: i32 = std::fs::read_to_string(&pidf)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // the grandchild went with the group (gone, or a zombie waiting for its reaper)
        let dead = (0..500).any(|_| {
            let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let gone = st.is_empty() || st.split(") ").nth(1).is_some_and(|r| r.starts_with('Z'));
            if !gone {
                std::thread::sleep(Duration::from_millis(10));
            }
            gone
        });
        assert!(dead, "sleep {pid} still running");
    }

    #[test]
    fn config_strings_are_masked() {
        for (v, pw) in [
            ("host=db password = hunter2", "hunter2"),
            ("host=db password='a b c' user=x", "a b c"),
            ("postgres://u:pa/ss@h/db", "pa/ss"),
            ("postgres://h/db?%70assword=zz", "zz"),
            ("mysql://u:p@w:x@h:3306/db", "p@w:x"),
        ] {
            let m = mask_in_string(v);
            assert!(!m.contains(pw) && m.contains(MASK), "{m}");
        }
    }
}

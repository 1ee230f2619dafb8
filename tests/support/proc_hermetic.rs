//! The hermetic half of `proc.rs` (see its docs): the cleared environment for programs under
//! test ([`hermetic_command`]), random passwords for test servers' accounts, and exit-time
//! cleanup for servers kept in a `static`. Re-exported from `proc`, so callers write
//! `proc::hermetic_command`.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

// ------------------------------------------------------------------ hermetic environment

/// Variable names a program under test must never inherit from the developer's shell:
/// libpq (`PG*`), MySQL/MariaDB clients, stacktop's own settings and secrets (e.g.
/// `STACKTOP_SLACK_WEBHOOK`), XDG base dirs and HOME (user config, `~/.pgpass`, `~/.my.cnf`).
pub fn is_leaky_var(name: &OsStr) -> bool {
    let n = name.to_string_lossy();
    ["PG", "MYSQL", "MARIADB", "STACKTOP_", "XDG_", "VARNISH"]
        .iter()
        .any(|p| n.starts_with(p))
        || n == "HOME"
        || n == "NO_COLOR"
}

/// The current environment minus every [`is_leaky_var`] name (PATH, LANG, TERM, RUST_* stay).
/// Does not set HOME / XDG_*: [`hermetic_command`] adds them.
pub fn hermetic_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| !is_leaky_var(k))
        .collect()
}

/// [`hermetic_env`] plus HOME and XDG_CONFIG/STATE/DATA/CACHE_HOME inside `home` (created),
/// and `PGHOST` at a socket dir that does not exist, so a pgtop given no conninfo reaches no
/// server at all (not libpq's default socket or :5432); an explicit conninfo still wins.
pub fn hermetic_env_in(home: &Path) -> Vec<(OsString, OsString)> {
    let mut v = hermetic_env();
    v.push(("HOME".into(), home.into()));
    v.push(("PGHOST".into(), home.join("no-postgres-here").into()));
    for (k, sub) in [
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
    ] {
        let d = home.join(sub);
        let _ = fs::create_dir_all(&d);
        v.push((k.into(), d.into()));
    }
    v
}

/// A private, empty home shared by the hermetic commands of this test binary (mode 0700,
/// removed when the binary exits). Tests that look at files written under HOME use
/// [`hermetic_command_in`] with a dir of their own instead.
pub fn hermetic_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("stacktop-home-")
            .tempdir()
            .expect("create hermetic home")
            .keep();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod home");
        let d = dir.clone();
        cleanup_at_exit(Box::new(move || {
            let _ = fs::remove_dir_all(&d);
        }));
        dir
    })
}

/// `Command::new(bin)` with a cleared environment: [`hermetic_env_in`] the shared
/// [`hermetic_home`]. Every source the program could reach by default (libpq's socket or
/// :5432, my.cnf, the system varnish via config, a user config naming a webhook) is gone; the
/// test points it at its own server with arguments or a config file.
pub fn hermetic_command(bin: impl AsRef<OsStr>) -> Command {
    hermetic_command_in(bin, hermetic_home())
}

/// [`hermetic_command`] with HOME / XDG_* inside `home` (for tests that read files there).
pub fn hermetic_command_in(bin: impl AsRef<OsStr>, home: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env_clear().envs(hermetic_env_in(home));
    c
}

// ------------------------------------------------------------------ secrets

/// A random password (32 hex characters from /dev/urandom) for a test server account.
pub fn random_password() -> String {
    let mut b = [0u8; 16];
    io::Read::read_exact(
        &mut File::open("/dev/urandom").expect("/dev/urandom"),
        &mut b,
    )
    .expect("read /dev/urandom");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ------------------------------------------------------------------ exit-time cleanup

type ExitJob = Box<dyn FnOnce() + Send>;

fn exit_jobs() -> &'static Mutex<Vec<ExitJob>> {
    static JOBS: OnceLock<Mutex<Vec<ExitJob>>> = OnceLock::new();
    JOBS.get_or_init(|| {
        extern "C" fn run_jobs() {
            let jobs = match exit_jobs().lock() {
                Ok(mut j) => std::mem::take(&mut *j),
                Err(e) => std::mem::take(&mut *e.into_inner()),
            };
            for j in jobs.into_iter().rev() {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(j));
            }
        }
        // SAFETY: registers a plain extern "C" function; it runs at normal process exit.
        unsafe {
            libc::atexit(run_jobs);
        }
        Mutex::new(Vec::new())
    })
}

/// Run `job` when the test binary exits normally (libtest returns or calls `exit`), latest
/// first. For servers in a `static`, which are never dropped: stop them by PID and remove
/// their temp dirs. (If the binary is SIGKILLed the guards' watchdogs still kill the servers.)
pub fn cleanup_at_exit(job: ExitJob) {
    exit_jobs()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(job);
}

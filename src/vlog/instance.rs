//! Which Varnish (or Vinyl Cache) to read, and whether it runs: the log program to spawn
//! (`varnishlog` or its Vinyl Cache 9 name `vinyllog`, whichever is on `PATH`; a configured
//! `command` wins), the instance work directory (`-n`, else `VINYL_DEFAULT_N` /
//! `VARNISH_DEFAULT_N`, else the packages' defaults) and a cheap liveness probe of that
//! directory's shared memory (VSM): the manager and cache PIDs in `_.vsm_mgt/_.index` and
//! `_.vsm_child/_.index` must be live processes. Used by `collector` (to start and watch the
//! source) and by the first-run hint of the tab. Only reads files under `/proc` and the work
//! directory; never blocks for long.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The classic program name (also the configured default).
pub const VARNISHLOG: &str = "varnishlog";
/// The Vinyl Cache 9 name of the same program.
pub const VINYLLOG: &str = "vinyllog";

/// The program to spawn for `command`: a path or any other name is used as is; the default
/// `varnishlog` becomes `vinyllog` when only that one is on `path` (a `PATH` value).
pub fn resolve_program(command: &str, path: Option<&OsStr>) -> PathBuf {
    if command != VARNISHLOG {
        return PathBuf::from(command);
    }
    let found = |name: &str| {
        path.map(std::env::split_paths)
            .into_iter()
            .flatten()
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
    };
    if found(VARNISHLOG).is_some() {
        return PathBuf::from(VARNISHLOG);
    }
    // The full path: `path` may not be this process's PATH.
    found(VINYLLOG).unwrap_or_else(|| PathBuf::from(VARNISHLOG))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Is this program a Vinyl Cache one (by its file name)?
pub fn is_vinyl(program: &Path) -> bool {
    program
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("vinyl"))
}

/// The daemon the program reads from, for messages: `varnishd` or `vinyld`.
pub fn daemon_name(program: &Path) -> &'static str {
    if is_vinyl(program) {
        "vinyld"
    } else {
        "varnishd"
    }
}

/// The instance to pass as `-n`: the configured one, else `VINYL_DEFAULT_N` /
/// `VARNISH_DEFAULT_N` (the one named after the program first). `env` looks a variable up.
pub fn default_instance(
    configured: Option<&str>,
    vinyl: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    if let Some(c) = configured {
        return Some(c.to_string());
    }
    let order = if vinyl {
        ["VINYL_DEFAULT_N", "VARNISH_DEFAULT_N"]
    } else {
        ["VARNISH_DEFAULT_N", "VINYL_DEFAULT_N"]
    };
    order
        .iter()
        .find_map(|k| env(k).filter(|v| !v.trim().is_empty()))
}

/// Candidate work directories for an instance (`-n` value or none), most likely first: an
/// absolute name is the directory; a plain name lives under `/var/lib/varnish` (or
/// `/var/lib/vinyl`); with no name, the host name there, then `/var/run/varnishd`.
pub fn work_dirs(instance: Option<&str>, vinyl: bool) -> Vec<PathBuf> {
    let bases: [&str; 2] = if vinyl {
        ["/var/lib/vinyl", "/var/lib/varnish"]
    } else {
        ["/var/lib/varnish", "/var/lib/vinyl"]
    };
    match instance {
        Some(n) if n.starts_with('/') => vec![PathBuf::from(n)],
        Some(n) => bases.iter().map(|b| Path::new(b).join(n)).collect(),
        None => {
            let host = hostname();
            let mut v: Vec<PathBuf> = bases.iter().map(|b| Path::new(b).join(&host)).collect();
            let runs: [&str; 2] = if vinyl {
                ["/var/run/vinyld", "/var/run/varnishd"]
            } else {
                ["/var/run/varnishd", "/var/run/vinyld"]
            };
            v.extend(runs.iter().map(PathBuf::from));
            v
        }
    }
}

/// The first existing candidate, else the first one (for the message).
pub fn work_dir(instance: Option<&str>, vinyl: bool) -> PathBuf {
    let c = work_dirs(instance, vinyl);
    c.iter()
        .find(|d| d.is_dir())
        .or(c.first())
        .cloned()
        .unwrap_or_default()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// What the shared memory of an instance says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vsm {
    /// The manager (and the cache process, when readable) run.
    Alive,
    /// Positive evidence that the daemon does not run (the reason, for the status line).
    Dead(String),
    /// Cannot tell (permissions): assume it runs and let varnishlog say otherwise.
    Unknown,
}

/// Probe the work directory `dir` of `daemon` (`varnishd` / `vinyld`).
pub fn probe(dir: &Path, daemon: &str) -> Vsm {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Vsm::Dead(format!("{} is not a directory", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Vsm::Dead(format!("no {daemon} instance at {}", dir.display()))
        }
        Err(_) => return Vsm::Unknown,
    }
    match index_pid(&dir.join("_.vsm_mgt/_.index")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Vsm::Dead(format!("{daemon} has not started in {}", dir.display()))
        }
        Err(_) => return Vsm::Unknown,
        Ok(None) => return Vsm::Unknown,
        Ok(Some(pid)) if !pid_alive(pid) => {
            return Vsm::Dead(format!("{daemon} (pid {pid}) is gone"))
        }
        Ok(Some(_)) => {}
    }
    match index_pid(&dir.join("_.vsm_child/_.index")) {
        Ok(Some(pid)) if !pid_alive(pid) => {
            Vsm::Dead(format!("the {daemon} cache process (pid {pid}) is gone"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Vsm::Dead(format!("the {daemon} cache process is not running"))
        }
        _ => Vsm::Alive,
    }
}

/// The PID on the first line of a VSM index (`# PID START`), reading at most 256 bytes.
fn index_pid(path: &Path) -> std::io::Result<Option<u32>> {
    use std::io::Read;
    let mut buf = [0u8; 256];
    let n = std::fs::File::open(path)?.read(&mut buf)?;
    let first = buf[..n].split(|&c| c == b'\n').next().unwrap_or(&[]);
    let text = String::from_utf8_lossy(first);
    let mut it = text.split_whitespace();
    Ok(match (it.next(), it.next()) {
        (Some("#"), Some(p)) => p.parse().ok(),
        _ => None,
    })
}

/// A live, non-zombie process.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// PIDs of running processes called `name` (from `/proc/*/comm`), at most a few.
pub fn find_processes(name: &str) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name && pid_alive(pid) {
            out.push(pid);
            if out.len() >= 8 {
                break;
            }
        }
    }
    out
}

/// One line for the tab when no vlog source runs: whether varnishd / vinyld runs here and
/// how to point stacktop at an instance.
pub fn first_run_hint(instance: Option<&str>) -> String {
    let env = |k: &str| std::env::var(k).ok();
    let running: Vec<(&str, Vec<u32>)> = ["varnishd", "vinyld"]
        .iter()
        .map(|d| (*d, find_processes(d)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let inst = default_instance(instance, false, &env);
    let dir = work_dir(inst.as_deref(), false);
    let how = "point stacktop at it with `stacktop vlog -n NAME` or [vlog] instance (NAME as for varnishd -n)";
    match running.first() {
        Some((d, pids)) => format!(
            "{d} runs here (pid {}), no vlog source: {how}",
            pids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => match probe(&dir, "varnishd") {
            Vsm::Alive | Vsm::Unknown => {
                format!(
                    "varnishd instance at {}, no vlog source: {how}",
                    dir.display()
                )
            }
            Vsm::Dead(why) => format!("varnishd is not running ({why}); {how}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_dirs_and_env() {
        assert_eq!(work_dirs(Some("/x/y"), false), vec![PathBuf::from("/x/y")]);
        assert_eq!(
            work_dirs(Some("v1"), true)[0],
            PathBuf::from("/var/lib/vinyl/v1")
        );
        let env = |k: &str| (k == "VARNISH_DEFAULT_N").then(|| "/srv/v".to_string());
        assert_eq!(
            default_instance(None, true, &env).as_deref(),
            Some("/srv/v")
        );
        let env2 = |k: &str| (k == "VINYL_DEFAULT_N").then(|| "/srv/w".to_string());
        assert_eq!(
            default_instance(None, false, &env2).as_deref(),
            Some("/srv/w")
        );
        assert_eq!(
            default_instance(Some("a"), false, &env2).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn probe_reads_the_index_pids() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            probe(&d.path().join("nope"), "varnishd"),
            Vsm::Dead(_)
        ));
        assert!(matches!(probe(d.path(), "varnishd"), Vsm::Dead(_)));
        std::fs::create_dir_all(d.path().join("_.vsm_mgt")).unwrap();
        std::fs::create_dir_all(d.path().join("_.vsm_child")).unwrap();
        let me = std::process::id();
        std::fs::write(d.path().join("_.vsm_mgt/_.index"), format!("# {me} 1\n")).unwrap();
        std::fs::write(d.path().join("_.vsm_child/_.index"), format!("# {me} 1\n")).unwrap();
        assert_eq!(probe(d.path(), "varnishd"), Vsm::Alive);
        // PID 0x3fffffff is above pid_max: never a live process.
        std::fs::write(d.path().join("_.vsm_mgt/_.index"), "# 1073741823 1\n").unwrap();
        assert!(matches!(probe(d.path(), "varnishd"), Vsm::Dead(m) if m.contains("is gone")));
    }

    #[test]
    fn program_resolution() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(VINYLLOG);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = d.path().as_os_str();
        assert_eq!(resolve_program("varnishlog", Some(path)), p);
        assert_eq!(
            resolve_program("/opt/x", Some(path)),
            PathBuf::from("/opt/x")
        );
        assert_eq!(
            resolve_program("varnishlog", None),
            PathBuf::from("varnishlog")
        );
        assert_eq!(daemon_name(Path::new("vinyllog")), "vinyld");
    }
}

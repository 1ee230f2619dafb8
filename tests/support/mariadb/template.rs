//! A freshly initialised MariaDB datadir, made once and copied per server.
//!
//! `mariadb-install-db` costs 1–5 s (it bootstraps the system and `sys` schemas); copying
//! its result costs ~50 ms. The template lives in `$CARGO_TARGET_TMPDIR` (cargo's scratch
//! dir for integration tests, inside the target dir) under a name keyed by the mariadbd
//! binary (path, size, mtime), the install arguments and the user, so a package upgrade makes
//! a new one. It is built in a private dir and renamed into place, so test binaries running
//! at the same time never see a half-written template.

use super::super::proc;
use super::SERVER_TIMEOUT;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Fill `dest` (must not exist) with a copy of the template datadir.
pub(super) fn fresh_datadir(dest: &Path, root: bool) {
    let template = template(root);
    copy_tree(&template, dest).unwrap_or_else(|e| {
        panic!(
            "copy MariaDB template {} to {}: {e}",
            template.display(),
            dest.display()
        )
    });
}

fn install_args(root: bool) -> Vec<String> {
    let mut a: Vec<String> = [
        "--no-defaults",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--skip-name-resolve",
        "--innodb-log-file-size=8M",
    ]
    .map(String::from)
    .to_vec();
    if root {
        a.push("--user=root".into()); // mariadbd refuses to run as root otherwise
    }
    a
}

fn template(root: bool) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _one_at_a_time = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let server = proc::require_binary("mariadbd", "mariadb-server");
    let install = proc::require_binary("mariadb-install-db", "mariadb-server");
    let meta = fs::metadata(&server).expect("stat mariadbd");
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let key = format!(
        "{}|{}|{:?}|{:?}|v1",
        server.display(),
        meta.len(),
        mtime,
        install_args(root)
    );
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let final_dir = base.join(format!("stacktop-mariadb-template-{:016x}", fnv(&key)));
    if final_dir.join("data/mysql").is_dir() {
        return final_dir.join("data");
    }
    fs::create_dir_all(&base).expect("create CARGO_TARGET_TMPDIR");
    let work = tempfile::Builder::new()
        .prefix("stacktop-mariadb-template-build-")
        .tempdir_in(&base)
        .expect("template build dir");
    let data = work.path().join("data");
    let mut cmd = Command::new(&install);
    cmd.args(install_args(root))
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--basedir={}", basedir(&server).display()))
        .arg(format!("--tmpdir={}", work.path().display())) // passed on to the bootstrap server
        .env("TMPDIR", work.path());
    let (st, out, err) = proc::run_bounded("mariadb-install-db", cmd, SERVER_TIMEOUT);
    assert!(
        st.success(),
        "mariadb-install-db failed ({st}):\n{out}\n{err}"
    );
    let _ = fs::remove_dir_all(work.path().join("tmp"));
    let built = work.keep();
    // another test binary may have won the race: then use theirs and drop ours
    if fs::rename(&built, &final_dir).is_err() {
        let _ = fs::remove_dir_all(&built);
    }
    assert!(
        final_dir.join("data/mysql").is_dir(),
        "template {} missing",
        final_dir.display()
    );
    final_dir.join("data")
}

/// /usr/sbin/mariadbd → /usr (where share/mysql lives for mariadb-install-db).
fn basedir(server: &Path) -> PathBuf {
    server
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| "/usr".into())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir(to)?;
    fs::set_permissions(to, fs::metadata(from)?.permissions())?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else {
            fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

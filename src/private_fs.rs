//! Files that hold other people's data (the slow log's query texts, saved vlog rows, SQL
//! history, exports, saved queries) are created 0600, in directories created 0700, whatever
//! the umask: modes are set explicitly after creation, and an existing file with group or
//! other access is narrowed to 0600 when it is opened. An existing directory is narrowed to
//! 0700 only when it is stacktop's own (under `$XDG_STATE_HOME/stacktop` or
//! `$XDG_DATA_HOME/stacktop`), never a directory the user chose such as `/tmp`.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of private files.
pub const FILE_MODE: u32 = 0o600;
/// Mode of the directories stacktop creates for them.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents with mode 0700 (set explicitly, so the umask does
/// not matter); narrows an existing stacktop-owned directory to 0700.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    create_dir_all_with(dir, is_own_dir(dir))
}

fn create_dir_all_with(dir: &Path, own: bool) -> io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
    if !missing.is_empty() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
        for d in &missing {
            std::fs::set_permissions(d, Permissions::from_mode(DIR_MODE))?;
        }
    } else if own {
        let meta = std::fs::metadata(dir)?;
        if meta.is_dir() && meta.permissions().mode() & 0o077 != 0 && owned_by_me(&meta) {
            std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
        }
    }
    Ok(())
}

/// stacktop's own state directory, where the slow log, the Slack outboxes, the default
/// recording and `w`'s saves go: `$XDG_STATE_HOME/stacktop`, else `~/.local/state/stacktop`
/// (also where `XDG_STATE_HOME` is unset or not absolute); `None` without a home directory.
pub fn state_dir() -> Option<PathBuf> {
    let xdg = std::env::var("XDG_STATE_HOME").ok();
    state_dir_in(xdg.as_deref(), dirs::home_dir().as_deref())
}

/// [`state_dir`] in a given environment: `XDG_STATE_HOME`'s value (used only when absolute,
/// as the XDG spec says) and the home directory.
pub fn state_dir_in(xdg_state_home: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    xdg_state_home
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| home.map(|h| h.join(".local/state")))
        .map(|d| d.join("stacktop"))
}

/// Under stacktop's own state or data directory (`$XDG_STATE_HOME/stacktop`,
/// `$XDG_DATA_HOME/stacktop`, or their `~/.local/...` defaults).
fn is_own_dir(dir: &Path) -> bool {
    // (`$XDG_STATE_HOME` elsewhere: the home's default is stacktop's too)
    let home_state = state_dir_in(None, dirs::home_dir().as_deref());
    [
        state_dir(),
        home_state,
        dirs::data_dir().map(|d| d.join("stacktop")),
        dirs::data_local_dir().map(|d| d.join("stacktop")),
    ]
    .into_iter()
    .flatten()
    .any(|own| dir.starts_with(own))
}

fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid() has no preconditions and cannot fail.
    meta.uid() == unsafe { libc::geteuid() }
}

fn parent_of(path: &Path) -> Option<&Path> {
    path.parent().filter(|d| !d.as_os_str().is_empty())
}

/// Narrows an open file to 0600 if it has group or other access (it existed before).
fn fix_mode(f: &File) -> io::Result<()> {
    let mode = f.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        f.set_permissions(Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

/// Opens `path` for appending (created 0600 in 0700 directories; an existing file is
/// narrowed to 0600).
pub fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = parent_of(path) {
        create_dir_all(dir)?;
    }
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    fix_mode(&f)?;
    Ok(f)
}

/// Creates or truncates `path` for writing, 0600, in 0700 directories.
pub fn create(path: &Path) -> io::Result<File> {
    if let Some(dir) = parent_of(path) {
        create_dir_all(dir)?;
    }
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    fix_mode(&f)?;
    Ok(f)
}

/// Writes `bytes` to `path` (see [`create`]).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = create(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Longest [`safe_name`].
pub const SAFE_NAME_MAX: usize = 40;

/// A file-name part from server-side or user text (a server label, a question id): ASCII
/// letters, digits, `-` and `_` kept, anything else (`/`, `.`, spaces, control characters,
/// non-ASCII) becomes `_`, at most [`SAFE_NAME_MAX`] characters. Empty for empty input.
pub fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(SAFE_NAME_MAX)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_name_keeps_only_plain_characters_and_is_bounded() {
        assert_eq!(safe_name("db1-main_2"), "db1-main_2");
        assert_eq!(safe_name("../etc/pass wd"), "___etc_pass_wd");
        assert_eq!(safe_name("a\nb\u{1b}é"), "a_b__");
        assert_eq!(safe_name(""), "");
        assert_eq!(safe_name(&"x".repeat(100)).len(), SAFE_NAME_MAX);
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_and_dirs_are_private_and_old_ones_are_narrowed() {
        let tmp = tempfile::tempdir().unwrap();
        // a user-chosen directory that exists keeps its mode
        std::fs::set_permissions(tmp.path(), Permissions::from_mode(0o755)).unwrap();
        let f = tmp.path().join("a/stacktop/x.log");
        write(&f, b"1").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&tmp.path().join("a/stacktop")), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(tmp.path()), 0o755);
        // an existing world-readable file is narrowed on open
        std::fs::set_permissions(&f, Permissions::from_mode(0o644)).unwrap();
        let mut a = open_append(&f).unwrap();
        a.write_all(b"2").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "12");
        // an existing directory: narrowed only when it is stacktop's own
        let dir = tmp.path().join("a/stacktop");
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        create_dir_all_with(&dir, false).unwrap();
        assert_eq!(mode(&dir), 0o755);
        create_dir_all_with(&dir, true).unwrap();
        assert_eq!(mode(&dir), 0o700);
        if let Some(state) = dirs::state_dir() {
            assert!(is_own_dir(&state.join("stacktop/exports")));
            assert!(!is_own_dir(&state.join("other")));
        }
        assert!(!is_own_dir(Path::new("/tmp/stacktop")));
    }
}

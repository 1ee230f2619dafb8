//! The SQL editor's history: the rule for adding a statement (trimmed, empty ones dropped,
//! consecutive duplicates kept once, the last [`MAX_ENTRIES`] kept), shared by the editor and
//! the collector, and its file in the data dir next to the saved queries
//! (`<data_dir>/sql_history.json`, a JSON array of statements, oldest first). The collector
//! reads the file when it starts and rewrites it (atomically: temporary file, then rename)
//! after every statement the tab adds; the view never touches the file.
//!
//! Data flow: editor runs SQL → [`push`] in the view + `SpotifyCommand::AddHistory` →
//! collector [`push`] + [`save`]; collector start → [`load`] → `SpotifyEvent::History` → editor.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Most statements kept (the oldest are dropped first).
pub const MAX_ENTRIES: usize = 500;

/// The history file in `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("sql_history.json")
}

/// Add `sql` (trimmed) unless it is empty or the same as the newest entry; keep the last
/// [`MAX_ENTRIES`]. Returns whether the history changed.
pub fn push(history: &mut Vec<String>, sql: &str) -> bool {
    let sql = sql.trim();
    if sql.is_empty() || history.last().map(String::as_str) == Some(sql) {
        return false;
    }
    history.push(sql.to_string());
    if history.len() > MAX_ENTRIES {
        let extra = history.len() - MAX_ENTRIES;
        history.drain(..extra);
    }
    true
}

/// `older` followed by `newer`, through [`push`] (so the same rules hold for the result).
pub fn merge(older: Vec<String>, newer: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(older.len() + newer.len());
    for sql in older.iter().chain(newer) {
        push(&mut out, sql);
    }
    out
}

/// Read the history file; a missing file is an empty history. A file that is not a JSON array
/// of strings is an error (the caller reports it and starts a new history).
pub fn load(path: &Path) -> Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let entries: Vec<String> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON list of statements", path.display()))?;
    Ok(merge(entries, &[]))
}

/// Write `history` to `path` (0600; a missing directory is created 0700), replacing the file
/// atomically.
pub fn save(path: &Path, history: &[String]) -> Result<()> {
    let tmp = path.with_extension("json.partial");
    let text = serde_json::to_string_pretty(history)?;
    crate::private_fs::write(&tmp, text.as_bytes())
        .with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_trims_skips_repeats_and_keeps_the_last_500() {
        let mut h = Vec::new();
        assert!(push(&mut h, "  SELECT 1\n"));
        assert!(!push(&mut h, "SELECT 1"), "consecutive duplicate");
        assert!(!push(&mut h, "   "), "empty");
        assert!(push(&mut h, "SELECT 2"));
        assert!(push(&mut h, "SELECT 1"), "not consecutive: kept");
        assert_eq!(h, ["SELECT 1", "SELECT 2", "SELECT 1"]);
        for i in 0..600 {
            push(&mut h, &format!("SELECT {i}"));
        }
        assert_eq!(h.len(), MAX_ENTRIES);
        assert_eq!(h[0], "SELECT 100");
        assert_eq!(h[MAX_ENTRIES - 1], "SELECT 599");
        let m = merge(vec!["a".into(), "b".into()], &["b".into(), "c".into()]);
        assert_eq!(m, ["a", "b", "c"]);
    }

    #[test]
    fn saves_and_loads_multi_line_statements() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(&dir.path().join("sub"));
        assert!(load(&p).unwrap().is_empty(), "no file yet");
        let h = vec![
            "SELECT 'é🔥', \"x\"\n  FROM top200".to_string(),
            "SELECT 2".into(),
        ];
        save(&p, &h).unwrap();
        assert_eq!(load(&p).unwrap(), h);
        assert!(!p.with_extension("json.partial").exists());
        std::fs::write(&p, "not json").unwrap();
        let err = load(&p).unwrap_err();
        assert!(format!("{err:#}").contains("JSON"), "{err:#}");
    }
}

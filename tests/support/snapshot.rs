//! Whole-screen snapshots: a rendered `Buffer` as a reviewed text file in `tests/snapshots/`
//! (`<name>.txt`: a header line naming the size and state, the screen's rows, then the same
//! rows as one style letter per cell with a legend), compared exactly. A difference fails with
//! the first differing line; the new screen is written under `CARGO_TARGET_TMPDIR` for a
//! `diff -u`. `STACKTOP_UPDATE_SNAPSHOTS=1` rewrites the files instead of failing.
//! Included with `#[path = "support/snapshot.rs"] mod snapshot;` (no servers needed).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// Cell style letters, in order of first appearance on the screen (blank: the default style).
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The snapshot file's text for `buf`: `# NAME WxH: STATE`, the rows (trailing blanks
/// removed), `# styles`, one letter per cell, and the legend.
pub fn format(name: &str, state: &str, buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = format!("# {name} {w}x{h}: {state}\n");
    for y in 0..h {
        let row: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out.push_str("# styles: one letter per cell (blank: default colours, no modifier)\n");
    let mut legend: Vec<String> = Vec::new();
    for y in 0..h {
        let mut row = String::new();
        for x in 0..w {
            let c = &buf[(x, y)];
            if c.fg == Color::Reset && c.bg == Color::Reset && c.modifier.is_empty() {
                row.push(' ');
                continue;
            }
            let desc = describe(c.fg, c.bg, c.modifier);
            let i = legend.iter().position(|d| *d == desc).unwrap_or_else(|| {
                legend.push(desc);
                legend.len() - 1
            });
            row.push(LETTERS.chars().nth(i).unwrap_or('?'));
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    for (i, d) in legend.iter().enumerate() {
        let letter = LETTERS.chars().nth(i).unwrap_or('?');
        let _ = writeln!(out, "# {letter} = {d}");
    }
    out
}

fn describe(fg: Color, bg: Color, m: Modifier) -> String {
    let mut parts = Vec::new();
    if fg != Color::Reset {
        parts.push(format!("fg {fg}"));
    }
    if bg != Color::Reset {
        parts.push(format!("bg {bg}"));
    }
    for (flag, word) in [
        (Modifier::BOLD, "bold"),
        (Modifier::DIM, "dim"),
        (Modifier::ITALIC, "italic"),
        (Modifier::UNDERLINED, "underlined"),
        (Modifier::SLOW_BLINK, "slow blink"),
        (Modifier::RAPID_BLINK, "rapid blink"),
        (Modifier::REVERSED, "reversed"),
        (Modifier::HIDDEN, "hidden"),
        (Modifier::CROSSED_OUT, "crossed out"),
    ] {
        if m.contains(flag) {
            parts.push(word.to_string());
        }
    }
    parts.join(", ")
}

/// The snapshots of one test run: checks each screen, then reports every difference at once.
pub struct Snapshots {
    dir: PathBuf,
    out: PathBuf,
    update: bool,
    seen: BTreeSet<String>,
    failures: Vec<String>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Self::new()
    }
}

impl Snapshots {
    /// `tests/snapshots/`, new screens under `CARGO_TARGET_TMPDIR`, updating when
    /// `STACKTOP_UPDATE_SNAPSHOTS=1`.
    pub fn new() -> Self {
        Self::in_dir(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"),
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("snapshots"),
            std::env::var_os("STACKTOP_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1"),
        )
    }

    /// Snapshots in `dir`, differing screens written to `out`.
    pub fn in_dir(dir: PathBuf, out: PathBuf, update: bool) -> Self {
        Snapshots {
            dir,
            out,
            update,
            seen: BTreeSet::new(),
            failures: Vec::new(),
        }
    }

    /// Compares `buf` with `tests/snapshots/<name>.txt` (or rewrites it in update mode).
    pub fn check(&mut self, name: &str, state: &str, buf: &Buffer) {
        assert!(
            self.seen.insert(name.to_string()),
            "snapshot name {name:?} used twice"
        );
        let got = format(name, state, buf);
        let path = self.dir.join(format!("{name}.txt"));
        if self.update {
            std::fs::create_dir_all(&self.dir).expect("create tests/snapshots");
            if std::fs::read_to_string(&path).ok().as_deref() != Some(got.as_str()) {
                std::fs::write(&path, &got).expect("write a snapshot");
                eprintln!("updated {}", path.display());
            }
            return;
        }
        let want = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.failures
                    .push(format!("{}: {e} (new screen below)\n{got}", path.display()));
                return;
            }
        };
        if want == got {
            return;
        }
        std::fs::create_dir_all(&self.out).expect("create the snapshot output dir");
        let new = self.out.join(format!("{name}.txt"));
        std::fs::write(&new, &got).expect("write the new screen");
        self.failures
            .push(first_difference(&path, &want, &got, &new));
    }

    /// Fails with every difference (and with snapshot files no scene wrote any more).
    pub fn finish(self) {
        if let Err(e) = self.result() {
            panic!("{e}");
        }
    }

    /// Every difference (and every snapshot file no scene wrote), as the failure message.
    pub fn result(self) -> Result<(), String> {
        let mut failures = self.failures;
        let mut stale: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .filter_map(|f| f.strip_suffix(".txt").map(str::to_string))
                    .filter(|n| !self.seen.contains(n))
                    .collect()
            })
            .unwrap_or_default();
        stale.sort();
        for n in stale {
            failures.push(format!(
                "{}: no scene draws it any more (delete it)",
                self.dir.join(format!("{n}.txt")).display()
            ));
        }
        if failures.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} snapshot(s) differ; review, then accept with \
             `STACKTOP_UPDATE_SNAPSHOTS=1 cargo test --test snapshots`:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        ))
    }
}

/// "FILE:LINE differs" with the wanted and the drawn line.
fn first_difference(
    path: &std::path::Path,
    want: &str,
    got: &str,
    new: &std::path::Path,
) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let Some(n) = (0..w.len().max(g.len())).find(|&i| w.get(i) != g.get(i)) else {
        return format!(
            "{}: differs in line endings only (new: {})",
            path.display(),
            new.display()
        );
    };
    format!(
        "{}:{} differs\n  want: {:?}\n  got:  {:?}\n  (whole new screen: diff -u {} {})",
        path.display(),
        n + 1,
        w.get(n).copied().unwrap_or("<end of file>"),
        g.get(n).copied().unwrap_or("<end of file>"),
        path.display(),
        new.display()
    )
}

//! Issue 14 item 4: adding a tab is one new folder (and its source's) plus three existing
//! files. The tabs are listed once — the `ViewKind` variant and its row in `wire/mod.rs`,
//! the view in `views/registry.rs`, the source in `sources.rs` — and everything else
//! iterates `ViewKind::ALL`. This test reads `src/` (outside `#[cfg(test)]`, comments and
//! `tests.rs` files) and fails naming the file when a tab's variant (`ViewKind::Pgtop`, also
//! in a `ViewKind::{…}` group or behind `ViewKind::*`) or its view type (`PgtopView`)
//! appears anywhere else. ARCHITECTURE.md ("Where to start: A tab") names the same files.

use std::path::{Path, PathBuf};

/// The existing files a new tab changes.
const TAB_FILES: [&str; 3] = ["src/wire/mod.rs", "src/views/registry.rs", "src/sources.rs"];

/// Tables a tab gets rows in only when it brings its own keys, as any new key does ("Where to
/// start: A key"): the built-in keymap, whose rows are scoped by view.
const ROW_TABLES: [&str; 1] = ["src/keymap/defaults.rs"];

/// Each tab: its `ViewKind` variant and the folders that are its own (view, source).
const TABS: &[(&str, &[&str])] = &[
    ("Pgtop", &["src/views/pgtop/", "src/pg/"]),
    ("Repl", &["src/views/repl/", "src/repl/"]),
    ("Vlog", &["src/views/vlog/", "src/vlog/"]),
    ("Spotify", &["src/views/spotify/", "src/spotify/"]),
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file: up to its first `#[cfg(test)]`, without `//` comments.
fn code_of(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    body.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `code` contains `word` as a whole identifier.
fn has_word(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The ways `code` names the tab `variant`.
fn names_of(code: &str, variant: &str) -> Vec<String> {
    let mut found = Vec::new();
    let flat: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if has_word(
        &flat.replace("ViewKind::", "ViewKind__"),
        &format!("ViewKind__{variant}"),
    ) {
        found.push(format!("ViewKind::{variant}"));
    }
    for (i, _) in flat.match_indices("ViewKind::{") {
        let group = &flat[i + "ViewKind::{".len()..];
        let group = &group[..group.find('}').unwrap_or(group.len())];
        if group.split(',').any(|item| {
            let name = item.split("as").next().unwrap_or("");
            name == variant || name == "*"
        }) {
            found.push(format!("ViewKind::{{{group}}}"));
        }
    }
    if flat.contains("ViewKind::*") {
        found.push("ViewKind::*".into());
    }
    let view_type = format!("{variant}View");
    if has_word(code, &view_type) {
        found.push(view_type);
    }
    found
}

/// Every place outside the allowed files that names a tab, as `file: name`.
fn misplaced(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rs_files(&root.join("src"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with("/tests.rs")
            || TAB_FILES.contains(&rel.as_str())
            || ROW_TABLES.contains(&rel.as_str())
        {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&f).expect("read source"));
        for (variant, own) in TABS {
            if own.iter().any(|d| rel.starts_with(d)) {
                continue;
            }
            for name in names_of(&code, variant) {
                out.push(format!("{rel}: {name}"));
            }
        }
    }
    out
}

#[test]
fn tabs_are_named_only_in_the_three_tab_files_and_their_own_folders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bad = misplaced(root);
    assert!(
        bad.is_empty(),
        "a tab is named outside {TAB_FILES:?} (and the key table {ROW_TABLES:?}) and its own \
         folders; iterate ViewKind::ALL or ask views::registry / sources instead:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_tab_list_covers_every_variant_and_the_map_names_the_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wire = std::fs::read_to_string(root.join("src/wire/mod.rs")).expect("read wire");
    let start = wire
        .find("pub enum ViewKind {")
        .expect("ViewKind in wire/mod.rs");
    let body = &wire[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    let variants: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
        .map(|l| l.trim_end_matches(','))
        .collect();
    let listed: Vec<&str> = TABS.iter().map(|(v, _)| *v).collect();
    assert_eq!(variants, listed, "TABS here lists every ViewKind variant");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("read the map");
    for f in TAB_FILES {
        let f = f.trim_start_matches("src/");
        assert!(
            map.contains(&format!("`{f}`")),
            "ARCHITECTURE.md names `{f}`"
        );
    }
}

#[test]
fn the_scan_sees_every_way_of_naming_a_tab() {
    let hits = |code: &str| names_of(&code_of(code), "Pgtop");
    assert_eq!(hits("let k = ViewKind::Pgtop;").len(), 1);
    assert_eq!(hits("let k = crate::wire::ViewKind::\n    Pgtop;").len(), 1);
    assert_eq!(hits("use ViewKind::{Repl, Pgtop as PG};").len(), 1);
    assert_eq!(hits("use crate::wire::ViewKind::*;").len(), 1);
    assert_eq!(hits("fn f(v: &PgtopView) {}").len(), 1);
    assert!(hits("ViewKind::PgtopX; MyPgtopView; // ViewKind::Pgtop").is_empty());
    assert!(hits("ViewKind::ALL; \"pgtop\"").is_empty());
    assert!(hits("#[cfg(test)]\nmod tests { ViewKind::Pgtop }").is_empty());
}

//! The layer rule of ARCHITECTURE.md: every module of `src/` belongs to one layer of
//! [`LAYERS`], and an import (`use crate::…`, `super::…`, `self::…` or a `crate::…` path in
//! code, outside `#[cfg(test)]` and comments) may only point to the same layer or one below;
//! within a layer the files import each other without a cycle. The test names the file and
//! the import that breaks the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first: (layer name, module path prefixes). A module belongs to the
/// layer of its longest matching prefix (`pg::source` is a task, the rest of `pg` a source).
const LAYERS: &[(&str, &[&str])] = &[
    // primitives: config errors with file/line/key, durations, secrets, text fitting, masking
    (
        "base",
        &["base", "mask", "private_fs", "children", "signals"],
    ),
    // the words every layer speaks: ViewKind, Level, SourceHealth, exit codes, replay's
    ("wire", &["wire"]),
    // connect, collect, parse, batch output; each source's own messages (`pg::msg` …)
    (
        "sources",
        &["pg", "repl", "vlog", "spotify", "record::config"],
    ),
    // the update channel's messages, gathering the sources' own
    ("messages", &["messages"]),
    // what the user configures: the config aggregate (sections live in the sources), theme, keys
    ("settings", &["config", "theme", "keymap"]),
    // the tasks that run a source and send its updates
    (
        "tasks",
        &[
            "pg::source",
            "repl::source",
            "repl::check",
            "vlog::source",
            "spotify::source",
            "sources",
            // the flight recorder taps the update stream (and runs the sources headless)
            "record",
        ],
    ),
    // what the views draw with: table, scrolling, `:` commands
    ("widgets", &["widgets"]),
    // one folder per tab
    ("views", &["views"]),
    // the app state and loop, the screen that draws the views
    ("screen", &["app", "screen"]),
    // process: command line, terminal, batch loops, the run entry
    (
        "run",
        &[
            "run",
            "tui",
            "panics",
            "cli",
            "completions",
            "batch",
            "vlog::batch",
            "spotify::cli",
            "spotify::demo",
            // a recording printed through the views' batch output, or shown in the TUI (its
            // source, time cursor and timeline marks: `replay::*`)
            "replay",
        ],
    ),
    ("main", &["crate:lib", "crate:main"]),
];

/// File cycles not broken yet (issue 14: none left). A new cycle fails the test.
/// The list may only shrink: a new cycle fails the test, and so does a listed one that is gone
/// (delete its line).
const KNOWN_CYCLES: &[&[&str]] = &[];

/// Issue 14: no file of `src/` over this many lines without a reason stated at its top.
const MAX_LINES: usize = 500;

/// What a long file's reason starts with, in its opening comment.
const LONG_REASON: &[&str] = &["Why this file is long:", "A little over 500 lines:"];

/// The files over [`MAX_LINES`] that state why at their top (the current exceptions). The list
/// is exact: a file that grows past the limit fails until it states a reason and is listed
/// here, one that shrinks below it fails until its line is deleted.
const LONG_FILES: &[&str] = &[
    // the `:` command table is most of it; one entry per command
    "src/widgets/commands.rs",
    // the built-in key table, one row per binding
    "src/keymap/defaults.rs",
    // the recorder's unit tests
    "src/record/tests.rs",
];

/// Files over [`MAX_LINES`] without a reason, not split yet; the list may only shrink.
const KNOWN_LONG: &[&str] = &[];

/// Layer index of a module: the layer of its longest matching prefix.
fn layer_of(module: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, (_, prefixes)) in LAYERS.iter().enumerate() {
        for p in *prefixes {
            let hit = module == *p || module.starts_with(&format!("{p}::"));
            if hit && best.is_none_or(|(len, _)| p.len() > len) {
                best = Some((p.len(), i));
            }
        }
    }
    best.map(|(_, i)| i)
}

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

/// `src/pg/conninfo/parse.rs` → `pg::conninfo::parse`; `src/ui/mod.rs` → `ui`.
fn module_name(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        return format!("crate:{}", parts[0]);
    }
    parts.join("::")
}

/// The code a file's imports are read from: up to its first `#[cfg(test)]`, without comments.
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
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path the code names from `crate`, `super` or `self`, as segments after the crate
/// root (brace groups expanded one level deep: `crate::{a::X, b}` gives `a::X` and `b`).
fn paths(code: &str, module: &str) -> Vec<Vec<String>> {
    let cur: Vec<String> = if module.starts_with("crate:") {
        vec![]
    } else {
        module.split("::").map(String::from).collect()
    };
    let mut out = vec![];
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]);
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let kw = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|k| rest.starts_with(k));
        let (Some(kw), true) = (kw, starts_word) else {
            i += 1;
            continue;
        };
        i += kw.len();
        let mut base: Vec<String> = match kw {
            "crate::" => vec![],
            "self::" => cur.clone(),
            // `super` of `a::b` is `a`, whether `b` is `a/b.rs` or `a/b/mod.rs`
            _ => cur[..cur.len().saturating_sub(1)].to_vec(),
        };
        // further `super::` segments
        loop {
            let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
            if rest.starts_with("super::") {
                base.pop();
                i += 7;
            } else {
                break;
            }
        }
        let mut segs = base.clone();
        let mut group = None;
        loop {
            // `super::{a, b}` / `crate::{a, b}`: a group right after the keyword
            if bytes.get(i) == Some(&'{') {
                i += 1;
                let end = bytes[i..].iter().position(|&c| c == '}').map(|p| i + p);
                group = end.map(|e| bytes[i..e].iter().collect::<String>());
                break;
            }
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            if i > start {
                segs.push(bytes[start..i].iter().collect());
            }
            let rest: String = bytes[i..bytes.len().min(i + 3)].iter().collect();
            if rest.starts_with("::{") {
                i += 3;
                let end = bytes[i..].iter().position(|&c| c == '}').map(|p| i + p);
                group = end.map(|e| bytes[i..e].iter().collect::<String>());
                break;
            } else if rest.starts_with("::") {
                i += 2;
            } else {
                break;
            }
        }
        match group {
            Some(g) => {
                for item in g.split(',') {
                    let mut s = segs.clone();
                    s.extend(
                        item.split("::")
                            .map(|x| x.trim().trim_start_matches('{').to_string())
                            .filter(|x| !x.is_empty() && x != "self"),
                    );
                    out.push(s);
                }
                out.push(segs);
            }
            None => out.push(segs),
        }
    }
    out
}

struct Graph {
    /// module → (imported module, the import as written)
    edges: BTreeMap<String, BTreeMap<String, String>>,
    files: BTreeMap<String, PathBuf>,
}

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rs_files(&root, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .map(|f| (module_name(&root, f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for (m, f) in &modules {
        let text = std::fs::read_to_string(f).expect("read source");
        let mut to = BTreeMap::new();
        for p in paths(&code_of(&text), m) {
            let target = (1..=p.len())
                .rev()
                .map(|n| p[..n].join("::"))
                .find(|c| modules.contains_key(c));
            if let Some(t) = target {
                if &t != m {
                    to.entry(t).or_insert_with(|| p.join("::"));
                }
            }
        }
        edges.insert(m.clone(), to);
    }
    Graph {
        edges,
        files: modules,
    }
}

/// Every import that points up a layer, as `file: imports path (layer a → layer b)`.
fn upward(g: &Graph) -> Vec<String> {
    let mut bad = vec![];
    for (m, to) in &g.edges {
        let Some(lm) = layer_of(m) else { continue };
        for (t, path) in to {
            let Some(lt) = layer_of(t) else { continue };
            if lt > lm {
                bad.push(format!(
                    "{}: imports crate::{path} ({} → {}, up from {} to {})",
                    g.files[m].display(),
                    m,
                    t,
                    LAYERS[lm].0,
                    LAYERS[lt].0
                ));
            }
        }
    }
    bad
}

/// The file-level import cycles (strongly connected components of more than one module).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    // Tarjan, iteratively small enough to recurse: the graph has ~160 nodes.
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = vec![];
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        out: vec![],
    };
    for v in g.edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn every_module_has_a_layer() {
    let g = graph();
    let missing: Vec<_> = g.files.keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "modules without a layer in LAYERS: {missing:?}"
    );
}

#[test]
fn imports_point_only_downwards() {
    let bad = upward(&graph());
    assert!(
        bad.is_empty(),
        "{} import(s) point up a layer:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn no_import_cycles() {
    let g = graph();
    let found = cycles(&g);
    let known: Vec<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|k| k.iter().map(|m| m.to_string()).collect())
        .collect();
    let gone: Vec<_> = known.iter().filter(|k| !found.contains(k)).collect();
    assert!(
        gone.is_empty(),
        "listed in KNOWN_CYCLES but no longer a cycle (delete): {gone:?}"
    );
    let c: Vec<Vec<String>> = found.into_iter().filter(|f| !known.contains(f)).collect();
    let files = &g.files;
    let shown: Vec<String> = c
        .iter()
        .map(|comp| {
            let inner: Vec<String> = comp
                .iter()
                .flat_map(|m| {
                    let file = files[m].display();
                    g.edges[m]
                        .iter()
                        .filter(|(t, _)| comp.contains(t))
                        .map(move |(_, p)| format!("{file}: imports crate::{p}"))
                })
                .collect();
            format!("cycle {comp:?}:\n  {}", inner.join("\n  "))
        })
        .collect();
    assert!(c.is_empty(), "import cycles:\n{}", shown.join("\n"));
}

/// The opening comment of a file: its first lines up to the first one that is not a comment.
fn opening_comment(text: &str) -> String {
    text.lines()
        .take_while(|l| l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `src/` file over [`MAX_LINES`], as (path from the crate root, lines).
fn long_files() -> Vec<(String, usize)> {
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rs_files(&crate_root.join("src"), &mut files);
    files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).expect("read source");
            let n = text.lines().count();
            let rel = f.strip_prefix(crate_root).expect("under the crate");
            (n > MAX_LINES).then(|| (rel.to_string_lossy().into_owned(), n))
        })
        .collect()
}

#[test]
fn no_long_file_without_a_reason() {
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let long = long_files();
    let mut bad = vec![];
    for (path, n) in &long {
        let text = std::fs::read_to_string(crate_root.join(path)).expect("read source");
        let reason = LONG_REASON
            .iter()
            .any(|r| opening_comment(&text).contains(r));
        let listed = LONG_FILES.contains(&path.as_str());
        let known = KNOWN_LONG.contains(&path.as_str());
        if listed && !reason {
            bad.push(format!(
                "{path}: {n} lines, in LONG_FILES but its opening comment states no reason \
                 (\"{}\")",
                LONG_REASON[0]
            ));
        } else if !listed && !known && reason {
            bad.push(format!(
                "{path}: {n} lines with a reason at its top: add it to LONG_FILES"
            ));
        } else if !listed && !known {
            bad.push(format!(
                "{path}: {n} lines (over {MAX_LINES}): split it by role, or state \
                 \"{}\" at its top and list it in LONG_FILES",
                LONG_REASON[0]
            ));
        }
    }
    for listed in LONG_FILES.iter().chain(KNOWN_LONG) {
        if !long.iter().any(|(p, _)| p == listed) {
            bad.push(format!(
                "{listed}: listed as long but {MAX_LINES} lines or fewer (delete its line)"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_size_rule_reads_reasons_at_the_top_only() {
    let top = "//! A table.\n//! Why this file is long: the table.\n\nuse x;\n";
    assert!(opening_comment(top).contains(LONG_REASON[0]));
    let below = "//! A table.\n\n// Why this file is long: too late.\nuse x;\n";
    assert!(!LONG_REASON
        .iter()
        .any(|r| opening_comment(below).contains(r)));
}

#[test]
fn the_parser_sees_the_imports_it_must() {
    // the rule is only as good as the reading of imports: check it on known shapes
    let p = paths(
        "use crate::wire::{Level, ViewKind};\nuse super::msg::PgReply;\nuse super::{tls, kill::Signal};\nlet x = crate::base::fit::width(s); // crate::app::App\n",
        "pg::source",
    );
    let flat: Vec<String> = p.iter().map(|s| s.join("::")).collect();
    for want in [
        "wire::Level",
        "wire::ViewKind",
        "pg::msg::PgReply",
        "base::fit::width",
        "pg::tls",
        "pg::kill::Signal",
    ] {
        assert!(flat.contains(&want.to_string()), "{want} not in {flat:?}");
    }
    let code = code_of("use crate::a::B; // crate::app::App\n#[cfg(test)]\nuse crate::app::App;");
    assert!(!code.contains("app"), "{code}");
    assert_eq!(layer_of("pg::source"), layer_of("sources"));
    assert!(layer_of("pg::activity") < layer_of("pg::source"));
}

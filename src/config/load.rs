//! Layered loading of [`Config`]: each file is parsed and validated on its own (so an error
//! names its file, line, key and value), then the layers are merged as TOML tables in order
//! and the result is deserialized once.

use super::Config;
pub use crate::base::error::{line_col, ConfigError};
use crate::base::error::{scrub_message, toml_error};
use crate::base::secrets;
use std::path::{Path, PathBuf};

/// What the caller asks [`load`] to read.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// Read `~/.config/stacktop/config.toml` when it exists.
    pub user_file: Option<PathBuf>,
    /// `--config FILE`, in order.
    pub files: Vec<PathBuf>,
    /// Environment variables to consider (normally `std::env::vars()`).
    pub env: Vec<(String, String)>,
    /// Overrides from command-line flags, as a TOML table.
    pub cli: toml::Table,
}

/// The effective configuration plus warnings to show the user.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
}

/// Prefix of environment variables that set config keys: `STACKTOP_UI__THEME=light` sets
/// `ui.theme`; `__` separates path segments.
pub const ENV_PREFIX: &str = "STACKTOP_";

/// Loads all layers. Any error stops loading; nothing is silently ignored.
pub fn load(opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let mut merged = toml::Table::new();
    let mut warnings = Vec::new();
    let mut files = Vec::new();
    let user = opts.user_file.iter().filter(|p| p.exists());
    for path in user.chain(opts.files.iter()) {
        let (table, mut warn) = read_file(path)?;
        warnings.append(&mut warn);
        merge(&mut merged, table);
        files.push(path.clone());
    }
    merge(&mut merged, env_table(&opts.env)?);
    merge(&mut merged, opts.cli.clone());
    let config = deserialize_table(&merged, "command line or environment")?;
    Ok(Loaded {
        config,
        warnings,
        files,
    })
}

/// Validates one file on its own, to the end (see [`super::check`]): its warnings, or its
/// first problem.
pub fn check_file(path: &Path) -> Result<Vec<String>, ConfigError> {
    let themes = super::config_dir().map(|d| d.join("themes"));
    let report = super::check::check_file(path, themes.as_deref());
    match report.problems.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(report.warnings),
    }
}

fn read_file(path: &Path) -> Result<(toml::Table, Vec<String>), ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::plain(&source, &format!("cannot read file: {e}")))?;
    let table = parse_text(&text, &source)?;
    let warnings = secrets::permission_warnings(path, &table);
    Ok((table, warnings))
}

/// Parses and validates TOML text (as one layer) and returns its table.
pub fn parse_text(text: &str, source: &str) -> Result<toml::Table, ConfigError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| toml_error(&e, text, source, None))?;
    // Validate the file's content against the schema, with its own spans.
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(&e, text, source, None))?;
    let res: Result<Config, _> = serde_path_to_error::deserialize(de);
    let cfg = match res {
        Ok(cfg) => cfg,
        Err(err) => {
            let key = path_string(err.path());
            return Err(toml_error(err.inner(), text, source, key));
        }
    };
    // `[keys]` as a whole, on this file's own entries (so the error names its line).
    if let Err(problems) = crate::keymap::Keymap::with_keys(&cfg.keys) {
        if let Some(p) = problems.into_iter().next() {
            let inv = super::check::Invalid {
                key: p.key,
                value: p.value,
                message: p.message,
                related: vec!["keys".into()],
            };
            return Err(super::check::locate(&inv, text, source));
        }
    }
    Ok(table)
}

fn path_string(p: &serde_path_to_error::Path) -> Option<String> {
    let s = p.to_string();
    (s != "." && !s.is_empty()).then_some(s)
}

fn deserialize_table(table: &toml::Table, source: &str) -> Result<Config, ConfigError> {
    let value = toml::Value::Table(table.clone());
    serde_path_to_error::deserialize(value).map_err(|err| ConfigError {
        source: source.to_string(),
        line: None,
        column: None,
        key: path_string(err.path()),
        value: None,
        message: err.inner().message().trim().to_string(),
    })
}

/// Deep-merges `over` into `base`: tables merge key by key, everything else is replaced.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Builds the environment layer from `STACKTOP_*` variables.
fn env_table(env: &[(String, String)]) -> Result<toml::Table, ConfigError> {
    let mut table = toml::Table::new();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.len() < 2 || path.iter().any(String::is_empty) {
            continue; // e.g. STACKTOP_LOG: not a config key
        }
        // A secret is a string even when it looks like a number (`PASSWORD=123456`).
        let secret = path.last().is_some_and(|k| secrets::is_secret_key(k));
        let value = if secret {
            toml::Value::String(raw.clone())
        } else {
            parse_scalar(raw)
        };
        let mut layer = toml::Table::new();
        set_path(&mut layer, &path, value);
        // Validate this one variable so an error names it (and never shows a secret).
        if let Err(e) = deserialize_table(&layer, "environment") {
            return Err(ConfigError {
                source: format!("environment variable {name}"),
                value: Some(shown_value(raw, secret)),
                message: scrub_message(&e.message, raw, secret),
                ..e
            });
        }
        merge(&mut table, layer);
    }
    Ok(table)
}

/// How a bad value is quoted in an error: never a secret's, at most 60 characters of others
/// (secrets inside them masked).
fn shown_value(raw: &str, secret: bool) -> String {
    if secret {
        return crate::mask::MASK.to_string();
    }
    let masked = crate::mask::value(raw);
    let mut v: String = masked.chars().take(60).collect();
    if masked.chars().count() > 60 {
        v.push('…');
    }
    format!("\"{v}\"")
}

/// Interprets a string as a TOML scalar (number, boolean, array) when it is one, else a string.
pub fn parse_scalar(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

/// Sets `path` (e.g. `["pgtop", "slow_threshold"]`) in `table`, creating sub-tables.
pub fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                set_path(t, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        parse_text(text, "t.toml").unwrap_err()
    }

    #[test]
    fn bad_value_names_line_key_and_value() {
        let e = err("[ui]\nfps = 10\n\n[pgtop]\nslow_threshold = \"soon\"\n");
        assert_eq!(e.line, Some(5));
        assert_eq!(e.key.as_deref(), Some("pgtop.slow_threshold"));
        assert_eq!(e.value.as_deref(), Some("\"soon\""));
        let shown = e.to_string();
        assert!(shown.starts_with("t.toml:5:"), "{shown}");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = err("[ui]\nthem = \"light\"\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("ui.them"));
        assert!(e.message.contains("unknown field"), "{}", e.message);
    }

    #[test]
    fn layers_merge_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, "[ui]\ntheme = \"light\"\nfps = 5\n").unwrap();
        std::fs::write(&b, "[ui]\nfps = 7\n").unwrap();
        let mut cli = toml::Table::new();
        set_path(
            &mut cli,
            &["ui".into(), "read_only".into()],
            toml::Value::Boolean(true),
        );
        let opts = LoadOptions {
            user_file: None,
            files: vec![a, b],
            env: vec![("STACKTOP_UI__THEME".into(), "mono".into())],
            cli,
        };
        let loaded = load(&opts).unwrap();
        assert_eq!(loaded.config.ui.fps, 7);
        assert_eq!(loaded.config.ui.theme, "mono");
        assert!(loaded.config.ui.read_only);
    }

    #[test]
    fn secret_values_never_in_errors() {
        // a numeric-looking password from the environment is a string, not an error
        let opts = LoadOptions {
            env: vec![("STACKTOP_PGTOP__PASSWORD".into(), "123456".into())],
            ..Default::default()
        };
        let c = load(&opts).unwrap().config;
        assert_eq!(c.pgtop.password.unwrap().expose(), "123456");
        // an unknown secret-named key: named, its value not shown
        let opts = LoadOptions {
            env: vec![("STACKTOP_PGTOP__SSLPASSWORD".into(), "hunter2".into())],
            ..Default::default()
        };
        let e = load(&opts).unwrap_err().to_string();
        assert!(
            e.contains("STACKTOP_PGTOP__SSLPASSWORD") && !e.contains("hunter2"),
            "{e}"
        );
        // other values are shown, masked inside and cut at 60 characters
        let long = format!("postgres://u:hunter2@h/{}", "x".repeat(100));
        let opts = LoadOptions {
            env: vec![("STACKTOP_UI__FPS".into(), long)],
            ..Default::default()
        };
        let e = load(&opts).unwrap_err().to_string();
        assert!(
            !e.contains("hunter2") && e.contains("…") && e.len() < 300,
            "{e}"
        );
        // in a file: a wrong type for a secret key, and a TOML syntax error on its line
        let e = err("[pgtop]\npassword = 123456\n");
        assert_eq!(e.value.as_deref(), Some("********"));
        assert!(!e.to_string().contains("123456"), "{e}");
        let e = err("[pgtop]\npassword = hunter2\n");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn bad_environment_variable_is_named() {
        let opts = LoadOptions {
            env: vec![("STACKTOP_UI__FPS".into(), "fast".into())],
            ..Default::default()
        };
        let e = load(&opts).unwrap_err();
        assert!(e.source.contains("STACKTOP_UI__FPS"), "{e}");
        assert_eq!(e.key.as_deref(), Some("ui.fps"));
    }
}

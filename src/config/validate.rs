//! The rules start-up enforces on the merged configuration beyond the schema (also run by
//! `stacktop config check` on each file, which places the problems in it): the theme loads,
//! `slow_threshold` ≤ `critical_threshold` (and the other `[pgtop]` rules), `lag_warn` ≤
//! `lag_crit`, every `[vlog] filter` word (regexes included) parses, the `[spotify]` names and
//! password sources, `[keys]` as a whole.

use super::Config;
use std::path::Path;

/// A cross-field problem of an effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted key, e.g. `pgtop.critical_threshold` or `vlog.filter[1]`.
    pub key: String,
    /// The offending value as the user wrote it (when one value is to blame).
    pub value: Option<String>,
    pub message: String,
    /// Other keys whose position in a file can point at the problem (when `key` is unset).
    pub related: Vec<String>,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key `{}`: ", self.key)?;
        if let Some(v) = &self.value {
            write!(f, "bad value {v}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

fn invalid(key: &str, value: Option<String>, message: String, related: &[&str]) -> Invalid {
    Invalid {
        key: key.to_string(),
        value,
        message,
        related: related.iter().map(|s| s.to_string()).collect(),
    }
}

/// The rules start-up enforces beyond the schema, every one of them (empty: usable).
/// `user_themes` is the directory of user themes (`~/.config/stacktop/themes`).
pub fn validate(cfg: &Config, user_themes: Option<&Path>) -> Vec<Invalid> {
    let mut v = Vec::new();
    if let Err(e) = crate::theme::load(&cfg.ui.theme, user_themes) {
        let q = Some(format!("\"{}\"", cfg.ui.theme));
        v.push(invalid("ui.theme", q, format!("theme: {e}"), &[]));
    }
    for (key, msg) in cfg.pgtop.problems() {
        let related = ["pgtop.slow_threshold", "pgtop.critical_threshold"];
        v.push(invalid(&format!("pgtop.{key}"), None, msg, &related));
    }
    if cfg.repl.lag_warn.get() > cfg.repl.lag_crit.get() {
        let msg = format!(
            "lag_warn ({}) is above lag_crit ({}): a lagging replica would never be WARN",
            cfg.repl.lag_warn, cfg.repl.lag_crit
        );
        v.push(invalid("repl.lag_warn", None, msg, &["repl.lag_crit"]));
    }
    let mut word_failed = false;
    for (i, w) in cfg.vlog.filter.iter().enumerate() {
        if let Err(e) = crate::vlog::Filter::parse_args(std::slice::from_ref(w)) {
            word_failed = true;
            let key = format!("vlog.filter[{i}]");
            let msg = format!("vlog filter: {e}");
            v.push(invalid(&key, Some(format!("\"{w}\"")), msg, &[]));
        }
    }
    if !word_failed {
        if let Err(e) = cfg.vlog.parsed_filter() {
            v.push(invalid(
                "vlog.filter",
                None,
                format!("vlog filter: {e}"),
                &[],
            ));
        }
    }
    if let Err(problems) = crate::keymap::Keymap::with_keys(&cfg.keys) {
        for p in problems {
            v.push(invalid(&p.key, p.value, p.message, &["keys"]));
        }
    }
    if let Err(e) = cfg.spotify.validate_table() {
        let q = Some(format!("{:?}", cfg.spotify.table));
        v.push(invalid("spotify.table", q, e.to_string(), &[]));
    } else if let Err(e) = cfg.spotify.validate() {
        let related = ["spotify.table", "spotify.database", "spotify.password"];
        v.push(invalid("spotify", None, e.to_string(), &related));
    }
    v
}

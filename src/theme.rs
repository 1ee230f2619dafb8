//! Colour themes: TOML files that map semantic roles (`slow`, `crit`, `selected`, …) to
//! styles. `themes/default.toml`, `light.toml` and `mono.toml` are embedded in the binary;
//! a user theme may `extends` another and set only what differs. Views never name colours,
//! only roles. `NO_COLOR` strips colours and keeps modifiers.

use crate::base::error::line_col;
use crate::base::ConfigError;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

macro_rules! roles {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A semantic style role.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Role { $($variant),* }
        impl Role {
            pub const ALL: &'static [Role] = &[$(Role::$variant),*];
            pub fn name(self) -> &'static str {
                match self { $(Role::$variant => $name),* }
            }
            pub fn from_name(s: &str) -> Option<Role> {
                match s { $($name => Some(Role::$variant),)* _ => None }
            }
        }
    };
}

roles! {
    Normal => "normal", Muted => "muted", Header => "header", Title => "title",
    Border => "border", Tab => "tab", TabActive => "tab_active", Selected => "selected",
    Tagged => "tagged", Ok => "ok", Info => "info", Warn => "warn", Crit => "crit",
    Slow => "slow", CriticalSlow => "critical_slow", IdleTx => "idle_tx", Hint => "hint",
    HintKey => "hint_key", LongTx => "long_tx", Status => "status", FlashInfo => "flash_info",
    FlashWarn => "flash_warn", FlashError => "flash_error", Prompt => "prompt",
    Overlay => "overlay", ReadOnly => "read_only",
}

/// Shipped themes, embedded so they work without an installed `themes/` directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    ("mono", include_str!("../themes/mono.toml")),
];

/// A resolved theme: one style per role.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: Vec<Style>,
    /// Colours were stripped ([`Theme::without_colors`]); a theme switched to later
    /// (`:theme`) is stripped too, so `NO_COLOR` / `--no-color` hold for the whole run.
    pub colorless: bool,
}

impl Theme {
    pub fn style(&self, role: Role) -> Style {
        self.styles.get(role as usize).copied().unwrap_or_default()
    }

    /// The embedded default theme (always valid: a unit test guards it).
    pub fn builtin_default() -> Theme {
        load("default", None).unwrap_or_else(|_| Theme {
            name: "fallback".into(),
            styles: vec![Style::default(); Role::ALL.len()],
            colorless: false,
        })
    }

    /// Removes colours, keeping modifiers (for `NO_COLOR` and `ui.no_color`). A role whose
    /// meaning was only its colour gets a modifier instead (idle in transaction: italic, long
    /// transaction: underlined, as in the mono theme), so it stays distinguishable without colour.
    pub fn without_colors(mut self) -> Theme {
        for s in &mut self.styles {
            s.fg = None;
            s.bg = None;
        }
        if let Some(s) = self.styles.get_mut(Role::IdleTx as usize) {
            if s.add_modifier.is_empty() {
                s.add_modifier = Modifier::ITALIC;
            }
        }
        if let Some(s) = self.styles.get_mut(Role::LongTx as usize) {
            if s.add_modifier.is_empty() {
                s.add_modifier = Modifier::UNDERLINED;
            }
        }
        self.colorless = true;
        self
    }

    /// `self` stripped of colours when `colorless` (the run's NO_COLOR / `--no-color`).
    pub fn colorless_if(self, colorless: bool) -> Theme {
        if colorless {
            self.without_colors()
        } else {
            self
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[allow(dead_code)]
    name: Option<String>,
    extends: Option<String>,
    #[serde(default)]
    palette: BTreeMap<String, String>,
    #[serde(default)]
    roles: BTreeMap<String, toml::Spanned<RoleSpec>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<toml::Spanned<String>>,
    bg: Option<toml::Spanned<String>>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underlined: Option<bool>,
    reversed: Option<bool>,
}

/// Loads a theme by name (user themes dir, then built-ins) or by path (contains `/` or ends
/// in `.toml`). `user_dir` is normally `~/.config/stacktop/themes`.
pub fn load(name_or_path: &str, user_dir: Option<&Path>) -> Result<Theme, ConfigError> {
    let mut chain: Vec<(String, String)> = Vec::new(); // (source, text), child first
    let mut next = Some(name_or_path.to_string());
    while let Some(n) = next.take() {
        if chain.len() >= 8 {
            return Err(ConfigError::plain(
                &n,
                "theme `extends` chain is longer than 8 (a cycle?)",
            ));
        }
        let (source, text) = find(&n, user_dir)?;
        let file: ThemeFile = toml::from_str(&text).map_err(|e| theme_error(&e, &text, &source))?;
        next = file.extends;
        chain.push((source, text));
    }
    // Resolve from the root ancestor down.
    let mut styles = vec![Style::default(); Role::ALL.len()];
    let mut palette: BTreeMap<String, String> = BTreeMap::new();
    for (source, text) in chain.iter().rev() {
        let file: ThemeFile = toml::from_str(text).map_err(|e| theme_error(&e, text, source))?;
        palette.extend(file.palette);
        for (role_name, spec) in &file.roles {
            let Some(role) = Role::from_name(role_name) else {
                let (line, col) = line_col(text, spec.span().start);
                return Err(ConfigError {
                    source: source.clone(),
                    line: Some(line),
                    column: Some(col),
                    key: Some(format!("roles.{role_name}")),
                    value: None,
                    message: format!("unknown role; known roles: {}", role_names().join(", ")),
                });
            };
            // A role set in a child theme replaces the parent's role entirely.
            styles[role as usize] = role_style(spec.get_ref(), &palette, text, source, role_name)?;
        }
    }
    let normal = styles[Role::Normal as usize];
    // Roles no file mentions fall back to `normal`.
    let mentioned: Vec<bool> = Role::ALL
        .iter()
        .map(|r| chain.iter().any(|(_, t)| mentions_role(t, r.name())))
        .collect();
    for (i, m) in mentioned.iter().enumerate() {
        if !m {
            styles[i] = normal;
        }
    }
    Ok(Theme {
        name: name_or_path.to_string(),
        styles,
        colorless: false,
    })
}

fn mentions_role(text: &str, role: &str) -> bool {
    toml::from_str::<ThemeFile>(text).is_ok_and(|f| f.roles.contains_key(role))
}

fn role_names() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.name()).collect()
}

fn role_style(
    spec: &RoleSpec,
    palette: &BTreeMap<String, String>,
    text: &str,
    source: &str,
    role: &str,
) -> Result<Style, ConfigError> {
    let mut style = Style::default();
    for (which, c) in [("fg", &spec.fg), ("bg", &spec.bg)] {
        if let Some(c) = c {
            let color = parse_color(c.get_ref(), palette).ok_or_else(|| {
                let (line, col) = line_col(text, c.span().start);
                ConfigError {
                    source: source.to_string(),
                    line: Some(line),
                    column: Some(col),
                    key: Some(format!("roles.{role}.{which}")),
                    value: Some(format!("\"{}\"", c.get_ref())),
                    message: "not a colour: use a name (e.g. yellow), #rrggbb, 0-255, or a [palette] name"
                        .into(),
                }
            })?;
            style = if which == "fg" {
                style.fg(color)
            } else {
                style.bg(color)
            };
        }
    }
    let mods = [
        (spec.bold, Modifier::BOLD),
        (spec.dim, Modifier::DIM),
        (spec.italic, Modifier::ITALIC),
        (spec.underlined, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
    ];
    for (flag, m) in mods {
        if flag == Some(true) {
            style = style.add_modifier(m);
        }
    }
    Ok(style)
}

fn parse_color(s: &str, palette: &BTreeMap<String, String>) -> Option<Color> {
    let resolved = palette.get(s).map_or(s, String::as_str);
    Color::from_str(resolved).ok()
}

fn find(name: &str, user_dir: Option<&Path>) -> Result<(String, String), ConfigError> {
    let looks_like_path = name.contains('/') || name.ends_with(".toml");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if looks_like_path {
        candidates.push(PathBuf::from(name));
    } else if let Some(dir) = user_dir {
        candidates.push(dir.join(format!("{name}.toml")));
    }
    for p in &candidates {
        if p.exists() || looks_like_path {
            let text = std::fs::read_to_string(p).map_err(|e| {
                ConfigError::plain(&p.display().to_string(), &format!("cannot read theme: {e}"))
            })?;
            return Ok((p.display().to_string(), text));
        }
    }
    if let Some((n, t)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        return Ok(((*n).to_string(), (*t).to_string()));
    }
    let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
    Err(ConfigError::plain(
        name,
        &format!(
            "no such theme; shipped themes: {}, or give a path to a .toml file",
            known.join(", ")
        ),
    ))
}

fn theme_error(e: &toml::de::Error, text: &str, source: &str) -> ConfigError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
    ConfigError {
        source: source.to_string(),
        line,
        column,
        key: None,
        value: None,
        message: e.message().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_slow_is_bold_yellow() {
        let t = load("default", None).unwrap();
        let s = t.style(Role::Slow);
        assert_eq!(s.fg, Some(Color::Yellow));
        assert!(s.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn child_theme_inherits_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.toml");
        std::fs::write(
            &p,
            "extends = \"default\"\n[roles]\nslow = { fg = \"#ff8800\", bold = true }\n",
        )
        .unwrap();
        let t = load(p.to_str().unwrap(), None).unwrap();
        assert_eq!(t.style(Role::Slow).fg, Some(Color::Rgb(0xff, 0x88, 0)));
        assert_eq!(
            t.style(Role::Crit),
            load("default", None).unwrap().style(Role::Crit)
        );
    }

    #[test]
    fn bad_colour_names_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[roles]\nok = { fg = \"greeen\" }\n").unwrap();
        let e = load(p.to_str().unwrap(), None).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("roles.ok.fg"));
        assert_eq!(e.value.as_deref(), Some("\"greeen\""));
    }

    #[test]
    fn no_color_keeps_modifiers() {
        let t = load("default", None).unwrap().without_colors();
        let s = t.style(Role::Slow);
        assert_eq!(s.fg, None);
        assert!(s.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn no_color_keeps_idle_in_transaction_distinguishable() {
        for name in ["default", "light", "mono"] {
            let t = load(name, None).unwrap().without_colors();
            let idle = t.style(Role::IdleTx);
            assert_eq!((idle.fg, idle.bg), (None, None), "{name}");
            assert_ne!(idle, t.style(Role::Normal), "{name}: idle_tx looks normal");
            let long = t.style(Role::LongTx);
            assert_ne!(long, t.style(Role::Normal), "{name}: long_tx looks normal");
            assert_ne!(long, idle, "{name}: long_tx looks idle_tx");
            assert!(t.colorless);
        }
    }
}

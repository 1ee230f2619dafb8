//! The config's `[keys]`: the user's keys for an action, per scope, replacing the built-in ones.
//!
//! ```toml
//! [keys]
//! quit = ["q", "ctrl-c"]          # a global action: its keys, in every view
//! pgtop.cancel_backend = "x"      # a scope's action (same as `[keys.pgtop]`)
//! pgtop.kill_slow = []            # unbound
//! [keys.kill_confirm]
//! yes = ["y", "j"]
//! ```
//!
//! Entries are checked one by one while the config is read (an unknown scope or action, a key
//! that does not parse: file, line and key), then as a whole against the built-in table
//! ([`super::Keymap::with_keys`]): a key bound to two actions of one scope, a view left with
//! no key to quit or open the help, a dialog or pane left with no key out. A problem means the
//! whole `[keys]` is refused, never half applied.

use super::{key_name, parse_key, Action, Keymap, Scope};
use crossterm::event::{KeyCode, KeyModifiers};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// One key as the user wrote it, and what it parses to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserKey {
    pub text: String,
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

/// One `[keys]` entry: the keys of an action in a scope (none: unbound).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    pub scope: Scope,
    pub action: Action,
    pub keys: Vec<UserKey>,
    /// Dotted config key, e.g. `keys.quit` or `keys.pgtop.cancel_backend`.
    pub path: String,
    /// Written as an array (so a key's own path is `path[i]`).
    pub list: bool,
}

impl KeyEntry {
    /// The config key of its `i`th key.
    pub fn key_path(&self, i: usize) -> String {
        if self.list {
            format!("{}[{i}]", self.path)
        } else {
            self.path.clone()
        }
    }
}

/// `[keys]`: the user's entries, in the order read. Shown (`config show`) as the whole
/// effective keymap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeysConfig {
    pub entries: Vec<KeyEntry>,
}

/// A `[keys]` problem found when the entries are applied together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProblem {
    /// Dotted config key to blame, e.g. `keys.pgtop.cancel_backend[1]`.
    pub key: String,
    /// The key as written, quoted, when one key is to blame.
    pub value: Option<String>,
    pub message: String,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key `{}`: ", self.key)?;
        if let Some(v) = &self.value {
            write!(f, "bad value {v}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// The actions a scope can bind: those the built-in table binds there, in its order.
pub fn actions_of(scope: Scope) -> Vec<Action> {
    let mut out = Vec::new();
    for bd in Keymap::default().bindings {
        if bd.scope == scope && !out.contains(&bd.action) {
            out.push(bd.action);
        }
    }
    out
}

/// The error serde's `unknown_field` gives, so `config check` suggests the closest name.
fn unknown<E: de::Error>(name: &str, expected: &[String]) -> E {
    let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    E::custom(format!(
        "unknown field `{name}`, expected one of {}",
        list.join(", ")
    ))
}

/// A name in `[keys]`: a scope (its table follows) or an action of `scope`.
enum Name {
    Scope(Scope),
    Action(Action),
}

struct NameSeed(Scope);

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Name;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Name, D::Error> {
        let name = String::deserialize(d)?;
        let actions = actions_of(self.0);
        if let Some(a) = actions.iter().find(|a| a.name() == name) {
            return Ok(Name::Action(*a));
        }
        let mut expected: Vec<String> = actions.iter().map(|a| a.name().to_string()).collect();
        if self.0 == Scope::Global {
            if let Some(s) = Scope::from_name(&name) {
                return Ok(Name::Scope(s));
            }
            expected.extend(Scope::all().into_iter().map(Scope::name));
        }
        Err(unknown(&name, &expected))
    }
}

/// The value of an entry: one key or a list of keys.
struct Keys {
    keys: Vec<UserKey>,
    list: bool,
}

fn user_key<E: de::Error>(text: &str) -> Result<UserKey, E> {
    let (code, mods) = parse_key(text).map_err(E::custom)?;
    Ok(UserKey {
        text: text.to_string(),
        code,
        mods,
    })
}

struct OneKey(UserKey);

impl<'de> Deserialize<'de> for OneKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OneKey, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OneKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key such as \"q\" or \"ctrl-c\"")
            }
            // Parsed inside the deserializer, so an error points at this element.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneKey, E> {
                user_key(v).map(OneKey)
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key such as \"q\" or \"ctrl-c\", or a list of them ([] unbinds)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Keys, E> {
                Ok(Keys {
                    keys: vec![user_key(v)?],
                    list: false,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(OneKey(k)) = seq.next_element()? {
                    keys.push(k);
                }
                Ok(Keys { keys, list: true })
            }
        }
        d.deserialize_any(V)
    }
}

/// The entries of one scope's table (or of the top of `[keys]`, the global scope).
struct ScopeSeed {
    scope: Scope,
    prefix: String,
}

impl<'de> DeserializeSeed<'de> for ScopeSeed {
    type Value = Vec<KeyEntry>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<KeyEntry>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ScopeSeed {
    type Value = Vec<KeyEntry>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a table of action = key(s) for {}", self.scope.name())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<KeyEntry>, A::Error> {
        let mut out = Vec::new();
        while let Some(name) = map.next_key_seed(NameSeed(self.scope))? {
            match name {
                Name::Scope(scope) => {
                    let prefix = format!("{}.{}", self.prefix, scope.name());
                    out.extend(map.next_value_seed(ScopeSeed { scope, prefix })?);
                }
                Name::Action(action) => {
                    let Keys { keys, list } = map.next_value()?;
                    out.push(KeyEntry {
                        scope: self.scope,
                        action,
                        keys,
                        path: format!("{}.{}", self.prefix, action.name()),
                        list,
                    });
                }
            }
        }
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for KeysConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeysConfig, D::Error> {
        let seed = ScopeSeed {
            scope: Scope::Global,
            prefix: "keys".into(),
        };
        Ok(KeysConfig {
            entries: seed.deserialize(d)?,
        })
    }
}

impl Serialize for KeysConfig {
    /// The effective keymap (the built-in one when `[keys]` is refused): global actions at the
    /// top, a table per scope, every action with its keys as `?` writes them.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let km = Keymap::with_keys(self).unwrap_or_default();
        let mut top = toml::Table::new();
        for scope in Scope::all() {
            let mut t = toml::Table::new();
            for a in actions_of(scope) {
                let keys = km
                    .bindings
                    .iter()
                    .filter(|bd| bd.scope == scope && bd.action == a)
                    .map(|bd| toml::Value::String(key_name(bd.code, bd.mods)))
                    .collect();
                t.insert(a.name().into(), toml::Value::Array(keys));
            }
            match scope {
                Scope::Global => top.extend(t),
                _ => {
                    top.insert(scope.name(), toml::Value::Table(t));
                }
            }
        }
        top.serialize(s)
    }
}

/// The README's list of scopes and actions with their built-in keys (a test keeps the
/// README equal to it).
pub fn reference() -> String {
    let km = Keymap::default();
    let mut out = String::from("| scope | actions (built-in keys) |\n|---|---|\n");
    for scope in Scope::all() {
        let items: Vec<String> = actions_of(scope)
            .into_iter()
            .map(|a| {
                let keys: Vec<String> = km
                    .bindings
                    .iter()
                    .filter(|bd| bd.scope == scope && bd.action == a)
                    .map(|bd| key_name(bd.code, bd.mods))
                    .collect();
                format!("`{}` {}", a.name(), keys.join(" "))
            })
            .collect();
        out.push_str(&format!("| `{}` | {} |\n", scope.name(), items.join(" · ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, LoadOptions};

    fn env(vars: &[(&str, &str)]) -> Result<crate::config::Config, crate::config::ConfigError> {
        let opts = LoadOptions {
            env: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        load(&opts).map(|l| l.config)
    }

    #[test]
    fn keys_come_from_the_environment_too_and_a_bad_one_names_its_variable() {
        let cfg = env(&[("STACKTOP_KEYS__QUIT", "[\"x\", \"ctrl-q\"]")]).unwrap();
        let km = Keymap::with_keys(&cfg.keys).unwrap();
        let quit: Vec<String> = km
            .bindings
            .iter()
            .filter(|bd| bd.scope == Scope::Global && bd.action == Action::Quit)
            .map(|bd| key_name(bd.code, bd.mods))
            .collect();
        assert_eq!(quit, ["x", "Ctrl-Q"]);
        let e = env(&[("STACKTOP_KEYS__PGTOP__CANCEL", "x")]).unwrap_err();
        assert!(e.source.contains("STACKTOP_KEYS__PGTOP__CANCEL"), "{e}");
        assert!(e.to_string().contains("unknown field `cancel`"), "{e}");
    }

    #[test]
    fn an_action_set_twice_and_a_clash_between_layers_are_refused_whole() {
        let keys: KeysConfig =
            toml::from_str("quit = \"Q\"\n[global]\nquit = \"ctrl-q\"\n").unwrap();
        let p = Keymap::with_keys(&keys).unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("set twice"), "{p:?}");
        // two layers, each fine alone: the merged config is refused by start-up's check
        let cfg = env(&[
            ("STACKTOP_KEYS__OPEN_FILTER", "x"),
            ("STACKTOP_KEYS__TOGGLE_PAUSE", "x"),
        ])
        .unwrap();
        let inv = crate::config::check::validate(&cfg, None);
        assert!(
            inv.iter()
                .any(|i| i.to_string().contains("x in global is bound to both")),
            "{inv:?}"
        );
    }

    #[test]
    fn a_rebinding_keeps_its_place_description_and_hint() {
        let keys: KeysConfig = toml::from_str("pgtop.cancel_backend = [\"x\", \"X\"]\n").unwrap();
        let km = Keymap::with_keys(&keys).unwrap();
        let builtin = Keymap::default();
        let at = |km: &Keymap| {
            km.bindings
                .iter()
                .position(|bd| bd.action == Action::CancelBackend)
        };
        assert_eq!(at(&km), at(&builtin));
        let x: Vec<&crate::keymap::Binding> = km
            .bindings
            .iter()
            .filter(|bd| bd.action == Action::CancelBackend)
            .collect();
        assert_eq!(x.len(), 2);
        assert_eq!(x[0].desc, "cancel the selected (or tagged) queries");
        assert!(x[0].hint && !x[1].hint);
        assert_eq!(km.bindings.len(), builtin.bindings.len() + 1);
    }
}

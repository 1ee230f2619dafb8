//! `[keys]` checked as a whole, on the keymap it gives ([`super::Keymap::with_keys`]): no key
//! bound to two actions of one scope, and no way lost — every view keeps a key that quits and
//! one that opens the help, the help a key that closes it, every dialog and pane a key out
//! ([`super::Modal::way_out`]).

use super::user::{KeyEntry, KeyProblem, KeysConfig};
use super::{key_name, normalize, Action, Binding, Keymap, Modal, Scope};
use crate::wire::ViewKind;
use crossterm::event::KeyEvent;

/// The user's entry (and which of its keys) that brought `key` into `scope`, the last first.
fn entry_with_key(
    keys: &KeysConfig,
    scope: Scope,
    key: (crossterm::event::KeyCode, crossterm::event::KeyModifiers),
) -> Option<(&KeyEntry, usize)> {
    keys.entries.iter().rev().find_map(|e| {
        let i = e
            .keys
            .iter()
            .position(|k| normalize(k.code, k.mods) == key)?;
        (e.scope == scope).then_some((e, i))
    })
}

/// A key bound to two different actions of one scope.
pub fn clashes(km: &Keymap, keys: &KeysConfig) -> Vec<KeyProblem> {
    let mut out = Vec::new();
    let mut reported = Vec::new();
    for (i, bd) in km.bindings.iter().enumerate() {
        let key = normalize(bd.code, bd.mods);
        let other = km.bindings[..i].iter().find(|o| {
            o.scope == bd.scope && o.action != bd.action && normalize(o.code, o.mods) == key
        });
        let Some(other) = other else { continue };
        if reported.contains(&(bd.scope, key)) {
            continue;
        }
        reported.push((bd.scope, key));
        let (path, value) = match entry_with_key(keys, bd.scope, key) {
            Some((e, i)) => (e.key_path(i), Some(format!("\"{}\"", e.keys[i].text))),
            None => ("keys".to_string(), None),
        };
        out.push(KeyProblem {
            key: path,
            value,
            message: format!(
                "{} in {} is bound to both {} and {}; unbind or rebind one of them",
                key_name(bd.code, bd.mods),
                bd.scope.name(),
                other.action.name(),
                bd.action.name()
            ),
        });
    }
    out
}

/// Whether some binding of `scopes` leads to one of `wanted` through `lookup`.
fn reachable(
    km: &Keymap,
    scopes: &[Scope],
    wanted: &[Action],
    lookup: impl Fn(&KeyEvent) -> Option<Action>,
) -> bool {
    km.bindings
        .iter()
        .filter(|bd| scopes.contains(&bd.scope))
        .any(|bd| {
            let ev = KeyEvent::new(bd.code, bd.mods);
            lookup(&ev).is_some_and(|a| wanted.contains(&a))
        })
}

/// The entry to blame for a lost way: the user's entry of the action itself, else one of the
/// user's entries in the scopes that could shadow it.
fn blame(keys: &KeysConfig, action_scopes: &[Scope], wanted: &[Action], near: &[Scope]) -> String {
    let own = keys
        .entries
        .iter()
        .rev()
        .find(|e| action_scopes.contains(&e.scope) && wanted.contains(&e.action));
    let shadow = || keys.entries.iter().rev().find(|e| near.contains(&e.scope));
    own.or_else(shadow)
        .map_or_else(|| "keys".to_string(), |e| e.path.clone())
}

/// Views, the help and the modal states left without a way to quit, to the help or out.
pub fn dead_ends(km: &Keymap, keys: &KeysConfig) -> Vec<KeyProblem> {
    // (blamed key, what is lost) → the views where it is lost
    let mut lost: Vec<(String, String, Vec<&'static str>)> = Vec::new();
    let mut add = |key: String, what: String, view: &'static str| match lost
        .iter_mut()
        .find(|(k, w, _)| *k == key && *w == what)
    {
        Some((_, _, views)) => views.push(view),
        None => lost.push((key, what, vec![view])),
    };
    for v in ViewKind::ALL {
        let here = [Scope::View(v), Scope::Global];
        let lookup = |ev: &KeyEvent| km.lookup(v, ev);
        for (action, what) in [
            (Action::Quit, "no key quits"),
            (Action::ToggleHelp, "no key opens the help"),
        ] {
            if !reachable(km, &here, &[action], lookup) {
                let key = blame(keys, &[Scope::Global], &[action], &[Scope::View(v)]);
                add(key, what.to_string(), v.name());
            }
        }
        let in_help = [Scope::Modal(Modal::Help), Scope::View(v), Scope::Global];
        let out = [Action::Back, Action::ToggleHelp, Action::Quit];
        let help_lookup = |ev: &KeyEvent| {
            km.lookup_modal(Modal::Help, ev)
                .or_else(|| km.lookup(v, ev))
        };
        if !reachable(km, &in_help, &out, help_lookup) {
            let key = blame(keys, &in_help, &out, &in_help);
            add(key, "no key closes the help".to_string(), v.name());
        }
    }
    for m in Modal::ALL {
        let scope = [Scope::Modal(m)];
        if !reachable(km, &scope, m.way_out(), |ev| km.lookup_modal(m, ev)) {
            let names: Vec<&str> = m.way_out().iter().map(|a| a.name()).collect();
            let key = blame(keys, &scope, m.way_out(), &scope);
            let what = format!("no key leaves {} ({})", m.name(), names.join(" or "));
            add(key, what, "");
        }
    }
    lost.into_iter()
        .map(|(key, what, views)| {
            let views: Vec<&str> = views.into_iter().filter(|v| !v.is_empty()).collect();
            let message = if views.is_empty() {
                what
            } else {
                format!("{what} in {}", views.join(", "))
            };
            KeyProblem {
                key,
                value: None,
                message,
            }
        })
        .collect()
}

impl Keymap {
    /// The built-in keymap with `[keys]` applied: each entry replaces the keys of its action
    /// in its scope (in place, so `?` keeps its order); then the whole is checked. Any
    /// problem refuses all of `[keys]`.
    pub fn with_keys(keys: &KeysConfig) -> Result<Keymap, Vec<KeyProblem>> {
        let builtin = Keymap::default();
        let mut bindings = builtin.bindings.clone();
        let mut problems = Vec::new();
        for (i, e) in keys.entries.iter().enumerate() {
            if let Some(first) = keys.entries[..i]
                .iter()
                .find(|p| p.scope == e.scope && p.action == e.action)
            {
                problems.push(KeyProblem {
                    key: e.path.clone(),
                    value: None,
                    message: format!("{} is set twice, also as {}", e.action.name(), first.path),
                });
                continue;
            }
            let Some(template) = builtin
                .bindings
                .iter()
                .find(|bd| bd.scope == e.scope && bd.action == e.action)
            else {
                continue; // cannot happen: entries are read against the built-in table
            };
            let hint = builtin
                .bindings
                .iter()
                .any(|bd| bd.scope == e.scope && bd.action == e.action && bd.hint);
            let at = bindings
                .iter()
                .position(|bd| bd.scope == e.scope && bd.action == e.action)
                .unwrap_or(bindings.len());
            bindings.retain(|bd| !(bd.scope == e.scope && bd.action == e.action));
            let mut added: Vec<Binding> = Vec::new();
            for k in &e.keys {
                let n = normalize(k.code, k.mods);
                if added.iter().any(|bd| normalize(bd.code, bd.mods) == n) {
                    continue;
                }
                added.push(Binding {
                    code: k.code,
                    mods: k.mods,
                    hint: hint && added.is_empty(),
                    ..*template
                });
            }
            let at = at.min(bindings.len());
            bindings.splice(at..at, added);
        }
        let km = Keymap { bindings };
        problems.extend(clashes(&km, keys));
        problems.extend(dead_ends(&km, keys));
        if problems.is_empty() {
            Ok(km)
        } else {
            Err(problems)
        }
    }
}

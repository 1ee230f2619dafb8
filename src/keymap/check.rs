//! `[keys]` checked as a whole, on the keymap it gives ([`super::Keymap::with_keys`]): no key
//! bound to two actions of one scope, and no way lost — every view keeps a key that quits and
//! one that opens the help, the help a key that closes it, every dialog and pane a key out
//! ([`super::Modal::way_out`]).

use super::user::{KeyEntry, KeyProblem, KeysConfig};
use super::{key_name, normalize, Action, Keymap, Modal, Scope};
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

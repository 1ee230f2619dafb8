//! Keys → actions, through one table with a description per binding. The same table
//! drives key handling, the `?` help overlay and the hint line, so they cannot disagree.
//! Lookup order: while a view's scrollable detail pane is open, its detail bindings; then the
//! active view's bindings, then global ones.
//!
//! Files: [`action`] (the intents and their `[keys]` names), [`defaults`] and [`modal`] (the
//! built-in table), [`parse`] (how a key is written), [`user`] (the config's `[keys]`: parsed,
//! checked as a whole and applied to the built-in table).

pub mod action;
pub mod check;
pub mod defaults;
pub mod modal;
pub mod parse;
pub mod user;

use crate::wire::ViewKind;
pub use action::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use defaults::short;
pub use defaults::{default_bindings, detail_bindings, DETAIL_VIEWS};
pub use modal::Modal;
pub use parse::{key_name, normalize, parse_key};
pub use user::{KeyProblem, KeysConfig};

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    View(ViewKind),
    /// While the view's scrollable detail pane is open (see `View::detail_open`); shadows
    /// the view's and the global bindings, so scrolling never moves the list.
    Detail(ViewKind),
    /// While a modal state is shown (the help, a confirmation, an editor): only these
    /// bindings (and what the state itself types) apply; see [`modal`].
    Modal(Modal),
}

impl Scope {
    /// Every scope, in the order `[keys]` lists them.
    pub fn all() -> Vec<Scope> {
        let mut v = vec![Scope::Global];
        v.extend(ViewKind::ALL.map(Scope::View));
        v.extend(DETAIL_VIEWS.map(Scope::Detail));
        v.extend(Modal::ALL.map(Scope::Modal));
        v
    }

    /// The scope's name in `[keys]`: `global`, a view (`pgtop`), a detail pane
    /// (`pgtop_detail`) or a modal state (`kill_confirm`).
    pub fn name(self) -> String {
        match self {
            Scope::Global => "global".into(),
            Scope::View(v) => v.name().into(),
            Scope::Detail(v) => format!("{}_detail", v.name()),
            Scope::Modal(m) => m.name().into(),
        }
    }

    /// The scope named `name` in `[keys]`.
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::all().into_iter().find(|s| s.name() == name)
    }
}

/// One row of the keymap table.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub code: KeyCode,
    pub mods: KeyModifiers,
    pub scope: Scope,
    pub action: Action,
    pub desc: &'static str,
    /// Shown on the hint line.
    pub hint: bool,
}

/// The keymap: a table of bindings.
#[derive(Clone, Debug)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut bindings: Vec<Binding> = default_bindings().collect();
        for v in DETAIL_VIEWS {
            bindings.extend(detail_bindings(v));
        }
        bindings.extend_from_slice(modal::MODAL_BINDINGS);
        Keymap { bindings }
    }
}

impl Keymap {
    fn find(&self, scope: Scope, key: &KeyEvent) -> Option<&Binding> {
        let want = normalize(key.code, key.modifiers);
        self.bindings
            .iter()
            .find(|bd| bd.scope == scope && normalize(bd.code, bd.mods) == want)
    }

    /// The action for a key in the given view, view bindings first.
    pub fn lookup(&self, view: ViewKind, key: &KeyEvent) -> Option<Action> {
        self.find(Scope::View(view), key)
            .or_else(|| self.find(Scope::Global, key))
            .map(|bd| bd.action)
    }

    /// The action for a key while the view's detail pane is open, if the pane binds it.
    pub fn lookup_detail(&self, view: ViewKind, key: &KeyEvent) -> Option<Action> {
        self.find(Scope::Detail(view), key).map(|bd| bd.action)
    }

    /// The action for a key in a modal state, if the state binds it.
    pub fn lookup_modal(&self, m: Modal, key: &KeyEvent) -> Option<Action> {
        self.find(Scope::Modal(m), key).map(|bd| bd.action)
    }

    /// The bindings of a modal state, for `?`.
    pub fn modal(&self, m: Modal) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|bd| bd.scope == Scope::Modal(m))
            .collect()
    }

    /// The detail-pane bindings of `view` (empty for views without one).
    pub fn detail(&self, view: ViewKind) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|bd| bd.scope == Scope::Detail(view))
            .collect()
    }

    /// Bindings that apply in `view`, for the help overlay: the detail pane's first while it
    /// is open, then the view's, then global ones.
    pub fn for_view(&self, view: ViewKind, detail_open: bool) -> Vec<&Binding> {
        let detail = if detail_open {
            self.detail(view)
        } else {
            Vec::new()
        };
        let own = self
            .bindings
            .iter()
            .filter(|bd| bd.scope == Scope::View(view));
        let global = self.bindings.iter().filter(|bd| bd.scope == Scope::Global);
        detail.into_iter().chain(own).chain(global).collect()
    }

    /// `(key, description)` pairs for the hint line of `view`; with `read_only` the keys
    /// that would change a server are left out (they are refused).
    pub fn hints(
        &self,
        view: ViewKind,
        detail_open: bool,
        read_only: bool,
    ) -> Vec<(String, &'static str)> {
        let mut v: Vec<(String, &'static str, Action)> = self
            .for_view(view, detail_open)
            .into_iter()
            .filter(|bd| bd.hint)
            .map(|bd| (key_name(bd.code, bd.mods), short(bd.desc), bd.action))
            .collect();
        // A view binding shadows the global one with the same key (also when read-only
        // hides it: `k` terminates in pgtop, it never moves up there).
        let mut seen = std::collections::HashSet::new();
        v.retain(|(k, _, _)| seen.insert(k.clone()));
        v.into_iter()
            .filter(|(_, _, a)| !(read_only && a.changes_server()))
            .map(|(k, d, _)| (k, d))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        let mut seen: HashMap<(String, String), Action> = HashMap::new();
        for bd in &Keymap::default().bindings {
            let (c, m) = normalize(bd.code, bd.mods);
            let k = (format!("{:?}", bd.scope), format!("{c:?}{m:?}"));
            if let Some(prev) = seen.insert(k.clone(), bd.action) {
                panic!("{k:?} bound to {prev:?} and {:?}", bd.action);
            }
        }
    }

    #[test]
    fn view_bindings_shadow_global() {
        let km = Keymap::default();
        let k = KeyEvent::new(KeyCode::Char('k'), KeyModifiers::NONE);
        assert_eq!(
            km.lookup(ViewKind::Pgtop, &k),
            Some(Action::TerminateBackend)
        );
        assert_eq!(km.lookup(ViewKind::Vlog, &k), Some(Action::Up));
        let shift_k = KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT);
        assert_eq!(km.lookup(ViewKind::Pgtop, &shift_k), Some(Action::KillSlow));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.lookup(ViewKind::Pgtop, &ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn every_binding_has_a_description() {
        assert!(Keymap::default()
            .bindings
            .iter()
            .all(|bd| !bd.desc.is_empty()));
    }

    #[test]
    fn detail_bindings_shadow_the_list_keys_only_while_open() {
        let km = Keymap::default();
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        for v in DETAIL_VIEWS {
            assert_eq!(
                km.lookup_detail(v, &key(KeyCode::Char('k'))),
                Some(Action::ScrollUp)
            );
            assert_eq!(
                km.lookup_detail(v, &key(KeyCode::Char(' '))),
                Some(Action::ScrollPageDown)
            );
            let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
            assert_eq!(km.lookup_detail(v, &shift_g), Some(Action::ScrollBottom));
            assert_eq!(km.lookup_detail(v, &key(KeyCode::Char('e'))), None);
        }
        assert_eq!(km.lookup_detail(ViewKind::Vlog, &key(KeyCode::Down)), None);
        let hints = km.hints(ViewKind::Pgtop, true, false);
        assert_eq!(hints[0], ("j".to_string(), "down"));
        assert!(hints.contains(&("k".to_string(), "up")), "{hints:?}");
        assert!(
            !hints.contains(&("k".to_string(), "terminate")),
            "{hints:?}"
        );
        assert!(!km
            .hints(ViewKind::Pgtop, false, false)
            .contains(&("j".to_string(), "down")));
    }
}

//! Keys → actions, through one table with a description per binding. The same table
//! drives key handling, the `?` help overlay and the hint line, so they cannot disagree.
//! Lookup order: while a view's scrollable detail pane is open, its detail bindings; then the
//! active view's bindings, then global ones.

pub mod modal;

use crate::wire::ViewKind;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
pub use modal::Modal;

/// A user intent. Infrastructure events (ticks, resizes, updates) are not actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    NextTab,
    PrevTab,
    GoTab(ViewKind),
    ToggleHelp,
    OpenFilter,
    OpenCommand,
    /// `s`: the command line, pre-filled with `refresh ` (top's habit).
    SetRefresh,
    TogglePause,
    /// `Esc`: close the innermost overlay, prompt, pane or filter.
    Back,
    Suspend,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// `Enter`: open the detail of the selected row.
    Open,
    SortNext,
    SortReverse,
    Refresh,
    FasterRefresh,
    SlowerRefresh,
    // pgtop
    ToggleIdle,
    CycleDurationBasis,
    Tag,
    CancelBackend,
    TerminateBackend,
    KillSlow,
    Explain,
    ToggleLocks,
    /// Lock tree: terminate the root blocker of the selected chain (after a confirmation).
    SignalRootBlocker,
    /// `F`: one row per query fingerprint.
    ToggleGroups,
    /// `w`: waits over time (and top statements when pg_stat_statements is read)
    ToggleWaits,
    // repl
    CopyFixes,
    /// Move between the status table and the audit pane.
    FocusAudit,
    // vlog
    Save,
    // spotify
    EditSql,
    EditQuestionSql,
    CancelQuery,
    NextCountry,
    PrevCountry,
    NextYear,
    PrevYear,
    CycleLimit,
    CyclePositions,
    FocusLeft,
    FocusRight,
    ToggleChart,
    SaveJson,
    TogglePane,
    Find,
    FindNext,
    FindPrev,
    // detail panes (pgtop `Enter`, replication check detail): scroll inside the pane
    ScrollUp,
    ScrollDown,
    ScrollPageUp,
    ScrollPageDown,
    ScrollTop,
    ScrollBottom,
    // confirmations and modal states (see [`modal`])
    Yes,
    No,
    /// Clear the line or editor being typed in.
    ClearInput,
    /// Run the SQL in the editor.
    RunQuery,
    HistoryPrev,
    HistoryNext,
}

impl Action {
    /// Changes a server (cancel, terminate, kill slow): refused under `read_only`, and then
    /// not offered on the hint line either.
    pub fn changes_server(self) -> bool {
        matches!(
            self,
            Action::CancelBackend
                | Action::TerminateBackend
                | Action::KillSlow
                | Action::SignalRootBlocker
        )
    }
}

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

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

const fn b(
    code: KeyCode,
    mods: KeyModifiers,
    scope: Scope,
    action: Action,
    desc: &'static str,
    hint: bool,
) -> Binding {
    Binding {
        code,
        mods,
        scope,
        action,
        desc,
        hint,
    }
}

use Action as A;
use KeyCode::{BackTab, Char, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up};
use Scope::{Global as G, View as V};
use ViewKind::{Pgtop as PG, Repl as RP, Spotify as SP, Vlog as VL};

/// The built-in keymap.
pub const DEFAULT_BINDINGS: &[Binding] = &[
    b(Char('q'), NONE, G, A::Quit, "quit", true),
    b(Char('c'), CTRL, G, A::Quit, "quit", false),
    b(
        Char('z'),
        CTRL,
        G,
        A::Suspend,
        "suspend to the shell (fg to come back)",
        false,
    ),
    b(Char('1'), NONE, G, A::GoTab(PG), "pgtop view", false),
    b(Char('2'), NONE, G, A::GoTab(RP), "replication view", false),
    b(Char('3'), NONE, G, A::GoTab(VL), "vlogdump view", false),
    b(Char('4'), NONE, G, A::GoTab(SP), "spotify view", false),
    b(Tab, NONE, G, A::NextTab, "next view", false),
    b(BackTab, SHIFT, G, A::PrevTab, "previous view", false),
    b(Char('?'), NONE, G, A::ToggleHelp, "help (this list)", true),
    b(Char('/'), NONE, G, A::OpenFilter, "filter rows", true),
    b(
        Char(':'),
        NONE,
        G,
        A::OpenCommand,
        "command line (:help for commands)",
        false,
    ),
    b(
        Char('s'),
        NONE,
        G,
        A::SetRefresh,
        "set the refresh interval (:refresh DUR)",
        false,
    ),
    b(
        Char('p'),
        NONE,
        G,
        A::TogglePause,
        "pause / resume updates",
        true,
    ),
    b(
        Esc,
        NONE,
        G,
        A::Back,
        "back: close pane, prompt or filter",
        false,
    ),
    b(Up, NONE, G, A::Up, "move up", false),
    b(Char('k'), NONE, G, A::Up, "move up", false),
    b(Down, NONE, G, A::Down, "move down", false),
    b(Char('j'), NONE, G, A::Down, "move down", false),
    b(PageUp, NONE, G, A::PageUp, "page up", false),
    b(PageDown, NONE, G, A::PageDown, "page down", false),
    b(Home, NONE, G, A::Top, "first row", false),
    b(Char('g'), NONE, G, A::Top, "first row", false),
    b(End, NONE, G, A::Bottom, "last row", false),
    b(Char('G'), SHIFT, G, A::Bottom, "last row", false),
    b(Enter, NONE, G, A::Open, "details of the selected row", true),
    b(
        Char('>'),
        NONE,
        G,
        A::SortNext,
        "sort by the next column",
        false,
    ),
    b(
        Char('<'),
        NONE,
        G,
        A::SortReverse,
        "reverse the sort order",
        false,
    ),
    b(Char('r'), CTRL, G, A::Refresh, "refresh now", false),
    b(
        Char('+'),
        NONE,
        G,
        A::FasterRefresh,
        "refresh more often",
        false,
    ),
    b(
        Char('-'),
        NONE,
        G,
        A::SlowerRefresh,
        "refresh less often",
        false,
    ),
    // pgtop (the view's own bindings shadow global ones such as `k`)
    b(
        Char('i'),
        NONE,
        V(PG),
        A::ToggleIdle,
        "show / hide idle sessions and background processes",
        true,
    ),
    b(
        Char('T'),
        SHIFT,
        V(PG),
        A::CycleDurationBasis,
        "duration of query / transaction / state",
        false,
    ),
    b(
        Char(' '),
        NONE,
        V(PG),
        A::Tag,
        "tag / untag the selected backend",
        false,
    ),
    b(
        Char('c'),
        NONE,
        V(PG),
        A::CancelBackend,
        "cancel the selected (or tagged) queries",
        true,
    ),
    b(
        Char('k'),
        NONE,
        V(PG),
        A::TerminateBackend,
        "terminate the selected (or tagged) backends",
        true,
    ),
    b(
        Char('K'),
        SHIFT,
        V(PG),
        A::KillSlow,
        "kill every query over the slow threshold",
        true,
    ),
    b(
        Char('e'),
        NONE,
        V(PG),
        A::Explain,
        "EXPLAIN the selected query (never ANALYZE)",
        false,
    ),
    b(
        Char('L'),
        SHIFT,
        V(PG),
        A::ToggleLocks,
        "lock tree: blockers and the blocked (c/k act on the line under the cursor)",
        false,
    ),
    b(
        Char('R'),
        SHIFT,
        V(PG),
        A::SignalRootBlocker,
        "lock tree: terminate the root blocker of the selected chain",
        false,
    ),
    b(
        Char('F'),
        SHIFT,
        V(PG),
        A::ToggleGroups,
        "group by query fingerprint (Enter lists a group, K cancels its slow queries)",
        false,
    ),
    b(
        Char('w'),
        NONE,
        V(PG),
        A::ToggleWaits,
        "waits over the last 1/5/15 min (samples) and top statements",
        false,
    ),
    // repl
    b(
        Char('y'),
        NONE,
        V(RP),
        A::CopyFixes,
        "copy the fixes for the selected server",
        true,
    ),
    b(
        Char('a'),
        NONE,
        V(RP),
        A::FocusAudit,
        "audit pane of the selected server (Enter: check detail, Esc: back)",
        true,
    ),
    // vlog
    b(
        Char('w'),
        NONE,
        V(VL),
        A::Save,
        "save the filtered rows to a file",
        true,
    ),
    // spotify (the SQL editor owns the keyboard while focused: see views/spotify/editor.rs)
    b(
        Enter,
        NONE,
        V(SP),
        A::Open,
        "ask the selected question",
        true,
    ),
    b(
        Char('e'),
        NONE,
        V(SP),
        A::EditSql,
        "SQL editor (Esc leaves)",
        true,
    ),
    b(
        Char('E'),
        SHIFT,
        V(SP),
        A::EditQuestionSql,
        "edit the selected question's SQL",
        false,
    ),
    b(
        Char('x'),
        NONE,
        V(SP),
        A::CancelQuery,
        "cancel the running query or import",
        true,
    ),
    b(Char('c'), NONE, V(SP), A::NextCountry, "next country", true),
    b(
        Char('C'),
        SHIFT,
        V(SP),
        A::PrevCountry,
        "previous country",
        false,
    ),
    b(Char('y'), NONE, V(SP), A::NextYear, "next year", true),
    b(Char('Y'), SHIFT, V(SP), A::PrevYear, "previous year", false),
    b(
        Char('n'),
        NONE,
        V(SP),
        A::CyclePositions,
        "positions: all, 1, 1-10, 1-50",
        false,
    ),
    b(
        Char('l'),
        NONE,
        V(SP),
        A::CycleLimit,
        "limit: 10, 20, 50, 100",
        false,
    ),
    b(
        Left,
        NONE,
        V(SP),
        A::FocusLeft,
        "focus the question list",
        false,
    ),
    b(
        Right,
        NONE,
        V(SP),
        A::FocusRight,
        "focus the results",
        false,
    ),
    b(
        Char('b'),
        NONE,
        V(SP),
        A::ToggleChart,
        "show / hide the chart",
        false,
    ),
    b(
        Char('w'),
        NONE,
        V(SP),
        A::Save,
        "export the whole result to CSV",
        true,
    ),
    b(
        Char('W'),
        SHIFT,
        V(SP),
        A::SaveJson,
        "export the whole result to JSON",
        false,
    ),
    b(
        Char('t'),
        NONE,
        V(VL),
        A::TogglePane,
        "show / hide the top URLs, clients and backends pane",
        true,
    ),
    b(
        Char('f'),
        NONE,
        V(VL),
        A::Find,
        "find: search the rows (regex on URL, client, status, backend)",
        true,
    ),
    b(
        Char('n'),
        NONE,
        V(VL),
        A::FindNext,
        "next (older) match",
        false,
    ),
    b(
        Char('N'),
        SHIFT,
        V(VL),
        A::FindPrev,
        "previous (newer) match",
        false,
    ),
];

/// The scrolling keys of a detail pane, for views that have one.
pub const fn detail_bindings(v: ViewKind) -> [Binding; 11] {
    let d = Scope::Detail(v);
    [
        b(
            Char('j'),
            NONE,
            d,
            A::ScrollDown,
            "detail: scroll down a line",
            true,
        ),
        b(
            Down,
            NONE,
            d,
            A::ScrollDown,
            "detail: scroll down a line",
            false,
        ),
        b(
            Char('k'),
            NONE,
            d,
            A::ScrollUp,
            "detail: scroll up a line",
            true,
        ),
        b(Up, NONE, d, A::ScrollUp, "detail: scroll up a line", false),
        b(
            Char(' '),
            NONE,
            d,
            A::ScrollPageDown,
            "detail: page down",
            true,
        ),
        b(
            PageDown,
            NONE,
            d,
            A::ScrollPageDown,
            "detail: page down",
            false,
        ),
        b(PageUp, NONE, d, A::ScrollPageUp, "detail: page up", false),
        b(
            Char('g'),
            NONE,
            d,
            A::ScrollTop,
            "detail: first line",
            false,
        ),
        b(Home, NONE, d, A::ScrollTop, "detail: first line", false),
        b(
            Char('G'),
            SHIFT,
            d,
            A::ScrollBottom,
            "detail: last line",
            true,
        ),
        b(End, NONE, d, A::ScrollBottom, "detail: last line", false),
    ]
}

/// Views whose detail pane scrolls with [`detail_bindings`].
pub const DETAIL_VIEWS: [ViewKind; 2] = [PG, RP];

/// The keymap: a table of bindings.
#[derive(Clone, Debug)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut bindings = DEFAULT_BINDINGS.to_vec();
        for v in DETAIL_VIEWS {
            bindings.extend(detail_bindings(v));
        }
        bindings.extend_from_slice(modal::MODAL_BINDINGS);
        Keymap { bindings }
    }
}

/// Modifiers that matter for matching (Shift is implied by an upper-case char).
fn normalize(code: KeyCode, mods: KeyModifiers) -> (KeyCode, KeyModifiers) {
    let mut m = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if let KeyCode::Char(_) = code {
        m.remove(KeyModifiers::SHIFT);
    }
    if code == KeyCode::BackTab {
        m.remove(KeyModifiers::SHIFT);
    }
    (code, m)
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

fn short(desc: &'static str) -> &'static str {
    match desc {
        "help (this list)" => "help",
        "filter rows" => "filter",
        "pause / resume updates" => "pause",
        "details of the selected row" => "details",
        "show / hide idle sessions and background processes" => "idle",
        "cancel the selected (or tagged) queries" => "cancel",
        "terminate the selected (or tagged) backends" => "terminate",
        "kill every query over the slow threshold" => "kill slow",
        "copy the fixes for the selected server" => "copy fixes",
        "audit pane of the selected server (Enter: check detail, Esc: back)" => "audit",
        "save the filtered rows to a file" => "save",
        "ask the selected question" => "ask",
        "SQL editor (Esc leaves)" => "editor",
        "cancel the running query or import" => "cancel",
        "next country" => "country",
        "next year" => "year",
        "export the whole result to CSV" => "export",
        "show / hide the top URLs, clients and backends pane" => "pane",
        "find: search the rows (regex on URL, client, status, backend)" => "find",
        "detail: scroll down a line" => "down",
        "detail: scroll up a line" => "up",
        "detail: page down" => "page",
        "detail: last line" => "end",
        d => d,
    }
}

/// How a key is written in help and hints: `q`, `Ctrl-C`, `Tab`, `Shift-Tab`, `Enter`.
pub fn key_name(code: KeyCode, mods: KeyModifiers) -> String {
    let base = match code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => return "Shift-Tab".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    if mods.contains(KeyModifiers::CONTROL) && base.chars().count() == 1 {
        format!("Ctrl-{}", base.to_uppercase())
    } else if mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
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

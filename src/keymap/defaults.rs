//! The built-in keymap: global and per-view keys, the detail panes' scroll keys (the modal
//! states' keys are in [`super::modal`]), and the short words of the hint line.
//! Why this file is long: it is the key table, one row per built-in binding.

use super::{Action, Binding, Scope};
use crate::wire::ViewKind;
use crossterm::event::{KeyCode, KeyModifiers};

pub(super) const NONE: KeyModifiers = KeyModifiers::NONE;
pub(super) const CTRL: KeyModifiers = KeyModifiers::CONTROL;
pub(super) const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

pub(super) const fn b(
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

/// The built-in keymap: [`BEFORE_TABS`], a key per tab (`1`..: [`tab_bindings`]),
/// [`AFTER_TABS`].
pub fn default_bindings() -> impl Iterator<Item = Binding> {
    BEFORE_TABS
        .iter()
        .copied()
        .chain(tab_bindings())
        .chain(AFTER_TABS.iter().copied())
}

/// The key of each tab ([`crate::wire::Tab::key`]), described "TITLE view".
fn tab_bindings() -> impl Iterator<Item = Binding> {
    static DESCS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        ViewKind::ALL
            .iter()
            .map(|k| &*format!("{} view", k.title()).leak())
            .collect()
    });
    ViewKind::ALL
        .into_iter()
        .zip(DESCS.iter())
        .map(|(k, d)| b(Char(k.tab().key), NONE, G, A::GoTab(k), d, false))
}

/// The built-in keymap before the tab keys.
const BEFORE_TABS: &[Binding] = &[
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
];

/// The built-in keymap after the tab keys.
const AFTER_TABS: &[Binding] = &[
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
        Char('B'),
        SHIFT,
        G,
        A::Bundle,
        "incident bundle: write the last minutes of every tab to a file",
        false,
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
    // replay (`stacktop replay PATH`; elsewhere they only say so)
    b(
        Char('['),
        NONE,
        G,
        A::ReplayStepBack,
        "replay: one refresh back",
        false,
    ),
    b(
        Char(']'),
        NONE,
        G,
        A::ReplayStepForward,
        "replay: one refresh forward",
        false,
    ),
    b(
        Char('{'),
        NONE,
        G,
        A::ReplayJumpBack,
        "replay: one minute back",
        false,
    ),
    b(
        Char('}'),
        NONE,
        G,
        A::ReplayJumpForward,
        "replay: one minute forward",
        false,
    ),
    b(
        Char('P'),
        SHIFT,
        G,
        A::ReplayPlay,
        "replay: play / pause (:speed 1|10|60)",
        false,
    ),
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

/// The hint line's word for a description (the description itself when it is short).
pub(super) fn short(desc: &'static str) -> &'static str {
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

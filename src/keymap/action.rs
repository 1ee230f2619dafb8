//! The user intents keys are bound to, and their names in the config's `[keys]` (the variant
//! in snake case, `go_tab_VIEW` for the tab keys).

use crate::wire::ViewKind;

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
    /// `B`: write the last minutes of every tab to an incident bundle file.
    Bundle,
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
    // confirmations and modal states (see [`super::modal`])
    Yes,
    No,
    /// Clear the line or editor being typed in.
    ClearInput,
    /// Run the SQL in the editor.
    RunQuery,
    HistoryPrev,
    HistoryNext,
    // replay (`stacktop replay PATH`): the time cursor
    ReplayStepBack,
    ReplayStepForward,
    ReplayJumpBack,
    ReplayJumpForward,
    ReplayPlay,
}

impl Action {
    /// Every action, in declaration order (for name lookups): the tab keys one per
    /// [`ViewKind::ALL`].
    pub fn all() -> impl Iterator<Item = Action> {
        [Action::Quit, Action::NextTab, Action::PrevTab]
            .into_iter()
            .chain(ViewKind::ALL.map(Action::GoTab))
            .chain(AFTER_TABS)
    }
}

/// [`Action::all`] after the tab keys.
const AFTER_TABS: [Action; 68] = [
    Action::ToggleHelp,
    Action::OpenFilter,
    Action::OpenCommand,
    Action::SetRefresh,
    Action::TogglePause,
    Action::Back,
    Action::Suspend,
    Action::Bundle,
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::Open,
    Action::SortNext,
    Action::SortReverse,
    Action::Refresh,
    Action::FasterRefresh,
    Action::SlowerRefresh,
    Action::ToggleIdle,
    Action::CycleDurationBasis,
    Action::Tag,
    Action::CancelBackend,
    Action::TerminateBackend,
    Action::KillSlow,
    Action::Explain,
    Action::ToggleLocks,
    Action::SignalRootBlocker,
    Action::ToggleGroups,
    Action::ToggleWaits,
    Action::CopyFixes,
    Action::FocusAudit,
    Action::Save,
    Action::EditSql,
    Action::EditQuestionSql,
    Action::CancelQuery,
    Action::NextCountry,
    Action::PrevCountry,
    Action::NextYear,
    Action::PrevYear,
    Action::CycleLimit,
    Action::CyclePositions,
    Action::FocusLeft,
    Action::FocusRight,
    Action::ToggleChart,
    Action::SaveJson,
    Action::TogglePane,
    Action::Find,
    Action::FindNext,
    Action::FindPrev,
    Action::ScrollUp,
    Action::ScrollDown,
    Action::ScrollPageUp,
    Action::ScrollPageDown,
    Action::ScrollTop,
    Action::ScrollBottom,
    Action::Yes,
    Action::No,
    Action::ClearInput,
    Action::RunQuery,
    Action::HistoryPrev,
    Action::HistoryNext,
    Action::ReplayStepBack,
    Action::ReplayStepForward,
    Action::ReplayJumpBack,
    Action::ReplayJumpForward,
    Action::ReplayPlay,
];

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

    /// Moves the time cursor: only in `stacktop replay PATH`.
    pub fn is_replay(self) -> bool {
        matches!(
            self,
            Action::ReplayStepBack
                | Action::ReplayStepForward
                | Action::ReplayJumpBack
                | Action::ReplayJumpForward
                | Action::ReplayPlay
        )
    }

    /// The action's name in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::NextTab => "next_tab",
            Action::PrevTab => "prev_tab",
            Action::GoTab(k) => go_tab_name(k),
            Action::ToggleHelp => "toggle_help",
            Action::OpenFilter => "open_filter",
            Action::OpenCommand => "open_command",
            Action::SetRefresh => "set_refresh",
            Action::TogglePause => "toggle_pause",
            Action::Back => "back",
            Action::Suspend => "suspend",
            Action::Bundle => "incident_bundle",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Open => "open",
            Action::SortNext => "sort_next",
            Action::SortReverse => "sort_reverse",
            Action::Refresh => "refresh",
            Action::FasterRefresh => "faster_refresh",
            Action::SlowerRefresh => "slower_refresh",
            Action::ToggleIdle => "toggle_idle",
            Action::CycleDurationBasis => "cycle_duration_basis",
            Action::Tag => "tag",
            Action::CancelBackend => "cancel_backend",
            Action::TerminateBackend => "terminate_backend",
            Action::KillSlow => "kill_slow",
            Action::Explain => "explain",
            Action::ToggleLocks => "toggle_locks",
            Action::SignalRootBlocker => "signal_root_blocker",
            Action::ToggleGroups => "toggle_groups",
            Action::ToggleWaits => "toggle_waits",
            Action::CopyFixes => "copy_fixes",
            Action::FocusAudit => "focus_audit",
            Action::Save => "save",
            Action::EditSql => "edit_sql",
            Action::EditQuestionSql => "edit_question_sql",
            Action::CancelQuery => "cancel_query",
            Action::NextCountry => "next_country",
            Action::PrevCountry => "prev_country",
            Action::NextYear => "next_year",
            Action::PrevYear => "prev_year",
            Action::CycleLimit => "cycle_limit",
            Action::CyclePositions => "cycle_positions",
            Action::FocusLeft => "focus_left",
            Action::FocusRight => "focus_right",
            Action::ToggleChart => "toggle_chart",
            Action::SaveJson => "save_json",
            Action::TogglePane => "toggle_pane",
            Action::Find => "find",
            Action::FindNext => "find_next",
            Action::FindPrev => "find_prev",
            Action::ScrollUp => "scroll_up",
            Action::ScrollDown => "scroll_down",
            Action::ScrollPageUp => "scroll_page_up",
            Action::ScrollPageDown => "scroll_page_down",
            Action::ScrollTop => "scroll_top",
            Action::ScrollBottom => "scroll_bottom",
            Action::Yes => "yes",
            Action::No => "no",
            Action::ClearInput => "clear_input",
            Action::RunQuery => "run_query",
            Action::HistoryPrev => "history_prev",
            Action::HistoryNext => "history_next",
            Action::ReplayStepBack => "replay_step_back",
            Action::ReplayStepForward => "replay_step_forward",
            Action::ReplayJumpBack => "replay_jump_back",
            Action::ReplayJumpForward => "replay_jump_forward",
            Action::ReplayPlay => "replay_play",
        }
    }

    /// The action named `name` in `[keys]`.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::all().find(|a| a.name() == name)
    }
}

/// `go_tab_VIEW`, made once per tab.
fn go_tab_name(k: ViewKind) -> &'static str {
    static NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        ViewKind::ALL
            .iter()
            .map(|k| &*format!("go_tab_{}", k.name()).leak())
            .collect()
    });
    NAMES.get(k.index()).copied().unwrap_or("go_tab")
}

//! Keys of the modal states: the help overlay, pgtop's kill confirmation, the panes and
//! editors that own the keyboard while open. They live in the keymap like every other key,
//! so `?` lists them and views turn an [`Action`] (not a raw key) into what happens. Keys a
//! text editor types (letters, Backspace, cursor keys) stay the editor's and are not listed.

use super::defaults::{b, CTRL, NONE, SHIFT};
use super::{Action, Action as A, Binding, Scope};
use crossterm::event::KeyCode::{
    Backspace, Char, Down, End, Enter, Esc, Home, PageDown, PageUp, Up, F,
};

/// A state that owns the keyboard while it is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modal {
    /// The `?` overlay.
    Help,
    /// pgtop: "cancel / terminate these backends? y/n".
    KillConfirm,
    /// pgtop: the results of a cancel or terminate.
    KillResult,
    /// replication: the audit pane or a check's detail.
    ReplPane,
    /// vlog: the detail of one request.
    VlogDetail,
    /// vlog: the find (`f`) or save (`w`) line.
    VlogEditor,
    /// spotify: the SQL editor.
    SpotifyEditor,
}

impl Modal {
    /// Every modal state.
    pub const ALL: [Modal; 7] = [
        Modal::Help,
        Modal::KillConfirm,
        Modal::KillResult,
        Modal::ReplPane,
        Modal::VlogDetail,
        Modal::VlogEditor,
        Modal::SpotifyEditor,
    ];

    /// Its name as a scope of `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Modal::Help => "help",
            Modal::KillConfirm => "kill_confirm",
            Modal::KillResult => "kill_result",
            Modal::ReplPane => "repl_pane",
            Modal::VlogDetail => "vlog_detail",
            Modal::VlogEditor => "vlog_editor",
            Modal::SpotifyEditor => "spotify_editor",
        }
    }

    /// The action that leaves the state: `[keys]` must leave it a key.
    pub fn way_out(self) -> &'static [Action] {
        match self {
            Modal::Help => &[A::Back, A::ToggleHelp],
            Modal::KillConfirm | Modal::VlogEditor => &[A::No],
            Modal::KillResult | Modal::ReplPane | Modal::VlogDetail | Modal::SpotifyEditor => {
                &[A::Back]
            }
        }
    }

    /// The heading of its keys in `?`.
    pub fn title(self) -> &'static str {
        match self {
            Modal::Help => "in this help",
            Modal::KillConfirm => "kill confirmation (c, k, K)",
            Modal::KillResult => "kill results",
            Modal::ReplPane => "audit pane and check detail (a)",
            Modal::VlogDetail => "request detail (Enter)",
            Modal::VlogEditor => "find / save line (f, w)",
            Modal::SpotifyEditor => "SQL editor (e)",
        }
    }
}

use Modal::{
    Help as H, KillConfirm as KC, KillResult as KR, ReplPane as RP, SpotifyEditor as SE,
    VlogDetail as VD, VlogEditor as VE,
};
use Scope::Modal as M;

/// The built-in keys of the modal states.
pub const MODAL_BINDINGS: &[Binding] = &[
    // help overlay
    b(Char('j'), NONE, M(H), A::Down, "scroll down", false),
    b(Down, NONE, M(H), A::Down, "scroll down", false),
    b(Char('k'), NONE, M(H), A::Up, "scroll up", false),
    b(Up, NONE, M(H), A::Up, "scroll up", false),
    b(PageDown, NONE, M(H), A::PageDown, "page down", false),
    b(Char(' '), NONE, M(H), A::PageDown, "page down", false),
    b(PageUp, NONE, M(H), A::PageUp, "page up", false),
    b(Char('g'), NONE, M(H), A::Top, "first line", false),
    b(Home, NONE, M(H), A::Top, "first line", false),
    b(Char('G'), SHIFT, M(H), A::Bottom, "last line", false),
    b(End, NONE, M(H), A::Bottom, "last line", false),
    b(Esc, NONE, M(H), A::Back, "close the help", false),
    b(
        Char('?'),
        NONE,
        M(H),
        A::ToggleHelp,
        "close the help",
        false,
    ),
    // pgtop kill confirmation
    b(
        Char('y'),
        NONE,
        M(KC),
        A::Yes,
        "yes: send the signal",
        false,
    ),
    b(
        Char('Y'),
        SHIFT,
        M(KC),
        A::Yes,
        "yes: send the signal",
        false,
    ),
    b(
        Char('n'),
        NONE,
        M(KC),
        A::No,
        "no: abort, nothing is signalled",
        false,
    ),
    b(
        Char('N'),
        SHIFT,
        M(KC),
        A::No,
        "no: abort, nothing is signalled",
        false,
    ),
    b(
        Esc,
        NONE,
        M(KC),
        A::No,
        "no: abort, nothing is signalled",
        false,
    ),
    b(
        Char('q'),
        NONE,
        M(KC),
        A::No,
        "no: abort, nothing is signalled",
        false,
    ),
    // pgtop kill results
    b(Esc, NONE, M(KR), A::Back, "close the results", false),
    b(Enter, NONE, M(KR), A::Back, "close the results", false),
    b(Char('q'), NONE, M(KR), A::Back, "close the results", false),
    b(Char('n'), NONE, M(KR), A::Back, "close the results", false),
    b(Char(' '), NONE, M(KR), A::Back, "close the results", false),
    // replication audit pane
    b(Esc, NONE, M(RP), A::Back, "back to the server list", false),
    b(
        Enter,
        NONE,
        M(RP),
        A::Back,
        "back to the server list",
        false,
    ),
    b(
        Backspace,
        NONE,
        M(RP),
        A::Back,
        "back to the server list",
        false,
    ),
    b(
        Char('y'),
        NONE,
        M(RP),
        A::CopyFixes,
        "copy the fix of the check shown",
        false,
    ),
    b(Char('q'), NONE, M(RP), A::Quit, "quit", false),
    b(Char('c'), CTRL, M(RP), A::Quit, "quit", false),
    // vlog request detail
    b(Esc, NONE, M(VD), A::Back, "close the detail", false),
    b(Enter, NONE, M(VD), A::Back, "close the detail", false),
    b(Char('q'), NONE, M(VD), A::Back, "close the detail", false),
    b(Char('k'), NONE, M(VD), A::ScrollUp, "scroll up", false),
    b(Up, NONE, M(VD), A::ScrollUp, "scroll up", false),
    b(Char('j'), NONE, M(VD), A::ScrollDown, "scroll down", false),
    b(Down, NONE, M(VD), A::ScrollDown, "scroll down", false),
    b(PageUp, NONE, M(VD), A::ScrollPageUp, "page up", false),
    b(PageDown, NONE, M(VD), A::ScrollPageDown, "page down", false),
    b(Char('g'), NONE, M(VD), A::ScrollTop, "first line", false),
    b(Home, NONE, M(VD), A::ScrollTop, "first line", false),
    // vlog find / save line
    b(Enter, NONE, M(VE), A::Yes, "find / save", false),
    b(Esc, NONE, M(VE), A::No, "cancel", false),
    b(Char('c'), CTRL, M(VE), A::No, "cancel", false),
    b(
        Char('u'),
        CTRL,
        M(VE),
        A::ClearInput,
        "clear the line",
        false,
    ),
    // spotify SQL editor
    b(Esc, NONE, M(SE), A::Back, "leave the editor", false),
    b(F(5), NONE, M(SE), A::RunQuery, "run the SQL", false),
    b(Enter, CTRL, M(SE), A::RunQuery, "run the SQL", false),
    b(Char('r'), CTRL, M(SE), A::RunQuery, "run the SQL", false),
    b(Char('j'), CTRL, M(SE), A::RunQuery, "run the SQL", false),
    b(
        Char('x'),
        CTRL,
        M(SE),
        A::CancelQuery,
        "cancel the running query",
        false,
    ),
    b(
        Char('p'),
        CTRL,
        M(SE),
        A::HistoryPrev,
        "previous statement run",
        false,
    ),
    b(
        Char('n'),
        CTRL,
        M(SE),
        A::HistoryNext,
        "next statement run",
        false,
    ),
    b(
        Char('l'),
        CTRL,
        M(SE),
        A::ClearInput,
        "clear the editor",
        false,
    ),
];

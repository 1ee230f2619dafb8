//! The screen's rows, which the app needs too (views page by the body's height): no
//! [`crate::app::App`] here.

use ratatui::layout::{Constraint, Layout, Rect};

/// The screen's rows: the replay timeline (one row in replay, else none), tab bar, the active
/// view, the hint line, the status line.
pub fn screen_areas(area: Rect, replay: bool) -> [Rect; 5] {
    Layout::vertical([
        Constraint::Length(u16::from(replay)),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the active view is drawn on a screen of `area` (a live run).
pub fn body_area(area: Rect) -> Rect {
    body_area_in(area, false)
}

/// Where the active view is drawn on a screen of `area`, below the timeline in replay.
pub fn body_area_in(area: Rect, replay: bool) -> Rect {
    screen_areas(area, replay)[2]
}

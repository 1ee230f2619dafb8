//! Drawing: a pure function of [`App`] state. Layout, top to bottom: tab bar, the active
//! view, the hint line (or the `/` `:` prompt), the status line (source health or a flash
//! message). The `?` overlay ([`help`]) is generated from the keymap and the `:` command
//! table ([`crate::widgets::commands`]). The widgets the views draw with are in
//! [`crate::widgets`]; this module is the screen that calls the views.

pub mod help;
pub mod help_text;
pub mod layout;
pub mod replay;

pub use layout::body_area;
use layout::screen_areas;

use crate::app::{App, PromptKind};
use crate::base::fit;
use crate::theme::Role;
use crate::wire::{Level, ViewKind};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use ratatui::Frame;

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    render(app, frame.area(), frame.buffer_mut());
}

/// Renders into a buffer (also used by tests and benchmarks).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [timeline, tabs, body, hints, status] = screen_areas(area, app.replay.is_some());
    if let Some(r) = &app.replay {
        crate::widgets::timeline::render(r, timeline, buf, &app.theme);
    }
    render_tabs(app, tabs, buf);
    app.active_view().render(body, buf, &app.theme, app.now);
    render_hints(app, hints, buf);
    render_status(app, status, buf);
    if app.help {
        help::render(app, body, buf);
    }
}

fn render_tabs(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let mut spans = Vec::new();
    for k in ViewKind::ALL {
        let role = if k == app.active {
            Role::TabActive
        } else {
            Role::Tab
        };
        let failed = app.view(k).core().health.is_failed();
        let mark = if failed { "!" } else { "" };
        spans.push(Span::styled(
            format!(" {} {}{mark} ", k.index() + 1, k.title()),
            t.style(role),
        ));
        spans.push(Span::styled("│", t.style(Role::Border)));
    }
    Line::from(spans).render(area, buf);
    let mut right = Vec::new();
    if let Some(text) = app.active_view().core().pause_status() {
        right.push(Span::styled(format!(" {text} "), t.style(Role::FlashWarn)));
    }
    if app.read_only() {
        right.push(Span::styled(" READ-ONLY ", t.style(Role::ReadOnly)));
    }
    right.push(Span::styled(
        format!(" {} ", app.now.format("%H:%M:%S")),
        t.style(Role::Muted),
    ));
    let line = Line::from(right);
    let w = line.width() as u16;
    if w < area.width {
        line.render(Rect::new(area.x + area.width - w, area.y, w, 1), buf);
    }
}

fn render_hints(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    if let Some(p) = &app.prompt {
        let (lead, label) = match p.kind {
            PromptKind::Filter => ("/", "filter"),
            PromptKind::Command => (":", "command"),
        };
        let line = Line::from(vec![
            Span::styled(lead, t.style(Role::Prompt)),
            Span::styled(p.input.clone(), t.style(Role::Normal)),
            Span::styled("█", t.style(Role::Prompt)),
            Span::styled(
                format!("   Enter {label} · Esc cancel"),
                t.style(Role::Hint),
            ),
        ]);
        line.render(area, buf);
        return;
    }
    let mut spans = Vec::new();
    let filter = &app.active_view().filter();
    let mut room = area.width as usize;
    if !filter.is_empty() {
        let f = format!("[filter: {filter}] ");
        room = room.saturating_sub(f.chars().count());
        spans.push(Span::styled(f, t.style(Role::Info)));
    }
    // Whole hints only: a hint that does not fit is left out, not cut.
    let detail = app.active_view().detail_open();
    for (key, desc) in app.keymap.hints(app.active, detail, app.read_only()) {
        let d = format!(" {desc}  ");
        let w = key.chars().count() + d.chars().count();
        if w > room {
            break;
        }
        room -= w;
        spans.push(Span::styled(key, t.style(Role::HintKey)));
        spans.push(Span::styled(d, t.style(Role::Hint)));
    }
    Line::from(spans).render(area, buf);
}

fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    if let Some(f) = &app.flash {
        let role = match f.level {
            Level::Info => Role::FlashInfo,
            Level::Warn => Role::FlashWarn,
            Level::Error => Role::FlashError,
        };
        Line::from(Span::styled(format!(" {} ", f.text), t.style(role))).render(area, buf);
        return;
    }
    let core = app.active_view().core();
    let store_down = app.replay.as_ref().is_some_and(|r| r.store_error.is_some());
    let role = if store_down
        || core.health.is_failed()
        || matches!(core.health, crate::wire::SourceHealth::Stalled { .. })
    {
        Role::Crit
    } else {
        Role::Status
    };
    let (rows, total) = app.active_view().status_counts();
    // an error keeps its cause and retry countdown: the rest shrinks first (base::fit)
    let mut parts = vec![fit::Part::keep(" ")];
    if let Some(r) = &app.replay {
        parts.extend(replay::status_parts(r));
    }
    match (&app.replay, &core.health) {
        // the recording's store gone away (a PostgreSQL server): said until it answers
        (Some(r), _) if r.store_error.is_some() => {}
        // the recording's time, never "live" or now: the data's age is relative to the cursor
        (Some(_), crate::wire::SourceHealth::Live { at }) => {
            parts.push(fit::Part::keep(format!(
                " · data of {}",
                at.format("%H:%M:%S")
            )));
            parts.push(fit::Part::drop_at(
                format!(
                    " ({} before the cursor)",
                    crate::wire::fmt_age(app.now.signed_duration_since(*at))
                ),
                fit::rank::DETAILS,
            ));
        }
        (Some(_), health) => {
            parts.push(fit::Part::keep(" · "));
            parts.extend(health.describe_parts(app.now, core.last_data));
        }
        (None, health) => parts.extend(health.describe_parts(app.now, core.last_data)),
    }
    parts.push(fit::Part::drop_at(
        format!(" · {rows}/{total} rows"),
        fit::rank::EXTRAS,
    ));
    parts.push(fit::Part::drop_at(
        format!(" · refresh {}", humantime::format_duration(app.refresh)),
        fit::rank::EXTRAS,
    ));
    let text = fit::fit(parts, usize::from(area.width));
    Line::from(Span::styled(text, t.style(role))).render(area, buf);
}

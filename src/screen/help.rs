//! The `?` overlay, generated: the keymap (the view's keys, the keys of its dialogs and panes,
//! the keys of every view), the `:` command table and the view's `/` filter syntax (declared
//! next to each filter parser). It fills the body up to 100 columns, wraps long entries itself
//! (so the number of rows is known and the last one is never cut) and scrolls.

use crate::app::App;
use crate::keymap::{key_name, Binding, Modal};
use crate::theme::Role;
use crate::widgets::commands;
use crate::wire::ViewKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

/// The widest the help box gets.
pub const MAX_WIDTH: u16 = 100;
/// The widest key column; longer keys get a row of their own.
const MAX_KEY: usize = 20;

/// One entry of the help, before layout.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Section(String),
    Item(String, String),
}

/// One screen row of the help.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Section(String),
    /// key column (empty on continuation rows), text
    Item(String, String),
}

/// The filter syntax of `view`, from the constant next to its parser.
pub fn filter_syntax(view: ViewKind) -> &'static [(&'static str, &'static str)] {
    match view {
        ViewKind::Pgtop => crate::views::pgtop::rows::FILTER_SYNTAX,
        ViewKind::Vlog => crate::views::vlog::FILTER_SYNTAX,
        ViewKind::Repl | ViewKind::Spotify => crate::widgets::table::TableState::FILTER_SYNTAX,
    }
}

/// Keys with their description, a key shown once (the first binding wins, as in lookup),
/// keys with the same description on one entry (`j ↓`).
fn key_items(bindings: &[&Binding], shadow: &mut Vec<String>) -> Vec<Entry> {
    let mut items: Vec<(String, &str)> = Vec::new();
    for bd in bindings {
        let key = key_name(bd.code, bd.mods);
        if shadow.contains(&key) {
            continue; // a view binding shadows the global one
        }
        shadow.push(key.clone());
        match items.iter_mut().find(|(_, d)| *d == bd.desc) {
            Some((k, _)) => {
                k.push(' ');
                k.push_str(&key);
            }
            None => items.push((key, bd.desc)),
        }
    }
    items
        .into_iter()
        .map(|(k, d)| Entry::Item(k, d.to_string()))
        .collect()
}

/// Everything the help lists for the app's active view, in order.
pub fn entries(app: &App) -> Vec<Entry> {
    let view = app.active;
    let km = &app.keymap;
    let title = view.title();
    let mut out = Vec::new();
    let mut shadow = Vec::new();
    let detail_open = app.active_view().detail_open();
    let detail: Vec<&Binding> = km.detail(view);
    if detail_open && !detail.is_empty() {
        out.push(Entry::Section("detail pane (open now)".into()));
        out.extend(key_items(&detail, &mut shadow));
    }
    let own: Vec<&Binding> = km
        .for_view(view, false)
        .into_iter()
        .filter(|bd| bd.scope == crate::keymap::Scope::View(view))
        .collect();
    out.push(Entry::Section(format!("{title} keys")));
    out.extend(key_items(&own, &mut shadow));
    let global: Vec<&Binding> = km
        .for_view(view, false)
        .into_iter()
        .filter(|bd| bd.scope == crate::keymap::Scope::Global)
        .collect();
    for &m in Modal::of_view(view) {
        out.push(Entry::Section(m.title().into()));
        out.extend(key_items(&km.modal(m), &mut Vec::new()));
    }
    out.push(Entry::Section("keys in every view".into()));
    out.extend(key_items(&global, &mut shadow));
    if !detail_open && !detail.is_empty() {
        out.push(Entry::Section("while the detail pane is open".into()));
        out.extend(key_items(&detail, &mut Vec::new()));
    }
    out.push(Entry::Section(
        "commands (type : then the command, Enter runs it)".into(),
    ));
    for c in commands::for_view(view) {
        let help = if c.aliases.is_empty() {
            c.help.to_string()
        } else {
            let a: Vec<String> = c.aliases.iter().map(|a| format!(":{a}")).collect();
            format!("{} (also {})", c.help, a.join(" "))
        };
        out.push(Entry::Item(c.usage(), help));
    }
    out.push(Entry::Section(format!("{title} filter (/)")));
    for (k, d) in filter_syntax(view) {
        out.push(Entry::Item(format!("/{k}"), d.to_string()));
    }
    out.push(Entry::Section(Modal::Help.title().into()));
    out.extend(key_items(&km.modal(Modal::Help), &mut Vec::new()));
    out
}

/// Splits `text` into lines of at most `width` chars, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = cur.chars().count();
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= width {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut cur));
                continue;
            }
            // a word longer than the line: cut it
            let rest = word.split_off(width);
            lines.push(word.into_iter().collect());
            word = rest;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Lays the entries out in `width` columns: a key column, the text wrapped beside it.
pub fn layout(entries: &[Entry], width: u16) -> Vec<Row> {
    let width = usize::from(width);
    let keyw = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Item(k, _) if k.chars().count() <= MAX_KEY => Some(k.chars().count()),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .min(width / 3);
    let textw = width.saturating_sub(keyw + 3).max(1);
    let mut rows = Vec::new();
    for e in entries {
        match e {
            Entry::Section(s) => {
                for l in wrap(s, width) {
                    rows.push(Row::Section(l));
                }
            }
            Entry::Item(k, d) => {
                let mut text = wrap(d, textw).into_iter();
                if k.chars().count() > keyw {
                    for l in wrap(k, width.saturating_sub(1)) {
                        rows.push(Row::Item(l, String::new()));
                    }
                } else if let Some(first) = text.next() {
                    rows.push(Row::Item(k.clone(), first));
                }
                for l in text {
                    rows.push(Row::Item(String::new(), l));
                }
            }
        }
    }
    rows
}

/// Where the help box goes in the body: the whole height, up to [`MAX_WIDTH`] wide, centred.
pub fn area(body: Rect) -> Rect {
    let w = body.width.min(MAX_WIDTH);
    Rect::new(body.x + (body.width - w) / 2, body.y, w, body.height)
}

/// The rows of the help as the screen shows them, and how many fit at once.
fn rows_and_page(app: &App, body: Rect) -> (Vec<Row>, u16) {
    let inner = area(body);
    let inner_w = inner.width.saturating_sub(2);
    let page = inner.height.saturating_sub(2);
    (layout(&entries(app), inner_w), page)
}

/// `(page, last first row)` for scrolling the help on the app's screen.
pub fn scroll_limits(app: &App) -> (u16, u16) {
    let (rows, page) = rows_and_page(app, crate::screen::app_body_area(app));
    let n = u16::try_from(rows.len()).unwrap_or(u16::MAX);
    (page.max(1), n.saturating_sub(page))
}

/// Draws the help over `body`.
pub fn render(app: &App, body: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let box_area = area(body);
    if box_area.width < 3 || box_area.height < 3 {
        Clear.render(box_area, buf);
        return;
    }
    let (rows, page) = rows_and_page(app, body);
    let n = u16::try_from(rows.len()).unwrap_or(u16::MAX);
    let max = n.saturating_sub(page);
    let first = app.help_scroll.min(max);
    let keyw = rows
        .iter()
        .filter_map(|r| match r {
            Row::Item(k, d) if !d.is_empty() => Some(k.chars().count()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(usize::from(first))
        .take(usize::from(page))
        .map(|r| match r {
            Row::Section(s) => Line::from(Span::styled(s, t.style(Role::Header))),
            Row::Item(k, d) => Line::from(vec![
                Span::styled(format!(" {k:>keyw$}  "), t.style(Role::HintKey)),
                Span::styled(d, t.style(Role::Overlay)),
            ]),
        })
        .collect();
    let title = if max > 0 {
        format!(
            " help: {} · {}-{} of {} · ↑↓ scroll, g/G ends, Esc closes ",
            app.active.title(),
            first + 1,
            (first + page).min(n),
            n
        )
    } else {
        format!(" help: {} (Esc or ? to close) ", app.active.title())
    };
    Clear.render(box_area, buf);
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(t.style(Role::Border)),
        )
        .style(t.style(Role::Overlay))
        .render(box_area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_never_loses_or_overflows() {
        let text = "a verylongwordthatdoesnotfit and more words here";
        for w in 1..30 {
            let lines = wrap(text, w);
            assert!(
                lines.iter().all(|l| l.chars().count() <= w),
                "{w}: {lines:?}"
            );
            let joined: String = lines.concat().split_whitespace().collect();
            let want: String = text.split_whitespace().collect();
            assert_eq!(joined, want, "{w}");
        }
    }

    #[test]
    fn rows_fit_the_width() {
        let entries = vec![
            Entry::Section("keys".into()),
            Entry::Item("q".into(), "quit".into()),
            Entry::Item(
                ":critical DUR".into(),
                "mark queries running longer than DUR as critical".into(),
            ),
        ];
        for w in [10u16, 20, 40, 98] {
            let rows = layout(&entries, w);
            for r in &rows {
                let n = match r {
                    Row::Section(s) => s.chars().count(),
                    Row::Item(k, d) => {
                        let keyw = rows
                            .iter()
                            .filter_map(|r| match r {
                                Row::Item(k, d) if !d.is_empty() => Some(k.chars().count()),
                                _ => None,
                            })
                            .max()
                            .unwrap_or(0);
                        if d.is_empty() {
                            1 + k.chars().count()
                        } else {
                            keyw + 3 + d.chars().count()
                        }
                    }
                };
                assert!(n <= usize::from(w), "{w}: {r:?}");
            }
        }
    }
}

//! Drawing of the lock tree (`L`) and the lock texts other parts show (detail pane, `R`
//! confirmation). Pure functions of [`PgtopView`] state; server text goes through `one_line`
//! (control characters shown as `?`).

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::locks::{self, LockLine};
use super::rows::{self, fmt_dur};
use super::PgtopView;
use crate::pg::activity::Session;
use crate::pg::redact::one_line;
use crate::theme::{Role, Theme};
use crate::widgets::table::render_empty;

const TITLE: &str =
    " locks: root blockers first (■) · ↑↓ select · c/k the selected · R terminates its root blocker · L/Esc closes ";

/// Lines of the tree that fit a page of the view drawn in `area` (header, border and column
/// titles taken off).
pub fn lock_page(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(4)).max(1)
}

/// A lock mode without its `Lock` suffix (`AccessExclusive`).
fn mode_short(mode: &str) -> &str {
    mode.strip_suffix("Lock").unwrap_or(mode)
}

/// `waits for AccessExclusiveLock on public.t for 12.3s`, or `-`.
pub fn lock_text(s: &Session, now: DateTime<Utc>) -> String {
    let Some(l) = &s.lock else {
        return "-".into();
    };
    let waited = locks::waited(s, now)
        .map(|d| format!(" for {}", fmt_dur(d)))
        .unwrap_or_default();
    format!(
        "waits for {} on {}{waited}",
        one_line(&l.mode, 40),
        one_line(&l.what(), 120)
    )
}

/// One line of the `R` confirmation: a session the root holds up, and any other blocker it
/// also waits for (outside the root's chain), so nobody expects it to go on for sure.
pub fn unblock_line(
    pid: i32,
    root: i32,
    held: &[i32],
    sessions: &[Session],
    now: DateTime<Utc>,
) -> String {
    let Some(s) = sessions.iter().find(|s| s.pid == pid) else {
        return format!("  pid {pid:>7}  (no longer listed)");
    };
    let others: Vec<String> = s
        .blocking_pids
        .iter()
        .filter(|b| **b != root && !held.contains(b))
        .map(|b| b.to_string())
        .collect();
    let lock = s
        .lock
        .as_ref()
        .map(|l| format!("{} {}", mode_short(&l.mode), l.what()))
        .unwrap_or_default();
    format!(
        "  pid {pid:>7}  user {:<10}  waited {:>7}  {}  {}{}",
        one_line(s.usename.as_deref().unwrap_or("?"), 10),
        locks::waited(s, now).map(fmt_dur).unwrap_or_default(),
        one_line(&lock, 40),
        one_line(&s.query, 60),
        if others.is_empty() {
            String::new()
        } else {
            format!(" · also waits for pid {}", others.join(", "))
        }
    )
}

/// The cells of one tree line: (tree + pid, user, state, mode, relation or lock type, waited,
/// query).
fn cells(l: &LockLine, s: Option<&Session>, now: DateTime<Utc>) -> [String; 7] {
    let tree = match (l.depth, l.cycle) {
        (0, true) => "↻ ".to_string(),
        (0, false) => "■ ".to_string(),
        (d, _) if d <= MAX_INDENT => format!("{}└─ ", "   ".repeat(d - 1)),
        // deeper chains keep their pids whole: the depth is written out instead
        (d, _) => format!("{}└{d}─ ", "   ".repeat(MAX_INDENT - 2)),
    };
    let pid = format!("{tree}{}", l.pid);
    let Some(s) = s else {
        return [
            pid,
            String::new(),
            String::new(),
            if l.depth == 0 {
                "ROOT".into()
            } else {
                String::new()
            },
            format!("holds up {}", l.holds_up),
            String::new(),
            "(not visible: another role's session, or a prepared transaction)".into(),
        ];
    };
    let mode = match (&s.lock, l.depth) {
        (Some(k), _) => mode_short(&k.mode).to_string(),
        (None, 0) => "ROOT".into(),
        (None, _) => String::new(),
    };
    let what = match (&s.lock, l.depth) {
        (_, 0) if !l.cycle => format!("holds up {}", l.holds_up),
        (Some(k), _) => k.what(),
        (None, _) => rows::wait(s),
    };
    let query = if l.repeat {
        format!("(waiters listed above) {}", one_line(&s.query, 300))
    } else {
        one_line(&s.query, 300)
    };
    [
        pid,
        s.usename.clone().unwrap_or_default(),
        rows::state_short(&s.state).to_string(),
        mode,
        what,
        locks::waited(s, now).map(fmt_dur).unwrap_or_default(),
        query,
    ]
}

/// Levels drawn as indentation; deeper lines say their depth (`└12─`).
const MAX_INDENT: usize = 6;

/// The tree cell: indentation kept (never collapsed), padded to `w`.
fn fit_tree(text: &str, w: usize) -> String {
    let t: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("{t:<w$}")
}

fn fit(text: &str, w: usize) -> String {
    let t = one_line(text, w.saturating_sub(1).max(1));
    format!("{t:<w$}")
}

pub fn lock_tree(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme) {
    let lines = v.lock_lines();
    let block = Block::default()
        .borders(Borders::TOP)
        .title(TITLE)
        .border_style(t.style(Role::Border));
    let inner = block.inner(area);
    block.render(area, buf);
    if lines.is_empty() {
        render_empty(inner, buf, t, "no session waits for a lock");
        return;
    }
    let now = v.server_now();
    // the tree column is as wide as its deepest line needs (pids are never cut)
    let deepest = lines.iter().map(|l| l.depth).max().unwrap_or(0);
    let tree_w = 3 * deepest.clamp(1, MAX_INDENT) + 8 + usize::from(deepest > 9);
    // narrow screens: shorter user, mode and relation cells so the query keeps some room
    let widths = if inner.width < 120 {
        [tree_w, 9, 8, 13, 17, 7]
    } else {
        [tree_w, 11, 9, 16, 25, 8]
    };
    let head = [
        "  pid",
        "user",
        "state",
        "lock mode",
        "relation / lock",
        "waited",
    ];
    let mut text = vec![Line::from(Span::styled(
        format!(
            "  {}query",
            head.iter()
                .zip(widths)
                .map(|(h, w)| format!("{h:<w$}"))
                .collect::<String>()
        ),
        t.style(Role::Header),
    ))];
    let rows_h = usize::from(inner.height.saturating_sub(1)).max(1);
    let cursor = v.lock_cursor.index().min(lines.len() - 1);
    let offset = cursor.saturating_sub(rows_h - 1);
    for (i, l) in lines.iter().enumerate().skip(offset).take(rows_h) {
        let s = v.sessions().iter().find(|s| s.pid == l.pid);
        let c = cells(l, s, now);
        let selected = i == cursor;
        let role = if selected {
            Role::Selected
        } else if l.depth == 0 {
            Role::Warn
        } else {
            Role::Normal
        };
        let mut fixed = String::from(if selected { "> " } else { "  " });
        for (k, w) in widths.iter().enumerate() {
            let cell = if k == 5 {
                format!("{:>w$}", c[k], w = w - 1) + " "
            } else if k == 0 {
                fit_tree(&c[k], *w)
            } else {
                fit(&c[k], *w)
            };
            fixed.push_str(&cell);
        }
        text.push(Line::from(vec![
            Span::styled(fixed, t.style(role)),
            Span::styled(
                c[6].clone(),
                t.style(if selected {
                    Role::Selected
                } else {
                    Role::Muted
                }),
            ),
        ]));
    }
    Paragraph::new(text).render(inner, buf);
}

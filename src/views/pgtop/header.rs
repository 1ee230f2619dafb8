//! The pgtop header: server, sessions, rates, longest query/transaction, waiting, connection
//! state and the thresholds, as figures that wrap instead of being cut. On a wide screen the
//! server figures take the first line and the activity figures the second; when that does not
//! fit, the figures flow over up to [`MAX_LINES`] lines, and only when even that is too little
//! do the settings go (thresholds first, then the basis, then the flags) — never a figure.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::rows::fmt_dur;
use super::PgtopView;
use crate::base::fit;
use crate::pg::activity::ConnState;
use crate::theme::{Role, Theme};

/// The header flows over this many lines, settings left out step by step to stay within it;
/// the figures themselves take one more line when they need it (at most).
pub const MAX_LINES: usize = 3;
const SEP: &str = " · ";

/// One figure of the header.
#[derive(Clone, Debug)]
struct Item {
    text: String,
    role: Role,
    /// Starts the second group (a new line in the two-line layout).
    second: bool,
    /// 0: always shown; otherwise the step (1 first) at which it gets `short` or goes.
    rank: u8,
    short: Option<String>,
}

fn item(text: String, role: Role) -> Item {
    Item {
        text,
        role,
        second: false,
        rank: 0,
        short: None,
    }
}

/// The figures in reading order. `compact` (the flowing layout): the session counts are
/// separate figures, the connection state comes early and the refresh interval is a setting.
fn items(v: &PgtopView, compact: bool) -> Vec<Item> {
    let Some((snap, h)) = v.snap.as_ref().and_then(|s| Some((s, s.header.as_ref()?))) else {
        return Vec::new();
    };
    let alert = v
        .alerts
        .as_ref()
        .and_then(|a| a.indicator())
        .map(|t| item(t, Role::Crit));
    let c = &h.counts;
    let name = if v.server.is_empty() {
        String::new()
    } else {
        format!("{} · ", v.server)
    };
    let version = h.server_version.trim();
    let short_version = version.split(" (").next().unwrap_or(version);
    let identity = Item {
        rank: 2,
        short: Some(format!("{name}PostgreSQL {short_version}")),
        ..item(format!("{name}PostgreSQL {version}"), Role::Title)
    };
    let up = item(format!("up {}", fmt_dur(h.uptime)), Role::Normal);
    let role = if h.in_recovery {
        item("in recovery".into(), Role::Warn)
    } else {
        item("primary".into(), Role::Normal)
    };
    let busy = if h.max_connections > 0 && c.total * 10 >= h.max_connections as usize * 9 {
        Role::Crit
    } else {
        Role::Normal
    };
    let idle_tx = c.idle_in_transaction + c.idle_in_transaction_aborted;
    let sessions = if compact {
        // small figures pack into the lines without leaving gaps
        vec![
            item(format!("sessions {}/{}", c.total, h.max_connections), busy),
            item(format!("active {}", c.active), Role::Normal),
            item(format!("idle {}", c.idle), Role::Normal),
            item(format!("idle in tx {idle_tx}"), Role::Normal),
            item(format!("other {}", c.other), Role::Normal),
        ]
    } else {
        vec![item(
            format!(
                "sessions {}/{} (active {}, idle {}, idle in tx {idle_tx}, other {})",
                c.total, h.max_connections, c.active, c.idle, c.other
            ),
            busy,
        )]
    };
    let tps = item(
        format!("TPS {}", h.tps.map_or("-".into(), |x| format!("{x:.1}"))),
        Role::Normal,
    );
    let cache = item(
        format!(
            "cache hit {}",
            h.cache_hit_ratio
                .map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
        ),
        Role::Normal,
    );
    let longest = |what: &str, x: Option<(i32, std::time::Duration)>| {
        let v = x.map_or("-".into(), |(pid, d)| format!("{} (pid {pid})", fmt_dur(d)));
        item(format!("longest {what} {v}"), Role::Normal)
    };
    let lq = longest("query", h.longest_query);
    let lx = longest("xact", h.longest_transaction);
    let waiting = item(
        format!("waiting {}", h.waiting),
        if h.waiting > 0 {
            Role::Warn
        } else {
            Role::Normal
        },
    );
    let health = match &v.status {
        ConnState::Connected { .. } => "connected",
        ConnState::Connecting => "connecting",
        ConnState::NoAnswer { .. } => "NO ANSWER",
        ConnState::Disconnected { .. } => "DISCONNECTED",
    };
    let refresh = fmt_dur(snap.refresh_interval);
    let th = &v.thresholds;
    let thresholds = Item {
        rank: 1,
        ..item(
            format!(
                "slow ≥{} crit ≥{} idle tx ≥{} long tx ≥{}",
                fmt_dur(th.slow),
                fmt_dur(th.critical),
                fmt_dur(th.idle_in_transaction),
                fmt_dur(th.long_transaction)
            ),
            Role::Muted,
        )
    };
    let basis = Item {
        rank: 2,
        ..item(format!("by {}", v.basis.label()), Role::Muted)
    };
    let mut flags = Vec::new();
    if v.show_all {
        flags.push("all sessions");
    }
    if v.frozen() {
        flags.push("order frozen");
    }
    if v.locks {
        flags.push("lock tree");
    }
    let group = v.groups.flag();
    flags.extend(group.as_deref());
    let flags = (!flags.is_empty()).then(|| Item {
        rank: 3,
        ..item(flags.join(SEP), Role::Muted)
    });
    let mut out: Vec<Item> = Vec::new();
    if compact {
        out.extend(alert);
        out.extend([identity, up, role, item(health.into(), Role::Muted)]);
        out.extend(sessions);
        out.extend([waiting, tps, cache, lq, lx]);
        out.push(Item {
            rank: 2,
            ..item(format!("refresh {refresh}"), Role::Muted)
        });
    } else {
        out.extend([identity, up, role]);
        out.extend(sessions);
        out.extend([tps, cache]);
        let mut second: Vec<Item> = alert.into_iter().collect();
        second.extend([
            lq,
            lx,
            waiting,
            item(format!("{health}, refresh {refresh}"), Role::Muted),
        ]);
        second[0].second = true;
        out.extend(second);
    }
    out.extend([thresholds, basis]);
    out.extend(flags);
    out
}

/// Items flowed into lines of `width` cells; `grouped`: the second group starts a line.
fn flow(items: &[Item], width: usize, grouped: bool) -> Vec<Vec<&Item>> {
    let mut lines: Vec<Vec<&Item>> = Vec::new();
    let mut used = 0;
    for it in items {
        let w = fit::width(&it.text);
        let fresh = lines.is_empty() || (grouped && it.second);
        let fits = used + fit::width(SEP) + w <= width;
        match lines.last_mut() {
            Some(l) if !fresh && fits => {
                used += fit::width(SEP) + w;
                l.push(it);
            }
            _ => {
                used = w;
                lines.push(vec![it]);
            }
        }
    }
    lines
}

/// The header's lines at `width`: two groups on two lines when they fit, else every figure
/// flowed over up to [`MAX_LINES`] lines, settings shortened or left out step by step.
fn layout(v: &PgtopView, width: u16) -> Vec<Vec<Item>> {
    let width = usize::from(width.max(1));
    let owned = |ls: Vec<Vec<&Item>>| -> Vec<Vec<Item>> {
        ls.into_iter()
            .map(|l| l.into_iter().cloned().collect())
            .collect()
    };
    let wide = items(v, false);
    let grouped = flow(&wide, width, true);
    if grouped.len() <= 2 {
        return owned(grouped);
    }
    let mut all = items(v, true);
    let max_rank = all.iter().map(|i| i.rank).max().unwrap_or(0);
    for step in 1..=max_rank {
        let lines = flow(&all, width, false);
        if lines.len() <= MAX_LINES {
            return owned(lines);
        }
        all = all
            .into_iter()
            .filter_map(|mut i| {
                if i.rank != step {
                    return Some(i);
                }
                let short = i.short.take()?;
                i.text = short;
                Some(i)
            })
            .collect();
    }
    // every figure, even when that takes a line more
    let mut lines = owned(flow(&all, width, false));
    lines.truncate(MAX_LINES + 1);
    lines
}

/// Rows the header takes at `width` (at least 2: the alert line shows before any data).
pub fn height(v: &PgtopView, width: u16) -> u16 {
    layout(v, width).len().clamp(2, MAX_LINES + 1) as u16
}

pub fn render(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme) {
    if v.snap.as_ref().and_then(|s| s.header.as_ref()).is_none() {
        if area.height > 1 {
            if let Some(text) = v.alerts.as_ref().and_then(|a| a.indicator()) {
                Line::from(Span::styled(text, t.style(Role::Crit)))
                    .render(Rect::new(area.x, area.y + 1, area.width, 1), buf);
            }
        }
        if v.snap.is_some() {
            return;
        }
        let w = usize::from(area.width);
        let msg = match &v.status {
            _ if v.core.health == crate::wire::SourceHealth::Idle => {
                " pgtop: no source started".into()
            }
            ConnState::Disconnected { error, .. } => {
                let mut parts = vec![fit::Part::keep(" not connected: ")];
                parts.extend(fit::error_parts(error));
                fit::fit(parts, w)
            }
            _ => " connecting to PostgreSQL…".into(),
        };
        Line::from(Span::styled(msg, t.style(Role::Muted))).render(area, buf);
        return;
    }
    for (y, items) in layout(v, area.width)
        .into_iter()
        .take(usize::from(area.height))
        .enumerate()
    {
        let mut spans = Vec::new();
        for (i, it) in items.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(SEP, t.style(Role::Normal)));
            }
            spans.push(Span::styled(it.text, t.style(it.role)));
        }
        Line::from(spans).render(Rect::new(area.x, area.y + y as u16, area.width, 1), buf);
    }
}

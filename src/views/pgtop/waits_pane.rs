//! The waits pane (`w`): the top waits over the last 1, 5 and 15 minutes with a sparkline each,
//! counted in samples (one per backend per refresh, not time) by [`crate::pg::waits`], then the
//! the server's own samples since stacktop started when the collector reads `pg_wait_sampling`
//! (counts × its sampling period ≈ time), then the top statements by time since stacktop
//! started when the collector reads `pg_stat_statements`.
//! The ring lives in this view state (fed by every snapshot, also while paused or with the pane
//! closed); drawing only reads it. `i` (idle sessions and background processes) includes the
//! other sessions here too.

use std::sync::Arc;

use chrono::{DateTime, Local, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::rows::fmt_dur;
use crate::pg::activity::PgSnapshot;
use crate::pg::redact::{one_line, redact_one_line};
use crate::pg::statements::StatementsTop;
use crate::pg::wait_sampling::WaitProfile;
use crate::pg::waits::{event_name, sparkline, WaitHistory, WINDOWS};
use crate::theme::{Role, Theme};

/// Waits shown per window.
pub const TOP_WAITS: usize = 5;

/// The pane's state.
#[derive(Debug, Clone, Default)]
pub struct Waits {
    pub open: bool,
    pub history: WaitHistory,
    /// the latest `pg_stat_statements` top (with its reading time)
    pub statements: Option<Arc<StatementsTop>>,
    /// the latest `pg_wait_sampling` profile (with its reading time)
    pub wait_sampling: Option<Arc<WaitProfile>>,
    last_seq: Option<u64>,
}

impl Waits {
    /// One sample per snapshot with data (each snapshot once).
    pub fn on_snapshot(&mut self, snap: &PgSnapshot) {
        if snap.header.is_none() || self.last_seq == Some(snap.seq) {
            return;
        }
        self.last_seq = Some(snap.seq);
        self.history.record(snap.server_now, &snap.sessions);
        // every snapshot carries the latest reading once there is one (a replayed jump back
        // before the first reading brings none: nothing read yet at that time)
        self.statements.clone_from(&snap.statements);
        self.wait_sampling.clone_from(&snap.wait_sampling);
    }

    /// The pane's text for `width` columns (`include_all`: idle sessions and background
    /// processes counted too).
    pub fn lines(&self, include_all: bool, width: u16, t: &Theme) -> Vec<Line<'static>> {
        let w = usize::from(width);
        let mut out = vec![Line::from(Span::styled(
            format!(
                "{} · counts are samples (one per backend per refresh), not time{}",
                if include_all {
                    "waits of every session (i: active client backends only)"
                } else {
                    "waits of active client backends (i: idle sessions and background processes too)"
                },
                self.history
                    .last_at()
                    .map(|a| format!(" · last sample {}", local(a)))
                    .unwrap_or_default()
            ),
            t.style(Role::Muted),
        ))];
        if self.history.is_empty() {
            out.push(Line::from(Span::styled(
                "no samples yet (one per refresh)",
                t.style(Role::Muted),
            )));
        }
        let name_w = 28usize;
        let fixed = 2 + name_w + 1 + 14 + 1 + 5 + 1;
        let spark_w = w.saturating_sub(fixed).clamp(8, 60);
        for window in WINDOWS.iter().filter(|_| !self.history.is_empty()) {
            let s = self
                .history
                .window(*window, include_all, TOP_WAITS, spark_w);
            let partial = if s.covered + std::time::Duration::from_secs(1) < *window {
                format!(" (kept so far: {})", fmt_dur(s.covered))
            } else {
                String::new()
            };
            out.push(Line::from(Span::styled(
                format!(
                    "last {} min · {} refreshes, {} samples{partial}",
                    window.as_secs() / 60,
                    s.refreshes,
                    s.samples
                ),
                t.style(Role::Title),
            )));
            if s.top.is_empty() {
                out.push(Line::from(Span::styled(
                    "  no backend sampled",
                    t.style(Role::Muted),
                )));
            }
            for r in &s.top {
                let share = if s.samples > 0 {
                    r.samples as f64 * 100.0 / s.samples as f64
                } else {
                    0.0
                };
                let role = if r.name.starts_with("Lock") {
                    Role::Warn
                } else {
                    Role::Normal
                };
                out.push(Line::from(vec![
                    Span::styled(
                        format!(
                            "  {:<name_w$} {:>6} samples {:>4.0}% ",
                            one_line(&r.name, name_w),
                            r.samples,
                            share
                        ),
                        t.style(role),
                    ),
                    Span::styled(sparkline(&r.buckets), t.style(Role::Info)),
                ]));
            }
        }
        out.extend(self.server_lines(include_all, t));
        out.extend(self.statement_lines(w, t));
        out
    }

    /// The server's own samples (`pg_wait_sampling`): over time, every process.
    fn server_lines(&self, include_all: bool, t: &Theme) -> Vec<Line<'static>> {
        let Some(p) = &self.wait_sampling else {
            return Vec::new();
        };
        let every = p
            .period_ms
            .map(|ms| format!("every {ms} ms"))
            .unwrap_or_else(|| "every profile_period".into());
        let mut out = vec![Line::from(Span::styled(
            format!(
                "server-side waits since {} (pg_wait_sampling, read {}) · the server's samples \
                 {every} over time{}",
                local(p.since),
                local(p.taken_at),
                if include_all {
                    ", every process"
                } else {
                    ", idle and background waits left out (i: too)"
                }
            ),
            t.style(Role::Title),
        ))];
        let name_w = 28usize;
        let shown: Vec<_> = p
            .events
            .iter()
            .filter(|e| include_all || !e.is_idle())
            .take(TOP_WAITS)
            .collect();
        if shown.is_empty() {
            out.push(Line::from(Span::styled(
                "  no server-side sample since then (or the first reading was just taken)",
                t.style(Role::Muted),
            )));
        }
        for e in shown {
            let name = event_name(e.event_type.as_deref(), e.event.as_deref());
            let approx = p
                .period_ms
                .map(|ms| {
                    format!(
                        " ≈ {:>7}",
                        fmt_dur(std::time::Duration::from_millis(
                            u64::try_from(e.count).unwrap_or(0) * u64::from(ms)
                        ))
                    )
                })
                .unwrap_or_default();
            let role = if name.starts_with("Lock") {
                Role::Warn
            } else {
                Role::Normal
            };
            out.push(Line::from(Span::styled(
                format!(
                    "  {:<name_w$} {:>8} server samples{approx} · {} pid{}",
                    one_line(&name, name_w),
                    e.count,
                    e.pids,
                    if e.pids == 1 { "" } else { "s" }
                ),
                t.style(role),
            )));
        }
        out
    }

    fn statement_lines(&self, w: usize, t: &Theme) -> Vec<Line<'static>> {
        let Some(top) = &self.statements else {
            return Vec::new();
        };
        let mut out = vec![Line::from(Span::styled(
            format!(
                "top statements by time since {} (pg_stat_statements, read {})",
                local(top.since),
                local(top.taken_at)
            ),
            t.style(Role::Title),
        ))];
        if top.rows.is_empty() {
            out.push(Line::from(Span::styled(
                "  no statement ran since then (or the first reading was just taken)",
                t.style(Role::Muted),
            )));
        }
        for r in &top.rows {
            let who = format!(
                "{}@{}",
                one_line(r.user.as_deref().unwrap_or("?"), 16),
                one_line(r.database.as_deref().unwrap_or("?"), 16)
            );
            let head = format!(
                "  {:>8} {:>8} calls  {who:<20} ",
                fmt_dur(std::time::Duration::from_secs_f64(
                    (r.total_ms / 1000.0).max(0.0)
                )),
                r.calls,
            );
            let room = w.saturating_sub(head.chars().count()).max(10);
            // server text: literals redacted, control characters shown as `?`
            let q = one_line(&redact_one_line(&r.query, room), room);
            out.push(Line::from(vec![
                Span::styled(head, t.style(Role::Normal)),
                Span::styled(q, t.style(Role::Muted)),
            ]));
        }
        out
    }
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// Draws the pane into `area` (in place of the list).
pub fn render(w: &Waits, include_all: bool, area: Rect, buf: &mut Buffer, t: &Theme) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(" waits over time (w or Esc closes) ")
        .border_style(t.style(Role::Border));
    let inner = block.inner(area);
    block.render(area, buf);
    Paragraph::new(w.lines(include_all, inner.width, t)).render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::activity::{ConnState, Session, SessionState};
    use crate::pg::statements::StatementDelta;

    fn snap(seq: u64, at: DateTime<Utc>, sessions: Vec<Session>) -> PgSnapshot {
        let mut s = PgSnapshot::status_only(
            seq,
            ConnState::Connected { since: at },
            std::time::Duration::from_secs(1),
        );
        s.server_now = at;
        s.sessions = sessions;
        s
    }

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn samples_each_snapshot_once_and_shows_statements_redacted() {
        let t0 = Utc::now();
        let mut sleeper = Session::for_test(1, SessionState::Active, "select pg_sleep(9)");
        sleeper.wait_event_type = Some("Timeout".into());
        sleeper.wait_event = Some("PgSleep".into());
        let mut w = Waits::default();
        let mut s = snap(1, t0, vec![sleeper.clone()]);
        // status-only snapshots (no header) are not samples
        w.on_snapshot(&s);
        assert!(w.history.is_empty());
        s.header = Some(crate::pg::activity::Header {
            server_version: "15".into(),
            server_version_num: 150000,
            postmaster_start: t0,
            uptime: std::time::Duration::ZERO,
            in_recovery: false,
            max_connections: 100,
            counts: Default::default(),
            tps: None,
            cache_hit_ratio: None,
            longest_query: None,
            longest_transaction: None,
            waiting: 0,
            columns: Default::default(),
        });
        w.on_snapshot(&s);
        w.on_snapshot(&s);
        assert_eq!(w.history.len(), 1, "the same snapshot twice is one sample");
        s.seq = 2;
        s.server_now = t0 + chrono::Duration::seconds(1);
        s.statements = Some(Arc::new(StatementsTop {
            since: t0,
            taken_at: t0,
            rows: vec![StatementDelta {
                key: (1, 1, 1),
                user: Some("app\x1b[2J".into()),
                database: Some("orders".into()),
                calls: 3,
                total_ms: 4500.0,
                query: "select * from t where card = '4111111111111111'".into(),
            }],
        }));
        w.on_snapshot(&s);
        let th = Theme::builtin_default();
        let out = text(&w.lines(false, 120, &th));
        assert!(
            out.contains("Timeout:PgSleep") && out.contains("2 samples"),
            "{out}"
        );
        assert!(out.contains("last 1 min · 2 refreshes, 2 samples"), "{out}");
        assert!(out.contains("not time"), "{out}");
        assert!(out.contains("4.5s") && out.contains("3 calls"), "{out}");
        assert!(!out.contains("4111") && !out.contains('\x1b'), "{out}");
        assert!(out.contains("app?[2J@orders"), "{out}");
    }
}

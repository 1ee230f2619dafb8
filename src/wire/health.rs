//! How a source's connection is, as the status line and batch records say it.

use crate::base::fit::{error_parts, rank, Part, Shrink};
use chrono::{DateTime, Local};

/// The state of a source as the status line shows it.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum SourceHealth {
    /// Nothing configured for this view.
    #[default]
    Idle,
    Connecting {
        since: DateTime<Local>,
    },
    Live {
        at: DateTime<Local>,
    },
    /// Connected, but the last request has had no answer since `since` (the data on screen is
    /// older than that); past the source's timeout it becomes `Reconnecting`.
    Stalled {
        since: DateTime<Local>,
    },
    /// Lost or never reached; retrying with backoff.
    Reconnecting {
        since: DateTime<Local>,
        error: String,
        next_try: Option<DateTime<Local>>,
    },
}

impl SourceHealth {
    /// One line for the status bar, e.g. `reconnecting since 12:03:04: connection refused`.
    pub fn describe(&self) -> String {
        match self {
            SourceHealth::Idle => "no source".into(),
            SourceHealth::Connecting { since } => {
                format!("connecting since {}", since.format("%H:%M:%S"))
            }
            SourceHealth::Live { at } => format!("live · updated {}", at.format("%H:%M:%S")),
            SourceHealth::Stalled { since } => {
                format!("no answer since {}", since.format("%H:%M:%S"))
            }
            SourceHealth::Reconnecting { since, error, .. } => {
                format!("reconnecting since {}: {error}", since.format("%H:%M:%S"))
            }
        }
    }

    /// The status line with ages: how old the data on screen is (`last_data`: when the source
    /// last delivered), e.g. `live · updated 12:00:01 (2 s ago)` or
    /// `DISCONNECTED since 12:03:04: connection refused · retry in 4 s · last data 12:03:01
    /// (42 s old, not current)`.
    pub fn describe_at(&self, now: DateTime<Local>, last_data: Option<DateTime<Local>>) -> String {
        self.describe_parts(now, last_data)
            .into_iter()
            .map(|p| p.text)
            .collect()
    }

    /// [`Self::describe_at`] as parts for [`crate::base::fit`]: on a narrow screen the
    /// connection string in the error is shortened first, the state word, the cause and the
    /// retry countdown stay.
    pub fn describe_parts(
        &self,
        now: DateTime<Local>,
        last_data: Option<DateTime<Local>>,
    ) -> Vec<Part> {
        let ago = |t: DateTime<Local>| fmt_age(now.signed_duration_since(t));
        let last = || match last_data {
            Some(t) => Part::keep(format!(
                " · last data {} ({} old, not current)",
                t.format("%H:%M:%S"),
                ago(t)
            ))
            .with(
                rank::DETAILS,
                Shrink::Alt(format!(" · data {} old", ago(t))),
            )
            .with(rank::AGE, Shrink::Drop),
            None => Part::drop_at(" · no data yet", rank::AGE),
        };
        match self {
            SourceHealth::Live { at } => vec![Part::keep(format!(
                "live · updated {} ({} ago)",
                at.format("%H:%M:%S"),
                ago(*at)
            ))],
            SourceHealth::Stalled { since } => vec![
                Part::keep(format!("NO ANSWER for {}", ago(*since))),
                Part::drop_at(
                    format!(" (since {})", since.format("%H:%M:%S")),
                    rank::SINCE,
                ),
                last(),
            ],
            SourceHealth::Reconnecting {
                since,
                error,
                next_try,
            } => {
                let mut p =
                    vec![
                        Part::keep(format!("DISCONNECTED since {}: ", since.format("%H:%M:%S")))
                            .with(rank::SINCE, Shrink::Alt("DISCONNECTED: ".into())),
                    ];
                p.extend(error_parts(error));
                if let Some(at) = next_try {
                    p.push(if *at > now {
                        let left = fmt_age(at.signed_duration_since(now));
                        Part::keep(format!(" · retry in {left}"))
                            .with(rank::COUNTDOWN, Shrink::Alt(format!(" · retry {left}")))
                    } else {
                        Part::keep(" · retrying now")
                    });
                }
                p.push(last());
                p
            }
            SourceHealth::Idle => vec![Part::keep("no source (Enter or :connect starts one)")],
            other => vec![Part::keep(other.describe())],
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, SourceHealth::Reconnecting { .. })
    }

    /// Whether the source is answering (the data shown is current).
    pub fn is_live(&self) -> bool {
        matches!(self, SourceHealth::Live { .. })
    }

    /// The state word of batch records: `no_source`, `connecting`, `connected`, `no_answer`
    /// or `disconnected`.
    pub fn state_name(&self) -> &'static str {
        match self {
            SourceHealth::Idle => "no_source",
            SourceHealth::Connecting { .. } => "connecting",
            SourceHealth::Live { .. } => "connected",
            SourceHealth::Stalled { .. } => "no_answer",
            SourceHealth::Reconnecting { .. } => "disconnected",
        }
    }
}

/// `0 s`, `42 s`, `3 m 05 s`, `2 h 10 m` (negative ages, from clock steps, are `0 s`).
pub fn fmt_age(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} m {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_status_line_says_how_old_the_data_is() {
        let t = |s| Local.with_ymd_and_hms(2026, 12, 3, 12, 0, s).unwrap();
        let live = SourceHealth::Live { at: t(0) };
        assert_eq!(
            live.describe_at(t(3), Some(t(0))),
            "live · updated 12:00:00 (3 s ago)"
        );
        let down = SourceHealth::Reconnecting {
            since: t(10),
            error: "connection refused".into(),
            next_try: None,
        };
        let d = down.describe_at(t(52), Some(t(10)));
        assert!(
            d.starts_with("DISCONNECTED since 12:00:10: connection refused")
                && d.contains("last data 12:00:10 (42 s old, not current)"),
            "{d}"
        );
        let stalled = SourceHealth::Stalled { since: t(1) };
        assert!(stalled
            .describe_at(t(6), Some(t(0)))
            .starts_with("NO ANSWER for 5 s (since 12:00:01)"));
        assert_eq!(stalled.state_name(), "no_answer");
        assert_eq!(down.state_name(), "disconnected");
        assert_eq!(fmt_age(chrono::Duration::seconds(185)), "3 m 05 s");
        assert_eq!(fmt_age(chrono::Duration::seconds(-5)), "0 s");
    }
}

//! Slack message text, built in the delivery task (never in the collector's refresh): every
//! piece of server text (query, user, database, application, blocker) is literal-redacted (by
//! default), cut to a length, mrkdwn-escaped (`&` `<` `>`) and has backticks neutralised so it can
//! neither ping (`<!channel>`), link, nor close its code span. Several queued alerts go out as one
//! digest message.

use std::time::Duration;

use serde_json::json;

use super::SlackOptions;
use crate::pg::redact::{one_line, redact_literals};
use crate::pg::tracker::{InstanceInfo, InstanceKind, SlowEvent};

/// Slack's own limit is 40 000 characters of `text`; stay well under it.
pub const MAX_TEXT_CHARS: usize = 35_000;

/// Escapes text for Slack mrkdwn: `&`, `<`, `>` become entities, backticks become `ˋ` (U+02CB) so
/// no code span can be closed, control characters become spaces.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\u{02CB}'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A short name (user, database, application, server label) as an inline code span.
fn name(s: Option<&str>) -> String {
    match s {
        Some(s) if !s.is_empty() => format!("`{}`", escape(&one_line(s, 64))),
        _ => "?".into(),
    }
}

/// Query text as shown: redacted unless disabled, one line, capped, escaped.
pub fn query_text(opts: &SlackOptions, q: &str) -> String {
    let text = if opts.redact_literals {
        redact_literals(q)
    } else {
        q.to_string()
    };
    escape(&one_line(&text, opts.max_query_chars))
}

pub fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn who(i: &InstanceInfo) -> String {
    let mut s = format!(
        "pid {} · database {} · user {}",
        i.pid,
        name(i.datname.as_deref()),
        name(i.usename.as_deref())
    );
    if !i.application_name.is_empty() {
        s.push_str(&format!(" · app {}", name(Some(&i.application_name))));
    }
    s
}

fn blocked(opts: &SlackOptions, i: &InstanceInfo) -> String {
    let mut s = String::new();
    if let Some(l) = &i.lock {
        s.push_str(&format!(
            "\n:lock: waits for {} on {}",
            name(Some(&l.mode)),
            name(Some(&l.what()))
        ));
    }
    for b in &i.blocked_by {
        s.push_str(&format!(
            "\n:lock: waiting for a lock held by pid {} · user {} · app {} · {}",
            b.pid,
            name(b.usename.as_deref()),
            name(Some(&b.application_name)),
            if b.state.is_empty() {
                "state unknown".to_string()
            } else {
                escape(&b.state)
            },
        ));
        if !b.query.is_empty() {
            s.push_str(&format!(": ```{}```", query_text(opts, &b.query)));
        }
    }
    s
}

/// One alert: the de-duplication keys it records and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `keys[0]` decides whether it was already sent; all are recorded when queued
    pub keys: Vec<String>,
    pub text: String,
}

/// The alert for one event, or `None` when nothing is to be sent: already sent (`seen`), or a
/// `Resolved` without the `resolved` option or for an instance never alerted.
pub fn alert(opts: &SlackOptions, ev: &SlowEvent, seen: impl Fn(&str) -> bool) -> Option<Alert> {
    let info = ev.info();
    let base = info.key();
    let crit = format!("{base}#crit");
    let server = name(Some(&opts.server));
    let slow = |critical: bool| {
        format!(
            "{} query on {server}: {} · running for {}:\n```{}```{}",
            if critical {
                ":rotating_light: Critical"
            } else {
                ":warning: Slow"
            },
            who(info),
            fmt_secs(info.duration),
            query_text(opts, &info.query),
            blocked(opts, info)
        )
    };
    let (keys, text) = match ev {
        SlowEvent::Crossed { critical, .. } if !seen(&base) => {
            let mut keys = vec![base.clone()];
            if *critical {
                keys.push(crit);
            }
            (keys, slow(*critical))
        }
        // already alerted (before a restart) as slow, critical now: escalate once
        SlowEvent::Crossed { critical: true, .. } | SlowEvent::Critical { .. } if !seen(&crit) => {
            (vec![crit], slow(true))
        }
        SlowEvent::IdleInTransaction { .. } if !seen(&base) => (
            vec![base.clone()],
            format!(
                ":hourglass: Idle in transaction on {server}: {} · idle for {}, last statement:\n```{}```",
                who(info),
                fmt_secs(info.duration),
                query_text(opts, &info.query)
            ),
        ),
        SlowEvent::LongTransaction { .. } if !seen(&base) => (
            vec![base.clone()],
            format!(
                ":hourglass_flowing_sand: Long transaction on {server}: {} · transaction open for {}, current statement:\n```{}```{}",
                who(info),
                fmt_secs(info.duration),
                query_text(opts, &info.query),
                blocked(opts, info)
            ),
        ),
        SlowEvent::Resolved { .. } if opts.resolved && seen(&base) => {
            let key = format!("{base}#resolved");
            if seen(&key) {
                return None;
            }
            let what = match info.kind {
                InstanceKind::Slow => "query ended",
                InstanceKind::IdleInTransaction | InstanceKind::LongTransaction => {
                    "transaction ended"
                }
            };
            (
                vec![key],
                format!(
                    ":white_check_mark: Resolved on {server}: {} · {what} after about {}",
                    who(info),
                    fmt_secs(info.duration)
                ),
            )
        }
        _ => return None,
    };
    Some(Alert { keys, text })
}

/// The JSON body for one or more queued alert texts (several: one digest message; `startup`:
/// they were all over their threshold at the first snapshot), with a note when older alerts were
/// dropped because the outbox was full.
pub fn body(
    opts: &SlackOptions,
    texts: &[&str],
    dropped_note: u64,
    startup: bool,
) -> serde_json::Value {
    let mut text = String::new();
    if dropped_note > 0 {
        text.push_str(&format!(
            ":warning: {dropped_note} older alert(s) dropped (outbox full)\n"
        ));
    }
    if texts.len() == 1 {
        text.push_str(texts[0]);
    } else {
        text.push_str(&format!(
            ":bell: {} alerts on {}{}:",
            texts.len(),
            name(Some(&opts.server)),
            if startup {
                " (already over threshold at start-up)"
            } else {
                ""
            }
        ));
        for (i, t) in texts.iter().enumerate() {
            text.push_str(&format!("\n\n*{}.* {t}", i + 1));
        }
    }
    json!({ "text": text, "username": "stacktop" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::conninfo::Secret;

    fn opts() -> SlackOptions {
        SlackOptions::new(Secret::new("http://x/secret"), "prod<!here>")
    }

    #[test]
    fn escapes_redacts_and_truncates_by_default() {
        let mut i = InstanceInfo::for_test(
            42,
            "select * from t where card = '4111111111111111' /* <!channel> ``` */ and n = 7",
        );
        i.datname = Some("ord<@U123>ers".into());
        i.usename = Some("a`b".into());
        i.application_name = "x&y".into();
        i.duration = Duration::from_secs(75);
        let o = opts();
        let a = alert(
            &o,
            &SlowEvent::Crossed {
                info: i.clone(),
                critical: false,
            },
            |_| false,
        )
        .unwrap();
        let t = &a.text;
        assert!(!t.contains("4111"), "{t}");
        assert!(!t.contains('<') && !t.contains('>'), "{t}");
        assert!(
            t.contains("&lt;!channel&gt;") || !t.contains("channel"),
            "{t}"
        );
        assert!(
            t.contains("`ord&lt;@U123&gt;ers`") && t.contains("`aˋb`"),
            "{t}"
        );
        assert!(
            t.contains("`x&amp;y`") && t.contains("`prod&lt;!here&gt;`"),
            "{t}"
        );
        assert!(t.contains("pid 42 ") && t.contains("1m15s"), "{t}");
        assert_eq!(t.matches("```").count(), 2, "one code block: {t}");
        let mut o = opts();
        o.max_query_chars = 10;
        o.redact_literals = false;
        let a = alert(&o, &SlowEvent::Critical { info: i.clone() }, |_| false).unwrap();
        assert!(a.text.contains("select * f…"), "{}", a.text);
        assert_eq!(a.keys, vec![format!("{}#crit", i.key())]);
    }

    #[test]
    fn a_lock_waiter_names_the_lock_escaped() {
        let mut i = InstanceInfo::for_test(7, "select 1");
        i.lock = Some(crate::pg::locks::LockWait {
            mode: "AccessShareLock".into(),
            locktype: "relation".into(),
            relation: Some("public.\"<!here>`t\"".into()),
            object: None,
            since: None,
        });
        let a = alert(
            &opts(),
            &SlowEvent::Crossed {
                info: i,
                critical: false,
            },
            |_| false,
        )
        .unwrap();
        let t = &a.text;
        assert!(
            t.contains(":lock: waits for `AccessShareLock` on `public.\"&lt;!here&gt;ˋt\"`"),
            "{t}"
        );
    }

    #[test]
    fn dedup_keys_and_resolved() {
        let i = InstanceInfo::for_test(1, "select 1");
        let mut o = opts();
        let crossed = SlowEvent::Crossed {
            info: i.clone(),
            critical: true,
        };
        let base = i.key();
        assert_eq!(
            alert(&o, &crossed, |_| false).unwrap().keys,
            vec![base.clone(), format!("{base}#crit")]
        );
        assert!(alert(&o, &crossed, |_| true).is_none());
        // alerted as slow before a restart, critical now: escalation only
        let a = alert(&o, &crossed, |k| k == base).unwrap();
        assert!(a.text.contains("Critical"));
        let res = SlowEvent::Resolved { info: i.clone() };
        assert!(alert(&o, &res, |_| true).is_none());
        o.resolved = true;
        assert!(alert(&o, &res, |_| false).is_none(), "never alerted");
        assert!(alert(&o, &res, |k| k == base).is_some());
    }

    #[test]
    fn digest_numbers_alerts() {
        let b = body(&opts(), &["a", "b"], 3, true);
        let t = b["text"].as_str().unwrap();
        assert!(t.starts_with(":warning: 3 older"));
        assert!(t.contains(":bell: 2 alerts") && t.contains("*1.* a") && t.contains("*2.* b"));
        assert!(t.contains("at start-up"), "{t}");
        assert_eq!(body(&opts(), &["a"], 0, false)["text"], "a");
    }

    #[test]
    fn long_transaction_alert_once_and_redacted() {
        let mut i = InstanceInfo::for_test(9, "select * from t where card = '4111111111111111'");
        i.kind = InstanceKind::LongTransaction;
        i.xact_start = Some(chrono::Utc::now());
        i.duration = Duration::from_secs(400);
        let ev = SlowEvent::LongTransaction { info: i.clone() };
        let a = alert(&opts(), &ev, |_| false).unwrap();
        assert!(
            a.text.contains("Long transaction") && a.text.contains("6m40s"),
            "{}",
            a.text
        );
        assert!(!a.text.contains("4111"), "{}", a.text);
        assert_eq!(a.keys, vec![i.key()]);
        assert!(
            alert(&opts(), &ev, |k| k == i.key()).is_none(),
            "deduplicated"
        );
    }
}

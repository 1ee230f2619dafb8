//! The state/reason cell of an unreachable server's row, fitted at draw time (it holds a
//! countdown) with [`crate::base::fit`]: the connection string and the error's context go
//! first, then the time (`reconnecting: `), then the error becomes its short cause
//! (`refused`, `access denied`, `timeout`, …) and `reconnecting` goes; the cause and the
//! retry countdown stay.

use chrono::{DateTime, Utc};

use super::rows::{local_time, REASON_COL};
use crate::base::fit::{error_parts, fit, rank, Part, Shrink};
use crate::repl::{ConnState, ServerSnapshot};
use crate::widgets::table::TableState;
use crate::wire::fmt_age;

/// The short cause of a connection error from its kind, with a shorter form for the
/// narrowest cells (`None` when the error is of no known kind: it is then cut by words).
pub fn short_cause(error: &str) -> Option<(&'static str, &'static str)> {
    let e = error.to_ascii_lowercase();
    let has = |ws: &[&str]| ws.iter().any(|w| e.contains(w));
    Some(
        if has(&["connection refused", "(111 ", "(111)", "os error 111"]) {
            ("refused", "refused")
        } else if has(&["access denied", "error 1045", "error 1698", "error 1044"])
            || e.starts_with("password: ")
        {
            ("access denied", "denied")
        } else if has(&["timed out", "timeout"]) {
            ("timeout", "timeout")
        } else if has(&["no route to host", "network is unreachable"]) {
            ("no route", "no route")
        } else if has(&[
            "name or service not known",
            "failed to lookup",
            "no such host",
            "nodename nor servname",
            "unknown mysql server host",
            "temporary failure in name resolution",
        ]) {
            ("unknown host", "no host")
        } else if has(&["no such file or directory", "os error 2)"]) {
            ("no socket", "no sock")
        } else if has(&["connection reset", "broken pipe"]) {
            ("reset", "reset")
        } else {
            return None;
        },
    )
}

/// The reason cell of a down server as parts: `reconnecting since 12:03:04: <error> · retry
/// in 4 s` at full width, `refused · retry 4 s` in 21 cells.
pub fn reason_parts(
    since: DateTime<Utc>,
    error: &str,
    next_try: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<Part> {
    let mut p = vec![
        Part::keep(format!("reconnecting since {}: ", local_time(since)))
            .with(rank::SINCE, Shrink::Alt("reconnecting: ".into()))
            .with(rank::AGE, Shrink::Drop),
    ];
    match short_cause(error) {
        Some((short, shorter)) => {
            // the whole error gives way to its short cause at once
            p.extend(
                error_parts(error)
                    .into_iter()
                    .map(|x| x.with(rank::AGE, Shrink::Drop)),
            );
            p.push(
                Part::keep("")
                    .with(rank::AGE, Shrink::Alt(short.into()))
                    .with(rank::CAUSE + 1, Shrink::Alt(shorter.into())),
            );
        }
        None => p.extend(error_parts(error)),
    }
    if let Some(at) = next_try {
        p.push(if at > now {
            let left = fmt_age(at.signed_duration_since(now));
            Part::keep(format!(" · retry in {left}"))
                .with(rank::COUNTDOWN, Shrink::Alt(format!(" · retry {left}")))
        } else {
            Part::keep(" · retrying now").with(rank::COUNTDOWN, Shrink::Alt(" · retrying".into()))
        });
    }
    p
}

/// `table` with the reason cell of every down server's row fitted into `width` cells at
/// `now`; `None` when no row is of a down server (draw the table as it is).
pub fn fitted(
    table: &TableState,
    snaps: &[ServerSnapshot],
    width: usize,
    now: DateTime<Utc>,
) -> Option<TableState> {
    let down = |key: &str| {
        let srv = super::rows::key_server(key);
        snaps
            .iter()
            .find(|s| s.name == srv)
            .and_then(|s| match &s.state {
                ConnState::Reconnecting { since, error } => Some((*since, error, s.next_try)),
                ConnState::Connected => None,
            })
    };
    if !table.data.rows.iter().any(|r| down(&r.key).is_some()) {
        return None;
    }
    let mut t = table.clone();
    for r in &mut t.data.rows {
        if let (Some((since, error, next)), Some(cell)) =
            (down(&r.key), r.cells.get_mut(REASON_COL))
        {
            *cell = fit(reason_parts(since, error, next, now), width);
        }
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::fit::width;

    const REFUSED: &str = "mysql://monitor@replica-2.prod.example.com:3306: Can't connect to MySQL server on 'replica-2.prod.example.com' (111 \"Connection refused\")";
    const DENIED: &str =
        "ERROR 1045: Access denied for user 'monitor'@'10.0.0.7' (using password: YES)";

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + s, 0).unwrap()
    }

    #[test]
    fn the_cause_and_the_countdown_stay_in_any_cell_from_19() {
        for (err, cause) in [
            (REFUSED, "refused"),
            (DENIED, "denied"),
            ("refresh timed out", "time"),
        ] {
            for w in 19..=200 {
                let l = fit(reason_parts(at(0), err, Some(at(64)), at(60)), w);
                assert!(width(&l) <= w, "{w}: {l}");
                assert!(l.contains(cause) && l.ends_with("4 s"), "{w}: {l}");
            }
        }
        let l = fit(reason_parts(at(0), REFUSED, Some(at(64)), at(60)), 21);
        assert_eq!(l, "refused · retry 4 s");
        let l = fit(reason_parts(at(0), DENIED, Some(at(64)), at(60)), 26);
        assert_eq!(l, "access denied · retry 4 s");
        let l = fit(reason_parts(at(0), REFUSED, Some(at(64)), at(60)), 300);
        assert!(
            l.starts_with("reconnecting since ")
                && l.ends_with("(111 \"Connection refused\") · retry in 4 s"),
            "{l}"
        );
    }

    #[test]
    fn an_unknown_error_keeps_its_cause_words_and_a_past_retry_says_now() {
        let e = "mysql://m@db1:3306: server said: weird thing happened here";
        let l = fit(reason_parts(at(0), e, Some(at(1)), at(60)), 40);
        assert!(
            l.contains("weird thing") && l.ends_with(" · retrying"),
            "{l}"
        );
        assert_eq!(short_cause(e), None);
        let sock = "socket /run/mysqld/mysqld.sock: No such file or directory (os error 2)";
        assert_eq!(short_cause(sock), Some(("no socket", "no sock")));
        let sock = "Can't connect to local server through socket '/tmp/m.sock' (111)";
        assert_eq!(short_cause(sock), Some(("refused", "refused")));
        let l = fit(reason_parts(at(0), e, None, at(60)), 200);
        assert!(l.ends_with("happened here"), "{l}");
    }
}

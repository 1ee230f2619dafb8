//! `stacktop replay PATH`: a recording ([`crate::record`]) shown again.
//! - `--batch --json [--from T --to T]` prints its records ([`batch`]);
//! - without `--batch` it opens the TUI on it ([`tui`]): the same tabs, keys and panes, fed by
//!   the replay source ([`source`]: the decoded records as the live updates, through the same
//!   `App::apply`), read-only, with a time cursor ([`cursor`]) and a timeline of where things
//!   went wrong ([`marks`], drawn by `widgets::timeline`).

pub mod batch;
pub mod cursor;
pub mod cursor_frames;
pub mod cursor_vlog;
pub mod marks;
pub mod player;
pub mod recorded;
pub mod source;
pub mod tui;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

pub use batch::print;

/// A time given to `--from`/`--to`/`:goto`: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (local, also
/// with a `T`), or `HH:MM[:SS]` local on the day of the first record (the next day when that
/// time is before the first record). Returns ms since the epoch.
pub fn parse_time(s: &str, first_ms: Option<i64>) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    let local = |dt: NaiveDateTime| {
        Local
            .from_local_datetime(&dt)
            .earliest()
            .map(|t| t.timestamp_millis())
            .ok_or_else(|| format!("{s} does not exist here (a clock change)"))
    };
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return local(dt);
        }
    }
    let time = NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .map_err(|_| {
            "expected HH:MM[:SS], YYYY-MM-DD HH:MM[:SS] or RFC 3339 (2026-12-03T03:12:00Z)"
                .to_string()
        })?;
    let first = first_ms
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .map_or_else(Local::now, |t| t.with_timezone(&Local));
    let at = |day: NaiveDate| local(day.and_time(time));
    let ms = at(first.date_naive())?;
    if ms < first.timestamp_millis() - 1000 {
        if let Some(next) = first.date_naive().succ_opt() {
            return at(next);
        }
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form() {
        let first = Local
            .with_ymd_and_hms(2026, 12, 3, 3, 10, 0)
            .unwrap()
            .timestamp_millis();
        let at = |h, m, s| {
            Local
                .with_ymd_and_hms(2026, 12, 3, h, m, s)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(parse_time("03:12", Some(first)), Ok(at(3, 12, 0)));
        assert_eq!(parse_time("03:12:05", Some(first)), Ok(at(3, 12, 5)));
        assert_eq!(
            parse_time("2026-12-03 03:12:05", Some(first)),
            Ok(at(3, 12, 5))
        );
        assert_eq!(
            parse_time("2026-12-03T03:12", Some(first)),
            Ok(at(3, 12, 0))
        );
        // before the first record: the next day
        assert_eq!(
            parse_time("03:00", Some(first)),
            Ok(at(3, 0, 0) + 24 * 3600 * 1000)
        );
        assert!(parse_time("soon", Some(first))
            .unwrap_err()
            .contains("HH:MM"));
    }
}

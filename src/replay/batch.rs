//! `stacktop replay PATH --batch --json [--from T --to T]`: a recording ([`crate::record`])
//! printed as JSON lines, in the shape the live `--batch --json` prints. pgtop and
//! replication snapshots are fed to the same views as a live run and printed with
//! [`crate::batch::snapshot`] (the `snapshot` record, then one line per session or server,
//! `ts` being the time the update was recorded); vlog request batches print one request per
//! line as `vlog --batch --json` does; health changes, notices, kills, vlog stats and the
//! recorder's drop counts print one line each: `{"type": KIND, "ts", "view", ...}`.
//! Without `--batch`, replay opens the TUI ([`super::tui`]).

use std::io::Write;

use chrono::{DateTime, Local, TimeZone, Utc};

use super::parse_time;

use crate::app::App;
use crate::cli::{exit, ReplayArgs};
use crate::config::{Config, ViewKind};
use crate::record::store::Reader;
use crate::record::{
    codec::Kind,
    decode::{Decoded, Decoder},
    pg_panes_latest::{self as pg_panes, Latest},
};
use crate::wire::SourceHealth;

/// Records read per query.
const BATCH: usize = 512;

/// Runs `stacktop replay`; returns the exit code.
pub fn run(args: &ReplayArgs, cfg: Config) -> i32 {
    let path = args.target(&cfg.record);
    if args.list {
        return list(&path);
    }
    if !cfg.batch.json {
        eprintln!("stacktop: replay: --batch prints JSON lines only: add --json");
        return exit::USAGE;
    }
    let reader = match Reader::open_recording(&path, args.recording) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stacktop: {e}");
            return exit::RUNTIME;
        }
    };
    let first = reader.span().ok().flatten().map(|(a, _)| a);
    let bound = |s: &Option<String>, what: &str| -> Result<Option<i64>, String> {
        s.as_deref()
            .map(|t| parse_time(t, first).map_err(|e| format!("--{what} {t:?}: {e}")))
            .transpose()
    };
    let (from, to) = match (bound(&args.from, "from"), bound(&args.to, "to")) {
        (Ok(f), Ok(t)) => (f.unwrap_or(i64::MIN), t.unwrap_or(i64::MAX)),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("stacktop: replay: {e}");
            return exit::USAGE;
        }
    };
    let mut out = std::io::stdout().lock();
    match print(&reader, cfg, from, to, &mut out) {
        Ok(skipped) => {
            if skipped > 0 {
                eprintln!(
                    "stacktop: replay: {skipped} records skipped (a pgtop delta whose keyframe \
                     was deleted by retention, or a damaged record)"
                );
            }
            exit::OK
        }
        // stdout closed (piped into head): not an error
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("stacktop: replay: {e}");
            exit::RUNTIME
        }
    }
}

/// `--list`: one line per recording: id, label, host, first and last record (local), count.
fn list(target: &std::path::Path) -> i32 {
    let recs = match Reader::list(target) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stacktop: {e}");
            return exit::RUNTIME;
        }
    };
    let t = |ms: Option<i64>| {
        ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .map_or_else(
                || "-".to_string(),
                |t| {
                    t.with_timezone(&Local)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                },
            )
    };
    let mut out = format!(
        "{:>6}  {:<24} {:<20} {:<19}  {:<19}  {:>9}\n",
        "ID", "LABEL", "HOST", "FIRST", "LAST", "RECORDS"
    );
    for r in recs {
        out.push_str(&format!(
            "{:>6}  {:<24} {:<20} {:<19}  {:<19}  {:>9}\n",
            r.id,
            crate::base::fit::end_cut(&printable(&r.label), 24),
            crate::base::fit::end_cut(&printable(&r.host), 20),
            t(r.first_ms),
            t(r.last_ms),
            r.records
        ));
    }
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    exit::OK
}

/// Server-side text for the terminal: control characters shown as `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Prints the records from `from` to `to` (ms since the epoch); returns how many could not be
/// decoded.
pub fn print(
    reader: &Reader,
    cfg: Config,
    from: i64,
    to: i64,
    out: &mut impl Write,
) -> std::io::Result<u64> {
    let sql = |e: rusqlite::Error| std::io::Error::other(e.to_string());
    let delta_kinds = [Kind::PgSnapshot, pg_panes::KINDS[0], pg_panes::KINDS[1]].map(Kind::name);
    let Some(mut next) = reader.start_id(from, &delta_kinds).map_err(sql)? else {
        return Ok(0);
    };
    let mut app = App::new(
        cfg,
        crate::theme::Theme::builtin_default(),
        ViewKind::default(),
    );
    let mut dec = Decoder::default();
    let mut panes = Latest::default();
    let mut skipped = 0;
    loop {
        let rows = reader.batch(next, to, BATCH).map_err(sql)?;
        let Some(last) = rows.last() else { break };
        next = last.id + 1;
        for row in rows {
            let decoded = dec
                .decode(&row.kind, row.keyframe, &row.data)
                .map(|d| panes.pass(&row.kind, d));
            // read before `from` only to rebuild the state there; a pgtop pane shows on the
            // snapshots after it (as live: the sessions' `wait_sampling`), no line of its own
            if row.ts_ms < from || (decoded.is_ok() && Latest::is_pane(&row.kind)) {
                continue;
            }
            let decoded = match decoded {
                Ok(d) => d,
                Err(_) => {
                    skipped += 1;
                    continue;
                }
            };
            let now = Utc
                .timestamp_millis_opt(row.ts_ms)
                .single()
                .unwrap_or_default()
                .with_timezone(&Local);
            let view = ViewKind::parse(&row.view);
            let text = lines(&mut app, view, &row.kind, decoded, now);
            out.write_all(text.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(skipped)
}

/// The output of one record.
fn lines(
    app: &mut App,
    view: Option<ViewKind>,
    kind: &str,
    d: Decoded,
    now: DateTime<Local>,
) -> String {
    let head = |extra: serde_json::Value| {
        let mut v = serde_json::json!({
            "type": kind,
            "ts": now.to_rfc3339(),
            "view": view.map_or("recorder", |v| v.name()),
        });
        if let (serde_json::Value::Object(m), serde_json::Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        let mut s = v.to_string();
        s.push('\n');
        s
    };
    match (d, view) {
        (Decoded::Json(serde_json::Value::Array(reqs)), Some(_))
            if kind == Kind::VlogRequests.name() =>
        {
            reqs.into_iter()
                .map(|mut r| {
                    if let serde_json::Value::Object(m) = &mut r {
                        // recorded for the TUI's filters, not part of the batch JSON
                        m.remove("hit_record");
                        m.insert("ts".into(), now.to_rfc3339().into());
                    }
                    let mut s = r.to_string();
                    s.push('\n');
                    s
                })
                .collect()
        }
        (Decoded::Json(v), _) => head(serde_json::json!({ "data": v })),
        (Decoded::Health(h), view) => {
            if let Some(view) = view {
                if let Some(u) = Decoded::Health(h.clone()).into_update(view) {
                    app.apply(u);
                }
            }
            head(serde_json::to_value(&h).unwrap_or_default())
        }
        (d, Some(view)) => {
            // a pgtop snapshot carries its own connection state (the health update that
            // follows it live was not recorded when unchanged)
            let own = match &d {
                Decoded::Pg(s) => Some(crate::pg::source::health(&s.status, s.taken_at.into())),
                _ => None,
            };
            let Some(u) = d.into_update(view) else {
                return String::new();
            };
            app.apply(u);
            app.tick(now);
            let v = app.view(view);
            let health = own.unwrap_or_else(|| v.core().health.clone());
            let fresh = matches!(health, SourceHealth::Live { .. });
            crate::batch::snapshot(v, &health, v.core().last_data, fresh, true, now)
        }
        (_, None) => String::new(),
    }
}

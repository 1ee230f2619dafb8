//! Batch mode (`--batch`, like `top -b`): the same collectors and view state as the UI, but
//! each interval the active view's snapshot is printed to stdout (text table, or NDJSON with
//! `--json`) instead of drawn. Nothing here touches the terminal mode.

use crate::app::App;
use crate::messages::Update;
use crate::views::View;
use crate::wire::{exit, SourceHealth};
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a batch run keeps trying an unreachable source when `--give-up-after` is unset.
pub const DEFAULT_GIVE_UP: Duration = Duration::from_secs(300);

/// Prints one snapshot record per interval for the active view. Returns the exit code:
/// `cli::exit`, or the view's own (`View::batch_exit_code`; pgtop: worst of the printed
/// snapshots with current data; repl: the last one's, `View::batch_exit_from_last`).
///
/// Each record first says the state and the age of the data; the rows follow only when they
/// are new data from a connected source. While the source is down the record says
/// `disconnected` (or `no_answer`, `connecting`) and no row is printed. State changes and
/// the source's warnings go to stderr. After `--give-up-after` (default 5 min) of the source
/// being down, or when `--count` is reached while it is down, the exit code is 1.
pub async fn run(mut app: App, mut updates: mpsc::Receiver<Update>) -> i32 {
    let cfg = app.config.batch.clone();
    let interval = cfg
        .interval
        .map_or(app.refresh, |d| d.get())
        .max(Duration::from_millis(10));
    let give_up = cfg.give_up_after.map_or(DEFAULT_GIVE_UP, |d| d.get());
    let view = app.active;
    if crate::views::registry::tab(view).batch_streams {
        return crate::vlog::batch::stream(app, updates, cfg.give_up_after.map(|d| d.get())).await;
    }
    let mut watch = Watch::new(view, give_up);
    // The first record waits for the source's first answer (or failure), bounded.
    let first = tokio::time::Instant::now() + interval.max(Duration::from_secs(10));
    while matches!(
        app.view(view).core().health,
        SourceHealth::Connecting { .. } | SourceHealth::Idle
    ) {
        match tokio::time::timeout_at(first, updates.recv()).await {
            Ok(Some(u)) => watch.apply(&mut app, u),
            Ok(None) | Err(_) => break,
        }
    }
    let mut printed: u64 = 0;
    // the `at` of the last data printed: the same data is never printed twice
    let mut shown: Option<chrono::DateTime<chrono::Local>> = None;
    // a view's own code (pgtop: slow / critical), the worst over all printed snapshots, or
    // the last one's (repl: a server down)
    let mut worst: Option<i32> = None;
    let mut stdout = std::io::stdout();
    loop {
        while let Ok(u) = updates.try_recv() {
            watch.apply(&mut app, u);
        }
        app.tick(chrono::Local::now());
        let v = app.view(view);
        let health = v.core().health.clone();
        if health == SourceHealth::Idle {
            eprintln!("stacktop: no source for the {} view", view.name());
            return exit::RUNTIME;
        }
        let fresh = matches!(health, SourceHealth::Live { at } if shown != Some(at));
        if let SourceHealth::Live { at } = health {
            shown = Some(at);
        }
        let out = snapshot(v, &health, v.core().last_data, fresh, cfg.json, app.now);
        if stdout
            .write_all(out.as_bytes())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            return exit::OK; // stdout closed (e.g. piped into head): not an error
        }
        printed += 1;
        if fresh {
            let code = v.batch_exit_code();
            if v.batch_exit_from_last() {
                worst = code;
            } else {
                worst = worst.max(code);
            }
        }
        if cfg.count.is_some_and(|c| printed >= c) {
            return if health.is_live() {
                worst.unwrap_or(exit::OK)
            } else {
                eprintln!(
                    "stacktop: {}: {} at the last snapshot",
                    view.name(),
                    health.describe()
                );
                exit::RUNTIME
            };
        }
        // Wait for the next interval; a refresh that lands a little late (within half an
        // interval) is waited for, so a healthy source never prints a record without rows.
        let due = tokio::time::Instant::now() + interval;
        let grace = due + interval / 2;
        loop {
            if watch.gave_up() {
                eprintln!(
                    "stacktop: {}: giving up: unreachable for {} (--give-up-after)",
                    view.name(),
                    humantime::format_duration(give_up)
                );
                return exit::RUNTIME;
            }
            let now = tokio::time::Instant::now();
            let new_data = matches!(app.view(view).core().health,
                SourceHealth::Live { at } if shown != Some(at));
            let live = app.view(view).core().health.is_live();
            if now >= due && (new_data || !live || now >= grace) {
                break;
            }
            let until = if now < due { due } else { grace };
            let until = watch.give_up_at().map_or(until, |g| g.min(until));
            match tokio::time::timeout_at(until, updates.recv()).await {
                Ok(Some(u)) => watch.apply(&mut app, u),
                Ok(None) => tokio::time::sleep_until(until).await,
                Err(_) => {}
            }
        }
    }
}

/// Follows the source's state for batch mode: state changes and the source's warnings on
/// stderr, and since when it has been down (for `--give-up-after`).
struct Watch {
    view: crate::wire::ViewKind,
    give_up: Duration,
    state: &'static str,
    down_since: Option<tokio::time::Instant>,
}

impl Watch {
    fn new(view: crate::wire::ViewKind, give_up: Duration) -> Self {
        Watch {
            view,
            give_up,
            state: "",
            down_since: None,
        }
    }

    fn apply(&mut self, app: &mut App, u: Update) {
        if u.view == self.view {
            if let crate::messages::Payload::Notice { level, text } = &u.payload {
                if *level != crate::wire::Level::Info {
                    eprintln!("stacktop: {}: {text}", self.view.name());
                }
            }
        }
        app.apply(u);
        let h = &app.view(self.view).core().health;
        let state = h.state_name();
        if state != self.state {
            // news: losing the source, and getting it back; not the start-up states
            let first_connect = state == "connected" && self.state.is_empty();
            if !matches!(state, "no_source" | "connecting") && !first_connect {
                eprintln!("stacktop: {}: {}", self.view.name(), h.describe());
            }
            if state != "no_source" && state != "connecting" {
                self.state = state;
            }
        }
        match h {
            SourceHealth::Reconnecting { .. } | SourceHealth::Stalled { .. } => {
                self.down_since
                    .get_or_insert_with(tokio::time::Instant::now);
            }
            SourceHealth::Live { .. } => self.down_since = None,
            SourceHealth::Connecting { .. } | SourceHealth::Idle => {}
        }
    }

    fn give_up_at(&self) -> Option<tokio::time::Instant> {
        self.down_since.map(|d| d + self.give_up)
    }

    fn gave_up(&self) -> bool {
        self.give_up_at()
            .is_some_and(|g| tokio::time::Instant::now() >= g)
    }
}

/// One snapshot: a record saying the state and the age of the data, then the rows when
/// `fresh` (new data from a connected source). JSON: `{"type":"snapshot","ts","view","state",
/// "age_ms","rows"(,"sessions")}` then one object per row with its `"type"` (pgtop:
/// `"session"`); text: a `#` header line, then the table.
pub fn snapshot(
    v: &dyn View,
    health: &SourceHealth,
    last_data: Option<chrono::DateTime<chrono::Local>>,
    fresh: bool,
    json: bool,
    now: chrono::DateTime<chrono::Local>,
) -> String {
    let age = last_data.map(|t| now.signed_duration_since(t).num_milliseconds().max(0));
    let rows = if fresh { v.batch_json() } else { Vec::new() };
    if json {
        let mut rec = serde_json::json!({
            "type": "snapshot",
            "ts": now.to_rfc3339(),
            "view": v.kind().name(),
            "state": health.state_name(),
            "age_ms": age,
        });
        if let serde_json::Value::Object(m) = &mut rec {
            if let SourceHealth::Stalled { since }
            | SourceHealth::Reconnecting { since, .. }
            | SourceHealth::Connecting { since } = health
            {
                m.insert("since".into(), since.to_rfc3339().into());
            }
            // null: no current data (the source is down, or nothing new since the last record)
            let n = fresh.then_some(rows.len());
            m.insert("rows".into(), n.into());
            if let Some(key) = v.batch_count_key() {
                m.insert(key.into(), n.into());
            }
        }
        let mut out = rec.to_string();
        out.push('\n');
        for mut row in rows {
            if let serde_json::Value::Object(m) = &mut row {
                m.entry("type").or_insert_with(|| v.batch_row_type().into());
                m.insert("ts".into(), serde_json::Value::String(now.to_rfc3339()));
            }
            out.push_str(&row.to_string());
            out.push('\n');
        }
        out
    } else {
        let age = age.map_or("no data yet".to_string(), |ms| {
            format!("data {:.1} s old", ms as f64 / 1000.0)
        });
        let head = format!(
            "# {} {} · {} · {age}",
            now.format("%Y-%m-%d %H:%M:%S"),
            v.kind().name(),
            health.describe(),
        );
        if fresh {
            format!("{head}\n{}\n", v.batch_text())
        } else {
            format!("{head} · no current rows\n")
        }
    }
}

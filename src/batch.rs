//! Batch mode (`--batch`, like `top -b`): the same collectors and view state as the UI, but
//! each interval the active view's snapshot is printed to stdout (text table, or NDJSON with
//! `--json`) instead of drawn. Nothing here touches the terminal mode.

use crate::app::App;
use crate::cli::exit;
use crate::collect::{SourceHealth, Update};
use crate::views::View;
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// Prints `batch.count` snapshots of the active view. Returns the exit code: `cli::exit`,
/// or the view's own (`View::batch_exit_code`; pgtop: worst of the printed snapshots).
pub async fn run(mut app: App, mut updates: mpsc::Receiver<Update>) -> i32 {
    let cfg = app.config.batch.clone();
    let interval = cfg
        .interval
        .map_or(app.refresh, |d| d.get())
        .max(Duration::from_millis(10));
    let view = app.active;
    if view == crate::config::ViewKind::Vlog {
        return crate::vlog::batch::stream(app, updates).await;
    }
    // The first snapshot waits for the source to answer (or fail), bounded.
    let first_deadline = tokio::time::Instant::now() + interval.max(Duration::from_secs(10));
    loop {
        match &app.view(view).core().health {
            SourceHealth::Live { .. } | SourceHealth::Reconnecting { .. } => break,
            // Idle is also the state before the first update: wait for it (the channel
            // closes at once when no collector was started).
            SourceHealth::Connecting { .. } | SourceHealth::Idle => {}
        }
        match tokio::time::timeout_at(first_deadline, updates.recv()).await {
            Ok(Some(u)) => app.apply(u),
            Ok(None) | Err(_) => break,
        }
    }
    let mut printed: u64 = 0;
    // a view's own code (pgtop: slow / critical), the worst over all printed snapshots
    let mut worst: Option<i32> = None;
    let mut stdout = std::io::stdout();
    loop {
        while let Ok(u) = updates.try_recv() {
            app.apply(u);
        }
        let v = app.view(view);
        let health = v.core().health.clone();
        if health == SourceHealth::Idle {
            eprintln!(
                "stacktop: no source configured for the {} view",
                view.name()
            );
            return exit::RUNTIME;
        }
        let out = snapshot(v, &health, cfg.json, app.now);
        if stdout
            .write_all(out.as_bytes())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            return exit::OK; // stdout closed (e.g. piped into head): not an error
        }
        printed += 1;
        if !health.is_failed() {
            if let Some(c) = v.batch_exit_code() {
                worst = worst.max(Some(c));
            }
        }
        if cfg.count.is_some_and(|c| printed >= c) {
            return if health.is_failed() {
                exit::RUNTIME
            } else {
                worst.unwrap_or(exit::OK)
            };
        }
        let deadline = tokio::time::Instant::now() + interval;
        while let Ok(Some(u)) = tokio::time::timeout_at(deadline, updates.recv()).await {
            app.apply(u);
        }
        app.tick(chrono::Local::now());
    }
}

/// One snapshot as text (a header line and the table) or NDJSON.
pub fn snapshot(
    v: &dyn View,
    health: &SourceHealth,
    json: bool,
    now: chrono::DateTime<chrono::Local>,
) -> String {
    if json {
        let mut out = String::new();
        if health.is_failed() {
            let obj = serde_json::json!({ "ts": now.to_rfc3339(), "view": v.kind().name(), "error": health.describe() });
            out.push_str(&obj.to_string());
            out.push('\n');
        }
        for mut row in v.batch_json() {
            if let serde_json::Value::Object(m) = &mut row {
                m.insert("ts".into(), serde_json::Value::String(now.to_rfc3339()));
            }
            out.push_str(&row.to_string());
            out.push('\n');
        }
        out
    } else {
        format!(
            "# {} {} · {}\n{}\n",
            now.format("%Y-%m-%d %H:%M:%S"),
            v.kind().name(),
            health.describe(),
            v.batch_text()
        )
    }
}

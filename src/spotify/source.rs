//! The spotify collector: the tokio task `sources::spawn` starts for the explorer tab. It
//! opens the store (lazily for a SQLite file that does not exist yet, so merely starting
//! stacktop creates nothing), reports health and a [`StoreInfo`] (rows, countries, first and
//! last chart day), runs the [`runner`](super::runner) for queries, questions and imports, and
//! does the view's file I/O: exports of a whole result to CSV/JSON, saved queries and the SQL
//! editor's history in the data dir.
//!
//! Data flow: UI `SourceCommand::Spotify(SpotifyCommand)` → this task → runner / files →
//! `Update { Payload::Spotify(SpotifyEvent) }` → `SpotifyView::apply`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use chrono::Local;
use tokio::sync::mpsc;

use super::history;
use super::import::ImportOptions;
pub use super::msg::{SavedQuery, SpotifyCommand, SpotifyEvent, StoreInfo};
use super::results::{Cell, ResultSet};
use super::runner::{self, Event, Request};
use super::{Backend, SpotifyConfig, Store};
use crate::messages::{Payload, SourceCommand, Update};
use crate::wire::{Level, SourceHealth, ViewKind};

/// Where saved queries and exports go: `spotify.data_dir` or `$XDG_DATA_HOME/stacktop`.
pub fn data_dir(cfg: &SpotifyConfig) -> Result<PathBuf> {
    if let Some(d) = &cfg.data_dir {
        return Ok(d.clone());
    }
    dirs::data_dir()
        .map(|d| d.join("stacktop"))
        .ok_or_else(|| anyhow!("no XDG data directory (set HOME or XDG_DATA_HOME)"))
}

/// Start the collector; returns its command channel.
pub fn spawn(cfg: SpotifyConfig, tx: mpsc::Sender<Update>) -> mpsc::Sender<SourceCommand> {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    tokio::spawn(run(cfg, tx, cmd_rx));
    cmd_tx
}

struct Task {
    cfg: SpotifyConfig,
    tx: mpsc::Sender<Update>,
    runner: Option<runner::RunnerHandle>,
    store: Option<Store>,
    /// The editor's history as saved in the data dir (kept here so each addition rewrites it).
    history: Vec<String>,
    /// A failed history write was reported (once per session, not once per query).
    history_warned: bool,
}

impl Task {
    async fn send(&self, payload: Payload) -> bool {
        self.tx
            .send(Update {
                view: ViewKind::Spotify,
                payload,
            })
            .await
            .is_ok()
    }

    async fn event(&self, e: SpotifyEvent) -> bool {
        self.send(Payload::Spotify(Box::new(e))).await
    }

    async fn notice(&self, level: Level, text: String) -> bool {
        self.send(Payload::Notice { level, text }).await
    }

    async fn health(&self, h: SourceHealth) -> bool {
        self.send(Payload::Health(h)).await
    }

    fn describe(&self) -> String {
        match self.cfg.backend {
            Backend::Sqlite => format!(
                "sqlite {}",
                self.cfg
                    .sqlite_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            Backend::Mysql => match &self.cfg.url {
                Some(u) => format!("mysql {}", super::config::mask_url_password(u)),
                None => format!(
                    "mysql {}:{}/{}",
                    self.cfg.host.as_deref().unwrap_or("127.0.0.1"),
                    self.cfg.port.unwrap_or(3306),
                    self.cfg.database()
                ),
            },
        }
    }

    /// Open the store if needed; errors are reported as health.
    async fn ensure_store(&mut self) -> Option<Store> {
        if let Some(s) = &self.store {
            return Some(s.clone());
        }
        self.health(SourceHealth::Connecting {
            since: Local::now(),
        })
        .await;
        match Store::open(&self.cfg).await {
            Ok(s) => {
                self.runner = Some(runner::spawn(s.clone()));
                self.store = Some(s.clone());
                // Info first: batch mode prints once the source is live.
                self.refresh_info().await;
                self.health(SourceHealth::Live { at: Local::now() }).await;
                Some(s)
            }
            Err(e) => {
                self.health(SourceHealth::Reconnecting {
                    since: Local::now(),
                    error: format!("{e:#}"),
                    next_try: None,
                })
                .await;
                None
            }
        }
    }

    async fn refresh_info(&self) {
        let mut info = StoreInfo {
            backend: self.describe(),
            table: self.cfg.table.clone(),
            ..Default::default()
        };
        if let Some(store) = &self.store {
            let t = store.table();
            // A MySQL table that does not exist yet (no import so far) is simply empty.
            if let Ok(rs) = store
                .run_query(&format!(
                    "SELECT COUNT(*), MIN(list_date), MAX(list_date) FROM {t}"
                ))
                .await
            {
                if let Some(r) = rs.rows.first() {
                    info.rows = r.first().and_then(Cell::as_f64).unwrap_or(0.0) as u64;
                    info.first_day = text(r.get(1));
                    info.last_day = text(r.get(2));
                }
            }
            info.countries = store.countries().await.unwrap_or_default();
        }
        self.event(SpotifyEvent::Info(info)).await;
    }

    /// Read the saved history and send it to the tab. An unreadable file is reported and
    /// moved aside (`sql_history.json.bad`), and a new history starts.
    async fn load_history(&mut self) {
        let Ok(dir) = data_dir(&self.cfg) else {
            return;
        };
        let path = history::path(&dir);
        match history::load(&path) {
            Ok(h) => self.history = h,
            Err(e) => {
                let _ = std::fs::rename(&path, path.with_extension("json.bad"));
                self.notice(
                    Level::Warn,
                    format!("SQL history unreadable, starting a new one: {e:#}"),
                )
                .await;
            }
        }
        if !self.history.is_empty() {
            self.event(SpotifyEvent::History(self.history.clone()))
                .await;
        }
    }

    fn request(&self, r: Request) {
        if let Some(h) = &self.runner {
            let _ = h.requests.send(r);
        }
    }

    async fn command(&mut self, cmd: SpotifyCommand) {
        match cmd {
            SpotifyCommand::Export {
                result,
                name,
                path,
                json,
            } => {
                let rows = result.rows.len();
                let cfg = self.cfg.clone();
                let done = blocking(move || export(&cfg, &result, &name, path, json)).await;
                let ev = match done {
                    Ok(path) => {
                        self.notice(
                            Level::Info,
                            format!("exported {rows} rows to {}", path.display()),
                        )
                        .await;
                        SpotifyEvent::Exported { path, rows }
                    }
                    Err(e) => {
                        let text = format!("export failed: {e:#}");
                        self.notice(Level::Error, text.clone()).await;
                        SpotifyEvent::Error(text)
                    }
                };
                self.event(ev).await;
            }
            SpotifyCommand::SaveQuery { name, sql } => {
                let cfg = self.cfg.clone();
                let done = blocking(move || {
                    save_query(&cfg, &name, &sql)?;
                    Ok(load_queries(&cfg))
                })
                .await;
                let ev = match done {
                    Ok(saved) => SpotifyEvent::SavedQueries(saved),
                    Err(e) => {
                        let text = format!("save failed: {e:#}");
                        self.notice(Level::Error, text.clone()).await;
                        SpotifyEvent::Error(text)
                    }
                };
                self.event(ev).await;
            }
            SpotifyCommand::AddHistory { sql } => {
                if history::push(&mut self.history, &sql) {
                    let (cfg, entries) = (self.cfg.clone(), self.history.clone());
                    let saved =
                        blocking(move || history::save(&history::path(&data_dir(&cfg)?), &entries))
                            .await;
                    if let Err(e) = saved {
                        if !std::mem::replace(&mut self.history_warned, true) {
                            self.notice(Level::Warn, format!("SQL history not saved: {e:#}"))
                                .await;
                        }
                    }
                }
            }
            SpotifyCommand::Cancel { id } => self.request(Request::Cancel { id }),
            other => {
                if self.ensure_store().await.is_none() {
                    let id = match &other {
                        SpotifyCommand::Sql { id, .. }
                        | SpotifyCommand::Ask { id, .. }
                        | SpotifyCommand::Import { id, .. } => *id,
                        _ => 0,
                    };
                    self.event(SpotifyEvent::Job(Event::Failed {
                        id,
                        error: "the chart store is not available (see the status line)".into(),
                    }))
                    .await;
                    return;
                }
                self.request(match other {
                    SpotifyCommand::Sql { id, sql } => Request::Sql { id, sql },
                    SpotifyCommand::Ask {
                        id,
                        question,
                        params,
                    } => Request::Ask {
                        id,
                        question,
                        params,
                    },
                    SpotifyCommand::Import { id, files } => Request::Import {
                        id,
                        files,
                        opts: ImportOptions::default(),
                    },
                    _ => return,
                });
            }
        }
    }
}

fn text(c: Option<&Cell>) -> Option<String> {
    match c {
        Some(Cell::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

async fn run(
    cfg: SpotifyConfig,
    tx: mpsc::Sender<Update>,
    mut commands: mpsc::Receiver<SourceCommand>,
) {
    let lazy = cfg.backend == Backend::Sqlite && cfg.sqlite_path().is_ok_and(|p| !p.exists());
    let mut task = Task {
        cfg,
        tx,
        runner: None,
        store: None,
        history: Vec::new(),
        history_warned: false,
    };
    task.event(SpotifyEvent::SavedQueries(load_queries(&task.cfg)))
        .await;
    task.load_history().await;
    if lazy {
        // Nothing to open yet: the file is created by the first import or query.
        task.refresh_info().await;
        task.health(SourceHealth::Live { at: Local::now() }).await;
    } else {
        task.ensure_store().await;
    }
    loop {
        let event = async {
            match task.runner.as_mut() {
                Some(r) => r.events.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None => break,
                Some(SourceCommand::Spotify(c)) => task.command(*c).await,
                Some(SourceCommand::RefreshNow) => {
                    if task.ensure_store().await.is_some() {
                        task.refresh_info().await;
                    }
                }
                Some(_) => {}
            },
            Some(ev) = event => {
                let done = matches!(ev, Event::ImportDone { .. });
                if let Event::ImportDone { summary, .. } = &ev {
                    let text = summary.to_string();
                    let first = text.lines().next().unwrap_or("import finished").to_string();
                    task.notice(Level::Info, first).await;
                }
                if !task.event(SpotifyEvent::Job(ev)).await {
                    break;
                }
                if done {
                    task.refresh_info().await;
                }
            }
        }
    }
    if let Some(r) = &task.runner {
        let _ = r.requests.send(Request::Shutdown);
    }
}

/// A safe file-name stem from a question id or "query".
fn stem(name: &str) -> String {
    let s = crate::private_fs::safe_name(name);
    if s.is_empty() {
        "query".into()
    } else {
        s
    }
}

/// Write `rs` as CSV or JSON; returns the path written.
/// Runs file work on tokio's blocking pool, so the collector's worker thread stays free.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(anyhow!("file task failed: {e}")))
}

pub fn export(
    cfg: &SpotifyConfig,
    rs: &ResultSet,
    name: &str,
    path: Option<PathBuf>,
    json: bool,
) -> Result<PathBuf> {
    let path = match path {
        Some(p) => p,
        None => {
            let ext = if json { "json" } else { "csv" };
            data_dir(cfg)?.join("exports").join(format!(
                "{}-{}.{ext}",
                stem(name),
                Local::now().format("%Y%m%d-%H%M%S")
            ))
        }
    };
    let tmp = path.with_extension("partial");
    // 0600 in 0700 directories: an export holds query results.
    let f = crate::private_fs::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    let w = std::io::BufWriter::new(f);
    if json {
        rs.write_json(w)?;
    } else {
        rs.write_csv(w)?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(path)
}

fn queries_dir(cfg: &SpotifyConfig) -> Result<PathBuf> {
    Ok(data_dir(cfg)?.join("queries"))
}

/// Save `sql` as `<data_dir>/queries/<name>.sql`.
pub fn save_query(cfg: &SpotifyConfig, name: &str, sql: &str) -> Result<()> {
    let dir = queries_dir(cfg)?;
    let path = dir.join(format!("{}.sql", stem(name)));
    crate::private_fs::write(&path, sql.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

/// Saved queries, sorted by name (unreadable files are left out).
pub fn load_queries(cfg: &SpotifyConfig) -> Vec<SavedQuery> {
    let Ok(dir) = queries_dir(cfg) else {
        return Vec::new();
    };
    read_queries(&dir)
}

fn read_queries(dir: &Path) -> Vec<SavedQuery> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<SavedQuery> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .filter_map(|p| {
            let name = p.file_stem()?.to_string_lossy().into_owned();
            let sql = std::fs::read_to_string(&p).ok()?;
            Some(SavedQuery { name, sql })
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn saves_lists_and_exports() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SpotifyConfig {
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        save_query(&cfg, "top artists/2017", "SELECT 1").unwrap();
        let q = load_queries(&cfg);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].name, "top_artists_2017");
        let rs = ResultSet {
            columns: vec!["a".into()],
            rows: vec![vec![Cell::Int(1)], vec![Cell::Text("x,y".into())]],
            elapsed: Duration::ZERO,
            truncated: false,
        };
        let p = export(&cfg, &rs, "artist-streams", None, false).unwrap();
        assert!(p.starts_with(dir.path().join("exports")));
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, "a\n1\n\"x,y\"\n");
        let j = dir.path().join("out.json");
        export(&cfg, &rs, "q", Some(j.clone()), true).unwrap();
        assert!(std::fs::read_to_string(j).unwrap().contains("x,y"));
    }
}

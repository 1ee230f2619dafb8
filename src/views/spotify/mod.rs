//! The spotify tab: ready-made questions with their parameters and SQL on the left, an SQL
//! editor, and the result (table with sorting, "N rows in set" line, bar or line chart) on the
//! right; `:import PATH` with a progress gauge. The view only holds state and sends
//! [`SpotifyCommand`]s; the collector (`spotify::source`) runs queries, imports and file I/O.
//!
//! Data flow: keys → `handle`/`modal_key`/`command` → `Effect::ToSource(Spotify, …)` →
//! collector → `Payload::Spotify(SpotifyEvent)` → [`SpotifyView::apply`] → `render` (pure).

mod actions;
mod charts;
pub mod editor;
mod render;
mod rows;

use std::sync::Arc;

use super::{Ctx, View, ViewCore};
use crate::keymap::{Action, Modal};
use crate::messages::{Effect, Payload, SourceCommand};
use crate::spotify::import::Progress;
use crate::spotify::msg::{SavedQuery, SpotifyCommand, SpotifyEvent, StoreInfo};
use crate::spotify::questions::{self, ChartHint, Params, Question};
use crate::spotify::results::ResultSet;
use crate::spotify::runner::{Event, JobId};
use crate::spotify::Dialect;
use crate::theme::Theme;
use crate::widgets::selection::Selection;
use crate::wire::{Level, ViewKind};
use chrono::{DateTime, Local};
use crossterm::event::KeyEvent;
use editor::{Editor, EditorOutcome};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Which pane has the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Questions,
    Editor,
    Results,
}

/// A query or question that has been sent and not yet answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub id: JobId,
    /// Question id, or "query".
    pub label: String,
    pub sql: String,
    /// When it was sent (the status line shows the time since, against the app clock).
    pub started: DateTime<Local>,
}

/// An import in progress.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportState {
    pub id: JobId,
    pub phase: String,
    pub progress: Option<Progress>,
}

/// The last answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub label: String,
    pub sql: String,
    pub result: Arc<ResultSet>,
    pub chart: ChartHint,
}

#[derive(Debug, Default)]
pub struct SpotifyView {
    /// `core.table` holds the current result (sortable, filterable).
    pub core: ViewCore,
    pub info: StoreInfo,
    pub focus: Focus,
    /// Index in the left list: the questions, then the saved queries.
    pub selected: Selection<()>,
    pub params: Params,
    pub editor: Editor,
    pub saved: Vec<SavedQuery>,
    pub running: Option<Running>,
    pub answer: Option<Answer>,
    pub import: Option<ImportState>,
    /// An error or refusal shown above the results (cleared by the next answer).
    pub message: Option<(Level, String)>,
    pub hide_chart: bool,
    next_id: JobId,
}

/// The left list's entries have no id (the cursor keeps its position): `()` for each.
pub(crate) fn entry_at(n: usize) -> impl Fn(usize) -> Option<()> {
    move |i| (i < n).then_some(())
}

impl SpotifyView {
    /// Entries in the left list.
    pub fn list_len(&self) -> usize {
        questions::list().len() + self.saved.len()
    }

    /// The selected ready-made question, if a question (not a saved query) is selected.
    pub fn question(&self) -> Option<&'static Question> {
        questions::list().get(self.selected.at())
    }

    fn saved_query(&self) -> Option<&SavedQuery> {
        self.selected
            .at()
            .checked_sub(questions::list().len())
            .and_then(|i| self.saved.get(i))
    }

    pub fn dialect(&self) -> Dialect {
        if self.info.backend.starts_with("mysql") {
            Dialect::Mysql
        } else {
            Dialect::Sqlite
        }
    }

    /// The SQL of the selected question with the current parameters (or why it cannot run).
    pub fn question_sql(&self) -> Result<String, String> {
        let table = if self.info.table.is_empty() {
            "top200"
        } else {
            &self.info.table
        };
        match self.question() {
            Some(q) => q
                .sql(table, self.dialect(), &self.params)
                .map_err(|e| format!("{e:#}")),
            None => match self.saved_query() {
                Some(s) => Ok(s.sql.clone()),
                None => Err("nothing selected".into()),
            },
        }
    }

    fn next_job(&mut self) -> JobId {
        self.next_id += 1;
        self.next_id
    }

    fn send(ctx: &mut Ctx, cmd: SpotifyCommand) {
        ctx.effects.push(Effect::ToSource(
            ViewKind::Spotify,
            SourceCommand::Spotify(Box::new(cmd)),
        ));
    }

    /// Ask the selected question (or run the selected saved query).
    pub fn ask(&mut self, ctx: &mut Ctx) {
        if let Some(q) = self.question() {
            let sql = match self.question_sql() {
                Ok(s) => s,
                Err(e) => {
                    ctx.flash(Level::Error, e);
                    return;
                }
            };
            let id = self.next_job();
            self.running = Some(Running {
                id,
                label: q.id.to_string(),
                sql,
                started: Local::now(),
            });
            Self::send(
                ctx,
                SpotifyCommand::Ask {
                    id,
                    question: q.id.to_string(),
                    params: self.params.clone(),
                },
            );
        } else if let Some(s) = self.saved_query().cloned() {
            self.editor.set_text(&s.sql);
            self.run_sql(&s.sql, &s.name, ctx);
        }
    }

    /// Run ad-hoc SQL after the read-only check (a refusal is shown, nothing is sent).
    pub fn run_sql(&mut self, sql: &str, label: &str, ctx: &mut Ctx) {
        if sql.trim().is_empty() {
            ctx.flash(Level::Warn, "the editor is empty");
            return;
        }
        if self.editor.push_history(sql) {
            Self::send(
                ctx,
                SpotifyCommand::AddHistory {
                    sql: sql.trim().to_string(),
                },
            );
        }
        if let Err(refused) = crate::spotify::readonly::check(sql, self.dialect()) {
            let text = refused.to_string();
            self.message = Some((Level::Error, text.clone()));
            ctx.flash(Level::Error, text);
            return;
        }
        let id = self.next_job();
        self.running = Some(Running {
            id,
            label: label.to_string(),
            sql: sql.to_string(),
            started: Local::now(),
        });
        Self::send(
            ctx,
            SpotifyCommand::Sql {
                id,
                sql: sql.to_string(),
            },
        );
    }

    /// Cancel the running query, else the running import.
    pub fn cancel(&mut self, ctx: &mut Ctx) {
        let id = match (&self.running, &self.import) {
            (Some(r), _) => r.id,
            (None, Some(i)) => i.id,
            (None, None) => {
                ctx.flash(Level::Info, "nothing is running");
                return;
            }
        };
        Self::send(ctx, SpotifyCommand::Cancel { id });
        ctx.flash(Level::Info, "cancelling…");
    }

    /// Start importing `files`.
    pub fn start_import(&mut self, files: Vec<std::path::PathBuf>, ctx: &mut Ctx) {
        if files.is_empty() {
            ctx.flash(Level::Error, "import: give one or more chart CSV files");
            return;
        }
        if self.import.is_some() {
            ctx.flash(Level::Warn, "an import is already running (x cancels it)");
            return;
        }
        let id = self.next_job();
        self.import = Some(ImportState {
            id,
            phase: "starting".into(),
            progress: None,
        });
        Self::send(ctx, SpotifyCommand::Import { id, files });
    }

    fn export(&mut self, path: Option<std::path::PathBuf>, json: bool, ctx: &mut Ctx) {
        let Some(a) = &self.answer else {
            ctx.flash(Level::Warn, "no result to export yet");
            return;
        };
        let json = path
            .as_ref()
            .and_then(|p| p.extension())
            .map_or(json, |e| e.eq_ignore_ascii_case("json"));
        let cmd = SpotifyCommand::Export {
            result: a.result.clone(),
            name: a.label.clone(),
            path,
            json,
        };
        Self::send(ctx, cmd);
        ctx.flash(Level::Info, "exporting…");
    }

    fn apply_event(&mut self, ev: SpotifyEvent) {
        match ev {
            SpotifyEvent::Info(info) => {
                self.info = info;
                if let Some(c) = &self.params.country {
                    if !self.info.countries.contains(c) {
                        self.params.country = None;
                    }
                }
            }
            SpotifyEvent::History(saved) => self.editor.load_history(saved),
            SpotifyEvent::SavedQueries(s) => {
                self.saved = s;
                let n = self.list_len();
                self.selected.sync(n, |_| None, entry_at(n));
            }
            SpotifyEvent::Job(Event::Started { id, sql }) => {
                if let Some(r) = self.running.as_mut().filter(|r| r.id == id) {
                    if !sql.is_empty() {
                        r.sql = sql;
                    }
                }
            }
            SpotifyEvent::Job(Event::Finished { id, result }) => {
                if let Some(r) = self.running.take_if(|r| r.id == id) {
                    self.set_answer(r, result);
                }
            }
            SpotifyEvent::Job(Event::Failed { id, error }) => {
                if self.running.take_if(|r| r.id == id).is_some() {
                    self.message = Some((Level::Error, error));
                } else if self.import.take_if(|i| i.id == id).is_some() {
                    self.message = Some((Level::Error, format!("import failed: {error}")));
                }
            }
            SpotifyEvent::Job(Event::Cancelled { id }) => {
                if self.running.take_if(|r| r.id == id).is_some() {
                    self.message = Some((Level::Warn, "query cancelled".into()));
                } else if self.import.take_if(|i| i.id == id).is_some() {
                    self.message = Some((
                        Level::Warn,
                        "import cancelled; the table is unchanged".into(),
                    ));
                }
            }
            SpotifyEvent::Job(Event::Import { id, event }) => {
                if let Some(st) = self.import.as_mut().filter(|i| i.id == id) {
                    use crate::spotify::ImportEvent as E;
                    match event {
                        E::Progress(p) => st.progress = Some(p),
                        E::Phase(p) => st.phase = p,
                        E::FileRejected { .. } => {}
                    }
                }
            }
            SpotifyEvent::Job(Event::ImportDone { id, summary }) => {
                if self.import.take_if(|i| i.id == id).is_some() {
                    let first = summary.to_string();
                    let first = first.lines().next().unwrap_or("").to_string();
                    let level = if summary.rows_read == 0 {
                        Level::Error
                    } else if summary.bad > 0 || !summary.rejected_files.is_empty() {
                        Level::Warn
                    } else {
                        Level::Info
                    };
                    self.message = Some((level, first));
                }
            }
            SpotifyEvent::Exported { .. } | SpotifyEvent::Error(_) => {}
        }
    }

    fn set_answer(&mut self, r: Running, result: Arc<ResultSet>) {
        let chart = questions::find(&r.label)
            .map(|q| q.chart)
            .unwrap_or_else(|| rows::guess_chart(&result));
        self.core.table.sort = None;
        self.core.table.rewind();
        self.core.table.set_data(rows::table_data(&result));
        self.message = None;
        self.answer = Some(Answer {
            label: r.label,
            sql: r.sql,
            result,
            chart,
        });
    }
}

impl View for SpotifyView {
    fn kind(&self) -> ViewKind {
        ViewKind::Spotify
    }
    fn core(&self) -> &ViewCore {
        &self.core
    }
    fn core_mut(&mut self) -> &mut ViewCore {
        &mut self.core
    }
    fn empty_text(&self) -> &str {
        "no results yet"
    }

    fn apply(&mut self, payload: Payload) {
        match payload {
            Payload::Spotify(ev) => self.apply_event(*ev),
            other => self.core.apply(other),
        }
    }

    fn handle(&mut self, action: Action, ctx: &mut Ctx) -> bool {
        self.handle_action(action, ctx)
    }

    fn modal(&self) -> Option<Modal> {
        (self.focus == Focus::Editor).then_some(Modal::SpotifyEditor)
    }

    /// The SQL editor: its commands come from the keymap ([`Modal::SpotifyEditor`]), every
    /// other key edits the text. (`Editor::key` still maps the default command keys itself,
    /// which its unit tests use; here they never reach it while bound.)
    fn modal_key(&mut self, key: &KeyEvent, action: Option<Action>, ctx: &mut Ctx) -> bool {
        if self.focus != Focus::Editor {
            return false;
        }
        let outcome = match action {
            Some(Action::Back) => EditorOutcome::Leave,
            Some(Action::RunQuery) => EditorOutcome::Run,
            Some(Action::CancelQuery) => EditorOutcome::Cancel,
            Some(Action::HistoryPrev) => {
                self.editor.history_prev();
                EditorOutcome::Edited
            }
            Some(Action::HistoryNext) => {
                self.editor.history_next();
                EditorOutcome::Edited
            }
            Some(Action::ClearInput) => {
                self.editor.set_text("");
                EditorOutcome::Edited
            }
            _ => self.editor.key(key),
        };
        match outcome {
            EditorOutcome::Edited => {}
            EditorOutcome::Leave => self.focus = Focus::Questions,
            EditorOutcome::Run => {
                let sql = self.editor.text();
                self.run_sql(&sql, "query", ctx);
            }
            EditorOutcome::Cancel => self.cancel(ctx),
            EditorOutcome::CtrlC => ctx.flash(
                Level::Info,
                "Ctrl-C does not quit from the editor: Ctrl-X cancels the query, Esc leaves the editor",
            ),
        }
        true
    }

    fn command(&mut self, inv: &crate::widgets::commands::Invocation, ctx: &mut Ctx) -> bool {
        self.run_command(inv, ctx)
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
        render::render(self, area, buf, theme, now);
    }

    fn batch_text(&self) -> String {
        match &self.answer {
            Some(a) => format!("{}{}\n", a.result.to_text_table(), a.result.summary()),
            None => rows::info_text(&self.info),
        }
    }

    fn batch_json(&self) -> Vec<serde_json::Value> {
        match &self.answer {
            Some(a) => rows::json_rows(&a.result),
            None => vec![serde_json::json!({
                "backend": self.info.backend,
                "table": self.info.table,
                "rows": self.info.rows,
                "countries": self.info.countries,
                "first_day": self.info.first_day,
                "last_day": self.info.last_day,
            })],
        }
    }
}

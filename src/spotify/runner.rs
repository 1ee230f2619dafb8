//! Async query runner: the UI sends [`Request`]s (ad-hoc SQL, a ready-made question, an import,
//! cancel) over a channel and receives [`Event`]s (started with the SQL text, finished with a
//! [`ResultSet`], failed, cancelled, import progress and summary). Each job runs in its own
//! task so the UI never blocks; cancel interrupts SQLite and `KILL QUERY`s MySQL.
//!
//! Data flow: UI → `Request` → runner task → `Store` → `Event` → UI.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::import::{import_files, ImportEvent, ImportOptions, Summary};
use super::questions::{self, Params};
use super::results::ResultSet;
use super::{CancelToken, QueryCancelled, Store};

/// Caller-chosen job id.
pub type JobId = u64;

#[derive(Debug, Clone)]
pub enum Request {
    /// Run ad-hoc SQL (read-only guard applies).
    Sql { id: JobId, sql: String },
    /// Run a ready-made question by id.
    Ask {
        id: JobId,
        question: String,
        params: Params,
    },
    /// Import chart files.
    Import {
        id: JobId,
        files: Vec<PathBuf>,
        opts: ImportOptions,
    },
    /// Cancel a running job (no-op when it already finished).
    Cancel { id: JobId },
    /// Stop the runner (running jobs are cancelled).
    Shutdown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The job started; `sql` is the statement as it runs (empty for imports).
    Started {
        id: JobId,
        sql: String,
    },
    Finished {
        id: JobId,
        /// Shared: the tab keeps it, exports send it back to the collector.
        result: Arc<ResultSet>,
    },
    Failed {
        id: JobId,
        error: String,
    },
    Cancelled {
        id: JobId,
    },
    Import {
        id: JobId,
        event: ImportEvent,
    },
    ImportDone {
        id: JobId,
        summary: Summary,
    },
}

/// Handle to a running runner.
pub struct RunnerHandle {
    pub requests: UnboundedSender<Request>,
    pub events: UnboundedReceiver<Event>,
    pub task: JoinHandle<()>,
}

enum Job {
    Query(CancelToken),
    Import(Arc<AtomicBool>),
}

/// Start the runner for `store` on the current tokio runtime.
pub fn spawn(store: Store) -> RunnerHandle {
    let (req_tx, mut req_rx) = unbounded_channel::<Request>();
    let (ev_tx, ev_rx) = unbounded_channel::<Event>();
    let task = tokio::spawn(async move {
        let (done_tx, mut done_rx) = unbounded_channel::<JobId>();
        let mut jobs: HashMap<JobId, Job> = HashMap::new();
        loop {
            tokio::select! {
                Some(id) = done_rx.recv() => { jobs.remove(&id); }
                req = req_rx.recv() => {
                    let Some(req) = req else { break };
                    match req {
                        Request::Shutdown => break,
                        Request::Cancel { id } => match jobs.get(&id) {
                            Some(Job::Query(token)) => {
                                let (store, token) = (store.clone(), token.clone());
                                tokio::spawn(async move { let _ = store.cancel(&token).await; });
                            }
                            Some(Job::Import(flag)) => flag.store(true, Ordering::SeqCst),
                            None => {}
                        },
                        Request::Sql { id, sql } => {
                            let token = CancelToken::default();
                            jobs.insert(id, Job::Query(token.clone()));
                            spawn_query(store.clone(), id, Ok(sql), Path::Editor, token, ev_tx.clone(), done_tx.clone());
                        }
                        Request::Ask { id, question, params } => {
                            let sql = match questions::find(&question) {
                                Some(q) => q.sql(store.table(), store.dialect(), &params).map_err(|e| format!("{e:#}")),
                                None => Err(format!("no question {question:?}")),
                            };
                            let token = CancelToken::default();
                            jobs.insert(id, Job::Query(token.clone()));
                            spawn_query(store.clone(), id, sql, Path::Question, token, ev_tx.clone(), done_tx.clone());
                        }
                        Request::Import { id, files, mut opts } => {
                            let flag = opts.cancel.clone().unwrap_or_default();
                            opts.cancel = Some(flag.clone());
                            jobs.insert(id, Job::Import(flag));
                            let (store, ev, done) = (store.clone(), ev_tx.clone(), done_tx.clone());
                            tokio::spawn(async move {
                                let _ = ev.send(Event::Started { id, sql: String::new() });
                                let (ptx, mut prx) = unbounded_channel::<ImportEvent>();
                                let ev2 = ev.clone();
                                let fwd = tokio::spawn(async move {
                                    while let Some(event) = prx.recv().await {
                                        let _ = ev2.send(Event::Import { id, event });
                                    }
                                });
                                let res = import_files(&store, &files, &opts, Some(ptx)).await;
                                let _ = fwd.await;
                                let _ = ev.send(match res {
                                    Ok(summary) => Event::ImportDone { id, summary },
                                    Err(e) if e.is::<super::import::ImportCancelled>() => Event::Cancelled { id },
                                    Err(e) => Event::Failed { id, error: format!("{e:#}") },
                                });
                                let _ = done.send(id);
                            });
                        }
                    }
                }
            }
        }
        for job in jobs.values() {
            match job {
                Job::Query(token) => {
                    let _ = store.cancel(token).await;
                }
                Job::Import(flag) => flag.store(true, Ordering::SeqCst),
            }
        }
    });
    RunnerHandle {
        requests: req_tx,
        events: ev_rx,
        task,
    }
}

/// Which way a statement goes: ad-hoc SQL through the editor's path (`Store::run_sql_with`),
/// ready-made questions through the store's pool.
#[derive(Clone, Copy)]
enum Path {
    Editor,
    Question,
}

fn spawn_query(
    store: Store,
    id: JobId,
    sql: Result<String, String>,
    path: Path,
    token: CancelToken,
    ev: UnboundedSender<Event>,
    done: UnboundedSender<JobId>,
) {
    tokio::spawn(async move {
        let event = match sql {
            Err(error) => Event::Failed { id, error },
            Ok(sql) => {
                let _ = ev.send(Event::Started {
                    id,
                    sql: sql.clone(),
                });
                let res = match path {
                    Path::Editor => store.run_sql_with(&sql, &token).await,
                    Path::Question => store.run_query_with(&sql, &token).await,
                };
                match res {
                    Ok(result) => Event::Finished {
                        id,
                        result: Arc::new(result),
                    },
                    Err(e) if e.is::<QueryCancelled>() => Event::Cancelled { id },
                    Err(e) => Event::Failed {
                        id,
                        error: format!("{e:#}"),
                    },
                }
            }
        };
        let _ = ev.send(event);
        let _ = done.send(id);
    });
}

//! The collector, first stage of the vlog data flow (like `pg::collector`, it reads; the task
//! wired to the UI is `vlog::source`): spawns `varnishlog` (default `-g request`,
//! `-n NAME`, a pushed-down `-q` query, extra args, or `-r FILE` for binary captures), or reads
//! stdin, or a text file (optionally followed). Bytes go through `parser::Parser`; batches of
//! [`Request`]s plus status / stderr / malformed events go to the view over a bounded tokio
//! channel (back-pressure: a slow view slows the reader, memory stays bounded). A dead child is
//! restarted with exponential backoff (`supervisor`); its stderr is forwarded line by line. A live
//! `varnishlog` whose arguments are known ([`SourceConfig::live_args`]) takes a new `-q` at run
//! time (a [`QueryWatch`]): the child is stopped, its output read to the end (nothing
//! parsed is lost) and it is started again at once with the new query.

use std::path::PathBuf;

use tokio::io::AsyncSeekExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::input::{Input, QueryWatch, SourceConfig};
use super::msg::{InputStatus, VlogEvent};
use super::pump::{pump, send, Closed, ReadState};

/// Start the collector task. It ends when the input is finished for good or when the
/// receiver is dropped; aborting the handle kills the child (`kill_on_drop`).
pub fn spawn(cfg: SourceConfig, tx: mpsc::Sender<VlogEvent>) -> JoinHandle<()> {
    let (_query_tx, query) = watch::channel(None);
    spawn_with_query(cfg, tx, query)
}

/// [`spawn`] with a query to follow ([`QueryWatch`]).
pub fn spawn_with_query(
    cfg: SourceConfig,
    tx: mpsc::Sender<VlogEvent>,
    query: QueryWatch,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = run(cfg, tx, query).await;
    })
}

async fn run(
    cfg: SourceConfig,
    tx: mpsc::Sender<VlogEvent>,
    query: QueryWatch,
) -> Result<(), Closed> {
    match cfg.input.clone() {
        Input::Stdin => {
            send(
                &tx,
                VlogEvent::Status(InputStatus::Reading {
                    what: "stdin".into(),
                }),
            )
            .await?;
            let mut st = ReadState::new(&cfg, "stdin");
            // A duplicate of fd 0 read through tokio's blocking file pool (no `io-std` feature).
            use std::os::fd::AsFd;
            let dup = std::io::stdin().as_fd().try_clone_to_owned();
            let mut input = match dup {
                Ok(fd) => tokio::fs::File::from_std(std::fs::File::from(fd)),
                Err(e) => {
                    let msg = format!("cannot read stdin: {e}");
                    return send(&tx, VlogEvent::Status(InputStatus::Error(msg))).await;
                }
            };
            pump(&mut input, &mut st, &tx, None).await?;
            st.finish(&tx).await?;
            send(&tx, VlogEvent::Status(InputStatus::Finished)).await
        }
        Input::File { path, follow } => run_file(&cfg, path, follow, &tx).await,
        Input::Command { program, args } => {
            super::supervisor::run_command(&cfg, program, args, &tx, query).await
        }
    }
}

async fn run_file(
    cfg: &SourceConfig,
    path: PathBuf,
    follow: bool,
    tx: &mpsc::Sender<VlogEvent>,
) -> Result<(), Closed> {
    let what = path.display().to_string();
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            let msg = format!("cannot open {what}: {e}");
            return send(tx, VlogEvent::Status(InputStatus::Error(msg))).await;
        }
    };
    send(
        tx,
        VlogEvent::Status(InputStatus::Reading { what: what.clone() }),
    )
    .await?;
    let mut st = ReadState::new(cfg, &what);
    let mut pos = 0u64;
    loop {
        pump(&mut file, &mut st, tx, Some(&mut pos)).await?;
        if !follow || st.binary_sent {
            break;
        }
        st.after_parse(tx, true).await?;
        tokio::time::sleep(cfg.follow_poll).await;
        // Truncated or rotated in place: start over.
        if let Ok(meta) = tokio::fs::metadata(&path).await {
            if meta.len() < pos {
                st.finish(tx).await?;
                st = ReadState::new(cfg, &what);
                pos = 0;
                if let Err(e) = file.seek(std::io::SeekFrom::Start(0)).await {
                    let msg = format!("seek {what}: {e}");
                    return send(tx, VlogEvent::Status(InputStatus::Error(msg))).await;
                }
            }
        }
    }
    st.finish(tx).await?;
    send(tx, VlogEvent::Status(InputStatus::Finished)).await
}

//! The two bulk paths of the MySQL store: the parsed rows streamed as TSV into
//! `LOAD DATA LOCAL INFILE` through the connection's infile handler (no temp file), and the
//! fallback of batched 1000-row prepared `REPLACE`s when the server refuses local infile.
//! Parsing runs on a blocking thread ([`walk_files`]) and feeds the connection over a bounded
//! channel, so parsing and loading overlap.
//!
//! Data flow: files → `walk_files` → TSV chunks / row batches → `target` table.

use anyhow::{anyhow, Result};
use bytes::Bytes;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::spotify::import::{walk_files, ImportCancelled, ImportEvent, ImportOptions};
use crate::spotify::parse::ParseReport;
use crate::spotify::schema::{Row, COLUMNS};

const BATCH_ROWS: usize = 1000;

fn is_refused_infile(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if matches!(s.code, 1148 | 3948 | 4166))
}

pub(super) type Loaded = (ParseReport, Vec<(std::path::PathBuf, String)>);

pub(super) enum LoadError {
    Refused,
    Other(anyhow::Error),
}

/// Append one row as a `LOAD DATA` TSV line (`\`-escaped, `\N` for NULL).
pub fn write_tsv(buf: &mut Vec<u8>, r: &Row<'_>) {
    fn esc(buf: &mut Vec<u8>, s: &str) {
        for &b in s.as_bytes() {
            match b {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                0 => buf.extend_from_slice(b"\\0"),
                _ => buf.push(b),
            }
        }
    }
    for (i, s) in [r.country, r.list_date].iter().enumerate() {
        if i > 0 {
            buf.push(b'\t');
        }
        esc(buf, s);
    }
    buf.push(b'\t');
    buf.extend_from_slice(r.pos.to_string().as_bytes());
    for s in [r.track_id, r.track, r.artist, r.artists] {
        buf.push(b'\t');
        esc(buf, s);
    }
    buf.push(b'\t');
    match r.streams {
        Some(v) => buf.extend_from_slice(v.to_string().as_bytes()),
        None => buf.extend_from_slice(b"\\N"),
    }
    buf.push(b'\t');
    buf.extend_from_slice((r.source as u8).to_string().as_bytes());
    buf.push(b'\n');
}

pub(super) async fn load_data(
    conn: &mut Conn,
    target: &str,
    files: &[std::path::PathBuf],
    opts: &ImportOptions,
    progress: Option<UnboundedSender<ImportEvent>>,
) -> std::result::Result<Loaded, LoadError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    let files_c = files.to_vec();
    let opts_c = opts.clone();
    let parser = tokio::task::spawn_blocking(move || -> Result<Loaded> {
        let mut rejected = Vec::new();
        let mut buf = Vec::with_capacity(1024 * 1024 + 4096);
        let res = walk_files(&files_c, &opts_c, progress.as_ref(), &mut rejected, |row| {
            write_tsv(&mut buf, row);
            if buf.len() >= 1024 * 1024 {
                let chunk = Bytes::from(std::mem::take(&mut buf));
                tx.blocking_send(Ok(chunk))
                    .map_err(|_| anyhow!("the server stopped reading the load stream"))?;
            }
            Ok(())
        });
        match res {
            Ok(report) => {
                if !buf.is_empty() {
                    let _ = tx.blocking_send(Ok(Bytes::from(buf)));
                }
                Ok((report, rejected))
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(format!("{e:#}"))));
                Err(e)
            }
        }
    });
    conn.set_infile_handler(async move {
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(stream.boxed())
    });
    let cols = COLUMNS.join(", ");
    let load = conn
        .query_drop(format!(
            "LOAD DATA LOCAL INFILE 'stacktop-stream' REPLACE INTO TABLE {target} \
             CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' \
             LINES TERMINATED BY '\\n' ({cols})"
        ))
        .await;
    let parsed = parser
        .await
        .map_err(|e| LoadError::Other(anyhow!("parser task failed: {e}")))?;
    match (load, parsed) {
        (Ok(()), Ok(loaded)) => Ok(loaded),
        (_, Err(e)) if e.is::<ImportCancelled>() => Err(LoadError::Other(e)),
        (Err(e), _) if is_refused_infile(&e) => Err(LoadError::Refused),
        (Err(e), _) => Err(LoadError::Other(
            anyhow::Error::new(e).context("LOAD DATA LOCAL INFILE"),
        )),
        (Ok(()), Err(e)) => Err(LoadError::Other(e)),
    }
}

pub(super) async fn insert_batches(
    conn: &mut Conn,
    target: &str,
    files: &[std::path::PathBuf],
    opts: &ImportOptions,
    progress: Option<UnboundedSender<ImportEvent>>,
) -> Result<Loaded> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Value>>(4);
    let files_c = files.to_vec();
    let opts_c = opts.clone();
    let parser = tokio::task::spawn_blocking(move || -> Result<Loaded> {
        let mut rejected = Vec::new();
        let mut batch: Vec<Value> = Vec::with_capacity(BATCH_ROWS * COLUMNS.len());
        let report = walk_files(&files_c, &opts_c, progress.as_ref(), &mut rejected, |r| {
            batch.extend([
                Value::from(r.country),
                Value::from(r.list_date),
                Value::from(r.pos),
                Value::from(r.track_id),
                Value::from(r.track),
                Value::from(r.artist),
                Value::from(r.artists),
                r.streams.map(Value::from).unwrap_or(Value::NULL),
                Value::from(r.source as u8),
            ]);
            if batch.len() >= BATCH_ROWS * COLUMNS.len() {
                tx.blocking_send(std::mem::take(&mut batch))
                    .map_err(|_| anyhow!("the loader stopped"))?;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        Ok((report, rejected))
    });
    let one = format!("({})", vec!["?"; COLUMNS.len()].join(","));
    let cols = COLUMNS.join(", ");
    let mut failed = None;
    while let Some(batch) = rx.recv().await {
        let n = batch.len() / COLUMNS.len();
        let sql = format!(
            "REPLACE INTO {target} ({cols}) VALUES {}",
            vec![one.as_str(); n].join(",")
        );
        if let Err(e) = conn.exec_drop(sql, batch).await {
            failed = Some(e);
            break;
        }
    }
    drop(rx);
    let parsed = parser
        .await
        .map_err(|e| anyhow!("parser task failed: {e}"))?;
    if let Some(e) = failed {
        return Err(anyhow::Error::new(e).context("batched INSERT"));
    }
    parsed
}

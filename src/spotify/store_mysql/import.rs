//! The MySQL store's import (see the module docs of `store_mysql`): the load into the empty
//! table or through the staging table, the summary tables built from the whole table (a load
//! into the empty table, or summaries that are new) or recomputed for the months the import
//! touched, in the same transaction, and the secondary indexes built afterwards.
//!
//! Data flow: files → `load.rs` → chart table → `summary` statements → summary tables.

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Result;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::mpsc::UnboundedSender;

use super::load::{insert_batches, load_data, LoadError};
use super::{connect, MysqlStore, STAGE};
use crate::spotify::import::{ImportCancelled, ImportEvent, ImportOptions, Summary};
use crate::spotify::schema::{check_ident, mysql_create_table, COLUMNS, INDEXES, OLD_INDEXES};
use crate::spotify::summary;

impl MysqlStore {
    /// Import files atomically (see the module docs).
    pub async fn import(
        &self,
        files: &[std::path::PathBuf],
        opts: &ImportOptions,
        progress: Option<UnboundedSender<ImportEvent>>,
    ) -> Result<Summary> {
        let start = Instant::now();
        let (db, t, coll) = (&self.database, &self.table, self.collation);
        check_ident(db)?;
        check_ident(t)?;
        summary::check_table_name(t)?;
        let mut conn = connect(&self.base).await?;
        conn.query_drop(format!(
            "CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4 COLLATE {coll}"
        ))
        .await?;
        conn.query_drop(format!("USE {db}")).await?;
        conn.query_drop("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
            .await?;
        conn.query_drop(mysql_create_table(t, coll, false)).await?;
        let before: u64 = conn
            .query_first(format!("SELECT COUNT(*) FROM {t}"))
            .await?
            .unwrap_or(0);
        // Summary tables (DDL commits, so before the load's transaction) and the groups to
        // recompute: those of the loaded rows, or all of them when the summaries are new.
        let had_summaries = self.summaries_present(&mut conn).await?;
        for ddl in summary::mysql_ddl(t, coll) {
            conn.query_drop(ddl).await?;
        }
        conn.query_drop(format!(
            "DROP TEMPORARY TABLE IF EXISTS {}",
            summary::MYSQL_GROUPS
        ))
        .await?;
        conn.query_drop(summary::mysql_groups_ddl()).await?;
        // Into an empty table the rows go straight in, in one transaction (a failure rolls
        // back to the empty table); otherwise into a staging table merged in one statement.
        let direct = before == 0;
        let target = if direct { t.as_str() } else { STAGE };
        if direct {
            let existing = self.existing_indexes(&mut conn).await?;
            if !existing.is_empty() {
                let drops: Vec<String> =
                    existing.iter().map(|n| format!("DROP INDEX {n}")).collect();
                conn.query_drop(format!("ALTER TABLE {t} {}", drops.join(", ")))
                    .await?;
            }
            // An insert into an empty table with these two off is MariaDB's bulk path (table
            // lock, one undo record for the whole load, ≥ 10.11.11 safe); a failure or ROLLBACK
            // still empties the table again. Duplicate keys are still caught (REPLACE keeps
            // the last row), so the answers do not change.
            conn.query_drop("SET SESSION unique_checks = 0, foreign_key_checks = 0")
                .await?;
            conn.query_drop("START TRANSACTION").await?;
        } else {
            conn.query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {STAGE}"))
                .await?;
            conn.query_drop(mysql_create_table(STAGE, coll, true))
                .await?;
        }
        let local_infile: i64 = conn
            .query_first("SELECT @@local_infile")
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        let send = |msg: &str| {
            if let Some(p) = &progress {
                let _ = p.send(ImportEvent::Phase(msg.to_string()));
            }
        };
        send("loading");
        // Why the rows go in as batched INSERTs instead of LOAD DATA LOCAL INFILE, if they do.
        let mut fallback = if opts.force_insert {
            Some("forced")
        } else if local_infile != 1 {
            Some("local infile refused: the server has local_infile = OFF")
        } else {
            None
        };
        // Any error below drops `conn` without COMMIT: the server rolls the load back.
        let mut loaded = None;
        if fallback.is_none() {
            match load_data(&mut conn, target, files, opts, progress.clone()).await {
                Ok(r) => loaded = Some((r, "LOAD DATA LOCAL INFILE (streamed TSV)".to_string())),
                Err(LoadError::Refused) => {
                    fallback = Some("local infile refused by the server");
                    if direct {
                        conn.query_drop("ROLLBACK").await?;
                        conn.query_drop("START TRANSACTION").await?;
                    } else {
                        conn.query_drop(format!("TRUNCATE TABLE {STAGE}")).await?;
                    }
                }
                Err(LoadError::Other(e)) => return Err(e),
            }
        }
        let ((report, rejected), method) = match loaded {
            Some(x) => x,
            None => {
                let why = fallback.unwrap_or("forced");
                send(&format!("loading with batched INSERTs ({why})"));
                (
                    insert_batches(&mut conn, target, files, opts, progress.clone()).await?,
                    format!("batched 1000-row INSERT ({why})"),
                )
            }
        };
        if opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            let _ = conn.query_drop("ROLLBACK").await;
            return Err(ImportCancelled.into());
        }
        let summary_time;
        let affected = if direct {
            send("updating summaries");
            let t0 = Instant::now();
            // Whatever the summaries held belonged to rows that are gone; the whole table is
            // new, so one grouped statement per summary table.
            self.build_all_summaries(&mut conn, t).await?;
            summary_time = t0.elapsed();
            conn.query_drop("COMMIT").await?;
            conn.query_drop("SET SESSION unique_checks = 1, foreign_key_checks = 1")
                .await?;
            0
        } else {
            send("merging");
            let cols = COLUMNS.join(", ");
            let updates: Vec<String> = COLUMNS[3..]
                .iter()
                .map(|c| format!("{c} = VALUES({c})"))
                .collect();
            conn.query_drop("START TRANSACTION").await?;
            let merged = conn
                .query_drop(format!(
                    "INSERT INTO {t} ({cols}) SELECT {cols} FROM {STAGE} ON DUPLICATE KEY UPDATE {}",
                    updates.join(", ")
                ))
                .await;
            if let Err(e) = merged {
                let _ = conn.query_drop("ROLLBACK").await;
                return Err(e.into());
            }
            let affected = conn.affected_rows();
            send("updating summaries");
            let t0 = Instant::now();
            // Only the months of the staged rows, or everything when the summaries are new.
            let refreshed = if had_summaries {
                match conn.query_drop(summary::mysql_groups_from(STAGE)).await {
                    Ok(()) => self.refresh_summaries(&mut conn, t).await,
                    Err(e) => Err(e.into()),
                }
            } else {
                self.build_all_summaries(&mut conn, t).await
            };
            if let Err(e) = refreshed {
                let _ = conn.query_drop("ROLLBACK").await;
                return Err(e.context("updating the summary tables"));
            }
            summary_time = t0.elapsed();
            conn.query_drop("COMMIT").await?;
            affected
        };
        let now = self.existing_indexes(&mut conn).await?;
        let missing: Vec<String> = INDEXES
            .iter()
            .filter(|(n, _)| !now.iter().any(|e| e == n))
            .map(|(n, c)| format!("ADD KEY {n} ({c})"))
            .collect();
        let index_start = Instant::now();
        if !missing.is_empty() {
            send("building indexes");
            conn.query_drop(format!("ALTER TABLE {t} {}", missing.join(", ")))
                .await?;
        }
        let index_time = index_start.elapsed();
        let after: u64 = conn
            .query_first(format!("SELECT COUNT(*) FROM {t}"))
            .await?
            .unwrap_or(0);
        let _ = conn
            .query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {STAGE}"))
            .await;
        let _ = conn.disconnect().await;
        let inserted = after.saturating_sub(before);
        let mut s = Summary {
            files: files.len(),
            rejected_files: rejected,
            method,
            indexes_built: !missing.is_empty(),
            index_time,
            summary_time,
            table_rows: after,
            ..Default::default()
        };
        s.absorb(report);
        s.inserted = inserted;
        // ON DUPLICATE KEY UPDATE counts 1 per insert and 2 per changed row.
        s.updated = affected.saturating_sub(inserted) / 2;
        s.duplicates = s.rows_read.saturating_sub(inserted);
        s.elapsed = start.elapsed();
        Ok(s)
    }

    /// A chart table loaded by an earlier version has no summary tables: build them once, in
    /// one transaction (called when the store is opened; nothing to do without the table).
    pub(super) async fn ensure_summaries(&self) -> Result<()> {
        let (db, t) = (&self.database, &self.table);
        check_ident(db)?;
        check_ident(t)?;
        let mut conn = connect(&self.base).await?;
        let exists: u64 = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = ? AND table_name = ?",
                (db.as_str(), t.as_str()),
            )
            .await?
            .unwrap_or(0);
        if exists == 0 || self.summaries_present(&mut conn).await? {
            let _ = conn.disconnect().await;
            return Ok(());
        }
        conn.query_drop(format!("USE {db}")).await?;
        for ddl in summary::mysql_ddl(t, self.collation) {
            conn.query_drop(ddl).await?;
        }
        conn.query_drop("START TRANSACTION").await?;
        self.build_all_summaries(&mut conn, t).await?;
        conn.query_drop("COMMIT").await?;
        let _ = conn.disconnect().await;
        Ok(())
    }

    /// `true` when all summary tables of the chart table exist.
    async fn summaries_present(&self, conn: &mut Conn) -> Result<bool> {
        let names: Vec<String> = summary::ALL
            .iter()
            .map(|s| format!("{}{s}", self.table))
            .collect();
        let n: u64 = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = ? AND table_name IN (?, ?, ?, ?)",
                (
                    self.database.as_str(),
                    &names[0],
                    &names[1],
                    &names[2],
                    &names[3],
                ),
            )
            .await?
            .unwrap_or(0);
        Ok(n == names.len() as u64)
    }

    /// Recompute the summary rows of the groups in the import's groups table (inside the
    /// import's transaction).
    async fn refresh_summaries(&self, conn: &mut Conn, t: &str) -> Result<()> {
        for sql in summary::mysql_refresh(t) {
            conn.query_drop(sql).await?;
        }
        Ok(())
    }

    /// Empty the summary tables and build them from the whole chart table (inside the
    /// caller's transaction).
    async fn build_all_summaries(&self, conn: &mut Conn, t: &str) -> Result<()> {
        for suffix in summary::ALL {
            conn.query_drop(format!("DELETE FROM {t}{suffix}")).await?;
        }
        for sql in summary::mysql_build_all(t) {
            conn.query_drop(sql).await?;
        }
        Ok(())
    }

    async fn existing_indexes(&self, conn: &mut Conn) -> Result<Vec<String>> {
        let names: Vec<String> = conn
            .exec(
                "SELECT DISTINCT index_name FROM information_schema.statistics \
                 WHERE table_schema = ? AND table_name = ? AND index_name <> 'PRIMARY'",
                (self.database.as_str(), self.table.as_str()),
            )
            .await?;
        Ok(names
            .into_iter()
            .filter(|n| INDEXES.iter().any(|(i, _)| i == n) || OLD_INDEXES.contains(&n.as_str()))
            .collect())
    }
}

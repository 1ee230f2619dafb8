//! `stacktop spotify import|ask|sql|questions|demo`: the explorer without the UI (`demo` then
//! opens it). Import shows a
//! progress bar (rows/s, ETA) on stderr when stderr is a terminal and prints the summary;
//! answers print as a text table like the mysql client (with its "N rows in set" line on
//! stderr), as CSV (`--csv`) or JSON (`--json`).
//!
//! Exit codes: 0 ok; 1 runtime failure (store unreachable, query failed, nothing could be
//! imported); 2 bad usage (unknown question, bad parameter, refused statement).
//!
//! Data flow: `run::main` → [`run`] → `Store` / `import_files` → stdout/stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::import::{import_files, ImportEvent, ImportOptions};
use super::params::usage;
pub use super::params::{parse_positions, Usage};
use super::questions::{self, Params};
use super::results::ResultSet;
use super::{open, SpotifyConfig};
use crate::cli::{SpotifyAction, SpotifyAskArgs, SpotifyImportArgs};
use crate::wire::exit;

/// Output format for answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Csv,
    Json,
}

/// Run one `stacktop spotify <action>`; returns the exit code.
pub async fn run(action: &SpotifyAction, cfg: &SpotifyConfig, json: bool) -> i32 {
    let out = |csv: bool| {
        if json {
            Output::Json
        } else if csv {
            Output::Csv
        } else {
            Output::Text
        }
    };
    let res = match action {
        SpotifyAction::Questions => questions_list(json),
        SpotifyAction::Import(a) => import(a, cfg).await,
        SpotifyAction::Ask(a) => ask(a, cfg, out(a.csv)).await,
        SpotifyAction::Sql(a) => sql(&a.sql, cfg, out(a.csv)).await,
        SpotifyAction::Demo(a) => super::demo::run(a.days, cfg).await,
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stacktop spotify: {e:#}");
            if e.is::<Usage>() || e.is::<super::readonly::Refused>() {
                exit::USAGE
            } else {
                exit::RUNTIME
            }
        }
    }
}

fn questions_list(json: bool) -> Result<i32> {
    let mut text = String::new();
    for q in questions::list() {
        if json {
            let v =
                serde_json::json!({ "id": q.id, "title": q.title, "description": q.description });
            text.push_str(&format!("{v}\n"));
        } else {
            text.push_str(&format!("{:<16} {}\n", q.id, q.title));
        }
    }
    // A closed stdout (piped into head) is fine.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(exit::OK)
}

/// Build question parameters from the command line.
pub fn params_of(a: &SpotifyAskArgs) -> Result<Params> {
    let (pos_min, pos_max) = match &a.positions {
        Some(p) => {
            let (x, y) = parse_positions(p)?;
            (Some(x), Some(y))
        }
        None => (None, None),
    };
    let p = Params {
        country: a.country.as_ref().map(|c| c.trim().to_ascii_lowercase()),
        from: a.from,
        to: a.to,
        pos_min,
        pos_max,
        limit: a.limit,
        track_id: a.track.clone(),
    };
    p.validate().map_err(usage)?;
    Ok(p)
}

async fn ask(a: &SpotifyAskArgs, cfg: &SpotifyConfig, out: Output) -> Result<i32> {
    let q = questions::find(&a.question).ok_or_else(|| {
        let ids: Vec<&str> = questions::list().iter().map(|q| q.id).collect();
        usage(format!(
            "no question {:?}; questions: {}",
            a.question,
            ids.join(", ")
        ))
    })?;
    let params = params_of(a)?;
    let store = open(cfg).await?;
    let sql = q
        .sql(store.table(), store.dialect(), &params)
        .map_err(usage)?;
    if a.show_sql {
        println!("{sql};");
        return Ok(exit::OK);
    }
    let rs = store.run_query(&sql).await?;
    print_result(&rs, out)?;
    Ok(exit::OK)
}

async fn sql(text: &str, cfg: &SpotifyConfig, out: Output) -> Result<i32> {
    let dialect = match cfg.backend {
        super::Backend::Sqlite => super::Dialect::Sqlite,
        super::Backend::Mysql => super::Dialect::Mysql,
    };
    // Refuse before connecting: a refusal is the user's to fix, not the server's.
    super::readonly::check(text, dialect)?;
    let store = open(cfg).await?;
    let rs = store.run_sql(text).await?;
    print_result(&rs, out)?;
    Ok(exit::OK)
}

/// Print a result in the chosen format (summary line on stderr for text).
pub fn print_result(rs: &ResultSet, out: Output) -> Result<()> {
    let stdout = std::io::stdout();
    let mut o = std::io::BufWriter::new(stdout.lock());
    let written = match out {
        Output::Text => o
            .write_all(rs.to_text_table().as_bytes())
            .map_err(anyhow::Error::from),
        Output::Csv => rs.write_csv(&mut o),
        Output::Json => rs.write_json(&mut o),
    };
    // A closed stdout (e.g. piped into head) is not an error worth reporting.
    if written.and_then(|_| o.flush().map_err(Into::into)).is_err() {
        return Ok(());
    }
    if out == Output::Text {
        eprintln!("{}", rs.summary());
    } else if rs.truncated {
        // CSV / JSON carry no summary line: say on stderr that the rows are not all there.
        eprintln!("stacktop spotify: {}", rs.summary());
    }
    Ok(())
}

async fn import(a: &SpotifyImportArgs, cfg: &SpotifyConfig) -> Result<i32> {
    let opts = ImportOptions {
        format: a
            .format
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(usage)?,
        country: a.country.as_ref().map(|c| c.trim().to_ascii_lowercase()),
        date: a.date.clone(),
        strict: a.strict,
        force_insert: a.no_local_infile,
        ..Default::default()
    };
    for f in &a.files {
        if !f.is_file() {
            bail!("{}: no such file", f.display());
        }
    }
    let store = open(cfg).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ImportEvent>();
    let bar = if std::io::stderr().is_terminal() {
        let total: u64 = a
            .files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum();
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} {bar:30} {percent:>3}% · {msg} · ETA {eta}",
            )
            .map_err(|e| anyhow!("progress template: {e}"))?,
        );
        b.enable_steady_tick(Duration::from_millis(200));
        Some(b)
    } else {
        None
    };
    let bar_c = bar.clone();
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            match (ev, &bar_c) {
                (ImportEvent::Progress(p), Some(b)) => {
                    b.set_position(p.bytes_done);
                    b.set_message(format!("{} rows · {:.0} rows/s", p.rows, p.rows_per_sec));
                }
                (ImportEvent::Phase(ph), Some(b)) => b.set_prefix(ph),
                // Without a bar the summary lists rejected files once, at the end.
                (ImportEvent::FileRejected { file, reason }, Some(b)) => {
                    b.println(format!("rejected {}: {reason}", file.display()))
                }
                _ => {}
            }
        }
    });
    let res = import_files(&store, &a.files, &opts, Some(tx)).await;
    let _ = printer.await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = res?;
    eprint!("{summary}");
    println!(
        "loaded {} rows ({} new, {} updated, {} duplicates, {} bad, {} skipped) in {:.2} s: {:.0} rows/s ({}; {:.0} rows/s for the load alone)",
        summary.rows_read,
        summary.inserted,
        summary.updated,
        summary.duplicates,
        summary.bad,
        summary.skipped.values().sum::<u64>(),
        summary.elapsed.as_secs_f64(),
        summary.rows_per_sec(),
        summary.phases(),
        summary.load_rows_per_sec()
    );
    Ok(if summary.rows_read == 0 {
        eprintln!("stacktop spotify: nothing could be loaded");
        exit::RUNTIME
    } else {
        exit::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        assert_eq!(parse_positions("1-10").unwrap(), (1, 10));
        assert_eq!(parse_positions("3").unwrap(), (3, 3));
        assert!(parse_positions("x").unwrap_err().is::<Usage>());
    }
}

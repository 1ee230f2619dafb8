//! `stacktop spotify import|ask|sql|questions` as a user runs them (the real binary, a temp
//! SQLite store): outputs, formats and exit codes.

#[path = "support/proc.rs"]
mod hermetic;

use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/spotify")
        .join(name)
}

fn stacktop(db: &Path, args: &[&str]) -> Output {
    hermetic::hermetic_command(env!("CARGO_BIN_EXE_stacktop"))
        .arg("--no-user-config")
        .args(args)
        .arg("--path")
        .arg(db)
        .env("XDG_DATA_HOME", db.parent().unwrap())
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn import_ask_sql_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("charts.sqlite3");
    let kaggle = fixture("kaggle_data.csv");
    let html = fixture("regional-us-daily-2018-07-21.csv");

    let o = stacktop(
        &db,
        &[
            "spotify",
            "import",
            kaggle.to_str().unwrap(),
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("rows/s"), "{}", out(&o));
    assert!(
        err(&o).contains("kaggle_data.csv:8"),
        "bad rows with file:line: {}",
        err(&o)
    );
    assert!(err(&o).contains("HTML"), "{}", err(&o));

    // Nothing loadable: exit 1.
    let o = stacktop(&db, &["spotify", "import", html.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("nothing could be loaded"));

    let o = stacktop(&db, &["spotify", "ask", "artist-entries", "--limit", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("| artist"), "{}", out(&o));
    assert!(err(&o).contains("2 rows in set"), "{}", err(&o));

    let o = stacktop(
        &db,
        &[
            "--json",
            "spotify",
            "ask",
            "tracks",
            "--country",
            "ec",
            "--from",
            "2017-01-01",
            "--to",
            "2018-01-01",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert!(v[0]["tracks"].as_i64().unwrap() > 0, "{v}");

    let o = stacktop(
        &db,
        &[
            "spotify",
            "sql",
            "SELECT country, COUNT(*) AS n FROM top200 GROUP BY country ORDER BY country",
            "--csv",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).starts_with("country,n\n"), "{}", out(&o));

    // Refused statements and bad parameters are usage errors (2).
    let o = stacktop(&db, &["spotify", "sql", "DELETE FROM top200"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("refused"), "{}", err(&o));
    let o = stacktop(&db, &["spotify", "ask", "no-such-question"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("artist-streams"),
        "lists the questions: {}",
        err(&o)
    );
    let o = stacktop(&db, &["spotify", "ask", "rows", "--positions", "9-2"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));

    let o = stacktop(&db, &["spotify", "questions"]);
    assert!(out(&o).lines().count() >= 8);
    assert!(out(&o).contains("number-ones"));
}

/// Like a user with a config: cleared environment, HOME in the temp dir, settings from
/// `STACKTOP_SPOTIFY__*` variables.
fn stacktop_env(db: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let home = db.parent().unwrap();
    hermetic::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), home)
        .envs(vars.iter().copied())
        .arg("--no-user-config")
        .args(args)
        .arg("--path")
        .arg(db)
        .output()
        .unwrap()
}

#[test]
fn row_cap_is_said_in_cli_output_and_bad_csv_stops_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("charts.sqlite3");
    let kaggle = fixture("kaggle_data.csv");
    let o = stacktop_env(&db, &[], &["spotify", "import", kaggle.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    // 7 rows, max_rows = 2: two rows printed, and stderr says they are the first two only.
    let cap = [("STACKTOP_SPOTIFY__MAX_ROWS", "2")];
    let sql = "SELECT pos FROM top200 ORDER BY country, pos";
    let o = stacktop_env(&db, &cap, &["spotify", "sql", sql, "--csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o).lines().count(), 3, "{}", out(&o));
    assert!(
        err(&o).contains("first 2 rows only: more not fetched (spotify.max_rows)"),
        "{}",
        err(&o)
    );
    let o = stacktop_env(&db, &cap, &["spotify", "sql", sql]);
    assert!(err(&o).contains("first 2 rows only"), "{}", err(&o));
    let o = stacktop_env(&db, &[], &["spotify", "sql", sql, "--csv"]);
    assert_eq!(out(&o).lines().count(), 8, "{}", out(&o));
    assert!(err(&o).is_empty(), "{}", err(&o));

    // A stray quote with 2 MB after it: exit 1, the line named, the table unchanged.
    let bad = dir.path().join("stray.csv");
    let mut text = std::fs::read_to_string(&kaggle).unwrap();
    text.push_str("9,\"stray,A,1,https://open.spotify.com/track/x,2017-01-02,ec\n");
    let line = text.lines().count();
    for i in 0..30_000 {
        text.push_str(&format!(
            "{},S,A,1,https://open.spotify.com/track/{i:022},2017-01-03,ec\n",
            i % 200 + 1
        ));
    }
    std::fs::write(&bad, text).unwrap();
    let o = stacktop_env(&db, &[], &["spotify", "import", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains(&format!(
            "stray.csv:{line}: a quoted field opened on line {line} is still open after 1 MiB"
        )),
        "{}",
        err(&o)
    );
    let o = stacktop_env(
        &db,
        &[],
        &["spotify", "sql", "SELECT COUNT(*) FROM top200", "--csv"],
    );
    assert_eq!(out(&o).lines().nth(1), Some("7"), "{}", out(&o));
}

//! The SQL editor's defence in depth on a real MariaDB (tests/support/mariadb.rs), Trust I:
//! with the `readonly` lexer switched off (a test-only seam), the server-facing layer alone
//! refuses INTO OUTFILE / DUMPFILE / @var, LOAD_FILE, FOR UPDATE, LOCK IN SHARE MODE,
//! SET GLOBAL, CREATE TABLE, OPTIMIZE TABLE and `SELECT 1; DROP TABLE x`, and none of them
//! has any effect (controls run the same things as root to show they would have); the row
//! cap says "first N rows"; the server stops a statement at `sql_timeout`; the editor runs
//! on its own connection with its own SELECT-only account while questions keep the store's.

#[path = "spotify_common/mod.rs"]
mod common;

mod support;

use std::time::Duration;

use common::*;
use stacktop::spotify::{import_files, Backend, ImportOptions, SpotifyConfig, Store};
use support::mariadb::{MariaDb, MariaDbOptions};

fn mysql_cfg(db: &MariaDb) -> SpotifyConfig {
    SpotifyConfig {
        backend: Backend::Mysql,
        url: Some(db.url()),
        database: Some("spotify".into()),
        table: "top200".into(),
        ..Default::default()
    }
}

async fn loaded(db: &MariaDb, cfg: &SpotifyConfig) -> Store {
    let store = Store::open(cfg).await.unwrap();
    import_files(
        &store,
        &[fixture("kaggle_data.csv")],
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    db.exec("CREATE TABLE spotify.victim (a INT)");
    store
}

fn random_password() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ed-{:x}-{:x}", nanos, std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_layer_alone_refuses_every_kind_and_nothing_happens() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-editor", 1, 0));
    let store = loaded(&db, &mysql_cfg(&db)).await;
    let Store::Mysql(my) = &store else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "the-secret-marker").unwrap();
    let out = dir.path().join("out.txt");
    let dump = dir.path().join("dump.bin");
    let global = db.query_one("SELECT @@GLOBAL.max_connections").unwrap();

    // Controls: as root, straight to the server, these do what they say, so the refusals
    // below are the editor's doing.
    db.exec(&format!(
        "SELECT 1 INTO OUTFILE '{}'",
        dir.path().join("control.txt").display()
    ));
    assert!(dir.path().join("control.txt").exists());
    assert_eq!(
        db.query_one(&format!("SELECT LOAD_FILE('{}')", secret.display()))
            .as_deref(),
        Some("the-secret-marker")
    );

    let attempts = [
        format!("SELECT * FROM top200 INTO OUTFILE '{}'", out.display()),
        format!("SELECT 'x' INTO DUMPFILE '{}'", dump.display()),
        format!("SELECT LOAD_FILE('{}') AS f", secret.display()),
        "SELECT pos INTO @stolen FROM top200 LIMIT 1".to_string(),
        "SELECT * FROM top200 FOR UPDATE".to_string(),
        "SELECT * FROM top200 LOCK IN SHARE MODE".to_string(),
        "SET GLOBAL max_connections = 7".to_string(),
        "CREATE TABLE made_by_editor (a INT)".to_string(),
        "OPTIMIZE TABLE top200".to_string(),
        "SELECT 1; DROP TABLE victim".to_string(),
        "SELECT 1 /*!; DROP TABLE victim */".to_string(),
    ];
    for sql in &attempts {
        let r = my.run_sql_without_lexer_for_tests(sql).await;
        let e = match r {
            Ok(rs) => panic!("{sql}: ran and returned {:?}", rs.rows),
            Err(e) => format!("{e:#}"),
        };
        assert!(!e.contains("the-secret-marker"), "{sql}: {e}");
        eprintln!("{sql} → {e}");
    }
    // The kinds the raw-text check does not see are refused by the server-side checks.
    let e = my
        .run_sql_without_lexer_for_tests("SELECT 1; DROP TABLE victim")
        .await
        .unwrap_err();
    assert!(!format!("{e:#}").contains("server-side check"), "{e:#}");
    let e = my
        .run_sql_without_lexer_for_tests("SELECT pos INTO @stolen FROM top200 LIMIT 1")
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("the server says this statement returns no rows"),
        "{e:#}"
    );

    // Nothing happened.
    assert!(!out.exists() && !dump.exists(), "no file written");
    assert_eq!(
        db.query_one("SELECT @@GLOBAL.max_connections"),
        Some(global)
    );
    assert_eq!(
        db.query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'spotify' \
             AND table_name IN ('victim', 'made_by_editor')"
        )
        .as_deref(),
        Some("1"),
        "victim is still there and nothing was created"
    );
    // The editor connection is still usable after all that.
    let rs = my
        .run_sql_without_lexer_for_tests("SELECT COUNT(*) AS n FROM top200")
        .await
        .unwrap();
    assert_eq!(rs.rows[0][0], stacktop::spotify::Cell::Int(7));
    // And with the lexer on (the real path), the same statements are refused before that.
    for sql in &attempts {
        let e = store.run_sql(sql).await.unwrap_err();
        assert!(format!("{e:#}").contains("refused"), "{sql}: {e:#}");
    }
}

/// Without the lexer *and* without the raw-text check, the server alone (prepare: one
/// statement; no result set: refused unexecuted; read-only transaction) still stops every
/// statement that writes or sets something. (LOAD_FILE and locking reads return rows: for those
/// the raw-text check and a SELECT-only `sql_user` are the layers.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_checks_alone_stop_writes_files_and_settings() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-editor-srv", 1, 0));
    let store = loaded(&db, &mysql_cfg(&db)).await;
    let Store::Mysql(my) = &store else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let dump = dir.path().join("dump.bin");
    let global = db.query_one("SELECT @@GLOBAL.max_connections").unwrap();
    for sql in [
        format!("SELECT * FROM top200 INTO OUTFILE '{}'", out.display()),
        format!("SELECT 'x' INTO DUMPFILE '{}'", dump.display()),
        "SELECT pos INTO @stolen FROM top200 LIMIT 1".to_string(),
        "SET GLOBAL max_connections = 7".to_string(),
        "SET SESSION TRANSACTION READ WRITE".to_string(),
        "CREATE TABLE made_by_editor (a INT)".to_string(),
        "DROP TABLE victim".to_string(),
        "DELETE FROM top200".to_string(),
        "SELECT 1; DROP TABLE victim".to_string(),
        "SELECT 1 /*!, 2; DROP TABLE victim */".to_string(),
    ] {
        let r = my.run_sql_server_checks_only_for_tests(&sql).await;
        assert!(r.is_err(), "{sql}: ran: {r:?}");
    }
    assert!(!out.exists() && !dump.exists(), "no file written");
    assert_eq!(
        db.query_one("SELECT @@GLOBAL.max_connections"),
        Some(global)
    );
    assert_eq!(
        db.query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'spotify' \
             AND table_name IN ('victim', 'made_by_editor')"
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        db.query_one("SELECT COUNT(*) FROM spotify.top200")
            .as_deref(),
        Some("7")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_cap_and_time_limit_and_own_account() {
    let db = MariaDb::start(MariaDbOptions::named("spotify-editor-acct", 1, 0));
    let root_cfg = mysql_cfg(&db);
    drop(loaded(&db, &root_cfg).await);
    let pw = random_password();
    db.exec(&format!(
        "CREATE USER 'charts_ro'@'127.0.0.1' IDENTIFIED BY '{pw}'"
    ));
    db.exec("GRANT SELECT ON spotify.* TO 'charts_ro'@'127.0.0.1'");
    let cfg = SpotifyConfig {
        sql_user: Some("charts_ro".into()),
        sql_password_command: Some(format!("printf '%s\\n' '{pw}'")),
        max_rows: 5,
        sql_timeout: stacktop::base::Dur::secs(1),
        ..root_cfg
    };
    let store = Store::open(&cfg).await.unwrap();

    // The editor's account, not the import account; questions keep the store's account.
    let who = store.run_sql("SELECT CURRENT_USER() AS u").await.unwrap();
    assert_eq!(
        who.rows[0][0],
        stacktop::spotify::Cell::Text("charts_ro@127.0.0.1".into())
    );
    let who = store.run_query("SELECT CURRENT_USER() AS u").await.unwrap();
    assert!(
        matches!(&who.rows[0][0], stacktop::spotify::Cell::Text(u) if u.starts_with("root@")),
        "{who:?}"
    );
    let e = store.run_sql("SELECT * FROM mysql.user").await.unwrap_err();
    assert!(format!("{e:#}").contains("denied"), "{e:#}");

    // Row cap: 7 rows in the table, 5 kept, and the summary says so.
    let rs = store
        .run_sql("SELECT pos FROM top200 ORDER BY pos")
        .await
        .unwrap();
    assert_eq!(rs.rows.len(), 5);
    assert!(rs.truncated);
    assert!(
        rs.summary()
            .starts_with("first 5 rows only: more not fetched"),
        "{}",
        rs.summary()
    );
    // Under the cap: complete, and the connection was kept and still works.
    let rs = store
        .run_sql("SELECT pos FROM top200 ORDER BY pos LIMIT 3")
        .await
        .unwrap();
    assert_eq!((rs.rows.len(), rs.truncated), (3, false));

    // The server stops a statement at sql_timeout (1 s here).
    let t = std::time::Instant::now();
    let e = store
        .run_sql(
            "SELECT COUNT(*) FROM information_schema.collations a, information_schema.collations b, \
             information_schema.collations c, information_schema.collations d",
        )
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("stopped by the server"), "{e:#}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

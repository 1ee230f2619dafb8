//! A password in a query text never leaves pgtop: a real `ALTER ROLE … PASSWORD '…'` held up by
//! a lock (so it stays in `pg_stat_activity` as an active, waiting statement) is shown, printed
//! by `pgtop --batch --json` and written to the slow log with its literal masked and the
//! statement otherwise intact (the secret appears nowhere in either).

mod support;

use std::time::{Duration, Instant};

use support::pg::Pg;

const MAJOR: u32 = 18;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_literals_in_query_texts_are_masked_everywhere() {
    let pg = Pg::shared_major(MAJOR);
    let secret = format!("hunter2-{}", std::process::id());
    let admin = pg.admin().await;
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS pw_victim; CREATE ROLE pw_victim LOGIN PASSWORD '{secret}-old'"
        ))
        .await
        .unwrap();
    // the holder's open transaction holds pw_victim's row; the waiter's ALTER waits for it
    let holder = pg.idle_in_transaction("postgres", "pw-holder").await;
    holder
        .client
        .batch_execute("ALTER ROLE pw_victim CONNECTION LIMIT 5")
        .await
        .unwrap();
    let waiter = pg
        .running(
            "postgres",
            "pw-waiter",
            &format!("ALTER ROLE pw_victim PASSWORD '{secret}'"),
        )
        .await;

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.jsonl");
    let conninfo = pg.conninfo_nopw("postgres");
    let password = pg.password().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stdout = loop {
        let (home, log_arg, conninfo, password) = (
            dir.path().to_path_buf(),
            log.clone(),
            conninfo.clone(),
            password.clone(),
        );
        let out = tokio::task::spawn_blocking(move || {
            support::proc::hermetic_command_in(env!("CARGO_BIN_EXE_stacktop"), &home)
                .env("PGPASSWORD", password)
                .args(["--no-user-config", "pgtop", "--batch", "--json"])
                .args(["--count", "1", "--slow-threshold", "100ms"])
                .arg("--slow-log")
                .arg(&log_arg)
                .arg(&conninfo)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let waiting = stdout.lines().any(|l| {
            l.contains("pw-waiter")
                && l.contains("\"blocked_by\":[")
                && l.contains(&holder.pid.to_string())
        });
        // the slow log's line, not only its file (created before the line is written)
        let logged = std::fs::read_to_string(&log).is_ok_and(|l| l.contains("pw_victim"));
        if waiting && logged {
            break stdout;
        }
        assert!(
            Instant::now() < deadline,
            "the waiter never showed as blocked and slow:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let line = stdout
        .lines()
        .find(|l| l.contains("pw-waiter"))
        .unwrap()
        .to_string();
    assert!(
        line.contains("ALTER ROLE pw_victim PASSWORD '********'"),
        "the statement kept, its literal masked: {line}"
    );
    assert!(!stdout.contains(&secret), "{stdout}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("pw_victim PASSWORD '********'"), "{logged}");
    assert!(!logged.contains(&secret), "{logged}");
    drop((waiter, holder));
    admin
        .batch_execute("DROP ROLE IF EXISTS pw_victim")
        .await
        .ok();
}

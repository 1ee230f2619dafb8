//! Connection behaviour against a real PostgreSQL with TLS (test CA generated at run time):
//! verify-full / verify-ca / require / a wrong root, `.pgpass` with the 0600 rule and a SCRAM
//! password, and a server stop + restart that the collector recovers from by itself.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use stacktop::pg::activity::PgSnapshot;
use stacktop::pg::collector::{self, CollectorOptions, ConnState};
use stacktop::pg::conninfo::{self, ConnOverrides, ConnSpec, Env};
use stacktop::pg::tls;
use support::pg::{Pg, PgOpts};
use tokio::sync::mpsc::Receiver;

const SEC: Duration = Duration::from_secs(1);

fn env(home: Option<PathBuf>) -> Env {
    Env {
        vars: Box::new(|_| None),
        home,
        os_user: Some("root".into()),
    }
}

fn spec(ci: &str, home: Option<PathBuf>) -> ConnSpec {
    conninfo::resolve(Some(ci), &ConnOverrides::default(), &env(home)).unwrap()
}

async fn uses_ssl(spec: &ConnSpec) -> Result<bool, String> {
    let (c, task) = tls::connect(spec, "stacktop", 5 * SEC)
        .await
        .map_err(|e| e.to_string())?;
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    task.abort();
    Ok(ssl)
}

/// The next snapshot satisfying `pred`; every status-line notice sent meanwhile goes into
/// `notices` (to check what is said once).
async fn next_where(
    rx: &mut Receiver<PgSnapshot>,
    notices: &mut Vec<String>,
    limit: Duration,
    what: &str,
    pred: impl Fn(&PgSnapshot) -> bool,
) -> PgSnapshot {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let got = tokio::time::timeout(left, rx.recv()).await;
        if let Ok(Some(s)) = &got {
            notices.extend(s.notices.iter().cloned());
        }
        match got {
            Ok(Some(s)) if pred(&s) => return s,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("collector ended while waiting for: {what}"),
            Err(_) => panic!("nothing within {limit:?} for: {what}"),
        }
    }
}

pg_matrix!(tls_pgpass_and_restart);

async fn tls_pgpass_and_restart(major: u32) {
    let mut pg = Pg::start_major(
        major,
        PgOpts {
            tls: true,
            ..Default::default()
        },
    );
    let ca = pg.ca_path();
    let port = pg.port;
    let pw = pg.password().to_string();

    // TLS modes
    for host in ["127.0.0.1", "localhost"] {
        let ci = format!(
            "host={host} port={port} user=postgres password={pw} dbname=postgres sslmode=verify-full sslrootcert={}",
            ca.display()
        );
        assert_eq!(
            uses_ssl(&spec(&ci, None)).await,
            Ok(true),
            "verify-full via {host}"
        );
    }
    let uri = format!("postgresql://postgres:{pw}@127.0.0.1:{port}/postgres?sslmode=require");
    assert_eq!(uses_ssl(&spec(&uri, None)).await, Ok(true), "require");
    let ci = format!("host=127.0.0.1 port={port} user=postgres password={pw} sslmode=disable");
    assert_eq!(uses_ssl(&spec(&ci, None)).await, Ok(false), "disable");
    // hermetic server: no password, no entry over TCP (no `trust` on loopback)
    let ci = format!("host=127.0.0.1 port={port} user=postgres sslmode=disable");
    let e = uses_ssl(&spec(&ci, None)).await.unwrap_err();
    assert!(e.contains("password"), "loopback without a password: {e}");
    // a root that did not sign the server certificate: verify-full and verify-ca refuse
    let other = tempfile::tempdir().unwrap();
    let other_ca = other.path().join("other.crt");
    {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let k = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&other_ca, p.self_signed(&k).unwrap().pem()).unwrap();
    }
    for mode in ["verify-full", "verify-ca"] {
        let ci = format!(
            "host=127.0.0.1 port={port} user=postgres password={pw} sslmode={mode} sslrootcert={}",
            other_ca.display()
        );
        let e = uses_ssl(&spec(&ci, None)).await.unwrap_err();
        assert!(e.contains(&format!("port={port}")), "{e}");
        assert!(
            e.to_lowercase().contains("certificate") || e.contains("UnknownIssuer"),
            "{mode}: {e}"
        );
    }
    // verify-ca accepts the right CA even under a name not in the certificate (hostaddr trick)
    let ci = format!(
        "host=db.invalid hostaddr=127.0.0.1 port={port} user=postgres password={pw} sslmode=verify-ca sslrootcert={}",
        ca.display()
    );
    assert_eq!(
        uses_ssl(&spec(&ci, None)).await,
        Ok(true),
        "verify-ca ignores the name"
    );
    let ci = ci.replace("verify-ca", "verify-full");
    assert!(
        uses_ssl(&spec(&ci, None)).await.is_err(),
        "verify-full checks the name"
    );

    // .pgpass with a SCRAM user: used only when 0600
    pg.admin()
        .await
        .batch_execute("CREATE ROLE pwuser LOGIN PASSWORD 'pw:with\\colon'")
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{port}:*:pwuser:pw\\:with\\\\colon\n"),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ci = format!("host=127.0.0.1 port={port} user=pwuser dbname=postgres sslmode=disable");
    let s = spec(&ci, Some(home.path().to_path_buf()));
    assert!(s.password.is_none() && !s.warnings.is_empty());
    let e = tls::connect(&s, "stacktop", 5 * SEC).await.unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = spec(&ci, Some(home.path().to_path_buf()));
    assert_eq!(uses_ssl(&s).await, Ok(false), "pgpass password accepted");
    assert!(!format!("{s:?}{s}").contains("colon"), "password leaked");

    // server stop + restart: the collector (over verify-full TLS) recovers by itself
    let ci = format!(
        "host=localhost port={port} user=postgres password={pw} dbname=postgres sslmode=verify-full sslrootcert={}",
        ca.display()
    );
    let mut o = CollectorOptions::new(spec(&ci, None));
    o.interval = Duration::from_millis(200);
    o.backoff_min = Duration::from_millis(200);
    o.backoff_max = Duration::from_secs(1);
    let (h, mut rx) = collector::spawn(o);
    let mut notices = Vec::new();
    let first = next_where(&mut rx, &mut notices, 10 * SEC, "connected", |s| {
        s.header.is_some()
    })
    .await;
    let ConnState::Connected { since: since1 } = first.status else {
        panic!("{:?}", first.status)
    };
    tokio::task::block_in_place(|| pg.stop());
    let down = next_where(&mut rx, &mut notices, 10 * SEC, "disconnected", |s| {
        matches!(s.status, ConnState::Disconnected { .. })
    })
    .await;
    assert!(down.header.is_none() && down.sessions.is_empty());
    // a few failed attempts while the server is down, reported as data
    next_where(
        &mut rx,
        &mut notices,
        10 * SEC,
        "2 attempts",
        |s| matches!(s.status, ConnState::Disconnected { attempts, .. } if attempts >= 2),
    )
    .await;
    tokio::task::block_in_place(|| pg.restart());
    let back = next_where(&mut rx, &mut notices, 15 * SEC, "reconnected", |s| {
        s.header.is_some()
    })
    .await;
    match back.status {
        ConnState::Connected { since } => assert!(since > since1),
        s => panic!("{s:?}"),
    }
    let seq = back.seq;
    next_where(&mut rx, &mut notices, 5 * SEC, "refreshing again", |s| {
        s.seq >= seq + 3 && s.header.is_some()
    })
    .await;
    // what this major cannot show was said once, not again at the reconnect
    let said = notices
        .iter()
        .filter(|n| n.contains("query ids need PostgreSQL 14"))
        .count();
    assert_eq!(said, usize::from(major < 14), "{notices:?}");
    h.shutdown().await;
}

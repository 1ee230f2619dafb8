//! PgConfig: parsing, defaults, derived paths.

use super::*;
use std::path::Path;

#[test]
fn durations() {
    assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
    assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
    assert_eq!(parse_duration("5x"), None);
    assert_eq!(parse_duration("5s3"), None);
    assert_eq!(parse_duration("-1"), None);
    // bounded: no panic converting huge numbers, no overflow downstream
    assert_eq!(parse_duration("1e30"), None);
    assert_eq!(parse_duration("18446744073709551615s"), None);
}

#[test]
fn parses_full_file_and_rejects_unknown_keys() {
    let c = PgConfig::from_toml_str(
        r#"
        name = "orders"
        conninfo = "postgresql://app:hunter2@db1/orders"
        refresh = "1s"
        slow_threshold = 3
        critical_threshold = "1m"
        idle_in_transaction_threshold = "45s"
        long_transaction_threshold = "2m"
        slack_webhook = "https://hooks.example/T000/secret"
        read_only = true
        [slack]
        resolved = true
        redact_literals = true
        [kill]
        only_select = true
        users = ["replicator"]
        "#,
    )
    .unwrap();
    assert_eq!(c.refresh, Some(Duration::from_secs(1)));
    assert_eq!(c.thresholds().critical, Duration::from_secs(60));
    assert_eq!(c.thresholds().long_transaction, Duration::from_secs(120));
    assert_eq!(
        PgConfig::default().thresholds().long_transaction,
        Duration::from_secs(300)
    );
    assert!(c.read_only && c.slack.resolved && c.kill.only_select);
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("hunter2") && !dbg.contains("secret"), "{dbg}");
    assert!(PgConfig::from_toml_str("slow_treshold = 3").is_err());
    assert!(PgConfig::from_toml_str("[kill]\nuser = []").is_err());
    assert!(PgConfig::from_toml_str("slow_threshold = 10\ncritical_threshold = 5").is_err());
    assert!(PgConfig::from_toml_str("refresh = \"soon\"").is_err());
}

/// The slow log's and the outboxes' default places come from the environment the
/// config is resolved in (a test's, a service's), never from this process's.
#[test]
fn default_paths_come_from_the_given_environment() {
    let env = |xdg: Option<&'static str>, home: Option<&str>| Env {
        vars: Box::new(move |k| (k == "XDG_STATE_HOME").then(|| xdg.map(String::from))?),
        home: home.map(PathBuf::from),
        os_user: Some("me".into()),
    };
    let c = PgConfig::from_toml_str("host = \"db1\"").unwrap();
    let spec = c.conn_spec(&env(None, None)).unwrap();
    let both = |e: &Env| (c.slow_log_path(e), c.outbox_path("s", &spec, e));
    let (log, outbox) = both(&env(Some("/st"), Some("/home/me")));
    assert_eq!(log.unwrap(), Path::new("/st/stacktop/pgtop-slow.jsonl"));
    assert!(outbox.unwrap().starts_with("/st/stacktop/slack/"));
    // a relative XDG_STATE_HOME is ignored (the XDG spec), as is an empty one
    for xdg in [Some("rel/dir"), Some(""), None] {
        let (log, outbox) = both(&env(xdg, Some("/home/me")));
        let state = Path::new("/home/me/.local/state/stacktop");
        assert_eq!(log.unwrap(), state.join("pgtop-slow.jsonl"), "{xdg:?}");
        assert!(outbox.unwrap().starts_with(state.join("slack")), "{xdg:?}");
    }
    // nowhere to put them: none (the slow log off, no durable outbox)
    assert_eq!(both(&env(None, None)), (None, None));
    // named in the file: as named
    let named = PgConfig::from_toml_str("slow_log = \"/var/log/s.jsonl\"").unwrap();
    let log = named.slow_log_path(&env(None, None));
    assert_eq!(log.unwrap(), Path::new("/var/log/s.jsonl"));
}

#[test]
fn slack_defaults_and_outbox_per_server() {
    let env = Env {
        vars: Box::new(|_| None),
        home: None,
        os_user: Some("me".into()),
    };
    let c = PgConfig::from_toml_str("[slack]\noutbox_dir = \"/st\"").unwrap();
    let o = c.slack_options(Secret::new("http://h/x"), "s");
    assert!(o.redact_literals, "redaction is the default");
    let spec = |db: &str| {
        PgConfig::from_toml_str(&format!("host = \"db1\"\ndbname = \"{db}\""))
            .unwrap()
            .conn_spec(&env)
            .unwrap()
    };
    let a = c.outbox_path("../prod/x", &spec("orders"), &env).unwrap();
    assert!(
        a.starts_with("/st/") && a.parent() == Some(Path::new("/st")),
        "{a:?}"
    );
    let name = a.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("___prod_x-"), "{name}");
    assert_eq!(
        a,
        c.outbox_path("../prod/x", &spec("orders"), &env).unwrap()
    );
    assert_ne!(
        a,
        c.outbox_path("../prod/x", &spec("billing"), &env).unwrap()
    );
    assert!(PgConfig::from_toml_str("[slack]\nmax_query_chars = 0").is_err());
    assert!(PgConfig::from_toml_str("[slack]\noutbox_max = 0").is_err());
}

#[test]
fn password_sources() {
    let env = Env {
        vars: Box::new(|k| (k == "DBPW").then(|| "from-env".to_string())),
        home: None,
        os_user: Some("me".into()),
    };
    let c = PgConfig::from_toml_str("host = \"h\"\npassword_env = \"DBPW\"").unwrap();
    assert_eq!(
        c.conn_spec(&env).unwrap().password.unwrap().expose(),
        "from-env"
    );
    let c = PgConfig::from_toml_str("host = \"h\"\npassword_command = \"echo from-cmd\"").unwrap();
    assert_eq!(
        c.conn_spec(&env).unwrap().password.unwrap().expose(),
        "from-cmd"
    );
    let c = PgConfig::from_toml_str("password_env = \"NOPE\"").unwrap();
    assert!(c.conn_spec(&env).is_err());
    let c = PgConfig::from_toml_str("password_command = \"exit 3\"").unwrap();
    assert!(c.conn_spec(&env).is_err());
}

//! The example per-database config parses, resolves its connection and webhook from the
//! environment, and builds collector options — without a server.

use std::time::Duration;

use stacktop::pg::config::PgConfig;
use stacktop::pg::conninfo::{Env, SslMode};

#[test]
fn fixture_config_resolves() {
    let text = std::fs::read_to_string("tests/fixtures/pg/orders.toml").unwrap();
    let c = PgConfig::from_toml_str(&text).unwrap();
    let env = Env {
        vars: Box::new(|k| match k {
            "ORDERS_PGPASSWORD" => Some("s3cret-pw".into()),
            "ORDERS_SLACK_WEBHOOK" => Some("https://hooks.slack.invalid/services/T/B/XYZ".into()),
            _ => None,
        }),
        home: None,
        os_user: Some("ops".into()),
    };
    let o = c.collector_options(&env).unwrap();
    assert_eq!(o.server, "orders-prod");
    assert_eq!(o.interval, Duration::from_secs(1));
    assert_eq!(o.thresholds.critical, Duration::from_secs(120));
    assert_eq!(o.spec.sslmode, SslMode::VerifyFull);
    assert_eq!(o.spec.user, "monitor");
    assert_eq!(o.spec.password.as_ref().unwrap().expose(), "s3cret-pw");
    let slack = o.slack.as_ref().unwrap();
    assert!(slack.resolved && slack.redact_literals);
    assert_eq!(
        slack.url.expose(),
        "https://hooks.slack.invalid/services/T/B/XYZ"
    );
    let dbg = format!("{o:?} {c:?}");
    assert!(!dbg.contains("s3cret") && !dbg.contains("XYZ"), "{dbg}");
    assert!(o.slow_log.unwrap().ends_with("orders-slow.jsonl"));
}

//! Slack alerts against a real local HTTP receiver (tests/support/webhook.rs), no database:
//! payloads are redacted and mrkdwn-escaped by default; a hanging, then failing, then recovered
//! receiver gets every alert exactly once and in order; a restarted notifier delivers what was
//! queued and does not re-alert what was sent; the start-up burst is one digest; errors name
//! their cause without the URL; the pgtop header shows "Slack failing since …" from the real
//! notifier's state while it fails and not after it recovers.

#[path = "support/screen.rs"]
mod screen;
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::PgSnapshot;
use stacktop::pg::collector::ConnState;
use stacktop::pg::conninfo::Secret;
use stacktop::pg::slack::{self, SlackNotifier, SlackOptions};
use stacktop::pg::tracker::{InstanceInfo, SlowEvent};
use stacktop::theme::Theme;
use stacktop::wire::ViewKind;
use support::webhook::{Mode, Webhook};

const SECRET_PATH: &str = "/services/T000/B000/s3cr3tT0ken";

fn opts(hook: &Webhook, outbox: Option<&Path>) -> SlackOptions {
    let mut o = SlackOptions::new(Secret::new(hook.url(SECRET_PATH)), "prod-db");
    o.timeout = Duration::from_millis(300);
    o.backoff = Duration::from_millis(50);
    o.backoff_max = Duration::from_millis(200);
    o.max_per_minute = 1000;
    o.outbox = outbox.map(Path::to_path_buf);
    o
}

fn crossed(info: &InstanceInfo) -> SlowEvent {
    SlowEvent::Crossed {
        info: info.clone(),
        critical: false,
    }
}

async fn until(what: &str, limit: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The pids named by "pid N " in the delivered posts, in order.
fn delivered_pids(hook: &Webhook) -> Vec<i32> {
    let mut out = Vec::new();
    for p in hook.delivered() {
        let t = p.text();
        for part in t.split("pid ").skip(1) {
            if let Some(n) = part.split(' ').next().and_then(|n| n.parse().ok()) {
                out.push(n);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_are_redacted_and_escaped_by_default() {
    let hook = Webhook::start(Mode::Ok).await;
    let mut i = InstanceInfo::for_test(
        41,
        "SELECT * FROM users WHERE password = 'hunter2' AND note = '<!channel> ```' AND pin = 4711",
    );
    i.usename = Some("<!here>".into());
    i.application_name = "a`b&c".into();
    let (mut n, _ev) = SlackNotifier::spawn(opts(&hook, None));
    n.notify(vec![crossed(&i)], false);
    let p = hook.wait_for_posts(1, Duration::from_secs(5)).await;
    let t = p[0].text();
    assert!(
        !t.contains("hunter2") && !t.contains("4711"),
        "literals: {t}"
    );
    assert!(!t.contains('<') && !t.contains('>'), "mrkdwn control: {t}");
    assert!(t.contains("user `&lt;!here&gt;`"), "{t}");
    assert!(t.contains("app `aˋb&amp;c`"), "{t}");
    assert_eq!(t.matches("```").count(), 2, "one code span: {t}");
    assert!(t.contains("password = ?"), "{t}");
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_then_recovery_delivers_every_alert_once_in_order() {
    let hook = Webhook::start(Mode::Hang).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut n, mut ev) = SlackNotifier::spawn(opts(&hook, Some(dir.path())));
    n.notify(vec![crossed(&InstanceInfo::for_test(1, "select 1"))], false);
    until("failing after a hang", Duration::from_secs(5), || {
        n.status().failing_since.is_some()
    })
    .await;
    let first = ev.recv().await.unwrap().notice().unwrap();
    assert!(first.contains("timeout after 300ms"), "{first}");
    hook.set_mode(Mode::Error500);
    for pid in 2..=4 {
        n.notify(
            vec![crossed(&InstanceInfo::for_test(pid, "select 1"))],
            false,
        );
    }
    until("HTTP 500 seen", Duration::from_secs(5), || {
        n.status()
            .last_error
            .is_some_and(|e| e.contains("HTTP 500 Internal Server Error: fail"))
    })
    .await;
    // several failures, still all queued (never dropped after N attempts)
    until("retried", Duration::from_secs(5), || {
        hook.posts().len() >= 6
    })
    .await;
    let s = n.status();
    assert_eq!((s.queued, s.dropped), (4, 0), "{s:?}");
    let ind = s.indicator().unwrap();
    assert!(
        ind.starts_with("Slack failing since ") && ind.ends_with("(4 queued)"),
        "{ind}"
    );
    let recovered = Instant::now();
    hook.set_mode(Mode::Ok);
    n.notify(vec![crossed(&InstanceInfo::for_test(5, "select 1"))], false);
    until("all delivered", Duration::from_secs(5), || {
        let s = n.status();
        s.queued == 0 && s.failing_since.is_none()
    })
    .await;
    // at most one backoff_max + one post after the receiver is back
    assert!(
        recovered.elapsed() < Duration::from_secs(2),
        "{:?}",
        recovered.elapsed()
    );
    assert_eq!(delivered_pids(&hook), vec![1, 2, 3, 4, 5]);
    assert!(
        hook.delivered().len() <= 2,
        "the backlog went as a digest: {:?}",
        hook.delivered()
    );
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_delivers_the_rest_and_does_not_realert() {
    let hook = Webhook::start(Mode::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let (sent, a, b, c) = (
        InstanceInfo::for_test(10, "select 10"),
        InstanceInfo::for_test(11, "select 11"),
        InstanceInfo::for_test(12, "select 12"),
        InstanceInfo::for_test(13, "select 13"),
    );
    let (mut n, _ev) = SlackNotifier::spawn(opts(&hook, Some(dir.path())));
    n.notify(vec![crossed(&sent)], true);
    hook.wait_for_posts(1, Duration::from_secs(5)).await;
    until("acked", Duration::from_secs(5), || n.status().queued == 0).await;
    hook.set_mode(Mode::Error500);
    n.notify(vec![crossed(&a), crossed(&b)], false);
    until(
        "a and b queued while failing",
        Duration::from_secs(5),
        || {
            let s = n.status();
            s.queued == 2 && s.failing_since.is_some()
        },
    )
    .await;
    n.shutdown().await;

    // a restarted stacktop: its tracker reports everything still running again
    hook.set_mode(Mode::Ok);
    let (mut n, _ev) = SlackNotifier::spawn(opts(&hook, Some(dir.path())));
    n.notify(vec![crossed(&sent), crossed(&a), crossed(&c)], true);
    until("delivered after restart", Duration::from_secs(5), || {
        delivered_pids(&hook).len() >= 4 && n.status().queued == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // nothing more may arrive
    assert_eq!(delivered_pids(&hook), vec![10, 11, 12, 13]);
    n.shutdown().await;
    let outbox = dir.path().join("outbox.jsonl");
    let text = std::fs::read_to_string(&outbox).unwrap();
    assert!(
        !text.contains("select 1"),
        "queries are stored redacted: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_burst_is_one_digest() {
    let hook = Webhook::start(Mode::Ok).await;
    let (mut n, _ev) = SlackNotifier::spawn(opts(&hook, None));
    let burst: Vec<SlowEvent> = (100..108)
        .map(|pid| crossed(&InstanceInfo::for_test(pid, "select pg_sleep(600)")))
        .collect();
    n.notify(burst, true);
    let p = hook.wait_for_posts(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.posts().len(), 1, "{:?}", hook.posts());
    let t = p[0].text();
    assert!(
        t.contains(":bell: 8 alerts on `prod-db` (already over threshold at start-up)"),
        "{t}"
    );
    assert_eq!(delivered_pids(&hook), (100..108).collect::<Vec<_>>());
    n.notify(
        vec![crossed(&InstanceInfo::for_test(200, "select 2"))],
        false,
    );
    let p = hook.wait_for_posts(2, Duration::from_secs(5)).await;
    assert!(
        !p[1].text().contains("alerts on"),
        "a single alert is not a digest"
    );
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_errors_name_the_cause_never_the_url() {
    // connection refused: a port that was free a moment ago
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut o = SlackOptions::new(
        Secret::new(format!("http://127.0.0.1:{port}{SECRET_PATH}")),
        "x",
    );
    o.retries = 0;
    let e = slack::send_test(&o).await.unwrap_err();
    assert_eq!(e, "connection refused");
    let hook = Webhook::start(Mode::Hang).await;
    let mut o = opts(&hook, None);
    o.retries = 0;
    assert_eq!(
        slack::send_test(&o).await.unwrap_err(),
        "timeout after 300ms"
    );
    hook.set_mode(Mode::Error500Echo);
    let e = slack::send_test(&o).await.unwrap_err();
    assert!(
        e.starts_with("HTTP 500 Internal Server Error: no such hook"),
        "{e}"
    );
    assert!(
        !e.contains("s3cr3t") && !e.contains("T000"),
        "URL leaked: {e}"
    );
    assert!(
        !e.chars().any(char::is_control),
        "control characters: {e:?}"
    );
}

fn snapshot(alerts: Option<slack::AlertStatus>) -> Update {
    let mut s = PgSnapshot::status_only(
        1,
        ConnState::Connected {
            since: chrono::Utc::now(),
        },
        Duration::from_secs(1),
    );
    s.alerts = alerts;
    Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(s.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_shows_slack_failing_until_it_recovers() {
    let hook = Webhook::start(Mode::Error500).await;
    let (mut n, _ev) = SlackNotifier::spawn(opts(&hook, None));
    n.notify(vec![crossed(&InstanceInfo::for_test(7, "select 1"))], false);
    until("failing", Duration::from_secs(5), || {
        n.status().failing_since.is_some()
    })
    .await;
    let mut app = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    app.apply(snapshot(Some(n.status())));
    let buf = screen::render(&app, 100, 12);
    let since = n.status().failing_since.unwrap();
    let want = format!(
        "Slack failing since {} (1 queued)",
        since.with_timezone(&chrono::Local).format("%H:%M:%S")
    );
    screen::find(&buf, &want);
    hook.set_mode(Mode::Ok);
    until("recovered", Duration::from_secs(5), || {
        n.status().failing_since.is_none()
    })
    .await;
    app.apply(snapshot(Some(n.status())));
    let buf = screen::render(&app, 100, 12);
    assert!(
        !screen::text(&buf).contains("Slack failing"),
        "{}",
        screen::text(&buf)
    );
    n.shutdown().await;
}

//! Slack-compatible webhook notifications from a background task. The collector hands events over
//! with `try_send` on a bounded queue (never waits); the task POSTs JSON with a timeout and
//! retries with backoff; a per-server rate limit caps bursts; failures come back as
//! [`SlackEvent`]s for the status line. The webhook URL is a [`Secret`]: never logged, and
//! stripped from reqwest errors.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;

use super::conninfo::Secret;
use super::redact::{one_line, redact_literals};
use super::tracker::{InstanceInfo, SlowEvent};

/// Notification settings.
#[derive(Debug, Clone)]
pub struct SlackOptions {
    pub url: Secret,
    /// label of the server in messages
    pub server: String,
    pub timeout: Duration,
    /// extra attempts after the first
    pub retries: u32,
    /// first retry delay, doubled each time
    pub backoff: Duration,
    pub queue: usize,
    /// send a "resolved" follow-up when a reported query ends
    pub resolved: bool,
    /// replace literals in the query with `?`
    pub redact_literals: bool,
    pub max_query_chars: usize,
    /// at most this many messages per minute for this server; the rest are dropped and counted
    pub max_per_minute: u32,
}

impl SlackOptions {
    pub fn new(url: Secret, server: impl Into<String>) -> Self {
        SlackOptions {
            url,
            server: server.into(),
            timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_secs(1),
            queue: 64,
            resolved: false,
            redact_literals: false,
            max_query_chars: 500,
            max_per_minute: 20,
        }
    }
}

/// Delivery results reported back to the collector (and from there to the status line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackEvent {
    Delivered {
        pid: i32,
    },
    Failed {
        pid: i32,
        error: String,
    },
    /// the queue was full or the rate limit was hit
    Dropped {
        count: u64,
        reason: &'static str,
    },
}

impl SlackEvent {
    pub fn notice(&self) -> Option<String> {
        match self {
            SlackEvent::Delivered { .. } => None,
            SlackEvent::Failed { pid, error } => {
                Some(format!("webhook for pid {pid} failed: {error}"))
            }
            SlackEvent::Dropped { count, reason } => {
                Some(format!("webhook: {count} message(s) dropped ({reason})"))
            }
        }
    }
}

struct Msg {
    pid: i32,
    body: serde_json::Value,
}

/// Handle owned by the collector.
pub struct SlackNotifier {
    tx: mpsc::Sender<Msg>,
    events: mpsc::Sender<SlackEvent>,
    opts: SlackOptions,
    window_start: Instant,
    in_window: u32,
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The JSON body for one event (`None` for events that send nothing with these options).
pub fn message(opts: &SlackOptions, ev: &SlowEvent) -> Option<serde_json::Value> {
    let q = |i: &InstanceInfo| {
        let text = if opts.redact_literals {
            redact_literals(&i.query)
        } else {
            i.query.clone()
        };
        one_line(&text, opts.max_query_chars).replace("```", "'''")
    };
    let who = |i: &InstanceInfo| {
        format!(
            "database `{}` user `{}` pid {}",
            i.datname.as_deref().unwrap_or("?"),
            i.usename.as_deref().unwrap_or("?"),
            i.pid
        )
    };
    let text = match ev {
        SlowEvent::Crossed { info, critical } => format!(
            "{} query on `{}`, {} running for {}:\n```{}```",
            if *critical {
                ":rotating_light: Critical"
            } else {
                ":warning: Slow"
            },
            opts.server,
            who(info),
            fmt_secs(info.duration),
            q(info)
        ),
        SlowEvent::Critical { info } => format!(
            ":rotating_light: Query on `{}` is now critical, {} running for {}:\n```{}```",
            opts.server,
            who(info),
            fmt_secs(info.duration),
            q(info)
        ),
        SlowEvent::Resolved { info } if opts.resolved => format!(
            ":white_check_mark: Resolved on `{}`: {} ended after about {}",
            opts.server,
            who(info),
            fmt_secs(info.duration)
        ),
        SlowEvent::Resolved { .. } => return None,
    };
    Some(json!({ "text": text, "username": "stacktop" }))
}

impl SlackNotifier {
    /// Starts the delivery task; returns the handle and the receiver of delivery events.
    pub fn spawn(opts: SlackOptions) -> (SlackNotifier, mpsc::Receiver<SlackEvent>) {
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let (etx, erx) = mpsc::channel(64);
        tokio::spawn(worker(opts.clone(), rx, etx.clone()));
        (
            SlackNotifier {
                tx,
                events: etx,
                opts,
                window_start: Instant::now(),
                in_window: 0,
            },
            erx,
        )
    }

    /// Queues a notification; never waits. Returns false if it was dropped.
    pub fn notify(&mut self, ev: &SlowEvent) -> bool {
        let Some(body) = message(&self.opts, ev) else {
            return false;
        };
        if self.window_start.elapsed() >= Duration::from_secs(60) {
            self.window_start = Instant::now();
            self.in_window = 0;
        }
        if self.in_window >= self.opts.max_per_minute {
            let _ = self.events.try_send(SlackEvent::Dropped {
                count: 1,
                reason: "rate limit",
            });
            return false;
        }
        let pid = match ev {
            SlowEvent::Crossed { info, .. }
            | SlowEvent::Critical { info }
            | SlowEvent::Resolved { info } => info.pid,
        };
        match self.tx.try_send(Msg { pid, body }) {
            Ok(()) => {
                self.in_window += 1;
                true
            }
            Err(_) => {
                let _ = self.events.try_send(SlackEvent::Dropped {
                    count: 1,
                    reason: "queue full",
                });
                false
            }
        }
    }
}

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| e.without_url().to_string())
}

/// One POST; errors never contain the URL.
async fn post_once(
    http: &reqwest::Client,
    url: &Secret,
    body: &serde_json::Value,
) -> Result<(), (String, bool)> {
    let resp = http
        .post(url.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| (e.without_url().to_string(), true))?;
    let st = resp.status();
    if st.is_success() {
        Ok(())
    } else {
        // 4xx other than 429 will not get better by retrying
        let retry = st.is_server_error() || st.as_u16() == 429;
        Err((format!("HTTP {st}"), retry))
    }
}

async fn deliver(
    http: &reqwest::Client,
    opts: &SlackOptions,
    body: &serde_json::Value,
) -> Result<(), String> {
    let mut delay = opts.backoff;
    let mut attempt = 0;
    loop {
        match post_once(http, &opts.url, body).await {
            Ok(()) => return Ok(()),
            Err((e, retry)) => {
                if !retry || attempt >= opts.retries {
                    return Err(if attempt > 0 {
                        format!("{e} (after {} attempts)", attempt + 1)
                    } else {
                        e
                    });
                }
            }
        }
        attempt += 1;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

async fn worker(opts: SlackOptions, mut rx: mpsc::Receiver<Msg>, events: mpsc::Sender<SlackEvent>) {
    let http = match client(opts.timeout) {
        Ok(c) => c,
        Err(error) => {
            let _ = events.try_send(SlackEvent::Failed { pid: 0, error });
            return;
        }
    };
    while let Some(m) = rx.recv().await {
        let ev = match deliver(&http, &opts, &m.body).await {
            Ok(()) => SlackEvent::Delivered { pid: m.pid },
            Err(error) => SlackEvent::Failed { pid: m.pid, error },
        };
        let _ = events.try_send(ev);
    }
}

/// `stacktop pgtop --test-webhook`: sends one test message and waits for the answer.
pub async fn send_test(opts: &SlackOptions) -> Result<(), String> {
    let http = client(opts.timeout)?;
    let body = json!({
        "text": format!(":white_check_mark: stacktop test message for `{}`", opts.server),
        "username": "stacktop",
    });
    deliver(&http, opts, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> InstanceInfo {
        InstanceInfo {
            pid: 42,
            query_start: chrono::Utc::now(),
            backend_start: None,
            datname: Some("orders".into()),
            usename: Some("app".into()),
            application_name: String::new(),
            client_addr: None,
            query: "select * from t where card = '4111111111111111' and n = 7".into(),
            duration: Duration::from_secs(75),
        }
    }

    #[test]
    fn message_redacts_and_truncates() {
        let mut o = SlackOptions::new(Secret::new("http://x/secret"), "prod");
        o.redact_literals = true;
        let m = message(
            &o,
            &SlowEvent::Crossed {
                info: info(),
                critical: false,
            },
        )
        .unwrap();
        let t = m["text"].as_str().unwrap();
        assert!(t.contains("card = ? and n = ?"), "{t}");
        assert!(t.contains("`orders`") && t.contains("pid 42") && t.contains("1m15s"));
        o.max_query_chars = 10;
        let m = message(
            &o,
            &SlowEvent::Crossed {
                info: info(),
                critical: true,
            },
        )
        .unwrap();
        assert!(m["text"].as_str().unwrap().contains("select * f…"));
        assert!(message(&o, &SlowEvent::Resolved { info: info() }).is_none());
        o.resolved = true;
        assert!(message(&o, &SlowEvent::Resolved { info: info() }).is_some());
        assert!(!format!("{o:?}").contains("secret"));
    }
}

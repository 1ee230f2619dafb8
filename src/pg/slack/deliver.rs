//! The delivery task: receives the collector's event batches, formats and de-duplicates them into
//! the outbox (so redaction and formatting never run in the refresh), and posts the oldest
//! queued alerts — several at once as one digest — one POST in flight at a time, each bounded
//! by the timeout. A failed POST leaves its alerts queued (in order) and is retried with
//! exponential backoff capped at `backoff_max`, forever; alerts that arrive meanwhile join the
//! next digest, so a hanging receiver delays nothing by more than one timeout plus the backoff.
//! Errors say the cause (connection refused, timeout, HTTP status + start of the body) and never
//! contain the URL.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::message::{self, MAX_TEXT_CHARS};
use super::outbox::Outbox;
use super::{AlertStatus, Batch, SlackEvent, SlackOptions};

pub(super) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| e.without_url().to_string())
}

/// Removes the URL (a secret) and anything that could drive a terminal from a message.
fn sanitize(text: &str, opts: &SlackOptions, max_chars: usize) -> String {
    let url = opts.url.expose();
    let mut t = if url.is_empty() {
        text.to_string()
    } else {
        text.replace(url, "<webhook URL>")
    };
    if let Some(path) = reqwest::Url::parse(url)
        .ok()
        .map(|u| u.path().to_string())
        .filter(|p| p.len() > 1)
    {
        t = t.replace(&path, "<webhook path>");
    }
    let mut out = String::new();
    for ch in t.chars().map(|c| if c.is_control() { ' ' } else { c }) {
        if ch == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        if out.chars().count() >= max_chars {
            out.push('…');
            break;
        }
        out.push(ch);
    }
    out.trim_end().to_string()
}

/// What went wrong, in words (reqwest's own text is "error sending request").
fn describe(e: &reqwest::Error, opts: &SlackOptions) -> String {
    if e.is_timeout() {
        return format!("timeout after {}", humantime::format_duration(opts.timeout));
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut chain = Vec::new();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return match io.kind() {
                K::ConnectionRefused => "connection refused".into(),
                K::ConnectionReset => "connection reset by the receiver".into(),
                K::TimedOut => {
                    format!("timeout after {}", humantime::format_duration(opts.timeout))
                }
                _ => sanitize(&format!("connection failed: {io}"), opts, 200),
            };
        }
        chain.push(s.to_string());
        src = s.source();
    }
    let what = if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match chain.last() {
        Some(c) => sanitize(&format!("{what}: {c}"), opts, 200),
        None => what.to_string(),
    }
}

/// One POST. Err carries the cause and whether retrying may help; never the URL.
pub(super) async fn post_once(
    http: &reqwest::Client,
    opts: &SlackOptions,
    body: &serde_json::Value,
) -> Result<(), (String, bool)> {
    let mut resp = http
        .post(opts.url.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| (describe(&e, opts), true))?;
    let st = resp.status();
    if st.is_success() {
        return Ok(());
    }
    let mut raw = Vec::new();
    while raw.len() < 4096 {
        match resp.chunk().await {
            Ok(Some(c)) => raw.extend_from_slice(&c),
            _ => break,
        }
    }
    let text = sanitize(&String::from_utf8_lossy(&raw), opts, 200);
    // 4xx other than 429 will not get better by retrying right away
    let retry = st.is_server_error() || st.as_u16() == 429;
    Err((
        if text.is_empty() {
            format!("HTTP {st}")
        } else {
            format!("HTTP {st}: {text}")
        },
        retry,
    ))
}

type Post = Pin<Box<dyn Future<Output = (u64, Result<(), String>)> + Send>>;

struct Delivery {
    opts: SlackOptions,
    http: reqwest::Client,
    outbox: Outbox,
    events: mpsc::Sender<SlackEvent>,
    status: watch::Sender<AlertStatus>,
    failing_since: Option<DateTime<Utc>>,
    last_error: Option<String>,
    failures: u32,
    next_try: Instant,
    posts: VecDeque<Instant>,
    dropped_reported: u64,
    dropped_noted: u64,
    startup_upto: u64,
    write_error_noted: bool,
}

impl Delivery {
    fn note(&self, ev: SlackEvent) {
        let _ = self.events.try_send(ev);
    }

    fn enqueue(&mut self, b: Batch) {
        for ev in &b.events {
            let outbox = &self.outbox;
            let Some(a) = message::alert(&self.opts, ev, |k| outbox.seen(k)) else {
                continue;
            };
            if let Err(e) = self.outbox.push(a.keys, a.text) {
                if !self.write_error_noted {
                    self.write_error_noted = true;
                    self.note(SlackEvent::Note(format!(
                        "slack outbox write failed (alerts kept in memory): {e}"
                    )));
                }
            }
        }
        if b.initial {
            self.startup_upto = self
                .outbox
                .head(usize::MAX, usize::MAX)
                .last()
                .map_or(0, |e| e.seq);
        }
        let d = self.outbox.dropped();
        if d > self.dropped_noted {
            self.note(SlackEvent::Dropped {
                count: d - self.dropped_noted,
                reason: "outbox full",
            });
            self.dropped_noted = d;
        }
    }

    /// When the next POST may start (rate limit and backoff), `None` if nothing is queued.
    fn next_start(&mut self) -> Option<Instant> {
        if self.outbox.is_empty() {
            return None;
        }
        let now = Instant::now();
        while self
            .posts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.posts.pop_front();
        }
        let mut at = self.next_try;
        if self.posts.len() >= self.opts.max_per_minute.max(1) as usize {
            at = at.max(self.posts[0] + Duration::from_secs(60));
        }
        Some(at)
    }

    fn start_post(&mut self) -> Post {
        let head = self.outbox.head(self.opts.digest_max, MAX_TEXT_CHARS);
        let upto = head.last().map_or(0, |e| e.seq);
        let texts: Vec<&str> = head.iter().map(|e| e.text.as_str()).collect();
        let note = self.outbox.dropped() - self.dropped_reported;
        let startup = texts.len() > 1 && upto <= self.startup_upto;
        let body = message::body(&self.opts, &texts, note, startup);
        self.posts.push_back(Instant::now());
        let (http, opts) = (self.http.clone(), self.opts.clone());
        Box::pin(async move {
            let r = post_once(&http, &opts, &body).await.map_err(|(e, _)| e);
            (upto, r)
        })
    }

    fn finished(&mut self, upto: u64, r: Result<(), String>) {
        match r {
            Ok(()) => {
                if let Err(e) = self.outbox.ack(upto) {
                    self.note(SlackEvent::Note(format!("slack outbox write failed: {e}")));
                }
                self.dropped_reported = self.outbox.dropped();
                self.failures = 0;
                self.next_try = Instant::now();
                self.last_error = None;
                if let Some(since) = self.failing_since.take() {
                    self.note(SlackEvent::Recovered { since });
                }
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                let factor = 2u32.saturating_pow(self.failures.saturating_sub(1).min(20));
                let delay = self
                    .opts
                    .backoff
                    .saturating_mul(factor)
                    .min(self.opts.backoff_max);
                self.next_try = Instant::now() + delay;
                if self.failing_since.is_none() {
                    self.failing_since = Some(Utc::now());
                    self.note(SlackEvent::Failing {
                        error: e.clone(),
                        queued: self.outbox.len(),
                    });
                }
                self.last_error = Some(e);
            }
        }
    }

    fn publish(&self, lost: u64) {
        let s = AlertStatus {
            failing_since: self.failing_since,
            last_error: self.last_error.clone(),
            queued: self.outbox.len(),
            dropped: self.outbox.dropped() + lost,
        };
        self.status.send_if_modified(|old| {
            let changed = *old != s;
            *old = s;
            changed
        });
    }
}

/// The task body (started by `SlackNotifier::spawn`); ends when the notifier is dropped, after
/// the POST in flight (if any) has finished. Queued alerts stay in the outbox for the next start.
pub(super) async fn run(
    opts: SlackOptions,
    mut rx: mpsc::Receiver<Batch>,
    status: watch::Sender<AlertStatus>,
    events: mpsc::Sender<SlackEvent>,
    lost: Arc<AtomicU64>,
) {
    let http = match client(opts.timeout) {
        Ok(c) => c,
        Err(e) => {
            let _ = events.try_send(SlackEvent::Note(format!("webhook disabled: {e}")));
            return;
        }
    };
    let outbox = match &opts.outbox {
        Some(dir) => match Outbox::open(dir, opts.outbox_max) {
            Ok((o, warnings)) => {
                for w in warnings {
                    let _ = events.try_send(SlackEvent::Note(format!("slack outbox: {w}")));
                }
                o
            }
            Err(e) => {
                let _ = events.try_send(SlackEvent::Note(format!(
                    "slack outbox kept in memory only: {e}"
                )));
                Outbox::memory(opts.outbox_max)
            }
        },
        None => Outbox::memory(opts.outbox_max),
    };
    let dropped = outbox.dropped();
    let mut d = Delivery {
        opts,
        http,
        outbox,
        events,
        status,
        failing_since: None,
        last_error: None,
        failures: 0,
        next_try: Instant::now(),
        posts: VecDeque::new(),
        dropped_reported: dropped,
        dropped_noted: dropped,
        startup_upto: 0,
        write_error_noted: false,
    };
    let mut inflight: Option<Post> = None;
    let mut open = true;
    let mut lost_noted = 0;
    loop {
        let l = lost.load(Ordering::Relaxed);
        if l > lost_noted {
            d.note(SlackEvent::Dropped {
                count: l - lost_noted,
                reason: "delivery task behind",
            });
            lost_noted = l;
        }
        let wake = if inflight.is_none() {
            d.next_start()
        } else {
            None
        };
        if open && wake.is_some_and(|w| w <= Instant::now()) {
            inflight = Some(d.start_post());
        }
        d.publish(l);
        if !open && inflight.is_none() {
            return;
        }
        let wake = wake.filter(|_| inflight.is_none() && open);
        tokio::select! {
            b = rx.recv(), if open => match b {
                Some(b) => d.enqueue(b),
                None => open = false,
            },
            // `pending` is never reached: the branch is disabled while nothing is in flight
            r = async {
                match inflight.as_mut() {
                    Some(post) => post.await,
                    None => std::future::pending().await,
                }
            }, if inflight.is_some() => {
                inflight = None;
                d.finished(r.0, r.1);
            }
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
        }
    }
}

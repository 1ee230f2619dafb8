//! One input stream through the parser: bytes in (from a file, stdin or a child's stdout),
//! batches of [`Request`]s, malformed counts, the detected format and a closing summary out as
//! [`VlogEvent`]s. Shared by the collector (files, stdin) and the supervisor (a child).

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::detect::Format;
use super::input::SourceConfig;
use super::msg::{InputStatus, VlogEvent};
use super::parser::Parser;
use super::request::Request;

/// The receiver went away.
pub(super) struct Closed;

pub(super) async fn send(tx: &mpsc::Sender<VlogEvent>, ev: VlogEvent) -> Result<(), Closed> {
    tx.send(ev).await.map_err(|_| Closed)
}

/// Parser + pending batch + counters for one input stream.
pub(super) struct ReadState {
    parser: Parser,
    batch: Vec<Request>,
    batch_started: Option<Instant>,
    batch_max: usize,
    interval: Duration,
    malformed_sent: u64,
    format_sent: bool,
    /// What is read (`stdin`, a path, a command), for messages.
    what: String,
    /// The input was found to be binary and reported: stop reading.
    pub(super) binary_sent: bool,
}

impl ReadState {
    pub(super) fn new(cfg: &SourceConfig, what: &str) -> Self {
        ReadState {
            parser: Parser::new(),
            batch: Vec::new(),
            batch_started: None,
            batch_max: cfg.batch_max.max(1),
            interval: cfg.batch_interval,
            malformed_sent: 0,
            format_sent: false,
            what: what.to_string(),
            binary_sent: false,
        }
    }

    /// Parses a chunk; `Ok(true)` when the input turned out not to be text (reported).
    async fn feed(&mut self, data: &[u8], tx: &mpsc::Sender<VlogEvent>) -> Result<bool, Closed> {
        let before = self.batch.len();
        self.parser.feed(data, &mut self.batch);
        if self.batch.len() > before && self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        if self.parser.is_binary() {
            if !self.binary_sent {
                self.binary_sent = true;
                let msg = format!(
                    "{} looks like a binary capture (varnishlog -w), not varnishlog text: use --replay",
                    self.what
                );
                send(tx, VlogEvent::Status(InputStatus::Error(msg))).await?;
            }
            return Ok(true);
        }
        self.after_parse(tx, false).await?;
        Ok(false)
    }

    pub(super) async fn after_parse(
        &mut self,
        tx: &mpsc::Sender<VlogEvent>,
        force: bool,
    ) -> Result<(), Closed> {
        if !self.format_sent {
            if let Some(f) = self.parser.format() {
                self.format_sent = true;
                send(tx, VlogEvent::Status(InputStatus::Detected(f))).await?;
                if f == Format::Raw {
                    let msg = "varnishlog -g raw output is not supported: use -g request";
                    send(tx, VlogEvent::Status(InputStatus::Error(msg.into()))).await?;
                }
            }
        }
        let m = self.parser.malformed();
        if m > self.malformed_sent {
            send(tx, VlogEvent::Malformed(m - self.malformed_sent)).await?;
            self.malformed_sent = m;
        }
        let due = self
            .batch_started
            .is_some_and(|t| t.elapsed() >= self.interval);
        // Full batches go at once; a partial one when it is due (or at the end).
        while self.batch.len() >= self.batch_max {
            let b: Vec<Request> = self.batch.drain(..self.batch_max).collect();
            send(tx, VlogEvent::Requests(b)).await?;
        }
        if self.batch.is_empty() {
            self.batch_started = None;
        } else if force || due {
            let b = std::mem::take(&mut self.batch);
            self.batch_started = None;
            send(tx, VlogEvent::Requests(b)).await?;
        }
        Ok(())
    }

    pub(super) async fn finish(&mut self, tx: &mpsc::Sender<VlogEvent>) -> Result<(), Closed> {
        self.parser.finish(&mut self.batch);
        self.after_parse(tx, true).await?;
        let sum = self.parser.summary();
        if self.parser.format().is_none() && !self.binary_sent && sum.lines > 0 {
            let msg = format!(
                "{} is not varnishlog text: no record or group header in {} lines",
                self.what, sum.lines
            );
            send(tx, VlogEvent::Status(InputStatus::Error(msg))).await?;
        }
        send(tx, VlogEvent::Summary(sum)).await
    }
}

/// Read until EOF (or a read error, reported), flushing batches on time.
pub(super) async fn pump<R: AsyncRead + Unpin>(
    r: &mut R,
    st: &mut ReadState,
    tx: &mpsc::Sender<VlogEvent>,
    mut read_total: Option<&mut u64>,
) -> Result<(), Closed> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut tick = tokio::time::interval(st.interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            res = r.read(&mut buf) => match res {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    if let Some(t) = read_total.as_deref_mut() {
                        *t += n as u64;
                    }
                    if st.feed(&buf[..n], tx).await? {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    send(tx, VlogEvent::Status(InputStatus::Error(format!("read error: {e}")))).await?;
                    return Ok(());
                }
            },
            _ = tick.tick() => st.after_parse(tx, false).await?,
        }
    }
}

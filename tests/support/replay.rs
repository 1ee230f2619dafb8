//! Recording a live App and replaying it, for the flight-recorder tests (issue 15).
//!
//! - [`Taped`]: an `App` fed by a real source whose updates are also offered to a real
//!   [`Recorder`] exactly as the run loop's tee does (the app gets each update first, the
//!   recorded kinds are offered with their arrival time). Whenever the app has caught up with
//!   its channel (what the run loop draws), it keeps a [`Shot`]: the instant, the whole screen
//!   (TestBackend) and the active view's batch JSON.
//! - [`Replayed`]: feeds an `App` the decoded records of a recording up to an instant, through
//!   the public `record::store::Reader` and `record::decode::Decoder` only, so a replayed
//!   screen can be compared with the live one at the same instant. View tests can use it to
//!   start from a short recorded session instead of hand-built snapshots.
//!
//! A pgtop refresh is a snapshot and the health sent right after it: the live app is shot
//! after the pair (the replay rebuilds that health from the snapshot, the recording keeping
//! health only when its state changes).
//!
//! Instants are milliseconds since the epoch; every offered update gets its own (strictly
//! increasing), so "the records up to T" is exactly "what the live app had applied at T".

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Local, TimeZone, Utc};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::record::store::Reader;
use stacktop::record::writer::{Recorder, RecorderOptions, Stats};
use stacktop::record::{codec::wanted, decode::Decoder};
use stacktop::theme::Theme;
use stacktop::wire::ViewKind;
use tokio::sync::mpsc;

/// Screen size of the comparisons (the README's minimum).
pub const W: u16 = 120;
pub const H: u16 = 30;

/// The local time of an instant.
pub fn local(ms: i64) -> DateTime<Local> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .expect("a valid instant")
        .with_timezone(&Local)
}

/// The whole screen as text, at [`W`]x[`H`].
pub fn screen(app: &App) -> String {
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(W, H)).expect("test backend");
    term.draw(|f| stacktop::screen::draw(app, f)).expect("draw");
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The active view's `--batch --json` lines at the app's clock, as the live batch prints them.
pub fn batch_json(app: &App) -> String {
    let v = app.active_view();
    let core = v.core();
    stacktop::batch::snapshot(v, &core.health, core.last_data, true, true, app.now)
}

/// A key press as the terminal sends it (upper case with Shift); effects are dropped.
pub fn press(app: &mut App, c: char) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    app.handle_key(KeyEvent::new(KeyCode::Char(c), mods));
}

/// What the live app showed at one instant.
#[derive(Clone, Debug)]
pub struct Shot {
    pub ts_ms: i64,
    pub screen: String,
    pub batch: String,
}

/// A live app recording itself (see the module doc).
pub struct Taped {
    pub app: App,
    pub rx: mpsc::Receiver<Update>,
    pub recorder: Option<Recorder>,
    pub path: PathBuf,
    pub shots: Vec<Shot>,
    /// the longest [`Taped::apply`] (the offer to the recorder and `App::apply`): what the
    /// UI loop would wait per update
    pub max_apply: Duration,
    /// updates applied
    pub applied: u64,
    /// every update offered to the recorder, with its instant
    pub offered: Vec<(i64, Update)>,
    last_ts: i64,
    /// updates applied since the last shot
    unshot: usize,
    /// a pgtop snapshot was applied and the health the source sends right after it was not
    /// yet (no shot then: a refresh is the pair)
    mid_refresh: bool,
}

impl Taped {
    /// An app on `start` reading `rx`, recording to `path` (created 0600).
    pub fn new(cfg: Config, start: ViewKind, rx: mpsc::Receiver<Update>, path: &Path) -> Taped {
        Self::with_options(
            cfg,
            start,
            rx,
            RecorderOptions::new(path.into(), &Default::default()),
        )
    }

    pub fn with_options(
        cfg: Config,
        start: ViewKind,
        rx: mpsc::Receiver<Update>,
        opts: RecorderOptions,
    ) -> Taped {
        let path = opts.path.clone();
        let recorder = Recorder::start(opts).unwrap_or_else(|e| panic!("recorder: {e}"));
        let mut app = App::new(cfg, Theme::builtin_default(), start);
        app.resize(W, H);
        Taped {
            app,
            rx,
            recorder: Some(recorder),
            path,
            shots: Vec::new(),
            max_apply: Duration::ZERO,
            applied: 0,
            offered: Vec::new(),
            last_ts: 0,
            unshot: 0,
            mid_refresh: false,
        }
    }

    /// A new instant, after every one given before.
    fn instant(&mut self) -> i64 {
        self.last_ts = Utc::now().timestamp_millis().max(self.last_ts + 1);
        self.last_ts
    }

    /// One update as the tee handles it: the app first, then the copy offered with its time.
    pub fn apply(&mut self, u: Update) {
        let t = std::time::Instant::now();
        match &u.payload {
            Payload::Pg(_) => self.mid_refresh = true,
            Payload::Health(_) if u.view == ViewKind::Pgtop => self.mid_refresh = false,
            _ => {}
        }
        let copy = wanted(&u).then(|| u.clone());
        let ts = self.instant();
        self.app.apply(u);
        if let (Some(c), Some(r)) = (copy, &self.recorder) {
            self.offered.push((ts, c.clone()));
            r.offer(ts, c);
        }
        self.max_apply = self.max_apply.max(t.elapsed());
        self.applied += 1;
        self.unshot += 1;
    }

    /// The app caught up: its clock to the last instant, and a shot of what it shows.
    fn shoot(&mut self) {
        if self.unshot == 0 || self.mid_refresh {
            return;
        }
        self.unshot = 0;
        self.app.tick(local(self.last_ts));
        self.shots.push(Shot {
            ts_ms: self.last_ts,
            screen: screen(&self.app),
            batch: batch_json(&self.app),
        });
    }

    /// Applies updates (a shot each time the channel is drained) until `done(app)` holds;
    /// panics after `limit` naming `what` and showing the screen.
    pub async fn until(&mut self, what: &str, limit: Duration, done: impl FnMut(&App) -> bool) {
        if !self.pump_until(limit, done).await {
            panic!(
                "timed out after {limit:?} waiting for {what}:\n{}",
                screen(&self.app)
            );
        }
    }

    /// As [`Taped::until`], but false after `limit` instead of a panic.
    pub async fn pump_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&App) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.app) {
            let u = match self.rx.try_recv() {
                Ok(u) => u,
                Err(mpsc::error::TryRecvError::Empty) => {
                    self.shoot();
                    if done(&self.app) {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                        Ok(Some(u)) => u,
                        Ok(None) => panic!("the source ended"),
                        Err(_) => return false,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => panic!("the source ended"),
            };
            self.apply(u);
        }
        self.shoot();
        true
    }

    /// Stops recording (everything offered is committed); returns the recorder's counters.
    pub fn finish(&mut self) -> Arc<Stats> {
        self.recorder.take().expect("still recording").finish()
    }
}

/// An app fed a recording's records in arrival order (see the module doc).
pub struct Replayed {
    pub app: App,
    reader: Reader,
    dec: Decoder,
    next_id: i64,
    /// records that did not decode
    pub skipped: usize,
    /// records applied so far
    pub applied: usize,
}

impl Replayed {
    /// A fresh app on `start` and the recording at `path`, nothing applied yet.
    pub fn open(cfg: Config, start: ViewKind, path: &Path) -> Replayed {
        let reader = Reader::open(path).unwrap_or_else(|e| panic!("{e}"));
        let mut app = App::new(cfg, Theme::builtin_default(), start);
        app.resize(W, H);
        Replayed {
            app,
            reader,
            dec: Decoder::default(),
            next_id: 0,
            skipped: 0,
            applied: 0,
        }
    }

    /// Feeds the app every record with a time at most `to_ms` not fed yet, then sets its
    /// clock to `to_ms` (instants must not go back).
    pub fn feed_until(&mut self, to_ms: i64) -> &App {
        loop {
            let rows = self
                .reader
                .batch(self.next_id, to_ms, 512)
                .unwrap_or_else(|e| panic!("reading the recording: {e}"));
            let Some(last) = rows.last() else { break };
            self.next_id = last.id + 1;
            for row in rows {
                let d = match self.dec.decode(&row.kind, row.keyframe, &row.data) {
                    Ok(d) => d,
                    Err(_) => {
                        self.skipped += 1;
                        continue;
                    }
                };
                self.applied += 1;
                if let Some(view) = ViewKind::parse(&row.view) {
                    for u in d.into_updates(view) {
                        self.app.apply(u);
                    }
                }
            }
        }
        self.app.tick(local(to_ms));
        &self.app
    }

    /// [`screen`] and [`batch_json`] at `to_ms`.
    pub fn shot(&mut self, to_ms: i64) -> Shot {
        let app = self.feed_until(to_ms);
        Shot {
            ts_ms: to_ms,
            screen: screen(app),
            batch: batch_json(app),
        }
    }
}

/// Feeds `r` (a [`Replayed`] set up as the live app was: same config, tab and keys) and asserts
/// the screen and batch JSON equal each live shot at its instant; returns how many shots were
/// compared. `ctx` names the test in failures.
pub fn assert_replay_equals_live(mut r: Replayed, shots: &[Shot], ctx: &str) -> usize {
    for (i, live) in shots.iter().enumerate() {
        let got = r.shot(live.ts_ms);
        assert_eq!(
            got.screen,
            live.screen,
            "{ctx}: shot {i} of {}: the replayed screen differs from the live one at {}\n\
             live:\n{}\nreplayed:\n{}",
            shots.len(),
            local(live.ts_ms),
            live.screen,
            got.screen
        );
        assert_eq!(
            got.batch,
            live.batch,
            "{ctx}: shot {i}: the replayed batch JSON differs at {}",
            local(live.ts_ms)
        );
    }
    assert_eq!(r.skipped, 0, "{ctx}: every record decodes");
    shots.len()
}

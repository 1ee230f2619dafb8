//! An `App` fed by a real collector through its update channel, on a runtime of its own, for
//! end-to-end tests: apply updates until a condition holds (always bounded), or for a while.

use std::time::{Duration, Instant};

use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{SourceCommand, Update};
use stacktop::theme::Theme;
use stacktop::vlog::{source, SourceConfig};
use stacktop::wire::ViewKind;
use tokio::sync::mpsc;

pub struct LiveApp {
    pub rt: tokio::runtime::Runtime,
    pub rx: mpsc::Receiver<Update>,
    pub app: App,
    /// What to print about the app when a wait times out.
    pub context: fn(&App) -> String,
}

impl LiveApp {
    /// An app on `view` whose updates come from the vlog collector started with `sc`; also
    /// returns the collector's command channel.
    pub fn vlog(
        cfg: Config,
        sc: SourceConfig,
        context: fn(&App) -> String,
    ) -> (LiveApp, mpsc::Sender<SourceCommand>) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (tx, rx) = mpsc::channel(256);
        let cmd = rt.block_on(async { source::spawn_with(sc, tx) });
        let app = App::new(cfg, Theme::builtin_default(), ViewKind::Vlog);
        (
            LiveApp {
                rt,
                rx,
                app,
                context,
            },
            cmd,
        )
    }

    /// Applies updates until `done(app)` holds; panics after `secs` naming `what`.
    pub fn until(&mut self, what: &str, secs: u64, mut done: impl FnMut(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; {}",
                (self.context)(&self.app)
            );
            if !self.pump_once(left.min(Duration::from_millis(200))) {
                panic!("the collector stopped while waiting for {what}");
            }
        }
    }

    /// Applies the updates arriving within `wait`, returning early once `stop(app)` holds;
    /// says whether it did.
    pub fn pump_until(&mut self, wait: Duration, mut stop: impl FnMut(&App) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < wait {
            if stop(&self.app) {
                return true;
            }
            let left = wait.saturating_sub(start.elapsed());
            if !self.pump_once(left.min(Duration::from_millis(100))) {
                break;
            }
        }
        stop(&self.app)
    }

    /// Sends readiness probes (a synthetic 200 in the test VCL) through `v` until one shows
    /// up in the vlog view, i.e. varnishlog is attached to the shared-memory log; panics
    /// after `secs`.
    pub fn wait_attached(&mut self, v: &super::varnish::Varnish, secs: u64) {
        let probes = |app: &App| {
            app.vlog
                .shown()
                .filter(|r| r.url() == "/__stacktop_ready")
                .count()
        };
        let before = probes(&self.app);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            assert!(Instant::now() < deadline, "varnishlog never showed a probe");
            assert_eq!(v.get("/__stacktop_ready", &[]).status, 200);
            if self.pump_until(Duration::from_millis(700), |a| probes(a) > before) {
                return;
            }
        }
    }

    /// Waits up to `wait` for one update and applies it; false when the channel closed.
    fn pump_once(&mut self, wait: Duration) -> bool {
        let rx = &mut self.rx;
        match self
            .rt
            .block_on(async { tokio::time::timeout(wait, rx.recv()).await })
        {
            Ok(Some(u)) => {
                self.app.apply(u);
                true
            }
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

//! Replay in the app (`stacktop replay PATH`): the time cursor's keys and `:goto`/`:speed`
//! become [`ReplayCommand`]s for the replay source, and [`App::replay_guard`] keeps every
//! other effect from leaving the app (there is no server; kill keys are refused visibly).
//! Drawing the cursor: [`crate::widgets::timeline`] and the status line in [`super`].

use crate::app::{App, REPLAY_READ_ONLY};
use crate::base::fit;
use crate::keymap::Action;
use crate::messages::{Effect, SourceCommand};
use crate::wire::replay::{ReplayCommand, ReplayStatus};
use crate::wire::Level;

/// Replay: the time cursor's keys and commands, and the guard that keeps everything else from
/// a server (there is none: nothing but replay commands leaves the app).
impl App {
    pub(crate) fn replay_action(&mut self, action: Action) -> Vec<Effect> {
        let cmd = match action {
            Action::ReplayStepBack => ReplayCommand::Step {
                view: self.active,
                by: -1,
            },
            Action::ReplayStepForward => ReplayCommand::Step {
                view: self.active,
                by: 1,
            },
            Action::ReplayJumpBack => ReplayCommand::Jump(-60),
            Action::ReplayJumpForward => ReplayCommand::Jump(60),
            _ => ReplayCommand::TogglePlay,
        };
        self.replay_command(cmd)
    }

    pub(crate) fn replay_command(&mut self, cmd: ReplayCommand) -> Vec<Effect> {
        if self.replay.is_none() {
            self.set_flash(
                Level::Info,
                "only in replay: stacktop replay PATH opens a recording",
            );
            return Vec::new();
        }
        vec![Effect::ToSource(self.active, SourceCommand::Replay(cmd))]
    }

    /// In replay, drops every effect that would reach a server or start a source, and says so
    /// when it was a signal (the views refuse those already under read-only: this is the
    /// second fence). Outside replay, `effects` unchanged.
    pub fn replay_guard(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        if self.replay.is_none() {
            return effects;
        }
        let mut refused = None;
        let kept = effects
            .into_iter()
            .filter(|e| match e {
                Effect::ToSource(_, SourceCommand::Replay(_))
                | Effect::Quit
                | Effect::Suspend
                | Effect::Copy(_)
                | Effect::WriteFile { .. } => true,
                Effect::ToSource(
                    _,
                    SourceCommand::Pg(crate::pg::msg::PgRequest::Signal { .. }),
                ) => {
                    refused = Some(REPLAY_READ_ONLY);
                    false
                }
                Effect::Bundle => {
                    refused = Some("replay: no bundle (the recording is already a file; --batch --json --from --to extracts a window)");
                    false
                }
                Effect::StartSource(_) => {
                    refused = Some("replay: no source is started (the recording is the source)");
                    false
                }
                Effect::ToSource(..) => false,
            })
            .collect();
        if let Some(text) = refused {
            self.set_flash(Level::Warn, text);
        }
        kept
    }
}

/// The status line's replay parts: the cursor's time and whether it plays, the recording's
/// name (a file's, or a store's label and id; server text, cleaned by [`fit`]: it shrinks
/// after the row counts, and goes last but the cause) and the store's error while it is
/// unreachable (kept to the last, as a source's error is).
pub fn status_parts(r: &ReplayStatus) -> Vec<fit::Part> {
    let mut parts = vec![fit::Part::keep(crate::widgets::timeline::status_text(r))];
    if !r.name.is_empty() {
        parts.push(
            fit::Part::keep(format!(" · {}", r.name))
                .with(fit::rank::DETAILS, fit::Shrink::Middle(14))
                .with(fit::rank::AGE, fit::Shrink::Drop),
        );
    }
    if let Some(e) = &r.store_error {
        parts.push(fit::Part::keep(" · recording store unreachable: "));
        parts.push(fit::Part::keep(e.clone()).with(fit::rank::CAUSE, fit::Shrink::Words(20)));
        parts.push(fit::Part::drop_at(" (retrying)", fit::rank::DETAILS));
    }
    parts
}

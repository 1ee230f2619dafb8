//! The `/` filter and `:` command prompt: its state and its keys (the filter applies while it
//! is typed; `Esc` restores the one before; `Enter` commits or runs the command,
//! [`super::command`]).

use super::App;
use crate::messages::Effect;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The `/` filter or `:` command prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    Command,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
    /// The filter before the prompt opened, restored on `Esc`.
    pub previous: String,
}

impl App {
    pub(super) fn prompt_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(p) = self.prompt.as_mut() else {
            return Vec::new();
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                let p = self.prompt.take();
                if let Some(Prompt {
                    kind: PromptKind::Filter,
                    previous,
                    ..
                }) = p
                {
                    return self.set_view_filter(&previous, true);
                }
            }
            KeyCode::Char('c') if ctrl => {
                self.prompt = None;
            }
            KeyCode::Char('u') if ctrl => {
                p.input.clear();
                return self.live_filter();
            }
            KeyCode::Enter => {
                let p = self.prompt.take();
                if let Some(p) = p {
                    return match p.kind {
                        PromptKind::Filter => self.set_view_filter(p.input.trim(), true),
                        PromptKind::Command => self.run_command(p.input.trim()),
                    };
                }
            }
            KeyCode::Backspace => {
                p.input.pop();
                return self.live_filter();
            }
            KeyCode::Char(c) if !ctrl => {
                p.input.push(c);
                return self.live_filter();
            }
            _ => {}
        }
        Vec::new()
    }

    /// The filter applies while it is typed.
    fn live_filter(&mut self) -> Vec<Effect> {
        if let Some(Prompt {
            kind: PromptKind::Filter,
            input,
            ..
        }) = &self.prompt
        {
            let f = input.clone();
            return self.set_view_filter(&f, false);
        }
        Vec::new()
    }
}

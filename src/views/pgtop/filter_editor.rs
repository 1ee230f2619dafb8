//! The pgtop `/` filter while it is edited: validated whole, never half applied. A text that
//! parses is in effect at once (live, on every key); one that does not (a half-typed `min:`,
//! an unknown key) puts the last committed filter back in effect, and committing it
//! (`Enter`, `:filter`) is refused with the reason. `:min DUR` is kept apart and applies when
//! the text has no `min:` of its own.

use std::time::Duration;

use super::rows::Filter;

#[derive(Clone, Debug, Default)]
pub struct FilterEdit {
    /// The filter in effect.
    current: Filter,
    /// The last filter committed: a refused one falls back to it.
    committed: Filter,
    /// Why the text typed last is not a filter.
    error: Option<String>,
    /// `:min DUR`.
    min_cmd: Option<Duration>,
}

impl std::ops::Deref for FilterEdit {
    type Target = Filter;
    fn deref(&self) -> &Filter {
        &self.current
    }
}

impl FilterEdit {
    /// A text typed at `/`: applied when it parses; otherwise the committed filter is in
    /// effect and the reason is returned.
    pub fn type_text(&mut self, text: &str) -> Result<(), String> {
        match Filter::parse(text) {
            Ok(mut f) => {
                if f.min.is_none() && !text.to_lowercase().contains("min:") {
                    f.min = self.min_cmd;
                }
                self.current = f;
                self.error = None;
                Ok(())
            }
            Err(e) => {
                self.current = self.committed.clone();
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Commits the text typed last: the message saying why it is refused (the previous filter
    /// stays), or Ok.
    pub fn commit(&mut self) -> Result<(), String> {
        match self.error.take() {
            Some(e) => {
                self.current = self.committed.clone();
                let kept = match self.committed.text.as_str() {
                    "" => "no filter".to_string(),
                    t => format!("kept `{t}`"),
                };
                Err(format!("filter refused: {e}; {kept}"))
            }
            None => {
                self.committed = self.current.clone();
                Ok(())
            }
        }
    }

    /// `:min DUR` / `:min off`: in effect at once, and kept by later filters without `min:`.
    pub fn set_min(&mut self, min: Option<Duration>) {
        self.min_cmd = min;
        self.current.min = min;
        self.committed.min = min;
    }
}

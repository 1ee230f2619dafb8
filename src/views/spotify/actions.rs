//! Actions and `:` commands of the spotify tab (parameter pickers, focus, export, import).
//! No I/O; the result's rows are built in [`super::rows`].
//!
//! Data flow: keymap `Action` / `:cmd` → [`SpotifyView`] state (+ commands to the collector).

use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};

use super::{Focus, SpotifyView};
use crate::keymap::Action;
use crate::spotify::msg::SpotifyCommand;
use crate::views::Ctx;
use crate::widgets::commands::{Arg, Invocation};
use crate::wire::Level;

const LIMITS: [u32; 4] = [10, 20, 50, 100];
const POSITIONS: [Option<(u16, u16)>; 4] = [None, Some((1, 1)), Some((1, 10)), Some((1, 50))];

fn year_of(d: &Option<String>) -> Option<i32> {
    d.as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .map(|d| d.year())
}

/// `:year YYYY` (a number the parser checked) as `[Jan 1, next Jan 1)`.
fn year_range(arg: &Arg) -> Option<(NaiveDate, NaiveDate)> {
    let Arg::N(y) = *arg else { return None };
    let y = i32::try_from(y).ok()?;
    Some((
        NaiveDate::from_ymd_opt(y, 1, 1)?,
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?,
    ))
}

fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

fn date_arg(arg: &str) -> Result<Option<NaiveDate>, String> {
    match arg.trim() {
        "" | "-" | "all" => Ok(None),
        s => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("expected YYYY-MM-DD, got {s:?}")),
    }
}

impl SpotifyView {
    pub(super) fn handle_action(&mut self, action: Action, ctx: &mut Ctx) -> bool {
        let on_list = self.focus == Focus::Questions;
        match action {
            Action::Up | Action::Down | Action::Top | Action::Bottom if on_list => {
                let n = self.list_len();
                self.selected.apply(action, n, 1, super::entry_at(n));
            }
            Action::Open if on_list => self.ask(ctx),
            Action::Open => {}
            Action::EditSql => self.focus = Focus::Editor,
            Action::EditQuestionSql => match self.question_sql() {
                Ok(sql) => {
                    self.editor.set_text(&sql);
                    self.focus = Focus::Editor;
                }
                Err(e) => ctx.flash(Level::Error, e),
            },
            Action::CancelQuery => self.cancel(ctx),
            Action::NextCountry | Action::PrevCountry => {
                self.cycle_country(action == Action::NextCountry)
            }
            Action::NextYear | Action::PrevYear => self.cycle_year(action == Action::NextYear),
            Action::CycleLimit => {
                let i = LIMITS.iter().position(|l| *l == self.params.limit);
                self.params.limit = LIMITS[i.map_or(0, |i| (i + 1) % LIMITS.len())];
            }
            Action::CyclePositions => {
                let cur = self.params.pos_min.zip(self.params.pos_max);
                let i = POSITIONS.iter().position(|p| *p == cur);
                let next = POSITIONS[i.map_or(0, |i| (i + 1) % POSITIONS.len())];
                self.params.pos_min = next.map(|p| p.0);
                self.params.pos_max = next.map(|p| p.1);
            }
            Action::FocusLeft => self.focus = Focus::Questions,
            Action::FocusRight => self.focus = Focus::Results,
            Action::ToggleChart => self.hide_chart = !self.hide_chart,
            Action::Save => self.export(None, false, ctx),
            Action::SaveJson => self.export(None, true, ctx),
            Action::Refresh => {
                ctx.effects.push(crate::messages::Effect::ToSource(
                    crate::wire::ViewKind::Spotify,
                    crate::messages::SourceCommand::RefreshNow,
                ));
            }
            _ => return self.core.handle_common(action, ctx),
        }
        true
    }

    fn cycle_country(&mut self, forward: bool) {
        let all = &self.info.countries;
        let n = all.len() + 1; // position 0 = all countries
        let cur = match &self.params.country {
            None => 0,
            Some(c) => all.iter().position(|x| x == c).map_or(0, |i| i + 1),
        };
        let next = if forward {
            (cur + 1) % n
        } else {
            (cur + n - 1) % n
        };
        self.params.country = next.checked_sub(1).map(|i| all[i].clone());
    }

    /// Cycle the date range through the calendar years in the data (and "all").
    fn cycle_year(&mut self, forward: bool) {
        let (Some(first), Some(last)) =
            (year_of(&self.info.first_day), year_of(&self.info.last_day))
        else {
            return;
        };
        let years: Vec<i32> = (first..=last).collect();
        let n = years.len() + 1;
        let cur = self
            .params
            .from
            .filter(|f| f.month() == 1 && f.day() == 1)
            .and_then(|f| years.iter().position(|y| *y == f.year()))
            .map_or(0, |i| i + 1);
        let next = if forward {
            (cur + 1) % n
        } else {
            (cur + n - 1) % n
        };
        match next.checked_sub(1).map(|i| years[i]) {
            None => {
                self.params.from = None;
                self.params.to = None;
            }
            Some(y) => {
                self.params.from = NaiveDate::from_ymd_opt(y, 1, 1);
                self.params.to = NaiveDate::from_ymd_opt(y + 1, 1, 1);
            }
        }
    }

    /// The spotify `:` commands (declared and parsed in [`crate::widgets::commands`]).
    pub(super) fn run_command(&mut self, inv: &Invocation, ctx: &mut Ctx) -> bool {
        let arg = inv.text().trim();
        let res: Result<(), String> = match inv.name() {
            "import" => {
                let files = arg.split_whitespace().map(expand).collect();
                self.start_import(files, ctx);
                Ok(())
            }
            "export" => {
                let path = (!arg.is_empty()).then(|| expand(arg));
                self.export(path, false, ctx);
                Ok(())
            }
            "sql" => {
                self.editor.set_text(arg);
                self.run_sql(arg, "query", ctx);
                Ok(())
            }
            "save" if arg.is_empty() => Err("save: give a name, e.g. :save top-artists".into()),
            "save" => {
                if self.editor.is_empty() {
                    Err("save: the editor is empty".into())
                } else {
                    let cmd = SpotifyCommand::SaveQuery {
                        name: arg.to_string(),
                        sql: self.editor.text(),
                    };
                    Self::send(ctx, cmd);
                    ctx.flash(Level::Info, format!("saved query {arg}"));
                    Ok(())
                }
            }
            "country" => match arg.to_ascii_lowercase().as_str() {
                "" | "all" | "-" => {
                    self.params.country = None;
                    Ok(())
                }
                c if crate::spotify::formats::is_country_code(c) => {
                    self.params.country = Some(c.to_string());
                    Ok(())
                }
                c => Err(format!(
                    "country: expected a two-letter code or global, got {c:?}"
                )),
            },
            "from" => date_arg(arg).map(|d| self.params.from = d),
            "to" => date_arg(arg).map(|d| self.params.to = d),
            "year" => match year_range(&inv.arg) {
                Some((a, b)) => {
                    self.params.from = Some(a);
                    self.params.to = Some(b);
                    Ok(())
                }
                None => Err(format!("year: expected YYYY, got {:?}", inv.raw)),
            },
            "positions" => {
                if matches!(arg, "" | "all" | "-") {
                    self.params.pos_min = None;
                    self.params.pos_max = None;
                    Ok(())
                } else {
                    match crate::spotify::params::parse_positions(arg) {
                        Ok((a, b)) => {
                            self.params.pos_min = Some(a);
                            self.params.pos_max = Some(b);
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            }
            "limit" => match inv.arg {
                // 1..=100000 (checked by the parser)
                Arg::N(n) => {
                    self.params.limit = n as u32;
                    Ok(())
                }
                _ => Err(format!("limit: expected 1..100000, got {:?}", inv.raw)),
            },
            "track" => {
                self.params.track_id = match arg {
                    "" | "-" => None,
                    t => Some(t.to_string()),
                };
                Ok(())
            }
            _ => return false,
        };
        if let Err(e) = res {
            ctx.flash(Level::Error, e);
        } else if let Err(e) = self.params.validate() {
            ctx.flash(Level::Warn, format!("{e:#}"));
        }
        true
    }
}

//! The tabs' views in one place: adding a tab is a field of [`Views`] (made in
//! [`Views::new`], returned by [`Views::get`] / [`Views::get_mut`]) and its row in [`tab`].
//! Everything above (the app, the screen, `?`, batch mode) goes through these and
//! [`ViewKind::ALL`], never naming a tab.

use super::pgtop::PgtopView;
use super::repl::ReplView;
use super::spotify::SpotifyView;
use super::vlog::VlogView;
use super::View;
use crate::config::Config;
use crate::keymap::Modal;
use crate::widgets::table::TableState;
use crate::wire::ViewKind;

/// One view per tab.
pub struct Views {
    pub pgtop: PgtopView,
    pub repl: ReplView,
    pub vlog: VlogView,
    pub spotify: SpotifyView,
}

impl Views {
    /// Every view, set up from its config section (no source yet).
    pub fn new(config: &Config) -> Views {
        Views {
            pgtop: PgtopView::new(&config.pgtop),
            repl: ReplView::new(&config.repl),
            vlog: VlogView::new(&config.vlog),
            spotify: SpotifyView::default(),
        }
    }

    pub fn get(&self, k: ViewKind) -> &dyn View {
        match k {
            ViewKind::Pgtop => &self.pgtop,
            ViewKind::Repl => &self.repl,
            ViewKind::Vlog => &self.vlog,
            ViewKind::Spotify => &self.spotify,
        }
    }

    pub fn get_mut(&mut self, k: ViewKind) -> &mut dyn View {
        match k {
            ViewKind::Pgtop => &mut self.pgtop,
            ViewKind::Repl => &mut self.repl,
            ViewKind::Vlog => &mut self.vlog,
            ViewKind::Spotify => &mut self.spotify,
        }
    }
}

/// What the app, `?` and batch mode need to know of a tab besides its [`View`].
pub struct Tab {
    /// The `/` filter syntax `?` lists (declared next to the view's filter parser).
    pub filter_syntax: &'static [(&'static str, &'static str)],
    /// The dialogs, panes and editors that own the keyboard in this tab, in the order `?`
    /// lists them.
    pub modals: &'static [Modal],
    /// Whether the config makes this tab read-only besides `[ui] read_only`.
    pub read_only: fn(&Config) -> bool,
    /// Batch mode streams the tab's records as they come (vlog: one per request) instead of
    /// printing snapshots.
    pub batch_streams: bool,
}

/// The row of `k`.
pub fn tab(k: ViewKind) -> &'static Tab {
    match k {
        ViewKind::Pgtop => &Tab {
            filter_syntax: super::pgtop::filter::FILTER_SYNTAX,
            modals: &[Modal::KillConfirm, Modal::KillResult],
            read_only: |c| c.pgtop.read_only,
            batch_streams: false,
        },
        ViewKind::Repl => &Tab {
            filter_syntax: TableState::FILTER_SYNTAX,
            modals: &[Modal::ReplPane],
            read_only: |_| false,
            batch_streams: false,
        },
        ViewKind::Vlog => &Tab {
            filter_syntax: super::vlog::FILTER_SYNTAX,
            modals: &[Modal::VlogDetail, Modal::VlogEditor],
            read_only: |_| false,
            batch_streams: true,
        },
        ViewKind::Spotify => &Tab {
            filter_syntax: TableState::FILTER_SYNTAX,
            modals: &[Modal::SpotifyEditor],
            read_only: |_| false,
            batch_streams: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tab_has_its_own_view_and_every_modal_one_tab() {
        let views = Views::new(&Config::default());
        for k in ViewKind::ALL {
            assert_eq!(views.get(k).kind(), k);
        }
        for m in Modal::ALL {
            let owners = ViewKind::ALL
                .iter()
                .filter(|k| tab(**k).modals.contains(&m))
                .count();
            assert_eq!(owners, usize::from(m != Modal::Help), "{m:?}");
        }
    }
}

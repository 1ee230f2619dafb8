//! The pgtop list from a snapshot: applying one (tags, the detail pane and the dialog follow
//! their sessions), the listed sessions in list order, the table rebuilt from them, and the
//! session under the cursor.

use chrono::{DateTime, Utc};

use super::{groups, locks, rows, PgtopView};
use crate::pg::activity::{ConnState, PgSnapshot, Session};
use rows::ListSpec;

impl PgtopView {
    /// The listed sessions, in list order (what the user sees).
    pub fn listed(&self) -> Vec<&Session> {
        let sessions = self.sessions();
        let now = self.server_now();
        let spec = ListSpec {
            show_all: self.show_all,
            basis: self.basis,
            filter: &self.filter,
            sort: self.sort,
        };
        let sorted = self.groups.only_group(rows::select(sessions, now, &spec));
        if self.frozen() {
            rows::freeze(sorted, &self.order)
        } else {
            sorted
        }
    }

    /// Rebuilds the table from the snapshot and the list settings.
    pub(super) fn rebuild(&mut self) {
        let now = self.server_now();
        if self.groups.on {
            let data = groups::table(&self.query_groups(), now, &self.thresholds);
            self.core.table.set_data(data);
            return;
        }
        let (data, order) = {
            let listed = self.listed();
            let order = listed.iter().map(|s| s.pid).collect();
            // cell strings are made when drawn, for the rows on screen only
            let data =
                rows::table_without_cells(&listed, now, &self.thresholds, self.basis, self.sort);
            (data, order)
        };
        self.order = order;
        self.core.table.set_data(data);
        if self.locks {
            let lines = self.lock_lines();
            self.lock_cursor.sync(&lines);
        }
    }

    /// The lock tree's lines for the current snapshot.
    pub fn lock_lines(&self) -> Vec<locks::LockLine> {
        locks::tree(self.sessions(), self.server_now())
    }

    /// The session under the cursor: the lock tree's line while the tree is shown, else the
    /// list row.
    pub(super) fn selected(&self) -> Option<&Session> {
        if self.locks {
            let line = self.lock_cursor.line(&self.lock_lines())?;
            return self.sessions().iter().find(|s| s.pid == line.pid);
        }
        let key = &self.core.table.selected()?.key;
        self.sessions().iter().find(|s| &s.pid.to_string() == key)
    }

    pub(super) fn apply_snapshot(&mut self, snap: std::sync::Arc<PgSnapshot>) {
        self.status = snap.status.clone();
        if snap.header.is_none() {
            // status only. No answer yet: the rows stay, marked with their age by the banner.
            // Disconnected: the rows are cleared (and a snapshot kept while paused dropped), so
            // nothing from before the disconnect is shown, listed in batch or tagged as current.
            if matches!(snap.status, ConnState::Disconnected { .. })
                && (self.snap.is_some() || !self.core.held.is_empty())
            {
                self.snap = None;
                self.core.held.clear();
                self.tagged.clear();
                self.detail = None;
                self.rebuild();
            }
            return;
        }
        self.last_data = Some(DateTime::<Utc>::from(snap.taken_at));
        if let Some(d) = self.dialog.as_mut() {
            d.on_snapshot(&snap);
        }
        // drop tags of sessions that are gone
        self.tagged.retain(|(pid, start)| {
            snap.sessions
                .iter()
                .any(|s| s.pid == *pid && s.backend_start == *start)
        });
        if let Some(d) = self.detail.as_mut() {
            match snap
                .sessions
                .iter()
                .find(|s| s.pid == d.pid && s.backend_start == d.last.backend_start)
            {
                Some(s) => d.last = s.clone(),
                None => d.ended = true,
            }
        }
        self.groups.update(&snap.sessions);
        self.snap = Some(snap);
        self.rebuild();
    }
}

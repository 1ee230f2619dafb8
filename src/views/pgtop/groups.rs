//! The grouped view (`F`): one row per query fingerprint ([`crate::pg::fingerprint`]) over the
//! listed sessions (so `i` and the `/` filter apply), with how many sessions run it, how many
//! are active, the longest and the total running time, users and databases. Sessions group by
//! the server's `query_id` on PostgreSQL 14+ when it computes one, by the normalised text
//! otherwise. `Enter` on a group lists that group's sessions only (`Esc` lists all again); `K`
//! on a group cancels that group's slow queries, through the usual confirmation listing every
//! backend (with the pid + backend start + query start guard). No I/O: fingerprints are
//! computed from the snapshot, cached by text across refreshes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::dialogs::{KillDialog, Origin};
use super::rows::{self, fmt_dur};
use super::PgtopView;
use crate::pg::activity::{Session, SessionState, INSUFFICIENT_PRIVILEGE};
use crate::pg::classify::Thresholds;
use crate::pg::fingerprint::{Fingerprint, Fingerprinter, GroupKey};
use crate::pg::kill::{select_slow_targets, SignalKind};
use crate::theme::Role;
use crate::views::Ctx;
use crate::widgets::table::{Column, TableData, TableRow};
use crate::wire::Level;

/// Column titles of the grouped view.
pub const COLUMNS: [&str; 7] = [
    "sessions",
    "active",
    "longest",
    "total",
    "users",
    "databases",
    "fingerprint",
];
const WIDTHS: [u16; 7] = [8, 6, 8, 8, 12, 12, 0];
/// Dropped first on narrow screens (databases, users).
const OPTIONAL: [usize; 2] = [5, 4];

/// Grouping state of the pgtop view.
#[derive(Debug, Default)]
pub struct Groups {
    /// the grouped view is shown
    pub on: bool,
    /// `Enter` on a group: the session list shows that group only (key, fingerprint text)
    pub only: Option<(GroupKey, Arc<str>)>,
    cache: Fingerprinter,
    /// the group key and fingerprint of each session of the current snapshot, by pid, with
    /// the statement it was computed for: while pid, backend start, query start and text
    /// length are the same, so is the text (the server sets text and query start together),
    /// and the entry is kept without reading the text again. Updated in place (no map is
    /// rebuilt per refresh); entries of sessions that are gone are dropped by generation.
    keys: HashMap<i32, Keyed, foldhash::fast::RandomState>,
    generation: u64,
}

/// One session's entry in [`Groups::keys`].
#[derive(Debug)]
struct Keyed {
    /// 0: not visible, 1: no query text, 2: a statement text
    class: u8,
    stmt: Stmt,
    key: (GroupKey, Fingerprint),
    generation: u64,
}

/// What identifies one statement of one session.
type Stmt = (Option<DateTime<Utc>>, Option<DateTime<Utc>>, usize);

fn stmt(s: &Session) -> Stmt {
    (s.backend_start, s.query_start, s.query.len())
}

/// One group over the listed sessions.
#[derive(Debug, Clone)]
pub struct Group<'s> {
    pub key: GroupKey,
    pub text: Arc<str>,
    pub sessions: Vec<&'s Session>,
    pub active: usize,
    pub longest: Option<Duration>,
    pub total: Duration,
    pub users: BTreeSet<&'s str>,
    pub databases: BTreeSet<&'s str>,
}

fn marker(id: u64, text: &str) -> (GroupKey, Fingerprint) {
    let fp = Fingerprint {
        id,
        text: Arc::from(text),
    };
    (GroupKey::Text(id), fp)
}

impl Groups {
    /// Fingerprints are needed (grouped view, or the list narrowed to a group).
    pub fn active(&self) -> bool {
        self.on || self.only.is_some()
    }

    /// Fingerprints the snapshot's sessions (only while they are needed). Steady state: every
    /// text is a cache hit.
    pub fn update(&mut self, sessions: &[Session]) {
        if !self.active() {
            self.keys.clear();
            return;
        }
        self.cache.next_generation();
        self.generation += 1;
        let generation = self.generation;
        for s in sessions {
            let id = stmt(s);
            // reused without touching the text: same statement (pid, backend start, query
            // start, length), or still not visible
            let same = |k: &Keyed| {
                if s.visible {
                    k.class != 0 && s.query_start.is_some() && k.stmt == id
                } else {
                    k.class == 0
                }
            };
            match self.keys.get_mut(&s.pid) {
                Some(k) if same(k) => k.generation = generation,
                prev => {
                    let class = if !s.visible {
                        0
                    } else if s.query.trim().is_empty() {
                        1
                    } else {
                        2
                    };
                    let key = match class {
                        0 => marker(0, INSUFFICIENT_PRIVILEGE),
                        1 => marker(1, "(no query text)"),
                        _ => {
                            let fp = self.cache.get(&s.query);
                            (GroupKey::of(s.query_id, &fp), fp)
                        }
                    };
                    let k = Keyed {
                        class,
                        stmt: id,
                        key,
                        generation,
                    };
                    match prev {
                        Some(p) => *p = k,
                        None => {
                            self.keys.insert(s.pid, k);
                        }
                    }
                }
            }
        }
        self.keys.retain(|_, k| k.generation == generation);
    }

    /// The group key and fingerprint of a session of the current snapshot.
    pub fn key(&self, pid: i32) -> Option<&(GroupKey, Fingerprint)> {
        self.keys.get(&pid).map(|k| &k.key)
    }

    /// The list narrowed to the chosen group (all of it when none is chosen).
    pub fn only_group<'s>(&self, mut v: Vec<&'s Session>) -> Vec<&'s Session> {
        if let Some((key, _)) = &self.only {
            v.retain(|s| self.key(s.pid).is_some_and(|(k, _)| k == key));
        }
        v
    }

    /// Header flag: `grouped by query` or `group: select …`.
    pub fn flag(&self) -> Option<String> {
        match (&self.only, self.on) {
            (_, true) => Some("grouped by query (F)".into()),
            (Some((_, text)), false) => Some(format!(
                "group: {} (Esc lists all)",
                crate::pg::redact::one_line(text, 40)
            )),
            _ => None,
        }
    }

    /// `Esc`: leaves the grouped view, else the group filter; false when neither was on.
    pub fn back(&mut self) -> bool {
        if self.on {
            self.on = false;
        } else if self.only.take().is_none() {
            return false;
        }
        self.keys.clear();
        true
    }
}

/// The groups of `listed`, most active first (then longest total, most sessions).
pub fn build<'s>(listed: &[&'s Session], g: &Groups, now: DateTime<Utc>) -> Vec<Group<'s>> {
    let mut by: HashMap<GroupKey, Group<'s>> = HashMap::new();
    for s in listed {
        let Some((key, fp)) = g.key(s.pid) else {
            continue;
        };
        let e = by.entry(*key).or_insert_with(|| Group {
            key: *key,
            text: fp.text.clone(),
            sessions: Vec::new(),
            active: 0,
            longest: None,
            total: Duration::ZERO,
            users: BTreeSet::new(),
            databases: BTreeSet::new(),
        });
        e.sessions.push(s);
        if s.state == SessionState::Active {
            e.active += 1;
        }
        if let Some(d) = s.active_for(now) {
            e.longest = e.longest.max(Some(d));
            e.total += d;
        }
        e.users.insert(s.usename.as_deref().unwrap_or(""));
        e.databases.insert(s.datname.as_deref().unwrap_or(""));
    }
    let mut v: Vec<Group> = by.into_values().collect();
    v.sort_by(|a, b| {
        (b.active, b.total, b.sessions.len())
            .cmp(&(a.active, a.total, a.sessions.len()))
            .then_with(|| a.text.cmp(&b.text))
            .then_with(|| a.key.cmp(&b.key))
    });
    v
}

/// `a, b, c +2`
fn names(set: &BTreeSet<&str>) -> String {
    let shown: Vec<&str> = set.iter().take(3).copied().collect();
    let more = set.len().saturating_sub(3);
    let mut s = shown.join(",");
    if more > 0 {
        s.push_str(&format!(" +{more}"));
    }
    s
}

/// The table of groups (the row key is the group key).
pub fn table(groups: &[Group], now: DateTime<Utc>, t: &Thresholds) -> TableData {
    let columns = COLUMNS
        .iter()
        .zip(WIDTHS)
        .enumerate()
        .map(|(i, (title, w))| {
            if i < 4 {
                Column::numeric(title, w)
            } else {
                Column::new(title, w)
            }
        })
        .collect();
    let rows = groups
        .iter()
        .map(|g| {
            // the group looks like its longest-running session (slow, critical, ...)
            let worst = g
                .sessions
                .iter()
                .max_by_key(|s| s.active_for(now))
                .map_or(Role::Normal, |s| rows::role(s, now, t));
            let cells = vec![
                g.sessions.len().to_string(),
                g.active.to_string(),
                g.longest.map(fmt_dur).unwrap_or_default(),
                if g.active > 0 {
                    fmt_dur(g.total)
                } else {
                    String::new()
                },
                names(&g.users),
                names(&g.databases),
                // already literal-free and control-free; one line, bounded
                crate::pg::redact::one_line(&g.text, 400),
            ];
            let keys = vec![
                g.sessions.len() as f64,
                g.active as f64,
                g.longest.map_or(-1.0, |d| d.as_secs_f64()),
                g.total.as_secs_f64(),
                0.0,
                0.0,
                0.0,
            ];
            TableRow::new(g.key.as_key(), cells, worst).with_sort_keys(keys)
        })
        .collect();
    TableData { columns, rows }
}

/// Columns that fit `width` (the fingerprint keeps at least 30 cells).
pub fn visible_columns(width: u16) -> Vec<usize> {
    let mut cols: Vec<usize> = (0..COLUMNS.len()).collect();
    let need = |cols: &[usize]| -> u16 {
        cols.iter().map(|&c| WIDTHS[c]).sum::<u16>() + cols.len() as u16 + 30
    };
    for drop in OPTIONAL {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|&c| c != drop);
    }
    cols
}

impl PgtopView {
    /// The groups of the listed sessions.
    pub fn query_groups(&self) -> Vec<Group<'_>> {
        build(&self.listed(), &self.groups, self.server_now())
    }

    /// The group under the cursor in the grouped view.
    fn selected_group(&self) -> Option<Group<'_>> {
        let key = &self.core.table.selected()?.key;
        self.query_groups()
            .into_iter()
            .find(|g| &g.key.as_key() == key)
    }

    /// `F`: the grouped view on / off.
    pub(super) fn toggle_groups(&mut self, ctx: &mut Ctx) {
        self.groups.on = !self.groups.on;
        if self.groups.on {
            self.detail = None;
            self.locks = false;
            self.groups.only = None;
            ctx.flash(
                Level::Info,
                "grouped by query fingerprint (query_id where the server computes one): \
                 Enter lists a group, K cancels its slow queries",
            );
        } else {
            ctx.flash(Level::Info, "one row per session");
        }
        let sessions = self.snap.as_ref().map_or(&[][..], |s| &s.sessions);
        self.groups.update(sessions);
        self.core.table.rewind();
        self.rebuild();
    }

    /// `Enter` on a group: the session list narrowed to it.
    pub(super) fn open_group(&mut self, ctx: &mut Ctx) {
        let Some(g) = self.selected_group().map(|g| (g.key, g.text.clone())) else {
            ctx.flash(Level::Warn, "no group selected");
            return;
        };
        self.groups.on = false;
        self.groups.only = Some(g);
        self.core.table.rewind();
        self.rebuild();
    }

    /// `K` on a group: its slow queries (configured exclusions apply), confirmed one by one.
    pub(super) fn open_kill_group(&mut self, ctx: &mut Ctx) {
        let now = self.server_now();
        let Some(g) = self.selected_group() else {
            ctx.flash(Level::Warn, "no group selected");
            return;
        };
        let members: Vec<Session> = g.sessions.iter().map(|s| (*s).clone()).collect();
        let text = g.text.clone();
        let targets = select_slow_targets(&members, now, &self.thresholds, &self.exclusions);
        if targets.is_empty() {
            ctx.flash(
                Level::Info,
                format!(
                    "no query of this group runs longer than {} (slow threshold)",
                    rows::fmt_dur(self.thresholds.slow)
                ),
            );
            return;
        }
        let mut d = KillDialog::new(
            SignalKind::Cancel,
            Origin::Slow(self.thresholds.slow),
            targets,
        );
        d.note = Some(format!(
            "group: {}",
            crate::pg::redact::one_line(&text, 200)
        ));
        self.dialog = Some(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pid: i32, q: &str, secs: i64, user: &str, now: DateTime<Utc>) -> Session {
        let mut s = Session::for_test(pid, SessionState::Active, q);
        s.usename = Some(user.into());
        s.query_start = Some(now - chrono::Duration::seconds(secs));
        s
    }

    #[test]
    fn groups_by_fingerprint_or_query_id() {
        let now = Utc::now();
        let mut v = vec![
            s(1, "select pg_sleep(10), 'a'", 10, "app", now),
            s(2, "SELECT pg_sleep(20) , 'b' /* x */", 20, "web", now),
            s(3, "select 1 from t", 5, "app", now),
            s(4, "select 2 from t", 1, "app", now),
            s(5, "select 3 from t", 1, "app", now),
        ];
        // query ids win over texts: 4 and 5 share one though 3 has the same shape
        v[3].query_id = Some(77);
        v[4].query_id = Some(77);
        let mut hidden = s(6, INSUFFICIENT_PRIVILEGE, 3, "x", now);
        hidden.visible = false;
        v.push(hidden);
        let mut g = Groups {
            on: true,
            ..Groups::default()
        };
        g.update(&v);
        let listed: Vec<&Session> = v.iter().collect();
        let groups = build(&listed, &g, now);
        let shape: Vec<(usize, &str)> = groups
            .iter()
            .map(|g| (g.sessions.len(), g.text.as_ref()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (2, "select pg_sleep(?), ?"),
                (2, "select ? from t"),
                (1, "select ? from t"),
                (1, INSUFFICIENT_PRIVILEGE),
            ]
        );
        assert_eq!(groups[0].longest, Some(Duration::from_secs(20)));
        assert_eq!(groups[0].total, Duration::from_secs(30));
        assert_eq!(names(&groups[0].users), "app,web");
        assert_eq!(groups[1].key, GroupKey::QueryId(77));
        // steady state: the second refresh neither normalises nor hashes a text
        let stats = g.cache.stats;
        g.update(&v);
        assert_eq!(g.cache.stats, stats);
        // a new statement on a session (new query start) is looked up by its text: a text
        // another session ran is a cache hit
        let mut w = v.clone();
        w[0].query_start = Some(now);
        w[0].query = v[1].query.clone();
        g.update(&w);
        assert_eq!(g.cache.stats.hits, stats.hits + 1, "{:?}", g.cache.stats);
        assert_eq!(g.cache.stats.misses, stats.misses);
        g.update(&v);
        // narrowed to one group
        g.only = Some((groups[0].key, groups[0].text.clone()));
        let only: Vec<i32> = g.only_group(listed.clone()).iter().map(|s| s.pid).collect();
        assert_eq!(only, vec![1, 2]);
    }

    #[test]
    fn narrow_screens_keep_the_fingerprint() {
        assert_eq!(visible_columns(200).len(), 7);
        let c = visible_columns(80);
        assert!(!c.contains(&5) && c.contains(&6), "{c:?}");
        let fixed: u16 = c.iter().map(|&i| WIDTHS[i]).sum::<u16>() + c.len() as u16;
        assert!(80 - fixed >= 30);
    }
}

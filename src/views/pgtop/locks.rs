//! The lock view (`L`) as data: a blocker → blocked forest built from `pg_blocking_pids()`
//! (collected for lock waiters in the same refresh), and the cursor over its lines. Roots are
//! sessions that block others while not waiting for a present session themselves; they come
//! first ordered by how many sessions they hold up (directly or through others), then by the
//! longest wait among those, then pid. A waiter with several blockers is listed under each (its
//! own waiters only under the first, later lines are marked `repeat`); chains nest; a cycle (a
//! deadlock in progress) has no root and is shown from one of its members, marked `cycle`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::pg::activity::Session;
use crate::widgets::selection::Selection;

/// One line of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockLine {
    pub depth: usize,
    pub pid: i32,
    /// the root blocker of the chain this line is in (its own pid on a root line)
    pub root: i32,
    /// sessions this one holds up, directly or through others
    pub holds_up: usize,
    /// already listed above under another blocker (its waiters are listed there)
    pub repeat: bool,
    /// the first line of a cycle of waiters (no session outside it blocks them)
    pub cycle: bool,
}

/// How long a blocked session has waited: `pg_locks.waitstart` (14+), else its statement start.
pub fn waited(s: &Session, now: DateTime<Utc>) -> Option<Duration> {
    if s.blocking_pids.is_empty() && !s.is_lock_waiter() {
        return None;
    }
    let since = s.lock.as_ref().and_then(|l| l.since).or(s.query_start)?;
    (now - since).to_std().ok()
}

/// blocker → the sessions waiting for it directly.
fn edges(sessions: &[Session]) -> HashMap<i32, Vec<i32>> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for s in sessions {
        for b in &s.blocking_pids {
            if *b != s.pid {
                let v = children.entry(*b).or_default();
                if !v.contains(&s.pid) {
                    v.push(s.pid);
                }
            }
        }
    }
    children
}

/// Everyone `pid` holds up, directly or through others (not `pid` itself), in walk order.
fn held_up(pid: i32, children: &HashMap<i32, Vec<i32>>) -> Vec<i32> {
    let mut seen = HashSet::from([pid]);
    let mut out = Vec::new();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        for c in children.get(&p).into_iter().flatten() {
            if seen.insert(*c) {
                out.push(*c);
                stack.push(*c);
            }
        }
    }
    out
}

/// The sessions that end their wait (or part of it) when `root` goes: everyone it holds up.
pub fn unblocked_by(root: i32, sessions: &[Session]) -> Vec<i32> {
    held_up(root, &edges(sessions))
}

/// Depth-first lines, the biggest blockers first.
pub fn tree(sessions: &[Session], now: DateTime<Utc>) -> Vec<LockLine> {
    let children = edges(sessions);
    if children.is_empty() {
        return Vec::new();
    }
    let by_pid: HashMap<i32, &Session> = sessions.iter().map(|s| (s.pid, s)).collect();
    let waits = |p: i32| by_pid.get(&p).and_then(|s| waited(s, now));
    // (held up, longest wait among them) per blocker; waiters without waiters hold up nobody
    let weight: HashMap<i32, (usize, Duration)> = children
        .keys()
        .map(|&p| {
            let h = held_up(p, &children);
            let longest = h.iter().filter_map(|c| waits(*c)).max().unwrap_or_default();
            (p, (h.len(), longest))
        })
        .collect();
    // how many it holds up, then the longest wait among them and its own
    let key = |p: &i32| {
        let (n, w) = weight.get(p).copied().unwrap_or_default();
        let w = w.max(waits(*p).unwrap_or_default());
        (std::cmp::Reverse(n), std::cmp::Reverse(w), *p)
    };
    let waiting: HashSet<i32> = sessions
        .iter()
        .filter(|s| {
            s.blocking_pids
                .iter()
                .any(|b| *b != s.pid && by_pid.contains_key(b))
        })
        .map(|s| s.pid)
        .collect();
    let mut roots: Vec<i32> = children
        .keys()
        .copied()
        .filter(|p| !waiting.contains(p))
        .collect();
    roots.sort_by_key(key);
    let mut sorted_children = children.clone();
    for v in sorted_children.values_mut() {
        v.sort_by_key(key);
    }

    struct Walk<'a> {
        children: &'a HashMap<i32, Vec<i32>>,
        weight: &'a HashMap<i32, (usize, Duration)>,
        shown: HashSet<i32>,
        path: Vec<i32>,
        out: Vec<LockLine>,
    }
    impl Walk<'_> {
        fn walk(&mut self, pid: i32, depth: usize, root: i32, cycle: bool) {
            let repeat = !self.shown.insert(pid);
            self.out.push(LockLine {
                depth,
                pid,
                root,
                holds_up: self.weight.get(&pid).map_or(0, |w| w.0),
                repeat,
                cycle,
            });
            if repeat {
                return;
            }
            self.path.push(pid);
            let kids = self.children.get(&pid).cloned().unwrap_or_default();
            for c in kids {
                // a cycle back to a line of this chain ends the chain
                if !self.path.contains(&c) {
                    self.walk(c, depth + 1, root, false);
                }
            }
            self.path.pop();
        }
    }
    let mut w = Walk {
        children: &sorted_children,
        weight: &weight,
        shown: HashSet::new(),
        path: Vec::new(),
        out: Vec::new(),
    };
    for r in roots {
        w.walk(r, 0, r, false);
    }
    // waiters in a pure cycle have no root: each cycle from its heaviest member
    let mut rest: Vec<i32> = children.keys().copied().collect();
    rest.sort_by_key(key);
    for p in rest {
        if !w.shown.contains(&p) {
            w.walk(p, 0, p, true);
        }
    }
    w.out
}

/// The cursor of the lock tree: a line index, kept on the same pid across refreshes (the
/// list cursor, [`Selection`], over the tree's lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor(Selection<i32>);

impl Cursor {
    pub fn index(&self) -> usize {
        self.0.at()
    }

    pub fn pid(&self) -> Option<i32> {
        self.0.key()
    }

    /// Follows the selected pid into a new tree (else keeps the index, clamped).
    pub fn sync(&mut self, lines: &[LockLine]) {
        self.0.sync(
            lines.len(),
            |p| lines.iter().position(|l| l.pid == p),
            pid_at(lines),
        );
    }

    /// Moves by `delta` lines (clamped to the tree).
    pub fn move_by(&mut self, lines: &[LockLine], delta: isize) {
        self.0.move_by(delta, lines.len(), pid_at(lines));
    }

    pub fn line(&self, lines: &[LockLine]) -> Option<LockLine> {
        lines.get(self.index()).copied()
    }
}

fn pid_at(lines: &[LockLine]) -> impl Fn(usize) -> Option<i32> + '_ {
    |i| lines.get(i).map(|l| l.pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::activity::SessionState;

    fn waiter(pid: i32, by: &[i32], secs: i64, now: DateTime<Utc>) -> Session {
        let mut s = Session::for_test(pid, SessionState::Active, "select * from t");
        s.wait_event_type = Some("Lock".into());
        s.blocking_pids = by.to_vec();
        s.query_start = Some(now - chrono::Duration::seconds(secs));
        s
    }

    fn shape(t: &[LockLine]) -> Vec<(usize, i32)> {
        t.iter().map(|l| (l.depth, l.pid)).collect()
    }

    #[test]
    fn blocker_then_blocked_nested() {
        let now = Utc::now();
        let holder = Session::for_test(10, SessionState::IdleInTransaction, "lock table t");
        let w1 = waiter(11, &[10], 5, now);
        let w2 = waiter(12, &[11], 3, now);
        let free = Session::for_test(13, SessionState::Active, "select 1");
        let t = tree(&[w2, free, w1, holder], now);
        assert_eq!(shape(&t), vec![(0, 10), (1, 11), (2, 12)]);
        assert!(t.iter().all(|l| l.root == 10));
        assert_eq!(t[0].holds_up, 2);
    }

    #[test]
    fn biggest_blocker_first_and_several_blockers_per_waiter() {
        let now = Utc::now();
        let a = Session::for_test(1, SessionState::IdleInTransaction, "");
        let b = Session::for_test(2, SessionState::IdleInTransaction, "");
        // 2 holds up three, 1 holds up one (30, which 2 blocks too)
        let v = vec![
            a,
            b,
            waiter(30, &[1, 2], 50, now),
            waiter(31, &[2], 10, now),
            waiter(32, &[2], 20, now),
        ];
        let t = tree(&v, now);
        assert_eq!(
            shape(&t),
            vec![(0, 2), (1, 30), (1, 32), (1, 31), (0, 1), (1, 30)]
        );
        assert!(t[5].repeat && !t[1].repeat);
        assert_eq!(t[5].root, 1);
        assert_eq!(unblocked_by(2, &v), vec![30, 31, 32]);
    }

    #[test]
    fn cycles_terminate_and_are_marked() {
        let now = Utc::now();
        let v = vec![waiter(1, &[2], 5, now), waiter(2, &[1], 5, now)];
        let t = tree(&v, now);
        assert_eq!(shape(&t), vec![(0, 1), (1, 2)]);
        assert!(t[0].cycle);
        // a self-reference is no edge
        assert!(tree(&[waiter(5, &[5], 1, now)], now).is_empty());
    }

    #[test]
    fn an_absent_blocker_is_a_root() {
        let now = Utc::now();
        let t = tree(&[waiter(7, &[99], 5, now)], now);
        assert_eq!(shape(&t), vec![(0, 99), (1, 7)]);
    }

    #[test]
    fn cursor_follows_its_pid() {
        let line = |pid| LockLine {
            depth: 0,
            pid,
            root: pid,
            holds_up: 0,
            repeat: false,
            cycle: false,
        };
        let mut c = Cursor::default();
        let a = [line(1), line(2), line(3)];
        c.move_by(&a, 2);
        assert_eq!(c.pid(), Some(3));
        c.sync(&[line(3), line(1)]);
        assert_eq!((c.index(), c.pid()), (0, Some(3)));
        c.sync(&[line(1)]);
        assert_eq!((c.index(), c.pid()), (0, Some(1)));
        c.move_by(&[], 1);
        assert_eq!((c.index(), c.pid()), (0, None));
    }
}

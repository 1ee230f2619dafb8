//! The lock view (`L`) as data: a blocker → blocked forest built from `pg_blocking_pids()`
//! (collected for lock waiters in the same refresh). Roots are sessions that block others
//! while not waiting themselves (or whose own blocker is gone); cycles are cut.

use std::collections::{BTreeMap, HashSet};

use crate::pg::activity::Session;

/// One line of the tree: indentation depth and the session's pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockLine {
    pub depth: usize,
    pub pid: i32,
}

/// Depth-first lines, blockers first, children sorted by pid.
pub fn tree(sessions: &[Session]) -> Vec<LockLine> {
    let present: HashSet<i32> = sessions.iter().map(|s| s.pid).collect();
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut waiting: HashSet<i32> = HashSet::new();
    for s in sessions {
        for b in &s.blocking_pids {
            children.entry(*b).or_default().push(s.pid);
            if present.contains(b) {
                waiting.insert(s.pid);
            }
        }
    }
    for v in children.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    let mut roots: Vec<i32> = children
        .keys()
        .copied()
        .filter(|p| !waiting.contains(p))
        .collect();
    roots.sort_unstable();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    fn walk(
        pid: i32,
        depth: usize,
        children: &BTreeMap<i32, Vec<i32>>,
        seen: &mut HashSet<i32>,
        out: &mut Vec<LockLine>,
    ) {
        if !seen.insert(pid) {
            return;
        }
        out.push(LockLine { depth, pid });
        for c in children.get(&pid).into_iter().flatten() {
            walk(*c, depth + 1, children, seen, out);
        }
    }
    for r in roots {
        walk(r, 0, &children, &mut seen, &mut out);
    }
    // waiters in a pure cycle have no root: show them from their smallest pid
    for p in children.keys() {
        if !seen.contains(p) {
            walk(*p, 0, &children, &mut seen, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::activity::SessionState;

    #[test]
    fn blocker_then_blocked_nested() {
        let holder = Session::for_test(10, SessionState::IdleInTransaction, "lock table t");
        let mut w1 = Session::for_test(11, SessionState::Active, "select * from t");
        w1.blocking_pids = vec![10];
        let mut w2 = Session::for_test(12, SessionState::Active, "select * from t");
        w2.blocking_pids = vec![11];
        let free = Session::for_test(13, SessionState::Active, "select 1");
        let t = tree(&[w2, free, w1, holder]);
        assert_eq!(
            t,
            vec![
                LockLine { depth: 0, pid: 10 },
                LockLine { depth: 1, pid: 11 },
                LockLine { depth: 2, pid: 12 },
            ]
        );
    }

    #[test]
    fn cycles_terminate() {
        let mut a = Session::for_test(1, SessionState::Active, "a");
        a.blocking_pids = vec![2];
        let mut b = Session::for_test(2, SessionState::Active, "b");
        b.blocking_pids = vec![1];
        assert_eq!(tree(&[a, b]).len(), 2);
    }
}

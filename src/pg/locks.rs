//! Lock details of lock waiters: what each waiting backend waits for (lock mode, lock type,
//! schema-qualified relation or the lock's object), read from `pg_locks` by ONE extra statement
//! per refresh, and only when the activity scan found a backend with `wait_event_type = 'Lock'`
//! (the reader runs it inside the same refresh, so the refresh's `query_timeout` and the
//! connection's `statement_timeout` bound it). Names come back quoted by `quote_ident` and are
//! data: they are only ever shown (escaped by whoever shows them).
//!
//! Parallel query: `pg_blocking_pids()` already reports a parallel group by its leader; a waiting
//! parallel worker is attributed to its leader ([`attribute_parallel`], `leader_pid` on 13+), so
//! the client backend the user sees is the one marked as blocked.

use std::collections::HashMap;

use tokio_postgres::{Client, Statement};

pub use super::session::LockWait;

use super::lossy::opt_text;
use super::session::Session;

/// The lock-details statement; `$1` is the array of waiting pids. `waitstart` exists from 14 on.
pub fn lock_sql(waitstart: bool) -> String {
    let ws = if waitstart {
        "l.waitstart"
    } else {
        "NULL::timestamptz"
    };
    format!(
        "/* stacktop */ SELECT l.pid, l.mode, l.locktype, \
         CASE WHEN c.oid IS NOT NULL THEN quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
         WHEN l.relation IS NOT NULL THEN 'oid ' || l.relation::text END, \
         CASE l.locktype WHEN 'transactionid' THEN l.transactionid::text \
         WHEN 'virtualxid' THEN l.virtualxid \
         WHEN 'tuple' THEN '(' || l.page || ',' || l.tuple || ')' \
         WHEN 'page' THEN l.page::text \
         WHEN 'advisory' THEN l.classid::text || ':' || l.objid::text || ':' || l.objsubid::text \
         WHEN 'object' THEN l.classid::text || ':' || l.objid::text \
         END, {ws} \
         FROM pg_catalog.pg_locks l \
         LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation AND l.database IN \
         (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \
         LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT l.granted AND l.pid = ANY($1)"
    )
}

/// Reads the lock details of the waiting backends with the prepared [`lock_sql`] and puts them
/// on their sessions: one statement, and only when some session waits on a lock (true if it ran).
pub async fn read(
    client: &Client,
    stmt: &Statement,
    sessions: &mut [Session],
) -> Result<bool, tokio_postgres::Error> {
    let waiters: Vec<i32> = sessions
        .iter()
        .filter(|s| s.is_lock_waiter())
        .map(|s| s.pid)
        .collect();
    if waiters.is_empty() {
        return Ok(false);
    }
    let rows = client.query(stmt, &[&waiters]).await?;
    let mut locks = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(pid) = r.try_get::<_, Option<i32>>(0)? else {
            continue;
        };
        locks.push((
            pid,
            LockWait {
                mode: opt_text(r, 1)?.unwrap_or_default(),
                locktype: opt_text(r, 2)?.unwrap_or_default(),
                relation: opt_text(r, 3)?,
                object: opt_text(r, 4)?,
                since: r.try_get(5)?,
            },
        ));
    }
    apply(sessions, locks);
    Ok(true)
}

/// Puts each waiter's lock (rows of [`lock_sql`]: pid, lock) on its session.
pub fn apply(sessions: &mut [Session], locks: Vec<(i32, LockWait)>) {
    let mut by_pid: HashMap<i32, LockWait> = HashMap::with_capacity(locks.len());
    for (pid, l) in locks {
        // a backend waits for one lock at a time; keep the first row if the server shows more
        by_pid.entry(pid).or_insert(l);
    }
    for s in sessions.iter_mut() {
        s.lock = by_pid.remove(&s.pid);
    }
}

/// Blocking pids de-duplicated (a parallel group appears once per process in
/// `pg_blocking_pids`), workers mapped to their leader, and a waiting parallel worker's blockers
/// and lock given to its leader too.
pub fn attribute_parallel(sessions: &mut [Session]) {
    let leader_of: HashMap<i32, i32> = sessions
        .iter()
        .filter_map(|s| Some((s.pid, s.leader_pid.filter(|l| *l != s.pid)?)))
        .collect();
    let lead = |p: i32| leader_of.get(&p).copied().unwrap_or(p);
    let mut inherited: HashMap<i32, (Vec<i32>, Option<LockWait>)> = HashMap::new();
    for s in sessions.iter_mut() {
        if s.blocking_pids.is_empty() {
            continue;
        }
        let me = lead(s.pid);
        let mut v: Vec<i32> = Vec::with_capacity(s.blocking_pids.len());
        for p in s.blocking_pids.iter().map(|p| lead(*p)) {
            if p != me && !v.contains(&p) {
                v.push(p);
            }
        }
        s.blocking_pids = v;
        if me != s.pid {
            let e = inherited.entry(me).or_default();
            for p in &s.blocking_pids {
                if !e.0.contains(p) {
                    e.0.push(*p);
                }
            }
            if e.1.is_none() {
                e.1.clone_from(&s.lock);
            }
        }
    }
    for s in sessions.iter_mut() {
        if let Some((pids, lock)) = inherited.remove(&s.pid) {
            for p in pids {
                if !s.blocking_pids.contains(&p) {
                    s.blocking_pids.push(p);
                }
            }
            if s.lock.is_none() {
                s.lock = lock;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::session::SessionState;

    fn lw(mode: &str, t: &str, rel: Option<&str>) -> LockWait {
        LockWait {
            mode: mode.into(),
            locktype: t.into(),
            relation: rel.map(Into::into),
            object: None,
            since: None,
        }
    }

    #[test]
    fn what_is_waited_for() {
        assert_eq!(
            lw("AccessShareLock", "relation", Some("public.t")).what(),
            "public.t"
        );
        let mut x = lw("ShareLock", "transactionid", None);
        x.object = Some("1234".into());
        assert_eq!(x.what(), "transactionid 1234");
        assert_eq!(
            lw("ExclusiveLock", "tuple", Some("s.\"T\"")).what(),
            "tuple s.\"T\""
        );
        assert_eq!(lw("ExclusiveLock", "extend", None).what(), "extend");
        let sql = lock_sql(false);
        assert!(sql.contains("NULL::timestamptz") && sql.contains("NOT l.granted"));
        assert!(lock_sql(true).contains("l.waitstart"));
    }

    #[test]
    fn parallel_workers_attributed_to_their_leader() {
        // 10 leads worker 11 and holds the lock; 20 leads worker 21, and the worker waits
        let mut l1 = Session::for_test(10, SessionState::Active, "select count(*) from big");
        l1.leader_pid = Some(10);
        let mut w1 = Session::for_test(11, SessionState::Active, "");
        w1.leader_pid = Some(10);
        w1.backend_type = Some("parallel worker".into());
        let mut l2 = Session::for_test(20, SessionState::Active, "select * from big");
        l2.leader_pid = Some(20);
        l2.wait_event_type = Some("IPC".into());
        let mut w2 = Session::for_test(21, SessionState::Active, "");
        w2.leader_pid = Some(20);
        w2.backend_type = Some("parallel worker".into());
        w2.wait_event_type = Some("Lock".into());
        // duplicates as pg_blocking_pids gives them for a group, plus a worker pid
        w2.blocking_pids = vec![10, 11, 10];
        w2.lock = Some(lw("AccessShareLock", "relation", Some("public.big")));
        let mut plain = Session::for_test(30, SessionState::Active, "select 1");
        plain.blocking_pids = vec![11, 10];
        let mut all = vec![l1, w1, l2, w2, plain];
        attribute_parallel(&mut all);
        assert_eq!(all[3].blocking_pids, vec![10]);
        assert_eq!(all[2].blocking_pids, vec![10], "the leader is blocked");
        assert_eq!(
            all[2].lock.as_ref().map(LockWait::what).as_deref(),
            Some("public.big")
        );
        assert_eq!(
            all[4].blocking_pids,
            vec![10],
            "worker mapped, deduplicated"
        );
        assert!(all[0].blocking_pids.is_empty() && all[1].blocking_pids.is_empty());
    }

    #[test]
    fn apply_puts_locks_on_their_sessions_only() {
        let mut all = vec![
            Session::for_test(1, SessionState::Active, "a"),
            Session::for_test(2, SessionState::Active, "b"),
        ];
        all[1].lock = Some(lw("old", "relation", None));
        apply(
            &mut all,
            vec![(1, lw("RowExclusiveLock", "relation", Some("public.t")))],
        );
        assert_eq!(all[0].lock.as_ref().unwrap().mode, "RowExclusiveLock");
        assert!(all[1].lock.is_none(), "nothing stale is kept");
    }
}

//! [`ReplicationPair`]: a primary and a replica (`MariaDb` each, see `../mariadb.rs`) with
//! real GTID replication (`MASTER_USE_GTID=slave_pos`, account `repl` with a password), plus
//! optional extra sources attached as named connections (multi-source). Sits between the
//! tests and `MariaDb`; the replication-health view tests read both sides through it.

use super::{join, MariaDb, MariaDbOptions};

/// Primary (server_id 1, domain 0) + replica (server_id 2, domain 9, read_only) with real
/// GTID replication on the default connection; more sources can be attached as named
/// connections (multi-source). Dropping it stops every server.
#[derive(Debug)]
pub struct ReplicationPair {
    primary: MariaDb,
    replica: MariaDb,
    sources: Vec<(String, MariaDb)>,
}

impl ReplicationPair {
    /// Start both servers (in parallel), connect the replica and wait until it is caught up.
    pub fn start() -> ReplicationPair {
        Self::start_with(
            MariaDbOptions::named("primary", 1, 0),
            MariaDbOptions::named("replica", 2, 9).cnf("read-only=ON"),
        )
    }

    /// Like [`ReplicationPair::start`] with your own options for either side.
    pub fn start_with(primary: MariaDbOptions, replica: MariaDbOptions) -> ReplicationPair {
        let (primary, replica) = std::thread::scope(|s| {
            let p = s.spawn(move || MariaDb::start(primary));
            let r = s.spawn(move || MariaDb::start(replica));
            (join(p.join()), join(r.join()))
        });
        replica.replicate_from("", &primary);
        let pair = ReplicationPair {
            primary,
            replica,
            sources: Vec::new(),
        };
        pair.wait_replica_caught_up();
        pair
    }

    pub fn primary(&self) -> &MariaDb {
        &self.primary
    }
    pub fn replica(&self) -> &MariaDb {
        &self.replica
    }
    /// For stop / kill_hard / restart of the primary.
    pub fn primary_mut(&mut self) -> &mut MariaDb {
        &mut self.primary
    }
    /// For stop / kill_hard / restart of the replica.
    pub fn replica_mut(&mut self) -> &mut MariaDb {
        &mut self.replica
    }

    /// Wait until the default connection runs and has applied all of the primary's binlog.
    pub fn wait_replica_caught_up(&self) {
        self.replica.wait_caught_up("", &self.primary);
    }

    /// Start another source server (server_id 3.., its own gtid domain 1..) and replicate
    /// it into the replica as named connection `name`; waits until caught up. Breaking it
    /// (e.g. `named_source_mut(name).kill_hard()`) leaves the default connection healthy.
    pub fn add_named_connection(&mut self, name: &str) -> &MariaDb {
        let n = self.sources.len() as u32 + 1;
        let src = MariaDb::start(MariaDbOptions::named(&format!("source-{name}"), 2 + n, n));
        self.replica.replicate_from(name, &src);
        self.replica.wait_caught_up(name, &src);
        self.sources.push((name.to_string(), src));
        &self.sources[self.sources.len() - 1].1
    }
    /// The source server behind named connection `name`; panics if unknown.
    pub fn named_source(&self, name: &str) -> &MariaDb {
        self.sources
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no named connection {name:?}"))
    }
    /// Mutable access to a named source (stop / kill_hard / restart).
    pub fn named_source_mut(&mut self, name: &str) -> &mut MariaDb {
        self.sources
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no named connection {name:?}"))
    }
    /// Wait until named connection `name` runs and has applied all of its source's binlog.
    pub fn wait_named_caught_up(&self, name: &str) {
        self.replica.wait_caught_up(name, self.named_source(name));
    }
    /// PIDs of every running server of this pair (primary, replica, named sources).
    pub fn pids(&self) -> Vec<u32> {
        let all = [&self.primary, &self.replica]
            .into_iter()
            .chain(self.sources.iter().map(|(_, s)| s));
        all.filter_map(MariaDb::pid).collect()
    }
}

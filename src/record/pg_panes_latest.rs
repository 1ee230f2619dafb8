//! The replay side of [`super::pg_panes`]: the latest pgtop panes read from a recording, put
//! back on the pgtop snapshots decoded after them (the replay cursor and batch replay).

use std::sync::Arc;

use super::codec::Kind;
use super::decode::Decoded;
use crate::pg::statements::StatementsTop;
use crate::pg::wait_sampling::WaitProfile;

/// The kinds whose last record before a time a reader must start from (with the pgtop keyframe).
pub const KINDS: [Kind; 2] = [Kind::PgStatements, Kind::PgWaitSampling];

/// The reader's latest panes.
#[derive(Debug, Default, Clone)]
pub struct Latest {
    pub statements: Option<Arc<StatementsTop>>,
    pub wait_sampling: Option<Arc<WaitProfile>>,
}

impl Latest {
    /// Passes one decoded record of kind `kind` (its name in the file): a pane record is kept
    /// (and given back as it was), a pgtop snapshot gets the panes kept so far.
    pub fn pass(&mut self, kind: &str, mut d: Decoded) -> Decoded {
        match (Kind::parse(kind), &mut d) {
            (Some(Kind::PgStatements), Decoded::Json(v)) => {
                self.statements = serde_json::from_value(v.clone()).ok().map(Arc::new);
            }
            (Some(Kind::PgWaitSampling), Decoded::Json(v)) => {
                self.wait_sampling = serde_json::from_value(v.clone()).ok().map(Arc::new);
            }
            (_, Decoded::Pg(s)) => {
                s.statements.clone_from(&self.statements);
                s.wait_sampling.clone_from(&self.wait_sampling);
            }
            _ => {}
        }
        d
    }

    /// Whether `kind` is one of the panes' records (no output of its own in batch replay: the
    /// live batch shows the panes only through the sessions' `wait_sampling`).
    pub fn is_pane(kind: &str) -> bool {
        Kind::parse(kind).is_some_and(|k| KINDS.contains(&k))
    }
}

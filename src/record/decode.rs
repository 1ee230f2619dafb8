//! Records back to updates: the reader's [`Decoder`] (pgtop deltas applied to the last
//! keyframe's sessions, zstd with the keyframe's JSON as dictionary, bounded by
//! [`MAX_RECORD`]) and what a [`Decoded`] record was in the live run. The writing side is
//! [`super::codec`].

use std::sync::Arc;

use super::codec::{HealthRec, Kind};
use super::pgframe::{self, PgFrame};
use crate::messages::{Payload, Update};
use crate::pg::activity::{PgSnapshot, Session};
use crate::wire::{Level, ViewKind};

/// A decoded record.
#[derive(Debug)]
pub enum Decoded {
    /// a pgtop snapshot, whole again
    Pg(Box<PgSnapshot>),
    Health(HealthRec),
    Repl(Box<crate::repl::ServerSnapshot>),
    /// anything else, as its JSON (notices, kills, vlog, the recorder's counters)
    Json(serde_json::Value),
}

impl Decoded {
    /// The update the live run delivered, where the app can take it back (pgtop snapshots,
    /// health, replication snapshots).
    pub fn into_update(self, view: ViewKind) -> Option<Update> {
        let payload = match self {
            Decoded::Pg(s) => Payload::Pg(s.into()),
            Decoded::Health(h) => Payload::Health(h.to_health()),
            Decoded::Repl(s) => Payload::Repl(s),
            Decoded::Json(_) => return None,
        };
        Some(Update { view, payload })
    }

    /// The updates the live run delivered for this record, for an `App` replaying it: as
    /// [`Decoded::into_update`], plus notices (the status-line message), and a pgtop snapshot
    /// followed by the health the source sent with it (`Live` at the snapshot's time, or the
    /// failure it carries), which the recording keeps only when its state changes.
    pub fn into_updates(self, view: ViewKind) -> Vec<Update> {
        let health = match &self {
            Decoded::Pg(s) => Some(Payload::Health(crate::pg::source::health(
                &s.status,
                s.taken_at.into(),
            ))),
            _ => None,
        };
        let first = match self {
            Decoded::Json(v) => notice(&v),
            d => d.into_update(view).map(|u| u.payload),
        };
        first
            .into_iter()
            .chain(health)
            .map(|payload| Update { view, payload })
            .collect()
    }
}

/// A notice record (`{"level", "text"}`, nothing else) back as the notice.
fn notice(v: &serde_json::Value) -> Option<Payload> {
    let m = v.as_object().filter(|m| m.len() == 2)?;
    let level = match m.get("level")?.as_str()? {
        "info" => Level::Info,
        "warn" => Level::Warn,
        "error" => Level::Error,
        _ => return None,
    };
    let text = m.get("text")?.as_str()?.to_string();
    Some(Payload::Notice { level, text })
}

/// The last pgtop keyframe a [`Decoder`] read: its stored bytes (to know it again), the
/// sessions it holds and its JSON prepared as the dictionary of the deltas after it.
struct KeyCache {
    data: Vec<u8>,
    snap: PgSnapshot,
    sessions: Vec<Session>,
    dict: zstd::dict::DecoderDictionary<'static>,
}

/// The reader's decoder: the last pgtop sessions, to apply deltas to.
#[derive(Default)]
pub struct Decoder {
    prev_pg: Option<Vec<Session>>,
    key: Option<Arc<KeyCache>>,
}

/// Where a [`Decoder`] stands after a pgtop record: the sessions the next delta applies to and
/// the keyframe it is relative to. A reader keeps some to decode again from inside a
/// keyframe's interval ([`Decoder::resume`]) instead of from its keyframe.
#[derive(Clone)]
pub struct PgState {
    sessions: Vec<Session>,
    key: Arc<KeyCache>,
}

/// A record's JSON may not grow past this when decompressed (bounded memory on a corrupt or
/// hostile file).
const MAX_RECORD: u64 = 256 << 20;

impl Decoder {
    /// Where this decoder stands (a copy of its sessions); `None` before a pgtop keyframe.
    pub fn pg_state(&self) -> Option<PgState> {
        Some(PgState {
            key: self.key.clone()?,
            sessions: self.prev_pg.clone()?,
        })
    }

    /// A decoder standing where `state` was taken: the pgtop record after it decodes.
    pub fn resume(state: &PgState) -> Decoder {
        Decoder {
            prev_pg: Some(state.sessions.clone()),
            key: Some(state.key.clone()),
        }
    }

    /// Decodes a stored record. A delta without its keyframe (cut by retention) is an error
    /// the caller skips.
    pub fn decode(&mut self, kind: &str, keyframe: bool, data: &[u8]) -> Result<Decoded, String> {
        match Kind::parse(kind) {
            Some(Kind::PgSnapshot) => {
                let mut snap = self.pg(kind, keyframe, data)?;
                snap.sessions = self.prev_pg.clone().unwrap_or_default();
                Ok(Decoded::Pg(Box::new(snap)))
            }
            Some(k) => {
                let json = unzstd(data, None).map_err(|e| format!("corrupt {kind} record: {e}"))?;
                let bad = |e: serde_json::Error| format!("corrupt {kind} record: {e}");
                match k {
                    Kind::Health => {
                        Ok(Decoded::Health(serde_json::from_slice(&json).map_err(bad)?))
                    }
                    Kind::ReplSnapshot => {
                        Ok(Decoded::Repl(serde_json::from_slice(&json).map_err(bad)?))
                    }
                    _ => Ok(Decoded::Json(serde_json::from_slice(&json).map_err(bad)?)),
                }
            }
            None => Err(format!("unknown record kind {kind:?}")),
        }
    }

    /// Reads a record only for what follows it: a pgtop record updates the sessions the next
    /// delta applies to, without building its snapshot; others are skipped. For seeking:
    /// `skip` the records from the keyframe up to the one before the target, `decode` that
    /// one.
    pub fn skip(&mut self, kind: &str, keyframe: bool, data: &[u8]) -> Result<(), String> {
        match Kind::parse(kind) {
            Some(Kind::PgSnapshot) => self.pg(kind, keyframe, data).map(|_| ()),
            Some(_) => Ok(()),
            None => Err(format!("unknown record kind {kind:?}")),
        }
    }

    /// Applies a pgtop record as [`Decoder::skip`] does and lends its snapshot: the header
    /// (sessions empty) and the sessions, not copied (a whole-file scan reads every record
    /// so; copying 500 sessions is most of a decode). `None` for other kinds.
    pub fn peek_pg(
        &mut self,
        kind: &str,
        keyframe: bool,
        data: &[u8],
    ) -> Result<Option<(PgSnapshot, &[Session])>, String> {
        if Kind::parse(kind) != Some(Kind::PgSnapshot) {
            return Ok(None);
        }
        let shell = self.pg(kind, keyframe, data)?;
        Ok(Some((shell, self.prev_pg.as_deref().unwrap_or_default())))
    }

    /// Applies one pgtop record to the kept sessions; returns the snapshot without them.
    fn pg(&mut self, kind: &str, keyframe: bool, data: &[u8]) -> Result<PgSnapshot, String> {
        let corrupt = |e: std::io::Error| format!("corrupt {kind} record: {e}");
        let bad = |e: serde_json::Error| format!("corrupt {kind} record: {e}");
        if keyframe {
            if let Some(k) = self.key.as_ref().filter(|k| k.data == data) {
                // the same keyframe again (seeking back in its minute): no zstd, no JSON
                self.prev_pg = Some(k.sessions.clone());
                return Ok(pgframe::shell(&k.snap));
            }
            self.prev_pg = None;
            self.key = None;
            let json = unzstd(data, None).map_err(corrupt)?;
            let mut f: PgFrame = serde_json::from_slice(&json).map_err(bad)?;
            let sessions = pgframe::apply(None, &mut f)?;
            self.key = Some(Arc::new(KeyCache {
                data: data.to_vec(),
                snap: pgframe::shell(&f.snap),
                sessions: sessions.clone(),
                dict: zstd::dict::DecoderDictionary::copy(&json),
            }));
            self.prev_pg = Some(sessions);
            return Ok(f.snap);
        }
        let (Some(prev), Some(key)) = (self.prev_pg.take(), self.key.as_ref()) else {
            return Err("a pgtop delta without its keyframe".into());
        };
        let json = unzstd(data, Some(&key.dict)).map_err(corrupt)?;
        let mut f: PgFrame = serde_json::from_slice(&json).map_err(bad)?;
        self.prev_pg = Some(pgframe::apply(Some(prev), &mut f)?);
        Ok(f.snap)
    }
}

/// zstd-decompressed `data` (with the prepared dictionary of a pgtop delta), refused past
/// [`MAX_RECORD`].
fn unzstd(
    data: &[u8],
    dict: Option<&zstd::dict::DecoderDictionary<'_>>,
) -> Result<Vec<u8>, std::io::Error> {
    use std::io::Read;
    let mut out = Vec::new();
    let n = match dict {
        Some(d) => zstd::stream::read::Decoder::with_prepared_dictionary(data, d)?
            .take(MAX_RECORD + 1)
            .read_to_end(&mut out)?,
        None => zstd::stream::read::Decoder::with_buffer(data)?
            .take(MAX_RECORD + 1)
            .read_to_end(&mut out)?,
    };
    if n as u64 > MAX_RECORD {
        return Err(std::io::Error::other(format!(
            "over {} MB decompressed",
            MAX_RECORD >> 20
        )));
    }
    Ok(out)
}

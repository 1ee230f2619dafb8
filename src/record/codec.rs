//! Updates to records and back: what is recorded of each [`Payload`], pgtop's delta encoding
//! ([`super::pgframe`]) and zstd.
//!
//! A pgtop snapshot is stored as a [`PgFrame`]: on a keyframe (the first one, every
//! [`KEYFRAME_EVERY`]th, and after a failed write) every session, otherwise only the fields
//! that changed, the pids that left and the pid order when it changed. Decoding applies the
//! frames to the last keyframe, so the decoded snapshot equals the recorded one field for
//! field (`statements`, not serialized, excepted).
//!
//! Every record is zstd-compressed on its own; a pgtop delta with its keyframe's JSON as the
//! dictionary (so the delta's query texts cost a reference, not their bytes). The encoder
//! keeps the previous snapshot as the shared `Arc` the tee copied (no copy of the sessions);
//! the decoder keeps the sessions, the keyframe's prepared dictionary, and the last keyframe
//! it decoded, so seeking back into the same minute does not parse the keyframe again.
//!
//! Error texts and notices pass through [`crate::mask::text`] before they are written, so a
//! password that slipped into a message never reaches the file.

use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};

use super::pgframe::{self, PgFrame};
use crate::messages::{Payload, Update};
use crate::pg::activity::{ConnState, PgSnapshot, Session};
use crate::wire::Level;
use crate::wire::SourceHealth;
use crate::wire::ViewKind;
use std::sync::Arc;

/// A keyframe every this many pgtop snapshots (one a minute at the default 1 s refresh).
pub const KEYFRAME_EVERY: u32 = 60;
/// zstd level: 3 is zstd's default (fast, about the ratio of level 9 on this JSON).
pub const ZSTD_LEVEL: i32 = 3;

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// one pgtop refresh ([`PgFrame`])
    PgSnapshot,
    /// a change of a source's connection state (not every refresh's `Live`)
    Health,
    /// a status-line message (warnings, alerts sent or failed, a child's stderr)
    Notice,
    /// the outcome of cancel/terminate requests
    KillDone,
    /// one replication server's refresh
    ReplSnapshot,
    /// a batch of parsed varnish requests (the vlog batch JSON of each)
    VlogRequests,
    /// malformed counts and end-of-input summaries of the varnishlog parser
    VlogStats,
    /// the recorder's own counters (records dropped since the last one)
    Recorder,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::PgSnapshot,
        Kind::Health,
        Kind::Notice,
        Kind::KillDone,
        Kind::ReplSnapshot,
        Kind::VlogRequests,
        Kind::VlogStats,
        Kind::Recorder,
    ];

    /// The name stored in the file and printed by replay.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PgSnapshot => "pg_snapshot",
            Kind::Health => "health",
            Kind::Notice => "notice",
            Kind::KillDone => "kill_done",
            Kind::ReplSnapshot => "repl_snapshot",
            Kind::VlogRequests => "vlog_requests",
            Kind::VlogStats => "vlog_stats",
            Kind::Recorder => "recorder",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Whether an update is recorded at all (the tee clones only these).
pub fn wanted(u: &Update) -> bool {
    match &u.payload {
        Payload::Pg(_) | Payload::Health(_) | Payload::Notice { .. } | Payload::Repl(_) => true,
        Payload::PgReply(r) => matches!(**r, crate::pg::source::PgReply::Signals(_)),
        Payload::Vlog(e) => {
            use crate::vlog::VlogEvent as E;
            matches!(e, E::Requests(_) | E::Malformed(_) | E::Summary(_))
        }
        // the explorer's query results are local data, and test tables are not news
        Payload::Spotify(_) | Payload::Replay(_) => false,
    }
}

/// [`SourceHealth`] as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthRec {
    /// [`SourceHealth::state_name`]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Local>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_try: Option<DateTime<Local>>,
}

impl HealthRec {
    pub fn from_health(h: &SourceHealth) -> HealthRec {
        let (at, error, next_try) = match h {
            SourceHealth::Idle => (None, None, None),
            SourceHealth::Connecting { since } | SourceHealth::Stalled { since } => {
                (Some(*since), None, None)
            }
            SourceHealth::Live { at } => (Some(*at), None, None),
            SourceHealth::Reconnecting {
                since,
                error,
                next_try,
            } => (Some(*since), Some(crate::mask::text(error)), *next_try),
        };
        HealthRec {
            state: h.state_name().to_string(),
            at,
            error,
            next_try,
        }
    }

    pub fn to_health(&self) -> SourceHealth {
        let t = self.at.unwrap_or_else(Local::now);
        match self.state.as_str() {
            "connecting" => SourceHealth::Connecting { since: t },
            "connected" => SourceHealth::Live { at: t },
            "no_answer" => SourceHealth::Stalled { since: t },
            "disconnected" => SourceHealth::Reconnecting {
                since: t,
                error: self.error.clone().unwrap_or_default(),
                next_try: self.next_try,
            },
            _ => SourceHealth::Idle,
        }
    }
}

/// One encoded record, ready for [`super::store::Store::insert`].
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub view: &'static str,
    pub kind: Kind,
    pub keyframe: bool,
    /// zstd-compressed JSON
    pub data: Vec<u8>,
    /// the JSON before compression (for the size figures)
    pub raw_len: usize,
}

/// The writer's encoder: the previous pgtop snapshot and the zstd contexts.
pub struct Encoder {
    prev_pg: Option<Arc<PgSnapshot>>,
    /// the last recorded state name per view: health is recorded when it changes
    last_health: std::collections::HashMap<&'static str, &'static str>,
    since_key: u32,
    /// [`KEYFRAME_EVERY`] unless a bench asks otherwise
    keyframe_every: u32,
    zstd: zstd::bulk::Compressor<'static>,
    /// pgtop deltas are compressed with the last keyframe's JSON as the zstd dictionary
    /// (the query texts and names of a delta are nearly all in it)
    pg_dict: Option<zstd::bulk::Compressor<'static>>,
}

impl Encoder {
    pub fn new() -> Result<Encoder, String> {
        let zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| format!("zstd: {e}"))?;
        Ok(Encoder {
            prev_pg: None,
            last_health: Default::default(),
            since_key: 0,
            keyframe_every: KEYFRAME_EVERY,
            zstd,
            pg_dict: None,
        })
    }

    /// A keyframe every `n` pgtop snapshots instead of [`KEYFRAME_EVERY`] (the bench's size
    /// against seek-time trade-off).
    #[doc(hidden)]
    pub fn with_keyframe_every(mut self, n: u32) -> Encoder {
        self.keyframe_every = n.max(1);
        self
    }

    /// Forgets the previous snapshot: the next pgtop record is a keyframe (after records were
    /// lost, so a delta would refer to a snapshot that is not in the file).
    pub fn reset(&mut self) {
        self.prev_pg = None;
        self.pg_dict = None;
        self.last_health.clear();
    }

    /// Encodes one update; `None` for what is not recorded.
    pub fn encode(&mut self, u: Update) -> Result<Option<Encoded>, String> {
        let view = u.view.name();
        let (kind, keyframe, json) = match u.payload {
            Payload::Pg(snap) => {
                let (keyframe, json) = self.pg(snap)?;
                (Kind::PgSnapshot, keyframe, json)
            }
            Payload::Health(h) => {
                // `Live { at }` comes with every refresh: only a change of state is news
                if self.last_health.insert(view, h.state_name()) == Some(h.state_name()) {
                    return Ok(None);
                }
                (Kind::Health, true, to_json(&HealthRec::from_health(&h))?)
            }
            Payload::Notice { level, text } => {
                // `Level` is named by its Debug form: this module does not import the UI
                let level = format!("{level:?}").to_ascii_lowercase();
                let v = serde_json::json!({"level": level, "text": crate::mask::text(&text)});
                (Kind::Notice, true, to_json(&v)?)
            }
            Payload::PgReply(r) => match *r {
                crate::pg::source::PgReply::Signals(results) => {
                    (Kind::KillDone, true, to_json(&results)?)
                }
                _ => return Ok(None),
            },
            Payload::Repl(s) => (Kind::ReplSnapshot, true, to_json(&s)?),
            Payload::Vlog(e) => match vlog_json(&e) {
                Some((kind, v)) => (kind, true, to_json(&v)?),
                None => return Ok(None),
            },
            Payload::Spotify(_) | Payload::Replay(_) => return Ok(None),
        };
        let zstd = match (&mut self.pg_dict, kind, keyframe) {
            (Some(d), Kind::PgSnapshot, false) => d,
            _ => &mut self.zstd,
        };
        let data = zstd.compress(&json).map_err(|e| format!("zstd: {e}"))?;
        if kind == Kind::PgSnapshot && keyframe {
            self.pg_dict = Some(
                zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, &json)
                    .map_err(|e| format!("zstd: {e}"))?,
            );
        }
        Ok(Some(Encoded {
            view,
            kind,
            keyframe,
            data,
            raw_len: json.len(),
        }))
    }

    /// The recorder's own record: how many updates were dropped since the last one.
    pub fn drops(&mut self, dropped: u64, total: u64) -> Result<Encoded, String> {
        let json = to_json(&serde_json::json!({"dropped": dropped, "dropped_total": total}))?;
        let data = self
            .zstd
            .compress(&json)
            .map_err(|e| format!("zstd: {e}"))?;
        Ok(Encoded {
            view: "recorder",
            kind: Kind::Recorder,
            keyframe: true,
            data,
            raw_len: json.len(),
        })
    }

    fn pg(&mut self, snap: Arc<PgSnapshot>) -> Result<(bool, Vec<u8>), String> {
        let mut shell = pgframe::shell(&snap);
        if let ConnState::Disconnected { error, .. } = &mut shell.status {
            *error = crate::mask::text(error);
        }
        for n in &mut shell.notices {
            *n = crate::mask::text(n);
        }
        let delta_on = match &self.prev_pg {
            Some(prev)
                if self.since_key + 1 < self.keyframe_every
                    && pgframe::pids_unique(&snap.sessions)
                    && pgframe::pids_unique(&prev.sessions) =>
            {
                Some(prev)
            }
            _ => None,
        };
        let (keyframe, frame) = match delta_on {
            None => (true, pgframe::keyframe(shell, &snap.sessions)),
            Some(prev) => (false, pgframe::delta(shell, &prev.sessions, &snap.sessions)),
        };
        let json = to_json(&frame)?;
        self.since_key = if keyframe { 0 } else { self.since_key + 1 };
        self.prev_pg = Some(snap);
        Ok((keyframe, json))
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(v).map_err(|e| format!("cannot encode a record: {e}"))
}

fn vlog_json(e: &crate::vlog::VlogEvent) -> Option<(Kind, serde_json::Value)> {
    use crate::vlog::VlogEvent as E;
    match e {
        E::Requests(reqs) => Some((
            Kind::VlogRequests,
            serde_json::Value::Array(reqs.iter().map(crate::vlog::format::json_value).collect()),
        )),
        E::Malformed(n) => Some((Kind::VlogStats, serde_json::json!({"malformed": n}))),
        E::Summary(s) => Some((
            Kind::VlogStats,
            serde_json::json!({
                "summary": {
                    "lines": s.lines,
                    "malformed": s.malformed,
                    "garbage_lines": s.garbage_lines,
                    "long_lines": s.long_lines,
                    "incomplete": s.incomplete,
                }
            }),
        )),
        _ => None,
    }
}

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
    key: Option<KeyCache>,
}

/// A record's JSON may not grow past this when decompressed (bounded memory on a corrupt or
/// hostile file).
const MAX_RECORD: u64 = 256 << 20;

impl Decoder {
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
            self.key = Some(KeyCache {
                data: data.to_vec(),
                snap: pgframe::shell(&f.snap),
                sessions: sessions.clone(),
                dict: zstd::dict::DecoderDictionary::copy(&json),
            });
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

//! Updates to records: what is recorded of each [`Payload`], pgtop's delta encoding
//! ([`super::pgframe`]) and zstd. Records back to updates: [`super::decode`].
//!
//! A pgtop snapshot is stored as a [`pgframe::PgFrame`]: on a keyframe (the first one, every
//! [`KEYFRAME_EVERY`]th, and after a failed write) every session, otherwise only the fields
//! that changed, the pids that left and the pid order when it changed. Decoding applies the
//! frames to the last keyframe, so the decoded snapshot equals the recorded one field for
//! field (`statements` and `wait_sampling` excepted: recorded when they change, as records of
//! their own, by [`super::pg_panes`], and put back on the snapshots by the reader).
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

use super::pgframe;
use crate::messages::{Payload, Update};
use crate::pg::activity::{ConnState, PgSnapshot};
use crate::wire::SourceHealth;
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
    /// pgtop's `pg_stat_statements` top, when it changed ([`super::pg_panes`])
    PgStatements,
    /// pgtop's `pg_wait_sampling` profile, when it changed ([`super::pg_panes`])
    PgWaitSampling,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::PgSnapshot,
        Kind::Health,
        Kind::Notice,
        Kind::KillDone,
        Kind::ReplSnapshot,
        Kind::VlogRequests,
        Kind::VlogStats,
        Kind::Recorder,
        Kind::PgStatements,
        Kind::PgWaitSampling,
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
            Kind::PgStatements => "pg_statements",
            Kind::PgWaitSampling => "pg_wait_sampling",
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
            use crate::vlog::InputStatus as S;
            use crate::vlog::VlogEvent as E;
            matches!(
                e,
                E::Requests(_)
                    | E::Malformed(_)
                    | E::Summary(_)
                    | E::Status(
                        S::Started { .. } | S::Exited { .. } | S::Requery { .. } | S::Finished
                    )
            )
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
    /// views whose snapshots imply their `Live` health (pgtop, replication: recorded only
    /// when the state changes); any other view's `Live` (vlog: at most one a second) is
    /// recorded every time, so replay's "updated at" is the live one
    implied: std::collections::HashSet<&'static str>,
    since_key: u32,
    /// [`KEYFRAME_EVERY`] unless a bench asks otherwise
    keyframe_every: u32,
    zstd: zstd::bulk::Compressor<'static>,
    /// pgtop deltas are compressed with the last keyframe's JSON as the zstd dictionary
    /// (the query texts and names of a delta are nearly all in it)
    pg_dict: Option<zstd::bulk::Compressor<'static>>,
    /// the pgtop panes recorded last
    panes: super::pg_panes::PaneTracker,
}

impl Encoder {
    pub fn new() -> Result<Encoder, String> {
        let zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| format!("zstd: {e}"))?;
        Ok(Encoder {
            prev_pg: None,
            last_health: Default::default(),
            implied: Default::default(),
            since_key: 0,
            keyframe_every: KEYFRAME_EVERY,
            zstd,
            pg_dict: None,
            panes: Default::default(),
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
        self.panes.reset();
    }

    /// [`Encoder::encode`], preceded by the records of the pgtop panes a snapshot brings
    /// ([`super::pg_panes`]).
    pub fn encode_all(&mut self, u: Update) -> Result<Vec<Encoded>, String> {
        let snap = match &u.payload {
            Payload::Pg(s) => Some(Arc::clone(s)),
            _ => None,
        };
        let view = u.view.name();
        let Some(main) = self.encode(u)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (pane, json) in snap.map_or(Ok(Vec::new()), |s| self.panes.due(&s, main.keyframe))? {
            let kind = match pane {
                super::pg_panes::Pane::Statements => Kind::PgStatements,
                super::pg_panes::Pane::WaitSampling => Kind::PgWaitSampling,
            };
            let data = self
                .zstd
                .compress(&json)
                .map_err(|e| format!("zstd: {e}"))?;
            out.push(Encoded {
                view,
                kind,
                keyframe: true,
                data,
                raw_len: json.len(),
            });
        }
        out.push(main);
        Ok(out)
    }

    /// Encodes one update; `None` for what is not recorded.
    pub fn encode(&mut self, u: Update) -> Result<Option<Encoded>, String> {
        let view = u.view.name();
        if matches!(u.payload, Payload::Pg(_) | Payload::Repl(_)) {
            self.implied.insert(view);
        }
        let (kind, keyframe, json) = match u.payload {
            Payload::Pg(snap) => {
                let (keyframe, json) = self.pg(snap)?;
                (Kind::PgSnapshot, keyframe, json)
            }
            Payload::Health(h) => {
                // `Live { at }` comes with every refresh: only a change of state is news
                let same = self.last_health.insert(view, h.state_name()) == Some(h.state_name());
                let live = matches!(h, SourceHealth::Live { .. });
                if same && (!live || self.implied.contains(view)) {
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
            serde_json::Value::Array(reqs.iter().map(request_json).collect()),
        )),
        E::Status(st) => Some((Kind::VlogStats, status_json(st)?)),
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

/// A request as recorded: its batch JSON, plus `"hit_record": true` when a `Hit` record was
/// logged but the handling does not say so (a hit restarted, or passed from `vcl_hit`: the
/// `only_hits` filter counts it), which the batch JSON does not carry.
fn request_json(r: &crate::vlog::Request) -> serde_json::Value {
    let mut v = crate::vlog::format::json_value(r);
    if let (true, serde_json::Value::Object(m)) = (r.hit_record && !r.handling.is_hit(), &mut v) {
        m.insert("hit_record".into(), true.into());
    }
    v
}

/// The input's lifecycle events the vlog view counts (starts, restarts for a new `-q`, the
/// program shown in its header, the end of the input); the child's pid is not kept.
fn status_json(st: &crate::vlog::InputStatus) -> Option<serde_json::Value> {
    use crate::vlog::InputStatus as S;
    Some(match st {
        S::Started { command, .. } => {
            serde_json::json!({"status": "started", "command": crate::mask::text(command)})
        }
        S::Exited { code, .. } => serde_json::json!({"status": "exited", "code": code}),
        S::Requery { query } => serde_json::json!({"status": "requery", "query": query}),
        S::Finished => serde_json::json!({"status": "finished"}),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ViewKind;

    fn live(view: ViewKind, secs: i64) -> Update {
        let at = Local::now() + chrono::Duration::seconds(secs);
        Update {
            view,
            payload: Payload::Health(SourceHealth::Live { at }),
        }
    }

    #[test]
    fn a_vlog_live_is_recorded_each_time_a_pgtop_live_only_when_it_changes() {
        let mut e = Encoder::new().unwrap();
        let snap = PgSnapshot::status_only(
            1,
            ConnState::Connected {
                since: chrono::Utc::now(),
            },
            std::time::Duration::from_secs(1),
        );
        let pg = Update {
            view: ViewKind::Pgtop,
            payload: Payload::Pg(snap.into()),
        };
        assert!(e.encode(pg).unwrap().is_some());
        let kept = |e: &mut Encoder, u| e.encode(u).unwrap().map(|r| r.kind);
        assert_eq!(kept(&mut e, live(ViewKind::Pgtop, 0)), Some(Kind::Health));
        assert_eq!(kept(&mut e, live(ViewKind::Pgtop, 1)), None, "implied");
        assert_eq!(kept(&mut e, live(ViewKind::Vlog, 0)), Some(Kind::Health));
        assert_eq!(kept(&mut e, live(ViewKind::Vlog, 1)), Some(Kind::Health));
        let started = Update {
            view: ViewKind::Vlog,
            payload: Payload::Vlog(crate::vlog::VlogEvent::Status(
                crate::vlog::InputStatus::Started {
                    pid: Some(7),
                    command: "varnishlog -g request".into(),
                },
            )),
        };
        assert!(wanted(&started));
        assert_eq!(kept(&mut e, started), Some(Kind::VlogStats));
    }
}

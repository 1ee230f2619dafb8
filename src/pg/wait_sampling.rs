//! Server-side waits over time, from the `pg_wait_sampling` extension when it is installed in
//! the connected database (detected from the catalog, said once when absent or unreadable). Its
//! profile (`pg_wait_sampling_profile`: pid, event_type, event, queryid, count) counts samples
//! the server takes itself every `pg_wait_sampling.profile_period` (10 ms by default) of every
//! process, so a count × the period is roughly time spent in that wait — unlike stacktop's own
//! client-side samples ([`super::waits`], one per backend per refresh).
//!
//! The collector calls [`WaitSamplingReader::maybe_read`] after a refresh, at most every
//! `every` (5 s by default, [`super::options::CollectorOptions::wait_sampling_every`]) and never
//! in the same refresh as `pg_stat_statements`, so a refresh gets at most one extra statement;
//! each reading is ONE statement bounded by the query timeout (plus one detection statement
//! per connection). The profile is summed per (pid, event_type, event) on the server (queryids
//! merged), at most [`MAX_ROWS`] rows, and shown as deltas since the first reading
//! ([`Baseline`]; a reset profile counts from zero again). Event names are server text: data,
//! escaped by whoever shows them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::explain::quote_ident;

/// Rows read per reading (and first-reading entries kept): bounded memory.
pub const MAX_ROWS: usize = 50_000;

/// `(pid, event_type, event)`; pid 0 when `pg_wait_sampling.profile_pid` is off.
pub type WaitKey = (i32, Option<String>, Option<String>);

/// One process's samples of one wait since the first reading.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PidWait {
    pub pid: i32,
    pub event_type: Option<String>,
    pub event: Option<String>,
    pub count: i64,
}

/// One wait summed over every process since the first reading.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventCount {
    pub event_type: Option<String>,
    pub event: Option<String>,
    pub count: i64,
    /// processes with samples of it
    pub pids: u32,
}

impl EventCount {
    /// Waits of idle sessions (`Client:ClientRead`) and of background processes' main loops
    /// (type `Activity`): left out by default, like the client-side samples leave out idle
    /// sessions and background processes.
    pub fn is_idle(&self) -> bool {
        match self.event_type.as_deref() {
            Some("Activity") => true,
            Some("Client") => self.event.as_deref() == Some("ClientRead"),
            _ => false,
        }
    }
}

/// The deltas of one reading.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WaitProfile {
    /// the server's time of the first reading (the deltas count from it)
    pub since: DateTime<Utc>,
    /// the server's time of this reading
    pub taken_at: DateTime<Utc>,
    /// `pg_wait_sampling.profile_period` in milliseconds, when the server says it
    pub period_ms: Option<u32>,
    /// every wait with samples since the first reading, most first
    pub events: Vec<EventCount>,
    /// per process and wait, by pid then most first
    pub by_pid: Vec<PidWait>,
}

impl WaitProfile {
    /// The waits of `pid` since the first reading, most first.
    pub fn of_pid(&self, pid: i32) -> &[PidWait] {
        let start = self.by_pid.partition_point(|w| w.pid < pid);
        let end = self.by_pid.partition_point(|w| w.pid <= pid);
        &self.by_pid[start..end]
    }
}

/// Counts of the first reading (a wait first seen later counts from zero).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    first: HashMap<WaitKey, i64>,
}

impl Baseline {
    pub fn new(rows: &[(WaitKey, i64)]) -> Self {
        let mut first = HashMap::with_capacity(rows.len().min(MAX_ROWS));
        for (k, n) in rows.iter().take(MAX_ROWS) {
            first.insert(k.clone(), *n);
        }
        Baseline { first }
    }

    /// The deltas since the first reading (none without samples), summed per wait and kept
    /// per pid. A count that went down (`pg_wait_sampling_reset_profile()`, a recycled pid)
    /// counts from zero again, never negative.
    pub fn deltas(&self, rows: Vec<(WaitKey, i64)>) -> (Vec<EventCount>, Vec<PidWait>) {
        let mut by_pid: Vec<PidWait> = rows
            .into_iter()
            .filter_map(|(k, n)| {
                let d = match self.first.get(&k) {
                    Some(&n0) if n >= n0 => n - n0,
                    _ => n,
                };
                (d > 0).then_some(PidWait {
                    pid: k.0,
                    event_type: k.1,
                    event: k.2,
                    count: d,
                })
            })
            .collect();
        by_pid.sort_by(|a, b| a.pid.cmp(&b.pid).then(b.count.cmp(&a.count)));
        let mut sums: EventSums<'_> = HashMap::new();
        for w in &by_pid {
            let e = sums
                .entry((w.event_type.as_deref(), w.event.as_deref()))
                .or_default();
            e.0 += w.count;
            e.1 += 1;
        }
        let mut events: Vec<EventCount> = sums
            .into_iter()
            .map(|((t, e), (count, pids))| EventCount {
                event_type: t.map(str::to_string),
                event: e.map(str::to_string),
                count,
                pids,
            })
            .collect();
        events.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.event_type.cmp(&b.event_type))
                .then_with(|| a.event.cmp(&b.event))
        });
        (events, by_pid)
    }
}

/// (count, pids) per (event_type, event).
type EventSums<'a> = HashMap<(Option<&'a str>, Option<&'a str>), (i64, u32)>;

/// What the catalog said about the extension in this database.
#[derive(Debug, Clone, PartialEq)]
enum Presence {
    Unknown,
    Present {
        schema: String,
        period_ms: Option<u32>,
    },
    /// absent, or reading failed (not preloaded, no permission): not tried again on this
    /// connection
    Off,
}

/// The collector's reader (one per collector; [`WaitSamplingReader::reconnected`] per
/// connection).
pub struct WaitSamplingReader {
    every: Duration,
    presence: Presence,
    last: Option<Instant>,
    baseline: Option<(DateTime<Utc>, Baseline)>,
    latest: Option<Arc<WaitProfile>>,
    readings: u64,
}

impl WaitSamplingReader {
    pub fn new(every: Duration) -> Self {
        WaitSamplingReader {
            every,
            presence: Presence::Unknown,
            last: None,
            baseline: None,
            latest: None,
            readings: 0,
        }
    }

    /// A new connection: detect again (the first reading stays).
    pub fn reconnected(&mut self) {
        self.presence = Presence::Unknown;
        self.last = None;
    }

    /// The latest profile (attached to every snapshot, with its reading time).
    pub fn latest(&self) -> Option<Arc<WaitProfile>> {
        self.latest.clone()
    }

    /// Profile statements run so far (detection not counted).
    pub fn readings(&self) -> u64 {
        self.readings
    }

    /// Reads when due, within `limit`; a message for the status line when the extension is
    /// absent or cannot be read (the caller says each one once).
    pub async fn maybe_read(&mut self, client: &Client, limit: Duration) -> Option<String> {
        if self.presence == Presence::Off || self.last.is_some_and(|t| t.elapsed() < self.every) {
            return None;
        }
        self.last = Some(Instant::now());
        match tokio::time::timeout(limit, self.read(client)).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                self.presence = Presence::Off;
                Some(format!(
                    "pg_wait_sampling: {e}: the waits pane shows stacktop's own samples only"
                ))
            }
            Err(_) => Some(format!(
                "pg_wait_sampling: no answer within {:.1} s, skipped this time",
                limit.as_secs_f64()
            )),
        }
    }

    async fn read(&mut self, client: &Client) -> Result<(), String> {
        if self.presence == Presence::Unknown {
            self.presence = detect(client).await.map_err(|e| db_error(&e))?;
        }
        let Presence::Present { schema, period_ms } = &self.presence else {
            return Err(
                "not installed in this database (CREATE EXTENSION pg_wait_sampling, \
                        with it in shared_preload_libraries)"
                    .into(),
            );
        };
        let period_ms = *period_ms;
        self.readings += 1;
        let rows = client
            .query(
                &format!(
                    "/* stacktop */ SELECT now(), p.pid, p.event_type, p.event, \
                     sum(p.count)::int8 FROM {}.pg_wait_sampling_profile p \
                     GROUP BY 2, 3, 4 ORDER BY 2, 3, 4 LIMIT {MAX_ROWS}",
                    quote_ident(schema)
                ),
                &[],
            )
            .await
            .map_err(|e| format!("cannot be read ({})", db_error(&e)))?;
        let mut now = None;
        let mut counts = Vec::with_capacity(rows.len());
        for r in &rows {
            now = Some(
                r.try_get::<_, DateTime<Utc>>(0)
                    .map_err(|e| e.to_string())?,
            );
            let key: WaitKey = (
                r.try_get::<_, Option<i32>>(1)
                    .map_err(|e| e.to_string())?
                    .unwrap_or(0),
                r.try_get(2).map_err(|e| e.to_string())?,
                r.try_get(3).map_err(|e| e.to_string())?,
            );
            let n: Option<i64> = r.try_get(4).map_err(|e| e.to_string())?;
            counts.push((key, n.unwrap_or(0)));
        }
        let now = match now {
            Some(n) => n,
            None => client
                .query_one("/* stacktop */ SELECT now()", &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| db_error(&e))?,
        };
        let Some((since, base)) = &self.baseline else {
            self.baseline = Some((now, Baseline::new(&counts)));
            self.latest = Some(Arc::new(WaitProfile {
                since: now,
                taken_at: now,
                period_ms,
                events: Vec::new(),
                by_pid: Vec::new(),
            }));
            return Ok(());
        };
        let (events, by_pid) = base.deltas(counts);
        self.latest = Some(Arc::new(WaitProfile {
            since: *since,
            taken_at: now,
            period_ms,
            events,
            by_pid,
        }));
        Ok(())
    }
}

/// The server's message (tokio_postgres' Display says only "db error").
fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    }
}

/// Looks the extension up in this database's catalog, with the sampling period.
async fn detect(client: &Client) -> Result<Presence, tokio_postgres::Error> {
    let rows = client
        .query(
            "/* stacktop */ SELECT n.nspname::text, \
             current_setting('pg_wait_sampling.profile_period', true) \
             FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'pg_wait_sampling'",
            &[],
        )
        .await?;
    Ok(match rows.first() {
        None => Presence::Off,
        Some(r) => Presence::Present {
            schema: r.try_get(0)?,
            period_ms: r
                .try_get::<_, Option<String>>(1)?
                .and_then(|p| p.trim().trim_end_matches("ms").trim().parse().ok()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::waits::{event_name, NO_WAIT};

    fn name(e: &EventCount) -> String {
        event_name(e.event_type.as_deref(), e.event.as_deref())
    }

    fn k(pid: i32, t: &str, e: &str) -> WaitKey {
        (pid, Some(t.into()), Some(e.into()))
    }

    #[test]
    fn deltas_per_wait_and_per_pid() {
        let b = Baseline::new(&[
            (k(1, "Timeout", "PgSleep"), 100),
            (k(2, "Lock", "relation"), 7),
        ]);
        let (events, by_pid) = b.deltas(vec![
            (k(1, "Timeout", "PgSleep"), 150), // +50
            (k(2, "Lock", "relation"), 7),     // nothing new: left out
            (k(3, "Timeout", "PgSleep"), 20),  // new since: all of it
            (k(2, "Lock", "transactionid"), 5),
            ((4, None, None), 3),
            (k(5, "IO", "DataFileRead"), 2),
        ]);
        assert_eq!(name(&events[0]), "Timeout:PgSleep");
        assert_eq!((events[0].count, events[0].pids), (70, 2));
        assert_eq!(name(&events[1]), "Lock:transactionid");
        assert_eq!(name(&events[2]), NO_WAIT);
        assert_eq!(events.len(), 4);
        assert_eq!(
            by_pid.iter().map(|w| w.pid).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        let p = WaitProfile {
            since: Utc::now(),
            taken_at: Utc::now(),
            period_ms: Some(10),
            events,
            by_pid,
        };
        assert_eq!(p.of_pid(2).len(), 1);
        assert_eq!(p.of_pid(2)[0].count, 5);
        assert!(p.of_pid(9).is_empty());
        // a reset profile counts from zero again, never negative
        let (e, _) = b.deltas(vec![(k(1, "Timeout", "PgSleep"), 4)]);
        assert_eq!(e[0].count, 4);
    }

    #[test]
    fn idle_waits_are_named() {
        let e = |t: &str, ev: &str| EventCount {
            event_type: Some(t.into()),
            event: Some(ev.into()),
            count: 1,
            pids: 1,
        };
        assert!(e("Client", "ClientRead").is_idle());
        assert!(e("Activity", "WalWriterMain").is_idle());
        assert!(!e("Client", "ClientWrite").is_idle());
        assert!(!e("Lock", "relation").is_idle());
    }

    #[test]
    fn baseline_is_bounded() {
        let many: Vec<(WaitKey, i64)> = (0..(MAX_ROWS as i32 + 10))
            .map(|i| (k(i, "IO", "DataFileRead"), 1))
            .collect();
        assert_eq!(Baseline::new(&many).first.len(), MAX_ROWS);
    }
}

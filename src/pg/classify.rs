//! Row classification: which sessions are slow / critical / long idle-in-transaction / in a long
//! transaction (an active session whose transaction is old while its statement is young), and which
//! timestamp a displayed duration counts from. Pure functions over [`Session`]s from a snapshot;
//! used by the UI (row styles), the slow tracker (log + Slack), `K` target selection and batch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::session::{Session, SessionState};

/// What a displayed duration counts from (`T` cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DurationBasis {
    /// since `query_start` (the running or last statement)
    #[default]
    Query,
    /// since `xact_start`
    Transaction,
    /// since `state_change`
    State,
}

impl DurationBasis {
    pub fn next(self) -> Self {
        match self {
            DurationBasis::Query => DurationBasis::Transaction,
            DurationBasis::Transaction => DurationBasis::State,
            DurationBasis::State => DurationBasis::Query,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DurationBasis::Query => "query",
            DurationBasis::Transaction => "transaction",
            DurationBasis::State => "state",
        }
    }
}

/// Thresholds, changeable at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// an active statement running at least this long is slow (bold yellow)
    pub slow: Duration,
    /// ... and at least this long is critical
    pub critical: Duration,
    /// idle in transaction at least this long (counted from `state_change`)
    pub idle_in_transaction: Duration,
    /// an active session whose transaction (`xact_start`) is at least this old while its
    /// statement is under the slow threshold
    pub long_transaction: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            slow: Duration::from_secs(5),
            critical: Duration::from_secs(60),
            idle_in_transaction: Duration::from_secs(30),
            long_transaction: Duration::from_secs(300),
        }
    }
}

/// Style class of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowClass {
    Normal,
    IdleInTransactionLong,
    /// active, statement under the slow threshold, transaction over `long_transaction`
    LongTransaction,
    Slow,
    Critical,
}

fn since(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> Option<Duration> {
    t.map(|t| (now - t).to_std().unwrap_or(Duration::ZERO))
}

impl Session {
    /// Duration on the given basis, relative to the server's clock `now`.
    pub fn duration(&self, basis: DurationBasis, now: DateTime<Utc>) -> Option<Duration> {
        match basis {
            DurationBasis::Query => since(now, self.query_start),
            DurationBasis::Transaction => since(now, self.xact_start),
            DurationBasis::State => since(now, self.state_change),
        }
    }

    /// How long the current statement has been running (active sessions only).
    pub fn active_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        if self.state == SessionState::Active {
            since(now, self.query_start)
        } else {
            None
        }
    }
}

/// Classifies a row. Slow/critical look only at *active* statements (an idle session whose last
/// query started long ago is not slow); idle-in-transaction counts from `state_change`; an
/// active session whose statement is not slow but whose transaction began before that statement
/// and is over `long_transaction` is a long transaction.
pub fn classify(s: &Session, now: DateTime<Utc>, t: &Thresholds) -> RowClass {
    if let Some(d) = s.active_for(now) {
        if d >= t.critical {
            return RowClass::Critical;
        }
        if d >= t.slow {
            return RowClass::Slow;
        }
        // the transaction began before this statement (not a single-statement transaction)
        let earlier = matches!((s.xact_start, s.query_start), (Some(x), Some(q)) if x < q);
        if earlier && since(now, s.xact_start).is_some_and(|x| x >= t.long_transaction) {
            return RowClass::LongTransaction;
        }
        return RowClass::Normal;
    }
    if matches!(
        s.state,
        SessionState::IdleInTransaction | SessionState::IdleInTransactionAborted
    ) && since(now, s.state_change).is_some_and(|d| d >= t.idle_in_transaction)
    {
        return RowClass::IdleInTransactionLong;
    }
    RowClass::Normal
}

/// True when the session's active statement is at or over the slow threshold.
pub fn is_slow(s: &Session, now: DateTime<Utc>, t: &Thresholds) -> bool {
    matches!(classify(s, now, t), RowClass::Slow | RowClass::Critical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_idle_and_idle_in_tx() {
        let now = Utc::now();
        let t = Thresholds {
            slow: Duration::from_secs(5),
            critical: Duration::from_secs(60),
            idle_in_transaction: Duration::from_secs(10),
            long_transaction: Duration::from_secs(30),
        };
        let ago = |s: i64| Some(now - chrono::Duration::seconds(s));
        let mut s = Session::for_test(1, SessionState::Active, "select 1");
        s.query_start = ago(3);
        assert_eq!(classify(&s, now, &t), RowClass::Normal);
        s.query_start = ago(5);
        assert_eq!(classify(&s, now, &t), RowClass::Slow);
        s.query_start = ago(61);
        assert_eq!(classify(&s, now, &t), RowClass::Critical);
        s.state = SessionState::Idle;
        assert_eq!(
            classify(&s, now, &t),
            RowClass::Normal,
            "idle is never slow"
        );
        s.state = SessionState::IdleInTransaction;
        s.state_change = ago(9);
        assert_eq!(classify(&s, now, &t), RowClass::Normal);
        s.state_change = ago(11);
        assert_eq!(classify(&s, now, &t), RowClass::IdleInTransactionLong);
        s.xact_start = ago(100);
        assert_eq!(
            s.duration(DurationBasis::Transaction, now),
            Some(Duration::from_secs(100))
        );
        assert_eq!(
            s.duration(DurationBasis::State, now),
            Some(Duration::from_secs(11))
        );
        assert_eq!(DurationBasis::State.next(), DurationBasis::Query);
        // clock skew: a timestamp in the future counts as zero
        s.state_change = Some(now + chrono::Duration::seconds(3));
        assert_eq!(s.duration(DurationBasis::State, now), Some(Duration::ZERO));
    }

    #[test]
    fn long_transaction_only_while_the_statement_is_young() {
        let now = Utc::now();
        let t = Thresholds {
            slow: Duration::from_secs(5),
            critical: Duration::from_secs(60),
            idle_in_transaction: Duration::from_secs(10),
            long_transaction: Duration::from_secs(30),
        };
        let ago = |s: i64| Some(now - chrono::Duration::seconds(s));
        let mut s = Session::for_test(1, SessionState::Active, "select 1");
        s.query_start = ago(1);
        s.xact_start = ago(29);
        assert_eq!(classify(&s, now, &t), RowClass::Normal);
        s.xact_start = ago(31);
        assert_eq!(classify(&s, now, &t), RowClass::LongTransaction);
        s.query_start = ago(6);
        assert_eq!(
            classify(&s, now, &t),
            RowClass::Slow,
            "a slow statement is slow"
        );
        let mut single = s.clone();
        single.query_start = ago(31);
        single.xact_start = single.query_start;
        let lax = Thresholds {
            slow: Duration::from_secs(60),
            ..t
        };
        assert_eq!(
            classify(&single, now, &lax),
            RowClass::Normal,
            "a single-statement transaction is its statement"
        );
        s.query_start = ago(1);
        s.state = SessionState::IdleInTransaction;
        s.state_change = ago(1);
        assert_eq!(
            classify(&s, now, &t),
            RowClass::Normal,
            "idle is not active"
        );
        s.state = SessionState::Active;
        s.xact_start = None;
        assert_eq!(classify(&s, now, &t), RowClass::Normal, "no transaction");
    }
}

//! The pgtop `/` filter language: `db:orders user:app state:active app:psql min:2s` plus free
//! text, every word matching case-insensitively as a substring ([`Filter::parse`],
//! [`Filter::matches`]); [`FILTER_SYNTAX`] is its help for `?`. Editing it is
//! [`super::filter_editor`].

use std::time::Duration;

use crate::pg::activity::Session;

/// What [`Filter::parse`] accepts, for `?` (keep the two together).
pub const FILTER_SYNTAX: &[(&str, &str)] = &[
    (
        "WORD",
        "a word anywhere in the row (query, user, db, app, client…)",
    ),
    ("db:NAME", "database contains NAME (also database:, d:)"),
    ("user:NAME", "user contains NAME (also u:)"),
    (
        "app:NAME",
        "application_name contains NAME (also application:, a:)",
    ),
    ("state:S", "state contains S, e.g. state:idle (also s:)"),
    (
        "min:DUR",
        "running at least DUR (min:0 for any; :min DUR sets it apart)",
    ),
    ("A B", "several words: all must match (case-insensitive)"),
];

/// A parsed `/` filter. Every key matches case-insensitively as a substring; several words
/// must all match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub text: String,
    db: Vec<String>,
    user: Vec<String>,
    app: Vec<String>,
    state: Vec<String>,
    free: Vec<String>,
    pub min: Option<Duration>,
}

impl Filter {
    /// Parses `db:orders user:app state:idle app:psql min:2s select`. A `key:` word with an
    /// unknown key or a bad value is an error (the whole filter is refused, never half
    /// applied); casts (`x::int`), URLs (`http://…`) and words not starting with letters
    /// then `:` are free text.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut f = Filter {
            text: text.trim().to_string(),
            ..Filter::default()
        };
        for w in text.split_whitespace() {
            let lw = w.to_lowercase();
            let (key, val) = match lw.split_once(':') {
                Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic()) => {
                    (k.to_string(), v.to_string())
                }
                _ => (String::new(), lw.clone()),
            };
            let (slot, v) = match key.as_str() {
                "db" | "database" | "d" => (&mut f.db, val),
                "user" | "u" => (&mut f.user, val),
                "app" | "application" | "a" => (&mut f.app, val),
                "state" | "s" => (&mut f.state, val),
                "min" => {
                    let d = val.parse::<crate::config::Dur>().map_err(|e| {
                        format!("filter min: {e} (keys: db: user: app: state: min:)")
                    })?;
                    f.min = Some(d.get()).filter(|d| !d.is_zero());
                    continue;
                }
                "" => (&mut f.free, lw),
                // `x::int` casts and `http://` URLs are text, not keys
                _ if val.starts_with(':') || val.starts_with('/') => (&mut f.free, lw),
                k => {
                    return Err(format!(
                        "filter: unknown key `{k}:` (keys: db: user: app: state: min:)"
                    ))
                }
            };
            if !v.is_empty() {
                slot.push(v);
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn matches(&self, s: &Session, dur: Option<Duration>) -> bool {
        // nothing to lower-case when the key is not in the filter (the usual case: every
        // listed row passes here at each refresh)
        let has = |hay: &str, needles: &[String]| {
            needles.is_empty() || {
                let h = hay.to_lowercase();
                needles.iter().all(|n| h.contains(n.as_str()))
            }
        };
        if let Some(min) = self.min {
            if dur.is_none_or(|d| d < min) {
                return false;
            }
        }
        has(s.datname.as_deref().unwrap_or(""), &self.db)
            && has(s.usename.as_deref().unwrap_or(""), &self.user)
            && has(&s.application_name, &self.app)
            && has(s.state.as_str(), &self.state)
            && self.free.iter().all(|n| {
                [
                    s.query.as_str(),
                    s.datname.as_deref().unwrap_or(""),
                    s.usename.as_deref().unwrap_or(""),
                    &s.application_name,
                    s.state.as_str(),
                ]
                .iter()
                .any(|h| h.to_lowercase().contains(n.as_str()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::activity::SessionState;
    use crate::pg::classify::DurationBasis;
    use chrono::{DateTime, Utc};

    fn s(pid: i32, db: &str, user: &str, q: &str, secs: i64, now: DateTime<Utc>) -> Session {
        let mut s = Session::for_test(pid, SessionState::Active, q);
        s.datname = Some(db.into());
        s.usename = Some(user.into());
        s.query_start = Some(now - chrono::Duration::seconds(secs));
        s
    }

    #[test]
    fn filter_language() {
        let now = Utc::now();
        let a = s(
            1,
            "orders",
            "app",
            "select * from t where x::int = 1",
            10,
            now,
        );
        let b = s(2, "billing", "app", "update t", 1, now);
        let f = Filter::parse("db:ord user:APP").unwrap();
        assert!(f.matches(&a, a.duration(DurationBasis::Query, now)));
        assert!(!f.matches(&b, None));
        let f = Filter::parse("x::int").unwrap();
        assert!(f.matches(&a, None), "a cast: free text");
        assert!(Filter::parse("see http://x/y").is_ok(), "a URL: free text");
        let e = Filter::parse("db:orders usr:app").unwrap_err();
        assert!(e.contains("unknown key `usr:`"), "{e}");
        assert!(
            Filter::parse("min:").is_err(),
            "a half-typed min: is no filter"
        );
        let f = Filter::parse("min:5s").unwrap();
        assert!(f.matches(&a, a.duration(DurationBasis::Query, now)));
        assert!(!f.matches(&b, b.duration(DurationBasis::Query, now)));
        assert!(Filter::parse("min:soon").is_err());
        assert!(Filter::parse("state:active update")
            .unwrap()
            .matches(&b, None));
    }
}

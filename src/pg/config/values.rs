//! How durations and secrets are written in a `[pgtop]` table: a duration is `"5s"`,
//! `"500ms"`, `"1m30s"` or a number of seconds (at most one year); a secret is read as text and
//! written back only as a mask (`stacktop config show`). The `serde` `deserialize_with` /
//! `serialize_with` helpers of [`super::PgConfig`] and [`super::SlackConfig`].

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::pg::conninfo::Secret;

/// Parses `"500ms"`, `"5s"`, `"2m"`, `"1h"`, `"1m30s"` or a bare number of seconds, up to
/// one year (the shell's [`Dur`](crate::base::Dur) rules).
pub fn parse_duration(s: &str) -> Option<Duration> {
    s.parse::<crate::base::Dur>().ok().map(|d| d.get())
}

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(f64),
        S(String),
    }
    let v = V::deserialize(d)?;
    let out = match &v {
        V::N(n) => crate::base::Dur::try_from_secs_f64(*n)
            .ok()
            .map(|d| d.get()),
        V::S(s) => parse_duration(s),
    };
    out.ok_or_else(|| {
        serde::de::Error::custom(
            "expected a duration like \"5s\", \"500ms\", \"2m\" or seconds, at most one year",
        )
    })
}

pub(super) fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

pub(super) fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

pub(super) fn ser_opt_duration<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_none(),
    }
}

pub(super) fn de_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

/// Secrets are never serialized in clear (`stacktop config show` prints the mask).
pub(super) fn ser_secret<S: serde::Serializer>(
    v: &Option<Secret>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("********"),
        None => s.serialize_none(),
    }
}

//! A duration as written in config files and on the command line: `"250ms"`, `"5s"`,
//! `"1m30s"` (humantime syntax) or a bare number of seconds (`5`, `0.5`).

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A `std::time::Duration` with a human-friendly TOML/CLI form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }
    pub const fn millis(ms: u64) -> Self {
        Dur(Duration::from_millis(ms))
    }
    pub fn get(self) -> Duration {
        self.0
    }
    /// Seconds as a float (TOML numbers), bounded like the text form.
    pub fn try_from_secs_f64(secs: f64) -> Result<Self, String> {
        from_secs_f64(secs)
    }
}

impl FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if let Ok(secs) = t.parse::<f64>() {
            return from_secs_f64(secs);
        }
        match humantime::parse_duration(t) {
            // Bounded like the numeric form: refresh intervals, thresholds and timeouts are
            // doubled, added to instants and converted to milliseconds downstream.
            Ok(d) if d <= Duration::from_secs(MAX_SECS) => Ok(Dur(d)),
            Ok(_) => Err(format!(
                "expected a duration between 0 and one year, got \"{s}\""
            )),
            Err(_) => Err(format!(
                "expected a duration like \"5s\", \"250ms\" or \"1m30s\", got \"{s}\""
            )),
        }
    }
}

/// The longest duration accepted anywhere: one year.
const MAX_SECS: u64 = 31_536_000;

fn from_secs_f64(secs: f64) -> Result<Dur, String> {
    if secs.is_finite() && (0.0..=MAX_SECS as f64).contains(&secs) {
        Ok(Dur(Duration::from_secs_f64(secs)))
    } else {
        Err(format!(
            "expected a duration between 0 and one year, got {secs}"
        ))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like \"5s\", \"250ms\" or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                from_secs_f64(v as f64).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                from_secs_f64(v as f64).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                from_secs_f64(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_and_numeric_forms() {
        assert_eq!("5s".parse::<Dur>().unwrap(), Dur::secs(5));
        assert_eq!("250ms".parse::<Dur>().unwrap(), Dur::millis(250));
        assert_eq!("1m30s".parse::<Dur>().unwrap(), Dur::secs(90));
        assert_eq!("0.5".parse::<Dur>().unwrap(), Dur::millis(500));
        assert!("abc".parse::<Dur>().is_err());
        assert!("-3".parse::<Dur>().is_err());
    }

    #[test]
    fn human_form_is_bounded_like_the_numeric_one() {
        assert_eq!("365d".parse::<Dur>().unwrap(), Dur::secs(MAX_SECS));
        for s in ["366d", "500000000000y", "18446744073709551615s"] {
            let e = s.parse::<Dur>().unwrap_err();
            assert!(e.contains("between 0 and one year"), "{s}: {e}");
        }
    }

    #[test]
    fn displays_round_trip() {
        let d = Dur::secs(90);
        assert_eq!(d.to_string(), "1m 30s");
        assert_eq!(d.to_string().parse::<Dur>().unwrap(), d);
    }
}

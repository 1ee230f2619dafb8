//! GTID arithmetic done on the client, for cross-server checks in `audit` (P7 "can each
//! replica still resume from the primary's oldest binlog", P9 errant transactions):
//! MySQL GTID sets (`uuid[:tag]:1-5:7,uuid2:1-3`) with subtraction, and MariaDB GTID
//! positions (`domain-server-seq,...`).

use std::collections::BTreeMap;

/// A MySQL GTID set: source id (uuid, or uuid:tag) → sorted, merged closed intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet(BTreeMap<String, Vec<(u64, u64)>>);

/// A string that is not a GTID set / position.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a GTID set: {0:?}")]
pub struct GtidParseError(pub String);

impl GtidSet {
    pub fn parse(s: &str) -> Result<GtidSet, GtidParseError> {
        let mut map: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
        let bad = || GtidParseError(s.chars().take(80).collect());
        for part in s.split(',').map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let mut pieces = part.split(':');
            let uuid = pieces.next().ok_or_else(bad)?.trim().to_ascii_lowercase();
            if uuid.len() < 32 {
                return Err(bad());
            }
            let mut tag = String::new();
            for iv in pieces {
                let iv = iv.trim();
                if iv.is_empty() {
                    return Err(bad());
                }
                if !iv.as_bytes()[0].is_ascii_digit() {
                    // MySQL 8.3+ tagged GTIDs: uuid:tag:1-5
                    tag = iv.to_ascii_lowercase();
                    continue;
                }
                let (a, b) = match iv.split_once('-') {
                    Some((a, b)) => (a.parse::<u64>(), b.parse::<u64>()),
                    None => (iv.parse::<u64>(), iv.parse::<u64>()),
                };
                let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
                if a == 0 || b < a {
                    return Err(bad());
                }
                let key = if tag.is_empty() {
                    uuid.clone()
                } else {
                    format!("{uuid}:{tag}")
                };
                map.entry(key).or_default().push((a, b));
            }
        }
        for ivs in map.values_mut() {
            normalize(ivs);
        }
        map.retain(|_, v| !v.is_empty());
        Ok(GtidSet(map))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `self − other`, like `GTID_SUBTRACT(self, other)`.
    pub fn subtract(&self, other: &GtidSet) -> GtidSet {
        let mut out = BTreeMap::new();
        for (id, ivs) in &self.0 {
            let mut rest = ivs.clone();
            if let Some(sub) = other.0.get(id) {
                for &(sa, sb) in sub {
                    let mut next = Vec::with_capacity(rest.len() + 1);
                    for (a, b) in rest {
                        if sb < a || sa > b {
                            next.push((a, b));
                            continue;
                        }
                        if a < sa {
                            next.push((a, sa - 1));
                        }
                        if b > sb {
                            next.push((sb + 1, b));
                        }
                    }
                    rest = next;
                }
            }
            if !rest.is_empty() {
                out.insert(id.clone(), rest);
            }
        }
        GtidSet(out)
    }

    /// Number of transactions in the set.
    pub fn count(&self) -> u64 {
        self.0
            .values()
            .flatten()
            .map(|(a, b)| b - a + 1)
            .fold(0u64, u64::saturating_add)
    }
}

fn normalize(ivs: &mut Vec<(u64, u64)>) {
    ivs.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ivs.len());
    for &(a, b) in ivs.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *ivs = merged;
}

impl std::fmt::Display for GtidSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (id, ivs) in &self.0 {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(id)?;
            for (a, b) in ivs {
                if a == b {
                    write!(f, ":{a}")?;
                } else {
                    write!(f, ":{a}-{b}")?;
                }
            }
        }
        Ok(())
    }
}

/// A MariaDB GTID position: domain → (server_id, seq_no) of the last GTID in that domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MariaPos(pub BTreeMap<u32, (u32, u64)>);

impl MariaPos {
    pub fn parse(s: &str) -> Result<MariaPos, GtidParseError> {
        let bad = || GtidParseError(s.chars().take(80).collect());
        let mut map = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut it = part.split('-');
            let d = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            let srv = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            let seq = it.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            if it.next().is_some() {
                return Err(bad());
            }
            map.insert(d, (srv, seq));
        }
        Ok(MariaPos(map))
    }

    /// Domains where `self` (a replica position) is behind `needed` (the GTID state at the
    /// start of the primary's oldest binlog): the events right after `self` were purged.
    /// Returns (domain, replica seq or None, needed seq).
    pub fn missing_against(&self, needed: &MariaPos) -> Vec<(u32, Option<u64>, u64)> {
        needed
            .0
            .iter()
            .filter_map(|(d, (_, need))| {
                let have = self.0.get(d).map(|(_, s)| *s);
                match have {
                    Some(h) if h >= *need => None,
                    _ if *need == 0 => None,
                    _ => Some((*d, have, *need)),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const U2: &str = "8a94f357-aab4-11df-86ab-c80aa9429562";

    #[test]
    fn subtract_like_mysql() {
        let purged = GtidSet::parse(&format!("{U1}:1-100,{U2}:1-5")).unwrap();
        let executed = GtidSet::parse(&format!("{U1}:1-90:95-120,\n{U2}:1-5")).unwrap();
        let missing = purged.subtract(&executed);
        assert_eq!(missing.to_string(), format!("{U1}:91-94"));
        assert_eq!(missing.count(), 4);
        let all = GtidSet::parse(&format!("{U1}:1-200")).unwrap();
        assert!(purged
            .subtract(&all)
            .subtract(&GtidSet::parse(&format!("{U2}:1-5")).unwrap())
            .is_empty());
        assert!(GtidSet::parse("").unwrap().is_empty());
        assert!(GtidSet::parse("nonsense:1-2").is_err());
        assert!(GtidSet::parse(&format!("{U1}:5-2")).is_err());
    }

    #[test]
    fn tagged_gtids_parse() {
        let s = GtidSet::parse(&format!("{U1}:1-3:tag_a:1-2")).unwrap();
        assert_eq!(s.count(), 5);
    }

    #[test]
    fn mariadb_positions() {
        let replica = MariaPos::parse("0-1-409,1-3-3").unwrap();
        let needed = MariaPos::parse("0-1-410").unwrap();
        assert_eq!(replica.missing_against(&needed), vec![(0, Some(409), 410)]);
        let ok = MariaPos::parse("0-1-410,1-3-3").unwrap();
        assert!(ok.missing_against(&needed).is_empty());
        assert!(MariaPos::parse("").unwrap().0.is_empty());
        assert!(MariaPos::parse("0-1").is_err());
    }
}

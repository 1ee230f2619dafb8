//! The fingerprint cache: fingerprints by text (a hash of the text with a per-process random
//! seed, plus its length) in a bounded map with generation-based eviction, fingerprint texts
//! interned (one `Arc` per distinct shape), and the [`GroupKey`] the grouped view uses.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::normalize;

/// A fingerprint: its text and a 64-bit id (a seeded hash of the text; equal texts, equal ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub id: u64,
    pub text: Arc<str>,
}

/// What the grouped view groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    /// `pg_stat_activity.query_id` (PostgreSQL 14+ with `compute_query_id` in effect)
    QueryId(i64),
    /// the fingerprint's id
    Text(u64),
}

impl GroupKey {
    /// The server's query id when it computed one (non-zero), else the fingerprint.
    pub fn of(query_id: Option<i64>, fp: &Fingerprint) -> GroupKey {
        match query_id {
            Some(q) if q != 0 => GroupKey::QueryId(q),
            _ => GroupKey::Text(fp.id),
        }
    }

    /// A stable string form (a table row key).
    pub fn as_key(&self) -> String {
        match self {
            GroupKey::QueryId(q) => format!("q{q}"),
            GroupKey::Text(id) => format!("t{id:016x}"),
        }
    }
}

/// The map key is already a hash: no second hashing.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

#[derive(Clone, Debug)]
struct Entry {
    len: usize,
    fp: Fingerprint,
    generation: u64,
}

/// Counters, for tests and the bench.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evicted: u64,
    /// texts not cached because the cache was full of texts seen this refresh
    pub uncached: u64,
}

/// Fingerprints cached by text. Bounded: at most `capacity` texts and `max_bytes` bytes of
/// fingerprint text; when full, texts not seen in this or the previous generation go
/// ([`Fingerprinter::next_generation`] once per refresh), and if that frees nothing the new
/// text is fingerprinted without being cached.
pub struct Fingerprinter {
    seed: foldhash::fast::RandomState,
    by_text: IdMap<Entry>,
    /// one `Arc` per distinct fingerprint text, by fingerprint id
    interned: IdMap<Arc<str>>,
    bytes: usize,
    generation: u64,
    capacity: usize,
    max_bytes: usize,
    pub stats: CacheStats,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter::new(16_384, 16 << 20)
    }
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fingerprinter")
            .field("texts", &self.by_text.len())
            .field("fingerprints", &self.interned.len())
            .field("bytes", &self.bytes)
            .field("generation", &self.generation)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Fingerprinter {
    /// At most `capacity` texts and `max_bytes` of fingerprint text.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Fingerprinter {
            seed: foldhash::fast::RandomState::default(),
            by_text: IdMap::default(),
            interned: IdMap::default(),
            bytes: 0,
            generation: 0,
            capacity: capacity.max(1),
            max_bytes,
            stats: CacheStats::default(),
        }
    }

    /// Texts cached.
    pub fn len(&self) -> usize {
        self.by_text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_text.is_empty()
    }

    /// Call once per refresh: entries not used in this generation or the one before become
    /// evictable.
    pub fn next_generation(&mut self) {
        self.generation += 1;
    }

    fn hash(&self, text: &str) -> u64 {
        let mut h = self.seed.build_hasher();
        h.write(text.as_bytes());
        h.finish()
    }

    /// The fingerprint of `text`, from the cache when it was seen before.
    pub fn get(&mut self, text: &str) -> Fingerprint {
        let h = self.hash(text);
        let generation = self.generation;
        if let Some(e) = self.by_text.get_mut(&h).filter(|e| e.len == text.len()) {
            e.generation = generation;
            self.stats.hits += 1;
            return e.fp.clone();
        }
        self.stats.misses += 1;
        let norm = normalize(text);
        let id = self.hash(&norm);
        let shared = match self.interned.get(&id) {
            Some(t) if **t == *norm => Some(t.clone()),
            _ => None,
        };
        let new_bytes = if shared.is_some() { 0 } else { norm.len() };
        let full = |s: &Self| s.by_text.len() >= s.capacity || s.bytes + new_bytes > s.max_bytes;
        if full(self) {
            self.evict();
        }
        if full(self) {
            self.stats.uncached += 1;
            return Fingerprint {
                id,
                text: shared.unwrap_or_else(|| norm.into()),
            };
        }
        let text_arc = match shared {
            Some(t) => t,
            None => {
                let t: Arc<str> = norm.into();
                self.bytes += t.len();
                // a (vanishingly unlikely) id clash replaces the older text
                if let Some(old) = self.interned.insert(id, t.clone()) {
                    self.bytes -= old.len();
                }
                t
            }
        };
        let fp = Fingerprint { id, text: text_arc };
        self.by_text.insert(
            h,
            Entry {
                len: text.len(),
                fp: fp.clone(),
                generation,
            },
        );
        fp
    }

    /// Drops texts not seen in this or the previous generation, and fingerprints no text uses.
    fn evict(&mut self) {
        let keep_from = self.generation.saturating_sub(1);
        let before = self.by_text.len();
        self.by_text.retain(|_, e| e.generation >= keep_from);
        self.stats.evicted += (before - self.by_text.len()) as u64;
        let mut bytes = self.bytes;
        // an Arc held only here (and by no cached text) is unused; one held by a caller is
        // dropped from the map too (the caller keeps its copy)
        let used: std::collections::HashSet<u64> = self.by_text.values().map(|e| e.fp.id).collect();
        self.interned.retain(|id, t| {
            let keep = used.contains(id);
            if !keep {
                bytes -= t.len();
            }
            keep
        });
        self.bytes = bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_hits_evicts_and_stays_bounded() {
        let mut f = Fingerprinter::new(4, 1 << 20);
        let a = f.get("select 1");
        let b = f.get("select 2");
        assert_eq!(a, b, "same shape, same fingerprint");
        assert!(Arc::ptr_eq(&a.text, &b.text), "interned");
        assert_eq!(f.stats.misses, 2);
        assert_eq!(f.get("select 1"), a);
        assert_eq!(f.stats.hits, 1);
        assert_ne!(f.get("select 1 from t").id, a.id);
        assert_eq!(f.len(), 3);
        // a full cache evicts what the last two generations did not use
        f.next_generation();
        f.next_generation();
        f.get("select 3");
        f.get("select 4");
        assert!(f.len() <= 4, "{f:?}");
        assert!(f.stats.evicted >= 1, "{f:?}");
        // more texts in one generation than the capacity: the rest is computed, not cached
        f.next_generation();
        for i in 0..10 {
            f.get(&format!("select {i} from t{i}"));
        }
        assert_eq!(f.len(), 4);
        assert_eq!(f.stats.uncached, 8);
        assert_eq!(f.get("select 99 from t9").text.as_ref(), "select ? from t9");
        // the byte budget bounds the interned texts too
        let mut g = Fingerprinter::new(1000, 64);
        for i in 0..100 {
            g.get(&format!("select {i} from table_number_{i}"));
        }
        assert!(g.bytes <= 64, "{g:?}");
    }

    #[test]
    fn group_key_prefers_a_server_query_id() {
        let fp = Fingerprinter::default().get("select 1");
        assert_eq!(GroupKey::of(Some(42), &fp), GroupKey::QueryId(42));
        assert_eq!(GroupKey::of(Some(0), &fp), GroupKey::Text(fp.id));
        assert_eq!(GroupKey::of(None, &fp), GroupKey::Text(fp.id));
        assert_ne!(GroupKey::QueryId(1).as_key(), GroupKey::Text(1).as_key());
    }
}

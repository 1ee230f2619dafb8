//! Fixed-size sketches used by `stats`: a log-scale latency histogram and a space-saving
//! top-k counter. Neither grows with the number of observations.

use std::collections::HashMap;

pub const LAT_BUCKETS: usize = 160;
const LAT_BASE_MS: f64 = 0.01;
const LAT_STEPS_PER_DOUBLING: f64 = 6.0;

#[inline]
fn lat_bucket(ms: f64) -> usize {
    if ms.is_nan() || ms <= LAT_BASE_MS {
        return 0;
    }
    let i = ((ms / LAT_BASE_MS).log2() * LAT_STEPS_PER_DOUBLING).ceil();
    (i as usize).min(LAT_BUCKETS - 1)
}

/// Upper bound (ms) of latency bucket `i`.
fn lat_upper(i: usize) -> f64 {
    LAT_BASE_MS * (i as f64 / LAT_STEPS_PER_DOUBLING).exp2()
}

/// Fixed log-scale latency histogram.
#[derive(Clone)]
pub struct LatHist {
    b: [u32; LAT_BUCKETS],
    n: u64,
}

impl Default for LatHist {
    fn default() -> Self {
        LatHist {
            b: [0; LAT_BUCKETS],
            n: 0,
        }
    }
}

impl std::fmt::Debug for LatHist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LatHist(n={})", self.n)
    }
}

impl LatHist {
    #[inline]
    pub fn add(&mut self, ms: f64) {
        let i = lat_bucket(ms);
        self.b[i] = self.b[i].saturating_add(1);
        self.n += 1;
    }
    pub fn merge(&mut self, o: &LatHist) {
        for (a, b) in self.b.iter_mut().zip(o.b.iter()) {
            *a = a.saturating_add(*b);
        }
        self.n += o.n;
    }
    pub fn count(&self) -> u64 {
        self.n
    }
    /// Quantile `q` in 0..=1, as the upper bound of its bucket (≤ 12 % high).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.n as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.b.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return Some(lat_upper(i));
            }
        }
        Some(lat_upper(LAT_BUCKETS - 1))
    }
}

/// Space-saving top-k: k counters, each with an overestimation bound (`error`), an indexed
/// min-heap to find the smallest in O(log k), and a per-entry payload.
#[derive(Debug)]
pub struct TopK<P> {
    k: usize,
    map: HashMap<Box<[u8]>, usize>,
    slots: Vec<Slot<P>>,
    heap: Vec<usize>,
    pos: Vec<usize>,
}

#[derive(Debug)]
struct Slot<P> {
    key: Box<[u8]>,
    count: u64,
    error: u64,
    data: P,
}

impl<P: Default> TopK<P> {
    pub fn new(k: usize) -> Self {
        TopK {
            k: k.max(1),
            map: HashMap::with_capacity(k),
            slots: Vec::with_capacity(k),
            heap: Vec::with_capacity(k),
            pos: Vec::with_capacity(k),
        }
    }

    /// Count one occurrence of `key`; returns its payload.
    pub fn add(&mut self, key: &[u8]) -> &mut P {
        if let Some(&s) = self.map.get(key) {
            self.slots[s].count += 1;
            self.sift_down(self.pos[s]);
            return &mut self.slots[s].data;
        }
        let s = if self.slots.len() < self.k {
            let s = self.slots.len();
            self.slots.push(Slot {
                key: key.into(),
                count: 1,
                error: 0,
                data: P::default(),
            });
            self.heap.push(s);
            self.pos.push(self.heap.len() - 1);
            self.sift_up(self.heap.len() - 1);
            s
        } else {
            let s = self.heap[0];
            let min = self.slots[s].count;
            let old = std::mem::replace(
                &mut self.slots[s],
                Slot {
                    key: key.into(),
                    count: min + 1,
                    error: min,
                    data: P::default(),
                },
            );
            self.map.remove(&old.key);
            self.sift_down(0);
            s
        };
        self.map.insert(key.into(), s);
        &mut self.slots[s].data
    }

    /// Entries as (key, count, error, payload), highest count first.
    pub fn top(&self) -> Vec<(&[u8], u64, u64, &P)> {
        let mut v: Vec<_> = self
            .slots
            .iter()
            .map(|s| (&s.key[..], s.count, s.error, &s.data))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a]] = a;
        self.pos[self.heap[b]] = b;
    }
    fn cnt(&self, h: usize) -> u64 {
        self.slots[self.heap[h]].count
    }
    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / 2;
            if self.cnt(i) >= self.cnt(p) {
                break;
            }
            self.swap(i, p);
            i = p;
        }
    }
    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            let r = l + 1;
            let mut m = i;
            if l < n && self.cnt(l) < self.cnt(m) {
                m = l;
            }
            if r < n && self.cnt(r) < self.cnt(m) {
                m = r;
            }
            if m == i {
                break;
            }
            self.swap(i, m);
            i = m;
        }
    }
}

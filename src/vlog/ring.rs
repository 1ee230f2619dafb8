//! The bounded history behind the screen: the newest N [`Request`]s (default 100k), oldest
//! dropped first with a visible counter. To stay within a fixed memory budget only the newest
//! `detail` entries keep their headers and timestamps; older ones keep what a screen line needs.
//! Fed by the view from `VlogEvent::Requests`; read for scrolling, search, detail and export.

use std::collections::VecDeque;

use super::request::Request;

pub const DEFAULT_CAPACITY: usize = 100_000;
/// Default number of newest entries that keep headers and timestamps.
pub const DEFAULT_DETAIL: usize = 25_000;

#[derive(Debug)]
pub struct Ring {
    buf: VecDeque<Request>,
    capacity: usize,
    detail: usize,
    dropped: u64,
    pushed: u64,
}

impl Default for Ring {
    fn default() -> Self {
        Ring::new(DEFAULT_CAPACITY)
    }
}

impl Ring {
    /// A ring of `capacity` requests (at least 1); the newest `min(capacity, 25k)` keep detail.
    pub fn new(capacity: usize) -> Self {
        Ring::with_detail(capacity, DEFAULT_DETAIL)
    }

    /// A ring whose newest `detail` entries keep headers and timestamps.
    pub fn with_detail(capacity: usize, detail: usize) -> Self {
        let capacity = capacity.max(1);
        Ring {
            buf: VecDeque::new(),
            capacity,
            detail: detail.min(capacity),
            dropped: 0,
            pushed: 0,
        }
    }

    pub fn push(&mut self, r: Request) {
        if self.buf.len() >= self.capacity {
            self.buf.pop_front();
            self.dropped += 1;
        }
        self.buf.push_back(r);
        self.pushed += 1;
        // The entry that just left the detail window loses its headers.
        let n = self.buf.len();
        if n > self.detail {
            if let Some(old) = self.buf.get_mut(n - 1 - self.detail) {
                if old.has_detail() {
                    old.strip_detail();
                }
            }
        }
    }

    pub fn extend<I: IntoIterator<Item = Request>>(&mut self, it: I) {
        for r in it {
            self.push(r);
        }
    }

    /// Change the capacity, dropping the oldest entries if needed.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        self.detail = self.detail.min(self.capacity);
        while self.buf.len() > self.capacity {
            self.buf.pop_front();
            self.dropped += 1;
        }
        self.buf.shrink_to(self.capacity);
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Requests pushed out because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
    /// Requests ever pushed.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }
    /// Index 0 is the oldest.
    pub fn get(&self, i: usize) -> Option<&Request> {
        self.buf.get(i)
    }
    /// Oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Request> + ExactSizeIterator {
        self.buf.iter()
    }
    pub fn newest(&self) -> Option<&Request> {
        self.buf.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vlog::builder::RequestBuilder;

    fn req(i: u64) -> Request {
        let mut b = RequestBuilder {
            vxid: i,
            ..Default::default()
        };
        b.url.extend_from_slice(format!("/{i}").as_bytes());
        RequestBuilder::push_header(&mut b.req_headers, b"Host: x");
        b.build()
    }

    #[test]
    fn drops_oldest_and_strips_old_detail() {
        let mut r = Ring::with_detail(5, 2);
        for i in 0..8 {
            r.push(req(i));
        }
        assert_eq!(r.len(), 5);
        assert_eq!(r.dropped(), 3);
        assert_eq!(r.pushed(), 8);
        let v: Vec<u64> = r.iter().map(|q| q.vxid).collect();
        assert_eq!(v, vec![3, 4, 5, 6, 7]);
        let detail: Vec<bool> = r.iter().map(|q| q.has_detail()).collect();
        assert_eq!(detail, vec![false, false, false, true, true]);
        assert_eq!(r.get(0).map(|q| q.url().into_owned()), Some("/3".into()));
        r.set_capacity(2);
        assert_eq!(r.len(), 2);
        assert_eq!(r.dropped(), 6);
        assert_eq!(r.newest().map(|q| q.vxid), Some(7));
    }
}

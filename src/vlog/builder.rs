//! The reusable per-request accumulator the parsers (`parse_v4`, `parse_v2`) and the folder
//! (`fold`) write into without allocating per line; `build` packs it into the compact
//! [`Request`] of `request`.

use super::request::{Handling, Request, Timestamp, TsLabel, NFIELDS};

/// Reusable accumulator for one request (or one restart leg): the parsers write into it
/// without allocating per line, then [`RequestBuilder::build`] makes the compact [`Request`].
#[derive(Debug, Default)]
pub struct RequestBuilder {
    pub vxid: u64,
    /// `Timestamp Start:` absolute (or 2.1 t_req); 0 when unseen.
    pub start: f64,
    pub handling: Handling,
    pub status: Option<u16>,
    pub total_ms: Option<f64>,
    pub ttfb_ms: Option<f32>,
    pub bytes: u64,
    pub backend_status: Option<u16>,
    pub backend_ms: Option<f32>,
    pub restarts: u8,
    pub esi: u16,
    pub hit_record: bool,
    pub hit_grace: bool,
    pub hitmiss: bool,
    pub hitpass: bool,
    pub ip: Vec<u8>,
    pub method: Vec<u8>,
    pub url: Vec<u8>,
    pub proto: Vec<u8>,
    pub reason: Vec<u8>,
    pub backend: Vec<u8>,
    pub fetch_error: Vec<u8>,
    pub note: Vec<u8>,
    pub req_headers: Vec<u8>,
    pub resp_headers: Vec<u8>,
    /// (label, backend side, absolute seconds)
    pub timestamps: Vec<(TsLabel, bool, f64)>,
}

impl RequestBuilder {
    pub fn clear(&mut self) {
        self.vxid = 0;
        self.start = 0.0;
        self.handling = Handling::None;
        self.status = None;
        self.total_ms = None;
        self.ttfb_ms = None;
        self.bytes = 0;
        self.backend_status = None;
        self.backend_ms = None;
        self.restarts = 0;
        self.esi = 0;
        self.hit_record = false;
        self.hit_grace = false;
        self.hitmiss = false;
        self.hitpass = false;
        self.ip.clear();
        self.method.clear();
        self.url.clear();
        self.proto.clear();
        self.reason.clear();
        self.backend.clear();
        self.fetch_error.clear();
        self.note.clear();
        self.req_headers.clear();
        self.resp_headers.clear();
        self.timestamps.clear();
    }

    /// Append a header line to a header block.
    pub fn push_header(block: &mut Vec<u8>, line: &[u8]) {
        block.extend_from_slice(line);
        block.push(b'\n');
    }

    /// Remove the first header line equal to `line` (`ReqUnset` / `RespUnset`).
    pub fn unset_header(block: &mut Vec<u8>, line: &[u8]) {
        let mut pos = 0;
        while pos < block.len() {
            let end = memchr::memchr(b'\n', &block[pos..])
                .map(|e| pos + e)
                .unwrap_or(block.len());
            if &block[pos..end] == line {
                let stop = (end + 1).min(block.len());
                block.drain(pos..stop);
                return;
            }
            pos = end + 1;
        }
    }

    /// Final handling after the hit-for-miss / hit-for-pass / grace refinements.
    pub fn final_handling(&self) -> Handling {
        match self.handling {
            Handling::Hit if self.hit_grace => Handling::Grace,
            Handling::Miss if self.hitmiss => Handling::HitForMiss,
            Handling::Pass if self.hitpass => Handling::HitForPass,
            h => h,
        }
    }

    pub fn build(&mut self) -> Request {
        let fields: [&[u8]; NFIELDS] = [
            &self.ip,
            &self.method,
            &self.url,
            &self.proto,
            &self.reason,
            &self.backend,
            &self.fetch_error,
            &self.note,
            trim_nl(&self.req_headers),
            trim_nl(&self.resp_headers),
        ];
        let total: usize = fields.iter().map(|f| f.len()).sum();
        let mut text = Vec::with_capacity(total);
        let mut ends = [0u32; NFIELDS];
        for (i, f) in fields.iter().enumerate() {
            text.extend_from_slice(f);
            ends[i] = text.len().min(u32::MAX as usize) as u32;
        }
        let start = self.start;
        // Client side first, then backend side, each in time order (join order varies).
        self.timestamps
            .sort_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)));
        let timestamps: Box<[Timestamp]> = self
            .timestamps
            .iter()
            .map(|&(label, backend, abs)| Timestamp {
                label,
                backend,
                offset: if start > 0.0 {
                    (abs - start) as f32
                } else {
                    0.0
                },
            })
            .collect();
        Request {
            vxid: self.vxid,
            start,
            handling: self.final_handling(),
            status: self.status,
            total_ms: self.total_ms.unwrap_or(0.0),
            ttfb_ms: self.ttfb_ms,
            bytes: self.bytes,
            backend_status: self.backend_status,
            backend_ms: self.backend_ms,
            restarts: self.restarts,
            esi: self.esi,
            hit_record: self.hit_record,
            text: text.into_boxed_slice(),
            ends,
            timestamps,
        }
    }
}

fn trim_nl(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\n").unwrap_or(b)
}

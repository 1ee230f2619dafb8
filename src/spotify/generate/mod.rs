//! Deterministic synthetic Spotify top-200 charts (a Rust port, in spirit, of
//! `gen_spotify_csv.py`) for tests and benches, so neither needs Python. A catalogue of artists
//! and tracks (accents, CJK, emoji, commas and quotes in names, empty names, the same title by
//! different artists) is charted per region and day with churn; streams fall strictly with
//! position. The same simulated charts can be written in all four input formats, and
//! [`Dataset::expected_rows`] gives the normalised rows an importer must produce.
//!
//! Data flow: [`GenConfig`] → [`Dataset::generate`] → `write_*` files → importer under test;
//! `expected_rows` → independent expectations.

use chrono::NaiveDate;

use super::formats::Format;
use super::schema::OwnedRow;

mod write;

/// Region codes in the order of the Kaggle 2017 set.
pub const REGIONS: [&str; 20] = [
    "global", "us", "gb", "mx", "br", "de", "es", "ar", "nl", "se", "fr", "it", "au", "ca", "cl",
    "co", "pe", "ph", "id", "no",
];

#[derive(Debug, Clone)]
pub struct GenConfig {
    pub seed: u64,
    /// 1..=20 regions from [`REGIONS`].
    pub regions: usize,
    pub days: usize,
    pub positions: u16,
    pub artists: usize,
    pub tracks: usize,
    /// Share of catalogue tracks with empty title and artist.
    pub missing_rate: f64,
    pub start: NaiveDate,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 20170101,
            regions: 20,
            days: 250,
            positions: 200,
            artists: 6000,
            tracks: 60000,
            missing_rate: 0.0005,
            start: NaiveDate::from_ymd_opt(2017, 6, 1).unwrap_or_default(),
        }
    }
}

impl GenConfig {
    /// A small data set for tests: `regions × days × positions` rows.
    pub fn small(regions: usize, days: usize, positions: u16) -> GenConfig {
        GenConfig {
            regions,
            days,
            positions,
            artists: 300,
            tracks: 2000,
            missing_rate: 0.01,
            ..Default::default()
        }
    }
}

/// splitmix64 PRNG (deterministic on every platform).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Standard normal (Box–Muller).
    pub fn gauss(&mut self) -> f64 {
        let u1 = self.f64().max(1e-12);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

const SYL: [&str; 24] = [
    "ka", "lo", "mi", "ra", "ne", "to", "vi", "sa", "del", "mar", "jo", "an", "be", "cy", "do",
    "el", "fa", "lu", "mo", "ny", "ri", "su", "yo", "za",
];
const ACCENTED: [&str; 8] = [
    "José",
    "Beyoncé",
    "Ñengo",
    "Zoë",
    "Björk",
    "Rosalía",
    "Sørensen",
    "Łukasz",
];
const CJK: [&str; 6] = [
    "방탄소년단",
    "米津玄師",
    "あいみょん",
    "周杰倫",
    "트와이스",
    "五月天",
];
const WORDS: [&str; 24] = [
    "Love", "Night", "Fire", "Dance", "Heart", "Summer", "Rain", "Gold", "Dream", "Party", "Baby",
    "Crazy", "Lights", "Money", "Home", "Cielo", "Corazón", "Fuego", "Amor", "Feel", "Stay", "Sky",
    "Blue", "Havana",
];
const EMOJI: [&str; 4] = ["🔥", "💙", "✨", "🚀"];
const LABELS: [&str; 4] = [
    "Columbia",
    "Interscope Records",
    "Universal Music",
    "Independent",
];

/// A catalogue track.
#[derive(Debug, Clone)]
pub struct Track {
    pub id: String,
    /// Empty for the "missing name" tracks.
    pub title: String,
    /// Primary artist name ('' when missing).
    pub artist: String,
    /// All artists joined with ", " ('' when missing).
    pub all_artists: String,
    pub label: &'static str,
    artist_idx: usize,
    pop: f64,
    release: i64,
}

/// One simulated chart entry.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub region: usize,
    pub day: usize,
    pub pos: u16,
    pub track: usize,
    pub streams: u32,
    /// Yesterday's position or -1.
    pub prev_pos: i32,
    pub peak: u16,
    pub days_on: u32,
}

/// Generated charts.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub cfg: GenConfig,
    pub tracks: Vec<Track>,
    /// Ordered region → day → position.
    pub entries: Vec<Entry>,
}

fn track_id(seed: u64, idx: usize) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut r = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(idx as u64));
    let mut n = (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64());
    (0..22)
        .map(|_| {
            let c = B62[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}

fn artist_name(rng: &mut Rng, i: usize) -> String {
    let syl = |rng: &mut Rng, n: usize| -> String {
        let s: String = (0..n).map(|_| *rng.pick(&SYL)).collect();
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
            None => s,
        }
    };
    let r = rng.f64();
    if r < 0.04 {
        format!("{} {i}", rng.pick(&CJK))
    } else if r < 0.12 {
        format!("{} {}", rng.pick(&ACCENTED), syl(rng, 2))
    } else if r < 0.14 {
        format!("Tyler, The {}", rng.pick(&WORDS))
    } else if r < 0.35 {
        let n = 1 + rng.below(3);
        syl(rng, n).to_uppercase()
    } else {
        let (a, b) = (1 + rng.below(3), 1 + rng.below(3));
        format!("{} {}", syl(rng, a), syl(rng, b))
    }
}

fn title(rng: &mut Rng, feats: &[&str]) -> String {
    let n = 1 + rng.below(2);
    let mut t = (0..n)
        .map(|_| *rng.pick(&WORDS))
        .collect::<Vec<_>>()
        .join(" ");
    let r = rng.f64();
    if r < 0.04 {
        t = format!("{t}, {}", rng.pick(&WORDS));
    } else if r < 0.07 {
        t = format!("Say \"{t}\"");
    } else if r < 0.10 {
        t = format!("Don\u{2019}t {t}");
    } else if r < 0.13 {
        t = format!("{} {t}", rng.pick(&CJK));
    } else if r < 0.17 {
        t = format!("{t} {}", rng.pick(&EMOJI));
    }
    if !feats.is_empty() {
        t = format!("{t} (feat. {})", feats.join(", "));
    }
    t
}

impl Dataset {
    /// Simulate the charts.
    pub fn generate(cfg: &GenConfig) -> Dataset {
        let mut rng = Rng::new(cfg.seed);
        let n_regions = cfg.regions.clamp(1, REGIONS.len());
        let artists: Vec<String> = (0..cfg.artists.max(1))
            .map(|i| artist_name(&mut rng, i))
            .collect();
        let a_home: Vec<usize> = (0..artists.len()).map(|_| rng.below(n_regions)).collect();
        let a_intl: Vec<bool> = (0..artists.len()).map(|_| rng.f64() < 0.25).collect();
        let a_star: Vec<f64> = (0..artists.len()).map(|_| rng.gauss().exp()).collect();
        let mut tracks = Vec::with_capacity(cfg.tracks);
        for t in 0..cfg.tracks.max(cfg.positions as usize * 2) {
            // prolific artists first: skew towards low indexes
            let a = ((rng.f64().powi(2)) * artists.len() as f64) as usize % artists.len();
            let feats: Vec<&str> = if rng.f64() < 0.25 {
                let f = rng.below(artists.len());
                if f != a {
                    vec![artists[f].as_str()]
                } else {
                    vec![]
                }
            } else {
                vec![]
            };
            let missing = rng.f64() < cfg.missing_rate;
            let ttl = title(&mut rng, &feats);
            let all = std::iter::once(artists[a].as_str())
                .chain(feats.iter().copied())
                .collect::<Vec<_>>()
                .join(", ");
            tracks.push(Track {
                id: track_id(cfg.seed, t),
                title: if missing { String::new() } else { ttl },
                artist: if missing {
                    String::new()
                } else {
                    artists[a].clone()
                },
                all_artists: if missing { String::new() } else { all },
                label: LABELS[rng.below(LABELS.len())],
                artist_idx: a,
                pop: a_star[a] * (rng.gauss() * 0.8).exp(),
                release: rng.below(cfg.days + 400) as i64 - 400,
            });
        }
        let mut entries = Vec::with_capacity(n_regions * cfg.days * cfg.positions as usize);
        for region in 0..n_regions {
            simulate_region(cfg, region, &tracks, &a_home, &a_intl, &mut entries);
        }
        Dataset {
            cfg: cfg.clone(),
            tracks,
            entries,
        }
    }

    pub fn region(&self, e: &Entry) -> &'static str {
        REGIONS[e.region]
    }

    pub fn date(&self, e: &Entry) -> String {
        (self.cfg.start + chrono::Duration::days(e.day as i64))
            .format("%Y-%m-%d")
            .to_string()
    }

    /// The rows an importer must produce from the file(s) written in `format`.
    pub fn expected_rows(&self, format: Format) -> Vec<OwnedRow> {
        self.entries
            .iter()
            .map(|e| {
                let t = &self.tracks[e.track];
                let (artist, artists) = match format {
                    Format::Kaggle | Format::Spotifycharts => (t.artist.clone(), t.artist.clone()),
                    Format::Charts | Format::Chartsapi => (
                        t.all_artists
                            .split(", ")
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                        t.all_artists.clone(),
                    ),
                };
                OwnedRow {
                    country: self.region(e).to_string(),
                    list_date: self.date(e),
                    pos: e.pos,
                    track_id: t.id.clone(),
                    track: t.title.clone(),
                    artist,
                    artists,
                    streams: Some(e.streams),
                    source: format.source() as u8,
                }
            })
            .collect()
    }
}

fn simulate_region(
    cfg: &GenConfig,
    region: usize,
    tracks: &[Track],
    a_home: &[usize],
    a_intl: &[bool],
    out: &mut Vec<Entry>,
) {
    let mut rng = Rng::new(cfg.seed.wrapping_mul(7919).wrapping_add(region as u64));
    let scale = [4_000_000.0, 1_300_000.0, 420_000.0, 380_000.0, 350_000.0]
        .get(region)
        .copied()
        .unwrap_or(100_000.0);
    let mut cum = Vec::with_capacity(tracks.len());
    let mut acc = 0.0;
    for (i, t) in tracks.iter().enumerate() {
        let a = t.artist_idx;
        let base = if region == 0 {
            if a_intl[a] {
                1.0
            } else {
                0.35
            }
        } else if a_home[a] == region {
            6.0
        } else if a_intl[a] {
            1.0
        } else {
            0.08
        };
        let u = Rng::new(cfg.seed ^ ((i as u64) << 8) ^ region as u64).f64();
        acc += t.pop * base * ((u - 0.5) * 1.6).exp();
        cum.push(acc);
    }
    let positions = cfg.positions as usize;
    let mut on_chart: Vec<(usize, f64)> = Vec::new();
    let mut member = vec![false; tracks.len()];
    let mut prev_pos = vec![-1i32; tracks.len()];
    let mut peak = vec![u16::MAX; tracks.len()];
    let mut days_on = vec![0u32; tracks.len()];
    for day in 0..cfg.days {
        for (t, score) in on_chart.iter_mut() {
            let age = (day as i64 - tracks[*t].release).max(0) as f64;
            let drift = -0.006 - 0.0002 * age.min(300.0);
            *score *= (drift + 0.06 * rng.gauss()).exp();
        }
        let churn = 4 + rng.below(12);
        let need = if day == 0 {
            positions + 16
        } else {
            (positions + churn).saturating_sub(on_chart.len()).max(4)
        };
        let mut added = 0;
        let mut tries = 0;
        while added < need && tries < need * 50 {
            tries += 1;
            let x = rng.f64() * acc;
            let t = cum.partition_point(|&c| c <= x).min(tracks.len() - 1);
            if member[t] || tracks[t].release > day as i64 {
                continue;
            }
            let age = (day as i64 - tracks[t].release) as f64;
            if rng.f64() > (-age / 120.0).exp() + 0.05 {
                continue;
            }
            member[t] = true;
            on_chart.push((t, tracks[t].pop * (0.4 + 0.5 * rng.gauss()).exp()));
            added += 1;
        }
        on_chart.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (t, _) in on_chart.iter().skip(positions) {
            member[*t] = false;
            prev_pos[*t] = -1;
        }
        on_chart.truncate(positions);
        let top = scale * (0.05 * rng.gauss()).exp();
        let mut last: Option<u32> = None;
        for (i, (t, _)) in on_chart.iter().enumerate() {
            let pos = (i + 1) as u16;
            let mut s = (top * f64::from(pos).powf(-0.62) * (1.0 + 0.01 * rng.f64())) as u32;
            if let Some(l) = last {
                if s >= l {
                    s = l.saturating_sub(1);
                }
            }
            s = s.max(1);
            last = Some(s);
            peak[*t] = peak[*t].min(pos);
            days_on[*t] += 1;
            out.push(Entry {
                region,
                day,
                pos,
                track: *t,
                streams: s,
                prev_pos: prev_pos[*t],
                peak: peak[*t],
                days_on: days_on[*t],
            });
            prev_pos[*t] = i32::from(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped() {
        let cfg = GenConfig::small(3, 5, 20);
        let a = Dataset::generate(&cfg);
        let b = Dataset::generate(&cfg);
        assert_eq!(a.entries.len(), 3 * 5 * 20);
        assert_eq!(
            a.expected_rows(Format::Kaggle),
            b.expected_rows(Format::Kaggle)
        );
        for w in a.entries.windows(2) {
            if w[0].region == w[1].region && w[0].day == w[1].day {
                assert_eq!(w[1].pos, w[0].pos + 1);
                assert!(w[1].streams < w[0].streams);
            }
        }
        assert!(a.tracks.iter().all(|t| t.id.len() == 22));
    }
}

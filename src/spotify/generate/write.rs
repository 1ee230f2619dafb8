//! The generator's writers: the simulated charts as files in each of the four input formats
//! (Kaggle `data.csv`, Kaggle `charts.csv`, spotifycharts.com regional files with the note
//! line, charts.spotify.com exports with a BOM).
//!
//! Data flow: [`Dataset`] → `write_*` → files → importer under test.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Dataset, Entry, Rng};
use crate::spotify::formats::{COUNTRY_NAMES, NOTE_PREFIX};

impl Dataset {
    /// Write Kaggle `data.csv`.
    pub fn write_kaggle(&self, path: &Path) -> Result<()> {
        let f = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut w = csv::WriterBuilder::new().from_writer(f);
        w.write_record([
            "Position",
            "Track Name",
            "Artist",
            "Streams",
            "URL",
            "Date",
            "Region",
        ])?;
        for e in &self.entries {
            let t = &self.tracks[e.track];
            w.write_record([
                e.pos.to_string().as_str(),
                &t.title,
                &t.artist,
                &e.streams.to_string(),
                &format!("https://open.spotify.com/track/{}", t.id),
                &self.date(e),
                self.region(e),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// Write Kaggle `charts.csv` (country names, float streams, optional viral50 rows).
    pub fn write_charts(&self, path: &Path, with_viral: bool) -> Result<()> {
        let f = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut w = csv::WriterBuilder::new().from_writer(f);
        w.write_record([
            "title", "rank", "date", "artist", "url", "region", "chart", "trend", "streams",
        ])?;
        fn name(code: &'static str) -> &'static str {
            COUNTRY_NAMES
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, n)| *n)
                .unwrap_or(code)
        }
        let mut last_chart = None;
        let mut vrng = Rng::new(self.cfg.seed ^ 0x5151);
        for e in &self.entries {
            let t = &self.tracks[e.track];
            let trend = match e.prev_pos {
                -1 => "NEW_ENTRY",
                p if i32::from(e.pos) < p => "MOVE_UP",
                p if i32::from(e.pos) > p => "MOVE_DOWN",
                _ => "SAME_POSITION",
            };
            w.write_record([
                t.title.as_str(),
                &e.pos.to_string(),
                &self.date(e),
                &t.all_artists,
                &format!("https://open.spotify.com/track/{}", t.id),
                name(self.region(e)),
                "top200",
                trend,
                &format!("{}.0", e.streams),
            ])?;
            if with_viral && last_chart != Some((e.region, e.day)) {
                last_chart = Some((e.region, e.day));
                for p in 1..=3u16 {
                    let v = &self.tracks[vrng.below(self.tracks.len())];
                    w.write_record([
                        v.title.as_str(),
                        &p.to_string(),
                        &self.date(e),
                        &v.all_artists,
                        &format!("https://open.spotify.com/track/{}", v.id),
                        name(self.region(e)),
                        "viral50",
                        "MOVE_UP",
                        "",
                    ])?;
                }
            }
        }
        w.flush()?;
        Ok(())
    }

    /// Write one spotifycharts.com file per chart into `dir` (`regional-<cc>-daily-<date>.csv`).
    pub fn write_spotifycharts(&self, dir: &Path, note_line: bool) -> Result<Vec<PathBuf>> {
        self.write_per_chart(dir, |buf, ds, entries| {
            if note_line {
                buf.extend_from_slice(NOTE_PREFIX.as_bytes());
                buf.extend_from_slice(
                    b" that these figures are generated using a formula that protects against any artificial inflation of chart positions.\",\n",
                );
            }
            buf.extend_from_slice(b"Position,\"Track Name\",Artist,Streams,URL\n");
            let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
            for e in entries {
                let t = &ds.tracks[e.track];
                w.write_record([
                    e.pos.to_string().as_str(),
                    &t.title,
                    &t.artist,
                    &e.streams.to_string(),
                    &format!("https://open.spotify.com/track/{}", t.id),
                ])?;
            }
            buf.extend_from_slice(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?);
            Ok(())
        })
    }

    /// Write one charts.spotify.com export per chart into `dir` (quoted fields, optional BOM).
    pub fn write_chartsapi(&self, dir: &Path, bom: bool) -> Result<Vec<PathBuf>> {
        self.write_per_chart(dir, |buf, ds, entries| {
            if bom {
                buf.extend_from_slice("\u{feff}".as_bytes());
            }
            buf.extend_from_slice(
                b"rank,uri,artist_names,track_name,source,peak_rank,previous_rank,days_on_chart,streams\n",
            );
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            for e in entries {
                let t = &ds.tracks[e.track];
                let line = [
                    e.pos.to_string(),
                    q(&format!("spotify:track:{}", t.id)),
                    q(&t.all_artists),
                    q(&t.title),
                    q(t.label),
                    e.peak.to_string(),
                    e.prev_pos.to_string(),
                    e.days_on.to_string(),
                    q(&e.streams.to_string()),
                ]
                .join(",");
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
            }
            Ok(())
        })
    }

    fn write_per_chart(
        &self,
        dir: &Path,
        mut body: impl FnMut(&mut Vec<u8>, &Dataset, &[Entry]) -> Result<()>,
    ) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.entries.len() {
            let e0 = self.entries[i];
            let mut j = i;
            while j < self.entries.len()
                && self.entries[j].region == e0.region
                && self.entries[j].day == e0.day
            {
                j += 1;
            }
            let mut buf = Vec::new();
            body(&mut buf, self, &self.entries[i..j])?;
            let path = dir.join(format!(
                "regional-{}-daily-{}.csv",
                self.region(&e0),
                self.date(&e0)
            ));
            std::fs::File::create(&path)?.write_all(&buf)?;
            out.push(path);
            i = j;
        }
        Ok(out)
    }
}

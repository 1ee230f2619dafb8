//! Every ready-made question, on generated data imported into SQLite, against answers
//! computed independently in plain Rust from the generator's rows, for several parameter
//! sets (all charts, one country, date ranges, position ranges, limits, a given track).
//! The answers from the summary tables equal those from the chart table after a first
//! import, an overlapping second one and a store opened without summaries. Also the runner:
//! results, failures and cancel of a long SQLite query.

#[path = "spotify_common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::NaiveDate;
use common::*;
use stacktop::spotify::formats::Format;
use stacktop::spotify::generate::{Dataset, GenConfig};
use stacktop::spotify::runner::{self, Event, Request};
use stacktop::spotify::schema::OwnedRow;
use stacktop::spotify::{import_files, questions, Cell, ImportOptions, Params};

fn t(s: &str) -> Cell {
    Cell::Text(s.to_string())
}
fn i(n: u64) -> Cell {
    Cell::Int(n as i64)
}

fn keep(r: &OwnedRow, p: &Params, streams: bool, positions: bool) -> bool {
    let d = |x: Option<NaiveDate>| x.map(|d| d.format("%Y-%m-%d").to_string());
    (match &p.country {
        Some(c) => &r.country == c,
        None => !streams || r.country != "global",
    }) && d(p.from).is_none_or(|f| r.list_date >= f)
        && d(p.to).is_none_or(|to| r.list_date < to)
        && (!positions || p.pos_min.is_none_or(|m| r.pos >= m))
        && (!positions || p.pos_max.is_none_or(|m| r.pos <= m))
}

/// Top-N of (key → value) by value desc, key asc.
fn top<K: Ord + Clone>(m: &HashMap<K, u64>, n: u32) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n as usize);
    v
}

/// Independent answer for question `id`.
fn expected(id: &str, rows: &[OwnedRow], p: &Params) -> Vec<Vec<Cell>> {
    let names: HashMap<&str, (String, String)> = {
        let mut m: HashMap<&str, (String, String)> = HashMap::new();
        for r in rows {
            let e = m
                .entry(r.track_id.as_str())
                .or_insert_with(|| (r.track.clone(), r.artist.clone()));
            if r.track < e.0 {
                e.0 = r.track.clone();
            }
            if r.artist < e.1 {
                e.1 = r.artist.clone();
            }
        }
        m
    };
    let sel = |streams, positions| rows.iter().filter(move |r| keep(r, p, streams, positions));
    let per_track = |it: &mut dyn Iterator<Item = &OwnedRow>, by_streams: bool| {
        let mut m: HashMap<String, u64> = HashMap::new();
        for r in it {
            *m.entry(r.track_id.clone()).or_default() += if by_streams {
                u64::from(r.streams.unwrap_or(0))
            } else {
                1
            };
        }
        top(&m, p.limit)
            .into_iter()
            .map(|(id, v)| {
                let (tr, ar) = &names[id.as_str()];
                vec![t(&id), t(tr), t(ar), i(v)]
            })
            .collect()
    };
    match id {
        "rows" => {
            let v: Vec<&OwnedRow> = sel(false, true).collect();
            let min = v
                .iter()
                .map(|r| &r.list_date)
                .min()
                .map(|s| t(s))
                .unwrap_or(Cell::Null);
            let max = v
                .iter()
                .map(|r| &r.list_date)
                .max()
                .map(|s| t(s))
                .unwrap_or(Cell::Null);
            vec![vec![i(v.len() as u64), min, max]]
        }
        "artists" => {
            let s: BTreeSet<&str> = sel(false, true).map(|r| r.artist.as_str()).collect();
            vec![vec![i(s.len() as u64)]]
        }
        "tracks" => {
            let ids: BTreeSet<&str> = sel(false, true).map(|r| r.track_id.as_str()).collect();
            vec![vec![i(ids.len() as u64)]]
        }
        "artist-entries" | "artist-streams" => {
            let streams = id == "artist-streams";
            let mut m: HashMap<String, u64> = HashMap::new();
            for r in sel(streams, true) {
                *m.entry(r.artist.clone()).or_default() += if streams {
                    u64::from(r.streams.unwrap_or(0))
                } else {
                    1
                };
            }
            top(&m, p.limit)
                .into_iter()
                .map(|(a, v)| vec![t(&a), i(v)])
                .collect()
        }
        "track-streams" => per_track(&mut sel(true, true), true),
        "track-days" => per_track(&mut sel(false, true), false),
        "number-ones" => per_track(&mut sel(false, false).filter(|r| r.pos == 1), false),
        "streaks" => {
            // runs of the same track in each country's date-ordered #1 list
            let mut by_country: BTreeMap<&str, Vec<&OwnedRow>> = BTreeMap::new();
            for r in sel(false, false).filter(|r| r.pos == 1) {
                by_country.entry(r.country.as_str()).or_default().push(r);
            }
            let mut runs: Vec<(u64, String, String, String, String)> = Vec::new(); // len, first, country, id, last
            for (c, mut v) in by_country {
                v.sort_by(|a, b| a.list_date.cmp(&b.list_date));
                let mut k = 0;
                while k < v.len() {
                    let mut j = k;
                    while j + 1 < v.len() && v[j + 1].track_id == v[k].track_id {
                        j += 1;
                    }
                    runs.push((
                        (j - k + 1) as u64,
                        v[k].list_date.clone(),
                        c.to_string(),
                        v[k].track_id.clone(),
                        v[j].list_date.clone(),
                    ));
                    k = j + 1;
                }
            }
            runs.sort_by(|a, b| {
                b.0.cmp(&a.0)
                    .then(a.1.cmp(&b.1))
                    .then(a.2.cmp(&b.2))
                    .then(a.3.cmp(&b.3))
            });
            runs.truncate(p.limit as usize);
            runs.into_iter()
                .map(|(n, first, c, id, last)| {
                    vec![
                        t(&id),
                        t(&names[id.as_str()].0),
                        t(&c),
                        i(n),
                        t(&first),
                        t(&last),
                    ]
                })
                .collect()
        }
        "track-history" => {
            let track = p.track_id.clone().unwrap_or_else(|| {
                let mut m: HashMap<String, u64> = HashMap::new();
                for r in sel(false, false).filter(|r| r.pos == 1) {
                    *m.entry(r.track_id.clone()).or_default() += 1;
                }
                top(&m, 1).first().map(|x| x.0.clone()).unwrap_or_default()
            });
            let mut v: Vec<&OwnedRow> = sel(false, true).filter(|r| r.track_id == track).collect();
            v.sort_by(|a, b| (&a.list_date, &a.country).cmp(&(&b.list_date, &b.country)));
            v.iter()
                .map(|r| {
                    vec![
                        t(&r.list_date),
                        t(&r.country),
                        i(u64::from(r.pos)),
                        r.streams.map(|s| i(u64::from(s))).unwrap_or(Cell::Null),
                        t(&r.track_id),
                        t(&r.track),
                        t(&r.artist),
                    ]
                })
                .collect()
        }
        other => panic!("no expectation for question {other}"),
    }
}

#[tokio::test]
async fn every_question_matches_independent_answers() {
    let ds = Dataset::generate(&GenConfig::small(4, 40, 50));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.csv");
    ds.write_kaggle(&file).unwrap();
    let store = sqlite_store(dir.path());
    import_files(&store, &[file], &ImportOptions::default(), None)
        .await
        .unwrap();
    let rows = ds.expected_rows(Format::Kaggle);
    assert!(questions::list().len() >= 8);
    let mut nonempty = 0;
    for q in questions::list() {
        for p in param_sets(&rows) {
            let got = store.ask(q, &p).await.unwrap();
            let want = expected(q.id, &rows, &p);
            assert_eq!(
                got.rows,
                want,
                "question {} with {p:?}\n{}",
                q.id,
                q.sql("top200", store.dialect(), &p).unwrap()
            );
            if !want.is_empty() && want != vec![vec![i(0)]] {
                nonempty += 1;
            }
        }
    }
    assert!(nonempty > 40, "too many empty answers: {nonempty}");
    // same-title songs exist, so grouping by title would be wrong here
    let titles: BTreeSet<&str> = rows.iter().map(|r| r.track.as_str()).collect();
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.track_id.as_str()).collect();
    assert!(titles.len() < ids.len());
}

#[tokio::test]
async fn summary_tables_answer_like_the_chart_table_after_every_import() {
    let ds = Dataset::generate(&GenConfig::small(4, 40, 50));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.csv");
    ds.write_kaggle(&file).unwrap();
    let mut store = sqlite_store(dir.path());
    let s = import_files(&store, &[file], &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(s.phases().contains("summaries"), "{s}");
    let rows = ds.expected_rows(Format::Kaggle);
    let fast = summaries_match_chart_table(&store, &rows).await;
    assert!(fast >= 40, "too few answers from the summaries: {fast}");

    // An overlapping second import (other seed: other tracks at the same keys, new days):
    // the months it touched are recomputed, the others kept.
    let ds2 = Dataset::generate(&GenConfig {
        seed: 99,
        start: NaiveDate::from_ymd_opt(2017, 6, 25).unwrap(),
        ..GenConfig::small(2, 20, 50)
    });
    let file2 = dir.path().join("data2.csv");
    ds2.write_kaggle(&file2).unwrap();
    let s = import_files(&store, &[file2], &ImportOptions::default(), None)
        .await
        .unwrap();
    assert!(s.updated > 0 && s.inserted > 0, "{s}");
    assert!(summaries_match_chart_table(&store, &rows).await >= 40);

    // Without a country the track-level questions read the all-countries summary.
    for id in ["track-streams", "track-days"] {
        let sql = questions::find(id)
            .unwrap()
            .sql(store.table(), store.dialect(), &Params::default())
            .unwrap();
        assert!(sql.contains("FROM top200_sum_track_all"), "{sql}");
    }

    // A store loaded by an earlier version (no summary tables, or all but the all-countries
    // one) gets them when opened.
    let db = dir.path().join("charts.sqlite3");
    for drops in [
        &["top200_sum_track_all"][..],
        &[
            "top200_sum_track",
            "top200_sum_artist",
            "top200_sum_ones",
            "top200_sum_track_all",
        ],
    ] {
        drop(store);
        {
            let c = rusqlite::Connection::open(&db).unwrap();
            for t in drops {
                c.execute_batch(&format!("DROP TABLE {t}")).unwrap();
            }
        }
        store = sqlite_store(dir.path());
        assert!(summaries_match_chart_table(&store, &rows).await >= 40);
    }
}

/// Without a country `track-streams` leaves 'global' out: a track charted only there is not
/// in the answer from the all-countries summary either; `track-days` counts it.
#[tokio::test]
async fn all_countries_summary_leaves_global_only_tracks_out_of_streams() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.csv");
    let url = |id: &str| format!("https://open.spotify.com/track/{id}");
    let (a, b) = ("AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB");
    std::fs::write(
        &file,
        format!(
            "Position,Track Name,Artist,Streams,URL,Date,Region\n\
             1,Only Global,X,9000,{},2017-01-01,global\n\
             1,Local,Y,5,{},2017-01-01,us\n\
             1,Local,Y,7,{},2017-02-03,global\n",
            url(a),
            url(b),
            url(b)
        ),
    )
    .unwrap();
    let store = sqlite_store(dir.path());
    import_files(&store, &[file], &ImportOptions::default(), None)
        .await
        .unwrap();
    let p = Params::default();
    let mut answers = Vec::new();
    for id in ["track-streams", "track-days"] {
        let q = questions::find(id).unwrap();
        let sql = q.sql(store.table(), store.dialect(), &p).unwrap();
        assert!(sql.contains("_sum_track_all"), "{sql}");
        let fast = store.run_query(&sql).await.unwrap();
        let raw = store
            .run_query(&q.sql_raw(store.table(), store.dialect(), &p).unwrap())
            .await
            .unwrap();
        assert_eq!(fast.rows, raw.rows, "{id}");
        answers.push(fast.rows);
    }
    let ids = |rows: &[Vec<Cell>]| -> Vec<Cell> { rows.iter().map(|r| r[0].clone()).collect() };
    assert_eq!(ids(&answers[0]), vec![Cell::Text(b.into())]);
    assert_eq!(answers[0][0][3], Cell::Int(5));
    assert_eq!(
        ids(&answers[1]),
        vec![Cell::Text(b.into()), Cell::Text(a.into())]
    );
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn runner_runs_fails_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    import_files(
        &store,
        &[fixture("kaggle_data.csv")],
        &ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    let mut h = runner::spawn(store.clone());
    h.requests
        .send(Request::Ask {
            id: 1,
            question: "artist-entries".into(),
            params: Params::default(),
        })
        .unwrap();
    assert!(
        matches!(next(&mut h.events).await, Event::Started { id: 1, ref sql } if sql.contains("GROUP BY artist"))
    );
    match next(&mut h.events).await {
        Event::Finished { id: 1, result } => assert_eq!(result.rows.len(), 7),
        other => panic!("{other:?}"),
    }
    h.requests
        .send(Request::Sql {
            id: 2,
            sql: "DROP TABLE top200".into(),
        })
        .unwrap();
    assert!(matches!(
        next(&mut h.events).await,
        Event::Started { id: 2, .. }
    ));
    assert!(
        matches!(next(&mut h.events).await, Event::Failed { id: 2, ref error } if error.contains("refused"))
    );
    // a query that would run for minutes, cancelled once it is running
    let long = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000000) SELECT COUNT(*) FROM c";
    h.requests
        .send(Request::Sql {
            id: 3,
            sql: long.into(),
        })
        .unwrap();
    assert!(matches!(
        next(&mut h.events).await,
        Event::Started { id: 3, .. }
    ));
    h.requests.send(Request::Cancel { id: 3 }).unwrap();
    assert!(matches!(
        next(&mut h.events).await,
        Event::Cancelled { id: 3 }
    ));
    // the store still works afterwards
    h.requests
        .send(Request::Sql {
            id: 4,
            sql: "SELECT 1".into(),
        })
        .unwrap();
    assert!(matches!(
        next(&mut h.events).await,
        Event::Started { id: 4, .. }
    ));
    assert!(matches!(
        next(&mut h.events).await,
        Event::Finished { id: 4, .. }
    ));
    h.requests.send(Request::Shutdown).unwrap();
    tokio::time::timeout(Duration::from_secs(10), h.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn sqlite_query_is_interrupted_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let stacktop::spotify::Store::Sqlite(sq) = store.clone() else {
        unreachable!()
    };
    let token = stacktop::spotify::CancelToken::default();
    let long = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000000) SELECT COUNT(*) FROM c";
    let (s2, t2) = (store.clone(), token.clone());
    let task = tokio::spawn(async move { s2.run_query_with(long, &t2).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sq.is_busy() {
        assert!(std::time::Instant::now() < deadline, "query never started");
        tokio::task::yield_now().await;
    }
    store.cancel(&token).await.unwrap();
    let res = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    let err = res.unwrap_err();
    assert!(err.is::<stacktop::spotify::QueryCancelled>(), "{err:#}");
}

//! Memory (and end-to-end throughput) check for the vlog pipeline: generates N client requests
//! of realistic Varnish 7 `-g request` text (unique vxids, 50k distinct URLs, 2k clients, 20 %
//! misses with a backend fetch, headers like the lab capture) or Varnish 2.1 text, and feeds
//! them through Parser → Ring (100k) → Stats, printing peak RSS (VmHWM) at checkpoints.
//! The text is generated in small chunks, so only the pipeline's own memory is measured.
//!
//! Run: `cargo run --release --example vlog_memory -- [requests] [v7|v21] [detail]`
//! (`detail`: how many newest ring entries keep headers/timestamps, default 25k).
//! (or `benches/vlog_memory.sh`).

use std::io::Write;
use std::time::Instant;

use stacktop::vlog::{Parser, Ring, Stats};

/// Process CPU seconds (user + system) from /proc/self/stat.
fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn rss_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Tiny deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
}

fn gen_v7(buf: &mut Vec<u8>, i: u64, rng: &mut Rng) {
    let vx = 1000 + i * 3; // unique, never reused
    let t = 1795460028.0 + i as f64 / 10_000.0;
    let url = rng.next() % 50_000;
    let ip = rng.next() % 2000;
    let miss = rng.next().is_multiple_of(5);
    let slow = rng.next().is_multiple_of(1000);
    let resp = if slow {
        1.25
    } else if miss {
        0.000655
    } else {
        0.000045
    };
    let _ = write!(
        buf,
        "*   << Request  >> {vx:<10}\n\
-   Begin          req {} rxreq\n\
-   Timestamp      Start: {t:.6} 0.000000 0.000000\n\
-   Timestamp      Req: {t:.6} 0.000000 0.000000\n\
-   VCL_use        boot\n\
-   ReqStart       10.{}.{}.{} 57034 a0\n\
-   ReqMethod      GET\n\
-   ReqURL         /static/asset-{url}.js?v=3\n\
-   ReqProtocol    HTTP/1.1\n\
-   ReqHeader      Host: www.example.com\n\
-   ReqHeader      User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\n\
-   ReqHeader      Accept: */*\n\
-   ReqHeader      X-Request-Id: req-{i}\n\
-   ReqUnset       X-Forwarded-For: 10.0.0.1\n\
-   ReqHeader      X-Forwarded-For: 10.0.0.1\n\
-   VCL_call       RECV\n\
-   VCL_return     hash\n\
-   VCL_call       HASH\n\
-   VCL_return     lookup\n",
        vx - 1,
        ip / 250,
        (ip / 50) % 5,
        ip % 50,
    );
    if miss {
        let _ = writeln!(
            buf,
            "-   VCL_call       MISS\n-   VCL_return     fetch\n-   Link           bereq {} fetch\n-   Timestamp      Fetch: {:.6} {resp:.6} {resp:.6}",
            vx + 1,
            t + resp
        );
    } else {
        let _ = writeln!(
            buf,
            "-   Hit            {} 3590.1 10.0 0.0\n-   VCL_call       HIT\n-   VCL_return     deliver",
            vx + 2
        );
    }
    let _ = write!(
        buf,
        "-   RespProtocol   HTTP/1.1\n\
-   RespStatus     200\n\
-   RespReason     OK\n\
-   RespHeader     Server: vlab-origin/1.0\n\
-   RespHeader     Date: Mon, 23 Nov 2026 18:53:48 GMT\n\
-   RespHeader     Content-Type: application/javascript\n\
-   RespHeader     Content-Length: 473\n\
-   RespHeader     Cache-Control: public, max-age=3600\n\
-   RespHeader     ETag: \"4f31ba45799ee589\"\n\
-   RespHeader     Last-Modified: Sun, 22 Nov 2026 18:53:46 GMT\n\
-   RespHeader     X-Varnish: {vx}\n\
-   RespHeader     Age: 0\n\
-   RespHeader     Via: 1.1 varnish (Varnish/7.1)\n\
-   RespHeader     Accept-Ranges: bytes\n\
-   VCL_call       DELIVER\n\
-   RespHeader     X-Cache: {}\n\
-   VCL_return     deliver\n\
-   Timestamp      Process: {:.6} {resp:.6} 0.000006\n\
-   Filters        \n\
-   RespHeader     Connection: keep-alive\n\
-   Timestamp      Resp: {:.6} {resp:.6} 0.000015\n\
-   ReqAcct        120 0 120 364 473 837\n\
-   End            \n",
        if miss { "MISS" } else { "HIT" },
        t + resp,
        t + resp,
    );
    if miss {
        let _ = write!(
            buf,
            "**  << BeReq    >> {:<10}\n\
--  Begin          bereq {vx} fetch\n\
--  Timestamp      Start: {t:.6} 0.000000 0.000000\n\
--  BereqMethod    GET\n\
--  BereqURL       /static/asset-{url}.js?v=3\n\
--  BereqProtocol  HTTP/1.1\n\
--  BereqHeader    Host: www.example.com\n\
--  VCL_call       BACKEND_FETCH\n\
--  VCL_return     fetch\n\
--  BackendOpen    21 origin 127.0.0.1 8080 127.0.0.1 44452 reuse\n\
--  Timestamp      Beresp: {:.6} 0.000431 0.000402\n\
--  BerespProtocol HTTP/1.1\n\
--  BerespStatus   200\n\
--  BerespReason   OK\n\
--  BerespHeader   Content-Length: 473\n\
--  VCL_call       BACKEND_RESPONSE\n\
--  VCL_return     deliver\n\
--  BackendClose   21 origin recycle\n\
--  Length         473\n\
--  End            \n",
            vx + 1,
            t + 0.000431
        );
    }
    buf.push(b'\n');
}

fn gen_v21(buf: &mut Vec<u8>, i: u64, rng: &mut Rng) {
    let xid = 900_000_000 + i;
    let fd = 10 + (i % 200);
    let url = rng.next() % 50_000;
    let ip = rng.next() % 2000;
    let hit = !rng.next().is_multiple_of(5);
    let t = 1365603497.0 + i as f64 / 10_000.0;
    let _ = write!(
        buf,
        "{fd:5} ReqStart     c 10.{}.{}.{} 43779 {xid}\n\
{fd:5} RxRequest    c GET\n\
{fd:5} RxURL        c /assets/tn/{url}/6f1faceb8d3cedc693f443f79beb381ea189076d\n\
{fd:5} RxProtocol   c HTTP/1.1\n\
{fd:5} RxHeader     c Host: www.example.com\n\
{fd:5} RxHeader     c User-Agent: Mozilla/5.0 (Windows NT 6.1; rv:2.0) Gecko/20100101 Firefox/4.0\n\
{fd:5} RxHeader     c Accept: */*\n\
{fd:5} RxHeader     c Connection: keep-alive\n\
{fd:5} VCL_call     c recv\n\
{fd:5} VCL_return   c lookup\n\
{fd:5} VCL_call     c hash\n\
{fd:5} VCL_return   c hash\n",
        ip / 250,
        (ip / 50) % 5,
        ip % 50
    );
    if hit {
        let _ = write!(
            buf,
            "{fd:5} Hit          c {}\n{fd:5} VCL_call     c hit\n{fd:5} VCL_return   c deliver\n",
            xid - 1
        );
    } else {
        let _ = write!(
            buf,
            "{fd:5} VCL_call     c miss\n{fd:5} VCL_return   c fetch\n{fd:5} Backend      c 201 default default\n  201 TxRequest    b GET\n  201 RxProtocol   b HTTP/1.1\n  201 RxStatus     b 200\n  201 RxResponse   b OK\n  201 Length       b 35257\n  201 BackendReuse b default\n{fd:5} VCL_call     c fetch\n{fd:5} VCL_return   c deliver\n"
        );
    }
    let _ = write!(
        buf,
        "{fd:5} VCL_call     c deliver\n\
{fd:5} VCL_return   c deliver\n\
{fd:5} TxProtocol   c HTTP/1.1\n\
{fd:5} TxStatus     c 200\n\
{fd:5} TxResponse   c OK\n\
{fd:5} TxHeader     c Server: Apache/2.2.16 (Debian)\n\
{fd:5} TxHeader     c Content-Type: text/html\n\
{fd:5} TxHeader     c Content-Length: 35257\n\
{fd:5} TxHeader     c Date: Wed, 10 Apr 2013 14:18:17 GMT\n\
{fd:5} TxHeader     c X-Varnish: {xid}\n\
{fd:5} TxHeader     c Age: 0\n\
{fd:5} TxHeader     c Via: 1.1 varnish\n\
{fd:5} TxHeader     c Connection: keep-alive\n\
{fd:5} Length       c 35257\n\
{fd:5} ReqEnd       c {xid} {t:.9} {:.9} 0.000021935 0.012310028 0.000043154\n",
        t + 0.0124
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let v21 = args.get(2).is_some_and(|s| s == "v21");
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut parser = Parser::new();
    let detail: usize = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(stacktop::vlog::ring::DEFAULT_DETAIL);
    let mut ring = Ring::with_detail(stacktop::vlog::ring::DEFAULT_CAPACITY, detail);
    let mut last_start = 0.0f64;
    let mut stats = Stats::new();
    let mut out = Vec::with_capacity(4096);
    let mut buf = Vec::with_capacity(1 << 20);
    let (mut lines, mut bytes, mut got) = (0u64, 0u64, 0u64);
    let mut parse_secs = 0.0;
    let start = Instant::now();
    println!(
        "format={} requests={n} ring={} (detail {detail})",
        if v21 { "2.1" } else { "7.x -g request" },
        ring.capacity()
    );
    println!(
        "{:>10} {:>12} {:>10} {:>10}",
        "requests", "ring.len", "RSS MiB", "peak MiB"
    );
    let mut next_report = n / 10;
    let mut i = 0;
    while i < n {
        buf.clear();
        let end = (i + 1000).min(n);
        for k in i..end {
            if v21 {
                gen_v21(&mut buf, k, &mut rng)
            } else {
                gen_v7(&mut buf, k, &mut rng)
            }
        }
        i = end;
        lines += memchr::memchr_iter(b'\n', &buf).count() as u64;
        bytes += buf.len() as u64;
        let t = Instant::now();
        parser.feed(&buf, &mut out);
        if i == n {
            parser.finish(&mut out);
        }
        for r in out.drain(..) {
            stats.observe(&r, r.start);
            last_start = last_start.max(r.start);
            ring.push(r);
            got += 1;
        }
        parse_secs += t.elapsed().as_secs_f64();
        if i >= next_report || i == n {
            next_report += n / 10;
            println!(
                "{:>10} {:>12} {:>10.1} {:>10.1}",
                got,
                ring.len(),
                rss_kib("VmRSS:") as f64 / 1024.0,
                rss_kib("VmHWM:") as f64 / 1024.0
            );
        }
    }
    let snap = stats.snapshot(last_start);
    println!(
        "done: {got} requests, {lines} lines, {:.0} MB text; parse+ring+stats {:.2} s = {:.2} M lines/s, {:.0} k req/s (wall incl. generation {:.2} s)",
        bytes as f64 / 1e6,
        parse_secs,
        lines as f64 / parse_secs / 1e6,
        got as f64 / parse_secs / 1e3,
        start.elapsed().as_secs_f64()
    );
    println!(
        "process CPU {:.2} s (generation included) = {:.2} M lines/s of CPU",
        cpu_secs(),
        lines as f64 / cpu_secs().max(1e-9) / 1e6
    );
    println!(
        "ring dropped {}, malformed {}, stats total {}, p99 1m {:?} ms, peak RSS {:.1} MiB",
        ring.dropped(),
        parser.malformed(),
        snap.total,
        snap.last_1m.p99_ms,
        rss_kib("VmHWM:") as f64 / 1024.0
    );
    if got != n {
        eprintln!("expected {n} requests, got {got}");
        std::process::exit(1);
    }
}

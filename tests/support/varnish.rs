//! A private Varnish for integration tests: an in-process Rust HTTP backend on a random
//! loopback port, and `varnishd -F` (child of the test, own `-n` work dir in a temp dir,
//! `-a`/`-T` on random 127.0.0.1 ports, `-s malloc,16m`) running
//! `tests/fixtures/varnish-lab/stacktop.vcl`.
//!
//! Data flow: test → [`Varnish::get`] (plain `std::net::TcpStream`, no curl) → varnishd →
//! [`Backend`] routes; the code under test reads the shared-memory log with
//! `varnishlog -n` [`Varnish::workdir`]; [`Varnish::varnishlog`] runs it for assertions.
//!
//! Backend routes: `/static/*` 200 cacheable (max-age=300, ETag), `/nocache/*` 200
//! `Cache-Control: private` (and VCL `pass`), `/missing` (and `/missing/*`) 404,
//! `/slow?ms=N` (also `/slow/*?ms=N`) sleeps N ms (≤ 30 000) then 200 cacheable, `/error` 500,
//! `/` 200, anything else 404. VCL: `/__stacktop_ready` is a synthetic 200 (readiness probe,
//! never reaches the backend); responses echo `X-Request-Id` and carry `X-Cache`
//! HIT/MISS/PASS.
//!
//! As root varnishd uses its default `unix` jail (the `varnish`/`vcache` users of the Debian
//! package; the temp dir is 0755 so they can reach it). As non-root, `-j none`.
#![allow(dead_code)]

use super::proc::{self, ProcessGuard};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Wait for varnishd to answer HTTP.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Socket read/write timeout of [`http_get`].
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(40);

/// The VCL template (placeholder `@BACKEND_PORT@`).
pub fn default_vcl_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/varnish-lab/stacktop.vcl")
}

/// Start-up options; `Default` = the fixture VCL, no extra parameters.
#[derive(Clone, Debug, Default)]
pub struct VarnishOptions {
    /// Full VCL text to use instead of the fixture; `@BACKEND_PORT@` is substituted.
    pub vcl: Option<String>,
    /// Extra `-p name=value` runtime parameters, e.g. `("default_ttl", "5")`.
    pub params: Vec<(String, String)>,
}

/// An HTTP response as read off the socket.
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// varnishd + backend. Drop stops varnishd by PID (whole process group), then the backend,
/// then deletes the work dir.
#[derive(Debug)]
pub struct Varnish {
    http_port: u16,
    admin_port: u16,
    guard: Option<ProcessGuard>,
    backend: Backend,
    dir: tempfile::TempDir,
}

impl Varnish {
    /// Start with the fixture VCL. Panics (naming Debian package `varnish`) if varnishd is
    /// missing, or with varnishd's output if it does not come up within [`START_TIMEOUT`].
    pub fn start() -> Varnish {
        Self::start_with(VarnishOptions::default())
    }

    pub fn start_with(opts: VarnishOptions) -> Varnish {
        let varnishd = proc::require_binary("varnishd", "varnish");
        let backend = Backend::start();
        let dir = proc::temp_dir("varnish");
        let template = match opts.vcl {
            Some(v) => v,
            None => std::fs::read_to_string(default_vcl_path()).expect("read stacktop.vcl fixture"),
        };
        let vcl = dir.path().join("stacktop.vcl");
        std::fs::write(
            &vcl,
            template.replace("@BACKEND_PORT@", &backend.port().to_string()),
        )
        .expect("write VCL");
        let (http_port, admin_port) = (proc::free_port(), proc::free_port());
        let workdir = dir.path().join("varnish");

        let mut cmd = Command::new(varnishd);
        cmd.arg("-F").arg("-n").arg(&workdir);
        cmd.args([
            "-a",
            &format!("127.0.0.1:{http_port}"),
            "-T",
            &format!("127.0.0.1:{admin_port}"),
        ]);
        cmd.arg("-f").arg(&vcl).args(["-s", "malloc,16m"]);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            cmd.args(["-j", "none"]);
        }
        for (k, v) in &opts.params {
            cmd.args(["-p", &format!("{k}={v}")]);
        }
        let guard = ProcessGuard::spawn("varnishd", cmd, &dir.path().join("varnishd.log"));
        let mut v = Varnish {
            http_port,
            admin_port,
            guard: Some(guard),
            backend,
            dir,
        };
        proc::wait_until("varnishd to answer HTTP", START_TIMEOUT, || {
            if let Some(g) = v.guard.as_mut() {
                if let Some(st) = g.try_status() {
                    panic!(
                        "varnishd exited during start-up ({st}):\n{}",
                        g.log_tail(40)
                    );
                }
            }
            let r = http_get(v.http_port, "/__stacktop_ready", &[]).ok()?;
            (r.status == 200).then_some(())
        });
        v
    }

    /// Client port (`-a 127.0.0.1:<port>`).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }
    /// Management port (`-T 127.0.0.1:<port>`; secret in `<workdir>/_.secret`).
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }
    /// The `-n` work directory: pass it to `varnishlog -n` / `varnishstat -n`.
    pub fn workdir(&self) -> PathBuf {
        self.dir.path().join("varnish")
    }
    /// [`Varnish::workdir`] as a string, i.e. the instance name for `-n`.
    pub fn instance_name(&self) -> String {
        self.workdir().display().to_string()
    }
    /// PID of the varnishd manager process (`None` after stop).
    pub fn pid(&self) -> Option<u32> {
        self.guard.as_ref().map(|g| g.pid())
    }
    /// Manager + cache child (every live process in varnishd's process group).
    pub fn pids(&self) -> Vec<u32> {
        self.pid().map(proc::group_pids).unwrap_or_default()
    }
    /// The in-process backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }
    /// varnishd's stdout/stderr so far.
    pub fn log_tail(&self, lines: usize) -> String {
        proc::tail(&self.dir.path().join("varnishd.log"), lines)
    }

    /// `GET path` through varnish with extra request headers; panics on I/O errors.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http_get(self.http_port, path, headers)
            .unwrap_or_else(|e| panic!("GET {path} via varnish: {e}"))
    }

    /// Run `varnishlog -n <workdir> -d <args>` (dump what is in the log, then exit) and
    /// return its stdout. Panics if varnishlog is missing, fails or takes > 20 s.
    pub fn varnishlog(&self, args: &[&str]) -> String {
        let bin = proc::require_binary("varnishlog", "varnish");
        let mut cmd = Command::new(bin);
        cmd.arg("-n").arg(self.workdir()).arg("-d").args(args);
        let (st, out, err) = proc::run_bounded("varnishlog -d", cmd, Duration::from_secs(20));
        assert!(st.success(), "varnishlog {args:?} failed ({st}): {err}");
        out
    }

    /// Poll [`Varnish::varnishlog`] until `pred(output)` holds (records reach the shared
    /// log when a transaction ends); returns that output, panics after `timeout`.
    pub fn varnishlog_until(
        &self,
        args: &[&str],
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        proc::wait_until(&format!("varnishlog {args:?} to match"), timeout, || {
            let out = self.varnishlog(args);
            pred(&out).then_some(out)
        })
    }

    /// Graceful stop by PID (SIGTERM to the group, SIGKILL after 10 s). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut g) = self.guard.take() {
            g.stop(Duration::from_secs(10));
        }
    }
}

impl Drop for Varnish {
    fn drop(&mut self) {
        self.stop();
    }
}

// ------------------------------------------------------------------ HTTP client

/// Minimal HTTP/1.1 GET to 127.0.0.1:`port` with `Connection: close`; reads to EOF.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> io::Result<HttpResponse> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(HTTP_TIMEOUT))?;
    s.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(status_line))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut r = HttpResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if r.header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        r.body = dechunk(&r.body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(r)
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..1_000_000 {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let size_txt = std::str::from_utf8(&b[..nl]).ok()?;
        let size = usize::from_str_radix(size_txt.split(';').next()?.trim(), 16).ok()?;
        b = &b[nl + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
    None
}

// ------------------------------------------------------------------ backend

/// The in-process origin server (std threads; one per connection, keep-alive aware).
#[derive(Debug)]
pub struct Backend {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    accept: Option<JoinHandle<()>>,
}

impl Backend {
    /// Bind a free 127.0.0.1 port and serve until dropped.
    pub fn start() -> Backend {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind backend");
        let port = listener.local_addr().expect("backend addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let accept = thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let seen = seen2.clone();
                thread::spawn(move || serve_conn(conn, &seen));
            }
        });
        Backend {
            port,
            stop,
            seen,
            accept: Some(accept),
        }
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Request targets (path + query) the backend has served, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake accept()
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn serve_conn(conn: TcpStream, seen: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut r = BufReader::new(conn);
    for _ in 0..10_000 {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let mut parts = line.split_whitespace();
        let (method, target, version) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("/").to_string(),
            parts.next().unwrap_or("HTTP/1.0").to_string(),
        );
        let (mut len, mut close) = (0usize, version == "HTTP/1.0");
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        if len > 0 && io::copy(&mut (&mut r).take(len as u64), &mut io::sink()).is_err() {
            return;
        }
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(target.clone());
        let (status, cache_control, body) = route(&target);
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        let mut resp = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nCache-Control: {cache_control}\r\nETag: \"{:x}\"\r\n",
            body.len(),
            fnv(&target)
        );
        resp.push_str(if close {
            "Connection: close\r\n\r\n"
        } else {
            "\r\n"
        });
        if method != "HEAD" {
            resp.push_str(&body);
        }
        if w.write_all(resp.as_bytes()).is_err() || close {
            break;
        }
    }
    let _ = w.shutdown(Shutdown::Both);
}

/// (status, Cache-Control, body) for a request target.
fn route(target: &str) -> (u16, &'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let public = "public, max-age=300";
    if path.starts_with("/static/") {
        (200, public, format!("static {path}\n"))
    } else if path.starts_with("/nocache/") {
        (200, "private", format!("private {path}\n"))
    } else if path == "/slow" || path.starts_with("/slow/") {
        let ms = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("ms="))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        thread::sleep(Duration::from_millis(ms.min(30_000)));
        (200, public, format!("slow {ms} ms\n"))
    } else if path == "/error" {
        (500, "no-store", "error\n".into())
    } else if path == "/" {
        (200, public, "stacktop test backend\n".into())
    } else {
        (404, "max-age=30", format!("missing {path}\n"))
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

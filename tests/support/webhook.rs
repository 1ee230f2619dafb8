//! A local HTTP/1.1 webhook receiver on 127.0.0.1:<free port> for tests: records every request
//! (method, path, headers, body, and the mode it was answered in) and answers 200, answers 500,
//! answers 500 echoing the request path with control characters, or hangs (never answers),
//! switchable at run time. Stops when dropped.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok = 0,
    Error500 = 1,
    Hang = 2,
    /// 500 with a body that repeats the request path (a secret) and a terminal escape
    Error500Echo = 3,
}

impl Mode {
    fn from_u8(m: u8) -> Mode {
        match m {
            0 => Mode::Ok,
            1 => Mode::Error500,
            3 => Mode::Error500Echo,
            _ => Mode::Hang,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Post {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
    /// how the receiver answered (or did not: `Hang`)
    pub answered: Mode,
}

impl Post {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// The Slack `text` of the post ("" when absent).
    pub fn text(&self) -> String {
        self.json()["text"].as_str().unwrap_or("").to_string()
    }
}

pub struct Webhook {
    pub port: u16,
    mode: Arc<AtomicU8>,
    posts: Arc<Mutex<Vec<Post>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Webhook {
    pub async fn start(mode: Mode) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode_cell = Arc::new(AtomicU8::new(mode as u8));
        let posts = Arc::new(Mutex::new(Vec::new()));
        let (m, p) = (mode_cell.clone(), posts.clone());
        let task = tokio::spawn(async move {
            let mut conns = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                conns.push(tokio::spawn(serve(sock, m.clone(), p.clone())));
                conns.retain(|c: &tokio::task::JoinHandle<()>| !c.is_finished());
            }
        });
        Webhook {
            port,
            mode: mode_cell,
            posts,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn set_mode(&self, m: Mode) {
        self.mode.store(m as u8, Ordering::SeqCst);
    }

    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// The posts answered with 200, in arrival order.
    pub fn delivered(&self) -> Vec<Post> {
        self.posts()
            .into_iter()
            .filter(|p| p.answered == Mode::Ok)
            .collect()
    }

    /// Waits until at least `n` requests were recorded; returns them (panics after `limit`).
    pub async fn wait_for_posts(&self, n: usize, limit: Duration) -> Vec<Post> {
        let deadline = Instant::now() + limit;
        loop {
            let p = self.posts();
            if p.len() >= n {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} webhook posts within {limit:?}, got {}",
                p.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut sock: TcpStream, mode: Arc<AtomicU8>, posts: Arc<Mutex<Vec<Post>>>) {
    let mut buf = Vec::new();
    loop {
        // read one request (headers + Content-Length body)
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() > 1 << 20 {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split_whitespace();
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
        buf.drain(..head_end + len);
        let answered = Mode::from_u8(mode.load(Ordering::SeqCst));
        let echo = format!("no such hook {path}\x1b[2J\r\nbye");
        posts.lock().unwrap().push(Post {
            method,
            path,
            headers,
            body,
            at: Instant::now(),
            answered,
        });
        let echo_resp = format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{echo}",
            echo.len()
        );
        let resp: &[u8] = match answered {
            Mode::Ok => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
            }
            Mode::Error500 => {
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail"
            }
            Mode::Error500Echo => echo_resp.as_bytes(),
            Mode::Hang => {
                // hang: hold the connection open, never answer
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        };
        if sock.write_all(resp).await.is_err() {
            return;
        }
    }
}

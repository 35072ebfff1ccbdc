//! The local HTTP server: binds loopback by default, requires a random token on every request,
//! and serves only the page's embedded assets and the data endpoints of one loaded trace.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;

use tiny_http::{Header, Request, Response, Server as HttpServer};

use crate::api::{BadRequest, Loaded, Query};

/// The page's files, embedded in the binary: the viewer needs no network access.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", include_str!("../assets/index.html"), "text/html; charset=utf-8"),
    ("/app.js", include_str!("../assets/app.js"), "text/javascript; charset=utf-8"),
    ("/style.css", include_str!("../assets/style.css"), "text/css; charset=utf-8"),
];

/// How many requests are answered at the same time.
const WORKERS: usize = 4;

/// A running viewer server.
pub struct Server {
    http: Arc<HttpServer>,
    token: String,
    workers: Vec<thread::JoinHandle<()>>,
}

/// A fresh token from the operating system's random source: 128 bits, in hex.
pub fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("no random source for the token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Server {
    /// Starts serving `loaded` on `addr` (`127.0.0.1:0` picks a free port) with `token`.
    pub fn start(loaded: Arc<Loaded>, addr: SocketAddr, token: String) -> io::Result<Server> {
        let http =
            Arc::new(HttpServer::http(addr).map_err(|e| io::Error::other(format!("cannot listen on {addr}: {e}")))?);
        let workers = (0..WORKERS)
            .map(|_| {
                let http = Arc::clone(&http);
                let loaded = Arc::clone(&loaded);
                let token = token.clone();
                thread::spawn(move || {
                    for request in http.incoming_requests() {
                        handle(&loaded, &token, request);
                    }
                })
            })
            .collect();
        Ok(Server { http, token, workers })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.http.server_addr().to_ip().unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The URL a browser opens, token included.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr(), self.token)
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for worker in self.workers {
            let _ = worker.join();
        }
    }

    /// Stops accepting requests and waits for the workers to finish.
    pub fn stop(self) {
        self.http.unblock();
        for _ in 1..WORKERS {
            self.http.unblock();
        }
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header names and values are valid")
}

fn text_response(status: u16, body: String, content_type: &str) -> Response<io::Cursor<Vec<u8>>> {
    Response::from_data(body.into_bytes())
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        // The page loads only its own files: no CDN, no third-party script.
        .with_header(header("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:"))
}

/// Compares tokens without stopping at the first difference.
fn same_token(given: &str, token: &str) -> bool {
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn handle(loaded: &Loaded, token: &str, request: Request) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let query = Query::parse(query);
    let response = if request.method() != &tiny_http::Method::Get {
        text_response(405, "only GET is served\n".into(), "text/plain")
    } else if !query.get("token").is_some_and(|t| same_token(t, token)) {
        text_response(403, "missing or wrong token: open the URL gotrace view printed\n".into(), "text/plain")
    } else {
        // A bug in one answer must not take a worker down with it: the others keep serving.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| route(loaded, path, &query, token))).unwrap_or_else(
            |_| text_response(500, "internal error while answering this request\n".into(), "text/plain"),
        )
    };
    // A browser that went away mid-answer is no error of ours.
    let _ = request.respond(response);
}

fn route(loaded: &Loaded, path: &str, query: &Query, token: &str) -> Response<io::Cursor<Vec<u8>>> {
    if let Some((_, body, content_type)) = ASSETS.iter().find(|(p, ..)| *p == path) {
        // The page asks for its script and style sheet with the token too.
        return text_response(200, body.replace("{{TOKEN}}", token), content_type);
    }
    let json = |result: Result<serde_json::Value, BadRequest>| match result {
        Ok(value) => text_response(200, value.to_string(), "application/json"),
        Err(BadRequest(message)) => text_response(400, message + "\n", "text/plain"),
    };
    match path {
        "/api/info" => json(Ok(loaded.info())),
        "/api/lanes" => json(loaded.lanes(query)),
        "/api/window" => json(loaded.window(query)),
        "/api/details" => json(loaded.details(query)),
        "/api/range" => json(loaded.range(query)),
        "/api/goroutines" => json(Ok(loaded.goroutine_groups())),
        "/api/findings" => json(Ok(loaded.findings())),
        "/api/goroutine-group" => json(loaded.goroutine_group(query)),
        "/api/tasks" => json(loaded.tasks(query)),
        "/api/regions" => json(loaded.regions(query)),
        "/api/mmu" => json(loaded.mmu(query)),
        "/api/mmu-worst" => json(loaded.mmu_worst(query)),
        "/api/profile" => json(loaded.profile(query)),
        "/api/critical-path/types" => json(Ok(loaded.critical_path_types())),
        "/api/critical-path" => json(loaded.critical_path_type(query)),
        "/api/critical-path/one" => json(loaded.critical_path_one(query)),
        "/api/critical-path/pprof" => match loaded.critical_path_pprof(query) {
            Ok(bytes) => Response::from_data(bytes)
                .with_header(header("Content-Type", "application/octet-stream"))
                .with_header(header("Content-Disposition", "attachment; filename=\"critical-path.pb.gz\"")),
            Err(BadRequest(message)) => text_response(400, message + "\n", "text/plain"),
        },
        "/api/pprof" => match loaded.pprof(query) {
            Ok(bytes) => Response::from_data(bytes)
                .with_header(header("Content-Type", "application/octet-stream"))
                .with_header(header("Content-Disposition", "attachment; filename=\"profile.pb.gz\"")),
            Err(BadRequest(message)) => text_response(400, message + "\n", "text/plain"),
        },
        "/api/profile.txt" => match loaded.profile_folded(query) {
            Ok(text) => text_response(200, text, "text/plain; charset=utf-8")
                .with_header(header("Content-Disposition", "attachment; filename=\"profile.folded.txt\"")),
            Err(BadRequest(message)) => text_response(400, message + "\n", "text/plain"),
        },
        _ => text_response(404, "not found\n".into(), "text/plain"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_long() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &b));
        assert!(!same_token(&a, &a[..31]));
    }
}

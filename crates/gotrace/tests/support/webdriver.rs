//! A minimal WebDriver client for headless Chromium through chromedriver: the handful of
//! commands the browser test and `cargo xtask view-timing` need. Shared by both (the xtask
//! includes this file), so that they drive the browser the same way.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// A child process killed when its guard is dropped, however the caller ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A browser session.
pub struct WebDriver {
    base: String,
    session: String,
}

impl WebDriver {
    /// Sends one WebDriver command and returns its `value`.
    pub fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = ureq::request(method, &url).timeout(Duration::from_secs(600));
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match response {
            Ok(r) => r.into_json::<Value>().expect("WebDriver answers JSON")["value"].take(),
            Err(ureq::Error::Status(code, r)) => {
                panic!("WebDriver {method} {path}: {code} {}", r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    /// Runs `script` in the page and returns what it returns.
    pub fn script(&self, script: &str) -> Value {
        self.command("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// Navigates to `url`.
    pub fn go(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// Evaluates `expression` until it is truthy, and returns its value; panics after `limit`.
    pub fn wait_for_within(&self, expression: &str, what: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.script(&format!("return {expression};"));
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what} ({expression})");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`wait_for_within`](Self::wait_for_within) 30 seconds.
    pub fn wait_for(&self, expression: &str, what: &str) -> Value {
        self.wait_for_within(expression, what, Duration::from_secs(30))
    }

    /// The page as a PNG.
    pub fn screenshot_png(&self) -> Vec<u8> {
        let encoded = self.command("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 text"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        png
    }

    /// Clicks at `(x, y)` CSS pixels from the top left of the first element matching
    /// `element_css`.
    pub fn click_at(&self, element_css: &str, x: f64, y: f64) {
        let element = self.command("POST", "/element", Some(json!({"using": "css selector", "value": element_css})));
        let id =
            element.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).expect("an element").to_owned();
        let rect = self.command("GET", &format!("/element/{id}/rect"), None);
        let (w, h) = (rect["width"].as_f64().unwrap(), rect["height"].as_f64().unwrap());
        // Pointer offsets are relative to the centre of the element.
        let origin = json!({"element-6066-11e4-a52e-4f735466cecf": id});
        let actions = json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "origin": origin, "x": (x - w / 2.0).round() as i64, "y": (y - h / 2.0).round() as i64, "duration": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]}]});
        self.command("POST", "/actions", Some(actions));
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
    }
}

/// The program named by the environment variable `env`, else the first of `names` on `PATH`.
pub fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Starts chromedriver and a headless Chromium session (1400x900), or says why not:
/// `Err` names what is missing.
pub fn start_browser() -> Result<(Guard, WebDriver), String> {
    let driver = find_program("GOTRACE_CHROMEDRIVER", &["chromedriver"]);
    let chromium = find_program("GOTRACE_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]);
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        return Err("chromedriver or chromium is not installed \
                    (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
            .into());
    };
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("chromedriver does not start: {e}"))?;
    let guard = Guard(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ureq::get(&format!("{base}/status")).call().is_err() {
        if Instant::now() > deadline {
            return Err(format!("chromedriver did not start on {base}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"],
    }}}});
    let response: Value = ureq::post(&format!("{base}/session"))
        .timeout(Duration::from_secs(60))
        .send_json(capabilities)
        .map_err(|e| format!("no browser session: {e}"))?
        .into_json()
        .map_err(|e| format!("chromedriver's answer is not JSON: {e}"))?;
    let session = response["value"]["sessionId"].as_str().ok_or("chromedriver gave no session id")?.to_owned();
    Ok((guard, WebDriver { base, session }))
}

//! `cargo xtask view-timing FILE [--go]`: how long a person waits for the timeline of a trace,
//! measured in headless Chromium: from starting `gotrace view` to the first drawn timeline, the
//! server's peak memory, and the response times of a zoomed-out and a zoomed-in window. With
//! `--go`, `go tool trace` (Go 1.27) on the same file, measured the same way in the same run:
//! from its start to the first trace slice drawn by its viewer, its peak memory (all its
//! processes), and the time of its `/jsontrace` for that slice (what its viewer loads for any
//! zoom). Go's tool is stopped when it passes a memory or time limit, and the limit reported.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::webdriver::{self, Guard, WebDriver};
use crate::{Result, go, release_gotrace, target_dir};

const USAGE: &str = "usage: cargo xtask view-timing FILE [--go] [--go-memory-limit GB] [--go-time-limit SECONDS]";

/// Lanes asked for in one window request: about what fits on a screen.
const VISIBLE_LANES: usize = 45;
/// Pixels across the window, as on a laptop screen.
const WINDOW_WIDTH: u32 = 1200;
/// Each window request is repeated this many times; the median is reported.
const REPEATS: usize = 5;

struct Options {
    trace: PathBuf,
    go: bool,
    go_memory_limit: u64,
    go_time_limit: Duration,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        trace: PathBuf::new(),
        go: false,
        go_memory_limit: 20 << 30,
        go_time_limit: Duration::from_secs(1800),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<u64> {
            args.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{arg} needs {what}\n{USAGE}"))
        };
        match arg.as_str() {
            "--go" => options.go = true,
            "--go-memory-limit" => options.go_memory_limit = number("a number of GB")? << 30,
            "--go-time-limit" => options.go_time_limit = Duration::from_secs(number("a number of seconds")?),
            file if !file.starts_with('-') && options.trace.as_os_str().is_empty() => options.trace = file.into(),
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    if options.trace.as_os_str().is_empty() {
        return Err(USAGE.into());
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    let trace = std::fs::canonicalize(&options.trace).map_err(|e| format!("{}: {e}", options.trace.display()))?;
    let size = std::fs::metadata(&trace).map_err(|e| e.to_string())?.len();
    let gotrace = release_gotrace()?;
    let (_driver, browser) = webdriver::start_browser()?;
    println!("{}: {:.1} MB", trace.display(), size as f64 / 1e6);
    let ours = time_gotrace(&browser, &gotrace, &trace)?;
    ours.print("gotrace view");
    if options.go {
        let theirs = time_go(&browser, &trace, &options)?;
        theirs.print("go tool trace (Go 1.27)");
        match (ours.first_draw, theirs.first_draw) {
            (Some(a), Some(b)) => {
                println!("first drawn timeline: gotrace/go = {:.3}", a.as_secs_f64() / b.as_secs_f64());
                println!("peak memory: gotrace/go = {:.3}", ours.peak_memory as f64 / theirs.peak_memory.max(1) as f64);
            }
            _ => println!("go tool trace drew no timeline: no ratio (its figures above are where it was stopped)"),
        }
    }
    Ok(())
}

/// What one viewer's run measured.
#[derive(Default)]
struct Measured {
    ready: Option<Duration>,
    first_draw: Option<Duration>,
    peak_memory: u64,
    /// What was asked, the median time, the answer's size, how many requests.
    requests: Vec<(String, Duration, usize, usize)>,
    stopped: Option<String>,
    screenshot: Option<PathBuf>,
}

impl Measured {
    fn print(&self, who: &str) {
        println!("== {who}");
        let time = |t: Option<Duration>| t.map_or("-".to_owned(), |t| format!("{:.2} s", t.as_secs_f64()));
        println!("  server ready:         {}", time(self.ready));
        println!("  first drawn timeline: {}", time(self.first_draw));
        println!("  peak memory:          {:.0} MB", self.peak_memory as f64 / 1e6);
        for (what, median, bytes, repeats) in &self.requests {
            let ms = median.as_secs_f64() * 1e3;
            match repeats {
                1 => println!("  {what}: {ms:.1} ms, {bytes} bytes"),
                n => println!("  {what}: median of {n} {ms:.1} ms, {bytes} bytes"),
            }
        }
        if let Some(path) = &self.screenshot {
            println!("  screenshot:           {}", path.display());
        }
        if let Some(why) = &self.stopped {
            println!("  stopped: {why}");
        }
    }
}

/// The summed resident memory of a process group, sampled every 100 ms while it runs: Go's
/// tool runs as a child of `go`, and our peak is read the same way so the figures compare.
struct MemoryWatch {
    peak: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemoryWatch {
    fn start(group: u32) -> MemoryWatch {
        let (peak, done) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (p, d) = (peak.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                p.fetch_max(group_rss(group), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        MemoryWatch { peak, done, thread: Some(thread) }
    }

    /// The highest sample, or the group leader's own high-water mark when higher (it catches
    /// peaks between samples).
    fn peak(&self, leader: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{leader}/status")).unwrap_or_default();
        let high_water = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024);
        self.peak.load(Ordering::Relaxed).max(high_water)
    }
}

impl Drop for MemoryWatch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The resident bytes of every process in process group `group`.
fn group_rss(group: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let page = 4096;
    entries
        .flatten()
        .filter_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // The command name is in parentheses and may hold spaces: fields follow the last ')'.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let (pgrp, rss_pages): (u32, u64) = (fields.get(2)?.parse().ok()?, fields.get(21)?.parse().ok()?);
            (pgrp == group).then_some(rss_pages * page)
        })
        .sum()
}

fn get(url: &str) -> Result<Vec<u8>> {
    let response = ureq::get(url).timeout(Duration::from_secs(1800)).call().map_err(|e| format!("{url}: {e}"))?;
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).map_err(|e| format!("{url}: {e}"))?;
    Ok(body)
}

fn get_json(url: &str) -> Result<Value> {
    serde_json::from_slice(&get(url)?).map_err(|e| format!("{url}: {e}"))
}

/// The median time of `REPEATS` GETs of `url`, and the size of the answer.
fn median_get(url: &str) -> Result<(Duration, usize)> {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..REPEATS {
        let start = Instant::now();
        size = get(url)?.len();
        times.push(start.elapsed());
    }
    times.sort();
    Ok((times[REPEATS / 2], size))
}

fn time_gotrace(browser: &WebDriver, gotrace: &Path, trace: &Path) -> Result<Measured> {
    let start = Instant::now();
    let mut child = Command::new(gotrace)
        .args(["view", "--no-open"])
        .arg(trace)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start gotrace: {e}"))?;
    let leader = child.id();
    let watch = MemoryWatch::start(leader);
    let stdout = child.stdout.take().expect("piped");
    let _viewer = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).ok_or(format!("no URL in {line:?}"))?;
    let mut measured = Measured { ready: Some(start.elapsed()), ..Measured::default() };
    browser.go(&format!("{url}#timeline?view=proc"));
    browser.wait_for_within("document.body.dataset.draws", "the timeline to draw", Duration::from_secs(3600));
    measured.first_draw = Some(start.elapsed());
    measured.screenshot = save_screenshot(browser, "gotrace", trace);
    let (base, token) = url.split_once("/?token=").ok_or("the URL has no token")?;
    let info = get_json(&format!("{base}/api/info?token={token}"))?;
    let duration = info["duration"].as_i64().ok_or("/api/info gives no duration")?;
    let middle = duration / 2;
    for view in ["goroutine", "proc"] {
        let lanes = get_json(&format!("{base}/api/lanes?token={token}&view={view}"))?;
        let ids: Vec<String> =
            lanes["lanes"].as_array().into_iter().flatten().take(VISIBLE_LANES).map(|l| l["id"].to_string()).collect();
        for (zoom, from, to) in
            [("zoomed-out (whole trace)", 0, duration), ("zoomed-in (1 ms)", middle, middle + 1_000_000)]
        {
            let url = format!(
                "{base}/api/window?token={token}&lanes={}&start={from}&end={to}&width={WINDOW_WIDTH}",
                ids.join(",")
            );
            let (median, bytes) = median_get(&url)?;
            measured.requests.push((format!("{zoom} window, {} {view} lanes", ids.len()), median, bytes, REPEATS));
        }
    }
    measured.peak_memory = watch.peak(leader);
    Ok(measured)
}

fn time_go(browser: &WebDriver, trace: &Path, options: &Options) -> Result<Measured> {
    let toolchain = go::Toolchain::ensure(go::ORACLE_VERSION)?;
    let port = webdriver::free_port();
    let root_url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let child = toolchain
        .trace_tool()
        .arg(format!("-http=127.0.0.1:{port}"))
        .arg(trace)
        // Go's tool opens a browser itself unless BROWSER names a program that does nothing.
        .env("BROWSER", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start go tool trace: {e}"))?;
    let group = child.id();
    let watch = MemoryWatch::start(group);
    let mut guard = Guard(child);
    let mut measured = Measured::default();
    let over_limit = |measured: &mut Measured, watch: &MemoryWatch| -> bool {
        if watch.peak(group) > options.go_memory_limit {
            measured.stopped = Some(format!(
                "passed the memory limit of {} GB after {:.0} s",
                options.go_memory_limit >> 30,
                start.elapsed().as_secs_f64()
            ));
        } else if start.elapsed() > options.go_time_limit {
            measured.stopped = Some(format!("passed the time limit of {} s", options.go_time_limit.as_secs()));
        }
        measured.stopped.is_some()
    };
    // The server answers once the whole trace is parsed.
    let page = loop {
        if let Ok(response) = ureq::get(&format!("{root_url}/")).timeout(Duration::from_secs(5)).call() {
            break response.into_string().map_err(|e| e.to_string())?;
        }
        if let Ok(Some(status)) = guard.0.try_wait() {
            return Err(format!("go tool trace exited with {status} before serving"));
        }
        if over_limit(&mut measured, &watch) {
            kill_group(group);
            measured.peak_memory = watch.peak(group);
            return Ok(measured);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    measured.ready = Some(start.elapsed());
    // Big traces are cut into slices; the main page links each. The first is what a person
    // opens first.
    let first_slice = page
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|link| link.starts_with("/trace"))
        .unwrap_or("/trace")
        .replace("&amp;", "&");
    browser.go(&format!("{root_url}{first_slice}"));
    let drawn = "(function(){var v=document.getElementById('trace-viewer');\
                 return !!(v && v.model && v.model.bounds && !v.model.bounds.isEmpty);})()";
    loop {
        if browser.script(&format!("return {drawn};")) == Value::Bool(true) {
            // The model is set; the next animation frames draw it.
            browser.script("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));");
            measured.first_draw = Some(start.elapsed());
            measured.screenshot = save_screenshot(browser, "go", trace);
            break;
        }
        if over_limit(&mut measured, &watch) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if measured.first_draw.is_some() {
        let url = format!("{root_url}{}", first_slice.replacen("/trace", "/jsontrace", 1));
        let started = Instant::now();
        let bytes = get(&url)?.len();
        measured.requests.push(("/jsontrace of the first slice (any zoom)".into(), started.elapsed(), bytes, 1));
    }
    measured.peak_memory = watch.peak(group);
    kill_group(group);
    Ok(measured)
}

/// Saves what the browser shows as `target/screenshots/view-timing-WHO-TRACE.png`, for a
/// person to check that what was timed is a drawn timeline.
fn save_screenshot(browser: &WebDriver, who: &str, trace: &Path) -> Option<PathBuf> {
    let dir = target_dir().join("screenshots");
    let name = trace.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let path = dir.join(format!("view-timing-{who}-{name}.png"));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(&path, browser.screenshot_png()).ok()?;
    Some(path)
}

/// Stops a process group (Go's tool runs as a child of `go`).
fn kill_group(group: u32) {
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
}

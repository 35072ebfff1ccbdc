//! `cargo xtask check-export FILE...`: opens our Chrome trace-event export in a real trace-event
//! importer and checks that everything arrives. The importer is Catapult's, the trace viewer
//! behind `chrome://tracing` that Go's `go tool trace` embeds (Perfetto's UI, which also opens
//! this format, needs network access to load). A page served here loads Go 1.27's copy of the
//! viewer into headless Chromium, imports `gotrace export --chrome`'s output, and reports the
//! model it built; the counts must equal what the file holds, with no import warnings. (A
//! lane without slices, such as the GC lane of a trace without GC, is only named in the file;
//! the importer makes threads only for lanes with events, so such lanes are not counted.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::{Result, go, release_gotrace, run_checked, webdriver};

/// The page that imports the export, as Go's trace page does, and publishes what the model
/// holds in `window.importStats`.
const PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8">
<script src="/static/webcomponents.min.js"></script>
<link rel="import" href="/static/trace_viewer_full.html">
<script>
document.addEventListener('WebComponentsReady', function () {
  fetch('/export.json').then(function (r) { return r.text(); }).then(function (text) {
    var model = new tr.Model();
    var options = new tr.importer.ImportOptions();
    options.shiftWorldToZero = false;
    return new tr.importer.Import(model, options).importTracesWithProgressDialog([text]).then(function () {
      var stats = {processes: {}, slices: 0, counterSamples: {}, flows: model.flowEvents.length,
                   warnings: model.importWarnings.map(function (w) { return w.message; })};
      Object.values(model.processes).forEach(function (p) {
        var threads = Object.values(p.threads);
        stats.processes[p.pid] = {name: p.name, threads: threads.length};
        threads.forEach(function (t) { stats.slices += t.sliceGroup.slices.length; });
        Object.values(p.counters).forEach(function (c) {
          stats.counterSamples[c.name] = c.series.length ? c.series[0].samples.length : 0;
        });
      });
      window.importStats = stats;
    });
  }).catch(function (e) { window.importStats = {error: String(e && e.stack || e)}; });
});
</script></head><body></body></html>
"#;

pub fn run(args: &[String]) -> Result<()> {
    if args.is_empty() || args.iter().any(|a| a.starts_with('-')) {
        return Err("usage: cargo xtask check-export FILE...".into());
    }
    let go = go::Toolchain::ensure(go::ORACLE_VERSION)?;
    let static_dir = go.goroot.join("src/internal/trace/traceviewer/static");
    let gotrace = release_gotrace()?;
    let (_driver, browser) = webdriver::start_browser()?;
    let mut failures = 0;
    for file in args {
        match check(&browser, &gotrace, &static_dir, Path::new(file)) {
            Ok(summary) => println!("ok   {file}: {summary}"),
            Err(why) => {
                failures += 1;
                println!("FAIL {file}: {why}");
            }
        }
    }
    match failures {
        0 => Ok(()),
        n => Err(format!("{n} of {} exports were not imported intact", args.len())),
    }
}

/// What the export holds, counted the way the importer counts.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    processes: BTreeMap<i64, (String, usize)>,
    slices: usize,
    counter_samples: BTreeMap<String, usize>,
    flows: usize,
}

fn expected(export: &Value) -> Result<Expected> {
    let events = export["traceEvents"].as_array().ok_or("the export has no traceEvents")?;
    let mut expected = Expected::default();
    let mut threads: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for event in events {
        let (pid, tid) = (event["pid"].as_i64().unwrap_or(0), event["tid"].as_i64().unwrap_or(0));
        match event["ph"].as_str().unwrap_or("") {
            "M" if event["name"] == "process_name" => {
                let name = event["args"]["name"].as_str().unwrap_or("").to_owned();
                expected.processes.entry(pid).or_default().0 = name;
            }
            "X" => {
                expected.slices += 1;
                threads.entry(pid).or_default().insert(tid);
            }
            "C" => *expected.counter_samples.entry(event["name"].as_str().unwrap_or("").to_owned()).or_default() += 1,
            "s" => expected.flows += 1,
            _ => {}
        }
    }
    for (pid, tids) in threads {
        expected.processes.entry(pid).or_default().1 = tids.len();
    }
    Ok(expected)
}

fn check(browser: &webdriver::WebDriver, gotrace: &Path, static_dir: &Path, trace: &Path) -> Result<String> {
    let export = std::env::temp_dir().join(format!("gotrace-export-{}.json", std::process::id()));
    run_checked(Command::new(gotrace).args(["export", "--chrome"]).arg(trace).arg("-o").arg(&export))?;
    let bytes = std::fs::read(&export).map_err(|e| format!("{}: {e}", export.display()))?;
    let _ = std::fs::remove_file(&export);
    let parsed: Value = serde_json::from_slice(&bytes).map_err(|e| format!("the export is not JSON: {e}"))?;
    let want = expected(&parsed)?;
    let port = serve(static_dir.to_owned(), Arc::new(bytes))?;
    browser.go(&format!("http://127.0.0.1:{port}/"));
    let stats =
        browser.wait_for_within("window.importStats", "the viewer to import the export", Duration::from_secs(600));
    if let Some(error) = stats["error"].as_str() {
        return Err(format!("the importer failed: {error}"));
    }
    let got = Expected {
        processes: stats["processes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(pid, p)| {
                let name = p["name"].as_str().unwrap_or("").to_owned();
                (pid.parse().unwrap_or(-1), (name, p["threads"].as_u64().unwrap_or(0) as usize))
            })
            .collect(),
        slices: stats["slices"].as_u64().unwrap_or(0) as usize,
        counter_samples: stats["counterSamples"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, n)| (name.clone(), n.as_u64().unwrap_or(0) as usize))
            .collect(),
        flows: stats["flows"].as_u64().unwrap_or(0) as usize,
    };
    let warnings = stats["warnings"].as_array().cloned().unwrap_or_default();
    if got != want || !warnings.is_empty() {
        return Err(format!("the file holds {want:?}\nthe importer built {got:?}\nwarnings: {warnings:?}"));
    }
    let threads: usize = got.processes.values().map(|p| p.1).sum();
    Ok(format!(
        "{} processes, {threads} threads, {} slices, {} counters ({} samples), {} flows imported, no warnings",
        got.processes.len(),
        got.slices,
        got.counter_samples.len(),
        got.counter_samples.values().sum::<usize>(),
        got.flows
    ))
}

/// Serves the page, Go's viewer files and the export on a loopback port, from a thread that
/// lives as long as the task.
fn serve(static_dir: PathBuf, export: Arc<Vec<u8>>) -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Headers are read and ignored: every answer closes the connection.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, kind, body): (&str, &str, Vec<u8>) = match path {
                "/" => ("200 OK", "text/html", PAGE.as_bytes().to_vec()),
                "/export.json" => ("200 OK", "application/json", export.to_vec()),
                "/static/webcomponents.min.js" | "/static/trace_viewer_full.html" => {
                    let file = static_dir.join(&path["/static/".len()..]);
                    let kind = if path.ends_with(".js") { "text/javascript" } else { "text/html" };
                    match std::fs::read(file) {
                        Ok(bytes) => ("200 OK", kind, bytes),
                        Err(_) => ("404 Not Found", "text/plain", Vec::new()),
                    }
                }
                _ => ("404 Not Found", "text/plain", Vec::new()),
            };
            let mut stream = &stream;
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        }
    });
    Ok(port)
}

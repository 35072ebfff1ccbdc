//! `cargo xtask oracle --analysis`: Go 1.27's goroutine pages and `-pprof` profiles are the
//! reference for the analyses. Goldens hold Go's figures as text (`<trace>.analysis.gz`), in
//! the form `trace_analysis::goroutines::pages_text` and `profiles::records_text` write ours.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use trace_analysis::profiles::{ProfileKind, records_from_pprof, records_text};

use crate::Result;
use crate::go::Toolchain;

/// The golden of a trace: `<name>.analysis.gz` next to it.
pub fn golden_path(trace: &Path) -> std::path::PathBuf {
    trace.with_extension("analysis.gz")
}

/// Go's figures for `trace`: the four profiles, then the goroutine pages.
pub fn go_text(go: &Toolchain, trace: &Path) -> Result<String> {
    let mut out = String::new();
    for kind in ProfileKind::ALL {
        let output = go
            .trace_tool()
            .arg(format!("-pprof={}", kind.name()))
            .arg(trace)
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run go tool trace: {e}"))?;
        // Go fails a profile with no goroutine at all; that is an empty profile.
        let records = if output.status.success() { records_from_pprof(&output.stdout)? } else { Vec::new() };
        out.push_str(&format!("profile {}\n{}", kind.name(), records_text(&records)));
    }
    out.push_str(&goroutine_pages(go, trace)?);
    Ok(out)
}

/// Ours, in the same form.
pub fn our_text(trace: &Path) -> Result<String> {
    let ir = gotrace::load_ir(trace).map_err(|e| e.to_string())?;
    let summary = trace_analysis::goroutines::summarize(&ir);
    let intervals = trace_analysis::profiles::whole_goroutines(&summary);
    let mut out = String::new();
    for kind in ProfileKind::ALL {
        let records = trace_analysis::profiles::profile(&ir, kind, &intervals);
        out.push_str(&format!("profile {}\n{}", kind.name(), records_text(&records)));
    }
    out.push_str(&trace_analysis::goroutines::pages_text(&summary));
    Ok(out)
}

/// Stores Go's figures for `trace`; returns the golden's size.
pub fn bless(go: &Toolchain, trace: &Path) -> Result<usize> {
    let text = go_text(go, trace)?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    let bytes = gz.finish().map_err(|e| e.to_string())?;
    let path = golden_path(trace);
    std::fs::write(&path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{}: {} bytes", path.display(), bytes.len());
    Ok(bytes.len())
}

/// Compares ours with Go's live; prints the first difference.
pub fn compare(go: &Toolchain, trace: &Path) -> Result<bool> {
    pprof_opens_ours(go, trace)?;
    let (theirs, ours) = (go_text(go, trace)?, our_text(trace)?);
    if theirs == ours {
        println!("identical analysis: {} ({} lines)", trace.display(), ours.lines().count());
        return Ok(true);
    }
    let line = theirs.lines().zip(ours.lines()).position(|(a, b)| a != b).unwrap_or(0);
    // Both texts are kept for a closer look.
    let dir = crate::root().join("target/oracle");
    let stem = trace.with_extension("").display().to_string().replace(['/', '\\'], "_");
    let (go_file, our_file) = (dir.join(format!("{stem}.go.txt")), dir.join(format!("{stem}.ours.txt")));
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&go_file, &theirs))
        .and_then(|()| std::fs::write(&our_file, &ours))
        .map_err(|e| e.to_string())?;
    println!(
        "DIFFERENT analysis: {} at line {}\n  go:   {}\n  ours: {}\n  (whole texts: {} and {})",
        trace.display(),
        line + 1,
        theirs.lines().nth(line).unwrap_or("(end)"),
        ours.lines().nth(line).unwrap_or("(end)"),
        go_file.display(),
        our_file.display()
    );
    Ok(false)
}

/// Requires `go tool pprof -top` to read each profile we write for `trace`.
fn pprof_opens_ours(go: &Toolchain, trace: &Path) -> Result<()> {
    let dir = crate::root().join("target/oracle");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for kind in ProfileKind::ALL {
        let file = dir.join(format!("ours.{}.pb.gz", kind.name()));
        gotrace::analysis::pprof(kind, trace, &file).map_err(|e| e.to_string())?;
        let output = go.go().args(["tool", "pprof", "-top"]).arg(&file).output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!(
                "go tool pprof cannot read our {} profile of {}: {}",
                kind.name(),
                trace.display(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(())
}

/// Runs `go tool trace -http` on the trace and reads its goroutine pages.
fn goroutine_pages(go: &Toolchain, trace: &Path) -> Result<String> {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let child = go
        .trace_tool()
        .arg(format!("-http=127.0.0.1:{port}"))
        .arg(trace)
        // Go's tool opens a browser through $BROWSER; this one does nothing.
        .env("BROWSER", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start go tool trace: {e}"))?;
    let server = Server { child, port };
    let index = server.get("/goroutines")?;
    let mut out = String::new();
    let mut groups = Vec::new();
    for row in index.split("<tr>").skip(2) {
        let cells = cells(row);
        let Some(href) = between(row, "href=\"/goroutine?name=", "\"") else { continue };
        let name = percent_decode(&unescape(href));
        if cells.len() < 3 {
            return Err(format!("unexpected row on /goroutines: {row}"));
        }
        groups.push((name, cells[1].clone(), cells[2].clone(), href.to_string()));
    }
    groups.sort();
    for (name, count, exec, href) in groups {
        out.push_str(&format!("group {name:?} count={count} exec={exec}\n"));
        let page = server.get(&format!("/goroutine?name={}", unescape(&href)))?;
        let tables: Vec<&str> = page.split("<table class=\"details\">").skip(1).collect();
        let (Some(breakdown), Some(ranges)) = (tables.first(), tables.get(1)) else {
            return Err(format!("no breakdown tables on the page of {name:?}"));
        };
        let categories = headers(breakdown, 3);
        let range_names = headers(ranges, 2);
        let range_rows: Vec<Vec<String>> = rows(ranges);
        let mut lines = Vec::new();
        for row in rows(breakdown) {
            // ID, total, the bar, then one cell per category.
            let id: i64 = row[0].parse().map_err(|_| format!("bad goroutine ID {:?}", row[0]))?;
            let mut line = format!("  goroutine {id} total={}", row[1]);
            for (name, value) in categories.iter().zip(&row[3..]) {
                line.push_str(&format!(" {name:?}={value}"));
            }
            if let Some(r) = range_rows.iter().find(|r| r[0] == row[0]) {
                line.push_str(" ranges");
                for (name, value) in range_names.iter().zip(&r[2..]) {
                    line.push_str(&format!(" {name:?}={value}"));
                }
            }
            lines.push((id, line));
        }
        lines.sort();
        for (_, line) in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// A running `go tool trace -http`, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Fetches a page, waiting for the server while it parses the trace.
    fn get(&self, path: &str) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match self.try_get(path) {
                Ok(page) => return Ok(page),
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                Err(e) => return Err(format!("go tool trace did not serve {path}: {e}")),
            }
        }
    }

    fn try_get(&self, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        match response.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") => {
                Ok(body.to_string())
            }
            _ => Err(std::io::Error::other(format!("unexpected response: {}", response.lines().next().unwrap_or("")))),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn between<'t>(text: &'t str, start: &str, end: &str) -> Option<&'t str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The text of each `<td>` of a table row, tags removed and entities decoded.
fn cells(row: &str) -> Vec<String> {
    row.split("<td").skip(1).map(|cell| unescape(strip_tags(cell.split_once('>').map_or("", |c| c.1)).trim())).collect()
}

/// The rows of a table after its header row.
fn rows(table: &str) -> Vec<Vec<String>> {
    let table = table.split("</table>").next().unwrap_or("");
    table.split("<tr>").skip(2).map(cells).filter(|c| !c.is_empty()).collect()
}

/// The names in a table's header row, after the first `skip` columns.
fn headers(table: &str, skip: usize) -> Vec<String> {
    let head = table.split("</tr>").next().unwrap_or("");
    head.split("<th")
        .skip(1 + skip)
        .map(|h| unescape(strip_tags(h.split_once('>').map_or("", |c| c.1)).trim()))
        .collect()
}

fn strip_tags(text: &str) -> String {
    let text = text.split("</td>").next().unwrap_or(text).split("</th>").next().unwrap_or(text);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()),
        ) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! Go's analyses as goldens: the goroutine pages of `go tool trace -http` and the four
//! profiles of `go tool trace -pprof=KIND`, turned into the compared text forms of
//! `trace_analysis::golden`, stored next to each fixture or compared live with ours.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use trace_analysis::{Intervals, ProfileKind, golden, pprof};
use trace_format::ir::TraceIr;

use crate::go::Toolchain;
use crate::{Result, root};

/// The analyses compared with Go, each stored as `<fixture>.<name>.gz`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Analysis {
    /// The `/goroutines` and `/goroutine?name=` pages.
    Goroutines,
    /// `-pprof=net`, `sync`, `syscall` and `sched`.
    Profiles,
}

impl Analysis {
    pub const ALL: [Analysis; 2] = [Analysis::Goroutines, Analysis::Profiles];

    pub fn name(self) -> &'static str {
        match self {
            Analysis::Goroutines => "goroutines",
            Analysis::Profiles => "profiles",
        }
    }

    /// Where the golden of `trace` is stored.
    pub fn golden_path(self, trace: &Path) -> PathBuf {
        trace.with_extension(format!("{}.gz", self.name()))
    }

    /// Go's output for `trace` in the compared form.
    fn go(self, go: &Toolchain, trace: &Path) -> Result<Vec<String>> {
        match self {
            Analysis::Goroutines => {
                let server = Server::start(go, trace)?;
                server.goroutine_pages()
            }
            Analysis::Profiles => {
                let mut all = Vec::new();
                for kind in ProfileKind::ALL {
                    let output = go
                        .trace_tool()
                        .arg(format!("-pprof={}", kind.name()))
                        .arg(trace)
                        .output()
                        .map_err(|e| e.to_string())?;
                    if !output.status.success() {
                        return Err(format!(
                            "Go's -pprof={} failed on {}: {}",
                            kind.name(),
                            trace.display(),
                            String::from_utf8_lossy(&output.stderr)
                        ));
                    }
                    all.push((kind, pprof::decode(&output.stdout)?));
                }
                Ok(golden::profiles(&all))
            }
        }
    }

    /// Our output for `trace` in the compared form.
    fn ours(self, trace: &Path) -> Result<Vec<String>> {
        let bytes = std::fs::read(trace).map_err(|e| format!("cannot read {}: {e}", trace.display()))?;
        let ir = TraceIr::from_trace(&bytes).map_err(|e| e.to_string())?;
        let summary = trace_analysis::summarize(&ir);
        Ok(match self {
            Analysis::Goroutines => golden::goroutine_pages(&summary),
            Analysis::Profiles => {
                let all = Intervals::goroutines(&summary, None);
                let profiles: Vec<_> =
                    ProfileKind::ALL.into_iter().map(|k| (k, trace_analysis::profile(&ir, k, &all))).collect();
                // Our profile goes through pprof's format and back, as Go's does.
                let decoded: Result<Vec<_>> =
                    profiles.into_iter().map(|(k, r)| Ok((k, pprof::decode(&pprof::encode(&r))?))).collect();
                golden::profiles(&decoded?)
            }
        })
    }
}

/// Stores Go's analyses of `trace`; returns the bytes written.
pub fn bless(go: &Toolchain, trace: &Path) -> Result<usize> {
    let mut total = 0;
    for analysis in Analysis::ALL {
        let lines = analysis.go(go, trace)?;
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        for line in &lines {
            writeln!(gz, "{line}").map_err(|e| e.to_string())?;
        }
        let bytes = gz.finish().map_err(|e| e.to_string())?;
        let path = analysis.golden_path(trace);
        std::fs::write(&path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("{:>9} {}", bytes.len(), path.strip_prefix(root()).unwrap_or(&path).display());
        total += bytes.len();
    }
    Ok(total)
}

/// Checks that `go tool pprof -top` opens our profiles of `trace`.
fn pprof_opens_ours(go: &Toolchain, trace: &Path) -> Result<()> {
    let bytes = std::fs::read(trace).map_err(|e| format!("cannot read {}: {e}", trace.display()))?;
    let ir = TraceIr::from_trace(&bytes).map_err(|e| e.to_string())?;
    let summary = trace_analysis::summarize(&ir);
    let all = Intervals::goroutines(&summary, None);
    let dir = root().join("target").join("oracle");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for kind in ProfileKind::ALL {
        let path = dir.join(format!("{}.pb.gz", kind.name()));
        std::fs::write(&path, pprof::encode(&trace_analysis::profile(&ir, kind, &all))).map_err(|e| e.to_string())?;
        let output = go.go().args(["tool", "pprof", "-top"]).arg(&path).output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!(
                "go tool pprof -top cannot read our {} profile of {}: {}",
                kind.name(),
                trace.display(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(())
}

/// Compares our analyses of `trace` with Go's, live; prints what differs.
pub fn compare(go: &Toolchain, trace: &Path) -> Result<bool> {
    pprof_opens_ours(go, trace)?;
    println!("{}: go tool pprof -top opens our four profiles", trace.display());
    let mut same = true;
    for analysis in Analysis::ALL {
        let (theirs, ours) = (analysis.go(go, trace)?, analysis.ours(trace)?);
        let name = format!("{} ({})", trace.display(), analysis.name());
        if theirs == ours {
            println!("{name}: identical ({} lines)", ours.len());
            continue;
        }
        same = false;
        println!("{name}: differs");
        let (go_only, our_only) = difference(&theirs, &ours);
        for line in go_only.iter().take(10) {
            println!("  Go only:      {line}");
        }
        for line in our_only.iter().take(10) {
            println!("  gotrace only: {line}");
        }
    }
    Ok(same)
}

/// The lines only in `a` and only in `b` (both sorted).
fn difference<'a>(a: &'a [String], b: &'a [String]) -> (Vec<&'a String>, Vec<&'a String>) {
    let only = |x: &'a [String], y: &[String]| x.iter().filter(|l| y.binary_search(l).is_err()).collect();
    (only(a, b), only(b, a))
}

/// `go tool trace -http` serving one trace on a free loopback port, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(go: &Toolchain, trace: &Path) -> Result<Server> {
        // A port the system just handed out is free, barring a race nobody else runs here.
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let child = go
            .trace_tool()
            .arg(format!("-http=127.0.0.1:{port}"))
            .arg(trace)
            .env("BROWSER", "none")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run go tool trace: {e}"))?;
        let server = Server { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if server.get("/goroutines", &[]).is_ok() {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(format!("go tool trace -http did not answer on {} within 2 minutes", server.base));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<String> {
        let mut request = ureq::get(&format!("{}{path}", self.base));
        for (key, value) in query {
            request = request.query(key, value);
        }
        let response = request.call().map_err(|e| format!("GET {path}: {e}"))?;
        response.into_string().map_err(|e| format!("GET {path}: {e}"))
    }

    /// The goroutine list and every group's page, in the compared form.
    fn goroutine_pages(&self) -> Result<Vec<String>> {
        let list = self.get("/goroutines", &[])?;
        let mut lines = Vec::new();
        let groups = html_tables(&list).into_iter().next().ok_or("no table on /goroutines")?;
        for row in groups.iter().skip(1) {
            let [shown, count, exec] = &row[..] else { return Err(format!("unexpected row on /goroutines: {row:?}")) };
            lines.push(golden::group_line(shown, count.parse().map_err(|_| "bad count")?, go_duration(exec)?));
            let name = if shown == golden::UNNAMED_GROUP { "" } else { shown.as_str() };
            let page = self.get("/goroutine", &[("name", name)])?;
            let tables = html_tables(&page);
            let [summary, breakdown, ranges] = &tables[..] else {
                return Err(format!("expected three tables on the page of {name}, found {}", tables.len()));
            };
            let share = summary
                .iter()
                .find(|r| r.first().is_some_and(|c| c == "Execution Time:"))
                .and_then(|r| r.get(1))
                .ok_or("no execution time share")?;
            lines.push(golden::share_line(name, share.trim_end_matches("of total program execution time").trim()));
            // Breakdown: goroutine, total, the bar, then one column per category.
            let header = breakdown.first().ok_or("no breakdown header")?;
            for row in breakdown.iter().skip(1) {
                let cells = columns(&header[3..], &row[3..])?;
                lines.push(golden::breakdown_line(name, parse_id(&row[0])?, go_duration(&row[1])?, &cells));
            }
            let header = ranges.first().ok_or("no ranges header")?;
            for row in ranges.iter().skip(1) {
                let cells = columns(&header[2..], &row[2..])?;
                lines.push(golden::range_line(name, parse_id(&row[0])?, go_duration(&row[1])?, &cells));
            }
        }
        lines.sort();
        Ok(lines)
    }
}

fn parse_id(cell: &str) -> Result<i64> {
    cell.parse().map_err(|_| format!("not a goroutine ID: {cell:?}"))
}

fn columns(header: &[String], cells: &[String]) -> Result<Vec<(String, i64)>> {
    if header.len() != cells.len() {
        return Err(format!("a row has {} cells under {} columns", cells.len(), header.len()));
    }
    header.iter().zip(cells).map(|(h, c)| Ok((h.clone(), go_duration(c)?))).collect()
}

/// The tables of an HTML page: rows of cells (`th` and `td`), as text without tags.
fn html_tables(html: &str) -> Vec<Vec<Vec<String>>> {
    let mut tables = Vec::new();
    for table in html.split("<table").skip(1) {
        let table = table.split("</table>").next().unwrap_or_default();
        let mut rows = Vec::new();
        for row in table.split("<tr").skip(1) {
            let row = row.split("</tr>").next().unwrap_or_default();
            let mut cells = Vec::new();
            let mut rest = row;
            while let Some(start) = [rest.find("<td"), rest.find("<th")].into_iter().flatten().min() {
                let after = &rest[start + 3..];
                let Some(open_end) = after.find('>') else { break };
                let body = &after[open_end + 1..];
                let end = [body.find("</td>"), body.find("</th>")].into_iter().flatten().min().unwrap_or(body.len());
                cells.push(html_text(&body[..end]));
                rest = &body[end..];
            }
            rows.push(cells);
        }
        tables.push(rows);
    }
    tables
}

/// The text of an HTML fragment: tags dropped, the entities Go's templates write decoded.
fn html_text(fragment: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&nbsp;", "")
        .replace("&#43;", "+")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    text.trim().to_owned()
}

/// Parses a duration as Go's `time.Duration.String` prints it (`1h2m3.5s`, `1.5ms`, `768ns`,
/// `0s`) into nanoseconds, exactly.
fn go_duration(text: &str) -> Result<i64> {
    let bad = || format!("not a Go duration: {text:?}");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let (number, tail) = rest.split_at(number_end);
        let unit_end = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale: i128 = match unit {
            "ns" => 1,
            "µs" | "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let whole: i128 = whole.parse().map_err(|_| bad())?;
        let mut value = whole * scale;
        let mut digit_scale = scale;
        for digit in fraction.chars() {
            digit_scale /= 10;
            value += i128::from(digit.to_digit(10).ok_or_else(bad)?) * digit_scale;
        }
        total += value;
        rest = tail;
    }
    let total = i64::try_from(total).map_err(|_| bad())?;
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::{go_duration, html_tables};

    #[test]
    fn parses_go_durations() {
        assert_eq!(go_duration("0s"), Ok(0));
        assert_eq!(go_duration("768ns"), Ok(768));
        assert_eq!(go_duration("1.592896ms"), Ok(1_592_896));
        assert_eq!(go_duration("859.072µs"), Ok(859_072));
        assert_eq!(go_duration("1m2.000000001s"), Ok(62_000_000_001));
        assert_eq!(go_duration("1h0m0s"), Ok(3_600_000_000_000));
        assert!(go_duration("12 parsecs").is_err());
    }

    #[test]
    fn reads_table_cells() {
        let html =
            "<table><tr><th> A</th><th>B</th></tr><tr><td> <a href=\"x\">1</a> </td><td> 2&#43;3</td></tr></table>";
        assert_eq!(html_tables(html), vec![vec![vec!["A", "B"], vec!["1", "2+3"]]]);
    }
}

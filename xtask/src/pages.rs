//! Go's analyses as goldens: the goroutine pages of `go tool trace -http` and the four
//! profiles of `go tool trace -pprof=KIND`, turned into the compared text forms of
//! `trace_analysis::golden`, stored next to each fixture or compared live with ours.

use std::io::{Read, Write};
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
    /// The `/usertasks`, `/usertask`, `/userregions` and `/userregion` pages.
    Tasks,
    /// The MMU plots of `/mmu`.
    Mmu,
    /// The profiles of each goroutine group and region type (`/io?name=`, `/regionio?type=&pc=`, ...).
    ScopedProfiles,
}

impl Analysis {
    pub const ALL: [Analysis; 5] =
        [Analysis::Goroutines, Analysis::Profiles, Analysis::Tasks, Analysis::Mmu, Analysis::ScopedProfiles];

    pub fn name(self) -> &'static str {
        match self {
            Analysis::Goroutines => "goroutines",
            Analysis::Profiles => "profiles",
            Analysis::Tasks => "tasks",
            Analysis::Mmu => "mmu",
            Analysis::ScopedProfiles => "scoped-profiles",
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
            Analysis::Tasks => {
                let server = Server::start(go, trace)?;
                server.task_and_region_pages()
            }
            Analysis::Mmu => {
                let server = Server::start(go, trace)?;
                server.mmu_plots()
            }
            Analysis::ScopedProfiles => {
                let server = Server::start(go, trace)?;
                server.scoped_profiles()
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
            Analysis::Tasks => golden::task_and_region_pages(&ir, &summary),
            Analysis::Mmu => golden::mmu_plots(&ir),
            Analysis::ScopedProfiles => golden::scoped_profiles(&ir, &summary),
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

impl Server {
    /// The task and region pages, in the compared form.
    fn task_and_region_pages(&self) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        for row in top_level_rows(&self.get("/usertasks", &[])?) {
            let (name, count, histogram) = histogram_row(&row)?;
            lines.push(golden::task_type_line(&name, count.parse().map_err(|_| "bad task count")?, &histogram));
            let page = self.get("/usertask", &[("type", &name)])?;
            let table = html_tables(&page).into_iter().last().ok_or("no task table")?;
            let mut task = 0;
            for cells in table.iter().skip(1) {
                let [when, elapsed, goroutine, what] = &cells[..] else {
                    return Err(format!("unexpected task row {cells:?}"));
                };
                let since_start = seconds_as_nanos(when.trim_end_matches('s'))?;
                if let Some(rest) = what.strip_prefix("Task ") {
                    // A task's first row: "Task ID (goroutine view) (complete)".
                    task = rest.split_whitespace().next().and_then(|id| id.parse().ok()).ok_or("bad task ID")?;
                    let complete = what.ends_with("(complete)");
                    lines.push(golden::task_line(task, since_start, go_duration(elapsed)?, complete));
                } else {
                    lines.push(golden::task_event_line(task, since_start, goroutine, what));
                }
            }
        }
        for row in top_level_rows(&self.get("/userregions", &[])?) {
            let (place, count, histogram) = histogram_row(&row)?;
            lines.push(golden::region_type_line(&place, count.parse().map_err(|_| "bad region count")?, &histogram));
            let (name, pc) = region_query(&place)?;
            let page = self.get("/userregion", &[("type", &name), ("pc", &pc)])?;
            let tables = html_tables(&page);
            let [_, breakdown, ranges] = &tables[..] else {
                return Err(format!("expected three tables on the page of region {place}, found {}", tables.len()));
            };
            let header = breakdown.first().ok_or("no breakdown header")?;
            for row in breakdown.iter().skip(1) {
                let cells = columns(&header[4..], &row[4..])?;
                lines.push(golden::region_line(&place, parse_id(&row[0])?, &row[1], go_duration(&row[2])?, &cells));
            }
            let header = ranges.first().ok_or("no ranges header")?;
            for row in ranges.iter().skip(1) {
                let cells = columns(&header[3..], &row[3..])?;
                lines.push(golden::region_range_line(
                    &place,
                    parse_id(&row[0])?,
                    &row[1],
                    go_duration(&row[2])?,
                    &cells,
                ));
            }
        }
        lines.sort();
        Ok(lines)
    }
}

impl Server {
    /// A profile Go's page serves raw (`raw=1`).
    fn raw_profile(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<trace_analysis::ProfileRecord>> {
        let mut request = ureq::get(&format!("{}{path}", self.base)).query("raw", "1");
        for (key, value) in query {
            request = request.query(key, value);
        }
        let response = request.call().map_err(|e| format!("GET {path}: {e}"))?;
        let mut bytes = Vec::new();
        response.into_reader().read_to_end(&mut bytes).map_err(|e| format!("GET {path}: {e}"))?;
        pprof::decode(&bytes)
    }

    /// The profiles of every goroutine group and region type, in the compared form.
    fn scoped_profiles(&self) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        let list = self.get("/goroutines", &[])?;
        let groups = html_tables(&list).into_iter().next().ok_or("no table on /goroutines")?;
        for row in groups.iter().skip(1) {
            let shown = row.first().ok_or("empty row on /goroutines")?;
            let name = if shown == golden::UNNAMED_GROUP { "" } else { shown.as_str() };
            for kind in ProfileKind::ALL {
                let records = self.raw_profile(&format!("/{}", kind.page()), &[("name", name)])?;
                lines.extend(golden::scoped_profile_lines(&golden::group_scope(name), kind, &records));
            }
        }
        for row in top_level_rows(&self.get("/userregions", &[])?) {
            let (place, _, _) = histogram_row(&row)?;
            let (name, pc) = region_query(&place)?;
            for kind in ProfileKind::ALL {
                let records = self.raw_profile(&format!("/region{}", kind.page()), &[("type", &name), ("pc", &pc)])?;
                lines.extend(golden::scoped_profile_lines(&format!("region {place}"), kind, &records));
            }
        }
        lines.sort();
        Ok(lines)
    }

    /// The MMU plots for the compared flag sets.
    fn mmu_plots(&self) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        for flags in golden::MMU_FLAG_SETS {
            let names = flags.names();
            // Go's page fails on traces without the GOMAXPROCS metric (Go 1.21 and older).
            let Ok(text) = self.get("/mmu", &[("mode", "plot"), ("flags", &names)]) else {
                lines.push(golden::mmu_none_line(&names));
                continue;
            };
            let plot: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("MMU plot: {e}"))?;
            let int = |key: &str| plot[key].as_i64().ok_or_else(|| format!("MMU plot without {key}"));
            lines.push(golden::mmu_range_line(&names, int("xMin")?, int("xMax")?));
            let curve = plot["curve"].as_array().ok_or("MMU plot without a curve")?;
            for (i, point) in curve.iter().enumerate() {
                let value = |j: usize| point[j].as_f64().ok_or("bad MMU point");
                lines.push(golden::mmu_point_line(&names, i, value(0)?, value(1)?));
            }
        }
        lines.sort();
        Ok(lines)
    }
}

/// The rows of the outermost table of Go's task and region lists, whose cells hold tables.
fn top_level_rows(html: &str) -> Vec<String> {
    html.split("\n  <tr>\n").skip(1).map(|row| row.split("\n  </tr>").next().unwrap_or_default().to_owned()).collect()
}

/// A row of the task or region list: its first cell, its count, and its histogram in the
/// compared form.
fn histogram_row(row: &str) -> Result<(String, String, String)> {
    let cell = |s: &str| s.split_once("<td>").map(|(_, r)| r.split("</td>").next().unwrap_or_default().to_owned());
    let first = cell(row).ok_or("no first cell")?;
    let after_first = row.split_once("</td>").map(|(_, r)| r).unwrap_or_default();
    let count = html_text(&cell(after_first).ok_or("no count cell")?);
    let mut buckets = Vec::new();
    for part in row.split("class=\"histoTime\" align=\"right\">").skip(1) {
        let label = html_text(part.split("</td>").next().unwrap_or_default());
        let count_div = "<td align=\"right\"><div style=\"position:relative\">";
        let n = part.split_once(count_div).and_then(|(_, r)| r.split("</div>").next()).ok_or("no bucket count")?;
        buckets.push((go_duration(&label)?, n.parse().map_err(|_| "bad bucket count")?));
    }
    Ok((html_text(&first.replace("<br>", "|")), count, golden::histogram_text(&buckets)))
}

/// The type and hex PC that Go's region pages take, from a region list's first cell (where
/// the type is Go-quoted).
fn region_query(place: &str) -> Result<(String, String)> {
    let (quoted, rest) = place.split_once('|').ok_or("bad region cell")?;
    let pc = rest.split_once(" @ 0x").and_then(|(_, r)| r.split('|').next()).ok_or("no region PC")?;
    Ok((unquote(quoted)?, pc.to_owned()))
}

/// Seconds printed with nine decimals (`0.003041600`) as nanoseconds, exactly.
fn seconds_as_nanos(text: &str) -> Result<i64> {
    let (whole, fraction) = text.trim().split_once('.').ok_or_else(|| format!("not seconds: {text:?}"))?;
    let parse = |s: &str| s.trim().parse::<i64>().map_err(|_| format!("not seconds: {text:?}"));
    Ok(parse(whole)? * 1_000_000_000 + parse(fraction)?)
}

/// The text of a Go-quoted string (`"a\"b"`), for the escapes Go's `%q` writes in type names.
fn unquote(quoted: &str) -> Result<String> {
    let inner = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).ok_or("not a quoted string")?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(c @ ('"' | '\\')) => out.push(c),
            other => return Err(format!("unsupported escape \\{other:?} in {quoted}")),
        }
    }
    Ok(out)
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

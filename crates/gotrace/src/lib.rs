//! The commands of the `gotrace` tool as functions, so that the binary stays a thin layer
//! of argument parsing and other tools (such as the project's `xtask`) can call them.
//!
//! Every command reads a trace through `trace-format` and writes text to the writer it is
//! given; errors are [`CommandError`]s whose messages are meant for the person at the terminal.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use trace_format::ir::TraceIr;
use trace_format::text::{DumpError, write_parsed_dump_with_progress, write_wire_dump};
use trace_format::{BatchKind, TraceFile, WireSummary};

mod analysis;
mod critical;
mod diff;

pub use analysis::{
    AnalyzeOptions, GoroutinesOptions, ProfileScope, analyze, goroutines, human_duration, mmu, regions, tasks,
    write_profile,
};
pub use critical::{CriticalPathOptions, PathTarget, critical_path_command};
pub use diff::{DiffFormat, DiffOptions, FailOn, diff};

/// Why a command failed.
#[derive(Debug)]
pub enum CommandError {
    /// The trace file could not be opened or mapped.
    Open {
        /// The path given.
        path: PathBuf,
        /// The operating system's reason.
        error: io::Error,
    },
    /// The trace is damaged or not a trace; what could be read was written first.
    Trace(trace_format::Error),
    /// Writing the output failed (a closed pipe, a full disk).
    Write(io::Error),
    /// An IR file made from a damaged trace: the error reading that trace met, as it was
    /// reported then.
    Stored(String),
    /// The file is an IR file that cannot be read, or one given to a command that needs the
    /// trace itself.
    Ir(String),
    /// The arguments ask for something the trace does not have (a goroutine group, a task).
    Usage(String),
    /// The viewer's server could not start (the address is taken, no random source).
    Serve(io::Error),
    /// `diff`: gated metrics regressed (or changed, with `--fail-on change`).
    Regressed {
        /// How many.
        count: usize,
        /// `regressions` or `changes`.
        what: &'static str,
    },
    /// `analyze --fail-on`: the report has findings of that severity or worse.
    Findings {
        /// How many.
        count: usize,
        /// The severity asked for.
        severity: trace_analysis::Severity,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Open { path, error } => write!(f, "cannot open {}: {error}", path.display()),
            CommandError::Trace(error) => write!(f, "{error}"),
            CommandError::Write(error) => write!(f, "cannot write the output: {error}"),
            CommandError::Stored(message) => f.write_str(message),
            CommandError::Ir(message) => f.write_str(message),
            CommandError::Usage(message) => f.write_str(message),
            CommandError::Serve(error) => write!(f, "cannot start the viewer: {error}"),
            CommandError::Regressed { count, what } => write!(f, "{count} gated {what} (see above)"),
            CommandError::Findings { count, severity } => write!(
                f,
                "{count} finding{} of severity {} or worse (--fail-on {})",
                if *count == 1 { "" } else { "s" },
                severity.name(),
                severity.name()
            ),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<io::Error> for CommandError {
    fn from(error: io::Error) -> CommandError {
        CommandError::Write(error)
    }
}

fn open(path: &Path) -> Result<TraceFile, CommandError> {
    TraceFile::open(path).map_err(|error| CommandError::Open { path: path.to_owned(), error })
}

/// `gotrace dump --wire`: writes every record of the trace as `go tool trace -d=wire` does.
pub fn dump_wire(path: &Path, out: &mut dyn Write) -> Result<(), CommandError> {
    let file = open(path)?;
    reject_ir(path, file.bytes())?;
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let result = write_wire_dump(file.bytes(), &mut out);
    out.flush()?;
    dump_result(result)
}

/// `gotrace dump`: writes every event of the ordered stream as `go tool trace -d=parsed` does.
/// Reads a trace, or an IR file made by `gotrace ir` (with the same output).
pub fn dump_parsed(path: &Path, out: &mut dyn Write) -> Result<(), CommandError> {
    let file = open(path)?;
    if !TraceIr::is_ir(file.bytes()) {
        return dump_trace_parsed(&file, out);
    }
    let ir = TraceIr::from_bytes(file.bytes()).map_err(|e| CommandError::Ir(format!("{}: {e}", path.display())))?;
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let stored = ir.write_parsed_dump(&mut out)?;
    out.flush()?;
    stored.map_or(Ok(()), |error| Err(CommandError::Stored(error.message.clone())))
}

/// The ordered dump of a trace, letting go of the pages of the file already read so that
/// memory stays bounded on traces of any size.
fn dump_trace_parsed(file: &TraceFile, out: &mut dyn Write) -> Result<(), CommandError> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let result = write_parsed_dump_with_progress(file.bytes(), &mut out, |done| file.release_before(done));
    out.flush()?;
    dump_result(result)
}

/// The command's view of a dump's outcome.
fn dump_result(result: Result<(), DumpError>) -> Result<(), CommandError> {
    match result {
        Ok(()) => Ok(()),
        Err(DumpError::Trace(error)) => Err(CommandError::Trace(error)),
        Err(DumpError::Write(error)) => Err(CommandError::Write(error)),
    }
}

/// A progress bar over the bytes of a trace, drawn on stderr only when it is a terminal.
fn progress_bar(total: u64, what: &'static str) -> indicatif::ProgressBar {
    styled_bar(total, what, "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)")
}

/// A progress bar counting events.
fn events_bar(total: u64, what: &'static str) -> indicatif::ProgressBar {
    styled_bar(total, what, "{msg} [{bar:40}] {human_pos}/{human_len} events ({eta} left)")
}

fn styled_bar(total: u64, what: &'static str, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what);
    bar
}

/// Refuses IR files in commands that need the raw records of the trace itself.
fn reject_ir(path: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    if TraceIr::is_ir(bytes) {
        return Err(CommandError::Ir(format!(
            "{} is an IR file, which holds the ordered events but not the raw records this command reads: \
             give it the trace the IR was made from",
            path.display()
        )));
    }
    Ok(())
}

/// Loads a trace, or an IR file made by `gotrace ir`, into the in-memory IR: what every
/// command that analyses or shows events works on. A progress bar is drawn on a terminal while
/// a trace is read. A damaged trace gives the IR of what came before the damage, with the
/// error kept in it ([`TraceIr::error`]); the caller decides how to report it.
pub fn load_ir(path: &Path) -> Result<TraceIr, CommandError> {
    let file = open(path)?;
    if TraceIr::is_ir(file.bytes()) {
        return TraceIr::from_bytes(file.bytes()).map_err(|e| CommandError::Ir(format!("{}: {e}", path.display())));
    }
    let bar = progress_bar(file.len() as u64, "reading");
    let ir = TraceIr::from_trace_with_progress(file.bytes(), |done| {
        bar.set_position(done);
        file.release_before(done);
    });
    bar.finish_and_clear();
    ir.map_err(CommandError::Trace)
}

/// `gotrace ir`: reads the whole trace into the intermediate representation and stores it
/// at `output`. Returns the number of events and the stored size.
pub fn write_ir(path: &Path, output: &Path) -> Result<(u64, usize), CommandError> {
    reject_ir(path, open(path)?.bytes())?;
    let ir = load_ir(path)?;
    let file = std::fs::File::create(output).map_err(CommandError::Write)?;
    let mut out = io::BufWriter::new(file);
    ir.write_to(&mut out).and_then(|()| out.flush()).map_err(CommandError::Write)?;
    let size = std::fs::metadata(output).map_err(CommandError::Write)?.len();
    Ok((ir.event_count(), size as usize))
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

/// Formats an integer with thousands separators, for numbers a person reads.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn batch_kind_name(kind: BatchKind) -> String {
    match kind {
        BatchKind::Events => "events".into(),
        BatchKind::Strings => "string table".into(),
        BatchKind::Stacks => "stack table".into(),
        BatchKind::CpuSamples => "CPU samples".into(),
        BatchKind::Sync => "clock (sync/frequency)".into(),
        BatchKind::Experimental(exp) => {
            let name = trace_format::spec::EXPERIMENTS.get(usize::from(exp)).copied().unwrap_or("unknown");
            format!("experiment {exp} ({name})")
        }
    }
}

/// How `gotrace view` serves the timeline.
pub struct ViewSettings {
    /// The address to listen on; loopback with a free port unless the user chose one.
    pub addr: std::net::SocketAddr,
    /// Whether to open a browser on the URL.
    pub open_browser: bool,
}

/// `gotrace view`: loads the trace, builds the timeline index and serves the viewer until the
/// process is stopped. `ready` is called with the URL (token included) once it is served.
pub fn view(path: &Path, settings: &ViewSettings, ready: impl FnOnce(&str)) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    if let Some(error) = ir.error() {
        eprintln!("gotrace: the trace is damaged; showing what came before: {}", error.message);
    }
    let bar = events_bar(ir.event_count(), "indexing");
    let loaded = trace_viewer::Loaded::new_with_progress(ir, |done| bar.set_position(done));
    bar.finish_and_clear();
    let loaded = std::sync::Arc::new(loaded);
    let token = trace_viewer::random_token().map_err(CommandError::Serve)?;
    let server = trace_viewer::Server::start(loaded, settings.addr, token).map_err(CommandError::Serve)?;
    let url = server.url();
    ready(&url);
    if settings.open_browser {
        open_browser(&url);
    }
    server.wait();
    Ok(())
}

/// Asks the desktop to open `url`; a machine without one just keeps the printed URL.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// `gotrace export --chrome`: writes the trace's timeline as Chrome trace-event JSON (what
/// Perfetto's UI opens) to `output`.
pub fn export_chrome(path: &Path, output: &Path) -> Result<(), CommandError> {
    let ir = load_ir(path)?;
    let bar = events_bar(ir.event_count(), "indexing");
    let timeline = trace_viewer::timeline::Timeline::build_with_progress(&ir, |done| bar.set_position(done));
    bar.finish_and_clear();
    let file = std::fs::File::create(output).map_err(CommandError::Write)?;
    trace_viewer::chrome::write_chrome_trace(&timeline, file).map_err(CommandError::Write)?;
    ir.error().map_or(Ok(()), |error| Err(CommandError::Stored(error.message.clone())))
}

/// Writes the wire-level summary (the file's layout) of a trace.
fn write_summary(path: &Path, s: &WireSummary, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Trace        {} ({} bytes)", path.display(), grouped(s.file_size))?;
    writeln!(out, "Format       {} trace, written by {}", s.version, s.version.written_by())?;
    let span = match (s.generations.first(), s.generations.last()) {
        (Some(first), Some(last)) if first != last => format!(", numbered {first} to {last}"),
        (Some(first), _) => format!(", numbered {first}"),
        _ => String::new(),
    };
    writeln!(out, "Generations  {}{span}", s.generations.len())?;
    writeln!(out, "Threads      {} wrote batches", s.threads.len())?;
    let batches = s.batches.values().map(|t| t.count).sum::<u64>();
    writeln!(out, "\nBatches      {}", grouped(batches))?;
    writeln!(out, "  {:<28} {:>10} {:>14} {:>7}", "kind", "count", "bytes", "%")?;
    for (kind, tally) in &s.batches {
        writeln!(
            out,
            "  {:<28} {:>10} {:>14} {:>6.2}%",
            batch_kind_name(*kind),
            grouped(tally.count),
            grouped(tally.bytes),
            percent(tally.bytes, s.file_size)
        )?;
    }
    let total = s.total_records();
    writeln!(out, "\nRecords      {} ({} bytes)", grouped(total.count), grouped(total.bytes))?;
    writeln!(out, "  {:<28} {:>10} {:>7} {:>14} {:>7}", "event", "count", "%", "bytes", "%")?;
    let mut rows: Vec<_> = s.records.iter().collect();
    // Largest share of the file first, as Go's footprint table does; ties by type for stable output.
    rows.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
    for (ty, tally) in rows {
        writeln!(
            out,
            "  {:<28} {:>10} {:>6.2}% {:>14} {:>6.2}%",
            ty.name(),
            grouped(tally.count),
            percent(tally.count, total.count),
            grouped(tally.bytes),
            percent(tally.bytes, total.bytes)
        )?;
    }
    if s.version.has_end_of_generation() {
        writeln!(out, "  {:<28} {:>10}", "EndOfGeneration", grouped(s.end_of_generation))?;
    }
    if s.error.is_some() {
        writeln!(out, "\nThe trace is damaged: the counts above cover everything before the damage.")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}

//! `gotrace`: reads Go execution traces and shows what the goroutines did.

use std::io::{self, ErrorKind, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gotrace::CommandError;

/// Read Go execution traces (from runtime/trace, `go test -trace`, or /debug/pprof/trace)
/// and show what the goroutines did.
#[derive(Parser)]
#[command(name = "gotrace", version, about, long_about = None)]
#[command(after_help = "Examples:\n  \
    gotrace analyze trace.out          Summarize a trace\n  \
    gotrace dump --wire trace.out      Print every raw record, as `go tool trace -d=wire` does")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a report on a trace to read top to bottom: an overview, findings in plain
    /// language, goroutine groups by where their time went, the top places goroutines waited
    /// (network, synchronization, syscalls, scheduler), the slowest tasks and regions, the
    /// minimum mutator utilization, and the file's layout.
    #[command(after_help = "Examples:\n  \
        gotrace analyze trace.out\n  \
        gotrace analyze trace.out --json | jq .findings\n  \
        gotrace analyze trace.out --fail-on problem     Exit with status 1 if a finding is a problem (for CI)\n\n\
        Each finding has a kind: cpu-saturated, scheduling-latency, tiny-goroutines, long-wait,\n\
        http-shutdown-waits-for-idle-connections, goroutine-leak, serializing-lock, gc-pressure,\n\
        blocking-syscalls, timer-polling or critical-path; and a severity: problem (costs the program\n\
        time and can be fixed) or note.")]
    Analyze {
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// Print the report as JSON (times in nanoseconds).
        #[arg(long)]
        json: bool,
        /// After the report, exit with status 1 if a finding has this severity or worse:
        /// `problem`, or `note` for any finding.
        #[arg(long, value_name = "SEVERITY", value_parser = ["problem", "note"])]
        fail_on: Option<String>,
    },
    /// Show the goroutines grouped by start function, ranked by execution time, with where
    /// their time went: running, waiting for a CPU, blocked (network, synchronization, other),
    /// in system calls. The numbers are those of `go tool trace`'s goroutine pages.
    #[command(after_help = "Examples:\n  \
        gotrace goroutines trace.out                                  The groups\n  \
        gotrace goroutines trace.out --group 'net/http.(*conn).serve'  Each goroutine of one group\n  \
        gotrace goroutines trace.out --json | jq '.groups[0]'         As data")]
    Goroutines {
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// Show each goroutine of the group with this start function.
        #[arg(long)]
        group: Option<String>,
        /// Print JSON instead of a table (times in nanoseconds).
        #[arg(long)]
        json: bool,
    },
    /// Write a pprof profile of where goroutines waited, as `go tool trace -pprof=KIND` does:
    /// net (blocked on the network), sync (on channels, select, sync primitives), syscall (in
    /// system calls) or sched (runnable, waiting for a CPU). Open it with `go tool pprof`.
    #[command(after_help = "Examples:\n  \
        gotrace pprof sync trace.out -o sync.pb.gz && go tool pprof -top sync.pb.gz\n  \
        gotrace pprof net trace.out -o net.pb.gz --group 'net/http.(*conn).serve'\n  \
        gotrace pprof sched trace.out -o sched.pb.gz --region fetch")]
    Pprof {
        /// Which profile: net, sync, syscall or sched.
        #[arg(value_parser = ["net", "sync", "syscall", "sched"])]
        kind: String,
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// Where to write the profile (gzipped protobuf).
        #[arg(short, long)]
        output: PathBuf,
        /// Only the goroutines with this start function.
        #[arg(long, conflicts_with_all = ["region", "task"])]
        group: Option<String>,
        /// Only the time inside regions of this type.
        #[arg(long, conflicts_with = "task")]
        region: Option<String>,
        /// Only the time inside the regions of the task with this ID.
        #[arg(long)]
        task: Option<u64>,
    },
    /// Show user tasks (runtime/trace.NewTask) by type, with the distribution of their
    /// durations; with --type, each task of that type with its events, regions and logs.
    #[command(after_help = "Examples:\n  gotrace tasks trace.out\n  gotrace tasks trace.out --type fetch")]
    Tasks {
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// Show each task of this type.
        #[arg(long = "type")]
        task_type: Option<String>,
        /// Print JSON instead of a table (times in nanoseconds).
        #[arg(long)]
        json: bool,
    },
    /// Show user regions (runtime/trace.WithRegion, StartRegion) by type and the place they
    /// began, with the distribution of their durations.
    Regions {
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// Print JSON instead of a table (times in nanoseconds).
        #[arg(long)]
        json: bool,
    },
    /// Show the minimum mutator utilization: for windows from 100 µs to 10 s, the smallest share
    /// of the CPU the program (not the garbage collector) had, and where.
    #[command(after_help = "Examples:\n  gotrace mmu trace.out\n  gotrace mmu trace.out --per-proc --no-sweep")]
    Mmu {
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// One utilization per proc, the worst proc counting, instead of the whole program.
        #[arg(long)]
        per_proc: bool,
        /// Do not count stop-the-world pauses as time lost.
        #[arg(long)]
        no_stw: bool,
        /// Do not count background mark workers as time lost.
        #[arg(long)]
        no_background: bool,
        /// Do not count mark assists as time lost.
        #[arg(long)]
        no_assist: bool,
        /// Do not count sweeping as time lost.
        #[arg(long)]
        no_sweep: bool,
        /// How many worst windows to show per window size.
        #[arg(long, default_value_t = 3)]
        worst: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the critical path of a task, of every task or region of a type, or of a goroutine
    /// between two times: who was doing what at each moment such that the end could not come
    /// sooner. The walk goes back from the end: running and system calls are on the path, a
    /// runnable goroutine waited for a CPU, a wait another goroutine ended moves the path to
    /// that goroutine, and a wait nothing in the program ended (network, timers, GC) is a leaf.
    #[command(after_help = "Examples:\n  \
        gotrace critical-path trace.out --task 7\n  \
        gotrace critical-path trace.out --task-type fetch            Median and slowest 1% of every fetch task\n  \
        gotrace critical-path trace.out --region handle --json\n  \
        gotrace critical-path trace.out --goroutine 42 --from 1000000 --to 5000000\n  \
        gotrace critical-path trace.out --task 7 --pprof path.pb.gz && go tool pprof -top path.pb.gz")]
    CriticalPath {
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// The task with this ID (`gotrace tasks --type NAME` lists them).
        #[arg(long, group = "target")]
        task: Option<u64>,
        /// Every complete task of this type, with the median and the slowest 1%.
        #[arg(long, group = "target")]
        task_type: Option<String>,
        /// Every complete region of this type, with the median and the slowest 1%.
        #[arg(long, group = "target")]
        region: Option<String>,
        /// The goroutine with this ID, over its life in the trace or --from/--to.
        #[arg(long, group = "target")]
        goroutine: Option<i64>,
        /// With --goroutine: the interval's start, in nanoseconds since the trace's first event.
        #[arg(long, requires = "goroutine")]
        from: Option<i64>,
        /// With --goroutine: the interval's end, in nanoseconds since the trace's first event.
        #[arg(long, requires = "goroutine")]
        to: Option<i64>,
        /// Keep only the part of each unblocking goroutine that contains the unblock, none of
        /// its history before it; the rest of the wait stays the waiter's.
        #[arg(long)]
        strict: bool,
        /// Print JSON instead of a table (times in nanoseconds, as the trace's events carry them).
        #[arg(long)]
        json: bool,
        /// Also write the path as a gzipped pprof profile (nanoseconds on the path by stack,
        /// under frames for the category and the goroutine group) for `go tool pprof`.
        #[arg(long, value_name = "OUT")]
        pprof: Option<PathBuf>,
    },
    /// Read a whole trace into gotrace's compact intermediate representation and store it, so
    /// that later commands skip parsing and ordering.
    #[command(after_help = "Example:\n  gotrace ir trace.out -o trace.gtir")]
    Ir {
        /// The trace file.
        file: PathBuf,
        /// Where to write the IR (by convention with the extension .gtir).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Show the trace in a browser: a timeline by proc, thread or goroutine with counters,
    /// GC, tasks and regions, and analysis pages. Serves a local page on 127.0.0.1 (nothing
    /// leaves the machine) whose URL carries a random token; stop it with Ctrl-C.
    #[command(after_help = "Examples:\n  \
        gotrace view trace.out                       Open the viewer in the default browser\n  \
        gotrace view --no-open trace.out             Only print the URL\n  \
        gotrace view --addr 127.0.0.1:8000 trace.out Serve on a fixed port")]
    View {
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// The address to listen on. Anything other than loopback makes the trace readable
        /// by whoever has the URL.
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: std::net::SocketAddr,
        /// Do not open a browser; just print the URL.
        #[arg(long)]
        no_open: bool,
    },
    /// Compare the traces of two builds (benchmark regression runs): goroutine groups, task and
    /// region types, the blocking profiles and CPU samples, GC and scheduler figures, and the
    /// critical paths of task types, matched by name. Each side is a trace (or IR file), or a
    /// directory whose every file is one sample; with --split-benchmarks, each benchmark
    /// measurement of a `go test -bench -count=N -trace` trace is a sample. Each metric gets
    /// both medians with their 95% intervals and a Mann-Whitney U test; with at least 4 samples
    /// a side, a regression is a significant change (Holm-Bonferroni over the gated metrics)
    /// of at least --threshold and at least 1 µs, 1 count, 1 KiB or 1 point of MMU.
    #[command(after_help = "Exit status: 0 when no gated metric regressed, 1 when one did, 2 for bad usage or \
        unreadable input.\n\n\
        Examples:\n  \
        gotrace diff old/ new/                                   A directory of traces a side\n  \
        gotrace diff --split-benchmarks old.trace new.trace      go test -bench . -count 8 -trace on each build\n  \
        gotrace diff old/ new/ --markdown > comment.md           For a pull request\n  \
        gotrace diff old/ new/ --gate task/ --gate group/main.   Only these metrics may fail the run\n  \
        gotrace diff old/ new/ --folded out/ && inferno-flamegraph < out/sync.folded > sync.svg")]
    Diff {
        /// The baseline: a trace, an IR file, or a directory of them.
        old: PathBuf,
        /// The build to judge: a trace, an IR file, or a directory of them.
        new: PathBuf,
        /// Make each benchmark measurement (each -count repetition) of a `go test -bench -trace`
        /// trace a sample of its own, compared benchmark by benchmark.
        #[arg(long)]
        split_benchmarks: bool,
        /// Tell stacks apart by line, not only by function.
        #[arg(long)]
        lines: bool,
        /// The significance level of the tests.
        #[arg(long, default_value_t = 0.05, value_name = "ALPHA")]
        alpha: f64,
        /// The smallest change of a median, in percent, that counts.
        #[arg(long, default_value_t = 5.0, value_name = "PERCENT")]
        threshold: f64,
        /// Only metrics whose name (`group/main.worker/execution`, `task/request/p90`, ...)
        /// contains this may fail the run; repeat for more. By default every metric with a
        /// direction of the program's goroutines, tasks, regions, profiles and the runtime.
        #[arg(long, value_name = "METRIC")]
        gate: Vec<String>,
        /// What fails the run: a regression, any significant change, or never.
        #[arg(long, default_value = "regression", value_parser = ["regression", "change", "never"])]
        fail_on: String,
        /// Print every metric as JSON.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print a Markdown table for a pull-request comment.
        #[arg(long)]
        markdown: bool,
        /// Print every metric, not only those that changed.
        #[arg(long)]
        all: bool,
        /// Write each profile's differential folded stacks (`stack old new`, the medians of each
        /// side) into this directory.
        #[arg(long, value_name = "DIR")]
        folded: Option<PathBuf>,
    },
    /// Convert a trace for other tools.
    #[command(
        after_help = "Example:\n  gotrace export --chrome trace.out -o trace.json   Then open trace.json in ui.perfetto.dev"
    )]
    Export {
        /// Write Chrome trace-event JSON (procs, threads and goroutines as lanes, counters,
        /// creation and unblock arrows), which Perfetto's UI and chrome://tracing open.
        #[arg(long, required = true)]
        chrome: bool,
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// Where to write the JSON.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print the events of a trace in order, as `go tool trace -d=parsed` does, or its raw
    /// records with --wire.
    #[command(after_help = "Examples:\n  \
        gotrace dump trace.out | less              Every event, in order\n  \
        gotrace dump --wire trace.out | less       Every raw record\n  \
        gotrace dump --wire trace.out | grep -c GoCreate    Count goroutine creations\n\n\
        On a damaged trace, everything before the damage is printed, then the error \
        (with its byte offset) goes to stderr and the exit status is 1.")]
    Dump {
        /// Print the raw wire records (batch headers, string and stack tables, events with
        /// their raw arguments) exactly as `go tool trace -d=wire` prints them. Go 1.22 and
        /// later traces.
        #[arg(long)]
        wire: bool,
        /// The trace file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = io::stdout().lock();
    let result = match &cli.command {
        Command::Analyze { file, json, fail_on } => {
            let fail_on = fail_on.as_deref().map(|s| trace_analysis::Severity::from_name(s).expect("clap checked it"));
            gotrace::analyze(file, &gotrace::AnalyzeOptions { json: *json, fail_on }, &mut stdout)
        }
        Command::Ir { file, output } => gotrace::write_ir(file, output).map(|(events, bytes)| {
            eprintln!("wrote {} events in {bytes} bytes to {}", events, output.display());
        }),
        Command::Goroutines { file, group, json } => {
            let options = gotrace::GoroutinesOptions { group: group.clone(), json: *json };
            gotrace::goroutines(file, &options, &mut stdout)
        }
        Command::Pprof { kind, file, output, group, region, task } => {
            let scope = match (group, region, task) {
                (Some(g), _, _) => gotrace::ProfileScope::Group(g.clone()),
                (_, Some(r), _) => gotrace::ProfileScope::Region(r.clone()),
                (_, _, Some(t)) => gotrace::ProfileScope::Task(*t),
                _ => gotrace::ProfileScope::All,
            };
            let kind = trace_analysis::ProfileKind::from_name(kind).expect("clap checked the name");
            gotrace::write_profile(file, kind, &scope, output).map(|records| {
                let time: i64 = records.iter().map(|r| r.time).sum();
                eprintln!(
                    "wrote {} stacks, {} in all, to {}",
                    records.len(),
                    gotrace::human_duration(time),
                    output.display()
                );
            })
        }
        Command::CriticalPath { file, task, task_type, region, goroutine, from, to, strict, json, pprof } => {
            let target = match (task, task_type, region, goroutine) {
                (Some(id), ..) => Some(gotrace::PathTarget::Task(*id)),
                (_, Some(name), ..) => Some(gotrace::PathTarget::TaskType(name.clone())),
                (_, _, Some(name), _) => Some(gotrace::PathTarget::Region(name.clone())),
                (.., Some(id)) => Some(gotrace::PathTarget::Goroutine { id: *id, from: *from, to: *to }),
                _ => None,
            };
            match target {
                Some(target) => {
                    let options = gotrace::CriticalPathOptions { target, strict: *strict, json: *json, pprof: pprof.clone() };
                    gotrace::critical_path_command(file, &options, &mut stdout)
                }
                None => Err(CommandError::Usage(
                    "say what to find the critical path of: --task ID, --task-type NAME, --region NAME or --goroutine ID \
                     (`gotrace tasks` and `gotrace goroutines` list them)"
                        .to_owned(),
                )),
            }
        }
        Command::Tasks { file, task_type, json } => gotrace::tasks(file, task_type.as_deref(), *json, &mut stdout),
        Command::Regions { file, json } => gotrace::regions(file, *json, &mut stdout),
        Command::Mmu { file, per_proc, no_stw, no_background, no_assist, no_sweep, worst, json } => {
            let flags = trace_analysis::UtilFlags {
                stw: !no_stw,
                background: !no_background,
                assist: !no_assist,
                sweep: !no_sweep,
                per_proc: *per_proc,
            };
            gotrace::mmu(file, flags, *worst, *json, &mut stdout)
        }
        Command::View { file, addr, no_open } => {
            let settings = gotrace::ViewSettings { addr: *addr, open_browser: !no_open };
            gotrace::view(file, &settings, |url| {
                // Whoever reads the URL may close the pipe afterwards; serving goes on.
                let _ =
                    writeln!(io::stdout(), "gotrace view: serving {} at {url} (press Ctrl-C to stop)", file.display());
                let _ = io::stdout().flush();
            })
        }
        Command::Diff {
            old,
            new,
            split_benchmarks,
            lines,
            alpha,
            threshold,
            gate,
            fail_on,
            json,
            markdown,
            all,
            folded,
        } => {
            let options = gotrace::DiffOptions {
                split_benchmarks: *split_benchmarks,
                lines: *lines,
                compare: trace_analysis::diff::CompareOptions {
                    alpha: *alpha,
                    threshold: threshold / 100.0,
                    gates: gate.clone(),
                },
                fail_on: match fail_on.as_str() {
                    "change" => gotrace::FailOn::Change,
                    "never" => gotrace::FailOn::Never,
                    _ => gotrace::FailOn::Regression,
                },
                format: if *json {
                    gotrace::DiffFormat::Json
                } else if *markdown {
                    gotrace::DiffFormat::Markdown
                } else {
                    gotrace::DiffFormat::Text
                },
                all: *all,
                folded: folded.clone(),
            };
            match gotrace::diff(old, new, &options, &mut stdout) {
                Ok(()) => Ok(()),
                Err(error @ CommandError::Regressed { .. }) => Err(error),
                Err(CommandError::Write(error)) => Err(CommandError::Write(error)),
                // Bad usage or unreadable input: status 2, apart from a verdict.
                Err(error) => {
                    eprintln!("gotrace: {error}");
                    return ExitCode::from(2);
                }
            }
        }
        Command::Export { file, output, .. } => gotrace::export_chrome(file, output),
        Command::Dump { file, wire: true } => gotrace::dump_wire(file, &mut stdout),
        Command::Dump { file, wire: false } => gotrace::dump_parsed(file, &mut stdout),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`gotrace dump ... | head`) is not an error worth a message.
        Err(CommandError::Write(error)) if error.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gotrace: {error}");
            ExitCode::FAILURE
        }
    }
}

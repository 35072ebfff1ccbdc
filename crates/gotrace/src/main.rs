//! `gotrace`: reads Go execution traces and shows what the goroutines did.

use std::io::{self, ErrorKind, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gotrace::CommandError;
use trace_analysis::profiles::ProfileKind;

/// Read Go execution traces (from runtime/trace, `go test -trace`, or /debug/pprof/trace)
/// and show what the goroutines did.
#[derive(Parser)]
#[command(name = "gotrace", version, about, long_about = None)]
#[command(after_help = "Examples:\n  \
    gotrace analyze trace.out          Summarize a trace\n  \
    gotrace dump --wire trace.out      Print every raw record, as `go tool trace -d=wire` does\n  \
    gotrace view trace.out             Open the timeline in a browser")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a report on a trace: its format version, generations, threads, batches, and
    /// events by type with the share of the file each takes.
    Analyze {
        /// The trace file.
        file: PathBuf,
    },
    /// Show the goroutines grouped by start function, ranked by execution time, with where
    /// their time went (execution, scheduler wait, blocking by reason, system calls) and the
    /// spread of their lifetimes. The figures are those of `go tool trace`'s goroutine pages.
    #[command(after_help = "Examples:\n  \
        gotrace goroutines trace.out\n  \
        gotrace goroutines --json trace.out | jq '.groups[0]'")]
    Goroutines {
        /// Print every group and goroutine as JSON, with exact nanoseconds.
        #[arg(long)]
        json: bool,
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
    },
    /// Write a profile of where goroutines waited, as a gzipped pprof file for `go tool pprof`:
    /// net (network), sync (channels, mutexes, select), syscall, or sched (waiting for a proc).
    #[command(after_help = "Examples:\n  \
        gotrace pprof sync trace.out -o sync.pb.gz && go tool pprof -top sync.pb.gz\n  \
        gotrace pprof sched trace.out -o sched.pb.gz && go tool pprof -http=: sched.pb.gz")]
    Pprof {
        /// Which profile.
        kind: ProfileArg,
        /// The trace file (or an IR file made by `gotrace ir`).
        file: PathBuf,
        /// Where to write the profile.
        #[arg(short, long)]
        output: PathBuf,
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

/// The profiles `gotrace pprof` writes.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ProfileArg {
    /// Time blocked on the network.
    Net,
    /// Time blocked on channels, mutexes, select and other synchronization.
    Sync,
    /// Time in system calls.
    Syscall,
    /// Time runnable but waiting for a proc (scheduler latency).
    Sched,
}

impl ProfileArg {
    fn kind(self) -> ProfileKind {
        match self {
            ProfileArg::Net => ProfileKind::Network,
            ProfileArg::Sync => ProfileKind::Sync,
            ProfileArg::Syscall => ProfileKind::Syscall,
            ProfileArg::Sched => ProfileKind::Sched,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = io::stdout().lock();
    let result = match &cli.command {
        Command::Analyze { file } => gotrace::analyze(file, &mut stdout),
        Command::Ir { file, output } => gotrace::write_ir(file, output).map(|(events, bytes)| {
            eprintln!("wrote {} events in {bytes} bytes to {}", events, output.display());
        }),
        Command::Goroutines { file, json } => gotrace::analysis::goroutines(file, *json, &mut stdout),
        Command::Pprof { kind, file, output } => gotrace::analysis::pprof(kind.kind(), file, output).map(|stacks| {
            eprintln!("wrote {stacks} stacks to {}", output.display());
        }),
        Command::View { file, addr, no_open } => {
            let settings = gotrace::ViewSettings { addr: *addr, open_browser: !no_open };
            gotrace::view(file, &settings, |url| {
                // Whoever reads the URL may close the pipe afterwards; serving goes on.
                let _ =
                    writeln!(io::stdout(), "gotrace view: serving {} at {url} (press Ctrl-C to stop)", file.display());
                let _ = io::stdout().flush();
            })
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

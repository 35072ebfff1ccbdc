//! The findings of the report on traces made to show one pattern each (`fixtures/findings`,
//! see its README), and on the other fixtures: each pattern is found where it was put, with
//! its numbers, and is silent everywhere else.

use std::collections::BTreeSet;
use std::path::Path;

use trace_analysis::{Finding, FindingKind, Quantity, Severity, SubjectKind, report};
use trace_format::ir::TraceIr;

const VERSIONS: [&str; 2] = ["1.22.10", "1.27.3"];

/// The kinds that name a pattern or a problem of parallelism: each fixture must show exactly
/// those it was made to show. (Long waits, saturated procs and critical paths are plain notes
/// many traces have.)
const PATTERNS: [FindingKind; 8] = [
    FindingKind::TinyGoroutines,
    FindingKind::SchedulingLatency,
    FindingKind::HttpShutdownWaitsForIdleConnections,
    FindingKind::GoroutineLeak,
    FindingKind::SerializingLock,
    FindingKind::GcPressure,
    FindingKind::BlockingSyscalls,
    FindingKind::TimerPolling,
];

fn findings_of(path: &Path) -> Vec<Finding> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    report(&TraceIr::from_trace(&bytes).unwrap()).findings
}

fn fixture(dir: &str, version: &str, name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/{dir}/{version}/{name}.trace"))
}

/// The pattern kinds found, and the findings of `kind`.
fn patterns(found: &[Finding]) -> BTreeSet<FindingKind> {
    found.iter().map(|f| f.kind).filter(|k| PATTERNS.contains(k)).collect()
}

fn only<'a>(found: &'a [Finding], kind: FindingKind, context: &str) -> &'a Finding {
    let of_kind: Vec<&Finding> = found.iter().filter(|f| f.kind == kind).collect();
    match of_kind[..] {
        [one] => one,
        _ => panic!("{context}: expected one {} finding, found {of_kind:#?}", kind.name()),
    }
}

fn count(f: &Finding, name: &str) -> u64 {
    match f.evidence.get(name) {
        Some(Quantity::Count(n)) => *n,
        other => panic!("{name}: {other:?} in {f:#?}"),
    }
}

fn nanos(f: &Finding, name: &str) -> i64 {
    match f.evidence.get(name) {
        Some(Quantity::Nanos(n)) => *n,
        other => panic!("{name}: {other:?} in {f:#?}"),
    }
}

fn percent(f: &Finding, name: &str) -> f64 {
    match f.evidence.get(name) {
        Some(Quantity::Percent(p)) => *p,
        other => panic!("{name}: {other:?} in {f:#?}"),
    }
}

fn stack_has(f: &Finding, function: &str) -> bool {
    f.subject.stack.iter().any(|frame| frame.func == function)
}

/// Each fixture with the pattern kinds it must show, and nothing else.
const EXPECTED: [(&str, &str, &[FindingKind]); 9] = [
    // main waits for each result in a select with a new time.After each time round: a timer
    // made in a loop, which fires 100 times.
    ("findings", "leak", &[FindingKind::GoroutineLeak, FindingKind::TimerPolling]),
    ("findings", "mutex-serial", &[FindingKind::SerializingLock]),
    ("findings", "gc-pressure", &[FindingKind::GcPressure]),
    ("findings", "syscall-block", &[FindingKind::BlockingSyscalls]),
    ("findings", "timer-loop", &[FindingKind::TimerPolling]),
    ("findings", "worker-pool", &[]),
    ("findings", "mandelbrot-pixel", &[FindingKind::TinyGoroutines]),
    ("findings", "mandelbrot-column", &[]),
    ("traces", "shutdown", &[FindingKind::HttpShutdownWaitsForIdleConnections]),
];

#[test]
fn each_fixture_shows_its_patterns_and_no_other() {
    for version in VERSIONS {
        for (dir, name, expected) in EXPECTED {
            let found = findings_of(&fixture(dir, version, name));
            let expected: BTreeSet<FindingKind> = expected.iter().copied().collect();
            assert_eq!(patterns(&found), expected, "{version} {name}: {found:#?}");
        }
    }
}

#[test]
fn patterns_are_silent_on_the_other_fixtures() {
    // The main corpus (Go 1.19 to 1.27) and the critical-path traces: what each shows, by
    // construction; everything else must stay silent.
    let main_corpus: [(&str, &[FindingKind]); 4] = [
        ("httppprof", &[]),
        ("mandelbrot-seq", &[]),
        // 4096 goroutines of a few hundred nanoseconds.
        ("mandelbrot-pixel", &[FindingKind::TinyGoroutines]),
        ("shutdown", &[FindingKind::HttpShutdownWaitsForIdleConnections]),
    ];
    for version in ["1.19", "1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3"] {
        for (name, expected) in main_corpus {
            let found = findings_of(&fixture("traces", version, name));
            let expected: BTreeSet<FindingKind> = expected.iter().copied().collect();
            assert_eq!(patterns(&found), expected, "{version} {name}: {found:#?}");
        }
        // gcWork allocates on purpose: its mark assists take 19% to 50% of its running time, on
        // either side of the threshold.
        let found = findings_of(&fixture("traces", version, "allevents"));
        assert!(patterns(&found).is_subset(&[FindingKind::GcPressure].into()), "{version}: {found:#?}");
        // The 64-pixel columns run on one proc in some traces while the other idles, which is
        // scheduling latency; never a pattern of another kind.
        let found = findings_of(&fixture("traces", version, "mandelbrot-column"));
        let kinds = patterns(&found);
        assert!(kinds.is_subset(&[FindingKind::SchedulingLatency].into()), "{version}: {found:#?}");
    }
    for version in ["1.21.13", "1.22.10", "1.23.9", "1.25.5", "1.27.3"] {
        for case in [
            "cpu-sleep-cpu",
            "fork-join",
            "mutex-chain",
            "two-tasks-mutex",
            "tcp",
            "select-timeout",
            "gomaxprocs1",
            "task-creation",
            "blocked-before-trace",
        ] {
            let found = findings_of(&fixture("critical-path", version, case));
            assert_eq!(patterns(&found), BTreeSet::new(), "{version} {case}: {found:#?}");
        }
        // GOMAXPROCS 1 and GC percent 1: the region's allocations assist the GC.
        let found = findings_of(&fixture("critical-path", version, "gc"));
        assert_eq!(patterns(&found), [FindingKind::GcPressure].into(), "{version} gc: {found:#?}");
    }
}

#[test]
fn leak_names_the_blocked_senders() {
    for version in VERSIONS {
        let found = findings_of(&fixture("findings", version, "leak"));
        let leak = only(&found, FindingKind::GoroutineLeak, version);
        assert_eq!(leak.severity, Severity::Problem);
        assert_eq!(leak.subject.kind, SubjectKind::GoroutineGroup);
        assert_eq!(leak.subject.name, "main.leakyWorker");
        assert_eq!(count(leak, "goroutines"), 100, "{leak:#?}");
        assert_eq!(leak.subject.goroutines.len(), trace_analysis::MAX_NAMED_GOROUTINES);
        assert!(stack_has(leak, "runtime.chansend1") && stack_has(leak, "main.leakyWorker"), "{leak:#?}");
        assert!(leak.text.contains("(chan send)"), "{}", leak.text);
        assert!(leak.advice.contains("buffer"), "{}", leak.advice);
        // Blocked from about 2 ms in until the end: a median of tens of milliseconds each.
        let median = nanos(leak, "median_blocked_ns");
        assert!((10_000_000..200_000_000).contains(&median), "{leak:#?}");
        assert!(nanos(leak, "blocked_ns") >= 100 * median / 2, "{leak:#?}");
    }
}

#[test]
fn serializing_lock_names_the_lock_and_the_hold() {
    for version in VERSIONS {
        let found = findings_of(&fixture("findings", version, "mutex-serial"));
        let lock = only(&found, FindingKind::SerializingLock, version);
        assert_eq!(lock.severity, Severity::Problem);
        assert_eq!(lock.subject.name, "main.lockWorker");
        assert_eq!(count(lock, "goroutines"), 8);
        assert!(stack_has(lock, "sync.(*Mutex).Lock"), "{lock:#?}");
        assert!(percent(lock, "blocked_percent") >= 70.0, "{lock:#?}");
        assert!(count(lock, "woken_by_group") * 2 >= count(lock, "waits"), "{lock:#?}");
        // Each holder burns 1 ms with the lock held.
        let hold = nanos(lock, "median_hold_ns");
        assert!((900_000..2_000_000).contains(&hold), "{lock:#?}");
        assert!(lock.text.contains("sync.(*Mutex).Unlock"), "the release: {}", lock.text);
    }
}

#[test]
fn gc_pressure_names_the_allocation_site() {
    for version in VERSIONS {
        let found = findings_of(&fixture("findings", version, "gc-pressure"));
        let group = found
            .iter()
            .find(|f| f.kind == FindingKind::GcPressure && f.subject.kind == SubjectKind::GoroutineGroup)
            .unwrap_or_else(|| panic!("{version}: {found:#?}"));
        assert_eq!(group.severity, Severity::Problem);
        assert_eq!(group.subject.name, "main.allocator");
        assert!(stack_has(group, "main.allocNode"), "{group:#?}");
        let share = percent(group, "gc_percent");
        assert!((50.0..=100.0).contains(&share), "{group:#?}");
        assert!(group.text.contains("main.allocNode (main.go:"), "{}", group.text);
        // The program as a whole: over 100 ms the GC left it well under half of the one proc.
        let program = found
            .iter()
            .find(|f| f.kind == FindingKind::GcPressure && f.subject.kind == SubjectKind::Program)
            .unwrap_or_else(|| panic!("{version}: {found:#?}"));
        assert_eq!(program.severity, Severity::Problem);
        assert!(percent(program, "mmu_percent") < 40.0, "{program:#?}");
        assert_eq!(nanos(program, "mmu_window_ns"), 100_000_000);
    }
}

#[test]
fn blocking_syscalls_count_the_calls_and_threads() {
    for version in VERSIONS {
        let found = findings_of(&fixture("findings", version, "syscall-block"));
        let calls = only(&found, FindingKind::BlockingSyscalls, version);
        assert_eq!(calls.subject.name, "main.sleeperSyscall");
        assert!(stack_has(calls, "syscall.Nanosleep"), "{calls:#?}");
        // 8 goroutines make 30 calls of 2 ms each; nearly all lose their proc.
        assert!((200..=250).contains(&count(calls, "syscalls_lost_proc")), "{calls:#?}");
        assert!(count(calls, "threads") > 2, "more threads than procs: {calls:#?}");
        assert!(count(calls, "trace_threads") >= count(calls, "threads"), "{calls:#?}");
    }
}

#[test]
fn timer_polling_counts_the_wakes() {
    for version in VERSIONS {
        let found = findings_of(&fixture("findings", version, "timer-loop"));
        let poll = only(&found, FindingKind::TimerPolling, version);
        assert_eq!(poll.severity, Severity::Note);
        assert_eq!(poll.subject.name, "main.poller");
        assert!(stack_has(poll, "main.poller"), "{poll:#?}");
        assert!((900..=1100).contains(&count(poll, "wakes")), "{poll:#?}");
        // time.After(200 µs) fires after about a millisecond (the netpoller's resolution).
        let wait = nanos(poll, "median_wait_ns");
        assert!((150_000..3_000_000).contains(&wait), "{poll:#?}");
    }
}

#[test]
fn mandelbrot_per_pixel_is_too_fine_and_per_column_saturates_the_procs() {
    for version in VERSIONS {
        let found = findings_of(&fixture("findings", version, "mandelbrot-pixel"));
        let tiny = only(&found, FindingKind::TinyGoroutines, version);
        assert_eq!(tiny.severity, Severity::Problem);
        assert_eq!(tiny.subject.name, "main.renderPixel.func1");
        assert_eq!(count(tiny, "goroutines"), 256 * 256);
        let (work, cost) = (nanos(tiny, "median_execution_ns"), nanos(tiny, "overhead_per_goroutine_ns"));
        assert!(work < 5_000 && cost * 2 >= work, "{tiny:#?}");
        assert!(nanos(tiny, "creation_ns") > 0 && nanos(tiny, "switch_ns") > 0, "{tiny:#?}");

        let found = findings_of(&fixture("findings", version, "mandelbrot-column"));
        assert!(found.iter().all(|f| f.severity == Severity::Note), "{version}: {found:#?}");
        let saturated = only(&found, FindingKind::CpuSaturated, version);
        assert_eq!(saturated.subject.name, "main.renderColumn.func1");
        assert_eq!(count(saturated, "goroutines"), 256);
        assert_eq!(count(saturated, "gomaxprocs"), 2);
        assert!(percent(saturated, "procs_program_percent") >= 90.0, "{saturated:#?}");
        assert!(percent(saturated, "procs_idle_percent") < 10.0, "{saturated:#?}");
    }
}

#[test]
fn a_healthy_worker_pool_has_no_problem() {
    for version in VERSIONS {
        let found = findings_of(&fixture("findings", version, "worker-pool"));
        assert!(found.iter().all(|f| f.severity == Severity::Note), "{version}: {found:#?}");
    }
}

#[test]
fn every_finding_has_its_parts() {
    for version in VERSIONS {
        for (dir, name, _) in EXPECTED {
            for f in findings_of(&fixture(dir, version, name)) {
                assert!(!f.text.is_empty() && !f.evidence.is_empty(), "{f:#?}");
                if f.severity == Severity::Problem {
                    assert!(!f.advice.is_empty(), "a problem says what to do: {f:#?}");
                }
                let (start, end) = f.window.unwrap_or_else(|| panic!("{f:#?}"));
                assert!(start <= end, "{f:#?}");
                assert!(f.viewer_link(0).is_some_and(|l| l.starts_with("#timeline?")), "{f:#?}");
            }
        }
    }
}

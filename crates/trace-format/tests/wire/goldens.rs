//! `gotrace dump --wire` and `gotrace dump` against Go 1.27's `go tool trace -d=wire` and
//! `-d=parsed`, whose outputs were stored next to each fixture by `cargo xtask oracle --bless`.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use trace_format::ir::TraceIr;
use trace_format::text::{DumpError, canonical_tie_order, write_parsed_dump, write_wire_dump};

use crate::fixtures::{old_traces, short, v2_traces};

type Dump = fn(&[u8], &mut Vec<u8>) -> Result<(), DumpError>;

fn our_dump(trace: &Path, dump: Dump) -> Vec<u8> {
    let bytes = std::fs::read(trace).unwrap();
    let mut out = Vec::new();
    dump(&bytes, &mut out).unwrap_or_else(|e| panic!("{}: {e}", short(trace)));
    out
}

/// Describes the first line where `ours` differs from `expected`, with context.
fn first_difference(expected: &[u8], ours: &[u8]) -> Option<String> {
    let (a, b): (Vec<_>, Vec<_>) = (expected.split(|&c| c == b'\n').collect(), ours.split(|&c| c == b'\n').collect());
    let i = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))?;
    let line = |l: Option<&&[u8]>| l.map_or("<end of output>".into(), |l| String::from_utf8_lossy(l).into_owned());
    let context: Vec<_> =
        a[i.saturating_sub(3)..i].iter().map(|l| format!("    {}", String::from_utf8_lossy(l))).collect();
    Some(format!(
        "line {}:\n{}\n  Go:      {}\n  gotrace: {}",
        i + 1,
        context.join("\n"),
        line(a.get(i)),
        line(b.get(i))
    ))
}

#[test]
fn wire_dump_is_identical_to_go() {
    check_all("wire", write_wire_dump);
}

#[test]
fn parsed_dump_is_identical_to_go() {
    check_all("parsed", write_parsed_dump);
}

/// The IR, stored and read back, prints exactly what reading the trace prints.
#[test]
fn parsed_dump_through_the_ir_is_identical_to_go() {
    check_all("parsed", |bytes, out| {
        let ir = TraceIr::from_trace(bytes).map_err(DumpError::Trace)?;
        let stored = TraceIr::from_bytes(&ir.to_bytes()).expect("a stored IR reads back");
        assert_eq!(stored, ir);
        stored.write_parsed_dump(out)?;
        Ok(())
    });
}

/// Compares our dump of every Go 1.22+ fixture with Go's stored `-d=<mode>` output.
fn check_all(mode: &str, dump: Dump) {
    let mut failures = Vec::new();
    for trace in v2_traces() {
        let ours = our_dump(&trace, dump);
        let gz = trace.with_extension(format!("{mode}.gz"));
        let digest = trace.with_extension(format!("{mode}.sha256"));
        if gz.exists() {
            let mut expected = Vec::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()).read_to_end(&mut expected).unwrap();
            if let Some(diff) = first_difference(&expected, &ours) {
                failures.push(format!("{}: -d={mode} differs from Go at {diff}", short(&trace)));
            }
        } else if digest.exists() {
            let want = std::fs::read_to_string(&digest).unwrap();
            let got = format!(
                "sha256:{} bytes:{}",
                Sha256::digest(&ours).iter().map(|b| format!("{b:02x}")).collect::<String>(),
                ours.len()
            );
            if want.trim() != got {
                failures.push(format!(
                    "{}: -d={mode} output digest differs from Go's; run `cargo xtask oracle --{mode} fixtures/traces/{}` to see the first difference",
                    short(&trace),
                    short(&trace)
                ));
            }
        } else {
            failures.push(format!("{}: no golden; run `cargo xtask oracle --bless`", short(&trace)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Old-format traces: Go orders simultaneous events differently from run to run, so a dump
/// that is not byte-identical to the stored one must be identical once tied events are put
/// in a canonical order. Our own output is the same on every run.
#[test]
fn old_format_parsed_dump_matches_go() {
    let mut failures = Vec::new();
    let mut exact = 0;
    for trace in old_traces() {
        let bytes = std::fs::read(&trace).unwrap();
        let gz = trace.with_extension("parsed.gz");
        assert!(gz.exists(), "{}: no golden; run `cargo xtask oracle --bless`", short(&trace));
        let mut expected = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()).read_to_end(&mut expected).unwrap();
        let dump = |bytes: &[u8]| {
            let mut out = Vec::new();
            write_parsed_dump(bytes, &mut out).unwrap_or_else(|e| panic!("{}: {e}", short(&trace)));
            out
        };
        let ours = dump(&bytes);
        assert_eq!(ours, dump(&bytes), "{}: two readings differ", short(&trace));
        let ir = TraceIr::from_trace(&bytes).unwrap();
        let mut through_ir = Vec::new();
        TraceIr::from_bytes(&ir.to_bytes()).unwrap().write_parsed_dump(&mut through_ir).unwrap();
        if let Some(diff) = first_difference(&ours, &through_ir) {
            failures.push(format!("{}: the IR prints differently from the reader at {diff}", short(&trace)));
        }
        if ours == expected {
            exact += 1;
            continue;
        }
        let (expected, ours) = (canonical_tie_order(&expected), canonical_tie_order(&ours));
        if let Some(diff) = first_difference(&expected, &ours) {
            failures.push(format!(
                "{}: -d=parsed differs from Go (tied events in canonical order) at {diff}",
                short(&trace)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Most fixtures have no ties across procs at all: those must match byte for byte.
    assert!(exact * 2 >= old_traces().len(), "only {exact} old-format dumps are byte-identical to Go's");
}

#[test]
fn difference_report_names_the_line() {
    let report = first_difference(b"a\nb\nc\n", b"a\nb\nX\n").unwrap();
    assert!(report.starts_with("line 3:"), "{report}");
    assert!(report.contains("Go:      c") && report.contains("gotrace: X"), "{report}");
    assert_eq!(first_difference(b"a\n", b"a\n"), None);
    assert!(first_difference(b"a\nb\n", b"a\n").is_some());
}

/// Letting the operating system drop pages already read does not change what is read again.
#[test]
fn released_pages_read_back_the_same() {
    let trace = &v2_traces()[0];
    let file = trace_format::TraceFile::open(trace).unwrap();
    let before = file.bytes().to_vec();
    file.release_before(file.len() as u64);
    assert!(file.bytes() == &before[..], "{}", short(trace));
}

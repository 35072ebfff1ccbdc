//! Comparing `-d=parsed` dumps of old-format traces, in which Go orders simultaneous events
//! differently from run to run.
//!
//! Go's reader breaks ties between procs by hash-map order, then makes times strictly
//! increasing by moving each tied event one nanosecond after the previous one. So two of its
//! runs can list the events of a tie in different orders, with the same times (T, T+1, ...).

/// Rewrites a parsed dump so that dumps differing only in the order of tied events compare
/// equal: each run of events whose times follow one another by exactly 1 ns is printed as
/// its list of times, then its events without their times, sorted.
///
/// Events (a line starting with `M=` and the stack lines after it) keep their text otherwise;
/// a dump of a Go 1.22+ trace, where times differ by more, mostly comes out in its own order.
pub fn canonical_tie_order(dump: &[u8]) -> Vec<u8> {
    let mut records: Vec<(Option<i64>, Vec<u8>)> = Vec::new();
    for line in dump.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"M=") || records.is_empty() {
            let (time, text) = split_time(line);
            records.push((time, text));
        } else if let Some(last) = records.last_mut() {
            last.1.extend_from_slice(line);
        }
    }
    let mut out = Vec::with_capacity(dump.len());
    let mut start = 0;
    while start < records.len() {
        let mut end = start + 1;
        while end < records.len()
            && matches!((records[end - 1].0, records[end].0), (Some(a), Some(b)) if b == a.wrapping_add(1))
        {
            end += 1;
        }
        let run = &mut records[start..end];
        out.extend_from_slice(b"Times=");
        for (i, (time, _)) in run.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(time.map_or("?".into(), |t| t.to_string()).as_bytes());
        }
        out.push(b'\n');
        run.sort_by(|a, b| a.1.cmp(&b.1));
        for (_, text) in run.iter() {
            out.extend_from_slice(text);
        }
        start = end;
    }
    out
}

/// The time of an event line, and the line with the time's digits removed.
fn split_time(line: &[u8]) -> (Option<i64>, Vec<u8>) {
    const KEY: &[u8] = b" Time=";
    let Some(at) = line.windows(KEY.len()).position(|w| w == KEY) else { return (None, line.to_vec()) };
    let digits_start = at + KEY.len();
    let digits_end = line[digits_start..]
        .iter()
        .position(|&b| !(b.is_ascii_digit() || b == b'-'))
        .map_or(line.len(), |n| digits_start + n);
    let time = std::str::from_utf8(&line[digits_start..digits_end]).ok().and_then(|t| t.parse().ok());
    let mut text = line[..digits_start].to_vec();
    text.extend_from_slice(&line[digits_end..]);
    (time, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tied_events_in_either_order_compare_equal() {
        let a = b"M=-1 P=-1 G=-1 Sync Time=-1 N=1\nM=1 P=0 G=2 X Time=5 A\nStack=\n\tf\nM=2 P=1 G=3 X Time=6 B\nM=1 P=0 G=2 X Time=9 C\n";
        let b = b"M=-1 P=-1 G=-1 Sync Time=-1 N=1\nM=2 P=1 G=3 X Time=5 B\nM=1 P=0 G=2 X Time=6 A\nStack=\n\tf\nM=1 P=0 G=2 X Time=9 C\n";
        assert_ne!(a.as_slice(), b.as_slice());
        assert_eq!(canonical_tie_order(a), canonical_tie_order(b));
    }

    #[test]
    fn events_apart_in_time_keep_their_order() {
        let a = b"M=1 P=0 G=2 X Time=5 A\nM=2 P=1 G=3 X Time=7 B\n";
        let b = b"M=2 P=1 G=3 X Time=5 B\nM=1 P=0 G=2 X Time=7 A\n";
        assert_ne!(canonical_tie_order(a), canonical_tie_order(b));
        // A different time within a tie is a difference too.
        let c = b"M=1 P=0 G=2 X Time=5 A\nM=2 P=1 G=3 X Time=6 B\n";
        let d = b"M=1 P=0 G=2 X Time=5 A\nM=2 P=1 G=3 X Time=7 B\n";
        assert_ne!(canonical_tie_order(c), canonical_tie_order(d));
    }
}

//! Durations printed as Go prints a `time.Duration` (`1.5ms`, `2m3.000000004s`), so that
//! numbers read the same here as on Go's pages.

use std::fmt::Write;

/// Formats `ns` nanoseconds exactly as Go's `time.Duration.String` does.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let negative = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Below a second: the largest of ns, µs, ms that keeps an integer part.
        let (unit, scale) = match u {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        write_fraction(&mut out, u, scale);
        out.push_str(unit);
        return out;
    }
    let seconds = u / 1_000_000_000;
    let (hours, minutes, seconds_left) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    write_fraction(&mut out, seconds_left * 1_000_000_000 + u % 1_000_000_000, 1_000_000_000);
    out.push('s');
    out
}

/// Writes `value / scale` with the fractional digits Go keeps: all that are not trailing zeros.
fn write_fraction(out: &mut String, value: u64, scale: u64) {
    let _ = write!(out, "{}", value / scale);
    let fraction = value % scale;
    if fraction == 0 {
        return;
    }
    let digits = scale.ilog10() as usize;
    let text = format!("{fraction:0digits$}");
    out.push('.');
    out.push_str(text.trim_end_matches('0'));
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    // Expected strings are Go 1.27's time.Duration(n).String() of the same values.
    #[test]
    fn matches_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_000, "1µs"),
            (1_500, "1.5µs"),
            (1_000_001, "1.000001ms"),
            (123_456_789, "123.456789ms"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (61_000_000_000, "1m1s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_000_000_004, "1h2m3.000000004s"),
            (-1_500, "-1.5µs"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (ns, text) in cases {
            assert_eq!(go_duration(ns), text, "{ns}");
        }
    }
}

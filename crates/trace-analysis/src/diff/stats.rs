//! The statistics of a comparison, as benchmark tools use them: the median with a
//! distribution-free confidence interval, the Mann-Whitney U test (exact for small samples
//! without ties, otherwise the normal approximation with tie and continuity corrections, as
//! SciPy's `mannwhitneyu` chooses by default), and Holm-Bonferroni's adjustment for testing
//! many metrics at once. Everything is deterministic: no resampling.

/// The median of `values` (the mean of the two middle ones for an even count); `NaN` for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 }
}

/// The confidence interval of the median at `confidence` (0.95): the order statistics
/// `x(k)` and `x(n+1-k)` with the largest `k` such that a binomial(n, 1/2) variable is below
/// `k` with probability at most `(1 - confidence) / 2`. `None` when the sample is too small
/// for that confidence (5 values or fewer at 95%).
pub fn median_interval(values: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let n = values.len();
    let tail = (1.0 - confidence) / 2.0;
    // P(X <= j) for X ~ binomial(n, 1/2), accumulated until it passes the tail.
    let mut k = 0;
    let mut cumulative = 0.0;
    for j in 0..n {
        cumulative += binomial(n as u64, j as u64) * 0.5f64.powi(n as i32);
        if cumulative > tail {
            break;
        }
        k = j + 1;
    }
    if k == 0 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((sorted[k - 1], sorted[n - k]))
}

/// `n` choose `k`, as a float.
fn binomial(n: u64, k: u64) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The result of a Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// The U statistic of the first sample (SciPy's `statistic`).
    pub u: f64,
    /// The two-sided p-value.
    pub p: f64,
    /// Whether the p-value is exact (small samples without ties) rather than approximate.
    pub exact: bool,
}

/// Up to this size of either sample, and with no ties, the p-value is exact (SciPy's rule).
const EXACT_UP_TO: usize = 8;

/// The two-sided Mann-Whitney U test of `x` against `y`; `None` if either is empty.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // Midranks of the pooled sample, and the sizes of the groups of ties.
    let mut pooled: Vec<(f64, bool)> = x.iter().map(|&v| (v, true)).chain(y.iter().map(|&v| (v, false))).collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i;
        while j + 1 < pooled.len() && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let midrank = (i + j) as f64 / 2.0 + 1.0;
        let tied = (j - i + 1) as f64;
        tie_term += tied * tied * tied - tied;
        rank_sum_x += midrank * pooled[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let u1 = rank_sum_x - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let u = u1.max(u2);
    let exact = (n1 <= EXACT_UP_TO || n2 <= EXACT_UP_TO) && tie_term == 0.0;
    let p = if exact {
        2.0 * exact_upper_tail(u.round() as usize, n1, n2)
    } else {
        let n = (n1 + n2) as f64;
        let mean = (n1 * n2) as f64 / 2.0;
        let variance = (n1 * n2) as f64 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
        if variance <= 0.0 {
            1.0
        } else {
            let z = (u - mean - 0.5) / variance.sqrt();
            2.0 * normal_upper_tail(z)
        }
    };
    Some(MannWhitney { u: u1, p: p.min(1.0), exact })
}

/// P(U >= u) for samples of sizes `m` and `n` without ties: the number of arrangements with
/// each U, counted by the recurrence on the last (largest) value's sample.
fn exact_upper_tail(u: usize, m: usize, n: usize) -> f64 {
    let max = m * n;
    // counts[i][j][k]: arrangements of i values of the first sample and j of the second with
    // U = k, kept one i at a time.
    let mut previous: Vec<Vec<f64>> = (0..=n).map(|_| vec![0.0; max + 1]).collect();
    for row in previous.iter_mut() {
        row[0] = 1.0;
    }
    for i in 1..=m {
        let mut current: Vec<Vec<f64>> = (0..=n).map(|_| vec![0.0; max + 1]).collect();
        current[0][0] = 1.0;
        for j in 1..=n {
            for k in 0..=i * j {
                // The largest value is from the first sample (it beats all j of the second) or
                // from the second.
                let from_first = if k >= j { previous[j][k - j] } else { 0.0 };
                current[j][k] = from_first + current[j - 1][k];
            }
        }
        previous = current;
    }
    let counts = &previous[n];
    let total: f64 = counts.iter().sum();
    counts[u.min(max + 1)..].iter().sum::<f64>() / total
}

/// P(Z > z) for a standard normal Z.
pub fn normal_upper_tail(z: f64) -> f64 {
    if z < 0.0 { 1.0 - 0.5 * erfc(-z / std::f64::consts::SQRT_2) } else { 0.5 * erfc(z / std::f64::consts::SQRT_2) }
}

/// The complementary error function for x >= 0, to about 1e-14 relative: the power series of
/// erf below 2.5, the continued fraction above (evaluated with Lentz's method).
fn erfc(x: f64) -> f64 {
    if x < 2.5 {
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        for n in 1..200 {
            term *= -x2 / n as f64;
            let next = term / (2 * n + 1) as f64;
            sum += next;
            if next.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))).
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for n in 1..500 {
            let a = n as f64 / 2.0;
            d = x + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = x + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / std::f64::consts::PI.sqrt() / f
    }
}

/// Holm-Bonferroni's adjusted p-values, in the order given: the i-th smallest p times the
/// number of tests not yet rejected, made monotone and capped at 1.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_intervals() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        // Five values cannot give 95%: P(X = 0) = 1/32 > 2.5%.
        assert_eq!(median_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95), None);
        // Six: k = 1 (P(X = 0) = 1/64), the extremes.
        assert_eq!(median_interval(&[6.0, 1.0, 2.0, 3.0, 4.0, 5.0], 0.95), Some((1.0, 6.0)));
        // Ten: P(X <= 1) = 11/1024 <= 2.5% < P(X <= 2) = 56/1024, so k = 2.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median_interval(&ten, 0.95), Some((2.0, 9.0)));
    }

    #[test]
    fn holm_adjusts_in_order() {
        // The textbook example: 0.01, 0.04, 0.03, 0.005 over four tests.
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
    }

    #[test]
    fn the_normal_tail_is_accurate() {
        // Reference values of 1 - Phi(z).
        for (z, tail) in [
            (0.0, 0.5),
            (1.0, 0.15865525393145707),
            (1.959963984540054, 0.025),
            (5.0, 2.866515718791939e-7),
            (10.0, 7.61985302416047e-24),
        ] {
            let ours = normal_upper_tail(z);
            assert!(((ours - tail) / tail).abs() < 1e-12, "z={z}: {ours} against {tail}");
        }
    }
}

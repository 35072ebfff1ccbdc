//! The statistics of `gotrace diff` against SciPy's: `tests/data/mann_whitney.tsv` holds
//! `scipy.stats.mannwhitneyu(x, y, alternative="two-sided")` on seeded samples, small and
//! large, with and without ties, written by `tests/data/mann_whitney.py`.

use trace_analysis::diff::stats::mann_whitney;

#[test]
fn mann_whitney_matches_scipy() {
    let text = include_str!("data/mann_whitney.tsv");
    let parse = |field: &str| -> Vec<f64> { field.split(',').map(|v| v.parse().unwrap()).collect() };
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (x, y) = (parse(fields[0]), parse(fields[1]));
        let (statistic, p): (f64, f64) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
        let ours = mann_whitney(&x, &y).unwrap();
        assert!((ours.u - statistic).abs() < 1e-9, "U of {x:?} {y:?}: {} against {statistic}", ours.u);
        assert!(
            (ours.p - p).abs() <= 1e-9 + 1e-7 * p,
            "p of {x:?} {y:?}: {} against {p} (exact: {})",
            ours.p,
            ours.exact
        );
        cases += 1;
    }
    assert!(cases >= 70, "{cases} cases");
}

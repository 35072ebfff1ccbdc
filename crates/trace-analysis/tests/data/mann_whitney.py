"""Writes mann_whitney.tsv: SciPy's two-sided Mann-Whitney U tests (its default method) on
seeded samples, small and large, with and without ties, for crates/trace-analysis/tests/diff.rs.

Run: pip install --target DIR scipy && PYTHONPATH=DIR python3 mann_whitney.py > mann_whitney.tsv
"""
import random

import scipy
from scipy.stats import mannwhitneyu

rng = random.Random(20261206)
print(f"# scipy {scipy.__version__}: x<TAB>y<TAB>statistic<TAB>pvalue")
cases = []
for n1, n2 in [(1, 1), (2, 3), (3, 3), (4, 4), (4, 6), (5, 5), (6, 7), (7, 9), (8, 8), (10, 10), (12, 15), (20, 20), (30, 25)]:
    for shift in [0.0, 0.5, 2.0]:
        # Continuous values: no ties.
        x = [round(rng.gauss(10.0, 1.0), 6) for _ in range(n1)]
        y = [round(rng.gauss(10.0 + shift, 1.0), 6) for _ in range(n2)]
        cases.append((x, y))
        # Values on a coarse grid: ties.
        x = [float(rng.randint(0, 5)) for _ in range(n1)]
        y = [float(rng.randint(0, 5) + int(shift)) for _ in range(n2)]
        cases.append((x, y))
for x, y in cases:
    r = mannwhitneyu(x, y, alternative="two-sided")
    print("\t".join([",".join(map(repr, x)), ",".join(map(repr, y)), repr(float(r.statistic)), repr(float(r.pvalue))]))

#!/usr/bin/python3
"""analysis_numerics: the numerics the analysis tools compute without scipy
(gcnn.stats.poisson_pmf for gcnn-report's N distribution, gcnn.stats.find_peaks
for gcnn-sweep's coherence revivals) give scipy's numbers.

usage: analysis_numerics.py SOURCE_DIR

Checks, with fixed seeds:
  - poisson_pmf against closed forms that need no library: P(0) = e^-m,
    P(n) = P(n-1) m / n, and sum_n P(n) = 1, sum_n n P(n) = m over n <= m + 40 sqrt(m) + 40;
    against scipy.stats.poisson.pmf to 1e-13 absolute (the pmf is <= 1; lgamma
    and scipy's own log-space formula differ by a few ulps of ln P ~ n ln m);
  - find_peaks on hand-made cases (flat tops, a shoulder, the ends, a NaN) and
    on 4000 random sequences (walks, and small integers for flat tops and
    ties) with prominence thresholds 0..2: the same indices as
    scipy.signal.find_peaks(x, prominence=p)[0], exactly.
The scipy comparisons are skipped, with a line saying so, if scipy is absent.
Exit 0 pass, 1 fail.
"""
import math
import os
import sys

src = sys.argv[1]
sys.path.insert(0, os.path.join(src, "python"))
import numpy as np  # noqa: E402

from gcnn import stats  # noqa: E402


def fail(msg):
    print(f"analysis_numerics: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check_poisson():
    for m in (1e-3, 0.37, 4.0, 14.4, 60.0, 250.0):
        n = np.arange(int(m + 40 * math.sqrt(m) + 40))
        p = stats.poisson_pmf(n, m)
        rec = np.empty(n.size)  # P(n) = P(n - 1) m / n, relative rounding ~ n ulps
        rec[0] = math.exp(-m)
        for k in range(1, n.size):
            rec[k] = rec[k - 1] * m / k
        if np.max(np.abs(p - rec)) > 1e-13:
            fail(f"poisson_pmf(mean {m}) differs from the recurrence by {np.max(np.abs(p - rec)):.3g}")
        if abs(p.sum() - 1) > 1e-12 or abs((n * p).sum() - m) > 1e-12 * max(m, 1):
            fail(f"poisson_pmf(mean {m}): sum {p.sum()!r}, mean {(n * p).sum()!r}")
    if stats.poisson_pmf(np.arange(3), 0.0).tolist() != [1.0, 0.0, 0.0]:
        fail("poisson_pmf at mean 0 is not the point mass at 0")
    try:
        from scipy.stats import poisson
    except ImportError:
        print("analysis_numerics: scipy absent, poisson_pmf checked against the recurrence only")
        return
    n = np.arange(400)
    for m in (1e-3, 0.37, 4.0, 14.4, 60.0, 250.0):
        d = np.max(np.abs(stats.poisson_pmf(n, m) - poisson.pmf(n, m)))
        if d > 1e-13:
            fail(f"poisson_pmf(mean {m}) differs from scipy's by {d:.3g}")
    print("analysis_numerics: poisson_pmf matches the recurrence, its sum and mean, and scipy to 1e-13")


def check_peaks():
    nan = float("nan")
    known = [  # (x, prominence, peaks)
        ([0, 1, 0], 0, [1]),
        ([0, 1, 1, 1, 0], 0, [2]),           # a flat top: its middle
        ([0, 1, 1, 0], 0, [1]),              # even width: rounded down
        ([0, 2, 1, 1, 3, 0], 0, [1, 4]),
        ([0, 2, 1, 1, 3, 0], 1.5, [4]),      # the first peak stands 1 above its right base
        ([0, 1, 1, 2, 0], 0, [3]),           # a shoulder is no peak
        ([3, 1, 2], 0, []),                  # the ends are never peaks
        ([0, 1, 1], 0, []),                  # a flat top running to the end
        ([0, 5, 0, nan, 0, 2, 0], 0, [1, 5]),
        ([0, 1, 0, 3, 0], 1.0, [1, 3]),      # prominence exactly at the threshold is kept
    ]
    for x, p, want in known:
        got = stats.find_peaks(np.array(x, float), prominence=p).tolist()
        if got != want:
            fail(f"find_peaks({x}, prominence={p}) = {got}, want {want}")
    try:
        from scipy.signal import find_peaks
    except ImportError:
        print("analysis_numerics: scipy absent, find_peaks checked on the known cases only")
        return
    rng = np.random.default_rng(20261202)
    for t in range(4000):
        n = int(rng.integers(0, 60))
        x = rng.integers(0, 5, n).astype(float) if t % 2 else rng.normal(size=n).cumsum()
        p = float(rng.choice([0.0, 0.01, 0.5, 1.0, 2.0]))
        got, want = stats.find_peaks(x, prominence=p), find_peaks(x, prominence=p)[0]
        if not np.array_equal(got, want):
            fail(f"find_peaks({x.tolist()}, prominence={p}) = {got.tolist()}, scipy {want.tolist()}")
    print("analysis_numerics: find_peaks matches the known cases and scipy on 4000 random sequences")


check_poisson()
check_peaks()
print("PASS")

"""The equilibrium window and the time-blocked errors that `gcnn verify` uses.

These mirror src/verify_command.cpp (equilibrium_window) and
src/statistics.cpp (block_means) exactly, so a number computed here from a
results file matches the verify table's to rounding.
"""
import math

import numpy as np


def equilibrium_window(steps, burn_in=0.3, quench_step=0):
    """Indices of the samples verify treats as equilibrium: step >= burn_in * s_end
    and step <= s_end, where s_end is the quench step if there is a quench, else
    the last sampled step (the burn-in is a fraction of the pre-quench run)."""
    steps = np.asarray(steps, dtype=np.int64)
    if steps.size == 0:
        return np.zeros(0, dtype=np.int64)
    s_end = int(quench_step) if int(quench_step) > 0 else int(steps[-1])
    # verify compares in double precision: step >= burn_in * s_end
    keep = (steps.astype(float) >= float(burn_in) * float(s_end)) & (steps <= s_end)
    return np.nonzero(keep)[0]


def block_mean(x, blocks=10):
    """Mean of x and its error from `blocks` contiguous block means (successive
    samples are correlated; the block means are nearly independent when a block
    is longer than the correlation time). As stats::block_means: B =
    min(max(blocks, 2), len(x)) blocks, block b = x[b n / B : (b + 1) n / B]
    (integer division), error = standard deviation of the block means / sqrt(B).
    Returns (mean, error); error 0 for fewer than 2 blocks, (nan, 0) for no data."""
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    if n == 0:
        return float("nan"), 0.0
    B = min(max(int(blocks), 2), n)
    means = np.array([x[b * n // B:(b + 1) * n // B].mean() for b in range(B)])
    if B < 2:
        return float(x.mean()), 0.0
    return float(x.mean()), float(means.std(ddof=1) / math.sqrt(B))


def correlated_mean(x, tau_floor=1.0):
    """Mean of a correlated series and its error from the integrated
    autocorrelation time, as stats::correlated_mean (verify's T1.5a, T2.6a):
    tau = 1 + 2 sum_w rho(w), summed up to Sokal's window (the first w >= 5
    tau(w), w < n/2), at least 1 and at least tau_floor; error^2 = s^2 tau /
    max(n - tau, tau). Returns (mean, error, tau); (nan, 0, 1) for no data."""
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    if n == 0:
        return float("nan"), 0.0, 1.0
    mean = float(x.mean())
    if n < 2:
        return mean, 0.0, 1.0
    d = x - mean
    c0 = float(d @ d) / n
    if not c0 > 0:
        return mean, 0.0, 1.0
    tau = 1.0
    for w in range(1, n // 2):
        tau += 2.0 * float(d[:-w] @ d[w:]) / (n * c0)
        if w >= 5.0 * tau:
            break
    tau = max(tau, 1.0, float(tau_floor))
    s2 = c0 * n / (n - 1)
    return mean, math.sqrt(s2 * tau / max(n - tau, tau)), tau


def poisson_pmf(n, mean):
    """P(N = n) of a Poisson law with the given mean, for an array of integers n
    >= 0: exp(n ln mean - mean - ln n!). scipy.stats.poisson.pmf gives the same
    numbers (to ~1e-15 relative) but costs half a second to import; the analysis
    tools start once per job and per test."""
    n = np.asarray(n)
    if mean <= 0:  # the limit of a vanishing mean: every network empty
        return (n == 0).astype(float)
    ln_factorial = np.array([math.lgamma(k + 1.0) for k in n.ravel()], dtype=float).reshape(n.shape)
    return np.exp(n * math.log(mean) - mean - ln_factorial)


def find_peaks(x, prominence):
    """Indices of the local maxima of x whose topographic prominence is at least
    `prominence`: the result of scipy.signal.find_peaks(x, prominence=...)[0],
    written out for the short scans it is used on (the coherence C(hbar) of a
    sweep point) so the tools need not import scipy.signal (0.7 s).
    A maximum is a sample above its left neighbour and above the first
    differing sample to its right; a flat top counts once, at its middle
    (rounded down). Its prominence is its height above the higher of the two
    lowest points reached, left and right, before a higher sample or the end."""
    x = np.asarray(x, dtype=float)
    last = x.size - 1
    peaks = []
    i = 1
    while i < last:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < last and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    keep = []
    for p in peaks:
        left_min = right_min = x[p]
        i = p
        while i >= 0 and x[i] <= x[p]:
            left_min = min(left_min, x[i])
            i -= 1
        i = p
        while i <= last and x[i] <= x[p]:
            right_min = min(right_min, x[i])
            i += 1
        if prominence <= x[p] - max(left_min, right_min):
            keep.append(p)
    return np.array(keep, dtype=np.intp)

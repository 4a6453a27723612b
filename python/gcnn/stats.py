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

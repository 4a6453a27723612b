"""Time series for judging equilibration, and residuals of measured against
predicted quantities in units of their errors: what `gcnn-report` draws,
computed with verify's equilibrium window and blocking (gcnn.stats).

    import gcnn, gcnn.series as gs
    with gcnn.open("results.h5") as r:
        for t in gs.equilibration_traces(r):      # <N>, reservoir fraction, acceptances, ...
            print(t.label, t.window_mean, t.window_error, t.drift)
"""
import math

import numpy as np

from . import stats


class Trace:
    """One quantity per sample: step, time, value; its mean and time-blocked
    error over the equilibrium window, and `drift`, the change between the
    window's two halves in units of its error (|drift| > 3 says the window
    is not yet stationary)."""

    def __init__(self, name, label, unit, step, time, value, window, blocks, panel):
        self.name, self.label, self.unit, self.panel = name, label, unit, panel
        self.step, self.time = np.asarray(step), np.asarray(time, float)
        self.value = np.asarray(value, float)
        w = self.value[np.asarray(window, dtype=np.int64)] if len(window) else np.zeros(0)
        w = w[np.isfinite(w)]
        self.window_mean, self.window_error = stats.block_mean(w, blocks)
        self.drift = half_window_drift(w, blocks)

    def __repr__(self):
        return (f"Trace({self.name!r}, {self.value.size} samples, "
                f"window {self.window_mean:.4g} +- {self.window_error:.2g})")


def half_window_drift(x, blocks=10):
    """(mean of the second half - mean of the first half) / its error, each
    half's error from verify's blocking with blocks/2 blocks; nan when a half
    has fewer than 2 samples or no spread. A stationary series gives a value
    of order 1 (roughly normal for long windows)."""
    x = np.asarray(x, float).ravel()
    h = x.size // 2
    if h < 2:
        return float("nan")
    b = max(int(blocks) // 2, 2)
    m1, e1 = stats.block_mean(x[:h], b)
    m2, e2 = stats.block_mean(x[h:], b)
    e = math.hypot(e1, e2)
    return (m2 - m1) / e if e > 0 else float("nan")


# (observable, column, label, unit label, panel). Columns: the mean of a
# [mean, std] pair; None for scalar series. Panels group traces drawn on one
# axis (the acceptances share theirs).
_SCALAR_TRACES = (
    ("N", 0, "⟨Nₐ⟩, mean neurons per network", "neurons", "N"),
    ("reservoir", None, "reservoir fraction Nᵣₑₛ / R", "1", "reservoir"),
    ("join_acceptance", None, "join", "1", "acceptance"),
    ("leave_acceptance", None, "leave", "1", "acceptance"),
    ("mala_acceptance", None, "learning (MALA)", "1", "acceptance"),
    ("loss", 0, "⟨U(qₐ)⟩, mean loss", "energy", "loss"),
    ("F_set", 0, "⟨Fₐ(qₐ)⟩, mean set free energy", "energy", "F"),
    ("omega", 0, "⟨Ω(qₐ)⟩, mean grand potential", "energy", "omega"),
    ("delta_F", 0, "⟨ΔF⟩, mean F(Nₐ+1) − F(Nₐ) at qₐ", "energy", "delta_F"),
)


def equilibration_traces(r, window=None):
    """The results file's per-sample state variables as Traces, in panel
    order: <N_a>, the reservoir fraction N_res/(M rho), the join, leave and
    learning acceptance rates (each already a rate since the previous
    sample; the file stores no cumulative counters), <U>, <F_a>, <Omega>,
    <Delta F> and <q_k> (the first moment of the q histogram, per axis).
    Observables a file lacks are left out. window: sample indices of the
    equilibrium window (default verify's)."""
    win = r.equilibrium_window() if window is None else np.asarray(window, dtype=np.int64)
    out = []
    for name, col, label, unit, panel in _SCALAR_TRACES:
        if name not in r.observables:
            continue
        s = r.series(name)
        v = s.value.astype(float)
        if col is not None:
            v = v[:, col]
        if name == "reservoir":
            v = v / float(r.M * r.rho)
        if name.endswith("_acceptance") and not np.any(v > 0):
            continue  # a mover this run does not use (e.g. MALA acceptance under Langevin)
        out.append(Trace(name, label, unit, s.step, s.time, v, win, r.blocks, panel))
    for k, m in enumerate(mean_position(r).T):
        lab = "⟨q⟩ over the grid" if r.K == 1 else f"⟨q{chr(0x2080 + k + 1)}⟩ over the grid"
        out.append(Trace(f"q_mean_{k + 1}", lab, "q", r.step, r.time, m, win, r.blocks, "q"))
    return out


def mean_position(r):
    """[samples, K]: the mean of q over the networks inside the grid, from the
    q histogram's cell centres (exact up to half a cell; networks outside the
    grid are not counted)."""
    h = r.series("q_histogram").value.astype(float).reshape((r.n_samples,) + tuple(r.grid.n))
    tot = h.reshape(r.n_samples, -1).sum(axis=1)
    out = np.full((r.n_samples, r.K), np.nan)
    for k, ax in enumerate(r.grid.axes):
        other = tuple(i for i in range(1, r.K + 1) if i != k + 1)
        marg = h.sum(axis=other) if other else h
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, k] = marg @ ax / tot
    return out


def cell_block_errors(counts, blocks=10):
    """Per-cell mean probability and its time-blocked error over the rows of
    counts [samples, cells] (verify's blocking, one cell at a time; no
    multinomial floor). For a file verify has not seen."""
    c = np.asarray(counts, float)
    c = c / np.maximum(c.sum(axis=1, keepdims=True), 1)
    n = c.shape[0]
    if n == 0:
        return np.zeros(c.shape[1:]), np.zeros(c.shape[1:])
    B = min(max(int(blocks), 2), n)
    means = np.stack([c[b * n // B:(b + 1) * n // B].mean(axis=0) for b in range(B)])
    err = means.std(axis=0, ddof=1) / math.sqrt(B) if B > 1 else np.zeros(c.shape[1:])
    return c.mean(axis=0), err


def residuals(measured, predicted, error):
    """(measured - predicted) / error per point; nan where the error is not
    positive (cells no network visited and the prediction says are empty)."""
    m, p, e = np.broadcast_arrays(*(np.asarray(x, float) for x in (measured, predicted, error)))
    out = np.full(m.shape, np.nan)
    ok = e > 0
    out[ok] = (m[ok] - p[ok]) / e[ok]
    return out


def residual_summary(z):
    """(chi2 per point, number of points, fraction within 2) of residuals z
    (nan ignored): about (1, n, 0.95) when the prediction holds and the
    errors are right."""
    z = np.asarray(z, float).ravel()
    z = z[np.isfinite(z)]
    if not z.size:
        return float("nan"), 0, float("nan")
    return float(np.mean(z * z)), int(z.size), float(np.mean(np.abs(z) <= 2))


def anchored_amplitude(t, c1, err, rate):
    """The amplitude A of A e^{-rate t} that best fits |c1(t)| where it stands
    above 3 sigma (weighted least squares of ln|c1| + rate t with weights
    (c1/sigma)^2): the curve of a fitted or predicted rate drawn through the
    data, since verify stores the rates but not the fitted intercept. nan if
    no point is above 3 sigma."""
    t, a, e = np.asarray(t, float), np.abs(np.asarray(c1, float)), np.asarray(err, float)
    ok = (e > 0) & (a > 3 * e) & np.isfinite(a)
    if not ok.any():
        return float("nan")
    w = (a[ok] / e[ok]) ** 2
    return float(math.exp(np.sum(w * (np.log(a[ok]) + rate * t[ok])) / np.sum(w)))


def verification_rows(r):
    """The rows gcnn verify wrote (/verification/rows/<id>) as dicts with id,
    tier, name, measured, prediction, error, bound, pass (1, 0, or -1 for not
    asserted), note and the row's extra attributes; in the table's order
    (tier, then identity number, then letter). [] if verify has not run."""
    ids = r.verification_row_ids()
    rows = []
    for i in ids:
        a = dict(r.verification(f"rows/{i}") or {})
        a["id"] = i
        rows.append(a)
    return sorted(rows, key=lambda a: _row_order(a["id"]))


def _row_order(row_id):
    """T1.10b after T1.9a: numeric parts compared as numbers."""
    import re
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", row_id)]

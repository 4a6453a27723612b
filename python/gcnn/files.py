"""The three gcnn file kinds (results, solve, checkpoint), validated on open.

Opening checks the file kind, then every group, attribute and dataset the
schema (README "Results file schema") names: dtype, rank and shape, and the
sizes against each other (every series has one row per clock sample, grids
have the shape the parameters give). Data are read only on request, and
only after the bytes they need were compared with what the file stores and
with the memory budget. Every problem raises one FileError naming the file.
"""
import configparser
import os

import numpy as np

from . import stats
from ._safe import FileError, Reader, decode, guard, open_hdf5

# The grid-shaped observables' trailing axes after the grid, and the fixed
# shapes of the others; see src/observables.cpp (Observables::declare).
DF_BINS = 100 + 2          # kDFBins + under/overflow
EXTRA_HBAR = 4             # hbar_mu / n, n = 1..4
REQUIRED_OBSERVABLES = ("q_histogram", "q_outside", "n_histogram", "N", "delta_F", "coherence_sector",
                        "coherence_set", "coherence_hbar_mu_over_n", "psi_ensemble")  # what gcnn verify reads


class Grid:
    """The q grid: per axis lo, hi, n; cell centres lo + (i + 1/2)(hi - lo)/n."""

    def __init__(self, lo, hi, n):
        self.lo = np.asarray(lo, float)
        self.hi = np.asarray(hi, float)
        self.n = tuple(int(x) for x in n)
        self.K = len(self.n)

    @property
    def shape(self):
        return self.n

    @property
    def cells(self):
        return int(np.prod(self.n))

    @property
    def spacing(self):
        return (self.hi - self.lo) / np.asarray(self.n, float)

    @property
    def cell_volume(self):
        return float(np.prod(self.spacing))

    @property
    def axes(self):
        """Cell centres along each axis (a list of K arrays)."""
        return [self.lo[k] + (np.arange(self.n[k]) + 0.5) * self.spacing[k] for k in range(self.K)]

    def __repr__(self):
        return f"Grid(lo={self.lo.tolist()}, hi={self.hi.tolist()}, n={list(self.n)})"


class Series:
    """One observable: value[sample, ...] with its step and time per sample,
    unit, description and the dataset's other attributes (strings decoded).
    columns: names of the last axis' entries (e.g. ['mean', 'std']) or None;
    column_units: their units when they differ (unit is then ''), else None."""

    def __init__(self, name, value, step, time, unit, description, attrs, grid=None):
        self.name, self.value, self.step, self.time = name, value, step, time
        self.unit, self.description, self.attrs, self.grid = unit, description, attrs, grid
        self.columns = _str_list(attrs.get("columns"))
        self.column_units = _str_list(attrs.get("column_units"))

    def __repr__(self):
        return f"Series({self.name!r}, value {self.value.shape} {self.value.dtype}, unit {self.unit!r})"

    def to_xarray(self):
        """An xarray.DataArray with dims sample, q1..qK (grid axes) and extra
        axes, coordinates step, time and the cell centres (needs python3-xarray)."""
        import xarray as xr  # optional dependency
        dims = ["sample"]
        coords = {"step": ("sample", self.step), "time": ("sample", self.time)}
        rest = list(self.value.shape[1:])
        if self.grid is not None and tuple(rest[:self.grid.K]) == self.grid.n:
            for k, ax in enumerate(self.grid.axes):
                dims.append(f"q{k + 1}")
                coords[f"q{k + 1}"] = ax
            rest = rest[self.grid.K:]
        dims += [f"{self.name}_dim{i}" for i in range(len(rest))]
        if self.columns is not None and rest and rest[-1] == len(self.columns):
            dims[-1] = f"{self.name}_column"
            coords[dims[-1]] = self.columns
        return xr.DataArray(self.value, dims=dims, coords=coords, name=self.name,
                            attrs={"unit": self.unit, "description": self.description})


class _File:
    """Common to every kind: the open file, its checked reader, close/with."""

    kind = None

    def __init__(self, path, h5file):
        self.path = os.fspath(path)
        self._r = Reader(path, h5file)
        self._h5 = h5file

    def close(self):
        if self._h5 is not None:
            try:
                self._h5.close()
            except Exception:  # closing a damaged file must not mask the real error
                pass
            self._h5 = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _fail(self, problem):
        raise FileError(self.path, problem)

    def _attrs(self, obj):
        """Every attribute of obj, strings decoded, each size-checked."""
        return {k: self._r.any_attr(obj, k) for k in self._r.attr_names(obj)}


def _str_list(v):
    """A string-array attribute (schema 2: columns, column_units) as a list of str, or None."""
    if v is None:
        return None
    return [str(x) for x in np.atleast_1d(np.asarray(v, dtype=object)).tolist()]


def _parse_ini(path, text):
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cp.read_string(text)
    except configparser.Error as e:
        raise FileError(path, f"the stored config is not valid INI ({' '.join(str(e).split())[:120]})") from None
    return cp


def _ini_int(path, cp, section, key, lo, hi):
    try:
        v = int(cp.get(section, key))
    except (configparser.Error, ValueError):
        raise FileError(path, f"the stored config has no integer {section}.{key}") from None
    if not lo <= v <= hi:
        raise FileError(path, f"the stored config has {section}.{key} = {v}, outside [{lo}, {hi}]")
    return v


def _int_list(text):
    return [int(float(x)) for x in str(text).replace(",", " ").split()]


class Results(_File):
    """A `gcnn run` results file. Attributes: parameters (dict, every config key
    plus provenance), config (INI text), run_id, git_sha, gcnn_version,
    n_ranks, grid, step and time (one entry per sample), observables (names),
    digest (None while the run has not finished), burn_in, blocks,
    quench_step; methods series(), equilibrium_window(), block_mean(),
    grand_potential(), particles(), verification()."""

    kind = "results"

    def __init__(self, path, h5file):
        super().__init__(path, h5file)
        r, f = self._r, h5file
        self.schema_version = r.attr(f, "gcnn_schema_version", "int")
        if self.schema_version < 1:
            self._fail(f"schema version {self.schema_version} is not a gcnn results schema")
        par = r.group("parameters")
        self.parameters = self._attrs(par)
        self.units = self._attrs(r.group("units", par)) if r.has("units", par) else {}
        self.config = r.attr(par, "config", "str")
        self.run_id = r.attr(par, "run_id", "str")
        self.git_sha = r.attr(par, "git_sha", "str")
        self.gcnn_version = r.attr(par, "gcnn_version", "str")
        self.n_ranks = r.attr(par, "n_ranks", "int")
        self.M = self._param_int(par, "model.M", 1, 10**13)
        self.K = self._param_int(par, "model.K", 1, 16)
        self.rho = self._param_int(par, "model.rho", 1, 10**9)
        n_max = self._param_int(par, "observables.n_max", 0, 10**8)
        self.n_max = n_max if n_max > 0 else 4 * self.rho
        self.hbar_n = self._param_int(par, "observables.hbar_n", 1, 10**6)
        self.quench_step = self._param_int(par, "quench.step", 0, 2**62) if r.has_attr(par, "quench.step") else 0
        self.blocks = self._param_int(par, "verify.blocks", 2, 10**6) if r.has_attr(par, "verify.blocks") else 10

        gp = r.group("grand_potential")
        self._gp = gp
        lo = r.attr(gp, "grid_lo", "floats", self.K)
        hi = r.attr(gp, "grid_hi", "floats", self.K)
        n = r.attr(gp, "grid_n", "ints", self.K)
        if (n < 1).any() or float(np.prod(n.astype(float))) > 1e9:
            self._fail(f"/grand_potential grid_n = {n.tolist()} is not a grid")
        if "grid.n" in self.parameters:
            try:
                pn = _int_list(self.parameters["grid.n"])
            except ValueError:
                pn = None
            if pn is not None and len(pn) == 1:
                pn = pn * self.K
            if pn is not None and pn != n.tolist():
                self._fail(f"/grand_potential grid_n = {n.tolist()} differs from parameter grid.n = {pn}")
        self.grid = Grid(lo, hi, n)

        obs = r.group("observables")
        self._obs = obs
        clock = r.group("clock", obs)
        ds = r.dataset("step", "int", (None,), clock)
        S = ds.shape[0]
        dt = r.dataset("time", "float", (S,), clock)
        if r.has("value", clock):  # schema 2: the H5MD element's value, the learning time itself
            r.dataset("value", "float", (S,), clock)
        self.step = r.read(ds).astype(np.int64)
        self.time = r.read(dt).astype(float)
        if S and ((self.step < 0).any() or (np.diff(self.step) <= 0).any()):
            self._fail("/observables/clock/step is not strictly increasing from >= 0: damaged")
        self.n_samples = S
        self._shapes = self._schema_shapes()
        self.observables = []
        with guard(self.path, "cannot list /observables"):
            names = sorted(obs.keys())
        for name in names:
            if name == "clock":
                continue
            g = r.group(name, obs)
            want = self._shapes.get(name)
            if want is None:  # an observable this module does not know: rows only
                d = r.dataset("value", "int" if self._is_int(g) else "float", self._rank_any(g), g)
                if d.shape[0] != S:
                    self._fail(f"/observables/{name}/value has {d.shape[0]} rows, the clock {S}: incomplete")
            else:
                kind, trailing = want
                r.dataset("value", kind, (S,) + trailing, g)
            self.observables.append(name)
        missing = [m for m in REQUIRED_OBSERVABLES if m not in self.observables]
        if missing:
            self._fail(f"observable(s) {', '.join(missing)} missing: incomplete or damaged")
        self._check_grand_potential()
        self.digest = None
        if r.has("digest"):
            self.digest = r.attr(r.group("digest"), "state", "str")
        self.finished = self.digest is not None
        self.burn_in = self._burn_in(par)
        self._check_particles()

    # -- validation helpers -------------------------------------------------
    def _param_int(self, par, key, lo, hi):
        v = self._r.attr(par, key, "int")
        if not lo <= v <= hi:
            self._fail(f"parameter {key} = {v} is outside [{lo}, {hi}]: damaged")
        return v

    def _is_int(self, g):
        with guard(self.path, f"cannot open '{g.name}/value'"):
            d = g.get("value")
            return d is not None and hasattr(d, "dtype") and d.dtype.kind in "iu"

    def _rank_any(self, g):
        with guard(self.path, f"cannot open '{g.name}/value'"):
            d = g.get("value")
            if d is None or not hasattr(d, "shape"):
                self._fail(f"dataset '{g.name}/value' is missing")
            if len(d.shape) < 1:
                self._fail(f"dataset '{g.name}/value' is a scalar, expected one row per sample")
            return (None,) * len(d.shape)

    def _schema_shapes(self):
        gs, nm = self.grid.n, self.n_max + 2
        shapes = {
            "q_histogram": ("int", gs), "q_outside": ("int", ()), "n_histogram": ("int", (nm,)),
            "reservoir": ("int", ()), "occupied_fraction": ("float", ()), "join_acceptance": ("float", ()),
            "leave_acceptance": ("float", ()), "mala_acceptance": ("float", ()),
            "N": ("float", (2,)), "loss": ("float", (2,)), "F_set": ("float", (2,)), "omega": ("float", (2,)),
            "delta_F": ("float", (2,)), "delta_F_histogram": ("int", (DF_BINS,)),
            "coherence_sector": ("float", (self.hbar_n,)), "coherence_set": ("float", (self.hbar_n,)),
            "coherence_hbar_mu_over_n": ("float", (EXTRA_HBAR, 2)), "psi_ensemble": ("float", gs + (2,)),
            "widom": ("float", (2,)), "widom_count": ("int", ()), "phase_field": ("float", gs + (3,)),
            "current": ("float", gs + (self.K, 2)), "current_samples": ("int", ()),
        }
        r, obs = self._r, self._obs
        if r.has("n_given_q", obs):  # pooled grid: attribute pooled_n of the dataset
            d = r.dataset("value", "int", (None,) * (self.K + 2), r.group("n_given_q", obs))
            pooled = r.attr(d, "pooled_n", "ints", self.K)
            if any(p < 1 or p > g for p, g in zip(pooled.tolist(), gs)):
                self._fail(f"/observables/n_given_q pooled_n = {pooled.tolist()} does not fit the grid {list(gs)}")
            shapes["n_given_q"] = ("int", tuple(int(p) for p in pooled) + (nm,))
        return shapes

    def _check_grand_potential(self):
        r, gp, C, K = self._r, self._gp, self.grid.cells, self.K
        for name in ("omega", "p_eq", "log_lambda"):
            if r.has(name, gp):
                d = r.dataset(name, "float", _rank(r, gp, name), gp)
                if int(np.prod(d.shape)) != C:
                    self._fail(f"/grand_potential/{name} has shape {d.shape}, the grid {C} cells")
            elif name == "p_eq":
                self._fail("dataset '/grand_potential/p_eq' is missing")
        if r.has("cell_centres", gp):
            d = r.dataset("cell_centres", "float", _rank(r, gp, "cell_centres"), gp)
            if d.shape[-1] != K or int(np.prod(d.shape)) != C * K:
                self._fail(f"/grand_potential/cell_centres has shape {d.shape}, expected ({C}, {K})")
        if r.has("log_eN", gp):  # [cells, N] or [grid..., N]
            d = r.dataset("log_eN", "float", _rank(r, gp, "log_eN"), gp)
            if len(d.shape) < 2 or int(np.prod(d.shape[:-1])) != C or d.shape[-1] > 10**8:
                self._fail(f"/grand_potential/log_eN has shape {d.shape}, expected ({C}, N) or grid + (N,)")

    def _check_particles(self):
        r = self._r
        self._particles = None
        self.box = None
        if not r.has("particles"):
            return
        pos = r.group("particles/networks/position") if r.has("particles/networks/position") else None
        if pos is None:
            self._fail("group '/particles/networks/position' is missing")
        d = r.dataset("value", "float", (self.n_samples, None, self.K), pos)
        n_sub = d.shape[1]
        if n_sub > self.M:
            self._fail(f"/particles/networks/position holds {n_sub} networks, more than M = {self.M}")
        ids = r.dataset("particles/networks/id", "int", (n_sub,))
        self._particles = (d, ids)
        # schema 2: the H5MD box (dimension K, boundary per axis, edges if periodic)
        self.box = None
        if r.has("particles/networks/box"):
            b = r.group("particles/networks/box")
            if r.attr(b, "dimension", "int") != self.K:
                self._fail(f"/particles/networks/box dimension differs from K = {self.K}")
            boundary = _str_list(r.any_attr(b, "boundary"))
            if len(boundary) != self.K or any(x not in ("periodic", "none") for x in boundary):
                self._fail(f"/particles/networks/box boundary = {boundary} is not periodic/none per axis")
            edges = r.read(r.dataset("edges", "float", (self.K,), b)) if r.has("edges", b) else None
            self.box = {"dimension": self.K, "boundary": boundary, "edges": edges}

    def _burn_in(self, par):
        r = self._r
        if r.has("verification") and r.has_attr(self._r.group("verification"), "burn_in"):
            b = r.attr(r.group("verification"), "burn_in", "float")
        elif r.has_attr(par, "verify.burn_in"):
            b = r.attr(par, "verify.burn_in", "float")
        else:
            b = 0.3
        if not 0 <= b <= 1:
            self._fail(f"burn-in fraction {b} is outside [0, 1]: damaged")
        return b

    # -- data ----------------------------------------------------------------
    def series(self, name, window=None):
        """Observable `name` as a Series; window: sample indices to read (e.g.
        equilibrium_window()), default all."""
        if name not in self.observables:
            self._fail(f"has no observable '{name}' (it has {', '.join(self.observables)})")
        r = self._r
        g = r.group(name, self._obs)
        d = r.dataset("value", "int" if self._is_int(g) else "float", self._rank_any(g), g)
        rows = None if window is None else np.asarray(window, dtype=np.int64)
        if rows is not None and rows.size and (rows.min() < 0 or rows.max() >= self.n_samples):
            raise IndexError(f"window indices outside 0..{self.n_samples - 1}")
        value = r.read(d, rows)
        self._check_counts(name, value, rows)
        attrs = {k: r.any_attr(d, k) for k in r.attr_names(d)}
        desc = r.attr(g, "description", "str") if r.has_attr(g, "description") else ""
        unit = attrs.pop("unit", "")
        sel = slice(None) if rows is None else rows
        return Series(name, value, self.step[sel], self.time[sel], unit, desc, attrs, self.grid)

    # Exact integer invariants of the counting observables: results files have
    # no data checksums, so these catch damaged rows (a flipped byte in a
    # histogram) that no shape check can.
    def _check_counts(self, name, value, rows):
        def bad(why):
            self._fail(f"/observables/{name}/value {why}: damaged data")
        if value.size == 0:
            return
        if name in ("q_histogram", "n_histogram", "delta_F_histogram", "n_given_q", "q_outside", "widom_count",
                    "current_samples", "reservoir") and value.size and value.min() < 0:
            bad("holds negative counts")
        per_row = value.reshape(value.shape[0], -1).sum(axis=1) if value.ndim > 1 else value
        if name == "n_histogram" and (per_row != self.M).any():
            bad(f"has rows that do not sum to M = {self.M} networks")
        if name == "q_histogram":
            g = self._r.group("q_outside", self._obs)
            outside = self._r.read(self._r.dataset("value", "int", (self.n_samples,), g), rows)
            if (per_row + outside != self.M).any():
                bad(f"plus q_outside does not sum to M = {self.M} networks in every row")
        if name in ("q_outside", "widom_count", "current_samples", "delta_F_histogram", "n_given_q") and \
                (per_row > self.M).any():
            bad(f"counts more than M = {self.M} networks in a row")
        if name == "reservoir" and (value > self.M * self.rho).any():
            bad(f"holds more than R = M rho = {self.M * self.rho} neurons")

    def __getitem__(self, name):
        return self.series(name).value

    def check_data(self):
        """Read every counting observable and check its exact invariants (see
        _check_counts); FileError if one fails. Returns the names checked."""
        names = [n for n in ("q_histogram", "n_histogram", "q_outside", "delta_F_histogram", "n_given_q",
                             "widom_count", "current_samples", "reservoir") if n in self.observables]
        for n in names:
            self.series(n)
        self.grand_potential("p_eq")
        return names

    def equilibrium_window(self, burn_in=None):
        """Sample indices of verify's equilibrium window (after burn_in times the
        pre-quench run, up to the quench)."""
        return stats.equilibrium_window(self.step, self.burn_in if burn_in is None else burn_in, self.quench_step)

    def block_mean(self, x, blocks=None):
        """(mean, error) of x with verify's blocking (verify.blocks blocks)."""
        return stats.block_mean(x, self.blocks if blocks is None else blocks)

    def grand_potential(self, name=None):
        """/grand_potential: dataset `name` as an array, or (name None) its
        attributes as a dict (strings decoded)."""
        if name is None:
            return self._attrs(self._gp)
        r = self._r
        a = r.read(r.dataset(name, "float", _rank(r, self._gp, name), self._gp))
        if name == "p_eq":  # a normalised density on the grid
            if not np.isfinite(a).all() or (a < 0).any() or abs(a.sum() * self.grid.cell_volume - 1) > 1e-6:
                self._fail("/grand_potential/p_eq is not a normalised density on the grid: damaged data")
        return a

    def particles(self, window=None):
        """(ids [n_sub], q [samples, n_sub, K]) of the stored subsample, or None."""
        if self._particles is None:
            return None
        d, ids = self._particles
        return self._r.read(ids), self._r.read(d, window)

    @property
    def has_verification(self):
        return self._r.has("verification")

    def verification(self, name=None):
        """/verification written by `gcnn verify`: name None -> its attributes
        (dict; 'table' is the verdict text), a group path -> that group's
        attributes, a dataset path -> the array; None when absent."""
        r = self._r
        if not r.has("verification"):
            return None
        v = r.group("verification")
        if name is None:
            return self._attrs(v)
        if not r.has(name, v):
            return None
        with guard(self.path, f"cannot open '/verification/{name}'"):
            obj = v[name]
        if not hasattr(obj, "dtype"):
            return self._attrs(obj)
        return r.read(r.dataset(name, "int" if obj.dtype.kind in "iu" else "float", _rank(r, v, name), v))

    def verification_row_ids(self):
        """The identities gcnn verify evaluated (names of /verification/rows), [] if none."""
        r = self._r
        if not r.has("verification/rows"):
            return []
        with guard(self.path, "cannot list /verification/rows"):
            return sorted(r.group("verification/rows").keys())

    @property
    def solve(self):
        """The /schrodinger group of `gcnn solve --output` onto this file, or None."""
        return Solve(self.path, self._h5, owner=self) if self._r.has("schrodinger") else None


def _rank(r, parent, name):
    with guard(r.path, f"cannot open '{name}'"):
        d = parent.get(name)
        if d is None or not hasattr(d, "shape"):
            r.fail(f"dataset '{parent.name.rstrip('/')}/{name}' is missing")
        if len(d.shape) > 8:
            r.fail(f"dataset '{d.name}' has rank {len(d.shape)}")
        return (None,) * len(d.shape)


class Solve(_File):
    """The /schrodinger group written by `gcnn solve`: hbar, mass, boundary,
    potential, grid, config; eigenvalues(), eigenvectors() [n_eig, grid...],
    V() [grid], cell_centres(), tdse(name) and fokker_planck(name)."""

    kind = "solve"

    def __init__(self, path, h5file, owner=None):
        super().__init__(path, h5file)
        self._owner = owner
        r = self._r
        g = r.group("schrodinger")
        self._g = g
        self.hbar = r.attr(g, "hbar", "float")
        self.mass = r.attr(g, "mass", "float")
        self.boundary = r.attr(g, "boundary", "str")
        self.potential = r.attr(g, "potential", "str")
        self.config = r.attr(g, "config", "str") if r.has_attr(g, "config") else ""
        n = r.attr(g, "grid_n", "ints")
        K = len(n)
        if not 1 <= K <= 16 or (n < 1).any() or float(np.prod(n.astype(float))) > 1e9:
            self._fail(f"/schrodinger grid_n = {n.tolist()} is not a grid")
        self.grid = Grid(r.attr(g, "grid_lo", "floats", K), r.attr(g, "grid_hi", "floats", K), n)
        gs = self.grid.n
        r.dataset("V", "float", gs, g)
        ev = r.dataset("eigenvalues", "float", (None,), g)
        self.n_eig = ev.shape[0]
        r.dataset("eigenvectors", "float", (self.n_eig,) + gs, g)
        r.dataset("cell_centres", "float", (self.grid.cells, K), g)
        self._parts = {}
        for sub, snap in (("tdse", ("psi", gs + (2,))), ("fokker_planck", ("density", gs))):
            if not r.has(sub, g):
                continue
            t = r.group(sub, g)
            nt = r.dataset("time", "float", (None,), t).shape[0]
            for s in ("norm", "energy") if sub == "tdse" else ("probability",):
                r.dataset(s, "float", (nt,), t)
            ns = r.dataset("snapshot_time", "float", (None,), t).shape[0]
            r.dataset(snap[0], "float", (ns,) + snap[1], t)
            self._parts[sub] = t

    def close(self):
        if self._owner is None:
            super().close()

    def _read(self, name, parent=None):
        r = self._r
        parent = self._g if parent is None else parent
        return r.read(r.dataset(name, "float", _rank(r, parent, name), parent))

    def eigenvalues(self):
        return self._read("eigenvalues")

    def eigenvectors(self):
        return self._read("eigenvectors")

    def V(self):
        return self._read("V")

    def cell_centres(self):
        return self._read("cell_centres")

    def check_data(self):
        """Read every array once (damaged data raise FileError)."""
        for x in ("eigenvalues", "eigenvectors", "V", "cell_centres"):
            self._read(x)
        for sub, t in self._parts.items():
            for name in t:
                self._read(name, t)
        return ["eigenvalues", "eigenvectors", "V", "cell_centres"] + list(self._parts)

    def tdse(self, name):
        """'time', 'norm', 'energy', 'snapshot_time', 'psi' [snap, grid..., Re/Im]; None without a TDSE run."""
        return self._read(name, self._parts["tdse"]) if "tdse" in self._parts else None

    def fokker_planck(self, name):
        """'time', 'probability', 'snapshot_time', 'density' [snap, grid...]; None without one."""
        return self._read(name, self._parts["fokker_planck"]) if "fokker_planck" in self._parts else None


class Checkpoint(_File):
    """A checkpoint (ckpt.<step>.h5): run_id, step, n_ranks, n_samples, digest,
    config, n_active, n_reservoir, M, K, rho; q() [M, K], N() [M],
    counters() {component: {counter: value}} (each component's restart
    state, global sums), neurons(name) for neuron_id, neuron_c, neuron_w."""

    kind = "checkpoint"

    def __init__(self, path, h5file):
        super().__init__(path, h5file)
        r, f = self._r, h5file
        self.schema_version = r.attr(f, "gcnn_schema_version", "int")
        for k in ("gcnn_version", "git_sha", "run_id", "config", "digest"):
            setattr(self, k, r.attr(f, k, "str"))
        for k in ("step", "n_ranks", "n_samples", "n_active", "n_reservoir"):
            v = r.attr(f, k, "int")
            if v < 0 or (k == "n_ranks" and v < 1):
                self._fail(f"attribute {k} = {v} is impossible: damaged")
            setattr(self, k, v)
        cp = _parse_ini(self.path, self.config)
        self.M = _ini_int(self.path, cp, "model", "M", 1, 10**13)
        self.K = _ini_int(self.path, cp, "model", "K", 1, 16)
        self.rho = _ini_int(self.path, cp, "model", "rho", 1, 10**9)
        R = self.M * self.rho
        if self.n_active + self.n_reservoir != R:
            self._fail(f"n_active + n_reservoir = {self.n_active + self.n_reservoir} differs from R = M rho = {R}")
        st = r.group("state")
        self._st = st
        self._q = r.dataset("q", "float", (self.M, self.K), st)
        self._N = r.dataset("N", "int", (self.M,), st)
        self._counters = self._restart_datasets(st)
        self._bulk = {"neuron_id": r.dataset("neuron_id", "int", (R,), st),
                      "neuron_c": r.dataset("neuron_c", "float", (R,), st),
                      "neuron_w": r.dataset("neuron_w", "float", (self.K, R), st)}
        N = self.N()
        if N.size and (N.min() < 0 or N.max() > R):
            self._fail("/state/N holds an impossible occupancy: damaged")
        if int(N.sum()) != self.n_active:
            self._fail(f"sum of /state/N = {int(N.sum())} differs from n_active = {self.n_active}: damaged")

    def q(self):
        return self._r.read(self._q)

    def check_data(self):
        """Read every state array (HDF5 fletcher32 or gcnn_checksum checked)."""
        self.q()
        self.counters()
        for k in self._bulk:
            self.neurons(k)
        return ["q", "N", "counters"] + list(self._bulk)

    def N(self):
        return self._r.read(self._N)

    # Schema 2 stored the counters as one anonymous [12] array, in this order.
    _SCHEMA2 = [("exchange", n) for n in ("join_proposed", "join_accepted", "leave_proposed", "leave_accepted")] + [
        ("learning", "proposed"), ("learning", "accepted")] + [
        ("observables", n + "_at_sample") for n in ("join_proposed", "join_accepted", "leave_proposed",
                                                    "leave_accepted", "mala_proposed", "mala_accepted")]

    def _restart_datasets(self, st):
        """{component: (dataset, [names])} of /state/restart (schema 3), or
        {None: (/state/counters, None)} for schema 2; checked, not read."""
        r = self._r
        if self.schema_version <= 2:
            return {None: (r.dataset("counters", "int", (12,), st), None)}
        g = r.group("restart", st)
        out = {}
        for comp in [c for c in r.attr(g, "components", "str").split("\n") if c]:
            d0 = r.dataset(comp, "int", (None,), g)
            names = [n for n in r.attr(d0, "names", "str").split("\n") if n]
            out[comp] = (r.dataset(comp, "int", (len(names),), g), names)
        return out

    def counters(self):
        """Each component's restart counters: {component: {name: value}}."""
        out = {}
        for comp, (d, names) in self._counters.items():
            v = self._r.read(d)
            if comp is None:
                for (c, n), x in zip(self._SCHEMA2, v):
                    out.setdefault(c, {})[n] = int(x)
            else:
                out[comp] = {n: int(x) for n, x in zip(names, v)}
        return out

    def neurons(self, name):
        """neuron_id [R], neuron_c [R] or neuron_w [K, R], checked against the
        gcnn_checksum attribute gcnn wrote with it (the bulk arrays have no
        HDF5 checksum)."""
        d = self._bulk[name]
        a = self._r.read(d)
        want = self._r.attr(d, "gcnn_checksum", "ints", 2)
        if (checksum(a) != want).any():
            self._fail(f"/state/{name} does not match its gcnn_checksum: damaged data")
        return a


def checksum(a):
    """The checkpoint's bulk-array checksum (src/checkpoint.cpp, Checksum):
    over the array in C order with bit patterns w_j (64 or 32 bits) and
    positions j = 0.., (sum w_j, sum (j + 1) w_j) modulo 2^64, as int64."""
    flat = np.ascontiguousarray(a).reshape(-1)
    w = flat.view(np.uint64) if flat.dtype.itemsize == 8 else flat.view(np.uint32).astype(np.uint64)
    j = np.arange(1, w.size + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        s0 = np.sum(w, dtype=np.uint64)
        s1 = np.sum(w * j, dtype=np.uint64)
    return np.array([s0, s1], dtype=np.uint64).view(np.int64)


KINDS = {"results": Results, "checkpoint": Checkpoint, "solve": Solve}


def open(path, kinds=None):  # noqa: A001 (gcnn.open, like h5py.File)
    """Open a gcnn results, solve or checkpoint file, validated; returns a
    Results, Solve or Checkpoint (use as a context manager). kinds: a tuple
    of accepted kinds (default all). Raises FileError on anything wrong."""
    f = open_hdf5(path)
    try:
        r = Reader(path, f)
        if r.has_attr(f, "gcnn_file_kind"):
            kind = r.attr(f, "gcnn_file_kind", "str")
        elif r.has("schrodinger"):
            kind = "solve"  # older `gcnn solve` files carry no file kind
        else:
            raise FileError(path, "is not a gcnn file (no gcnn_file_kind attribute)")
        if kind not in KINDS:
            raise FileError(path, f"is not a gcnn file (gcnn_file_kind = '{kind}')")
        if kinds is not None and kind not in kinds:
            raise FileError(path, f"is a gcnn {kind} file, expected a {' or '.join(kinds)} file")
        return KINDS[kind](path, f)
    except BaseException:
        try:
            f.close()
        except Exception:
            pass
        raise


__all__ = ["open", "Results", "Solve", "Checkpoint", "Series", "Grid", "FileError", "decode"]


def _datasets(self):
    """Every dataset in the file as (path, shape, dtype, fletcher32), walked
    with errors turned into a FileError."""
    out = []

    def visit(name, obj):
        if hasattr(obj, "dtype"):
            out.append(("/" + name, tuple(obj.shape), obj.dtype, bool(obj.fletcher32)))

    with guard(self.path, "cannot walk the file's datasets"):
        self._h5.visititems(visit)
    return out


_File.datasets = _datasets

#!/usr/bin/python3
"""H5MD 1.1 conformance of gcnn results and solve files (issue 17 item 3).

usage:
  h5md_conformance.py make GCNN MPIEXEC DIR   write DIR/results.h5 (K = 2, a particle subsample) and
                                              DIR/solve.h5 (K = 1, TDSE and Fokker-Planck snapshots)
  h5md_conformance.py check FILE...           walk each file against the rules below; exit 1 listing
                                              every violation

Rules (H5MD 1.1 and its units module; HDF5 dimension scales):
  h5md      /h5md with version [1, 1], creator (name, version), author (name); gcnn_file_kind
  box       every group of /particles has box with dimension (integer) and boundary (one of
            periodic/none per axis); edges [dimension] if some axis is periodic
  element   every group of /observables and /particles/<group> holding step, time or value is an
            H5MD element: value with step and time whose first dimensions match value's
  units     /h5md/modules/units declared (version); every `unit` attribute and every entry of a
            `column_units` attribute parses in the unit grammar: factors separated by one space, an
            optional leading number, then symbols (letters) each at most once, each with an optional
            non-zero signed integer power
  strings   every string attribute is a variable-length UTF-8 string (except the fixed-length CLASS
            and NAME that the HDF5 dimension-scale specification itself prescribes)
  scales    every gridded dataset has, on each q axis, one dimension scale holding the cell centres of
            that axis (lo + (i + 1/2) h); every time series' sample axis has its time as a scale
"""
import os
import re
import subprocess
import sys

import h5py
import numpy as np

SCALE_SPEC_ATTRS = {"CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST", "DIMENSION_LABELS"}
NUMBER = re.compile(r"^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
FACTOR = re.compile(r"^([A-Za-z]+)([-+]?\d+)?$")
# Gridded datasets: path -> the axis where the grid starts.
RESULTS_GRIDDED = {"observables/q_histogram/value": 1, "observables/psi_ensemble/value": 1,
                   "observables/phase_field/value": 1, "observables/current/value": 1,
                   "grand_potential/p_eq": 0, "grand_potential/omega": 0, "grand_potential/log_lambda": 0,
                   "grand_potential/log_eN": 0}
SOLVE_GRIDDED = {"schrodinger/V": 0, "schrodinger/eigenvectors": 1, "schrodinger/tdse/psi": 1,
                 "schrodinger/fokker_planck/density": 1}


def valid_unit(u):
    if not isinstance(u, str) or not u or u != u.strip() or "  " in u:
        return False
    seen = set()
    for i, f in enumerate(u.split(" ")):
        if i == 0 and NUMBER.match(f):
            continue
        m = FACTOR.match(f)
        if not m or m.group(1) in seen or (m.group(2) is not None and int(m.group(2)) == 0):
            return False
        seen.add(m.group(1))
    return True


class Walk:
    def __init__(self, path):
        self.path, self.problems = path, []

    def bad(self, rule, msg):
        self.problems.append(f"[{rule}] {msg}")

    def check(self):
        with h5py.File(self.path, "r") as f:
            self.header(f)
            self.strings_and_units(f)
            self.elements(f)
            self.boxes(f)
            self.scales(f)
        return self.problems

    def header(self, f):
        kind = f.attrs.get("gcnn_file_kind")
        if not isinstance(kind, str) or kind not in ("results", "solve"):
            self.bad("h5md", f"gcnn_file_kind is {kind!r}, expected 'results' or 'solve'")
        if "h5md" not in f:
            self.bad("h5md", "no /h5md group")
            return
        h = f["h5md"]
        v = h.attrs.get("version")
        if v is None or np.asarray(v).dtype.kind not in "iu" or list(np.asarray(v).ravel()) != [1, 1]:
            self.bad("h5md", f"/h5md version is {v!r}, expected integers [1, 1]")
        for g, keys in (("creator", ("name", "version")), ("author", ("name",))):
            if g not in h:
                self.bad("h5md", f"/h5md/{g} is missing")
                continue
            for k in keys:
                if not isinstance(h[g].attrs.get(k), str) or not h[g].attrs.get(k):
                    self.bad("h5md", f"/h5md/{g} attribute {k} is not a non-empty string")

    def objects(self, f):
        out = [("/", f)]
        f.visititems(lambda name, obj: out.append(("/" + name, obj)))
        return out

    def strings_and_units(self, f):
        units_declared = "h5md/modules/units" in f and "version" in f["h5md/modules/units"].attrs
        any_unit = False
        for path, obj in self.objects(f):
            for name in obj.attrs:
                if name in SCALE_SPEC_ATTRS:
                    continue
                t = obj.attrs.get_id(name).dtype
                info = h5py.check_string_dtype(t)
                if info is None and t.kind in "SUO":
                    info = h5py.check_string_dtype(t.base) if t.base is not t else None
                if t.kind == "S" or (info is not None and info.length is not None):
                    self.bad("strings", f"{path} attribute {name} is a fixed-length string ({t})")
                elif info is not None and info.encoding != "utf-8":
                    self.bad("strings", f"{path} attribute {name} is {info.encoding}, not UTF-8")
                if name in ("unit", "column_units"):
                    any_unit = True
                    vals = np.atleast_1d(np.asarray(obj.attrs[name], dtype=object)).tolist()
                    for u in vals:
                        u = u.decode() if isinstance(u, bytes) else u
                        if not valid_unit(u):
                            self.bad("units", f"{path} {name} {u!r} is not in the units module's grammar")
        if any_unit and not units_declared:
            self.bad("units", "unit attributes are used but /h5md/modules/units (with version) is not declared")

    def element(self, path, g):
        keys = set(g.keys())
        if "value" not in keys:
            self.bad("element", f"{path} has {sorted(keys & {'step', 'time'})} but no value")
            return
        v = g["value"]
        for k in ("step", "time"):
            if k not in keys:
                self.bad("element", f"{path} has no {k}")
                continue
            d = g[k]
            if d.ndim == 0:
                continue  # fixed interval (scalar) is allowed
            if d.shape[0] != v.shape[0]:
                self.bad("element", f"{path}/{k} has {d.shape[0]} rows, value {v.shape[0]}")
        if "step" in keys and g["step"].dtype.kind not in "iu":
            self.bad("element", f"{path}/step is not an integer dataset")

    def elements(self, f):
        roots = []
        if "observables" in f:
            roots.append(("/observables", f["observables"]))
        if "particles" in f:
            roots += [(f"/particles/{n}", g) for n, g in f["particles"].items() if isinstance(g, h5py.Group)]
        for base, root in roots:
            def visit(name, obj, base=base):
                if isinstance(obj, h5py.Group) and name.split("/")[0] != "box" and \
                        {"step", "time", "value"} & set(obj.keys()):
                    self.element(f"{base}/{name}", obj)
            root.visititems(visit)

    def boxes(self, f):
        if "particles" not in f:
            return
        for n, g in f["particles"].items():
            if "box" not in g:
                self.bad("box", f"/particles/{n} has no box")
                continue
            b = g["box"]
            dim = b.attrs.get("dimension")
            bnd = b.attrs.get("boundary")
            if dim is None or np.asarray(dim).dtype.kind not in "iu" or np.asarray(dim).ndim != 0:
                self.bad("box", f"/particles/{n}/box dimension is {dim!r}, expected an integer")
                continue
            bnd = [] if bnd is None else [x.decode() if isinstance(x, bytes) else x for x in np.atleast_1d(bnd)]
            if len(bnd) != int(dim) or any(x not in ("periodic", "none") for x in bnd):
                self.bad("box", f"/particles/{n}/box boundary is {bnd}, expected periodic/none per axis")
            if "periodic" in bnd and ("edges" not in b or b["edges"].shape[-1:] != (int(dim),)):
                self.bad("box", f"/particles/{n}/box is periodic but has no edges [{int(dim)}]")

    def scales(self, f):
        for group, table in (("grand_potential", RESULTS_GRIDDED), ("schrodinger", SOLVE_GRIDDED)):
            if group not in f:
                continue
            g = f[group]
            lo, hi, n = (np.atleast_1d(g.attrs[k]) for k in ("grid_lo", "grid_hi", "grid_n"))
            axes = [lo[k] + (np.arange(n[k]) + 0.5) * (hi[k] - lo[k]) / n[k] for k in range(len(n))]
            for path, first in table.items():
                if path not in f:
                    continue
                d = f[path]
                for k, centres in enumerate(axes):
                    dim = d.dims[first + k]
                    if len(dim) != 1:
                        self.bad("scales", f"/{path} axis {first + k} has {len(dim)} dimension scales, expected 1")
                        continue
                    s = dim[0]
                    if s.shape != (d.shape[first + k],) or not np.allclose(s[()], centres, rtol=0, atol=1e-12):
                        self.bad("scales", f"/{path} axis {first + k}: scale {s.name} is not the cell centres "
                                           f"of grid axis {k + 1}")
        if "observables" in f:
            for name, g in f["observables"].items():
                if name == "clock" or "value" not in g:
                    continue
                dim = g["value"].dims[0]
                if len(dim) != 1 or dim[0].shape != g["time"].shape or \
                        not np.array_equal(dim[0][()], g["time"][()]):
                    self.bad("scales", f"/observables/{name}/value sample axis has no time scale")


def make(gcnn_bin, mpiexec, d):
    os.makedirs(d, exist_ok=True)
    for name in ("results.h5", "results.xdmf", "solve.h5", "solve.xdmf"):
        if os.path.exists(os.path.join(d, name)):
            os.remove(os.path.join(d, name))
    run = [mpiexec, "--oversubscribe", "-n", "2", gcnn_bin, "run", "--model.M", "256", "--model.rho", "16",
           "--model.K", "2", "--grid.n", "12,10", "--grid.check", "false", "--run.steps", "200", "--observables.sample_every", "20",
           "--observables.particles", "8", "--observables.hbar_n", "6", "--run.progress_seconds", "0",
           "--checkpoint.every", "0", "--overwrite", "--output", os.path.join(d, "results.h5")]
    solve = [mpiexec, "--oversubscribe", "-n", "1", gcnn_bin, "solve", "--model.M", "256", "--solver.n_eig", "3", "--solver.tdse_steps", "20", "--solver.fp_steps", "20", "--solver.snapshots",
             "3", "--output", os.path.join(d, "solve.h5")]
    for cmd in (run, solve):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
        if r.returncode != 0:
            print(f"FAIL: {' '.join(cmd[3:5])} exited {r.returncode}: {r.stdout[-300:]} {r.stderr[-500:]}")
            sys.exit(1)
    print(f"made {d}/results.h5 and {d}/solve.h5")


def main(argv):
    if len(argv) == 5 and argv[1] == "make":
        make(argv[2], argv[3], argv[4])
        return 0
    if len(argv) >= 3 and argv[1] == "check":
        failed = False
        for p in argv[2:]:
            problems = Walk(p).check()
            for x in problems:
                print(f"{p}: {x}")
            print(f"{p}: {'FAIL' if problems else 'ok'} ({len(problems)} violations of H5MD 1.1 / the schema)")
            failed |= bool(problems)
        return 1 if failed else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

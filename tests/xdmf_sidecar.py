#!/usr/bin/python3
"""The XDMF sidecars of gcnn results and solve files (issue 17 item 5).

usage: xdmf_sidecar.py FILE.h5...

For each FILE.h5, FILE.xdmf must exist, parse (xml.etree) as XDMF 3 and
reference only what the .h5 holds:
  - every HDF DataItem names, by a path relative to the sidecar, a dataset of
    that file with exactly the stated Dimensions, NumberType and Precision;
  - every HyperSlab's start/stride/count lie inside its source, and its
    Dimensions are the count; a Function's Dimensions are its arguments';
  - every cell-centred Attribute has as many values as its grid's
    CoRectMesh has cells, and the Geometry's origin and spacing are the
    file's grid (grid_lo, (grid_hi - grid_lo) / grid_n);
  - every temporal collection has one child per row of its source, at the
    times the file stores (the clock's time, or the snapshot times);
  - a results file's sidecar shows q_histogram, p_eq and omega; a solve
    file's Re psi, Im psi, |psi|^2 and V, and the Fokker-Planck density.
Exit 1 listing every problem.
"""
import os
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np


def dims(e):
    return tuple(int(x) for x in e.get("Dimensions").split())


class Check:
    def __init__(self, h5path):
        self.h5path = h5path
        self.xdmf = h5path[:-3] + ".xdmf" if h5path.endswith(".h5") else h5path + ".xdmf"
        self.problems = []
        self.h5 = None

    def bad(self, msg):
        self.problems.append(msg)

    def run(self):
        if not os.path.exists(self.xdmf):
            self.bad(f"no sidecar {self.xdmf}")
            return self.problems
        try:
            root = ET.parse(self.xdmf).getroot()
        except ET.ParseError as e:
            self.bad(f"{self.xdmf} is not XML: {e}")
            return self.problems
        if root.tag != "Xdmf" or root.get("Version") != "3.0" or root.find("Domain") is None:
            self.bad(f"{self.xdmf} is not an XDMF 3 document (root {root.tag} version {root.get('Version')})")
            return self.problems
        with h5py.File(self.h5path, "r") as f:
            self.h5 = f
            names = set()
            for grid in root.iter("Grid"):
                if grid.get("GridType") == "Uniform":
                    names |= self.uniform(grid)
                elif grid.get("CollectionType") == "Temporal":
                    self.temporal(grid)
            want = set()
            if "observables/q_histogram" in f:
                want |= {"q_histogram", "p_eq", "omega"}
            if "schrodinger/tdse/psi" in f:
                want |= {"Re psi", "Im psi", "|psi|^2", "V"}
            if "schrodinger/fokker_planck/density" in f:
                want |= {"density"}
            if not want:
                self.bad("the .h5 holds nothing the sidecar should show")
            for w in sorted(want - names):
                self.bad(f"the sidecar shows no attribute {w!r}")
        return self.problems

    # -- data items --------------------------------------------------------
    def item(self, e):
        """Checks a DataItem; returns the shape it yields."""
        kind = e.get("ItemType", "Uniform")
        if kind == "HyperSlab":
            sel, src = list(e)
            r = len(self.item(src))
            v = np.array(sel.text.split(), dtype=np.int64)
            if dims(sel) != (3, r) or v.size != 3 * r:
                self.bad(f"hyperslab selection {dims(sel)} does not fit a rank-{r} source")
                return dims(e)
            start, stride, count = v.reshape(3, r)
            shape = np.array(self.item(src))
            if (start < 0).any() or (start + (count - 1) * stride >= shape).any():
                self.bad(f"hyperslab start {start} count {count} outside {src.text.strip()} {tuple(shape)}")
            if tuple(count) != dims(e):
                self.bad(f"hyperslab Dimensions {dims(e)} differ from its count {tuple(count)}")
            return dims(e)
        if kind == "Function":
            for arg in e:
                if self.item(arg) != dims(e):
                    self.bad(f"function {e.get('Function')} argument shape differs from {dims(e)}")
            return dims(e)
        if e.get("Format") == "XML":
            if len(e.text.split()) != int(np.prod(dims(e))):
                self.bad(f"XML DataItem holds {len(e.text.split())} values, Dimensions {dims(e)}")
            return dims(e)
        if e.get("Format") != "HDF":
            self.bad(f"DataItem of format {e.get('Format')}")
            return dims(e)
        fname, _, path = e.text.strip().partition(":")
        target = os.path.join(os.path.dirname(self.xdmf), fname)
        if os.path.realpath(target) != os.path.realpath(self.h5path):
            self.bad(f"DataItem references {fname}, not {os.path.basename(self.h5path)} next to the sidecar")
            return dims(e)
        if path not in self.h5 or not isinstance(self.h5[path], h5py.Dataset):
            self.bad(f"DataItem references {path}, which is no dataset of {fname}")
            return dims(e)
        d = self.h5[path]
        if d.shape != dims(e):
            self.bad(f"{path}: Dimensions {dims(e)}, the dataset {d.shape}")
        want = ("Float" if d.dtype.kind == "f" else "Int" if d.dtype.kind == "i" else "UInt", str(d.dtype.itemsize))
        if (e.get("NumberType"), e.get("Precision")) != want:
            self.bad(f"{path}: NumberType/Precision {e.get('NumberType')}/{e.get('Precision')}, the dataset {want}")
        return d.shape

    # -- grids ---------------------------------------------------------------
    def grid_attrs(self, grid):
        """The grid of the group the grid's data come from (a solve onto a results file has two)."""
        hdf = [e.text.strip().partition(":")[2] for e in grid.iter("DataItem") if e.get("Format") == "HDF"]
        g = self.h5["schrodinger" if hdf and hdf[0].startswith("/schrodinger/") else "grand_potential"]
        lo, hi, n = (np.atleast_1d(g.attrs[k]) for k in ("grid_lo", "grid_hi", "grid_n"))
        return lo, (hi - lo) / n, n

    def uniform(self, grid):
        topo, geo = grid.find("Topology"), grid.find("Geometry")
        nodes = dims(topo)
        cells = int(np.prod([n - 1 for n in nodes]))
        lo, h, n = self.grid_attrs(grid)
        origin, spacing = (np.array(x.text.split(), float) for x in geo.findall("DataItem"))
        K = len(n)
        if tuple(x - 1 for x in nodes[-K:]) != tuple(int(x) for x in n) or \
                not np.allclose(origin[-K:], lo) or not np.allclose(spacing[-K:], h):
            self.bad(f"grid {grid.get('Name')}: mesh {nodes} origin {origin} spacing {spacing} is not the file's "
                     f"grid (n {n}, lo {lo}, h {h})")
        names = set()
        for a in grid.findall("Attribute"):
            items = list(a)
            shape = self.item(items[0]) if len(items) == 1 else None
            if shape is None or int(np.prod(shape)) != cells or a.get("Center") != "Cell":
                self.bad(f"grid {grid.get('Name')} attribute {a.get('Name')}: {shape} values for {cells} cells")
            names.add(a.get("Name"))
        return names

    def temporal(self, coll):
        children = coll.findall("Grid")
        times = [float(c.find("Time").get("Value")) for c in children]
        # the rows shown: the leading axis of the first HDF item (the field's dataset)
        hdf = [e for e in children[0].iter("DataItem") if e.get("Format") == "HDF"] if children else []
        if not hdf:
            self.bad(f"temporal collection {coll.get('Name')} is empty")
            return
        path = hdf[0].text.strip().partition(":")[2]
        parent = os.path.dirname(path)
        clock = "/observables/clock/time" if path.startswith("/observables/") else parent + "/snapshot_time"
        want = self.h5[clock][()]
        if len(children) != len(want) or not np.allclose(times, want, rtol=1e-15, atol=0):
            self.bad(f"temporal collection {coll.get('Name')}: {len(children)} steps at {times[:3]}..., {clock} "
                     f"holds {len(want)} at {want[:3]}...")
        for s, c in enumerate(children):
            for e in c.iter("DataItem"):
                if e.get("ItemType") == "HyperSlab":
                    start = int(list(e)[0].text.split()[0])
                    if start != s:
                        self.bad(f"temporal collection {coll.get('Name')} step {s} shows row {start}")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    failed = False
    for p in argv[1:]:
        problems = Check(p).run()
        for x in problems:
            print(f"{p}: {x}")
        print(f"{p}: {'FAIL' if problems else 'ok'} ({len(problems)} problems in its XDMF sidecar)")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

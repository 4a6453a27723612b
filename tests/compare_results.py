#!/usr/bin/python3
"""Compare the observables of two gcnn results files (restart tests).

Integer series (histograms, counts) must be identical. Floating series must
agree to 1e-12 relative to the series' largest magnitude: they are sums over
networks reduced by MPI, whose rounding depends on how the networks are split
over ranks (docs/model.md section 7 allows this; the state itself is bitwise).
usage: compare_results.py A.h5 B.h5
"""
import sys

import h5py
import numpy as np


def main(a_path, b_path):
    bad = []
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        sa, sb = a["observables/clock/step"][()], b["observables/clock/step"][()]
        if not np.array_equal(sa, sb):
            bad.append(f"sample steps differ: {sa.tolist()} vs {sb.tolist()}")
        for name in a["observables"]:
            if name == "clock":
                continue
            if name not in b["observables"]:
                bad.append(f"{name}: missing in {b_path}")
                continue
            x, y = a[f"observables/{name}/value"][()], b[f"observables/{name}/value"][()]
            if x.shape != y.shape:
                bad.append(f"{name}: shape {x.shape} vs {y.shape}")
            elif x.dtype.kind in "iu":
                if not np.array_equal(x, y):
                    bad.append(f"{name}: integer values differ")
            else:
                scale = max(np.max(np.abs(x)), 1e-300) if x.size else 1.0
                err = np.max(np.abs(x - y)) / scale if x.size else 0.0
                if not err <= 1e-12:
                    bad.append(f"{name}: relative difference {err:.3e} > 1e-12")
    for line in bad:
        print("compare_results:", line)
    print(f"compare_results: {'MISMATCH' if bad else 'identical integers, floats within 1e-12'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

#!/usr/bin/python3
"""Reads every dataset and attribute of an HDF5 file (as h5dump would).
usage: h5_readable.py FILE [MIN_SAMPLES]
Exit 0 and prints the number of samples on the clock if the whole file
reads; exit 1 with the reason otherwise."""
import sys

import h5py

path = sys.argv[1]
try:
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for k in obj.attrs:
                obj.attrs[k]
            if isinstance(obj, h5py.Dataset):
                obj[()]
        f.visititems(visit)
        n = f["observables/clock/step"].shape[0]
        for name, g in f["observables"].items():
            if name != "clock" and g["value"].shape[0] < n:
                raise RuntimeError(f"series {name} has {g['value'].shape[0]} rows, the clock {n}")
except Exception as e:  # noqa: BLE001 - any failure means unreadable
    print(f"unreadable: {e}")
    sys.exit(1)
print(n)
if len(sys.argv) > 2 and n < int(sys.argv[2]):
    print(f"only {n} samples, expected at least {sys.argv[2]}")
    sys.exit(1)

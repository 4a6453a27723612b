#!/usr/bin/python3
"""Crafts checkpoints that are intact as files but hold a state no run writes
(issue 15 item 8), or converts one to the older schema 2.

usage: craft_checkpoint.py IN OUT KIND [ARGS]
  n_samples V            set the header's n_samples
  counter COMP NAME V    set one restart counter (/state/restart/COMP)
  theta                  change one neuron's bias and re-sign the checksum
  dup_id                 give a reservoir neuron the id and parameters of an
                         active one (a duplicate), checksums re-signed
  schema2                rewrite as checkpoint schema 2 (/state/counters [12]),
                         without the grand-potential tables (older gcnn)
  gp_nan                 a NaN in the stored Omega table (/state/grand_potential)
Checksums are recomputed as checkpoint.cpp does (s1 = sum w_i, s2 = sum
(i + 1) w_i over the element bits, mod 2^64), so only the semantic checks can
refuse the result.
"""
import shutil
import sys

import h5py
import numpy as np

MASK = (1 << 64) - 1


def checksum(data):
    bits = data.view(np.uint64 if data.dtype.itemsize == 8 else np.uint32).astype(np.uint64).ravel()
    idx = np.arange(1, bits.size + 1, dtype=np.uint64)
    s1 = int(bits.sum(dtype=np.uint64)) & MASK
    s2 = int((idx * bits).sum(dtype=np.uint64)) & MASK
    return np.array([s1, s2], dtype=np.uint64).view(np.int64)


def resign(f, name, data):
    d = f["state/" + name]
    d[...] = data
    d.attrs["gcnn_checksum"] = checksum(data)


def main():
    src, dst, kind, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        if kind == "n_samples":
            f.attrs["n_samples"] = np.int64(args[0])
        elif kind == "counter":
            comp, name, value = args
            d = f["state/restart/" + comp]
            names = d.attrs["names"]
            names = (names.decode() if isinstance(names, bytes) else names).split("\n")
            v = d[...]
            v[names.index(name)] = int(value)
            d[...] = v
        elif kind == "theta":
            c = f["state/neuron_c"][...]
            c[len(c) // 2] += np.float32(0.25)
            resign(f, "neuron_c", c)
        elif kind == "dup_id":
            ids, c, w = f["state/neuron_id"][...], f["state/neuron_c"][...], f["state/neuron_w"][...]
            n_active = int(f.attrs["n_active"])
            assert n_active < len(ids), "no reservoir neuron to overwrite"
            src_j, dst_j = 0, len(ids) - 1
            ids[dst_j], c[dst_j], w[:, dst_j] = ids[src_j], c[src_j], w[:, src_j]
            resign(f, "neuron_id", ids)
            resign(f, "neuron_c", c)
            resign(f, "neuron_w", w)
        elif kind == "schema2":
            order = [("exchange", "join_proposed"), ("exchange", "join_accepted"),
                     ("exchange", "leave_proposed"), ("exchange", "leave_accepted"),
                     ("learning", "proposed"), ("learning", "accepted")] + [
                ("observables", n + "_at_sample") for n in
                ["join_proposed", "join_accepted", "leave_proposed", "leave_accepted",
                 "mala_proposed", "mala_accepted"]]
            values = []
            for comp, name in order:
                d = f["state/restart/" + comp]
                names = d.attrs["names"]
                names = (names.decode() if isinstance(names, bytes) else names).split("\n")
                values.append(int(d[...][names.index(name)]))
            del f["state/restart"]
            f.create_dataset("state/counters", data=np.array(values, dtype=np.int64), chunks=(12,),
                             fletcher32=True)
            f.attrs["gcnn_schema_version"] = np.int64(2)
            if "state/grand_potential" in f:
                del f["state/grand_potential"]
        elif kind == "gp_nan":
            d = f["state/grand_potential/omega"]
            v = d[...]
            v[len(v) // 2] = np.nan
            d[...] = v
        else:
            sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main()

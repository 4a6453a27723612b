#!/usr/bin/python3
"""Issue 15 item 9: the analysis tools on damaged, foreign, truncated or
incomplete files exit 2 with one line 'PROG: FILE: problem' on stderr, no
traceback, within a timeout; and the gcnn module reads a good file with its
integer invariants intact.

usage:
  damaged_files.py make GCNN MPIEXEC DIR   write DIR/results.h5 and a checkpoint (M = 256, rho = 16, 200 steps)
  damaged_files.py good DIR                the module on the good files: counts add up to M, checkpoint sums
  damaged_files.py CASES DIR               damage copies of DIR's files, run gcnn-inspect and gcnn-report on each;
                                           CASES: truncate, flip, structure, foreign, checkpoint
The tools run on a group's first case as a user runs them (a new /usr/bin/python3),
on the others in a child forked from this process (same script, argv, exit code
and stderr, without a new interpreter's 0.3 s of imports each).
"""
import glob
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

SRC = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "python"))
import gcnn  # noqa: E402
import h5py  # noqa: E402

M, RHO = 256, 16
TOOL_TIMEOUT = 60


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def make(gcnn_bin, mpiexec, d):
    os.makedirs(d, exist_ok=True)
    for p in glob.glob(os.path.join(d, "results.ckpt", "ckpt.*.h5")) + [os.path.join(d, "results.h5")]:
        if os.path.exists(p):
            os.remove(p)
    cmd = [mpiexec, "--oversubscribe", "-n", "1", gcnn_bin, "run", "--model.M", str(M), "--model.rho", str(RHO),
           "--run.steps", "200", "--observables.sample_every", "20", "--run.progress_seconds", "0",
           "--checkpoint.every", "200", "--output", os.path.join(d, "results.h5")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail(f"gcnn run exited {r.returncode}: {r.stderr[-500:]}")
    # verify writes /verification (its window's burn-in, rows with measured/error)
    v = subprocess.run([mpiexec, "--oversubscribe", "-n", "1", gcnn_bin, "verify", "--results",
                        os.path.join(d, "results.h5")], capture_output=True, text=True, timeout=120)
    if v.returncode not in (0, 3):
        fail(f"gcnn verify exited {v.returncode}: {v.stdout[-300:]} {v.stderr[-300:]}")
    print(f"made {d}/results.h5 (verified) and its checkpoint")


def checkpoint_of(d):
    c = sorted(glob.glob(os.path.join(d, "results.ckpt", "ckpt.*.h5")))
    if not c:
        fail(f"no checkpoint in {d}/results.ckpt (run the 'make' case first)")
    return c[-1]


def good(d):
    """The module on good files: arrays whose sums are exact integer invariants."""
    with gcnn.open(os.path.join(d, "results.h5")) as r:
        assert r.kind == "results" and r.M == M and r.rho == RHO, (r.kind, r.M, r.rho)
        assert r.n_samples == 11 and list(r.step) == list(range(0, 201, 20)), r.step
        h, out = r.series("q_histogram"), r.series("q_outside")
        assert h.value.shape == (11,) + r.grid.n and h.unit == "networks"
        assert (h.value.sum(axis=1) + out.value == M).all(), "q_histogram + q_outside != M"
        assert (r.series("n_histogram").value.sum(axis=1) == M).all(), "n_histogram rows != M"
        # neurons: every network's N_a plus the reservoir is R = M rho, so
        # sum_N N * n_histogram(N) + reservoir = R (the histogram tops out at n_max + 1; check it is empty)
        nh = r.series("n_histogram").value
        assert (nh[:, -1] == 0).all(), "networks beyond n_max in this small run"
        neurons = (nh * np.arange(nh.shape[1])).sum(axis=1) + r.series("reservoir").value
        assert (neurons == M * RHO).all(), f"neurons {neurons} != R = {M * RHO}"
        assert abs(r.grand_potential("p_eq").sum() * r.grid.cell_volume - 1) < 1e-9
        assert isinstance(r.git_sha, str) and isinstance(r.config, str) and "[model]" in r.config
        win = r.equilibrium_window()
        assert list(r.step[win]) == [s for s in range(0, 201, 20) if s >= r.burn_in * 200], win
        # verify's window and estimators, reproduced: row T2.6a is <Delta F> - mu
        # with its error from the autocorrelation time over that window,
        # predicted T / (2 <N>) with <N> block-averaged
        row = r.verification("rows/T2.6a")
        dF, dF_err, _ = gcnn.stats.correlated_mean(r.series("delta_F", win).value[:, 0])
        N, _ = r.block_mean(r.series("N", win).value[:, 0])
        mu, T = float(r.parameters["model.mu"]), float(r.parameters["model.T"])
        for got, want, what in ((dF - mu, row["measured"], "measured"), (dF_err, row["error"], "error"),
                                (T / (2 * N), row["prediction"], "prediction")):
            assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), f"T2.6a {what}: module {got}, verify {want}"
    with gcnn.open(checkpoint_of(d)) as c:
        assert c.kind == "checkpoint" and c.step == 200 and c.M == M
        assert int(c.N().sum()) == c.n_active and c.n_active + c.n_reservoir == M * RHO
        ids = c.neurons("neuron_id")  # checksum-verified; the ids are a permutation of 0..R-1
        assert (np.sort(ids) == np.arange(M * RHO)).all(), "neuron ids are not a permutation of 0..R-1"
    print("good files: q_histogram + q_outside = M, n_histogram = M, neurons = R per sample; verify's T2.6a "
          "reproduced (window, blocks); checkpoint N sums to n_active, ids a permutation")


# -- damage -------------------------------------------------------------------
def flip(p, off):
    with open(p, "r+b") as fh:
        fh.seek(off)
        b = fh.read(1)
        fh.seek(off)
        fh.write(bytes([b[0] ^ 0xFF]))


def header_addr(p, name):
    with h5py.File(p, "r") as f:
        return h5py.h5o.get_info(f[name].id).addr


def data_addr(p, name):
    with h5py.File(p, "r") as f:
        d = f[name]
        off = d.id.get_offset()
        return off if off is not None else d.id.get_chunk_info(0).byte_offset


def cases(which, d, tmp):
    """(label, path) of damaged copies."""
    res, ck = os.path.join(d, "results.h5"), checkpoint_of(d)
    size = os.path.getsize(res)
    out = []

    def copy(label, src=res):
        p = os.path.join(tmp, label + ".h5")
        shutil.copy(src, p)
        out.append((label, p))
        return p

    if which == "truncate":
        for frac in (0.0005, 0.1, 0.5, 0.999):
            os.truncate(copy(f"truncated_at_{int(size * frac)}"), int(size * frac))
    elif which == "flip":
        for off in (9, 13, 40):  # superblock: versions, sizes, end-of-file address
            flip(copy(f"superblock_byte_{off}"), off)
        flip(copy("header_n_histogram"), header_addr(res, "observables/n_histogram/value") + 20)
        flip(copy("header_N_shape"), header_addr(res, "observables/N/value") + 40)
        flip(copy("data_q_histogram"), data_addr(res, "observables/q_histogram/value") + 3)
    elif which == "structure":
        for g in ("observables/N", "grand_potential", "parameters", "observables/clock"):
            p = copy("deleted_" + g.replace("/", "_"))
            with h5py.File(p, "r+") as f:
                del f[g]
        p = copy("grid_n_attribute_changed")
        with h5py.File(p, "r+") as f:
            f["grand_potential"].attrs["grid_n"] = np.array([50], dtype=np.int64)
        p = copy("n_max_attribute_changed")
        with h5py.File(p, "r+") as f:
            f["parameters"].attrs["observables.n_max"] = np.int64(10)
        p = copy("incomplete_row")  # one series a row short: a write interrupted mid-sample
        with h5py.File(p, "r+") as f:
            d = f["observables/reservoir/value"]
            d.resize((d.shape[0] - 1,))
    elif which == "foreign":
        p = os.path.join(tmp, "foreign.h5")
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(10)
        out.append(("foreign_hdf5", p))
        p = os.path.join(tmp, "huge_claim.h5")  # a gcnn-looking file whose dataset claims ~146 TiB
        shutil.copy(res, p)
        with h5py.File(p, "r+") as f:
            del f["observables/q_histogram/value"]
            f.create_dataset("observables/q_histogram/value", shape=(2 ** 40 // 100 * 20, 100), dtype="i8",
                             chunks=(1, 100), maxshape=(None, 100))
        out.append(("huge_claim", p))
        p = os.path.join(tmp, "empty.h5")
        open(p, "wb").close()
        out.append(("empty", p))
        p = os.path.join(tmp, "text.h5")
        with open(p, "w") as fh:
            fh.write("this is not an HDF5 file\n" * 20)
        out.append(("text", p))
        out.append(("directory", tmp))
        out.append(("missing", os.path.join(tmp, "no-such-file.h5")))
    elif which == "checkpoint":
        os.truncate(copy("checkpoint_truncated", ck), os.path.getsize(ck) // 2)
        flip(copy("checkpoint_neuron_id_data", ck), data_addr(ck, "state/neuron_id") + 100)
        flip(copy("checkpoint_q_data", ck), data_addr(ck, "state/q") + 5)
        p = copy("checkpoint_n_active", ck)
        with h5py.File(p, "r+") as f:
            f.attrs["n_active"] = np.int64(f.attrs["n_active"] + 1)
    else:
        fail(f"unknown case group '{which}'")
    return out


def run_subprocess(args, tmp):
    """(exit code, stderr) of the tool in a new interpreter."""
    try:
        r = subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        fail(f"{' '.join(args)}: no answer within {TOOL_TIMEOUT} s")
    return r.returncode, r.stderr


def run_forked(args, tmp):
    """(exit code, stderr) of the tool run as `python3 TOOL ARGS` runs it (as
    __main__, its own argv, an uncaught exception printed as a traceback with
    exit 1), in a child forked from this process: numpy, h5py and the gcnn
    module are imported already, so a run costs the tool's own work, not the
    0.3 s of a new interpreter's imports (54 runs over the five case groups)."""
    err_path = os.path.join(tmp, "tool.stderr")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test
        code = 1
        try:
            fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            sys.argv = list(args)
            try:
                runpy.run_path(args[0], run_name="__main__")
                code = 0
            except SystemExit as e:  # as the interpreter treats sys.exit(code)
                if e.code is None or isinstance(e.code, int):
                    code = e.code or 0
                else:
                    print(e.code, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    deadline = time.monotonic() + TOOL_TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            fail(f"{' '.join(args)}: no answer within {TOOL_TIMEOUT} s")
        time.sleep(0.005)
    with open(err_path) as fh:
        return os.waitstatus_to_exitcode(status), fh.read()


def run_tool(tool, path, tmp, fresh):
    """Run analysis/TOOL on path (fresh: in a new interpreter, else forked)
    and check it refuses the file: exit 2, one line 'TOOL: FILE: problem'
    on stderr, no traceback."""
    args = [os.path.join(SRC, "analysis", tool), path]
    if tool == "gcnn-report":
        args += ["-o", os.path.join(tmp, "report")]
    rc, stderr = (run_subprocess if fresh else run_forked)(args, tmp)
    err = stderr.strip().splitlines()
    if "Traceback" in stderr:
        fail(f"{tool} {path}: a traceback:\n{stderr}")
    if rc != 2:
        fail(f"{tool} {path}: exit {rc}, expected 2 (stderr: {stderr.strip()})")
    if len(err) != 1 or not err[0].startswith(f"{tool}: {path}: "):
        fail(f"{tool} {path}: stderr is not one line '{tool}: FILE: problem': {stderr!r}")
    return err[0]


def damaged(which, d):
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, path) in enumerate(cases(which, d, tmp)):
            # the module itself: one FileError naming the file
            try:
                with gcnn.open(path) as f:
                    f.check_data()
                fail(f"{label}: gcnn.open and check_data accepted the damaged file")
            except gcnn.FileError as e:
                if e.path != path or "\n" in str(e):
                    fail(f"{label}: FileError {str(e)!r} does not name {path} on one line")
            # the first case in a new interpreter each, as a user runs the tools; the others forked
            for tool in ("gcnn-inspect", "gcnn-report"):
                line = run_tool(tool, path, tmp, fresh=(i == 0))
            print(f"{label:28s} exit 2: {line[:150]}")


def main(argv):
    if len(argv) >= 2 and argv[1] == "make" and len(argv) == 5:
        make(argv[2], argv[3], argv[4])
    elif len(argv) == 3 and argv[1] == "good":
        good(argv[2])
    elif len(argv) == 3:
        damaged(argv[1], argv[2])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

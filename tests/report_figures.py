#!/usr/bin/python3
"""report_figures: gcnn-report on a small verified quench run (issue 17 item 6).

usage: report_figures.py GCNN MPIEXEC SOURCE_DIR

Makes a small K = 1 run with a quench (M = 512, 700 steps, 2 ranks), runs
gcnn verify on it, then analysis/gcnn-report, and checks:
  - index.html references every figure file the report wrote, and every
    figure it references exists and is a non-empty PNG (signature) or SVG;
  - the time-series figure (data-panels 'timeseries') and the density
    figure with its residual panels (data-panels 'residual') are there;
  - the verify table is HTML with no raw TeX left (no ^{, _{, hbar, Omega,
    psi_), one row per /verification/rows group, verdict cells coloured;
  - the traces drawn conserve neurons: M <N_a> + N_res = R = M rho at
    every sample, to rounding (the time series are the file's, scaled right).
Exit 0 pass, 1 fail (the reason on stderr).
"""
import html.parser
import os
import subprocess
import sys
import tempfile

gcnn_bin, mpiexec, src = sys.argv[1:4]
sys.path.insert(0, os.path.join(src, "python"))
import numpy as np  # noqa: E402

import gcnn  # noqa: E402
from gcnn import series  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def fail(msg):
    print(f"report_figures: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, log):
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
    return rc


class Figures(html.parser.HTMLParser):
    """img src of every figure, data-panels of every <figure>, text of the
    verify table (outside <details>), classes of its verdict cells."""

    def __init__(self):
        super().__init__()
        self.imgs, self.panels, self.verdict_classes = [], [], []
        self.table_text, self.in_table, self.in_details, self.rows = [], 0, 0, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "figure":
            self.panels.append(a.get("data-panels", ""))
        if tag == "table" and "verify" in a.get("class", ""):
            self.in_table += 1
        if tag == "details":
            self.in_details += 1
        if self.in_table and tag == "td" and a.get("class") in ("pass", "fail", "t2", "na"):
            self.verdict_classes.append(a["class"])

    def handle_endtag(self, tag):
        if tag == "table" and self.in_table:
            self.in_table -= 1
        if tag == "details":
            self.in_details -= 1

    def handle_data(self, data):
        if self.in_table and not self.in_details:
            self.table_text.append(data)


def main():
    work = tempfile.mkdtemp(prefix="gcnn_report_figures.")
    res = os.path.join(work, "q.h5")
    rc = run([mpiexec, "--oversubscribe", "-n", "2", gcnn_bin, "run", "--model.M", "512", "--model.rho", "16",
              "--model.loss", "harmonic", "--model.kappa", "4", "--grid.lo", "-2.5", "--grid.hi", "3.5",
              "--grid.n", "40", "--run.steps", "700", "--observables.sample_every", "10", "--quench.step", "500",
              "--quench.shift", "0.8", "--quench.dense_every", "5", "--quench.dense_steps", "150",
              "--verify.dynamics_samples", "20", "--checkpoint.at_end", "false", "--run.progress_seconds", "0",
              "--output", res], os.path.join(work, "run.log"))
    if rc != 0:
        fail(f"gcnn run exited {rc} (log {work}/run.log)")
    rc = run([mpiexec, "--oversubscribe", "-n", "2", gcnn_bin, "verify", "--results", res],
             os.path.join(work, "verify.txt"))
    if rc not in (0, 3):
        fail(f"gcnn verify exited {rc} (log {work}/verify.txt)")
    out = os.path.join(work, "report")
    rc = run(["/usr/bin/python3", os.path.join(src, "analysis", "gcnn-report"), res, "-o", out],
             os.path.join(work, "report.log"))
    if rc != 0:
        fail(f"gcnn-report exited {rc}: {open(os.path.join(work, 'report.log')).read()[-400:]}")

    p = Figures()
    with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
        p.feed(f.read())
    written = {x for x in os.listdir(out) if x.endswith((".png", ".svg"))}
    referenced = set(p.imgs)
    if written - referenced:
        fail(f"figures written but not referenced by index.html: {sorted(written - referenced)}")
    for name in sorted(referenced):
        path = os.path.join(out, name)
        if os.path.dirname(name) or not os.path.isfile(path):
            fail(f"index.html references {name!r}, which is not a file in the report directory")
        with open(path, "rb") as f:
            head = f.read(256)
        size = os.path.getsize(path)
        if size < 1000 or not (head.startswith(PNG) or (name.endswith(".svg") and b"<svg" in head)):
            fail(f"{name}: {size} bytes, not a PNG/SVG figure")
    for kind, fig in (("timeseries", "timeseries.png"), ("residual", "density.png")):
        if not any(kind in x.split() for x in p.panels) or fig not in referenced:
            fail(f"no {kind} figure ({fig}) in the report")
    print(f"report_figures: {len(referenced)} figures, each referenced and a non-empty PNG/SVG")

    text = "".join(p.table_text)
    raw = [t for t in ("^{", "_{", "hbar", "Omega", "psi_", "lambda", "\\") if t in text]
    if raw:
        fail(f"the verify table shows raw TeX {raw}")
    with gcnn.open(res) as r:
        rows = series.verification_rows(r)
        if not rows or len(p.verdict_classes) != len(rows):
            fail(f"the verify table has {len(p.verdict_classes)} verdict cells, /verification {len(rows)} rows")
        want = ["pass" if int(x["pass"]) == 1 else "fail" if int(x["pass"]) == 0 else "na"
                for x in rows if int(x["tier"]) == 1]
        if [c for c in p.verdict_classes if c != "t2"] != want:
            fail("the Tier-1 verdict cells do not match the rows' pass attributes")
        tr = {t.name: t for t in series.equilibration_traces(r)}
        for need in ("N", "reservoir", "loss", "F_set"):
            if need not in tr:
                fail(f"no {need} trace")
        R = r.M * r.rho
        neurons = r.M * tr["N"].value + tr["reservoir"].value * R
        dev = float(np.max(np.abs(neurons - R)))
        # <N_a> is a double mean over M networks: rounding ~ M * 2^-52 * <N> per sample
        if dev > 1e-9 * R:
            fail(f"M <N_a> + N_res differs from R = {R} by {dev}")
    print(f"report_figures: verify table {len(rows)} rows, no raw TeX; neurons conserved to {dev:.2g}")
    subprocess.run(["rm", "-rf", "--", work], check=False)  # our own mktemp directory
    print("PASS")


main()

#!/usr/bin/python3
"""gcnn-report on a `gcnn solve` file (issue 17 item 3: the tools accept solve
files): exit 0, the page references exactly the figures written, each a
non-empty PNG, and the spectrum and both evolutions are drawn.
usage: report_solve.py SOURCE_DIR SOLVE.h5 OUTDIR"""
import os
import re
import shutil
import subprocess
import sys

src, solve, out = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)
p = subprocess.run(["/usr/bin/python3", os.path.join(src, "analysis", "gcnn-report"), solve, "-o", out],
                   capture_output=True, text=True)
if p.returncode != 0:
    sys.exit(f"FAIL: gcnn-report exited {p.returncode} on a solve file: {p.stderr.strip()}")
page = open(os.path.join(out, "index.html"), encoding="utf-8").read()
referenced = set(re.findall(r"<img src='([^']+)'", page))
written = {f for f in os.listdir(out) if f.endswith(".png")}
if referenced != written:
    sys.exit(f"FAIL: page references {sorted(referenced)} but {sorted(written)} were written")
for f in written:
    with open(os.path.join(out, f), "rb") as fh:
        if fh.read(8) != b"\x89PNG\r\n\x1a\n" or os.path.getsize(os.path.join(out, f)) < 1000:
            sys.exit(f"FAIL: {f} is not a non-empty PNG")
missing = {"spectrum.png", "tdse.png", "fokker_planck.png"} - written
if missing:
    sys.exit(f"FAIL: the solve file has eigenpairs, a TDSE and a Fokker-Planck run, but {sorted(missing)} not drawn")
print(f"PASS: {sorted(written)}")

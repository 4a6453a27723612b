"""gcnn: read gcnn results, solve and checkpoint files safely.

    import gcnn
    with gcnn.open("results.h5") as r:              # validated: gcnn.FileError if not
        win = r.equilibrium_window()                # verify's burn-in and quench cut
        N = r.series("N", win)                      # .value [samples, 2], .step, .time
        print(r.block_mean(N.value[:, 0]))          # (mean, error), verify's blocking

Every open checks the file kind, and every dataset's existence, dtype, rank
and shape against the schema and against the file's own sizes before
anything is read; a damaged, foreign, truncated or incomplete file raises
one gcnn.FileError whose str() is 'PATH: problem' on one line. Strings come
back as str. Needs numpy and h5py (Debian's python3-numpy, python3-h5py);
Series.to_xarray() needs xarray. gcnn.series: the per-sample state variables
with verify's window mean, error and drift, and residuals in units of the
error; gcnn.verdict: verify's rows as an HTML table.
"""
from ._safe import FileError, decode, memory_budget
from .files import Checkpoint, Grid, Results, Series, Solve, open
from .stats import block_mean, correlated_mean, equilibrium_window
from . import figures, series, verdict  # PNG writing; time series, residuals; the verify table as HTML (the tools')

__version__ = "0.1.0"
__all__ = ["open", "FileError", "Results", "Solve", "Checkpoint", "Series", "Grid", "block_mean", "correlated_mean",
           "equilibrium_window", "decode", "memory_budget", "figures", "series", "verdict"]

"""Reading HDF5 without trusting it: every attribute and dataset is checked
(existence, type, rank, shape, the bytes it would need) before it is read.

A damaged header can claim any size: one flipped byte made h5py try to
allocate 146 TiB. So nothing is read whose size was not first compared with
what the schema and the file's own parameters say, with the bytes the file
actually stores for it, and with the memory this process may use.
"""
import contextlib
import os
import stat

import numpy as np

try:
    import h5py
except ImportError as e:  # pragma: no cover
    raise ImportError(f"gcnn needs python3-h5py ({e}); run with /usr/bin/python3") from e

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
SCALE_BOOKKEEPING = ("DIMENSION_LIST", "REFERENCE_LIST", "DIMENSION_LABELS")

# Errors h5py raises on damaged or foreign files (it maps HDF5's error stack to
# OSError, KeyError, ValueError, RuntimeError; odd types give TypeError).
H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError, IndexError, OverflowError)


class FileError(Exception):
    """A gcnn file that cannot be used: missing, foreign, damaged, truncated or
    incomplete. str() is one line, 'PATH: problem'."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # HDF5 messages span lines
        super().__init__(f"{self.path}: {self.problem}")


def _h5_message(e):
    """The useful part of an h5py exception, one line."""
    msg = " ".join(str(e).split())
    return msg if msg else type(e).__name__


@contextlib.contextmanager
def guard(path, what):
    """Turn any h5py error inside the block into a FileError naming `what`."""
    try:
        yield
    except FileError:
        raise
    except H5_ERRORS as e:
        raise FileError(path, f"{what}: {_h5_message(e)}") from None


def memory_budget():
    """Bytes one array may take: half of MemAvailable (64 MiB if unknown), or
    GCNN_PY_MAX_BYTES when set."""
    env = os.environ.get("GCNN_PY_MAX_BYTES")
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    try:
        with open("/proc/meminfo") as m:
            for line in m:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except OSError:
        pass
    return 64 << 20


def open_hdf5(path):
    """h5py.File opened read-only after the cheap checks an HDF5 library would
    not make politely: exists, regular file, not empty, has the HDF5 signature."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileError(path, "no such file") from None
    except OSError as e:
        raise FileError(path, f"cannot stat ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileError(path, "is a directory, not a gcnn file")
    if not stat.S_ISREG(st.st_mode):
        raise FileError(path, "is not a regular file")
    if st.st_size == 0:
        raise FileError(path, "is empty (0 bytes)")
    # HDF5 looks for its signature at 0, 512, 1024, 2048, ... (user block)
    found = False
    try:
        with open(path, "rb") as raw:
            off = 0
            while off + 8 <= st.st_size:
                raw.seek(off)
                if raw.read(8) == HDF5_SIGNATURE:
                    found = True
                    break
                off = 512 if off == 0 else 2 * off
    except OSError as e:
        raise FileError(path, f"cannot read ({e.strerror})") from None
    if not found:
        raise FileError(path, f"is not an HDF5 file (no HDF5 signature in its {st.st_size} bytes)")
    try:
        return h5py.File(path, "r")
    except H5_ERRORS as e:
        raise FileError(path, f"damaged or truncated HDF5 file ({_h5_message(e)})") from None


def to_str(v):
    """An attribute value as str: bytes (fixed-length HDF5 strings) decoded as
    UTF-8, one-element arrays unwrapped."""
    if isinstance(v, np.ndarray) and v.shape in ((), (1,)):
        v = v.reshape(-1)[0]
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def decode(v):
    """Any attribute value with every string in it decoded to str."""
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "SOU":
        return np.array([decode(x) for x in v.ravel()], dtype=object).reshape(v.shape)
    return v


class Reader:
    """Checked access to one open file; every problem is a FileError naming it."""

    def __init__(self, path, h5file):
        self.path = os.fspath(path)
        self.f = h5file
        self.budget = memory_budget()

    def fail(self, problem):
        raise FileError(self.path, problem)

    # -- structure ---------------------------------------------------------
    def has(self, name, parent=None):
        parent = self.f if parent is None else parent
        with guard(self.path, f"cannot look up '{name}'"):
            return name in parent

    def group(self, name, parent=None):
        parent = self.f if parent is None else parent
        if not self.has(name, parent):
            self.fail(f"group '{_join(parent, name)}' is missing")
        with guard(self.path, f"cannot open group '{_join(parent, name)}'"):
            g = parent[name]
        if not isinstance(g, h5py.Group):
            self.fail(f"'{_join(parent, name)}' is not a group")
        return g

    # -- attributes --------------------------------------------------------
    def attr_names(self, obj):
        """Attribute names, without HDF5's dimension-scale bookkeeping (object
        references, meaningless outside HDF5)."""
        with guard(self.path, f"cannot list the attributes of '{obj.name}'"):
            return [k for k in obj.attrs.keys() if k not in SCALE_BOOKKEEPING]

    def _attr_header(self, obj, name):
        """(shape, dtype) of an attribute without reading it."""
        where = f"attribute '{name}' of '{obj.name}'"
        with guard(self.path, f"cannot open {where}"):
            if not h5py.h5a.exists(obj.id, name.encode()):
                self.fail(f"{where} is missing")
            aid = h5py.h5a.open(obj.id, name.encode())
            return aid.shape, aid.dtype, where

    def attr(self, obj, name, kind, length=None, default=None):
        """Attribute `name` of `obj`: kind 'str' -> str, 'int' -> int, 'float'
        -> float (scalars), or 'ints'/'floats' -> 1-D array of `length`
        (None: any length up to 1e6). Missing -> default if given, else error."""
        if default is not None and not self.has_attr(obj, name):
            return default
        shape, dtype, where = self._attr_header(obj, name)
        shape = tuple(shape) if shape is not None else ()
        size = int(np.prod(shape)) if shape else 1
        if kind in ("str", "int", "float"):
            if size != 1 or len(shape) > 1:
                self.fail(f"{where} has shape {shape}, expected a scalar")
        else:
            if len(shape) > 1 or (length is not None and size != length) or size > 1_000_000:
                want = f"({length},)" if length is not None else "a vector"
                self.fail(f"{where} has shape {shape}, expected {want}")
        numeric = dtype.kind in "iuf" or (dtype.kind == "b")
        if kind == "str" and dtype.kind not in "SOU":
            self.fail(f"{where} has type {dtype}, expected a string")
        if kind in ("int", "ints") and dtype.kind not in "iu":
            self.fail(f"{where} has type {dtype}, expected an integer")
        if kind in ("float", "floats") and not numeric:
            self.fail(f"{where} has type {dtype}, expected a number")
        with guard(self.path, f"cannot read {where}"):
            v = obj.attrs[name]
        if kind == "str":
            return to_str(v)
        if kind == "int":
            return int(np.asarray(v).reshape(-1)[0])
        if kind == "float":
            return float(np.asarray(v).reshape(-1)[0])
        a = np.atleast_1d(np.asarray(v))
        return a.astype(np.int64) if kind == "ints" else a.astype(float)

    def has_attr(self, obj, name):
        with guard(self.path, f"cannot look up attribute '{name}' of '{obj.name}'"):
            return bool(h5py.h5a.exists(obj.id, name.encode()))

    def any_attr(self, obj, name):
        """An attribute of any type, strings decoded; size-checked first."""
        shape, dtype, where = self._attr_header(obj, name)
        size = int(np.prod(shape)) if shape else 1
        if size > 1_000_000:
            self.fail(f"{where} claims {size} elements")
        with guard(self.path, f"cannot read {where}"):
            return decode(obj.attrs[name])

    # -- datasets ----------------------------------------------------------
    def dataset(self, name, kind, shape, parent=None):
        """Dataset `name` checked against the schema before anything is read:
        kind 'int' or 'float' (dtype), `shape` a tuple (None in a position =
        any length there, checked by the caller against the other sizes).
        Returns the h5py Dataset (not read)."""
        parent = self.f if parent is None else parent
        full = _join(parent, name)
        if not self.has(name, parent):
            self.fail(f"dataset '{full}' is missing")
        with guard(self.path, f"cannot open dataset '{full}'"):
            d = parent[name]
            if not isinstance(d, h5py.Dataset):
                self.fail(f"'{full}' is not a dataset")
            dshape, dtype = tuple(d.shape), d.dtype
        if kind == "int" and (dtype.kind not in "iu" or dtype.itemsize > 8):
            self.fail(f"dataset '{full}' has type {dtype}, expected integers")
        if kind == "float" and (dtype.kind != "f" or dtype.itemsize > 8):
            self.fail(f"dataset '{full}' has type {dtype}, expected floating point")
        if len(dshape) != len(shape):
            self.fail(f"dataset '{full}' has rank {len(dshape)} (shape {dshape}), the schema says rank {len(shape)}")
        for got, want in zip(dshape, shape):
            if want is not None and got != want:
                self.fail(f"dataset '{full}' has shape {dshape}, expected "
                          f"{tuple('*' if w is None else w for w in shape)}")
        return d

    def read(self, d, rows=None):
        """Read dataset `d` (all of it, or the rows `rows` of its first axis)
        after checking the bytes it needs against the bytes the file stores
        for it and against the memory budget."""
        full = d.name
        with guard(self.path, f"cannot inspect dataset '{full}'"):
            shape, itemsize = tuple(d.shape), d.dtype.itemsize
            stored = d.id.get_storage_size()
            filtered = bool(d.compression) or bool(d.shuffle) or bool(d.scaleoffset)
        need = int(np.prod(shape, dtype=object)) * itemsize if shape else itemsize
        if need > 0 and not filtered and stored < need:
            # Unfiltered data occupy exactly their bytes; fewer stored means
            # unwritten chunks (an interrupted write) or a damaged header.
            self.fail(f"dataset '{full}' {shape} needs {need} bytes but the file stores {stored}: "
                      "incomplete or damaged")
        if need > 0 and filtered and need > 1100 * max(stored, 1) + (1 << 20):
            # deflate cannot compress better than ~1032:1
            self.fail(f"dataset '{full}' {shape} claims {need} bytes from {stored} compressed bytes: damaged")
        if rows is not None:
            rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        span = (int(rows.max() - rows.min()) + 1) if rows is not None and rows.size else 0
        part = need if rows is None or not shape else need // max(shape[0], 1) * span
        if part > self.budget:
            self.fail(f"dataset '{full}' {shape} needs {part / 2**30:.3g} GiB, more than the "
                      f"{self.budget / 2**30:.3g} GiB this process may use (set GCNN_PY_MAX_BYTES to allow more)")
        with guard(self.path, f"cannot read dataset '{full}' (damaged data)"):
            if rows is None:
                return d[()]
            if not rows.size:
                return np.zeros((0,) + shape[1:], dtype=d.dtype)
            # one contiguous slab (h5py's point selection is slow for long lists)
            lo = int(rows.min())
            return d[lo:int(rows.max()) + 1][rows - lo]


def _join(parent, name):
    base = parent.name if parent.name != "/" else ""
    return f"{base}/{name}"

"""Rich values: text, images, histograms, tables and HTML
(docs/run-log-format.md, "Rich values").

``run.log({"sample": text, "examples": [runlog.Image(a)], "grads":
runlog.Histogram(g)})`` takes them beside numbers, with wandb's names and
signatures. What the caller's thread pays is the copy it must make (an
array it may change after log() returns) and, for text, one small record;
PNG encoding, histogram binning, table JSON and the files are the work of
one background thread per run (``MediaWriter``), which appends each media
record once its file is whole.

NumPy, PIL and torch are never imported here unless the caller's object
is one of theirs (then the module is loaded already). Without PIL, arrays
are encoded by the small zlib-based PNG encoder below.

What must stay true:

- a media record is appended only after its file is completely written
  (through a temporary file and a rename), so it never names a missing or
  partial file;
- a failure to write a file (a full disk) loses that value, never the
  run: it is warned about once and counted, and the count reported when
  the run finishes;
- the values waiting for the thread are bounded (MAX_PENDING bytes):
  beyond it new values are dropped and counted, as metric values are.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import math
import os
import re
import struct
import sys
import threading
import zlib
from typing import Any, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from . import _format
from ._values import _type_name, check_key, flatten, to_float
from ._warn import warn
from ._writer import write_file_atomic

MAX_PENDING = 256 << 20  # bytes of values waiting for the media thread
MAX_FILE = 64 << 20  # bytes of an image or HTML file given by path or data
MAX_TABLE_CELLS = 1_000_000
CLOSE_TIMEOUT = 60.0  # seconds finish() waits for the values still queued

_dumps = json.dumps


def _module(obj: Any) -> str:
    """The top-level module of obj's type: "numpy", "torch", "PIL"…"""
    return type(obj).__module__.partition(".")[0]


def _as_numpy(obj: Any) -> Any:
    """A NumPy copy of a torch tensor (on the CPU, detached), or of a NumPy
    array; None for anything else."""
    mod = _module(obj)
    if mod == "torch":
        t = obj.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        try:
            return t.numpy().copy()
        except (RuntimeError, TypeError):  # bfloat16 and other types NumPy lacks
            return t.float().numpy().copy()
    if mod == "numpy":
        import numpy as np  # the caller has it: obj is one of its arrays

        return np.array(obj, copy=True)
    return None


# ---------------------------------------------------------------------------
# Images


def _png(width: int, height: int, channels: int, rows: bytes) -> bytes:
    """A PNG of 8-bit pixels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA channels)
    from rows that each start with a filter byte (0)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    color = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def _check_size(width: int, height: int) -> None:
    if (
        width < 1
        or height < 1
        or width > _format.MAX_IMAGE_SIDE
        or height > _format.MAX_IMAGE_SIDE
        or width * height > _format.MAX_IMAGE_PIXELS
    ):
        raise ValueError(
            f"runlog.Image: {width}×{height} pixels is over the limit: at most "
            f"{_format.MAX_IMAGE_SIDE:,} on a side and {_format.MAX_IMAGE_PIXELS:,} pixels "
            "(4096 × 4096); downscale it first"
        )


def _file_size(data: bytes) -> Optional[Tuple[str, int, int]]:
    """The format, width and height of PNG, JPEG, GIF or WebP bytes; None
    for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return "png", w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return "gif", w, h
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8X":
            w = int.from_bytes(data[24:27], "little") + 1
            h = int.from_bytes(data[27:30], "little") + 1
            return "webp", w, h
        if kind == b"VP8L" and len(data) >= 25:
            b = int.from_bytes(data[21:25], "little")
            return "webp", (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return "webp", w & 0x3FFF, h & 0x3FFF
        return None
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", w, h
            i += 2 + length
        return None
    return None


_EXT = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp"}


class Image:
    """An image to log: ``run.log({"samples": runlog.Image(x, caption=…)})``.

    data_or_path is a file path (PNG, JPEG, GIF or WebP, kept as it is;
    other formats need PIL), a PIL image, a matplotlib figure (or
    ``matplotlib.pyplot`` for its current figure), a NumPy array (H×W gray, H×W×C or
    C×H×W with 1 to 4 channels; uint8, or floats in [0, 1] scaled to 0–255,
    others clipped to 0–255) or a torch tensor (likewise, CHW as torchvision
    gives). An image has at most 4096 × 4096 pixels (16,777,216) and 16,384
    on a side: a larger one is refused with ValueError, before anything is
    recorded. The array is copied here; it is encoded as PNG in the
    background. (wandb's grouping, classes, boxes and masks are accepted and
    not recorded.)
    """

    def __init__(
        self,
        data_or_path: Any,
        mode: Optional[str] = None,
        caption: Optional[str] = None,
        grouping: Any = None,
        classes: Any = None,
        boxes: Any = None,
        masks: Any = None,
        file_type: Optional[str] = None,
        normalize: bool = True,
    ) -> None:
        self.caption = None if caption is None else str(caption)
        self._file: Optional[bytes] = None  # encoded bytes, kept as they are
        self._array: Any = None  # a NumPy array, H×W×C uint8 once encoded
        self._pil: Any = None
        self._normalize = normalize
        self.format = "png"
        x = data_or_path
        if isinstance(x, (str, os.PathLike)):
            self._from_path(os.fspath(x))
        elif _module(x) == "matplotlib" or getattr(x, "__name__", "") == "matplotlib.pyplot":
            # A figure (or pyplot's current one) is drawn here: matplotlib
            # is not safe to use from another thread.
            fig = x.gcf() if hasattr(x, "gcf") else x
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            self._file = buf.getvalue()
            _, self.width, self.height = _file_size(self._file) or ("png", 0, 0)
            _check_size(self.width, self.height)
        elif _module(x) == "PIL":
            self.width, self.height = x.size
            _check_size(self.width, self.height)
            self._pil = x.copy()
            if mode is not None:
                self._pil = self._pil.convert(mode)
        else:
            a = _as_numpy(x)
            if a is None:
                raise TypeError(
                    "runlog.Image takes a file path, a PIL image, a NumPy array or a torch tensor, "
                    f"not {_type_name(x)}"
                )
            self._array = _hwc(a)
            self.height, self.width = int(self._array.shape[0]), int(self._array.shape[1])
            _check_size(self.width, self.height)

    def _from_path(self, path: str) -> None:
        size = os.path.getsize(path)
        if size > MAX_FILE:
            raise ValueError(f"runlog.Image: {path} is {size:,} bytes; the limit is {MAX_FILE:,}")
        with open(path, "rb") as f:
            data = f.read()
        found = _file_size(data)
        if found is None:
            if "PIL" not in sys.modules:
                try:
                    import PIL.Image  # noqa: F401  (a format only PIL reads)
                except ImportError:
                    raise ValueError(
                        f"runlog.Image: {path} is not a PNG, JPEG, GIF or WebP file (other formats need PIL)"
                    ) from None
            from PIL import Image as PILImage

            with PILImage.open(io.BytesIO(data)) as im:
                self._pil = im.copy()
            self.width, self.height = self._pil.size
        else:
            self.format, self.width, self.height = found
            self._file = data
        _check_size(self.width, self.height)

    def _nbytes(self) -> int:
        if self._file is not None:
            return len(self._file)
        if self._array is not None:
            return int(self._array.nbytes)
        return self.width * self.height * 4

    def _encode(self) -> Tuple[bytes, str]:
        """The file's bytes and format. In the media thread."""
        if self._file is not None:
            return self._file, self.format
        if self._pil is not None:
            buf = io.BytesIO()
            im = self._pil
            if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
                im = im.convert("RGBA" if "A" in im.mode else "RGB")
            im.save(buf, format="PNG")
            return buf.getvalue(), "png"
        import numpy as np  # _array is a NumPy array

        a = self._array
        if a.dtype != np.uint8:
            a = a.astype(np.float64)
            if self._normalize and a.size and np.nanmin(a) >= 0 and np.nanmax(a) <= 1:
                a = a * 255
            a = np.nan_to_num(a, nan=0.0, posinf=255, neginf=0)
            a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        h, w, c = a.shape
        rows = np.empty((h, 1 + w * c), dtype=np.uint8)
        rows[:, 0] = 0
        rows[:, 1:] = a.reshape(h, w * c)
        return _png(w, h, c, rows.tobytes()), "png"


def _hwc(a: Any) -> Any:
    """The array as H×W×C with 1 to 4 channels: a gray H×W gets one, C×H×W
    (C first, as torch gives) is transposed."""
    if a.ndim == 2:
        return a.reshape(a.shape[0], a.shape[1], 1)
    if a.ndim == 3:
        if a.shape[2] in (1, 2, 3, 4):
            return a
        if a.shape[0] in (1, 2, 3, 4):
            return a.transpose(1, 2, 0).copy()
    raise ValueError(
        f"runlog.Image: an array of shape {tuple(a.shape)} is not an image: give H×W, H×W×C or C×H×W "
        "with 1 to 4 channels"
    )


# ---------------------------------------------------------------------------
# Histograms


class Histogram:
    """A distribution to log: ``runlog.Histogram(grads, num_bins=64)`` or
    ``runlog.Histogram(np_histogram=(counts, edges))``.

    sequence is a list of numbers, a NumPy array or a torch tensor (any
    shape; copied here, binned in the background). NaN, +Inf and -Inf are
    counted apart, not binned. At most 512 bins. ``histogram`` and ``bins``
    are the counts and edges (computed on first use if asked before the
    background thread got to them).
    """

    MAX_LENGTH = _format.MAX_BINS

    def __init__(self, sequence: Any = None, np_histogram: Any = None, num_bins: int = 64) -> None:
        if not isinstance(num_bins, int) or isinstance(num_bins, bool) or not 1 <= num_bins <= _format.MAX_BINS:
            raise ValueError(f"runlog.Histogram: num_bins is {num_bins!r}: give 1 to {_format.MAX_BINS}")
        self.num_bins = num_bins
        self._lock = threading.Lock()
        self._data: Any = None
        self._counts: Optional[List[float]] = None
        self._edges: Optional[List[float]] = None
        self._nonfinite = (0, 0, 0)
        if np_histogram is not None:
            counts, edges = np_histogram
            counts = [float(c) for c in _tolist(counts)]
            edges = [float(e) for e in _tolist(edges)]
            if not 1 <= len(counts) <= _format.MAX_BINS or len(edges) != len(counts) + 1:
                raise ValueError(
                    f"runlog.Histogram: np_histogram has {len(counts)} counts and {len(edges)} edges: "
                    f"give 1 to {_format.MAX_BINS} counts and one edge more"
                )
            if any(not math.isfinite(c) or c < 0 for c in counts):
                raise ValueError("runlog.Histogram: np_histogram's counts must be finite and not negative")
            if any(not math.isfinite(e) for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
                raise ValueError("runlog.Histogram: np_histogram's edges must be finite and increasing")
            self._counts, self._edges = counts, edges
        elif sequence is not None:
            a = _as_numpy(sequence)
            if a is not None:
                self._data = a
            else:
                try:
                    self._data = [float(v) for v in sequence]
                except (TypeError, ValueError):
                    raise TypeError(
                        f"runlog.Histogram takes numbers (a list, a NumPy array, a tensor), not {_type_name(sequence)}"
                    ) from None
        else:
            raise ValueError("runlog.Histogram: give a sequence or np_histogram=(counts, edges)")

    def _nbytes(self) -> int:
        d = self._data
        if d is None:
            return 16 * len(self._counts or ())
        return int(getattr(d, "nbytes", 8 * len(d)))

    @property
    def histogram(self) -> List[float]:
        """The counts of the bins."""
        self._bin()
        return list(self._counts or [])

    @property
    def bins(self) -> List[float]:
        """The edges of the bins: one more than the counts."""
        self._bin()
        return list(self._edges or [])

    def _bin(self) -> None:
        """Bin the values, once."""
        with self._lock:
            if self._counts is not None:
                return
            d, self._data = self._data, None
            if _module(d) == "numpy":
                self._counts, self._edges, self._nonfinite = _bin_numpy(d, self.num_bins)
            else:
                self._counts, self._edges, self._nonfinite = _bin_list(d, self.num_bins)

    def _record(self, key: str, step: int, t: float) -> Dict[str, Any]:
        self._bin()
        rec: Dict[str, Any] = {"key": key, "step": step, "time": t, "edges": self._edges, "counts": self._counts}
        for name, n in zip(("nan", "inf", "ninf"), self._nonfinite):
            if n:
                rec[name] = n
        return rec


def _tolist(x: Any) -> List[Any]:
    a = _as_numpy(x)
    return a.ravel().tolist() if a is not None else list(x)


def _bin_numpy(a: Any, n: int) -> Tuple[List[float], List[float], Tuple[int, int, int]]:
    import numpy as np  # a is a NumPy array

    a = a.ravel()
    if a.dtype.kind not in "fiub":
        a = a.astype(np.float64)
    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        nf = int(a.size - np.count_nonzero(finite))
        if nf:
            nan = int(np.count_nonzero(np.isnan(a)))
            inf = int(np.count_nonzero(a == np.inf))
            nonfinite = (nan, inf, nf - nan - inf)
            a = a[finite]
        else:
            nonfinite = (0, 0, 0)
    else:
        nonfinite = (0, 0, 0)
    if a.size == 0:
        return [0.0], [0.0, 1.0], nonfinite
    lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    # Bins of equal width by index arithmetic and bincount: several times
    # faster than np.histogram, which searches the edges. Floats keep their
    # precision (float32 stays float32); the greatest value goes in the last
    # bin.
    x = a if a.dtype.kind == "f" else a.astype(np.float64)
    f = x.dtype.type
    idx = ((x - f(lo)) * f(n / (hi - lo))).astype(np.intp)
    np.clip(idx, 0, n - 1, out=idx)
    counts = np.bincount(idx, minlength=n)
    edges = [lo + i * (hi - lo) / n for i in range(n)] + [hi]
    return counts.astype(np.float64).tolist(), edges, nonfinite


def _bin_list(vals: List[float], n: int) -> Tuple[List[float], List[float], Tuple[int, int, int]]:
    nan = inf = ninf = 0
    finite = []
    for v in vals:
        if v != v:
            nan += 1
        elif v == math.inf:
            inf += 1
        elif v == -math.inf:
            ninf += 1
        else:
            finite.append(v)
    if not finite:
        return [0.0], [0.0, 1.0], (nan, inf, ninf)
    lo, hi = min(finite), max(finite)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / n
    counts = [0.0] * n
    for v in finite:
        i = int((v - lo) / width)
        counts[min(i, n - 1)] += 1
    edges = [lo + i * width for i in range(n)] + [hi]
    return counts, edges, (nan, inf, ninf)


# ---------------------------------------------------------------------------
# Tables and HTML


def _cell(column: str, v: Any) -> Any:
    """A table cell as it is kept: a number, string, bool, None or Image."""
    t = type(v)
    if t is str or t is int or t is float or t is bool or v is None or isinstance(v, Image):
        return v
    if isinstance(v, (int, float)):  # subclasses, enums
        return v if isinstance(v, bool) else float(v)
    if _module(v) in ("numpy", "torch") and hasattr(v, "item"):
        try:
            return _cell(column, v.item())  # a NumPy scalar, a one-element tensor
        except (ValueError, TypeError, RuntimeError):
            pass
    raise TypeError(f"runlog.Table: column {column!r}: a cell is {_type_name(v)}; cells are numbers, strings or runlog.Image")


class Table:
    """A table to log: ``runlog.Table(columns=["prompt", "sample"],
    data=[[…], …])``, rows added with ``add_data``. Cells are numbers,
    strings, booleans, None or ``runlog.Image``; a row with the wrong number
    of cells is refused with ValueError naming the column. Strings are
    data: shown as text, never as markup. (A pandas ``dataframe`` gives its
    columns and rows.)"""

    def __init__(
        self,
        columns: Optional[Sequence[Any]] = None,
        data: Optional[Sequence[Sequence[Any]]] = None,
        rows: Optional[Sequence[Sequence[Any]]] = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
    ) -> None:
        if dataframe is not None:
            columns = list(dataframe.columns)
            data = dataframe.values.tolist()
        data = data if data is not None else rows
        if columns is None:
            width = len(data[0]) if data else 0
            columns = [f"Column_{i + 1}" for i in range(width)]
        self.columns: List[str] = [str(c) for c in columns]
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"runlog.Table: the columns {self.columns} repeat a name")
        self.data: List[List[Any]] = []
        for row in data or ():
            self.add_data(*row)

    def add_data(self, *data: Any) -> None:
        """Add a row: one cell per column."""
        n = len(self.columns)
        if len(data) != n:
            if len(data) < n:
                raise ValueError(
                    f"runlog.Table: row {len(self.data)} has {len(data)} cells for {n} columns: "
                    f"no cell for column {self.columns[len(data)]!r}"
                )
            raise ValueError(
                f"runlog.Table: row {len(self.data)} has {len(data)} cells for {n} columns "
                f"({', '.join(self.columns)}): one for each"
            )
        self.data.append([_cell(c, v) for c, v in zip(self.columns, data)])

    def add_column(self, name: str, data: Sequence[Any]) -> None:
        """Add a column with one cell per row."""
        name = str(name)
        if name in self.columns:
            raise ValueError(f"runlog.Table: column {name!r} exists")
        if len(data) != len(self.data):
            raise ValueError(f"runlog.Table: column {name!r} has {len(data)} cells for {len(self.data)} rows")
        for row, v in zip(self.data, data):
            row.append(_cell(name, v))
        self.columns.append(name)

    def get_column(self, name: str) -> List[Any]:
        i = self.columns.index(name)
        return [row[i] for row in self.data]

    def _snapshot(self) -> "Table":
        """A copy that later add_data calls do not change."""
        if len(self.columns) * len(self.data) > MAX_TABLE_CELLS:
            raise ValueError(
                f"runlog.Table: {len(self.data):,} rows × {len(self.columns)} columns is over the limit of "
                f"{MAX_TABLE_CELLS:,} cells a logged table may have"
            )
        t = Table.__new__(Table)
        t.columns = list(self.columns)
        t.data = [list(r) for r in self.data]
        return t

    def _nbytes(self) -> int:
        return 16 * len(self.columns) * (len(self.data) + 1)


class Html:
    """HTML to log: a string, a path to an .html file or an open file.
    Stored as it is and never run: the web UI shows it as source or in a
    sandboxed frame. (inject is accepted and ignored.)"""

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        if hasattr(data, "read"):
            data = data.read()
        elif isinstance(data, (str, os.PathLike)) and not data_is_not_path and _is_html_path(data):
            with open(data, "rb") as f:
                data = f.read(MAX_FILE + 1)
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(data, str):
            raise TypeError(f"runlog.Html takes a string, a path or a file, not {_type_name(data)}")
        b = _utf8(data)
        if len(b) > MAX_FILE:
            raise ValueError(f"runlog.Html: {len(b):,} bytes is over the limit of {MAX_FILE:,}")
        self.html = data
        self._bytes = b

    def _nbytes(self) -> int:
        return len(self._bytes)


def _is_html_path(p: Any) -> bool:
    s = os.fspath(p)
    return len(s) < 4096 and "<" not in s and "\n" not in s and os.path.isfile(s)


def _utf8(s: str) -> bytes:
    """s in UTF-8, lone surrogates (bytes a decoder could not read)
    replaced by U+FFFD."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s).encode("utf-8")


_SURROGATE = re.compile("[\ud800-\udfff]")


# ---------------------------------------------------------------------------
# log()


RICH = (Image, Histogram, Table, Html)


def split_values(data: Any) -> Tuple[List[Tuple[str, float]], List[Tuple[str, Any]]]:
    """The (key, float) pairs of a log() call and its rich values: texts
    (str or bytes), Image (or a list of them), Histogram, Table, Html. Raises
    for the caller's bugs, before anything is recorded."""
    if not isinstance(data, Mapping):
        raise TypeError(f"runlog: log() takes a dict of values, not {_type_name(data)}")
    items: List[Tuple[str, float]] = []
    rich: List[Tuple[str, Any]] = []
    for k, v in flatten(data):
        t = type(v)
        if t is float:
            items.append((check_key(k), v))
        elif t is str or t is bytes or isinstance(v, RICH):
            rich.append((check_key(k), v))
        elif isinstance(v, (list, tuple)) and v and all(isinstance(x, Image) for x in v):
            rich.append((check_key(k), list(v)))
        else:
            items.append((check_key(k), to_float(k, v)))
    if len(items) > 1 and len({k for k, _ in items}) < len(items):
        items = list(dict(items).items())  # {"a/b": 1, "a": {"b": 2}}: the last one wins
    for i, (k, v) in enumerate(rich):
        if isinstance(v, Table):
            rich[i] = (k, v._snapshot())
    return items, rich


_warned_cut = False


def text_record(key: str, step: int, t: float, v: Any) -> bytes:
    """The payload of a text record: bytes that are not UTF-8 replaced,
    text over MAX_VALUE_TEXT cut (with one warning)."""
    global _warned_cut
    if type(v) is bytes:
        v = v.decode("utf-8", "replace")
    p = '{"key":%s,"step":%d,"time":%r,"text":%s}' % (_dumps(key, ensure_ascii=False), step, t, _dumps(v, ensure_ascii=False))
    if len(v) > _format.MAX_VALUE_TEXT // 4:
        b = _utf8(v)
        if len(b) > _format.MAX_VALUE_TEXT:
            if not _warned_cut:
                _warned_cut = True
                warn(f"text {key!r} at step {step} is {len(b):,} bytes: kept its first {_format.MAX_VALUE_TEXT:,}")
            v = b[: _format.MAX_VALUE_TEXT].decode("utf-8", "ignore")
            p = '{"key":%s,"step":%d,"time":%r,"text":%s}' % (_dumps(key, ensure_ascii=False), step, t, _dumps(v, ensure_ascii=False))
    return _utf8(p)


def log_rich(run: Any, step: int, t: float, rich: List[Tuple[str, Any]]) -> None:
    """Record the rich values of a log() call at step. Buffer lock held:
    texts are added as records at once, everything else goes to the media
    thread."""
    buf = run._buf
    media: Optional[MediaWriter] = None
    for key, v in rich:
        if type(v) is str or type(v) is bytes:
            buf.add_record(_format.TEXT, text_record(key, step, t, v))
            continue
        if media is None:
            media = run._media
            if media is None:
                media = run._media = MediaWriter(run.dir, buf)
        if isinstance(v, list):
            for i, img in enumerate(v):
                media.submit(key, step, t, img, i)
        else:
            media.submit(key, step, t, v, None)


# ---------------------------------------------------------------------------
# The media thread


class MediaWriter:
    """The background thread of one run that encodes rich values, writes
    their files under media/ and appends their records to the buffer."""

    def __init__(self, folder: str, buf: Any) -> None:
        self.folder = folder
        self.buf = buf
        # Reentrant, like the buffer's lock: a signal handler that finishes
        # the run may interrupt submit().
        self._cv = threading.Condition(threading.RLock())
        self._jobs: Deque[Tuple[str, int, float, Any, Optional[int], int]] = collections.deque()
        self._pending = 0  # bytes of the values in _jobs
        self._busy = False
        self._closed = False
        self._written: Dict[Tuple[str, str], str] = {}  # (key folder, sha256) -> path
        self.dropped = 0  # values dropped: over MAX_PENDING, or logged after finish
        self.lost = 0  # values whose file or record could not be written
        self.error: Optional[str] = None
        self._give_up = False
        self._thread = threading.Thread(target=self._loop, name="runlog-media", daemon=True)
        self._thread.start()

    def submit(self, key: str, step: int, t: float, value: Any, index: Optional[int]) -> None:
        """Queue a value for the thread; drop and count it past MAX_PENDING."""
        n = value._nbytes()
        with self._cv:
            if self._closed:
                self.dropped += 1
                return
            if self._pending + n > MAX_PENDING and self._jobs:
                if not self.dropped:
                    warn(f"{MAX_PENDING >> 20} MiB of images and histograms wait to be written: dropping new ones")
                self.dropped += 1
                return
            self._pending += n
            self._jobs.append((key, step, t, value, index, n))
            self._cv.notify()

    def close(self) -> List[str]:
        """Write everything queued, stop the thread and say what was lost.
        Waits at most CLOSE_TIMEOUT: a signal handler may finish the run
        while the thread it interrupted holds the buffer's lock."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(CLOSE_TIMEOUT)
        if self._thread.is_alive():
            self._give_up = True
            with self._cv:
                self.lost += len(self._jobs) + 1
                self.error = self.error or f"still being written after {CLOSE_TIMEOUT:.0f} s"
                self._jobs.clear()
        out = []
        if self.dropped:
            out.append(f"{self.dropped} images, tables or histograms were dropped while the media queue was full")
        if self.lost:
            out.append(f"{self.lost} images, tables, HTML or histograms could not be written ({self.error})")
        return out

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._jobs and not self._closed:
                    self._cv.wait()
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            key, step, t, value, index, n = job
            try:
                self._one(key, step, t, value, index)
            except OSError as e:
                self._lose(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
            except Exception as e:  # a bug here must not end the thread
                self._lose(repr(e))
            with self._cv:
                self._pending -= n

    def _lose(self, why: str) -> None:
        if self.lost == 0:
            warn(f"a media file could not be written: {why}; training continues, the loss is reported at finish")
        self.lost += 1
        self.error = self.error or why

    def _one(self, key: str, step: int, t: float, value: Any, index: Optional[int]) -> None:
        rec: Dict[str, Any] = {"key": key, "step": step, "time": t}
        if isinstance(value, Histogram):
            self._append(_format.HISTOGRAM, _format.dumps(value._record(key, step, t)))
            return
        if isinstance(value, Image):
            data, fmt = value._encode()
            path, sha = self._file(key, step, data, _EXT[fmt])
            rec.update(kind="image", path=path, size=len(data), sha256=sha, format=fmt, width=value.width, height=value.height)
            if value.caption:
                rec["caption"] = value.caption
        elif isinstance(value, Table):
            cells = []
            for row in value.data:
                out = []
                for c in row:
                    if isinstance(c, Image):
                        d, fmt = c._encode()
                        p, s = self._file(key, step, d, _EXT[fmt])
                        c = {"image": {"path": p, "width": c.width, "height": c.height, "sha256": s}}
                    out.append(c)
                cells.append(out)
            data = _format.dumps({"columns": value.columns, "data": cells})
            path, sha = self._file(key, step, data, "table.json")
            rec.update(kind="table", path=path, size=len(data), sha256=sha, format="json", rows=len(cells), columns=value.columns)
        elif isinstance(value, Html):
            data = value._bytes
            path, sha = self._file(key, step, data, "html")
            rec.update(kind="html", path=path, size=len(data), sha256=sha, format="html")
        if index is not None:
            rec["index"] = index
        self._append(_format.MEDIA, _format.dumps(rec))

    def _file(self, key: str, step: int, data: bytes, ext: str) -> Tuple[str, str]:
        """Write data as a media file of key, unless this writer wrote the
        same bytes under the key already; its path and SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        folder = _format.media_dir(key)
        path = self._written.get((folder, sha))
        if path is None:
            path = _format.media_path(key, step, sha, ext)
            full = os.path.join(self.folder, *path.split("/"))
            if not os.path.exists(full):
                os.makedirs(os.path.dirname(full), exist_ok=True)
                write_file_atomic(full, data)
            self._written[(folder, sha)] = path
        return path, sha

    def _append(self, rtype: int, payload: bytes) -> None:
        buf = self.buf
        while not buf.lock.acquire(timeout=0.05):
            if self._give_up:
                raise OSError("the run finished first")
        try:
            if buf.closed:
                self.dropped += 1
                return
            buf.add_record(rtype, payload)
        finally:
            buf.lock.release()

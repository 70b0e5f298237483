"""Encoding and decoding of run.log records (docs/run-log-format.md).

A run.log is the 8-byte magic ``RUNLOG1\\n`` followed by framed records::

    length  uint32 LE   length L of the body, 9 <= L <= 16 MiB
    crc     uint32 LE   CRC-32 (IEEE, zlib.crc32) of the body
    body    L bytes     type (1 byte), seq (uint64 LE), payload

The encoders here are the reference for the hot path in ``_run.py`` (which
inlines the same precompiled structs) and are tested byte for byte against
the shared fixtures in ``internal/runfmt/testdata``. The reader is used to
resume a run and by the tests.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from typing import Any, Dict, Iterator, List, Optional, Tuple

MAGIC = b"RUNLOG1\n"

# Record types.
HEADER = 1
CONFIG = 2
KEY = 3
METRICS = 4
SUMMARY = 5
ARTIFACT = 6
STATUS = 7
HEARTBEAT = 8
EVENT = 9
DEFINE = 10
RESUME = 11
REWIND = 12
ANNOTATE = 13
TEXT = 14
HISTOGRAM = 15
MEDIA = 16

TYPE_NAMES: Dict[int, str] = {
    HEADER: "header",
    CONFIG: "config",
    KEY: "key",
    METRICS: "metrics",
    SUMMARY: "summary",
    ARTIFACT: "artifact",
    STATUS: "status",
    HEARTBEAT: "heartbeat",
    EVENT: "event",
    DEFINE: "define",
    RESUME: "resume",
    REWIND: "rewind",
    ANNOTATE: "annotate",
    TEXT: "text",
    HISTOGRAM: "histogram",
    MEDIA: "media",
}
TYPES_BY_NAME: Dict[str, int] = {v: k for k, v in TYPE_NAMES.items()}

# Limits, as in docs/run-log-format.md and internal/runfmt/format.go.
FRAME_SIZE = 8  # length + crc
BODY_HEADER_SIZE = 9  # type + seq
MAX_BODY = 16 << 20
MAX_JSON_PAYLOAD = MAX_BODY - BODY_HEADER_SIZE
MAX_KEY_LEN = 256
MAX_NAME_LEN = 256
MAX_TEXT_LEN = 64 << 10
MAX_CONFIG = 4 << 20
MAX_SUMMARY = 1 << 20
MAX_PAIRS = 1 << 16
MAX_TAGS = 256
MAX_STEP = (1 << 63) - 1
# Rich values ("Rich values" in docs/run-log-format.md, internal/runfmt/media.go).
MAX_VALUE_TEXT = 1 << 20
MAX_BINS = 512
MAX_IMAGE_PIXELS = 1 << 24
MAX_IMAGE_SIDE = 16384
MEDIA_HASH_LEN = 16

# The frame: length and checksum of the body.
FRAME = struct.Struct("<II")
# The body header: type and sequence number.
BODY_HEADER = struct.Struct("<BQ")
_KEY_HEAD = struct.Struct("<BQI")
_HEARTBEAT = struct.Struct("<BQd")
_METRICS_HEAD = struct.Struct("<qd")
_PAIR = struct.Struct("<Id")
_U32 = struct.Struct("<I")

#: The quiet NaN that writers use (0x7FF8000000000000).
NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000))[0]

_metrics_structs: Dict[int, struct.Struct] = {}


def metrics_struct(n: int) -> struct.Struct:
    """Return the struct of a metrics body with n pairs.

    Its fields are: type (4), seq, step, time, then key id and value for each
    pair. Structs are compiled once per pair count.
    """
    s = _metrics_structs.get(n)
    if s is None:
        s = struct.Struct("<BQqd" + "Id" * n)
        if n <= 1024:
            _metrics_structs[n] = s
    return s


def frame(body: bytes) -> bytes:
    """Return the 8-byte frame (length, CRC-32) of a record body."""
    return FRAME.pack(len(body), zlib.crc32(body))


def encode_record(rtype: int, seq: int, payload: bytes) -> bytes:
    """Return a complete record of type rtype with the given payload."""
    body = BODY_HEADER.pack(rtype, seq) + payload
    if len(body) > MAX_BODY:
        raise ValueError(
            f"{TYPE_NAMES.get(rtype, rtype)} record of {len(body)} bytes exceeds the limit of {MAX_BODY}"
        )
    return frame(body) + body


def encode_key(seq: int, key_id: int, name: str) -> bytes:
    """Return a key record that names key_id."""
    body = _KEY_HEAD.pack(KEY, seq, key_id) + name.encode("utf-8")
    return frame(body) + body


def encode_metrics(seq: int, step: int, time: float, pairs: List[Tuple[int, float]]) -> bytes:
    """Return a metrics record: pairs of (key id, value) at step and time."""
    args: List[Any] = [METRICS, seq, step, time]
    for key_id, value in pairs:
        args.append(key_id)
        args.append(value)
    body = metrics_struct(len(pairs)).pack(*args)
    return frame(body) + body


def encode_heartbeat(seq: int, time: float) -> bytes:
    """Return a heartbeat record."""
    body = _HEARTBEAT.pack(HEARTBEAT, seq, time)
    return frame(body) + body


def media_dir(key: str) -> str:
    """The folder under media/ of a key's files: bytes A-Z a-z 0-9 - _
    kept, "." kept unless first, every other byte %XX; a name over 200
    bytes cut to 183 (never inside a %XX) + "~" + 16 hex digits of the
    key's SHA-256. As runfmt.MediaDir."""
    out = []
    for i, c in enumerate(key.encode("utf-8", "replace")):
        if c in _DIR_SAFE or (c == 0x2E and i > 0):
            out.append(chr(c))
        else:
            out.append("%%%02X" % c)
    s = "".join(out)
    if len(s) <= 200:
        return s
    cut = 183
    i = s.rfind("%", 0, cut)
    if i >= cut - 2:
        cut = i
    return s[:cut] + "~" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:MEDIA_HASH_LEN]


_DIR_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def media_path(key: str, step: int, sha256: str, ext: str) -> str:
    """The path, relative to the run folder, of the media file of key at
    step with the given content hash. As runfmt.MediaPath."""
    return f"media/{media_dir(key)}/{step}-{sha256[:MEDIA_HASH_LEN]}.{ext}"


# ---------------------------------------------------------------------------
# JSON payloads


def finite_json(value: Any) -> Any:
    """Return value with non-finite floats replaced by "NaN", "Infinity" and
    "-Infinity", the strings that stand for them in run.log JSON.

    Only plain JSON values (dict, list, str, int, float, bool, None) are
    expected; ``_values.jsonable`` converts anything else first.
    """
    t = type(value)
    if t is float:
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if t is dict:
        return {k: finite_json(v) for k, v in value.items()}
    if t is list:
        return [finite_json(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """Encode a JSON payload: compact, UTF-8, non-finite floats as strings.

    value must hold only plain JSON values.
    """
    text = json.dumps(finite_json(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8", "replace")


def number_value(value: Any) -> Any:
    """Turn the strings "NaN", "Infinity" and "-Infinity" back into floats,
    recursively; other values are returned as they are."""
    if isinstance(value, str):
        if value == "NaN":
            return NAN
        if value == "Infinity":
            return math.inf
        if value == "-Infinity":
            return -math.inf
        return value
    if isinstance(value, dict):
        return {k: number_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [number_value(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# Reading


class _Fields:
    """What the dataclass decorator gave the classes below — a constructor taking the
    fields in order, == and repr — without importing dataclasses (and with
    it inspect), which was a fifth of `import runlog`'s time."""

    _fields: Tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value, as a dataclass

    def __init__(self, *values: Any) -> None:
        if len(values) != len(self._fields):
            raise TypeError(f"{type(self).__name__} takes {len(self._fields)} values ({', '.join(self._fields)}), got {len(values)}")
        for k, v in zip(self._fields, values):
            setattr(self, k, v)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields) + ")"


class Record(_Fields):
    """One record of a run.log."""

    _fields = ("type", "seq", "offset", "payload")
    type: int
    seq: int
    offset: int  # of the record's frame in the file
    payload: bytes

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type({self.type})")

    def json(self) -> Any:
        """Decode a JSON payload."""
        return json.loads(self.payload.decode("utf-8"))

    def key(self) -> Tuple[int, str]:
        """Decode a key record: (key id, name)."""
        if self.type != KEY or len(self.payload) < 4:
            raise ValueError(f"malformed key record at offset {self.offset}")
        return _U32.unpack_from(self.payload)[0], self.payload[4:].decode("utf-8")

    def metrics(self) -> Tuple[int, float, List[Tuple[int, float]]]:
        """Decode a metrics record: (step, time, [(key id, value), ...])."""
        p = self.payload
        if self.type != METRICS or len(p) < 16 or (len(p) - 16) % 12:
            raise ValueError(f"malformed metrics record of {len(p)} bytes at offset {self.offset}")
        step, time = _METRICS_HEAD.unpack_from(p)
        pairs = [_PAIR.unpack_from(p, off) for off in range(16, len(p), 12)]
        return step, time, pairs

    def heartbeat(self) -> float:
        """Decode a heartbeat record: its time."""
        if self.type != HEARTBEAT or len(self.payload) != 8:
            raise ValueError(f"malformed heartbeat record at offset {self.offset}")
        value: float = struct.unpack("<d", self.payload)[0]
        return value


class Corruption(_Fields):
    """Bytes in the middle of a run.log that a reader skipped."""

    _fields = ("offset", "length", "reason")
    offset: int
    length: int
    reason: str


class ReadResult(_Fields):
    """The records of a run.log and where its good data ends."""

    _fields = ("records", "end", "torn", "skipped")
    records: List[Record]
    end: int  # offset just after the last good record
    torn: int  # bytes after end that form no complete record
    skipped: List[Corruption]

    def __init__(self, records: List[Record], end: int, torn: int, skipped: Optional[List[Corruption]] = None) -> None:
        super().__init__(records, end, torn, [] if skipped is None else skipped)


class NotRunLogError(ValueError):
    """The data does not start with the run.log magic."""


def _frame_at(data: bytes, pos: int) -> Tuple[int, bool]:
    """Return (size, incomplete): the size of a valid record at pos, or 0;
    incomplete tells that the data ends before the record it announces."""
    if pos + FRAME_SIZE > len(data):
        return 0, True
    length, crc = FRAME.unpack_from(data, pos)
    if length < BODY_HEADER_SIZE or length > MAX_BODY:
        return 0, False
    end = pos + FRAME_SIZE + length
    if end > len(data):
        return 0, True
    if zlib.crc32(memoryview(data)[pos + FRAME_SIZE : end]) != crc:
        return 0, False
    return FRAME_SIZE + length, False


def iter_records(data: bytes) -> Iterator[Tuple[Optional[Record], int, int, Optional[Corruption]]]:
    """Yield (record, end, torn, corruption) for each good record of data.

    A bad record followed by good ones is skipped and reported as the
    corruption of the next good record; bad bytes at the end are a torn
    tail, reported (with record None) as the last item.
    """
    if len(data) < len(MAGIC):
        if MAGIC.startswith(data):
            yield None, 0, len(data), None
            return
        raise NotRunLogError("not a run.log (bad magic)")
    if data[: len(MAGIC)] != MAGIC:
        raise NotRunLogError("not a run.log (bad magic)")
    pos = len(MAGIC)
    n = len(data)
    unpack_body = BODY_HEADER.unpack_from
    while pos < n:
        size, incomplete = _frame_at(data, pos)
        corruption = None
        if size == 0:
            start = pos
            reason = "record cut short" if incomplete else "checksum mismatch or bad length"
            d = 1
            while start + d + 1 <= n:
                size, _ = _frame_at(data, start + d)
                if size:
                    break
                d += 1
            if not size:
                yield None, start, n - start, None
                return
            corruption = Corruption(start, d, reason)
            pos = start + d
        rtype, seq = unpack_body(data, pos + FRAME_SIZE)
        payload = bytes(data[pos + FRAME_SIZE + BODY_HEADER_SIZE : pos + size])
        rec = Record(rtype, seq, pos, payload)
        pos += size
        yield rec, pos, 0, corruption
    yield None, pos, 0, None


def read_records(data: bytes) -> ReadResult:
    """Read every good record of a run.log held in data."""
    records: List[Record] = []
    skipped: List[Corruption] = []
    end, torn = len(MAGIC), 0
    for rec, end, torn, corruption in iter_records(data):
        if corruption is not None:
            skipped.append(corruption)
        if rec is not None:
            records.append(rec)
    return ReadResult(records, end, torn, skipped)


class State(_Fields):
    """What a writer needs to continue a run.log (as Go's runfmt.Scan)."""

    _fields = ("header", "config", "keys", "next_key", "last_seq", "last_step", "status", "end", "torn", "skipped")
    header: Dict[str, Any]
    config: Optional[Dict[str, Any]]
    keys: Dict[str, int]
    next_key: int
    last_seq: int
    last_step: int  # greatest step logged (or the last rewind's step), -1 if none
    status: str
    end: int
    torn: int
    skipped: List[Corruption]


def scan(data: bytes) -> State:
    """Scan a run.log to its end and return the state a resuming writer needs."""
    st = State({}, None, {}, 0, 0, -1, "", len(MAGIC), 0, [])
    for rec, end, torn, corruption in iter_records(data):
        st.end, st.torn = end, torn
        if corruption is not None:
            st.skipped.append(corruption)
        if rec is None:
            continue
        if rec.seq > st.last_seq:
            st.last_seq = rec.seq
        t = rec.type
        try:
            if t == METRICS:
                step = _METRICS_HEAD.unpack_from(rec.payload)[0] if len(rec.payload) >= 16 else -1
                if step > st.last_step:
                    st.last_step = step
            elif t == KEY:
                key_id, name = rec.key()
                st.keys[name] = key_id
                st.next_key = max(st.next_key, key_id + 1)
            elif t == HEADER:
                st.header = rec.json()
                st.status = "running"
            elif t == CONFIG:
                cfg = rec.json()
                st.config = cfg if isinstance(cfg, dict) else None
            elif t == REWIND:
                st.last_step = int(rec.json()["step"])
            elif t == STATUS:
                st.status = str(rec.json().get("status", ""))
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            continue  # a record that cannot be decoded is skipped, as readers do
    if not st.header.get("id"):
        raise ValueError("no header record")
    return st

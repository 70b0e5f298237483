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

import json
import math
import struct
import zlib
from dataclasses import dataclass, field
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


@dataclass
class Record:
    """One record of a run.log."""

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


@dataclass
class Corruption:
    """Bytes in the middle of a run.log that a reader skipped."""

    offset: int
    length: int
    reason: str


@dataclass
class ReadResult:
    """The records of a run.log and where its good data ends."""

    records: List[Record]
    end: int  # offset just after the last good record
    torn: int  # bytes after end that form no complete record
    skipped: List[Corruption] = field(default_factory=list)


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


@dataclass
class State:
    """What a writer needs to continue a run.log (as Go's runfmt.Scan)."""

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

"""The buffer a run's records wait in between the training threads, which
encode them (``_run.Run``), and the writer thread, which writes them
(``_writer.Writer``). Both hold the same ``Buffer``; neither reaches into
the other.

What must stay true, all of it under ``lock``:

- ``data`` holds whole framed records, in the order of their sequence
  numbers: whoever takes the next number appends its record before it
  releases the lock, and ``seq`` is the number of the last one appended;
- a key's id is in ``ids`` only once its key record is in the buffer (or
  in the log already), so a metrics record never names an unknown id;
- nothing is added once ``closed`` is set: the status record is the last
  record of a run (a disabled run's buffer is closed from the start).

``Run.log``'s fast path reads and writes the fields directly rather than
through methods: it is the one place where a method call is a measurable
part of the cost. Everything else goes through the methods here.
"""

from __future__ import annotations

import threading
import time
import zlib
from typing import Callable, Dict, List, Optional, Tuple, Union

from . import _format

_pack_frame = _format.FRAME.pack
_crc32 = zlib.crc32

#: A size the buffer never reaches: kick_at once the writer has been woken.
_NEVER = 1 << 62


def _nothing() -> None:
    return None


class Buffer:
    """Encoded records waiting for the writer, with what numbers them: the
    sequence, the key ids, and the memory bound beyond which metric values
    are dropped."""

    __slots__ = (
        "lock",
        "data",
        "seq",
        "ids",
        "next_key",
        "limit",
        "flush_bytes",
        "kick_at",
        "on_full",
        "dropped",
        "config_file",
        "closed",
    )

    def __init__(
        self,
        limit: int = 0,
        flush_bytes: int = 0,
        *,
        seq: int = 0,
        ids: Optional[Dict[str, int]] = None,
        next_key: int = 0,
        closed: bool = False,
    ) -> None:
        # Reentrant: a signal handler may finish the run in the middle of log().
        self.lock = threading.RLock()
        self.data = bytearray()
        #: The sequence number of the last record appended (or already in the log).
        self.seq = seq
        #: Key name -> id, for every key defined so far.
        self.ids: Dict[str, int] = dict(ids) if ids else {}
        self.next_key = next_key
        #: Bytes beyond which new metric values are dropped (and counted in
        #: dropped). The writer lowers it while a failed write's bytes wait.
        self.limit = limit
        #: Bytes at which the writer is asked to write before its interval ends.
        self.flush_bytes = flush_bytes
        #: Where data's size calls on_full: flush_bytes, or out of reach once
        #: on_full was called, until the writer takes the data. One compare
        #: on the hot path instead of a size and a flag.
        self.kick_at = flush_bytes
        #: The writer's wake-up (set by the writer; called with the lock held).
        self.on_full: Callable[[], None] = _nothing
        #: Metric values dropped while data was over limit.
        self.dropped = 0
        #: config.json's new content, for the writer to write with the records.
        self.config_file: Optional[bytes] = None
        self.closed = closed

    # -- adding (lock held) ---------------------------------------------------

    def append(self, record: bytes) -> None:
        """Add one framed record whose sequence number is already taken.
        Lock held."""
        data = self.data
        data += record
        if len(data) >= self.kick_at:
            self.full()

    def full(self) -> None:
        """data passed flush_bytes: wake the writer, once until it takes
        the data. Lock held."""
        self.kick_at = _NEVER
        self.on_full()

    def add_record(self, rtype: int, payload: bytes) -> None:
        """Number and add a record with a JSON payload. Lock held."""
        seq = self.seq + 1
        self.append(_format.encode_record(rtype, seq, payload))
        self.seq = seq

    def define_key(self, key: str) -> int:
        """Give key the next id and add its key record. Lock held."""
        key_id = self.next_key
        seq = self.seq + 1
        self.append(_format.encode_key(seq, key_id, key))
        self.seq = seq
        self.next_key = key_id + 1
        self.ids[key] = key_id
        return key_id

    def add_metrics(self, step: int, t: float, args: List[Union[int, float]]) -> None:
        """Add the metrics record(s) of args (id, value, id, value, …) at
        step, split every MAX_PAIRS pairs; drop and count the values when
        the buffer is over its limit. Lock held."""
        if len(self.data) > self.limit:
            self.dropped += len(args) >> 1
            return
        step_pairs = 2 * _format.MAX_PAIRS
        for lo in range(0, len(args), step_pairs):
            chunk = args[lo : lo + step_pairs]
            seq = self.seq + 1
            body = _format.metrics_struct(len(chunk) >> 1).pack(_format.METRICS, seq, step, t, *chunk)
            self.seq = seq
            self.append(_pack_frame(len(body), _crc32(body)) + body)

    # -- for the writer -------------------------------------------------------

    def take(
        self, should_stop: Optional[Callable[[], bool]] = None
    ) -> Optional[Tuple[Union[bytes, bytearray], Optional[bytes]]]:
        """Hand the records (and config.json's new content, if any) to the
        writer and empty the buffer.

        With should_stop, wait for the lock only while should_stop() is
        false, and return None if it turns true: the thread finishing the
        run may hold the lock while it waits for the writer.
        """
        lock = self.lock
        if should_stop is None:
            lock.acquire()
        else:
            while not lock.acquire(timeout=0.05):
                if should_stop():
                    return None
        try:
            data, config_file = self.data, self.config_file
            if data:
                # A new bytearray rather than a copy: the writer owns the old one.
                self.data = bytearray()
                self.kick_at = self.flush_bytes
            self.config_file = None
        finally:
            lock.release()
        return (data if data else b""), config_file

    def heartbeat(self) -> None:
        """Add a heartbeat record, unless the run is over or the lock stays
        busy for half a second (a heartbeat is worth no wait)."""
        if not self.lock.acquire(timeout=0.5):
            return
        try:
            if not self.closed:
                seq = self.seq + 1
                self.append(_format.encode_heartbeat(seq, time.time()))
                self.seq = seq
        finally:
            self.lock.release()

    def forget(self) -> None:
        """In a forked child: drop the parent's records and accept no more.
        The lock is new, as another thread of the parent may have held the
        old one at the fork."""
        self.lock = threading.RLock()
        self.data = bytearray()
        self.config_file = None
        self.closed = True

"""The background writer: the one thread that touches a run's log file.

Training threads only encode records into the run's in-memory buffer
(a ``_buffer.Buffer``, which the run and its writer share; the writer
knows nothing else of the run). A daemon thread takes the buffer at least
once a second (sooner when it passes ``FLUSH_BYTES``), appends it to the
file with ``os.write`` and syncs it, and buffers a heartbeat every
``HEARTBEAT_INTERVAL`` seconds.

Failures never reach the training loop. When the file cannot be written (a
full or read-only disk, a file size limit) the writer keeps the unwritten
bytes and retries them first on every tick; one warning is printed. While
they and the buffer hold more than ``MAX_BUFFER`` bytes, ``log()`` drops
new metric values and counts them. A run folder deleted under a
live run is detected (the file has no links left): writing stops and what
would have been written is counted. ``Run.finish`` reports both.

When the run streams to a server (``_stream.Streamer``), the writer tells
the streamer after every complete write where the file ends: a record
boundary, up to which the streamer may send. Nothing else changes here.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Optional, Union

from ._buffer import Buffer
from ._warn import warn

if TYPE_CHECKING:  # pragma: no cover
    from ._stream import Streamer

#: Seconds between writes (and syncs) of the buffer.
FLUSH_INTERVAL = 1.0
#: Seconds between heartbeat records.
HEARTBEAT_INTERVAL = 10.0
#: Buffered bytes that make the writer write before the interval ends.
FLUSH_BYTES = 1 << 20
#: Buffered bytes beyond which new metric values are dropped (and counted).
MAX_BUFFER = 64 << 20
#: Seconds finish() waits for the writer thread and for a stuck write.
CLOSE_TIMEOUT = 10.0


class Writer:
    """Writes a run's buffered records to its log file from a daemon thread."""

    def __init__(self, buffer: Buffer, run_id: str, fd: int, path: str, stream: "Optional[Streamer]" = None) -> None:
        self.buffer = buffer
        self._run_id = run_id
        self._fd: Optional[int] = fd
        self.path = path
        self._io = threading.Lock()  # held while taking and writing, so writes keep their order
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=f"runlog-writer-{run_id}", daemon=True)
        self._warned = False
        self.error: Optional[str] = None  # the last write failure, if not recovered
        self.deleted = False  # the run folder was deleted: nothing more is written
        self.lost_bytes = 0  # bytes of records that were never written
        self._backlog = b""  # bytes a failed write left, written first next time
        self._limit = buffer.limit
        self._dirty = False  # written but not synced
        # Streaming to a server: the streamer learns, after every complete
        # write, up to which offset the file holds whole records.
        self.stream = stream
        self._pos = stream.written if stream is not None else 0  # the file's size
        buffer.on_full = self.kick

    def start(self) -> None:
        self._thread.start()
        if self.stream is not None:
            self.stream.start()

    def kick(self) -> None:
        """Ask for a write soon (the buffer passed FLUSH_BYTES)."""
        self._wake.set()

    def warn_once(self, message: str) -> None:
        """Warn about a problem once per run; training goes on."""
        if not self._warned:
            self._warned = True
            warn(f"run {self._run_id}: {message}")

    # -- the thread -------------------------------------------------------

    def _loop(self) -> None:
        last_sync = last_beat = time.monotonic()
        while not self._stopping:
            self._wake.wait(max(0.0, last_sync + FLUSH_INTERVAL - time.monotonic()))
            self._wake.clear()
            if self._stopping:
                break
            now = time.monotonic()
            try:
                if now - last_beat >= HEARTBEAT_INTERVAL:
                    last_beat = now
                    self.buffer.heartbeat()
                sync = now - last_sync >= FLUSH_INTERVAL
                if sync:
                    last_sync = now
                self.flush(sync=sync)
            except Exception as e:  # a bug here must not kill the thread silently
                self.warn_once(f"writer error: {e!r}")

    # -- writing ------------------------------------------------------------

    def flush(self, sync: bool, final: bool = False) -> bool:
        """Write what the buffer holds, after any backlog of failed
        writes; with sync, fsync the file too.

        Returns True when everything was written. Only final flushes (from
        close()) wait for the run's lock unconditionally; the thread's own
        give up when the run is being finished, since the finishing thread
        may hold the lock while it waits for this thread.
        """
        if not self._io.acquire(timeout=CLOSE_TIMEOUT if final else -1):
            return False
        try:
            taken = self.buffer.take(None if final else self._should_stop)
            if taken is None:
                return False
            data, config_file = taken
            if self._backlog:
                data, self._backlog = self._backlog + data, b""
            ok = self._write(data) if data else True
            if ok and sync and self._dirty:
                self._sync()
            if config_file is not None:
                self._write_config_file(config_file)
            return ok
        finally:
            self._io.release()

    def _should_stop(self) -> bool:
        return self._stopping

    def _write(self, data: Union[bytes, bytearray]) -> bool:
        fd = self._fd
        if fd is None or self.deleted:
            self.lost_bytes += len(data)
            return True
        if self._folder_deleted(fd):
            self.deleted = True
            self.lost_bytes += len(data)
            self.warn_once(f"{self.path} was deleted; runlog stops writing this run (training continues)")
            return True
        view = memoryview(data)
        off = 0
        while off < len(data):
            try:
                n = os.write(fd, view[off:])
                off += n
                self._pos += n
                self._dirty = True
            except InterruptedError:
                continue
            except OSError as e:
                # Keep the rest for the next try; while it waits, the run may
                # buffer only what is left of the memory bound.
                self._backlog = bytes(view[off:])
                self.buffer.limit = max(0, self._limit - len(self._backlog))
                self.error = f"{e.strerror or e} ({self.path})"
                self.warn_once(
                    f"cannot write {self.path}: {e.strerror or e}; training continues, records stay in "
                    f"memory (up to {self._limit >> 20} MiB) and are retried every {FLUSH_INTERVAL:g} s"
                )
                return False
        if self.error is not None:
            self.error = None
            self.buffer.limit = self._limit
        if self.stream is not None:
            self.stream.wrote(self._pos)  # whole records up to here
        return True

    def _sync(self) -> None:
        fd = self._fd
        if fd is None or self.deleted:
            return
        try:
            os.fsync(fd)
            self._dirty = False
        except OSError as e:
            self.warn_once(f"cannot sync {self.path}: {e.strerror or e}; training continues")

    @staticmethod
    def _folder_deleted(fd: int) -> bool:
        try:
            return os.fstat(fd).st_nlink == 0
        except OSError:
            return False

    def _write_config_file(self, data: bytes) -> None:
        if self.deleted:
            return
        try:
            write_file_atomic(os.path.join(os.path.dirname(self.path), "config.json"), data)
        except OSError as e:
            self.warn_once(f"cannot write config.json: {e.strerror or e}; training continues")

    # -- closing ------------------------------------------------------------

    def close(self) -> int:
        """Stop the thread, write the rest, sync and close the file.

        Returns the number of bytes of records that could not be written
        (counting those lost earlier).
        """
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(CLOSE_TIMEOUT)
        self.flush(sync=True, final=True)
        taken = self.buffer.take(None)  # what the final flush could not take
        self.lost_bytes += len(self._backlog) + (len(taken[0]) if taken else 0)
        self._backlog = b""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        return self.lost_bytes

    def abandon(self) -> None:
        """Forget the file without writing or closing flushes (in a forked
        child, whose copy of the file belongs to the parent)."""
        self._stopping = True
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.abandon()  # children never stream
        fd, self._fd = self._fd, None
        self._io = threading.Lock()
        self._wake = threading.Event()
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    # -- test hooks -------------------------------------------------------

    def _replace_fd(self, fd: int) -> int:
        """Write to fd from now on and return the previous one (tests use
        this to put /dev/full under a live run)."""
        with self._io:
            old, self._fd = self._fd, fd
        assert old is not None
        return old


def write_file_atomic(path: str, data: bytes) -> None:
    """Write data to path through a synced temporary file and a rename, so
    that readers see the old or the new content, never a mix."""
    folder = os.path.dirname(path) or "."
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp{os.getpid()}-{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        off = 0
        while off < len(data):
            off += os.write(fd, view[off:])
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove_quietly(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


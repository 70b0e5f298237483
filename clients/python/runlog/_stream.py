"""Streaming a run's log to a runlog server (docs/server.md, "The ingest
protocol"), as the Go client does (stream.go, internal/remote).

With ``RUNLOG_URL`` (or ``init(url=...)``) set, a run also sends its log
file — run.log, or the run.py-<pid>-<n>.log of a process attached under
``runlog run`` — to the server, from a daemon thread of its own:

- the writer thread (``_writer.Writer``) tells the streamer, after every
  complete write, where the file ends; the file then ends at a record
  boundary, so batches are cut at those offsets and are always whole
  records (a single write larger than a batch is cut by walking its
  frames);
- the streamer sends the bytes the server has not acknowledged, read back
  from the file, at most once a second (``STREAM_EVERY``), or as soon as
  ``STREAM_PENDING`` bytes wait, in batches of at most ``MAX_BATCH`` bytes
  (one record when a record is larger), with ``urllib.request``;
- ``POST /api/v1/ingest/<id>/<stream>?offset=N`` answers ``{"size": S}``
  once the server has synced its copy: S is the acknowledged offset, from
  which the next batch starts. A 409 gives the server's size (it lost
  bytes, or this client did not know it): sending resumes from there. The
  first request of a streamer asks the server's size (an empty body), so
  a resumed run sends only what the server lacks;
- when the server cannot be reached the streamer backs off (0.5 s,
  doubling to 30 s; 30 s at once for errors a person must fix, such as a
  wrong token), warns once on stderr, and says so again only after the
  server answered in between. Logging never waits for the network;
- ``finish()`` waits up to ``STREAM_TIMEOUT`` seconds for the server to
  acknowledge the whole log (sending at once, then every 0.2 s), then
  warns that ``runlog sync`` sends the rest. It stops waiting at once on
  an error a person must fix, which was reported already.

Nothing here raises into the training loop. A forked child (a DataLoader
worker) never streams: ``Writer.abandon`` drops the child's streamer.
"""

from __future__ import annotations

import collections
import json
import os
import struct
import threading
import time
from typing import Deque, Optional, Tuple

# urllib, http.client and ipaddress are imported when a run streams: a
# program that does not pays nothing for them (about 15 ms of imports).

from . import _format
from ._warn import warn

#: Environment variables that point clients at a server.
ENV_URL = "RUNLOG_URL"
ENV_TOKEN = "RUNLOG_TOKEN"
#: The header every POST to the server must carry.
CLIENT_HEADER = "X-Runlog-Client"

#: Seconds between sends ...
STREAM_EVERY = 1.0
#: ... unless this many bytes wait to be sent.
STREAM_PENDING = 1 << 20
#: The largest batch: whole records up to this many bytes, or one record
#: when a record is larger.
MAX_BATCH = 8 << 20
#: Backoff while the server cannot be reached: from MIN_BACKOFF, doubling,
#: to MAX_BACKOFF; errors a person must fix wait MAX_BACKOFF at once.
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: Seconds finish() waits for the server to acknowledge the end of the log.
STREAM_TIMEOUT = 5.0
#: Seconds one request may take.
REQUEST_TIMEOUT = 30.0
#: Seconds between tries while finish() waits.
DRAIN_RETRY = 0.2
#: Write boundaries remembered while the server lags; beyond that the
#: newest one replaces the last (batches are then cut by walking frames).
MAX_BOUNDS = 1 << 16

_U32 = struct.Struct("<I")
_LOOPBACK_NAMES = ("localhost", "localhost.")


class SendError(Exception):
    """A failed request. transient: it may go away by itself (the server is
    down, restarting or overloaded); otherwise a person must act (a wrong
    token, a refused batch)."""

    def __init__(self, message: str, transient: bool, code: int = 0) -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code


class Conflict(Exception):
    """409: the batch starts after the end of the server's copy, which holds
    size bytes: resend from there."""

    def __init__(self, size: int) -> None:
        super().__init__(f"server holds {size} bytes; resend from there")
        self.size = size


def settings(url: Optional[str], token: Optional[str]) -> Tuple[str, str]:
    """The server URL and token to stream to: the arguments, else
    $RUNLOG_URL and $RUNLOG_TOKEN. The URL is "" when the run does not
    stream (none given, or "-")."""
    u = url if url else os.environ.get(ENV_URL, "")
    u = u.strip()
    if u == "-":
        u = ""
    t = token if token else os.environ.get(ENV_TOKEN, "")
    return u, t.strip()


def check_url(url: str) -> Optional[str]:
    """Why url cannot be streamed to, or None if it can."""
    import urllib.parse

    try:
        p = urllib.parse.urlsplit(url)
    except ValueError as e:
        return str(e)
    if p.scheme not in ("http", "https") or not p.hostname:
        return "want http://host:port (or https://)"
    try:
        p.port
    except ValueError as e:
        return str(e)
    return None


def _is_loopback(host: str) -> bool:
    import ipaddress

    host = host.lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Client:
    """The ingest endpoint of one server, through urllib."""

    def __init__(self, url: str, token: str, agent: str) -> None:
        import urllib.parse
        import urllib.request

        self.url = url.rstrip("/")
        self.token = token
        self.agent = agent
        host = urllib.parse.urlsplit(self.url).hostname or ""
        # Proxies from the environment, as urllib does, except for loopback
        # (as Go's net/http): a proxy cannot reach this machine's server.
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(host) else []
        self._opener = urllib.request.build_opener(*handlers)

    def append(self, run_id: str, stream: str, offset: int, body: bytes, timeout: float = REQUEST_TIMEOUT) -> int:
        """Send body, the bytes of stream from offset on; return the size of
        the server's copy once it is durable there. An empty body at offset
        0 only asks that size. Raises Conflict (409) or SendError."""
        import http.client
        import urllib.error
        import urllib.parse
        import urllib.request

        url = (f"{self.url}/api/v1/ingest/{urllib.parse.quote(run_id, safe='')}/"
               f"{urllib.parse.quote(stream, safe='')}?offset={offset}")
        req = urllib.request.Request(url, data=body, method="POST")
        req.add_header("Content-Type", "application/x-runlog")
        req.add_header(CLIENT_HEADER, self.agent)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with self._opener.open(req, timeout=max(timeout, 0.05)) as resp:
                code, data = resp.status, resp.read(1 << 20)
        except urllib.error.HTTPError as e:
            code = e.code
            try:
                data = e.read(1 << 20)
            except Exception:
                data = b""
            finally:
                e.close()
        except urllib.error.URLError as e:
            raise SendError(_reason(e.reason), True) from None
        except (OSError, http.client.HTTPException) as e:  # timeouts, resets, garbled answers
            raise SendError(_reason(e), True) from None
        except ValueError as e:  # a URL that urllib refuses
            raise SendError(str(e), False) from None
        size, message = _answer(data)
        if code == 200 and size is not None:
            return size
        if code == 409 and size is not None:
            raise Conflict(size)
        if not message:
            message = data[:200].decode("utf-8", "replace").strip()
        if code == 200:
            raise SendError(f"{self.url} is not a runlog server (it answered {message!r})", False, code)
        text = f"server answered {code}: {message}" if message else f"server answered {code}"
        if code == 401:
            what = "refused the token" if self.token else "requires a token"
            text = f"the server {what} (401); give its token with {ENV_TOKEN} or init(token=...)"
        raise SendError(text, code >= 500 or code in (408, 429), code)


def _answer(data: bytes) -> Tuple[Optional[int], str]:
    """The size and the error message of a JSON answer."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if not isinstance(obj, dict):
        return None, ""
    size = obj.get("size")
    if type(size) is not int or size < 0:
        size = None
    err = obj.get("error")
    return size, err if isinstance(err, str) else ""


def _reason(e: object) -> str:
    import socket  # here, not at import runlog

    if isinstance(e, socket.timeout):
        return "no answer (timed out)"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror[:1].lower() + e.strerror[1:]
    text = str(e) or type(e).__name__
    return text


def whole_records(data: bytes, offset: int) -> int:
    """How many bytes at the start of data, the bytes of a run log from
    offset (a record boundary) on, are whole records."""
    pos = len(_format.MAGIC) if offset == 0 else 0
    n = len(data)
    unpack = _U32.unpack_from
    while pos + _format.FRAME_SIZE <= n:
        end = pos + _format.FRAME_SIZE + unpack(data, pos)[0]
        if end > n:
            break
        pos = end
    return pos if pos > (len(_format.MAGIC) if offset == 0 else 0) else 0


class Streamer:
    """Sends one log file of a run to a server from a daemon thread.

    The writer thread calls ``wrote`` after each complete write; ``finish``
    (from the thread ending the run, once the writer has written
    everything) waits for the server to catch up.
    """

    def __init__(self, client: Client, run_id: str, stream: str, path: str, size: int, timeout: float) -> None:
        self.client = client
        self.run_id = run_id
        self.stream = stream
        self.path = path
        self.timeout = timeout
        self.written = size  # the local file's size, at a record boundary
        self.acked = -1  # what the server acknowledged; -1 until asked
        self._bounds: Deque[int] = collections.deque([size])  # record boundaries past acked
        self._lock = threading.Lock()  # guards _bounds
        self._wake = threading.Event()
        self._finishing = False
        self._deadline = 0.0  # monotonic time at which finish() stops waiting
        self._warned = False
        self._warned_fatal = False  # the warning given was for an error a person must fix
        self._over = False  # finish() gave its verdict: later failures are not reported
        self.last_error: Optional[str] = None
        self._file = None
        self._thread = threading.Thread(target=self._run, name=f"runlog-stream-{run_id}", daemon=True)

    # -- from other threads -----------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wrote(self, end: int) -> None:
        """The writer wrote whole records up to offset end of the file."""
        with self._lock:
            b = self._bounds
            if len(b) >= MAX_BOUNDS:
                b[-1] = end
            else:
                b.append(end)
        self.written = end
        if end - max(self.acked, 0) >= STREAM_PENDING:
            self._wake.set()

    def finish(self) -> None:
        """Wait, up to the stream timeout, for the server to acknowledge the
        whole log, which the writer has closed; warn if it does not."""
        self._deadline = time.monotonic() + self.timeout
        self._finishing = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.timeout + 0.5)
        # From here on finish() speaks for the stream: a request still
        # pending fails quietly later (the run is over, and this says what
        # to do).
        self._over = True
        acked, total = self.acked, self.written
        if acked >= total:
            return
        if self._warned and self._warned_fatal:
            return  # the warning given already says what to do
        why = self.last_error or "no answer in time"
        warn(f"run {self.run_id}: the server at {self.client.url} has {max(acked, 0)} of the {total} bytes of "
             f"{self.stream} ({why}); `runlog sync {self.run_id}` sends the rest")

    def abandon(self) -> None:
        """In a forked child: never send (the thread is not there)."""
        self._finishing = True
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._file = open(self.path, "rb", buffering=0)
        except OSError as e:
            self._warn(SendError(f"cannot read {self.path}: {e.strerror or e}", False))
            return
        try:
            self._loop()
        except Exception as e:  # a bug here must not go unnoticed, nor reach training
            self._warn(SendError(f"streamer error: {e!r}", False))
        finally:
            f, self._file = self._file, None
            if f is not None:
                f.close()

    def _loop(self) -> None:
        backoff = 0.0
        retry_at: Optional[float] = None
        next_tick = time.monotonic() + STREAM_EVERY
        while True:
            if self._finishing:
                return self._drain()
            now = time.monotonic()
            until = retry_at if retry_at is not None else next_tick
            woke = self._wake.wait(max(0.0, until - now))
            self._wake.clear()
            if self._finishing:
                return self._drain()
            now = time.monotonic()
            if retry_at is not None:
                if now < retry_at:
                    continue  # backing off: the server is down
                retry_at = None
            elif not woke or now >= next_tick:
                next_tick = now + STREAM_EVERY
            try:
                self._send(all_=False)
                backoff = 0.0
            except SendError as e:
                self._warn(e)
                backoff = min(max(2 * backoff, MIN_BACKOFF), MAX_BACKOFF) if e.transient else MAX_BACKOFF
                retry_at = time.monotonic() + backoff

    def _drain(self) -> None:
        """Send what is left of the finished log until the server has all
        of it or the deadline passes."""
        while True:
            left = self._deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self._send(all_=True, timeout=min(REQUEST_TIMEOUT, left))
                if self.acked >= self.written:
                    return
            except SendError as e:
                self._warn(e)
                if not e.transient:
                    return  # a wrong token or a refused batch does not mend in seconds
            time.sleep(min(DRAIN_RETRY, max(0.0, self._deadline - time.monotonic())))

    def _send(self, all_: bool, timeout: float = REQUEST_TIMEOUT) -> None:
        """Send batches until nothing whole is left to send (all_, at finish)
        or fewer than STREAM_PENDING bytes wait."""
        conflicts = 0
        while True:
            acked = self.acked
            if acked < 0:
                self.acked = self.client.append(self.run_id, self.stream, 0, b"", timeout)
                continue
            batch = self._batch(acked)
            if not batch:
                return
            try:
                size = self.client.append(self.run_id, self.stream, acked, batch, timeout)
            except Conflict as c:
                conflicts += 1
                if conflicts > 3:
                    raise SendError(f"the server keeps refusing offset {acked} (it holds {c.size} bytes)", True)
                self.acked = c.size  # the server lost bytes (a new home?): resend from its end
                continue
            self.acked = size
            self._recovered()
            if all_:
                continue
            if self.written - size < STREAM_PENDING:
                return

    def _batch(self, acked: int) -> bytes:
        """The next batch from offset acked: whole records, at most
        MAX_BATCH bytes of them unless one record alone is larger."""
        with self._lock:
            b = self._bounds
            while b and b[0] <= acked:
                b.popleft()
            first = b[0] if b else None
            end = None
            for x in b:
                if x - acked > MAX_BATCH:
                    break
                end = x
        if first is None:
            return b""
        if end is not None:
            return self._read(acked, end - acked)
        # One write larger than a batch: cut it at the last whole record.
        data = self._read(acked, min(first - acked, MAX_BATCH))
        n = whole_records(data, acked)
        if n > 0:
            return data[:n]
        # A record larger than a batch: send it alone.
        head = len(_format.MAGIC) if acked == 0 else 0
        if len(data) < head + _format.FRAME_SIZE:
            return b""
        need = head + _format.FRAME_SIZE + _U32.unpack_from(data, head)[0]
        if acked + need > first:
            raise SendError(f"{self.path} is not a run log at offset {acked}", False)
        return self._read(acked, need)

    def _read(self, offset: int, n: int) -> bytes:
        f = self._file
        if f is None:
            return b""
        f.seek(offset)
        parts = []
        while n > 0:
            chunk = f.read(n)
            if not chunk:
                break
            parts.append(chunk)
            n -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    # -- warnings ---------------------------------------------------------------

    def _warn(self, e: SendError) -> None:
        """Report the first failure of an outage; logging goes on locally."""
        self.last_error = str(e)
        if self._warned or self._over:
            return
        self._warned = True
        self._warned_fatal = not e.transient
        if e.transient:
            then = "logging continues locally and is sent when the server answers"
        else:
            then = (f"logging continues locally; sending is retried every {MAX_BACKOFF:g} s, "
                    f"and `runlog sync {self.run_id}` sends the run later")
        warn(f"run {self.run_id}: cannot send to {self.client.url}: {e}; {then}")

    def _recovered(self) -> None:
        """The server answers again: the next failure is reported again."""
        if self._warned:
            self._warned = self._warned_fatal = False
            self.last_error = None
            warn(f"run {self.run_id}: {self.client.url} answers again; catching up")


def new_streamer(url: str, token: str, agent: str, run_id: str, path: str, size: int,
                 timeout: Optional[float]) -> Optional[Streamer]:
    """A streamer for a run's log file of size bytes, or None when url is
    empty or unusable (a warning says so)."""
    if not url:
        return None
    why = check_url(url)
    if why is not None:
        warn(f"run {run_id}: {ENV_URL}={url!r} is not a server URL ({why}); the run is not streamed")
        return None
    t = STREAM_TIMEOUT if timeout is None or timeout <= 0 else float(timeout)
    return Streamer(Client(url, token, agent), run_id, os.path.basename(path), path, size, t)

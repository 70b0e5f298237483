"""Uploading a run's registered files to the server its log streams to
(docs/team-server.md, "Files from clients"), as the Go client does
(upload.go, internal/remote/files.go).

A run that streams its run.log also sends the files it registers with
``log_artifact`` that lie in its ``artifacts/``, ``checkpoints/`` or
``media/`` folder, from a daemon thread of its own, by its upload policy
(``init(upload=...)``, else ``$RUNLOG_UPLOAD``):

- ``none``: nothing; ``best``: every file that is not a checkpoint, and
  each checkpoint that is the best so far by the validation score in its
  metadata (``{"val_loss": 2.31}``; a loss is minimized, an accuracy
  maximized); ``best+last`` (the default): those and the latest
  checkpoint, which a later one replaces in the queue while it waits;
  ``all``: every file;
- the queue and what the server acknowledged are kept in the run folder's
  ``uploads.json``, in the Go client's format, so that what a crash, a
  restart or a server that was down left unsent is sent when the run
  resumes (in either client) or by ``runlog sync``;
- each file goes as ``PUT /api/v1/runs/<id>/files/<path>`` with its
  Content-Length, ``X-Runlog-Sha256`` and ``Expect: 100-continue`` (the
  server answers at once when it holds the content already), through
  http.client, streamed from the file in 1 MiB pieces;
- a server that cannot be reached, or answers 5xx, is retried with the
  streamer's backoff; a file deleted or changed since it was registered
  (the server's 400) is given up with a warning. The local file always
  stays: it is the durable copy;
- ``finish()`` waits up to ``UPLOAD_TIMEOUT`` seconds for the queue, then
  says how many files wait for ``runlog sync``.

Nothing here raises into the training loop.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import _stream
from ._warn import warn
from ._writer import write_file_atomic

#: The environment variable holding the upload policy.
ENV_UPLOAD = "RUNLOG_UPLOAD"
#: The policies, as ParsePolicy in internal/remote reads them.
POLICIES = ("none", "best", "best+last", "all")
#: The file of a run folder that records its uploads.
UPLOADS_FILE = "uploads.json"
#: The folders whose files are uploaded (remote.UploadFolders).
UPLOAD_FOLDERS = ("artifacts/", "checkpoints/", "media/")
#: Seconds finish() waits for the files queued to be acknowledged.
UPLOAD_TIMEOUT = 60.0
#: Seconds to wait for the server's 100 Continue before sending anyway.
CONTINUE_TIMEOUT = 5.0
#: Seconds between looks at the queue when nothing wakes the thread.
UPLOAD_EVERY = 1.0

# series.ValLossKeys, IsValidationKey and Goal's words, which judge "best".
VAL_LOSS_KEYS = ("val_loss", "val/loss", "eval/loss", "validation_loss", "eval_loss", "valid_loss")
_VALIDATION_PREFIXES = ("val_", "val/", "valid_", "valid/", "validation_", "validation/", "eval_", "eval/",
                        "test_", "test/")
_HIGHER_IS_BETTER = ("acc", "accuracy", "f1", "auc", "bleu", "rouge", "precision", "recall", "map", "reward",
                     "score")


def parse_policy(s: Optional[str]) -> str:
    """A policy from its name; "" or None is the default, best+last.
    Raises ValueError naming the choices."""
    p = (s or "").strip().lower()
    if p == "":
        return "best+last"
    if p in POLICIES:
        return p
    raise ValueError(f"upload policy {s!r}: want none, best, best+last or all")


def uploadable(path: str) -> bool:
    """Whether a run folder's path lies in one of the uploaded folders."""
    return path.startswith(UPLOAD_FOLDERS)


def _goal(key: str) -> str:
    """How a metadata key is judged: "maximize", "minimize" or "" (no best),
    as Go's series.Goal without a declared goal."""
    k = key.lower()
    if not any(k.startswith(p) or "/" + p in k for p in _VALIDATION_PREFIXES):
        return ""
    last = k[k.rfind("/") + 1:]
    for part in last.replace("-", "_").replace(".", "_").split("_"):
        if part in _HIGHER_IS_BETTER:
            return "maximize"
    return "minimize"


def _number(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _score_key(meta: Mapping[str, Any]) -> str:
    for k in VAL_LOSS_KEYS:
        if _number(meta.get(k)) is not None:
            return k
    keys = sorted(k for k, v in meta.items() if _number(v) is not None and _goal(k))
    return keys[0] if keys else ""


class Chooser:
    """Decides, artifact by artifact in the order a run registers them,
    which ones its policy uploads (remote.Chooser); saved in uploads.json so
    that a resumed run judges "best" against what came before."""

    def __init__(self, policy: str, best_key: str = "", best: Optional[float] = None) -> None:
        self.policy, self.best_key, self.best = policy, best_key, best

    def choose(self, art: Mapping[str, Any]) -> Tuple[bool, bool]:
        """Whether the artifact (a log_artifact record: path, kind,
        metadata) is uploaded, and whether only as the latest checkpoint."""
        if self.policy == "none" or not uploadable(str(art.get("path", ""))):
            return False, False
        if art.get("kind") != "checkpoint":
            return True, False
        best = self._better(art.get("metadata") or {})
        if self.policy == "all":
            return True, False
        if self.policy == "best":
            return best, False
        return True, not best

    def _better(self, meta: Mapping[str, Any]) -> bool:
        key = self.best_key or _score_key(meta)
        if not key:
            return False
        v = _number(meta.get(key))
        if v is None or math.isnan(v):
            return False
        if self.best is not None:
            maximize = _goal(key) == "maximize"
            if (maximize and v <= self.best) or (not maximize and v >= self.best):
                return False
        self.best_key, self.best = key, v
        return True

    def to_json(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"policy": self.policy}
        if self.best_key:
            d["best_key"] = self.best_key
        if self.best is not None:
            d["best"] = self.best
        return d


class UploadState:
    """What uploads.json holds (remote.UploadState): the server's URL, the
    chooser, the files waiting in order ({"path", "size", "sha256", and
    "last" when one waits only as the latest checkpoint}) and those the
    server acknowledged (path to sha256)."""

    def __init__(self) -> None:
        self.url = ""
        self.chooser = Chooser("best+last")
        self.pending: List[Dict[str, Any]] = []
        self.acked: Dict[str, str] = {}

    @classmethod
    def load(cls, folder: str) -> "UploadState":
        """The run folder's state; empty without one. Raises ValueError for
        a file that is not one (OSError for one that cannot be read)."""
        st = cls()
        path = os.path.join(folder, UPLOADS_FILE)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return st
        try:
            obj = json.loads(data.decode("utf-8"))
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            ch = obj.get("chooser") or {}
            best = ch.get("best")
            st.url = str(obj.get("url") or "")
            st.chooser = Chooser(str(ch.get("policy") or "best+last"), str(ch.get("best_key") or ""),
                                 float(best) if _number(best) is not None else None)
            for p in obj.get("pending") or []:
                f = {"path": str(p["path"]), "size": int(p.get("size") or 0), "sha256": str(p.get("sha256") or "")}
                if p.get("last"):
                    f["last"] = True
                st.pending.append(f)
            st.acked = {str(k): str(v) for k, v in (obj.get("acked") or {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: {e}") from None
        return st

    def save(self, folder: str) -> None:
        obj = {"url": self.url, "chooser": self.chooser.to_json(), "pending": self.pending, "acked": self.acked}
        write_file_atomic(os.path.join(folder, UPLOADS_FILE), (json.dumps(obj, indent=2) + "\n").encode("utf-8"))

    def add(self, f: Dict[str, Any]) -> bool:
        """Queue a file unless the server acknowledged that content under its
        path already. One queued only as the latest replaces the others
        queued only as the latest; a path queued again is queued once."""
        if self.acked.get(f["path"]) == f["sha256"]:
            return False
        last = bool(f.get("last"))
        self.pending = [p for p in self.pending if p["path"] != f["path"] and not (last and p.get("last"))]
        self.pending.append(f)
        return True

    def done(self, f: Dict[str, Any]) -> None:
        self.acked[f["path"]] = f["sha256"]
        self.drop(f)

    def drop(self, f: Dict[str, Any]) -> None:
        self.pending = [p for p in self.pending if p != f]


class FileError(Exception):
    """A failed upload; code is the server's status (0: no answer)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code

    @property
    def transient(self) -> bool:
        return self.code == 0 or self.code >= 500 or self.code in (404, 408, 429)


class NotYet(FileError):
    """The server does not hold the run yet (its log has not reached it, or
    is indexed in a moment): not worth a warning of its own."""


def put_file(client: "_stream.Client", run_id: str, name: str, path: str, sha256: str,
             timeout: float = _stream.REQUEST_TIMEOUT) -> Dict[str, Any]:
    """Upload the file at path as the file name of the run, stating its size
    and SHA-256, which the server checks; return the server's answer
    ({"size", "sha256", "deduplicated"}). Raises FileNotFoundError for a file
    gone, FileError otherwise."""
    import http.client
    import socket
    import urllib.parse
    import urllib.request

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        u = urllib.parse.urlsplit(client.url)
        target = (f"{u.path.rstrip('/')}/api/v1/runs/{urllib.parse.quote(run_id, safe='')}/files/"
                  f"{'/'.join(urllib.parse.quote(p, safe='') for p in name.split('/'))}")
        host, port = u.hostname or "", u.port
        conn_cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        proxy = "" if _stream._is_loopback(host) or urllib.request.proxy_bypass(host) else \
            urllib.request.getproxies().get(u.scheme, "")
        if proxy:
            pu = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if u.scheme == "https":
                conn = conn_cls(pu.hostname or "", pu.port, timeout=timeout)
                conn.set_tunnel(host, port)
            else:
                conn = conn_cls(pu.hostname or "", pu.port, timeout=timeout)
                target = f"{client.url}{target[len(u.path.rstrip('/')):]}"
        else:
            conn = conn_cls(host, port, timeout=timeout)
        try:
            try:
                conn.putrequest("PUT", target, skip_accept_encoding=True)
                conn.putheader("Content-Type", "application/octet-stream")
                conn.putheader("Content-Length", str(size))
                conn.putheader("X-Runlog-Sha256", sha256)
                conn.putheader("Expect", "100-continue")
                conn.putheader(_stream.CLIENT_HEADER, client.agent)
                if client.token:
                    conn.putheader("Authorization", "Bearer " + client.token)
                conn.endheaders()
                sock = conn.sock
                # The server answers 100 Continue when it wants the body, or
                # at once (it holds the content, or refuses the request).
                send, head = True, None
                if not hasattr(sock, "pending"):  # a TLS socket cannot peek: it sends the body at once
                    sock.settimeout(CONTINUE_TIMEOUT)
                    try:
                        head = sock.recv(64, socket.MSG_PEEK)
                    except socket.timeout:
                        pass  # no answer in time: send the body anyway, as Go does
                    sock.settimeout(timeout)
                if head is not None:
                    if head.startswith(b"HTTP/1.1 100") or head.startswith(b"HTTP/1.0 100"):
                        _skip_interim(sock)
                    elif head:
                        send = False  # a final answer before the body
                if send:
                    left = size
                    while left > 0:
                        chunk = f.read(min(1 << 20, left))
                        if not chunk:  # cut short while it was sent: it changed since it was registered
                            raise FileError(f"{name} became shorter while it was sent", 400)
                        conn.send(chunk)
                        left -= len(chunk)
                resp = conn.getresponse()
                code, data = resp.status, resp.read(1 << 20)
            except (OSError, http.client.HTTPException) as e:
                raise FileError(_stream._reason(e)) from None
        finally:
            conn.close()
    try:
        ans = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        ans = None
    if not isinstance(ans, dict):
        ans = {}
    if code == 200 and ans.get("size") == size and ans.get("sha256") == sha256:
        return ans
    msg = ans.get("error") if isinstance(ans.get("error"), str) else ""
    if not msg:
        msg = data[:200].decode("utf-8", "replace").strip()
    if code == 200:
        raise FileError(f"{client.url} did not acknowledge {name} (it answered {msg!r})", 502)
    if code == 401:
        what = "refused the token" if client.token else "requires a token"
        msg = f"the server {what} (401); give its token with {_stream.ENV_TOKEN} or init(token=...)"
    raise FileError(f"server answered {code}: {msg}" if msg else f"server answered {code}", code)


def _skip_interim(sock: Any) -> None:
    """Read the 100 Continue answer, and nothing after it, off the socket."""
    import socket

    while True:
        head = sock.recv(4096, socket.MSG_PEEK)
        end = head.find(b"\r\n\r\n")
        if end >= 0:
            n = end + 4
            while n > 0:
                got = sock.recv(n)
                if not got:
                    return
                n -= len(got)
            return
        if not head:
            return
        time.sleep(0.01)


class Uploader:
    """Sends a run's registered files to the server its log streams to,
    from a daemon thread; ``add`` (from log_artifact) queues."""

    def __init__(self, stream: "_stream.Streamer", folder: str, st: UploadState) -> None:
        self.stream = stream
        self.client = stream.client
        self.run_id = stream.run_id
        self.folder = folder
        self.st = st
        self.timeout = UPLOAD_TIMEOUT
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._finishing = False
        self._stop = False
        self._warned = False
        self.last_error: Optional[str] = None
        self._thread = threading.Thread(target=self._run, name=f"runlog-upload-{self.run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, rec: Mapping[str, Any]) -> None:
        """Queue a registered artifact (its log_artifact record) if the
        policy uploads it."""
        with self._lock:
            up, last = self.st.chooser.choose(rec)
            f: Dict[str, Any] = {"path": rec["path"], "size": rec["size"], "sha256": rec["sha256"]}
            if last:
                f["last"] = True
            if not up or not self.st.add(f):
                return
            self._save_locked(rec["path"])
        self._wake.set()

    def finish(self) -> None:
        """Wait, up to the upload timeout, for the queue to be acknowledged;
        what is left stays in uploads.json for `runlog sync`."""
        self._finishing = True
        self._wake.set()
        if self.stream.acked > 0 and self._thread.is_alive():
            self._thread.join(self.timeout)
        self._stop = True
        self._wake.set()
        with self._lock:
            n = len(self.st.pending)
        if n:
            why = self.last_error or "the server did not receive the run's log"
            files = "1 file is" if n == 1 else f"{n} files are"
            warn(f"run {self.run_id}: {files} not uploaded to {self.client.url} yet ({why}); they stay in the run "
                 f"folder, and `runlog sync {self.run_id}` sends them")

    def abandon(self) -> None:
        """In a forked child: never send."""
        self._stop = True

    # -- the thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # a bug here must not go unnoticed, nor reach training
            self._warn(f"uploader error: {e!r}")

    def _loop(self) -> None:
        backoff = 0.0
        while not self._stop:
            fatal = False
            try:
                self._send_all()
                backoff = 0.0
                if self._finishing:
                    return
                wait = UPLOAD_EVERY
            except FileError as e:
                if isinstance(e, NotYet):
                    self.last_error = str(e)
                else:
                    self._warn(str(e))
                fatal = not e.transient
                backoff = _stream.MAX_BACKOFF if fatal else min(max(2 * backoff, _stream.MIN_BACKOFF),
                                                                _stream.MAX_BACKOFF)
                wait = backoff
            if self._finishing and (fatal or self.stream.acked <= 0 and self.stream._over):
                # A person must act (a wrong token), or the log never reached
                # the server, so the files cannot go either: finish() does
                # not wait for what does not mend by itself.
                return
            self._wake.wait(wait)
            self._wake.clear()

    def _send_all(self) -> None:
        while not self._stop:
            with self._lock:
                if not self.st.pending:
                    return
                f = dict(self.st.pending[0])
            if self.stream.acked <= 0:
                raise NotYet("the server does not hold the run's log yet")
            path = os.path.join(self.folder, *f["path"].split("/"))
            try:
                put_file(self.client, self.run_id, f["path"], path, f["sha256"])
            except FileNotFoundError:
                self._dropped(f"{f['path']} was deleted before it was uploaded")
                self._settle(f, False)
                continue
            except OSError as e:
                self._dropped(f"{f['path']}: {e}")
                self._settle(f, False)
                continue
            except FileError as e:
                if e.code == 400:  # changed since it was registered, or refused as a path
                    self._dropped(f"{f['path']}: {e}")
                    self._settle(f, False)
                    continue
                if e.code == 404:  # the run is indexed in a moment
                    raise NotYet(f"the server does not hold the run yet ({e})", 404) from None
                raise FileError(f"upload {f['path']}: {e}", e.code) from None
            self._settle(f, True)

    def _settle(self, f: Dict[str, Any], acked: bool) -> None:
        with self._lock:
            if acked:
                self.st.done(f)
                self._warned = False
                self.last_error = None
            else:
                self.st.drop(f)
            self._save_locked(f["path"])

    def _save_locked(self, path: str) -> None:
        try:
            self.st.save(self.folder)
        except OSError as e:
            self._warn(f"record the upload of {path}: {e.strerror or e}")

    def _dropped(self, msg: str) -> None:
        """Report a file given up: each one, since each is news."""
        if not self._stop:
            warn(f"run {self.run_id}: {msg}; it is not uploaded")

    def _warn(self, msg: str) -> None:
        self.last_error = msg
        if self._warned or self._stop:
            return
        self._warned = True
        warn(f"run {self.run_id}: {msg}; the file stays in the run folder and its upload is tried again")


def new_uploader(stream: Optional["_stream.Streamer"], folder: str, upload: Optional[str]) -> Optional[Uploader]:
    """The uploader of a run that streams its run.log, or None when it does
    not, its policy is none, or the policy is unusable (a warning says so:
    the run itself goes on)."""
    if stream is None or stream.stream != "run.log":
        return None  # an attached process's files are left to `runlog sync`
    run_id = stream.run_id
    try:
        policy = parse_policy(upload if upload else os.environ.get(ENV_UPLOAD, ""))
    except ValueError as e:
        warn(f"run {run_id}: {e}; no files are uploaded")
        return None
    if policy == "none":
        return None
    try:
        st = UploadState.load(folder)
    except (OSError, ValueError) as e:
        warn(f"run {run_id}: {e}; starting the uploads' record again")
        st = UploadState()
    if st.url != stream.client.url:
        st.acked = {}  # another server acknowledged those
        st.url = stream.client.url
    st.chooser.policy = policy
    u = Uploader(stream, folder, st)
    u.start()
    if st.pending:
        u._wake.set()
    return u

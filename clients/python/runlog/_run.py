"""Run, and its dict-like Config and Summary.

``Run.log`` is the hot path: in the caller's thread it maps keys to ids,
packs one metrics record with a precompiled ``struct.Struct`` per pair
count, checksums it and appends it to the run's buffer (``_buffer.Buffer``)
under the buffer's lock. The background writer (``_writer.Writer``), which
shares the buffer, does all the I/O. Nothing here
raises into the training loop after ``init`` except for the caller's own
bugs, detected before anything is buffered: a value that is not a number
(TypeError naming the key), an invalid key or step (ValueError), and
invalid arguments to the other methods.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from . import _compat, _format
from ._artifacts import copy_in, hash_file
from ._buffer import Buffer
from ._config import Config, Summary, config_file_bytes
from ._format import METRICS, metrics_struct
from ._media import log_rich, split_values
from ._values import check_key, check_step, jsonable
from ._warn import warn

if TYPE_CHECKING:  # pragma: no cover
    from ._writer import Writer
    from ._media import MediaWriter
    from ._upload import Uploader

_time = time.time
_crc32 = zlib.crc32
_pack_frame = _format.FRAME.pack
# Metrics structs for the common pair counts, indexed by count.
_STRUCTS = tuple(metrics_struct(n) for n in range(33))
_MAX_STEP = _format.MAX_STEP

KINDS = ("checkpoint", "model", "plot", "file")
LEVELS = {"info": "info", "warn": "warn", "warning": "warn", "error": "error"}
GOALS = {"minimize": "minimize", "min": "minimize", "maximize": "maximize", "max": "maximize"}


def status_for(exit_code: int) -> str:
    """Map a process exit code to a run status, as the Go client does."""
    if exit_code == 0:
        return "finished"
    if exit_code in (129, 130, 137, 143):  # SIGHUP, SIGINT, SIGKILL, SIGTERM
        return "killed"
    return "failed"


class Run:
    """A run being logged. Create one with ``runlog.init()``.

    All methods are safe to call from several threads. A disabled run (a
    rank other than 0, ``mode="disabled"``) keeps its config and summary in
    memory and does nothing else.
    """

    # For the package: _end, _finish_exception and _after_fork_child are
    # what the process hooks call (``_hooks.Hooked``); the records go
    # through the buffer the run shares with its writer.

    def __init__(
        self,
        *,
        id: str,
        name: str,
        project: str,
        group: str = "",
        tags: Tuple[str, ...] = (),
        notes: str = "",
        folder: Optional[str] = None,
        config: Optional[Dict[str, Any]] = None,
        disabled: bool = False,
        attached: bool = False,
        writer: "Optional[Writer]" = None,
        step: int = 0,
        on_end: "Optional[Callable[[Run], None]]" = None,
    ) -> None:
        """init() makes runs. Besides the run's identity it passes the
        writer, whose buffer the run fills (init() starts the writer once
        the run exists); the step the next log() uses; and on_end, called
        once the run has ended (the process hooks forget it). A disabled
        run has no writer."""
        self._id = id
        self._name = name
        self._project = project
        self._group = group
        self._tags = tuple(tags)
        self._notes = notes
        self._folder = folder
        self._disabled = disabled
        self._attached = attached
        self._pid = os.getpid()

        # Records, sequence and key ids; its lock guards _step and _pending too.
        self._buf = writer.buffer if writer is not None and not disabled else Buffer(closed=True)
        self._writer = writer
        self._on_end = on_end
        self._step = step  # the step log() uses next
        self._pending: Optional[List[Any]] = None  # [step, time, {key: value}] of commit=False calls
        self._off = disabled  # log() returns at once
        self._forked = False
        self._warned_finished = False
        self._scratch_dir: Optional[str] = None
        self._media: "Optional[MediaWriter]" = None  # the rich values' thread, from the first one
        self._uploader: "Optional[Uploader]" = None  # sends registered files to the server (_upload)

        self._config = Config(config, None if disabled else self._config_changed)
        self._summary = Summary(None if disabled else self._summary_changed)

    # -- properties -----------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id, the name of its folder."""
        return self._id

    @property
    def name(self) -> str:
        """The run's name, or its id if it has none."""
        return self._name or self._id

    @name.setter
    def name(self, value: str) -> None:
        if not self._disabled:
            warn("a run's name is set by init(name=...); renaming a running run is not recorded")
        self._name = str(value)

    @property
    def project(self) -> str:
        return self._project

    @property
    def group(self) -> str:
        return self._group

    @property
    def tags(self) -> Tuple[str, ...]:
        return self._tags

    @property
    def notes(self) -> str:
        return self._notes

    @property
    def dir(self) -> str:
        """The run folder, ``<home>/runs/<id>`` (a scratch folder for a
        disabled run)."""
        if self._folder is None:
            if self._scratch_dir is None:
                import tempfile  # only a disabled run needs it: keeps import runlog cheap

                self._scratch_dir = tempfile.mkdtemp(prefix="runlog-disabled-")
            return self._scratch_dir
        return self._folder

    @property
    def _done(self) -> bool:
        """True once the run records nothing more: ended, disabled, or
        inherited by a forked child."""
        return self._buf.closed

    @property
    def _lock(self) -> Any:
        """The lock of the run's buffer, which guards the run's state too."""
        return self._buf.lock

    @property
    def step(self) -> int:
        """The step that the next ``log()`` without a step uses."""
        return self._step

    @property
    def config(self) -> "Config":
        """The run's config: a dict that also allows attribute access. Every
        change is recorded."""
        return self._config

    @property
    def summary(self) -> "Summary":
        """Values the run sets about itself; they override the statistics
        runlog computes under the same key."""
        return self._summary

    @property
    def disabled(self) -> bool:
        """True for a run that records nothing (ranks other than 0,
        ``mode="disabled"``)."""
        return self._disabled

    @property
    def url(self) -> Optional[str]:
        """There is no server: None (wandb compatibility)."""
        return None

    def __repr__(self) -> str:
        state = "disabled" if self._disabled else ("finished" if self._done else "running")
        return f"<runlog.Run {self._id} name={self._name!r} project={self._project!r} {state}>"

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish(0)
        else:
            self._finish_exception(exc_type, exc, tb)

    # -- logging metrics ------------------------------------------------------

    def log(
        self, data: Mapping[str, Any], step: Optional[int] = None, commit: Optional[bool] = True, sync: Any = None
    ) -> None:
        """Record metric values at a step, with the current wall time.

        data maps keys to numbers: int, float, bool, numpy scalars, 0-d
        arrays and one-element tensors; nested dicts become ``outer/inner``
        keys. Without step, the step is one more than the last one logged (0
        at first). With commit=False the values are kept and written with
        those of the next committing call, as one row (wandb's semantics).
        NaN and infinities are recorded as they are. Strings are text values
        (a generated sample), and ``runlog.Image`` (or a list of them),
        ``Histogram``, ``Table`` and ``Html`` are written under the run's
        media/ folder in the background (``_media``). (sync, a deprecated
        wandb argument, is ignored.)

        log() does not wait for the disk. It raises only for the caller's
        bugs, before anything is recorded: TypeError for a value that is not
        a number (naming its key), ValueError for an invalid key or step.
        """
        t = _time()
        if self._off:
            return self._log_off()
        if step is not None and (type(step) is not int or step < 0 or step > _MAX_STEP):
            step = check_step(step)
        if (commit is not True and commit is not None) or self._pending is not None:
            return self._log_slow(data, step, commit, t)
        # Fast path: a flat dict of floats and ints whose keys all have ids.
        # The buffer's fields are used directly, bound to locals: a method
        # call would be a measurable part of the cost.
        args: List[Any] = []
        buf = self._buf
        ids = buf.ids
        try:
            for k, v in data.items():
                tv = type(v)
                if tv is not float and tv is not int:
                    raise KeyError(k)
                args.append(ids[k])
                args.append(v)
        except (KeyError, AttributeError):
            return self._log_slow(data, step, commit, t)
        n = len(args) >> 1
        if n == 0 or n >= 33:
            return self._log_slow(data, step, commit, t)
        pack = _STRUCTS[n].pack
        with buf.lock:
            if buf.closed:
                return self._log_off()
            if step is None:
                step = self._step
            out = buf.data
            if len(out) > buf.limit:
                buf.dropped += n
                self._step = step + 1
                return None
            seq = buf.seq + 1
            try:
                body = pack(METRICS, seq, step, t, *args)
            except (OverflowError, struct.error):  # an int too large for a float64
                return self._log_slow(data, step, commit, t)
            buf.seq = seq
            self._step = step + 1
            out += _pack_frame(len(body), _crc32(body))
            out += body
            if len(out) >= buf.kick_at:
                buf.full()
        return None

    def _log_slow(self, data: Any, step: Optional[int], commit: Optional[bool], t: float) -> None:
        """log() for everything the fast path does not take: new keys,
        values to convert, nested dicts, commit=False rows."""
        items, rich = split_values(data)  # raises for the caller's bugs, before any change
        commit = commit is None or bool(commit)
        with self._buf.lock:
            if self._buf.closed:
                return self._log_off()
            p = self._pending
            at = step if step is not None else (p[0] if p is not None else self._step)
            if rich:  # texts, images, histograms, tables, HTML (_media)
                log_rich(self, at, t, rich)
            if p is not None and p[0] != at:
                self._emit(p[0], p[1], list(p[2].items()))
                p = self._pending = None
            if not commit:
                if p is None:
                    p = self._pending = [at, t, {}]
                p[1] = t
                p[2].update(items)
                return None
            if p is not None:
                p[2].update(items)
                items = list(p[2].items())
                self._pending = None
            self._emit(at, t, items)
        return None

    def _emit(self, step: int, t: float, items: List[Tuple[str, float]]) -> None:
        """Buffer the metrics record(s) of items at step, defining new keys
        first (even when the values are dropped). Lock held."""
        self._step = step + 1
        if not items:
            return
        buf = self._buf
        ids = buf.ids
        args: List[Any] = []
        for k, v in items:
            i = ids.get(k)
            if i is None:
                i = buf.define_key(k)
            args.append(i)
            args.append(v)
        buf.add_metrics(step, t, args)

    def _append_json(self, rtype: int, payload: bytes) -> bool:
        """Buffer a record with a JSON payload; False if the run is over."""
        buf = self._buf
        with buf.lock:
            if buf.closed:
                self._log_off()
                return False
            buf.add_record(rtype, payload)
            return True

    def _log_off(self) -> None:
        if not self._disabled and not self._forked and not self._warned_finished:
            self._warned_finished = True
            warn(f"run {self._id} has finished; what is logged to it now is ignored")
        return None

    # -- other records --------------------------------------------------------

    def define_metric(
        self,
        name: str,
        step_metric: Optional[str] = None,
        step_sync: Optional[bool] = None,
        hidden: Optional[bool] = None,
        summary: Optional[str] = None,
        goal: Optional[str] = None,
        overwrite: Optional[bool] = None,
        **kwargs: Any,
    ) -> None:
        """Declare whether lower ("minimize") or higher ("maximize") values of
        a metric are better, which decides its best value and the best
        checkpoint. wandb's summary="min"/"max" is taken as the goal when
        goal is not given; its other arguments (step_metric, hidden, …) and
        glob patterns like "val/*" are accepted and ignored.
        """
        if goal is None and summary in ("min", "max"):
            goal = summary
        if goal is None:
            return
        g = GOALS.get(str(goal).lower())
        if g is None:
            raise ValueError(f"runlog: goal {goal!r}: want 'minimize' or 'maximize'")
        if self._disabled or "*" in name:
            return
        check_key(name)
        self._append_json(_format.DEFINE, _format.dumps({"key": name, "goal": g}))

    def alert(self, title: str, text: str = "", level: Any = "warn", wait_duration: Any = None) -> None:
        """Record an alert event at the last step logged. level is "info",
        "warn" or "error" (or wandb's AlertLevel). A title longer than 256
        bytes or a text longer than 64 KiB is cut."""
        lv = LEVELS.get(str(getattr(level, "value", level)).lower())
        if lv is None:
            raise ValueError(f"runlog: alert level {level!r}: want 'info', 'warn' or 'error'")
        if self._disabled:
            return
        event: Dict[str, Any] = {"kind": "alert", "time": _time()}
        last = self._step - 1
        if last >= 0:
            event["step"] = last
        event["level"] = lv
        event["title"] = _cut(str(title), _format.MAX_NAME_LEN)
        if text:
            event["text"] = _cut(str(text), _format.MAX_TEXT_LEN)
        self._append_json(_format.EVENT, _format.dumps(event))

    def rewind(self, step: int) -> None:
        """Record that the run continues from step, typically after loading a
        checkpoint taken there: points with a greater step logged before are
        kept but marked superseded, and the next log() uses step + 1."""
        step = check_step(step)
        if self._disabled:
            self._step = step + 1
            return
        payload = _format.dumps({"time": _time(), "step": step})
        with self._buf.lock:
            if self._done:
                self._log_off()
                return
            p = self._pending
            if p is not None:
                self._pending = None
                self._emit(p[0], p[1], list(p[2].items()))
            if self._append_json(_format.REWIND, payload):
                self._step = step + 1

    def log_artifact(
        self,
        path: Any,
        kind: Optional[str] = None,
        step: Optional[int] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        *,
        name: Optional[str] = None,
        type: Optional[str] = None,
        aliases: Any = None,
        **kwargs: Any,
    ) -> Optional[str]:
        """Register a file with the run, with its size and SHA-256.

        kind is "checkpoint" (the default), "model", "plot" or "file"
        (wandb's type= is accepted too). A file inside the run folder is
        registered where it is; any other file is copied first into the
        folder's ``checkpoints/`` (checkpoints) or ``artifacts/``, so the
        folder stays complete and the caller may overwrite its copy. step
        defaults to the last step logged; metadata such as
        ``{"val_loss": 2.31}`` lets runlog find the best checkpoint.

        Returns the path recorded (relative to the run folder), or None if
        the file could not be read or copied (a warning says why).
        """
        if kind is None:
            kind = type if type in KINDS else ("checkpoint" if type is None else "file")
        if kind not in KINDS:
            raise ValueError(f"runlog: artifact kind {kind!r}: want one of {', '.join(KINDS)}")
        if step is not None:
            step = check_step(step)
        if self._disabled:
            return None
        if self._done:
            self._log_off()
            return None
        folder = self.dir
        try:
            src = os.path.abspath(os.fspath(path))
            inside = os.path.commonpath([src, folder]) == folder
            if inside:
                rel = os.path.relpath(src, folder)
                size, digest = hash_file(src)
            else:
                sub = "checkpoints" if kind == "checkpoint" else "artifacts"
                rel, size, digest = copy_in(src, folder, sub)
        except (OSError, ValueError) as e:
            warn(f"run {self._id}: artifact {os.fspath(path)!s} not recorded: {e}")
            return None
        recorded = rel.replace(os.sep, "/")
        rec: Dict[str, Any] = {"path": recorded, "kind": kind}
        if step is None and self._step > 0:
            step = self._step - 1
        if step is not None:
            rec["step"] = step
        rec["time"] = _time()
        rec["size"] = size
        rec["sha256"] = digest
        if metadata:
            rec["metadata"] = jsonable(dict(metadata))
        if self._append_json(_format.ARTIFACT, _format.dumps(rec)) and self._uploader is not None:
            self._uploader.add(rec)
        return recorded

    def restore_checkpoint(self, which: str = "latest") -> Optional[str]:
        """The path of the checkpoint a resumed run should load, or None:
        under ``runlog run --resume`` the one the runner chose; otherwise
        the latest (or, with which="best", the best-validation) checkpoint
        this run registered whose file still exists."""
        from ._restore import restore_checkpoint

        return restore_checkpoint(None if self._disabled else self.dir, which)

    def watch(self, *args: Any, **kwargs: Any) -> None:
        """wandb compatibility: does nothing (runlog logs no gradients)."""
        _compat.watch()

    def unwatch(self, *args: Any, **kwargs: Any) -> None:
        """wandb compatibility: does nothing."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        """wandb compatibility: does nothing; use log_artifact() for files."""
        _compat.save()

    # -- config and summary -----------------------------------------------------

    def _config_changed(self, data: Dict[str, Any]) -> None:
        """Record the complete config and have the writer rewrite config.json."""
        plain = jsonable(data)
        payload = _format.dumps(plain)
        if len(payload) > _format.MAX_CONFIG:
            warn(
                f"run {self._id}: config of {len(payload)} bytes exceeds {_format.MAX_CONFIG} bytes and is not recorded"
            )
            return
        with self._buf.lock:
            if self._append_json(_format.CONFIG, payload):
                self._buf.config_file = config_file_bytes(plain)

    def _summary_changed(self, update: Dict[str, Any]) -> None:
        """Record a summary update; None values remove keys."""
        payload = _format.dumps(jsonable(update))
        if len(payload) > _format.MAX_SUMMARY:
            warn(
                f"run {self._id}: summary update of {len(payload)} bytes exceeds {_format.MAX_SUMMARY} bytes "
                "and is not recorded"
            )
            return
        self._append_json(_format.SUMMARY, payload)

    # -- finishing ----------------------------------------------------------------

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        """End the run: status "finished" for exit code 0 (the default),
        "killed" for 129, 130, 137 and 143 (stopped by a signal), "failed"
        otherwise. Writes everything buffered, syncs and closes the log.
        A run that streams to a server then waits, up to its stream timeout
        (5 s by default), for the server to acknowledge the whole log.
        Problems (values dropped, records that could not be written, a
        server that did not get everything) are reported on stderr;
        finish() never raises. Later calls do nothing."""
        code = 0 if exit_code is None else int(exit_code)
        self._end(status_for(code), code, None)

    def _finish_exception(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """End the run because exc escaped: killed for KeyboardInterrupt,
        failed (with the traceback) for anything but a clean SystemExit."""
        if issubclass(exc_type, KeyboardInterrupt):
            self._end("killed", 130, "KeyboardInterrupt")
        elif issubclass(exc_type, SystemExit):
            code = exc.code if exc is not None else 0
            if code is None or isinstance(code, int):
                self.finish(code or 0)
            else:
                self._end("failed", 1, str(code))
        else:
            import traceback  # only on a crash: keeps import runlog cheap

            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self._end("failed", 1, text)

    def _end(self, status: str, exit_code: int, error: Optional[str]) -> None:
        if self._forked or os.getpid() != self._pid:
            return
        if self._disabled:
            if self._on_end is not None:
                self._on_end(self)
            return
        # The images and histograms still queued are written before the
        # status record ends the log.
        media_lost = self._media.close() if self._media is not None else []
        st: Dict[str, Any] = {"status": status, "time": _time(), "exit_code": exit_code}
        if error:
            st["error"] = _cut_tail(error, _format.MAX_TEXT_LEN)
        buf = self._buf
        with buf.lock:
            if buf.closed:
                return
            p = self._pending
            if p is not None:
                self._pending = None
                self._emit(p[0], p[1], list(p[2].items()))
            buf.add_record(_format.STATUS, _format.dumps(st))
            buf.closed = self._off = True
            dropped = buf.dropped
        lost = self._writer.close() if self._writer is not None else 0
        stream = self._writer.stream if self._writer is not None else None
        if stream is not None:
            try:
                stream.finish()  # waits a bounded time for the server; never raises
            except Exception as e:
                warn(f"run {self._id}: streaming to the server: {e!r}")
        if self._uploader is not None:
            try:
                self._uploader.finish()  # waits a bounded time for the server; never raises
            except Exception as e:
                warn(f"run {self._id}: uploading files to the server: {e!r}")
        if self._on_end is not None:
            self._on_end(self)
        if dropped or lost:
            parts = []
            if dropped:
                parts.append(
                    f"{dropped} metric values were dropped while {buf.limit >> 20} MiB of records "
                    "waited for the disk"
                )
            if lost:
                w = self._writer
                why = (
                    "its log was deleted"
                    if w is not None and w.deleted
                    else (w.error if w is not None and w.error else "the disk did not take them")
                )
                parts.append(f"{lost} bytes of records could not be written ({why})")
            warn(f"run {self._id}: " + "; ".join(parts))
        if media_lost:
            warn(f"run {self._id}: " + "; ".join(media_lost))

    # -- for the process hooks -------------------------------------------------

    def _after_fork_child(self) -> None:
        """In a forked child: never write to the parent's log."""
        self._forked = True
        self._off = True
        self._buf.forget()
        self._pending = None
        if self._writer is not None:
            self._writer.abandon()
        if self._uploader is not None:
            self._uploader.abandon()


def _cut(s: str, limit: int) -> str:
    b = s.encode("utf-8", "replace")
    if len(b) <= limit:
        return s
    return b[: limit - 3].decode("utf-8", "ignore") + "…"


def _cut_tail(s: str, limit: int) -> str:
    b = s.encode("utf-8", "replace")
    if len(b) <= limit:
        return s
    return "…" + b[-(limit - 3) :].decode("utf-8", "ignore")

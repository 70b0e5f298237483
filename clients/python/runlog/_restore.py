"""Which checkpoint a resumed run continues from."""

from __future__ import annotations

import glob
import math
import os
import struct
from typing import Any, Dict, List, Optional, Tuple

from . import _format

# The validation keys that judge checkpoints, in order of preference (as the
# runlog command's summary judges them: lower is better).
_VAL_KEYS = ("val_loss", "val/loss", "eval/loss", "validation_loss", "eval_loss", "valid_loss")


def restore_checkpoint(folder: Optional[str], which: str = "latest") -> Optional[str]:
    """The path of the checkpoint to restore, or None to start from scratch.

    Under ``runlog run --resume`` it is the one the runner chose
    (RUNLOG_CHECKPOINT). Otherwise it is read from the run folder's logs:
    the checkpoint of the greatest step ("latest") or of the lowest
    validation loss in its metadata ("best"), among those whose file still
    exists and that no rewind abandoned.
    """
    if which not in ("latest", "best"):
        raise ValueError(f"runlog: restore_checkpoint(which={which!r}): want 'latest' or 'best'")
    env = os.environ.get("RUNLOG_CHECKPOINT", "")
    if env and os.path.isfile(env):
        return env
    if not folder:
        return None
    checkpoints: List[Dict[str, Any]] = []
    logs = []
    for path in sorted(glob.glob(os.path.join(folder, "run*.log"))):
        try:
            with open(path, "rb") as f:
                logs.append((os.path.basename(path), _format.read_records(f.read()).records))
        except (OSError, ValueError):
            continue
    for _, records in logs:
        for rec in records:
            if rec.type != _format.ARTIFACT:
                continue
            try:
                payload = rec.json()
            except ValueError:
                continue
            if isinstance(payload, dict) and payload.get("kind") == "checkpoint" and isinstance(payload.get("step"), int):
                checkpoints.append(payload)
    rewinds = _rewinds(logs)
    live = []
    for c in checkpoints:
        if any(r.get("step", -1) < c["step"] and r.get("time", 0) > c.get("time", 0) for r in rewinds):
            continue  # a checkpoint of an attempt the run went back before
        p = c.get("path", "")
        p = p if os.path.isabs(p) else os.path.join(folder, *p.split("/"))
        if os.path.isfile(p):
            live.append((c, p))
    if not live:
        return None
    if which == "best":
        scored = [(_score(c), p) for c, p in live if not math.isnan(_score(c))]
        if scored:
            return min(scored)[1]
    return max(live, key=lambda cp: (cp[0]["step"], cp[0].get("time", 0)))[1]


_STEP_TIME = struct.Struct("<qd")  # the head of a metrics record


def _rewinds(logs: List[Tuple[str, List[Any]]]) -> List[Dict[str, Any]]:
    """The rewinds of a run's logs: those recorded, and those indexing infers
    where a resumed program started again instead of continuing
    (internal/ingest/resume.go, series.CheckRestart; docs/runner.md): a
    process's first step — of its first metrics record with a key other
    than sys/… — at or below the step the run had reached (the rewind that
    followed the resume, else the greatest step the run held) rewinds the
    run to the step before it. A process starts at a resume record, or at
    the header of an attached log written after one.
    """
    recorded: List[Dict[str, Any]] = []
    resumes: List[float] = []
    points: List[Tuple[float, int]] = []  # (time, step) of every metrics record
    firsts: List[Tuple[float, int, float, Optional[int]]] = []  # (start, first step, its time, the rewind since)
    # Only a resumed run's points need reading.
    resumed = any(rec.type == _format.RESUME for _, records in logs for rec in records)
    for name, records in logs:
        keys: Dict[int, str] = {}
        pending, start = False, 0.0
        local: Optional[int] = None
        for rec in records:
            try:
                if rec.type == _format.KEY:
                    kid, key = rec.key()
                    keys[kid] = key
                elif rec.type == _format.RESUME or rec.type == _format.HEADER and name != "run.log":
                    p = rec.json()
                    if isinstance(p, dict) and isinstance(p.get("time"), (int, float)):
                        pending, start, local = True, float(p["time"]), None
                        if rec.type == _format.RESUME:
                            resumes.append(start)
                elif rec.type == _format.REWIND:
                    p = rec.json()
                    if isinstance(p, dict) and isinstance(p.get("step"), int) and p["step"] >= 0:
                        recorded.append(p)
                        if pending:
                            local = p["step"]
                elif rec.type == _format.METRICS and resumed:
                    if len(rec.payload) < 16:
                        continue
                    step, t = _STEP_TIME.unpack_from(rec.payload)
                    points.append((t, step))
                    if pending and any(not keys.get(k, "sys/").startswith("sys/") for k, _ in rec.metrics()[2]):
                        pending = False
                        firsts.append((start, step, t, local))
            except (ValueError, UnicodeDecodeError):
                continue
    if not resumes:
        return recorded
    resumes.sort()
    inferred: List[Dict[str, Any]] = []
    for start, step, t, local in sorted(firsts, key=lambda f: (f[0], f[2])):
        seg = max((r for r in resumes if r <= start), default=None)
        if seg is None:
            continue  # a process of the run's first segment
        ref = local
        if ref is None:
            since = [r for r in recorded if isinstance(r.get("time"), (int, float)) and seg <= r["time"] <= t]
            if since:
                ref = max(since, key=lambda r: r["time"])["step"]
        if ref is None:
            ref = _reached(points, recorded + inferred, seg)
        if ref is not None and step <= ref:
            inferred.append({"time": t, "step": step - 1})
    return recorded + inferred


def _reached(points: List[Tuple[float, int]], rewinds: List[Dict[str, Any]], before: float) -> Optional[int]:
    """The greatest step a run held at time before: of the points logged
    until then, those no rewind went back before."""
    events = [(t, 0, s) for t, s in points if t < before]
    events += [(r["time"], 1, r["step"]) for r in rewinds if isinstance(r.get("time"), (int, float)) and r["time"] < before]
    reached: Optional[int] = None
    for _, kind, s in sorted(events):
        if kind == 0:
            reached = s if reached is None else max(reached, s)
        elif reached is not None:
            reached = min(reached, s)
    return reached


def _score(c: Dict[str, Any]) -> float:
    meta = c.get("metadata") or {}
    for k in _VAL_KEYS:
        v = _format.number_value(meta.get(k))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return math.nan

"""Which checkpoint a resumed run continues from."""

from __future__ import annotations

import glob
import math
import os
from typing import Any, Dict, List, Optional

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
    rewinds: List[Dict[str, Any]] = []
    for path in sorted(glob.glob(os.path.join(folder, "run*.log"))):
        try:
            with open(path, "rb") as f:
                result = _format.read_records(f.read())
        except (OSError, ValueError):
            continue
        for rec in result.records:
            if rec.type not in (_format.ARTIFACT, _format.REWIND):
                continue
            try:
                payload = rec.json()
            except ValueError:
                continue
            if not isinstance(payload, dict):
                continue
            if rec.type == _format.REWIND:
                rewinds.append(payload)
            elif payload.get("kind") == "checkpoint" and isinstance(payload.get("step"), int):
                checkpoints.append(payload)
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


def _score(c: Dict[str, Any]) -> float:
    meta = c.get("metadata") or {}
    for k in _VAL_KEYS:
        v = _format.number_value(meta.get(k))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return math.nan

"""Checking and converting what users log: keys, metric values, JSON values.

Nothing here imports numpy or torch: their scalars are recognised by duck
typing (``.item()``, ``__float__``, ``tolist()``).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from . import _format

_CONTROL = frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def check_text(what: str, s: str, limit: int) -> None:
    """Raise ValueError unless s is at most limit bytes of UTF-8 without
    control characters. what names the value in the message."""
    if not isinstance(s, str):
        raise TypeError(f"runlog: {what} must be a str, not {type(s).__name__}")
    try:
        n = len(s.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"runlog: {what} {s[:40]!r} is not valid Unicode text") from None
    if n > limit:
        raise ValueError(f"runlog: {what} {s[:40]!r}… is {n} bytes, the limit is {limit}")
    if not _CONTROL.isdisjoint(s):
        bad = next(c for c in s if c in _CONTROL)
        raise ValueError(f"runlog: {what} {s!r} contains control character U+{ord(bad):04X}")


def check_key(key: Any) -> str:
    """Return key if it may name a metric: a str of 1 to 256 bytes of UTF-8
    without control characters; raise TypeError or ValueError otherwise."""
    if not isinstance(key, str):
        raise TypeError(f"runlog: metric key {key!r} is a {type(key).__name__}; keys must be str")
    if not key:
        raise ValueError("runlog: empty metric key")
    check_text("metric key", key, _format.MAX_KEY_LEN)
    return str(key)


def check_step(step: Any) -> int:
    """Return step as an int if it is a valid step (an integer >= 0)."""
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise TypeError(f"runlog: step must be an int, not {type(step).__name__} ({step!r})")
    n = int(step.__index__())  # numpy and torch integers too
    if n < 0:
        raise ValueError(f"runlog: step {n} is negative; steps start at 0")
    if n > _format.MAX_STEP:
        raise ValueError(f"runlog: step {n} does not fit in 64 bits")
    return n


def _type_name(v: Any) -> str:
    t = type(v)
    mod = t.__module__
    return t.__qualname__ if mod == "builtins" else f"{mod}.{t.__qualname__}"


def to_float(key: str, v: Any) -> float:
    """Convert a metric value to float, or raise TypeError naming key.

    Accepted: int, float, bool, and objects holding exactly one number —
    numpy scalars and 0-d (or one-element) arrays, torch tensors with one
    element — through ``.item()``, or ``__float__``. NaN and infinities are
    kept as they are.
    """
    t = type(v)
    if t is float:
        return float(v)
    if t is int or t is bool:
        try:
            return float(v)
        except OverflowError:
            raise ValueError(f"runlog: value of {key!r} ({v}) is too large for a float64") from None
    if isinstance(v, (str, bytes, bytearray, dict, list, tuple, set)) or v is None:
        raise TypeError(
            f"runlog: value of {key!r} is {_type_name(v)} ({_short(v)}), not a number; "
            "log int, float, bool or a one-element array or tensor"
        )
    item = getattr(v, "item", None)
    if callable(item):
        try:
            x = item()
        except Exception:  # numpy: ValueError, torch: RuntimeError
            shape = getattr(v, "shape", None)
            raise TypeError(
                f"runlog: value of {key!r} is a {_type_name(v)} of shape {tuple(shape) if shape is not None else '?'}, "
                "not a single number; log a scalar (e.g. x.mean().item())"
            ) from None
        if type(x) in (float, int, bool):
            return to_float(key, x)
        raise TypeError(f"runlog: value of {key!r} is a {_type_name(v)} holding {_type_name(x)}, not a real number")
    if isinstance(v, float):  # float subclasses
        return float(v)
    if hasattr(t, "__float__") and not isinstance(v, complex):
        try:
            return float(v)
        except (TypeError, ValueError, OverflowError):
            pass
    raise TypeError(
        f"runlog: value of {key!r} is {_type_name(v)} ({_short(v)}), not a number; "
        "log int, float, bool or a one-element array or tensor"
    )


def _short(v: Any) -> str:
    try:
        r = repr(v)
    except Exception:
        return "?"
    return r if len(r) <= 40 else r[:39] + "…"


def flatten(data: Mapping[Any, Any], prefix: str = "") -> Iterable[Tuple[Any, Any]]:
    """Yield (key, value) for data, with nested mappings flattened to
    ``outer/inner`` keys."""
    for k, v in data.items():
        if isinstance(v, Mapping):
            if not isinstance(k, str):
                check_key(k)  # raises TypeError naming the key
            yield from flatten(v, f"{prefix}{k}/")
        elif prefix:
            if not isinstance(k, str):
                check_key(k)
            yield prefix + k, v
        else:
            yield k, v


def metric_items(data: Any) -> List[Tuple[str, float]]:
    """Return the (key, float value) pairs of a log() call, flattened and
    checked, in order; raise TypeError or ValueError for the caller's bugs."""
    if not isinstance(data, Mapping):
        raise TypeError(f"runlog: log() takes a dict of metric values, not {_type_name(data)}")
    items = [(check_key(k), to_float(k, v)) for k, v in flatten(data)]
    if len(items) > 1 and len({k for k, _ in items}) < len(items):
        items = list(dict(items).items())  # {"a/b": 1, "a": {"b": 2}}: the last one wins
    return items


def jsonable(value: Any, _depth: int = 0) -> Any:
    """Return value as plain JSON values (dict with str keys, list, str,
    int, float, bool, None), converting what JSON cannot hold.

    numpy and torch values go through ``tolist()``/``item()``, dataclasses
    and namespaces through their fields, paths and other objects through
    ``str``. Never raises.
    """
    if _depth > 64:
        return str(value)
    t = type(value)
    if t in (str, int, float, bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {_json_key(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v, _depth + 1) for v in items]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if _is_dataclass(value):
        return {f.name: jsonable(getattr(value, f.name), _depth + 1) for f in _dataclass_fields(value)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, torch tensors
    if callable(tolist):
        try:
            return jsonable(tolist(), _depth + 1)
        except Exception:
            pass
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return jsonable(item(), _depth + 1)
        except Exception:
            pass
    if hasattr(value, "__dict__") and type(value).__name__ == "Namespace":  # argparse
        return jsonable(vars(value), _depth + 1)
    try:
        return str(value)
    except Exception:
        return f"<{_type_name(value)}>"


def _json_key(k: Any) -> str:
    return k if isinstance(k, str) else str(k)


def as_dict(config: Any) -> Dict[str, Any]:
    """Return the dict that a config argument stands for: a mapping, an
    argparse.Namespace (or other object with attributes), or a dataclass."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    if _is_dataclass(config):
        return {f.name: getattr(config, f.name) for f in _dataclass_fields(config)}
    if hasattr(config, "__dict__") and not isinstance(config, type):
        return {k: v for k, v in vars(config).items() if not k.startswith("_")}
    raise TypeError(
        f"runlog: config must be a dict, a dataclass or an argparse.Namespace, not {_type_name(config)}"
    )


def check_names(name: str, project: str, group: str, tags: Tuple[str, ...], notes: str, hypothesis: str) -> None:
    """Raise ValueError for names, tags or texts beyond the format's limits."""
    for what, s in (("name", name), ("project", project), ("group", group)):
        check_text(what, s, _format.MAX_NAME_LEN)
    if len(tags) > _format.MAX_TAGS:
        raise ValueError(f"runlog: {len(tags)} tags, the limit is {_format.MAX_TAGS}")
    for tag in tags:
        if not tag:
            raise ValueError("runlog: empty tag")
        check_text("tag", tag, _format.MAX_NAME_LEN)
    for what, s in (("notes", notes), ("hypothesis", hypothesis)):
        if len(s.encode("utf-8", "replace")) > _format.MAX_TEXT_LEN:
            raise ValueError(f"runlog: {what} of more than {_format.MAX_TEXT_LEN} bytes")


def _is_dataclass(value: Any) -> bool:
    """dataclasses.is_dataclass for an instance, without importing dataclasses
    at `import runlog`: a program with dataclass values has imported it."""
    return hasattr(type(value), "__dataclass_fields__") and not isinstance(value, type)


def _dataclass_fields(value: Any) -> Any:
    import dataclasses  # already imported by the program that made value

    return dataclasses.fields(value)

"""The dict-like Config and Summary of a run."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from . import _format
from ._values import as_dict, check_key


def config_file_bytes(plain: Any) -> bytes:
    """The content of config.json for a config of plain JSON values."""
    return (json.dumps(_format.finite_json(plain), indent=2, ensure_ascii=False) + "\n").encode("utf-8", "replace")


class Config(MutableMapping[str, Any]):
    """The run's config: a dict with attribute access (``config.lr``).

    Every change — item or attribute assignment, ``update``, deletion —
    records the complete config in run.log and rewrites config.json.
    ``update`` records once for all its keys.
    """

    def __init__(self, data: Optional[Mapping[str, Any]] = None, on_change: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_on_change", on_change)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(dict(self._data))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._changed()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._changed()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, d: Any = None, allow_val_change: Optional[bool] = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys (from a dict, a dataclass or an
        argparse.Namespace, and keyword arguments), recorded as one change."""
        new = as_dict(d)
        new.update(kwargs)
        if not new:
            return
        self._data.update(new)
        self._changed()

    def setdefaults(self, d: Any) -> None:
        """Set the keys of d that are not set yet (wandb compatibility)."""
        new = {k: v for k, v in as_dict(d).items() if k not in self._data}
        if new:
            self._data.update(new)
            self._changed()

    def as_dict(self) -> Dict[str, Any]:
        """A copy of the config as a plain dict."""
        return dict(self._data)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    def __getstate__(self) -> Dict[str, Any]:
        return {"data": dict(self._data)}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        object.__setattr__(self, "_data", state["data"])
        object.__setattr__(self, "_on_change", None)


class Summary(MutableMapping[str, Any]):
    """Values the run sets about itself (``summary["best_val_loss"] = 1.9``).

    Setting a key records it; runlog shows these values beside its own
    statistics and lets them override the computed ones of the same key.
    Deleting a key records its removal.
    """

    def __init__(self, on_change: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        self._data: Dict[str, Any] = {}
        self._on_change = on_change

    def _record(self, update: Dict[str, Any]) -> None:
        if self._on_change is not None:
            self._on_change(update)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        check_key(key)
        self._data[key] = value
        self._record({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._record({key: None})

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def update(self, d: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys, recorded as one update."""
        new = dict(d or {})
        new.update(kwargs)
        for k in new:
            check_key(k)
        if new:
            self._data.update(new)
            self._record(new)

    def __repr__(self) -> str:
        return f"Summary({self._data!r})"

"""Small pieces of wandb's API that training scripts call and that have no
meaning here, so that ``import runlog as wandb`` runs them unchanged."""

from __future__ import annotations

import enum
from typing import Any, Set

from ._warn import warn

_warned: Set[str] = set()


def _once(what: str) -> None:
    if what not in _warned:
        _warned.add(what)
        warn(f"{what}() does nothing in runlog (wandb compatibility)")


class AlertLevel(str, enum.Enum):
    """Alert levels, as ``wandb.AlertLevel``."""

    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class Settings:
    """Accepts any settings, as ``wandb.Settings``; runlog uses none."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


def login(*args: Any, **kwargs: Any) -> bool:
    """There is nothing to log in to: returns True."""
    return True


def watch(*args: Any, **kwargs: Any) -> None:
    """wandb logs gradients and parameters here; runlog does not."""
    _once("watch")


def unwatch(*args: Any, **kwargs: Any) -> None:
    """Counterpart of watch(): nothing to do."""


def save(*args: Any, **kwargs: Any) -> None:
    """wandb uploads files here; use log_artifact() to register files."""
    _once("save")

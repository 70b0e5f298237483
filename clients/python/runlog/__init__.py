"""runlog: log training runs to run folders that the ``runlog`` command reads.

The API is the common subset of wandb's, so ``import runlog as wandb``
works for typical training scripts::

    import runlog

    run = runlog.init(project="tinystories", name="baseline", config={"lr": 3e-4})
    for step in range(steps):
        loss = train_step()
        runlog.log({"train_loss": loss, "learning_rate": lr})
    runlog.finish()

Each run writes ``<home>/runs/<id>/run.log`` (home: ``dir=``, else
``$RUNLOG_HOME``, else ``./runlog``). ``log()`` never waits for the disk: a
background thread writes at least once a second. Standard library only.
"""

from __future__ import annotations

from . import _hooks
from ._version import VERSION

# Names whose modules are imported on first use (PEP 562's module
# __getattr__), so that ``import runlog`` costs little — a program that
# imports it and never starts a run (a DataLoader worker re-importing the
# main script, a --help) pays for neither these modules nor the standard
# library's typing, re, json, hashlib and enum that they import.
# clients/python/tests/test_lazy_import.py checks that they stay out of ``import runlog``.
# The type checker sees them as ordinary imports.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Mapping, Optional

    from ._compat import AlertLevel, Settings, login, save, unwatch, watch
    from ._config import Config, Summary
    from ._format import read_records
    from ._media import Histogram, Html, Image, Table
    from ._run import Run
    from ._start import init

_LAZY = {
    "AlertLevel": "_compat",
    "Settings": "_compat",
    "login": "_compat",
    "save": "_compat",
    "unwatch": "_compat",
    "watch": "_compat",
    "Config": "_config",
    "Summary": "_config",
    "read_records": "_format",
    "Histogram": "_media",
    "Html": "_media",
    "Image": "_media",
    "Table": "_media",
    "Run": "_run",
    "init": "_start",
}

__version__ = VERSION

__all__ = [
    "AlertLevel",
    "Config",
    "Histogram",
    "Html",
    "Image",
    "Run",
    "Settings",
    "Summary",
    "Table",
    "alert",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "login",
    "read_records",
    "restore_checkpoint",
    "rewind",
    "run",
    "save",
    "summary",
    "unwatch",
    "watch",
]

# Placeholders for the module-level config and summary before init(), as in
# wandb: they hold values but record nothing. Made on first use.
_placeholders: dict = {}


def _placeholder(name: str) -> Any:
    p = _placeholders.get(name)
    if p is None:
        from . import _config

        p = _placeholders.setdefault(name, _config.Config() if name == "config" else _config.Summary())
    return p


def __getattr__(name: str) -> Any:
    """``runlog.run``, ``runlog.config`` and ``runlog.summary`` follow the
    current run (the last one init() started; None once it finished); the
    names of _LAZY are imported on first use, then kept in the module."""
    if name == "run":
        return _hooks.current
    if name == "config":
        r = _hooks.current
        return r.config if r is not None else _placeholder("config")
    if name == "summary":
        r = _hooks.current
        return r.summary if r is not None else _placeholder("summary")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runlog' has no attribute {name!r}")
    value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    """The module's names, the lazy ones included (for completion in a REPL)."""
    return sorted(set(globals()) | set(__all__))


def _current(what: str) -> Run:
    r = _hooks.current
    if r is None:
        raise RuntimeError(f"runlog.{what}(): no run; call runlog.init() first")
    return r


def log(data: Mapping[str, Any], step: Optional[int] = None, commit: Optional[bool] = True, sync: Any = None) -> None:
    """Log metric values to the current run; see ``Run.log``."""
    r = _hooks.current
    if r is None:
        raise RuntimeError("runlog.log(): no run; call runlog.init() first")
    r.log(data, step, commit)


def finish(exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
    """Finish the current run, if any; see ``Run.finish``."""
    r = _hooks.current
    if r is not None:
        r.finish(exit_code)


def define_metric(name: str, *args: Any, **kwargs: Any) -> None:
    """Declare a metric's goal on the current run; see ``Run.define_metric``."""
    _current("define_metric").define_metric(name, *args, **kwargs)


def alert(title: str, text: str = "", level: Any = "warn", wait_duration: Any = None) -> None:
    """Record an alert on the current run; see ``Run.alert``."""
    _current("alert").alert(title, text, level, wait_duration)


def log_artifact(path: Any, *args: Any, **kwargs: Any) -> Optional[str]:
    """Register a file with the current run; see ``Run.log_artifact``."""
    return _current("log_artifact").log_artifact(path, *args, **kwargs)


def rewind(step: int) -> None:
    """Continue the current run from an earlier step; see ``Run.rewind``."""
    _current("rewind").rewind(step)


def restore_checkpoint(which: str = "latest") -> Optional[str]:
    """The path of the checkpoint to continue from, or None: under
    ``runlog run --resume`` the one the runner chose (RUNLOG_CHECKPOINT);
    otherwise the current run's latest (or best) registered checkpoint."""
    from ._restore import restore_checkpoint as _restore

    r = _hooks.current
    return _restore(None if r is None or r.disabled else r.dir, which)

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

from typing import Any, Mapping, Optional

from . import _hooks
from ._compat import AlertLevel, Settings, login, save, unwatch, watch
from ._format import read_records
from ._media import Histogram, Html, Image, Table
from ._config import Config, Summary
from ._run import Run
from ._start import VERSION, init

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
# wandb: they hold values but record nothing.
_placeholder_config = Config()
_placeholder_summary = Summary()


def __getattr__(name: str) -> Any:
    """``runlog.run``, ``runlog.config`` and ``runlog.summary`` follow the
    current run (the last one init() started; None once it finished)."""
    if name == "run":
        return _hooks.current
    if name == "config":
        r = _hooks.current
        return r.config if r is not None else _placeholder_config
    if name == "summary":
        r = _hooks.current
        return r.summary if r is not None else _placeholder_summary
    raise AttributeError(f"module 'runlog' has no attribute {name!r}")


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

"""Process-wide hooks that end runs however the process ends.

- normal exit (``atexit``): the run is finished — or killed, if a SIGTERM
  or SIGHUP handled by the program's own handler led to the exit;
- an uncaught exception (``sys.excepthook``): failed, with the traceback;
  KeyboardInterrupt: killed;
- SIGTERM, SIGINT, SIGHUP whose previous handler was the default action:
  killed, then the default action (the process dies of the signal). A
  previous Python handler is called instead (Python's own SIGINT handler
  raises KeyboardInterrupt, which the excepthook sees). Handlers are
  installed only from the main thread, and not for ignored signals;
- ``fork``: the child forgets its parent's runs — it never writes to their
  logs nor ends them when it exits.

The hooks know a run only as ``Hooked``: the three methods by which they
end it or make a forked child forget it. ``current``, the run of the
module-level API, is kept here for init() and ``runlog.log`` and so on;
the hooks only clear it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

# ``import runlog`` imports this module: typing (and signal, which imports
# enum) only when a run starts, or for the type checker.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, List, Optional, Protocol

    # Only for current's type: the run module does not import this one
    # (a run is told what to call when it ends), so there is no cycle.
    from ._run import Run
else:
    Protocol = object


class Hooked(Protocol):
    """What the hooks need of a run (``_run.Run`` is the one implementation).

    Each may be called from a signal handler or an atexit hook, and again
    after the run has ended, when it does nothing.
    """

    def _end(self, status: str, exit_code: int, error: Optional[str]) -> None:
        """End the run with status ("finished", "failed", "killed"), writing
        everything buffered; call the run's on_end, which unregisters it."""

    def _finish_exception(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """End the run because exc escaped the program (see _end)."""

    def _after_fork_child(self) -> None:
        """In a forked child: never write to the parent's log, nor end it."""


_lock = threading.RLock()
_active: List[Hooked] = []
current: Optional["Run"] = None  # the run of the module-level API

_installed = False
_signals_installed = False
_prev_excepthook: Optional[Callable[..., Any]] = None
_prev_handlers: Dict[int, Any] = {}
_signalled: Optional[int] = None  # a signal that a program handler took


def register(run: Hooked) -> None:
    """Track a live run so that the process's end ends it."""
    _install()
    with _lock:
        _active.append(run)


def unregister(run: Hooked) -> None:
    """Forget a run that has ended (each run calls this as its on_end)."""
    global current
    with _lock:
        if run in _active:
            _active.remove(run)
        if current is run:
            current = None


def active() -> List[Hooked]:
    with _lock:
        return list(_active)


def end_all(status: str, exit_code: int, error: Optional[str] = None) -> None:
    """End every live run of this process."""
    for run in active():
        try:
            run._end(status, exit_code, error)
        except Exception:  # never let one run keep the others from ending
            pass


def _install() -> None:
    global _installed, _prev_excepthook
    with _lock:
        if not _installed:
            _installed = True
            atexit.register(_at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
            _prev_excepthook = sys.excepthook
            sys.excepthook = _excepthook
        _install_signals()


def _install_signals() -> None:
    global _signals_installed
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    import signal

    _signals_installed = True
    for sig in (getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)):
        try:
            prev = signal.getsignal(sig)
        except (ValueError, OSError):
            continue
        if prev is signal.SIG_IGN or prev is None:
            continue  # ignored, or set from outside Python: leave it alone
        try:
            signal.signal(sig, _on_signal)
        except (ValueError, OSError):
            continue
        _prev_handlers[sig] = prev


def _on_signal(signum: int, frame: Any) -> None:
    global _signalled
    import signal  # already imported by _install_signals, which installed this handler

    prev = _prev_handlers.get(signum, signal.SIG_DFL)
    if callable(prev):
        # The program's handler decides. If it ends the process, SIGTERM and
        # SIGHUP make the run killed; SIGINT handlers (Python's, IPython's)
        # raise KeyboardInterrupt, which the excepthook sees if uncaught —
        # an interrupted notebook cell must not mark the run killed.
        if signum != signal.SIGINT:
            _signalled = signum
        prev(signum, frame)  # may raise KeyboardInterrupt or SystemExit
        return
    end_all("killed", 128 + signum)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
    for run in active():
        try:
            run._finish_exception(exc_type, exc, tb)
        except Exception:
            pass
    hook = _prev_excepthook or sys.__excepthook__
    hook(exc_type, exc, tb)


def _at_exit() -> None:
    if _signalled is not None:
        end_all("killed", 128 + _signalled)
    else:
        end_all("finished", 0)


def _after_fork_in_child() -> None:
    """The child has no runs of its own: forget the parent's, and give the
    signals back their previous handlers, so that a worker dies of SIGTERM
    exactly as it would without runlog (a Python-level handler runs only
    when the main thread gets back to Python code)."""
    global _lock, _active, _signals_installed, _prev_handlers, _signalled
    import signal

    _lock = threading.RLock()
    runs, _active = _active, []
    for run in runs:
        run._after_fork_child()
    for sig, prev in _prev_handlers.items():
        try:
            if signal.getsignal(sig) is _on_signal:
                signal.signal(sig, prev)
        except (ValueError, OSError):
            pass
    _prev_handlers = {}
    _signals_installed = False
    _signalled = None

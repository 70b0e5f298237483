"""Warnings on stderr: how runlog tells the program about a problem
without raising into the training loop.

A leaf module (it imports nothing from the package), so that every other
module can warn without an import cycle.
"""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """Print a runlog warning on stderr; never raises."""
    try:
        sys.stderr.write(f"runlog: {message}\n")
        sys.stderr.flush()
    except Exception:
        pass

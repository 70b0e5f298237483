"""Make the example's modules importable, and the runlog client from this
repository's source when it is not installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EXAMPLE))
if importlib.util.find_spec("runlog") is None:
    sys.path.insert(0, str(EXAMPLE.parents[1] / "clients" / "python"))

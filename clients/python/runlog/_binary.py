"""Finding the ``runlog`` command that goes with this client, and the rule
for which binaries it works with.

A platform wheel (scripts/build-wheels.sh) installs the Go binary as a
script of the environment: ``<venv>/bin/runlog`` (``Scripts\\runlog.exe`` on
Windows), so that the ``runlog`` command is the binary itself, with nothing
between. ``python -m runlog`` runs the same binary, found by :func:`find`.
The client-only wheel and the sdist have none; then the ``runlog`` on PATH
(a release archive, ``go install``) is used, and checked to be compatible.

Nothing here runs at ``import runlog``: the binary is started only by
``python -m runlog`` and :func:`binary_version`.
"""

from __future__ import annotations

import os
import re
import sys
from typing import List, Optional, Tuple

from ._version import VERSION

#: The binary's file name on this platform.
EXE = "runlog.exe" if sys.platform == "win32" else "runlog"


def _major_minor(v: str) -> str:
    v = v.strip()
    if v.startswith("v"):
        v = v[1:]
    v = re.split(r"[+-]", v, maxsplit=1)[0]
    parts = v.split(".", 2)
    return v if len(parts) < 2 else parts[0] + "." + parts[1]


def compatible(client: str, binary: str) -> bool:
    """Whether a client of version ``client`` and a binary of version
    ``binary`` work together: the same major and minor version. The one rule,
    internal/version.Compatible in Go (which ``runlog doctor`` applies); both
    are tested with internal/version/testdata/compatible.json."""
    return _major_minor(client) == _major_minor(binary)


def _script_dirs() -> List[str]:
    """Where pip puts an environment's scripts, for the schemes a wheel may
    have been installed with: the environment's own, then the user's."""
    import sysconfig

    dirs = [sysconfig.get_path("scripts")]
    try:
        user = sysconfig.get_preferred_scheme("user")  # Python >= 3.10
    except AttributeError:
        user = "nt_user" if os.name == "nt" else ("osx_framework_user" if getattr(sys, "_framework", "") else "posix_user")
    try:
        dirs.append(sysconfig.get_path("scripts", scheme=user))
    except KeyError:
        pass
    return [d for d in dirs if d]


def _is_program(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find() -> Tuple[Optional[str], bool]:
    """The runlog binary and whether it was installed with this client (in
    this environment's scripts folder, by a platform wheel). Else the first
    ``runlog`` on PATH; (None, False) if none."""
    for d in _script_dirs():
        p = os.path.join(d, EXE)
        if _is_program(p):
            return p, True
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d:
            p = os.path.join(d, EXE)
            if _is_program(p):
                return p, False
    return None, False


def binary_version(path: str) -> str:
    """The version a runlog binary reports (``runlog --version``: "runlog
    0.1.0 (commit …, built …)"); "" if it cannot say."""
    import subprocess

    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    m = re.match(r"runlog (\S+)", out.strip())
    return m.group(1) if m else ""


def mismatch(binary: str, what: str) -> Optional[str]:
    """The warning to print when a binary of version ``binary`` (found as
    ``what``) does not work with this client; None when it does."""
    if not binary or compatible(VERSION, binary):
        return None
    mm = _major_minor(binary)
    return (f"{what} is runlog {binary} and this Python client is {VERSION}: they read and write "
            f"different formats. Install the client that matches (pip install 'runlog=={mm}.*') or a "
            f"runlog binary {_major_minor(VERSION)}.x")

"""``python -m runlog ARGS``: run the ``runlog`` command (the Go binary that
a platform wheel installs beside this client) with ARGS.

Its exit status is the binary's. With the client-only wheel or the sdist,
the ``runlog`` on PATH is used, after a check that it works with this
client (a warning on stderr if not); without any, it says how to get one.
"""

from __future__ import annotations

import os
import sys

from . import _binary
from ._warn import warn


def main(argv: list) -> int:
    path, bundled = _binary.find()
    if path is None:
        sys.stderr.write(
            "runlog: no runlog command here: this is the client-only package, which logs runs but has no "
            "binary to look at them.\n"
            "Install a platform wheel (pip install runlog on Linux x86_64/aarch64, macOS, Windows amd64), "
            "a release archive, or build one with Go: go install github.com/runlog/runlog/cmd/runlog@latest\n"
        )
        return 127
    if not bundled:
        problem = _binary.mismatch(_binary.binary_version(path), path)
        if problem:
            warn(problem)
    if os.name == "nt":  # no exec on Windows: wait for it and pass its status on
        import subprocess

        try:
            return subprocess.call([path] + argv)
        except KeyboardInterrupt:
            return 130
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(path, [path] + argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

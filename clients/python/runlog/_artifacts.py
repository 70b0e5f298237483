"""Files registered with a run: hashing them, copying them into the run
folder so that it stays complete on its own (as Go's LogArtifact)."""

from __future__ import annotations

import hashlib
import os
from typing import Tuple


def hash_file(path: str) -> Tuple[int, str]:
    """Return the size and SHA-256 (hex) of the file at path."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def copy_in(src: str, folder: str, sub: str) -> Tuple[str, int, str]:
    """Copy src into folder/sub under a free name; return the relative path,
    size and SHA-256."""
    if not os.path.isfile(src):
        raise FileNotFoundError(f"no such file: {src}")
    os.makedirs(os.path.join(folder, sub), exist_ok=True)
    base = os.path.basename(src)
    stem, ext = os.path.splitext(base)
    with open(src, "rb") as fin:
        for i in range(1001):
            rel = os.path.join(sub, base if i == 0 else f"{stem}-{i}{ext}")
            dst = os.path.join(folder, rel)
            try:
                fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free name for {base} in {sub}/")
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as fout:
                while True:
                    chunk = fin.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                    fout.write(chunk)
                    size += len(chunk)
                fout.flush()
                os.fsync(fout.fileno())
        except BaseException:
            try:
                os.remove(dst)
            except OSError:
                pass
            raise
    return rel, size, h.hexdigest()

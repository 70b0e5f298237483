#!/usr/bin/env python3
"""Writes runlog's wheels, sdist and release archives, byte for byte the same
for the same inputs: entries sorted, every time SOURCE_DATE_EPOCH, modes
0644 (0755 for programs), owners 0, gzip without a name or time.

A wheel is a zip with a .dist-info folder (METADATA, WHEEL, RECORD; PEP 427,
PEP 491), written here with zipfile rather than through a build backend, so
that a platform wheel can hold the Go binary as ``<name>.data/scripts/runlog``:
pip installs it as the environment's ``runlog`` command itself, no launcher
between (as ruff and uv ship theirs). Called by scripts/build-wheels.sh and
scripts/release.sh; standard library only (Python >= 3.11 for tomllib).

  pack.py wheels  --version V --epoch E --out DIR [--binary PLATFORM=PATH ...]
  pack.py archive --epoch E --out FILE.tar.gz|FILE.zip --prefix DIR SRC=NAME[:MODE] ...
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import os
import re
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLIENT = REPO / "clients" / "python"

#: The platforms a wheel with the binary is built for: Go's GOOS-GOARCH, and
#: the wheel's platform tags. Go builds static, CGO-free binaries: they need
#: no libc, so one Linux wheel serves glibc systems (manylinux_2_17, and its
#: older spelling manylinux2014 for pip < 20.3: glibc >= 2.17, CentOS 7 on)
#: and musl ones (musllinux_1_1: Alpine); macOS 12 is the oldest Go 1.26
#: runs on (the test reads the minimum from the Mach-O header).
PLATFORMS = {
    "linux-amd64": ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "musllinux_1_1_x86_64"],
    "linux-arm64": ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "musllinux_1_1_aarch64"],
    "darwin-amd64": ["macosx_12_0_x86_64"],
    "darwin-arm64": ["macosx_12_0_arm64"],
    "windows-amd64": ["win_amd64"],
}

FILE_MODE, EXEC_MODE = 0o644, 0o755


class Deterministic:
    """Entries gathered as (name, bytes, mode) and written in one order,
    with one time."""

    def __init__(self, epoch: int):
        # zip cannot say times before 1980
        self.epoch = max(int(epoch), 315532800)
        self.entries: list[tuple[str, bytes, int]] = []

    def add(self, name: str, data: bytes, mode: int = FILE_MODE) -> None:
        if any(n == name for n, _, _ in self.entries):
            raise ValueError(f"{name}: added twice")
        self.entries.append((name, data, mode))

    def zip_bytes(self, order=None) -> bytes:
        buf = io.BytesIO()
        entries = sorted(self.entries, key=order or (lambda e: e[0]))
        date = time.gmtime(self.epoch)[:6]
        with zipfile.ZipFile(buf, "w") as z:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name, date_time=date)
                info.create_system = 3  # Unix, so that the mode below is read
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data, compresslevel=9)
        return buf.getvalue()

    def tar_gz_bytes(self) -> bytes:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
            dirs = set()
            for name, _, _ in self.entries:
                parts = name.split("/")[:-1]
                dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
            items = [(d + "/", None, EXEC_MODE) for d in dirs] + self.entries
            for name, data, mode in sorted(items, key=lambda e: e[0]):
                info = tarfile.TarInfo(name.rstrip("/"))
                info.mtime, info.mode = self.epoch, mode
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if data is None:
                    info.type = tarfile.DIRTYPE
                    t.addfile(info)
                else:
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as g:
            g.write(raw.getvalue())
        return out.getvalue()


def project() -> dict:
    with open(CLIENT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def metadata(version: str) -> bytes:
    """The core metadata (METADATA, PKG-INFO) from pyproject.toml's [project]."""
    p = project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {version}", f"Summary: {p['description']}"]
    for c in p.get("classifiers", []):
        lines.append(f"Classifier: {c}")
    lines.append(f"Requires-Python: {p['requires-python']}")
    for extra, reqs in sorted(p.get("optional-dependencies", {}).items()):
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {r}; extra == \"{extra}\"" for r in reqs]
    lines.append("Description-Content-Type: text/markdown")
    readme = (CLIENT / p["readme"]).read_text(encoding="utf-8")
    return ("\n".join(lines) + "\n\n" + readme).encode("utf-8")


def package_files(version: str) -> list[tuple[str, bytes]]:
    """The client's modules, with runlog/_version.py saying version."""
    out = []
    pkg = CLIENT / "runlog"
    for f in sorted(pkg.iterdir()):
        if not f.is_file() or not (f.suffix == ".py" or f.name == "py.typed"):
            continue
        data = f.read_bytes()
        if f.name == "_version.py":
            data, n = re.subn(rb'^VERSION = "[^"]*"$', f'VERSION = "{version}"'.encode(), data, flags=re.M)
            if n != 1:
                raise SystemExit(f"{f}: no line VERSION = \"...\" to stamp")
        out.append((f"runlog/{f.name}", data))
    return out


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel(version: str, epoch: int, tags: list[str], binary: Path | None, out: Path) -> Path:
    """Writes one wheel: the client, and binary as the runlog command."""
    name = "runlog"
    dist_info, data_dir = f"{name}-{version}.dist-info", f"{name}-{version}.data"
    w = Deterministic(epoch)
    for n, data in package_files(version):
        w.add(n, data)
    if binary is not None:
        exe = "runlog.exe" if any(t.startswith("win") for t in tags) else "runlog"
        w.add(f"{data_dir}/scripts/{exe}", binary.read_bytes(), EXEC_MODE)
    wheel_tags = [f"py3-none-{t}" for t in tags]
    w.add(f"{dist_info}/METADATA", metadata(version))
    w.add(f"{dist_info}/WHEEL", ("Wheel-Version: 1.0\nGenerator: runlog scripts/pack.py\n"
                                f"Root-Is-Purelib: {'false' if binary else 'true'}\n"
                                + "".join(f"Tag: {t}\n" for t in wheel_tags)).encode())
    w.add(f"{dist_info}/top_level.txt", b"runlog\n")
    records = [record_line(n, d) for n, d, _ in sorted(w.entries)] + [f"{dist_info}/RECORD,,"]
    w.add(f"{dist_info}/RECORD", ("\n".join(records) + "\n").encode())
    # The package first, then .data, then .dist-info with RECORD last (PEP 427's advice).
    rank = lambda e: (e[0].startswith(dist_info), e[0].startswith(data_dir), e[0].endswith("/RECORD"), e[0])
    path = out / f"{name}-{version}-py3-none-{'.'.join(tags)}.whl"
    path.write_bytes(w.zip_bytes(order=rank))
    return path


def sdist(version: str, epoch: int, out: Path) -> Path:
    """The client's source distribution (pyproject.toml with setuptools):
    the client on any platform; the binary comes from elsewhere there."""
    top = f"runlog-{version}"
    s = Deterministic(epoch)
    for n, data in package_files(version):
        s.add(f"{top}/{n}", data)
    for f in ("pyproject.toml", "README.md"):
        s.add(f"{top}/{f}", (CLIENT / f).read_bytes())
    s.add(f"{top}/PKG-INFO", metadata(version))
    path = out / f"{top}.tar.gz"
    path.write_bytes(s.tar_gz_bytes())
    return path


def cmd_wheels(a) -> None:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [wheel(a.version, a.epoch, ["any"], None, out)]
    for spec in a.binary:
        plat, _, path = spec.partition("=")
        if plat not in PLATFORMS or not path:
            raise SystemExit(f"--binary {spec}: want PLATFORM=PATH, PLATFORM one of {', '.join(PLATFORMS)}")
        written.append(wheel(a.version, a.epoch, PLATFORMS[plat], Path(path), out))
    written.append(sdist(a.version, a.epoch, out))
    for p in written:
        print(f"  {p.relative_to(out.parent) if out.parent in p.parents else p}  {p.stat().st_size / 1e6:.1f} MB")


def cmd_archive(a) -> None:
    arc = Deterministic(a.epoch)
    for spec in a.files:
        src, _, rest = spec.partition("=")
        name, _, mode = rest.partition(":")
        arc.add(f"{a.prefix}/{name}", Path(src).read_bytes(), int(mode, 8) if mode else FILE_MODE)
    out = Path(a.out)
    if out.name.endswith(".zip"):
        out.write_bytes(arc.zip_bytes())
    elif out.name.endswith(".tar.gz"):
        out.write_bytes(arc.tar_gz_bytes())
    else:
        raise SystemExit(f"--out {out}: want a .tar.gz or .zip name")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wheels", help="the client-only wheel, a wheel per --binary, the sdist")
    w.add_argument("--version", required=True)
    w.add_argument("--epoch", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    w.add_argument("--out", required=True)
    w.add_argument("--binary", action="append", default=[], metavar="PLATFORM=PATH")
    w.set_defaults(run=cmd_wheels)
    r = sub.add_parser("archive", help="a .tar.gz or .zip of files under one folder")
    r.add_argument("--epoch", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    r.add_argument("--out", required=True)
    r.add_argument("--prefix", required=True, help="the folder the files are in, inside the archive")
    r.add_argument("files", nargs="+", metavar="SRC=NAME[:MODE]")
    r.set_defaults(run=cmd_archive)
    a = ap.parse_args()
    a.run(a)


if __name__ == "__main__":
    sys.exit(main())

"""The runlog binaries that the wheels and the release archives carry,
checked by their headers, parsed here: an ELF (Linux), Mach-O (macOS) or PE
(Windows) file for the platform's architecture, static on Linux, for a macOS
no newer than the wheel's tag, a console program on Windows, with the built
web UI inside. Used by test_install.py (the wheels) and test_release.py (the
archives)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pack  # noqa: E402  (the platforms and their wheel tags)


def check_binary(plat: str, data: bytes, where: str) -> None:
    """Asserts that data is a runlog binary for plat (goos-goarch, a key of
    pack.PLATFORMS); where names it in the messages."""
    goos, goarch = plat.split("-")
    if goos == "linux":
        h = elf(data)
        assert not h["interp"], f"{where}: a dynamically linked binary (needs a libc)"
    elif goos == "darwin":
        h = macho(data)
        tag_os = int(pack.PLATFORMS[plat][0].split("_")[1])
        assert h["minos"] is not None and h["minos"] <= tag_os, f"{where}: the binary needs macOS {h['minos']}"
    else:
        h = pe(data)
        assert h["console"], f"{where}: not a console program"
    assert h["arch"] == goarch, f"{where}: a {h['arch']} binary"
    assert b"/assets/index-" in data, f"{where}: the binary has no built web UI"


def elf(data: bytes) -> dict:
    """An ELF file's architecture, and whether it is dynamically linked (interp)."""
    assert data[:4] == b"\x7fELF", "not an ELF file"
    assert data[4] == 2 and data[5] == 1, "not a 64-bit little-endian ELF"
    machine = struct.unpack_from("<H", data, 18)[0]
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return {"arch": {62: "amd64", 183: "arm64"}.get(machine, machine), "interp": 3 in types}  # PT_INTERP: dynamic


def macho(data: bytes) -> dict:
    """A Mach-O file's architecture, and the oldest macOS it runs on (minos, the major version)."""
    magic, cputype, _, _, ncmds = struct.unpack_from("<IiiII", data, 0)
    assert magic == 0xFEEDFACF, "not a 64-bit Mach-O file"
    off, minos = 32, None
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd == 0x32:  # LC_BUILD_VERSION: platform, minos (xxxx.yy.zz)
            minos = struct.unpack_from("<I", data, off + 12)[0] >> 16
        off += size
    return {"arch": {0x01000007: "amd64", 0x0100000C: "arm64"}.get(cputype, cputype), "minos": minos}


def pe(data: bytes) -> dict:
    """A PE file's architecture, and whether it is a console program."""
    assert data[:2] == b"MZ", "not a PE file"
    at = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[at:at + 4] == b"PE\0\0", "no PE signature"
    machine = struct.unpack_from("<H", data, at + 4)[0]
    subsystem = struct.unpack_from("<H", data, at + 24 + 68)[0]
    return {"arch": {0x8664: "amd64", 0xAA64: "arm64"}.get(machine, machine), "console": subsystem == 3}

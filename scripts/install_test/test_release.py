"""The release archives of scripts/release.sh, as a user downloads them.

Builds them (every platform), then checks that there is one archive per
platform of pack.PLATFORMS (a .zip for Windows, a .tar.gz for the others)
and nothing else but SHA256SUMS; that each holds exactly one folder
runlog-V-<platform>/ with the binary for its platform (by its headers:
executables.py), executable, the repository's README.md, the bash, zsh, fish
and PowerShell completions, and LICENSE exactly when the repository has one;
that the host's binary says the version; that the bash completion loads;
and that `sha256sum -c SHA256SUMS` verifies every archive (and notices a
changed one).

    clients/python/.venv/bin/python -m pytest -q scripts/install_test/test_release.py

RUNLOG_RELEASE=DIR uses archives already built there instead of building.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = (REPO / "VERSION").read_text().strip()
sys.path.insert(0, str(REPO / "scripts"))
import pack  # noqa: E402  (the released platforms)
from executables import check_binary  # noqa: E402  (the binary's headers)

COMPLETIONS = ["completions/runlog.bash", "completions/_runlog", "completions/runlog.fish", "completions/runlog.ps1"]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    given = os.environ.get("RUNLOG_RELEASE")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("release")
    subprocess.run([str(REPO / "scripts" / "release.sh"), str(out)], check=True, cwd=REPO)
    return out


def archive_name(plat: str) -> str:
    return f"runlog-{VERSION}-{plat}.{'zip' if plat.startswith('windows-') else 'tar.gz'}"


def members(path: Path) -> dict:
    """An archive's files: name → (mode, bytes); folders → (mode, None)."""
    out = {}
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for i in z.infolist():
                mode = (i.external_attr >> 16) & 0o777
                out[i.filename.rstrip("/")] = (mode, None if i.is_dir() else z.read(i))
    else:
        with tarfile.open(path, "r:gz") as t:
            for i in t.getmembers():
                assert i.isdir() or i.isfile(), f"{path.name}: {i.name} is neither a file nor a folder"
                out[i.name.rstrip("/")] = (i.mode & 0o777, t.extractfile(i).read() if i.isfile() else None)
    return out


def test_one_archive_per_platform_and_the_checksums(release):
    got = sorted(p.name for p in release.iterdir() if p.is_file())
    assert got == sorted([archive_name(p) for p in pack.PLATFORMS] + ["SHA256SUMS"])


def test_each_archive_holds_the_binary_readme_and_completions(release):
    license_ = (REPO / "LICENSE").is_file()
    for plat in pack.PLATFORMS:
        name = archive_name(plat)
        files = members(release / name)
        top = name.rsplit(".zip", 1)[0].rsplit(".tar.gz", 1)[0]
        exe = "runlog.exe" if plat.startswith("windows-") else "runlog"
        want = {exe, "README.md", *COMPLETIONS} | ({"LICENSE"} if license_ else set())
        got = {n[len(top) + 1:] for n, (_, data) in files.items() if data is not None}
        assert got == want, f"{name}: {sorted(got)}"
        assert all(n == top or n.startswith(top + "/") for n in files), f"{name}: not all under {top}/: {sorted(files)}"

        mode, binary = files[f"{top}/{exe}"]
        assert mode == 0o755, f"{name}: {exe} has mode {mode:o}"
        check_binary(plat, binary, f"{name}: {exe}")
        for n in want - {exe}:
            assert files[f"{top}/{n}"][0] == 0o644, f"{name}: {n} has mode {files[f'{top}/{n}'][0]:o}"
        assert files[f"{top}/README.md"][1] == (REPO / "README.md").read_bytes(), f"{name}: README.md is not the repository's"
        if license_:
            assert files[f"{top}/LICENSE"][1] == (REPO / "LICENSE").read_bytes(), f"{name}: LICENSE is not the repository's"

        # what each completion file is, for its shell
        text = {n: files[f"{top}/{n}"][1].decode() for n in COMPLETIONS}
        assert "__start_runlog" in text["completions/runlog.bash"], f"{name}: runlog.bash is not a bash completion"
        assert text["completions/_runlog"].startswith("#compdef runlog"), f"{name}: _runlog is not a zsh completion"
        assert "complete -c runlog" in text["completions/runlog.fish"], f"{name}: runlog.fish is not a fish completion"
        assert "Register-ArgumentCompleter" in text["completions/runlog.ps1"], f"{name}: runlog.ps1 is not a PowerShell completion"


def host_platform() -> str:
    """This machine as goos-goarch."""
    machine = os.uname().machine
    return f"{sys.platform}-{ {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(machine, machine)}"


def test_the_host_binary_runs_and_its_bash_completion_loads(release, tmp_path):
    plat = host_platform()
    if plat not in pack.PLATFORMS:
        pytest.skip(f"no archive for this machine ({plat})")
    name = archive_name(plat)
    with tarfile.open(release / name, "r:gz") as t:
        t.extractall(tmp_path, filter="data")
    top = tmp_path / name[: -len(".tar.gz")]
    exe = top / "runlog"
    assert exe.stat().st_mode & stat.S_IXUSR
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(rf"runlog {re.escape(VERSION)} \(commit [0-9a-f]{{12}}, built \S+\)", version), version

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    # Sourcing the completion registers it for the command runlog.
    r = subprocess.run([bash, "--norc", "--noprofile", "-c", f"source {top / 'completions' / 'runlog.bash'} && complete -p runlog"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "runlog" in r.stdout, r.stdout + r.stderr


def test_the_checksums_verify(release, tmp_path):
    sums = (release / "SHA256SUMS").read_text()
    listed = sorted(line.split()[1].lstrip("*") for line in sums.splitlines())
    assert listed == sorted(archive_name(p) for p in pack.PLATFORMS), sums
    tool = ["sha256sum", "-c"] if shutil.which("sha256sum") else ["shasum", "-a", "256", "-c"]
    r = subprocess.run([*tool, "SHA256SUMS"], cwd=release, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

    # and a changed archive fails them (a copy: the release stays as built)
    copy = tmp_path / "copy"
    shutil.copytree(release, copy, ignore=shutil.ignore_patterns("binaries", "completions"))
    victim = copy / archive_name(next(iter(pack.PLATFORMS)))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    r = subprocess.run([*tool, "SHA256SUMS"], cwd=copy, capture_output=True, text=True)
    assert r.returncode != 0 and victim.name in r.stdout + r.stderr, r.stdout + r.stderr

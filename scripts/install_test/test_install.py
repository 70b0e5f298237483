"""Installing runlog the way a user does: the wheels of scripts/build-wheels.sh.

Builds the wheels twice (the same bytes both times), checks every wheel's
tags against what pip accepts and that each holds a binary for its platform
(ELF, Mach-O and PE headers, parsed by executables.py), then, in fresh virtualenvs whose
PATH has no Go, no Node and no other runlog, installs the Linux x86_64 wheel
and runs the README's Python quick start as written: `runlog ls` shows the
run, `runlog ui` serves it (checked in headless Chromium by ui_check.mjs),
`runlog --version` is the package's version; the client-only wheel and the
sdist install and log without a binary.

    clients/python/.venv/bin/python -m pytest -q scripts/install_test

RUNLOG_WHEELS=DIR uses wheels already built there instead of building
(then the reproducibility test builds once more and compares with them).
CHROMIUM names the browser (default: chromium on PATH).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = (REPO / "VERSION").read_text().strip()
sys.path.insert(0, str(REPO / "scripts"))
import pack  # noqa: E402  (the tags the wheels should carry)
from executables import check_binary  # noqa: E402  (the binary's headers)

LINUX_X86 = "linux-amd64"


def build(out: Path) -> Path:
    subprocess.run([str(REPO / "scripts" / "build-wheels.sh"), str(out)], check=True, cwd=REPO)
    return out


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    given = os.environ.get("RUNLOG_WHEELS")
    return Path(given) if given else build(tmp_path_factory.mktemp("dist"))


def wheels(dist: Path) -> dict:
    """platform (a key of pack.PLATFORMS, or "any") → the wheel's path."""
    found = {}
    for w in sorted(dist.glob("runlog-*.whl")):
        plat = w.name[: -len(".whl")].split("-")[-1]
        key = next((k for k, tags in pack.PLATFORMS.items() if plat == ".".join(tags)), plat)
        found[key] = w
    return found


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# --- what the build wrote ---------------------------------------------------


def test_every_wheel_and_the_sdist(dist):
    assert set(wheels(dist)) == set(pack.PLATFORMS) | {"any"}, sorted(p.name for p in dist.iterdir())
    assert (dist / f"runlog-{VERSION}.tar.gz").is_file()
    for w in wheels(dist).values():
        assert w.name.startswith(f"runlog-{VERSION}-py3-none-"), w.name


def test_same_commit_same_bytes(dist, tmp_path):
    again = build(tmp_path / "again")
    names = sorted(p.name for p in dist.iterdir() if p.is_file())
    assert names == sorted(p.name for p in again.iterdir() if p.is_file())
    for n in names:
        assert sha256(dist / n) == sha256(again / n), f"{n} differs between two builds of one commit"


def test_wheel_metadata_and_record(dist):
    for plat, w in wheels(dist).items():
        with zipfile.ZipFile(w) as z:
            di = f"runlog-{VERSION}.dist-info"
            meta = z.read(f"{di}/METADATA").decode()
            assert re.search(rf"^Name: runlog$", meta, re.M) and re.search(rf"^Version: {re.escape(VERSION)}$", meta, re.M)
            wheel = z.read(f"{di}/WHEEL").decode()
            tags = re.findall(r"^Tag: (.+)$", wheel, re.M)
            # the file name's compressed tag set is the WHEEL file's tags
            assert tags == [f"py3-none-{t}" for t in w.name[:-4].split("-")[-1].split(".")], (w.name, tags)
            assert ("Root-Is-Purelib: true" in wheel) == (plat == "any")
            stamped = z.read("runlog/_version.py").decode()
            assert f'VERSION = "{VERSION}"' in stamped
            # RECORD lists every other file with its hash and size
            record = {}
            for line in z.read(f"{di}/RECORD").decode().splitlines():
                name, digest, size = line.rsplit(",", 2)
                record[name] = (digest, size)
            assert set(record) == set(z.namelist())
            for name in z.namelist():
                if name.endswith("/RECORD"):
                    continue
                data = z.read(name)
                assert record[name] == (pack.record_line(name, data).rsplit(",", 2)[1], str(len(data))), name


def test_tags_are_ones_pip_installs(dist, tmp_path):
    """pip itself picks each platform's wheel over the client-only one: here
    (a Linux x86_64 glibc machine) with the tags it computes, elsewhere told
    the platform with --platform (pip widens a macOS version to the older
    ones, not a glibc version, so those are given as wheels name them)."""
    assert sys.platform == "linux" and os.uname().machine == "x86_64", "this test runs on Linux x86_64"
    machines = {
        LINUX_X86: [[], ["manylinux2014_x86_64"], ["musllinux_1_1_x86_64"]],
        "linux-arm64": [["manylinux_2_17_aarch64"], ["manylinux2014_aarch64"], ["musllinux_1_1_aarch64"]],
        "darwin-amd64": [["macosx_13_0_x86_64"]],
        "darwin-arm64": [["macosx_14_0_arm64"]],
        "windows-amd64": [["win_amd64"]],
    }
    want = wheels(dist)
    for plat, platforms in machines.items():
        for tags in platforms:
            got = tmp_path / (tags[0] if tags else "here")
            args = [a for t in tags for a in ("--platform", t)]
            if tags:
                args += ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-index",
                 "--find-links", str(dist), "--only-binary=:all:", *args, "-d", str(got), f"runlog=={VERSION}"],
                check=True,
            )
            assert [p.name for p in got.iterdir()] == [want[plat].name], f"pip on {tags or 'this machine'}"


# --- the binary inside each wheel -------------------------------------------


def test_each_wheel_holds_a_binary_for_its_platform(dist):
    for plat, w in wheels(dist).items():
        with zipfile.ZipFile(w) as z:
            scripts = [i for i in z.infolist() if "/scripts/" in i.filename]
            if plat == "any":
                assert scripts == [], "the client-only wheel holds a binary"
                continue
            goos = plat.split("-")[0]
            assert [i.filename for i in scripts] == [f"runlog-{VERSION}.data/scripts/runlog{'.exe' if goos == 'windows' else ''}"]
            assert (scripts[0].external_attr >> 16) & 0o777 == 0o755
            data = z.read(scripts[0])
        check_binary(plat, data, w.name)


# --- installed, as a user ---------------------------------------------------


def clean_path(tmp: Path) -> str:
    """A PATH with every program of this one but Go, Node and runlog."""
    banned = {"go", "gofmt", "node", "nodejs", "npm", "npx", "corepack", "runlog", "runlog-bench"}
    shadow = tmp / "clean-path"
    shadow.mkdir()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or not os.path.isdir(d):
            continue
        for e in os.scandir(d):
            target = shadow / e.name
            if e.name in banned or target.exists() or target.is_symlink():
                continue
            if os.access(e.path, os.X_OK) and not e.is_dir():
                target.symlink_to(e.path)
    path = str(shadow)
    for prog in ("go", "node", "runlog"):
        assert shutil.which(prog, path=path) is None
    return path


def venv(tmp: Path, name: str) -> tuple:
    """A fresh virtualenv and the environment to run in it: its bin first on a PATH without Go, Node or runlog."""
    v = tmp / name
    subprocess.run([sys.executable, "-m", "venv", str(v)], check=True)
    env = {k: val for k, val in os.environ.items() if not k.startswith(("RUNLOG_", "VIRTUAL_ENV", "PYTHON", "GO"))}
    env.update(PATH=str(v / "bin") + os.pathsep + clean_path(tmp / name), NO_COLOR="1", RUNLOG_URL="-")
    return v, env


def pip_install(v: Path, env: dict, what: Path, index: bool = False) -> None:
    """pip install what: offline (a wheel needs nothing), or with the index
    for an sdist's build requirements (setuptools)."""
    subprocess.run([str(v / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *([] if index else ["--no-index"]), str(what)], check=True, env=env)


def quick_start() -> tuple:
    """The README's Python quick start (its first python block), and the run name it logs."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    name = re.search(r'name="([^"]+)"', code).group(1)
    return code, name


def run(args, env, cwd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)
    assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def test_the_platform_wheel_without_go_or_node(dist, tmp_path):
    v, env = venv(tmp_path, "venv")
    pip_install(v, env, wheels(dist)[LINUX_X86])
    assert shutil.which("runlog", path=env["PATH"]) == str(v / "bin" / "runlog")

    code, name = quick_start()
    work = tmp_path / "work"
    work.mkdir()
    (work / "train.py").write_text(code)
    run([str(v / "bin" / "python"), "train.py"], env, work)

    ls = run(["runlog", "ls"], env, work).stdout
    assert re.search(rf"^\S*\s*{re.escape(name)}\b|\s{re.escape(name)}\s", ls, re.M), ls
    assert "finished" in ls, ls

    version_line = run(["runlog", "--version"], env, work).stdout.strip()
    package = run([str(v / "bin" / "python"), "-c", "import runlog, importlib.metadata as m; print(runlog.__version__, m.version('runlog'))"],
                  env, work).stdout.split()
    assert package == [VERSION, VERSION]
    assert re.fullmatch(rf"runlog {re.escape(VERSION)} \(commit [0-9a-f]{{12}}, built \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", version_line), version_line
    assert run([str(v / "bin" / "python"), "-m", "runlog", "--version"], env, work).stdout.strip() == version_line

    # runlog ui serves the page with the run in it, in headless Chromium
    node = shutil.which("node")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not node or not chromium:
        pytest.fail("the browser check needs node and chromium on the test's own PATH")
    ui_env = dict(env, RUNLOG_BIN=str(v / "bin" / "runlog"), CHROMIUM=chromium)
    r = subprocess.run([node, str(Path(__file__).with_name("ui_check.mjs")), str(work / "runlog"), name, VERSION],
                       env=ui_env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_client_only_wheel_and_the_sdist_log_without_a_binary(dist, tmp_path):
    code, name = quick_start()
    binary = next((dist / "binaries" / LINUX_X86).glob("runlog"))
    for what, index in [(wheels(dist)["any"], False), (dist / f"runlog-{VERSION}.tar.gz", True)]:
        v, env = venv(tmp_path, what.name)
        pip_install(v, env, what, index)
        assert not (v / "bin" / "runlog").exists()
        work = tmp_path / (what.name + "-work")
        work.mkdir()
        (work / "train.py").write_text(code)
        run([str(v / "bin" / "python"), "train.py"], env, work)
        # the run is there: the platform binary reads it
        ls = run([str(binary), "ls", "--json"], env, work).stdout
        assert [r["name"] for r in json.loads(ls)] == [name], ls
        # python -m runlog says there is no binary, and how to get one
        r = subprocess.run([str(v / "bin" / "python"), "-m", "runlog", "ls"], env=env, cwd=work, capture_output=True, text=True)
        assert r.returncode == 127 and "client-only" in r.stderr and "pip install runlog" in r.stderr, r.stderr

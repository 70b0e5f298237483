"""Measures issue 16's installation goals on the wheels of
scripts/build-wheels.sh and prints them beside the goals (medians):

    python3 scripts/install_test/bench.py [DIST] [--runs N]

wheel size; `pip install` of the Linux x86_64 wheel into a fresh virtualenv
(offline; the virtualenv's creation not counted); `runlog --version` (a new
process each time), cold (the binary's pages dropped from the page cache
first) and warm; `import runlog` in a fresh interpreter, and that
interpreter's start alone for reference. Each with the median of the
children's CPU time (user + system), which a busy machine inflates less. docs/benchmarks.md has the table.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


CPU: list = []  # the CPU seconds (user + system) of every child timed(), in order


def timed(args, env=None, n=1) -> list:
    """Runs args n times; returns the wall times and records the CPU times in CPU."""
    out = []
    for _ in range(n):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return out


def med(walls: list, unit: float = 1e3, fmt: str = "{:.1f} ms") -> str:
    """The median wall time, and the median CPU time of the same runs."""
    cpus = CPU[-len(walls):]
    return f"{fmt.format(statistics.median(walls) * unit)} ({fmt.format(statistics.median(cpus) * unit)} CPU)"


def evict(path: Path) -> None:
    """Drops path's pages from the page cache, so that the next start reads it from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dist", nargs="?", default=str(REPO / "dist"))
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    dist = Path(a.dist)
    wheels = sorted(dist.glob("runlog-*.whl"))
    linux = next(w for w in wheels if "manylinux_2_17_x86_64" in w.name)
    rows = [("wheel size, largest (" + max(wheels, key=lambda w: w.stat().st_size).name.split("-py3-none-")[1][:-4] + ")",
             f"{max(w.stat().st_size for w in wheels) / 1e6:.1f} MB", "≤ 25 MB")]
    with tempfile.TemporaryDirectory() as tmp:
        installs, v = [], None
        for i in range(a.runs):
            v = Path(tmp) / f"v{i}"
            subprocess.run([sys.executable, "-m", "venv", str(v)], check=True)
            installs += timed([str(v / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "--no-index", str(linux)])
        rows.append(("pip install of the wheel, fresh virtualenv", med(installs, 1, "{:.2f} s"), "≤ 10 s"))
        n = a.runs * 4
        exe = v / "bin" / "runlog"
        cold = []
        for _ in range(n):
            evict(exe)
            cold += timed([str(exe), "--version"])
        rows.append(("`runlog --version`, cold: the binary evicted from the page cache", med(cold), "≤ 50 ms"))
        rows.append(("`runlog --version`, warm", med(timed([str(exe), "--version"], n=n)), ""))
        py = str(v / "bin" / "python")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        start = timed([py, "-c", "pass"], env, n)
        start_cpu = CPU[-n:]
        imp = timed([py, "-c", "import runlog"], env, n)
        imp_cpu = CPU[-n:]
        rows.append(("`import runlog` (python -c 'import runlog' less python -c pass)",
                     f"{(statistics.median(imp) - statistics.median(start)) * 1e3:.1f} ms "
                     f"({(statistics.median(imp_cpu) - statistics.median(start_cpu)) * 1e3:.1f} ms CPU)", "≤ 30 ms"))
        CPU.extend(start_cpu)
        rows.append(("  python -c pass, for reference", med(start), ""))
    w = max(len(r[0]) for r in rows)
    v = max(len(r[1]) for r in rows)
    print(f"{'measure':<{w}}  {'median wall (CPU)':>{v}}  goal")
    for name, val, goal in rows:
        print(f"{name:<{w}}  {val:>{v}}  {goal}")
    print(f"({a.runs} installs, {a.runs * 4} runs of the others; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()

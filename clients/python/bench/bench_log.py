#!/usr/bin/env python3
"""What ``run.log({4 scalars})`` costs a training loop.

Two measurements, each over --n calls (default 1,000,000):

- caller latency: every call timed with ``time.perf_counter_ns`` in the
  calling thread; median and p99 (they include the ~50 ns of the timer
  itself, shown in the "timer only" row);
- process CPU per call: ``time.process_time`` (all threads: the background
  writer included) across the loop and ``finish()``, divided by the calls.

For reference, in the same process: ``json.dumps`` of the same dict, and
when installed, tensorboardX ``add_scalar`` ×4 and wandb offline ``log``
(over --ref-n calls, default 100,000, as they are much slower). Then the
rich values of issue 15: a 300-character text, a 256×256×3 uint8 NumPy
image and a Histogram of 1 M float32 (those two need NumPy: run_tests.sh
installs it in clients/python/.venv), each timed in the caller, with the
process CPU of the background encoding. Prints Markdown tables. Standard
library only (besides NumPy and the optional references).

    python bench/bench_log.py [--n 1000000] [--ref-n 100000]

With --url (a running ``runlog ui``) or --serve (a ``runlog`` binary: the
benchmark starts ``runlog ui`` on a scratch home and a free port), the
runlog rows stream their runs to that server, as with RUNLOG_URL: the
process CPU then includes the streaming thread's, and finish() waits until
the server acknowledged the whole log. Without either, nothing streams
(RUNLOG_URL is ignored), and the goals apply.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

import runlog  # noqa: E402

KEYS = ("train_loss", "learning_rate", "tokens_per_sec", "grad_norm")


def make_row() -> Dict[str, float]:
    return {"train_loss": 2.345678, "learning_rate": 3e-4, "tokens_per_sec": 8543.2, "grad_norm": 0.91234}


Fn = Callable[[Dict[str, float]], Any]


def latencies(fn: Fn, n: int) -> Tuple[float, float]:
    """Median and p99 of single calls, in µs."""
    d = make_row()
    lat = array("q", bytes(8 * n))
    pc = time.perf_counter_ns
    for i in range(n):
        d["train_loss"] = i * 1e-6
        t0 = pc()
        fn(d)
        lat[i] = pc() - t0
    s = sorted(lat)
    return s[n // 2] / 1e3, s[min(n - 1, int(n * 0.99))] / 1e3


def cpu_per_call(fn: Fn, n: int, end: Optional[Callable[[], Any]] = None) -> Tuple[float, float]:
    """Process CPU time and wall time per call in µs, the end() call (a
    finish, a close) included."""
    d = make_row()
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(n):
        d["train_loss"] = i * 1e-6
        fn(d)
    if end is not None:
        end()
    return (time.process_time() - c0) / n * 1e6, (time.perf_counter() - w0) / n * 1e6


class Row:
    def __init__(self, what: str, calls: int, median: float, p99: float, cpu: float, note: str = "") -> None:
        self.what, self.calls, self.median, self.p99, self.cpu, self.note = what, calls, median, p99, cpu, note


def bench_runlog(n: int, home: str, url: str = "-") -> List[Row]:
    rows = []
    note = "streaming to a local server" if url != "-" else ""
    # A generous stream timeout: finish() waits for the server to have everything.
    run = runlog.init(project="bench", name="latency", dir=home, url=url, stream_timeout=120)
    med, p99 = latencies(run.log, n)
    run.finish()
    run = runlog.init(project="bench", name="cpu", dir=home, url=url, stream_timeout=120)
    cpu, _ = cpu_per_call(run.log, n, run.finish)
    rows.append(Row("runlog `run.log` (4 scalars)", n, med, p99, cpu, note))

    runlog.init(project="bench", name="module-cpu", dir=home, url=url, stream_timeout=120)
    cpu_mod, _ = cpu_per_call(runlog.log, n, runlog.finish)
    rows.append(Row("runlog `runlog.log` (module level)", n, float("nan"), float("nan"), cpu_mod, note))
    return rows


TEXT = ("Once upon a time, in a small village by the sea, there lived a girl named Lily who loved to "
        "collect shells. Every morning she walked along the beach with her basket, looking for the "
        "prettiest ones. One day she found a shell that glowed in the sun, and when she held it to her "
        "ear she heard a song.")[:300]


def rich_latencies(log: Callable[[int], Any], n: int, between: Callable[[], Any] = lambda: None) -> Tuple[float, float]:
    """Median and p99 in µs of log(i) for i in range(n), timed in the
    caller; between() runs, untimed, after each call."""
    lat = array("q", bytes(8 * n))
    pc = time.perf_counter_ns
    for i in range(n):
        t0 = pc()
        log(i)
        lat[i] = pc() - t0
        between()
    s = sorted(lat)
    return s[n // 2] / 1e3, s[min(n - 1, int(n * 0.99))] / 1e3


class RichRow:
    def __init__(self, what: str, calls: int, median: float, p99: float, cpu: float, goal: str = "",
                 limit: float = 0, note: str = "") -> None:
        self.what, self.calls, self.median, self.p99, self.cpu = what, calls, median, p99, cpu
        self.goal, self.limit, self.note = goal, limit, note


def bench_rich(n_text: int, n_image: int, n_hist: int, home: str) -> List[RichRow]:
    """Text, image and histogram values: the caller's latency of each
    run.log call (constructing the Image or Histogram included), and the
    process CPU per value with the background encoding and finish(); each
    beside a reference: what the same value costs done plainly in the
    caller (json.dumps of the text, np.histogram, a PNG by zlib)."""
    rows: List[RichRow] = []

    def measure(what: str, n: int, make: Callable[[Any], Callable[[int], Any]], goal: str = "", limit: float = 0,
                note: str = "", idle: bool = False) -> None:
        run = runlog.init(project="bench", name="rich", dir=home, url="-")

        def settle() -> None:
            # Each image or histogram finds the background idle, as one
            # logged at every evaluation does; back to back, a call would
            # wait for the interpreter lock the previous one's encoding holds.
            while idle and run._media is not None and run._media._pending:
                time.sleep(0.0005)

        med, p99 = rich_latencies(make(run), n, settle)
        run.finish()
        run = runlog.init(project="bench", name="rich-cpu", dir=home, url="-")
        log = make(run)
        gc.collect()
        c0 = time.process_time()
        for i in range(n):
            log(i)
        run.finish()
        cpu = (time.process_time() - c0) / n * 1e6
        rows.append(RichRow(what, n, med, p99, cpu, goal, limit, note))

    def reference(what: str, n: int, fn: Callable[[int], Any]) -> None:
        med, p99 = rich_latencies(fn, n)
        c0 = time.process_time()
        for i in range(n):
            fn(i)
        rows.append(RichRow(what, n, med, p99, (time.process_time() - c0) / n * 1e6, note="(reference)"))

    measure("`run.log` of a 300-character text", n_text,
            lambda run: lambda i: run.log({"sample": TEXT}, step=i), "caller median ≤ 10 µs", 10)
    reference("`json.dumps` of the same dict", n_text, lambda i: json.dumps({"sample": TEXT}))
    try:
        import numpy as np
    except ImportError:
        rows.append(RichRow("`run.log` of a 256×256×3 uint8 NumPy image", 0, 0, 0, 0, "caller median ≤ 1 ms", 1000,
                            "needs NumPy"))
        rows.append(RichRow("`run.log` of a `Histogram` of 1 M float32", 0, 0, 0, 0, "≤ 20 ms", 20000,
                            "needs NumPy"))
        return rows
    from runlog import _media

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    measure("`run.log` of a 256×256×3 uint8 NumPy image", n_image,
            lambda run: lambda i: run.log({"samples": runlog.Image(img)}, step=i), "caller median ≤ 1 ms", 1000,
            f"NumPy {np.__version__}; PNG encoded in the background: in the CPU column", idle=True)
    reference("PNG of the same image in the caller (runlog's encoder)", n_image,
              lambda i: runlog.Image(img)._encode())
    vals = rng.normal(size=1_000_000).astype(np.float32)
    measure("`run.log` of a `Histogram` of 1 M float32", n_hist,
            lambda run: lambda i: run.log({"grads": runlog.Histogram(vals)}, step=i), "≤ 20 ms", 20000,
            "binned in the background: in the CPU column", idle=True)
    reference("binning alone (runlog's, in the caller)", n_hist, lambda i: _media._bin_numpy(vals, 64))
    reference("`np.histogram(values, 64)` in the caller", n_hist, lambda i: np.histogram(vals, 64))
    return rows


def serve(binary: str, home: str) -> Tuple[subprocess.Popen, str]:
    """Start `runlog ui` on home and a free loopback port; return it and its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("RUNLOG_URL", "RUNLOG_TOKEN", "RUNLOG_HOME")}
    proc = subprocess.Popen([binary, "--home", home, "ui", "--addr", f"127.0.0.1:{port}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{binary} ui did not start")
            time.sleep(0.05)


def bench_json(n: int) -> Row:
    med, p99 = latencies(json.dumps, n)
    cpu, _ = cpu_per_call(json.dumps, n)
    return Row("`json.dumps` of the same dict", n, med, p99, cpu)


def bench_timer(n: int) -> Row:
    def noop(d: Dict[str, float]) -> None:
        return None

    med, p99 = latencies(noop, n)
    cpu, _ = cpu_per_call(noop, n)
    return Row("timer and loop only (a no-op call)", n, med, p99, cpu)


def bench_tensorboardx(n: int, tmp: str) -> Row:
    try:
        from tensorboardX import SummaryWriter  # type: ignore
    except ImportError as e:
        return Row("tensorboardX `add_scalar` ×4", 0, 0, 0, 0, f"not installed ({e.name})")

    def run(label: str) -> Tuple[Any, Fn]:
        w = SummaryWriter(os.path.join(tmp, "tbx", label))
        step = [0]

        def log(d: Dict[str, float]) -> None:
            s = step[0]
            for k, v in d.items():
                w.add_scalar(k, v, s)
            step[0] = s + 1

        return w, log

    w, log = run("latency")
    med, p99 = latencies(log, n)
    w.close()
    w, log = run("cpu")
    cpu, _ = cpu_per_call(log, n, w.close)
    import tensorboardX  # type: ignore

    return Row("tensorboardX `add_scalar` ×4", n, med, p99, cpu, f"tensorboardX {tensorboardX.__version__}")


def bench_wandb(n: int, tmp: str) -> Row:
    try:
        import wandb  # type: ignore
    except ImportError as e:
        return Row("wandb offline `log`", 0, 0, 0, 0, f"not installed ({e.name})")
    import resource

    os.environ.setdefault("WANDB_SILENT", "true")
    try:
        # CPU first: teardown() stops wandb's service process (wandb-core), whose
        # CPU time then counts among this process's children.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = wandb.init(project="bench", mode="offline", dir=os.path.join(tmp, "wandb"))
        cpu, _ = cpu_per_call(run.log, n, run.finish)
        wandb.teardown()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        service = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / n * 1e6
        run = wandb.init(project="bench", mode="offline", dir=os.path.join(tmp, "wandb"))
        med, p99 = latencies(run.log, n)
        run.finish()
        wandb.teardown()
    except Exception as e:  # wandb needs its service process; say why it could not run
        return Row("wandb offline `log`", 0, 0, 0, 0, f"could not run: {type(e).__name__}: {e}".replace("\n", " ")[:200])
    note = f"wandb {wandb.__version__}; CPU includes {service:.0f} µs/call of its service process"
    return Row("wandb offline `log`", n, med, p99, cpu + service, note)


def fmt(x: float) -> str:
    return "-" if x != x else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="calls for runlog, json.dumps and the timer")
    ap.add_argument("--ref-n", type=int, default=100_000, help="calls for tensorboardX and wandb")
    ap.add_argument("--no-refs", action="store_true", help="skip tensorboardX and wandb")
    ap.add_argument("--rich-n", type=int, default=100_000,
                    help="calls for the text row; images take --rich-n/500, histograms --rich-n/2000")
    ap.add_argument("--no-rich", action="store_true", help="skip the text, image and histogram rows")
    ap.add_argument("--url", default="", help="stream the runlog runs to this server (a running `runlog ui`)")
    ap.add_argument("--serve", default="", metavar="RUNLOG",
                    help="start `RUNLOG ui` on a scratch home and stream the runlog runs to it")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="runlog-bench-")
    server = None
    try:
        url = args.url or "-"
        if args.serve:
            server, url = serve(args.serve, os.path.join(tmp, "server"))
        load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
        rows = [bench_timer(args.n), bench_json(args.n)]
        rows += bench_runlog(args.n, os.path.join(tmp, "home"), url)
        if not args.no_refs:
            rows.append(bench_tensorboardx(args.ref_n, tmp))
            rows.append(bench_wandb(args.ref_n, tmp))
        rich = [] if args.no_rich else bench_rich(args.rich_n, max(args.rich_n // 500, 10),
                                                  max(args.rich_n // 2000, 5), os.path.join(tmp, "rich"))
        load_after = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    dumps = rows[1].cpu
    mine = rows[2].cpu
    print(f"runlog {runlog.__version__} · Python {platform.python_version()} · {platform.machine()} · "
          f"{os.cpu_count()} CPUs · load average {load[0]:.2f} before, {load_after[0]:.2f} after")
    print()
    print("| what | calls | caller median µs | caller p99 µs | process CPU µs/call | CPU vs json.dumps | CPU vs runlog | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if r.calls == 0:
            print(f"| {r.what} | - | - | - | - | - | - | {r.note} |")
            continue
        print(f"| {r.what} | {r.calls:,} | {fmt(r.median)} | {fmt(r.p99)} | {fmt(r.cpu)} | "
              f"{r.cpu / dumps:.2f}× | {r.cpu / mine:.2f}× | {r.note} |")
    print()
    ok_med = rows[2].median <= 3.0
    ok_cpu = mine <= 6.0 and mine <= dumps
    if url != "-":
        print(f"streamed to {url}; the goals are for runs that do not stream")
    print(f"goals: caller median ≤ 3 µs: {'met' if ok_med else 'MISSED'} ({fmt(rows[2].median)} µs); "
          f"process CPU ≤ 6 µs and ≤ one json.dumps: {'met' if ok_cpu else 'MISSED'} "
          f"({fmt(mine)} µs vs {fmt(dumps)} µs); 4 scalars ≤ 1.5 µs median (issue 15): "
          f"{'met' if rows[2].median <= 1.5 else 'MISSED'}")
    if rich:
        print()
        print("| rich value | calls | caller median µs | caller p99 µs | process CPU µs/value | goal | |")
        print("|---|---:|---:|---:|---:|---|---|")
        for r in rich:
            if r.calls == 0:
                print(f"| {r.what} | - | - | - | - | {r.goal} | {r.note} |")
                continue
            met = (": met" if r.median <= r.limit else ": MISSED") if r.goal else ""
            print(f"| {r.what} | {r.calls:,} | {fmt(r.median)} | {fmt(r.p99)} | {fmt(r.cpu)} | {r.goal}{met} | {r.note} |")


if __name__ == "__main__":
    main()

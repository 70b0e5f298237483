"""How the process ends decides the run's status; forks and threads lose
and duplicate nothing. Each scenario runs in a child Python."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

import runlog
from conftest import read_log, run_log, run_script, start_script


def log_of(home: Path, run_id: str = "r"):
    return read_log(home / "runs" / run_id / "run.log")


def test_normal_exit_is_finished(home: Path) -> None:
    res = run_script(
        f"""
        import runlog
        runlog.init(dir={str(home)!r}, id="r")
        for i in range(10):
            runlog.log({{"loss": float(i)}})
        """
    )
    assert res.returncode == 0, res.stderr
    log = log_of(home)
    assert log.status == {"status": "finished", "time": log.status["time"], "exit_code": 0}
    assert len(log.values("loss")) == 10


def test_uncaught_exception_is_failed_with_traceback(home: Path) -> None:
    res = run_script(
        f"""
        import runlog
        runlog.init(dir={str(home)!r}, id="r")
        runlog.log({{"loss": 1.0}})
        def train():
            raise FloatingPointError("loss is NaN")
        train()
        """
    )
    assert res.returncode == 1 and "FloatingPointError: loss is NaN" in res.stderr  # the traceback is still printed
    st = log_of(home).status
    assert st["status"] == "failed" and st["exit_code"] == 1
    assert st["error"].startswith("Traceback (most recent call last)") and "in train" in st["error"]
    assert st["error"].rstrip().endswith("FloatingPointError: loss is NaN")


def _start_and_wait(code: str):
    proc = start_script(code)
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read()
    return proc


@pytest.mark.parametrize("sig,code,rc", [(signal.SIGTERM, 143, -signal.SIGTERM), (signal.SIGINT, 130, -signal.SIGINT)])
def test_signal_is_killed(home: Path, sig: int, code: int, rc: int) -> None:
    proc = _start_and_wait(
        f"""
        import time, runlog
        runlog.init(dir={str(home)!r}, id="r")
        for i in range(5):
            runlog.log({{"loss": float(i)}})
        print("ready", flush=True)
        time.sleep(30)
        """
    )
    proc.send_signal(sig)
    assert proc.wait(10) == rc  # the default behaviour of the signal still happens
    log = log_of(home)
    assert log.status["status"] == "killed" and log.status["exit_code"] == code
    assert log.values("loss") == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_signal_inside_log_still_ends_the_run(home: Path) -> None:
    """SIGTERM while the main thread is inside log()'s critical section (the
    run's lock held, the writer thread waiting for it): the run still ends
    as killed, at once, with everything logged before."""
    res = run_script(
        f"""
        import os, signal, time, runlog
        from runlog import _writer
        _writer.FLUSH_INTERVAL = 0.05
        run = runlog.init(dir={str(home)!r}, id="r")
        run.log({{"loss": 1.0}})
        run._lock.acquire()  # as if the signal came in the middle of log()
        run._buf.append(b"")  # the writer now wants the lock
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
        """,
        timeout=15,
    )
    assert res.returncode == -signal.SIGTERM, res.stderr
    log = log_of(home)
    assert log.status["status"] == "killed" and log.values("loss") == [1.0]


def test_signal_chains_to_the_programs_handler(home: Path) -> None:
    """A SIGTERM handler the program installed first still runs — and can
    still log (a last checkpoint) — before the run is marked killed."""
    proc = _start_and_wait(
        f"""
        import signal, sys, time, runlog
        def on_term(signum, frame):
            runlog.log({{"saved": 1.0}})
            print("handled", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, on_term)
        runlog.init(dir={str(home)!r}, id="r")
        runlog.log({{"loss": 1.0}})
        print("ready", flush=True)
        time.sleep(30)
        """
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 3
    assert proc.stdout.read().strip() == "handled"
    log = log_of(home)
    assert log.status["status"] == "killed" and log.status["exit_code"] == 143
    assert log.values("saved") == [1.0]


def test_interrupt_caught_by_the_program_is_not_killed(home: Path) -> None:
    """Ctrl-C caught and survived (an interrupted notebook cell, whose
    kernel has its own SIGINT handler): the run goes on and ends finished."""
    res = run_script(
        f"""
        import os, signal, time, runlog
        def kernel_handler(signum, frame):
            raise KeyboardInterrupt
        signal.signal(signal.SIGINT, kernel_handler)
        runlog.init(dir={str(home)!r}, id="r")
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            pass
        runlog.log({{"after": 1.0}})
        """
    )
    assert res.returncode == 0, res.stderr
    log = log_of(home)
    assert log.status["status"] == "finished" and log.values("after") == [1.0]


def test_kill_9_loses_nothing_flushed(home: Path) -> None:
    proc = _start_and_wait(
        f"""
        import time, runlog
        runlog.init(dir={str(home)!r}, id="r")
        for i in range(1000):
            runlog.log({{"loss": float(i), "lr": 0.1}})
        time.sleep(1.3)  # more than the 1 s write interval
        print("ready", flush=True)
        time.sleep(30)
        """
    )
    proc.kill()
    proc.wait(10)
    log = log_of(home)
    assert log.values("loss") == [float(i) for i in range(1000)] and len(log.values("lr")) == 1000
    assert log.statuses == [] and log.torn == 0  # shown as running, then crashed once stale


def test_fork_children_never_write(home: Path) -> None:
    """Children forked with records still buffered (DataLoader workers) log
    into nothing and end without touching the parent's log, whether they
    exit normally, raise or _exit; multiprocessing fork workers likewise."""
    res = run_script(
        f"""
        import multiprocessing as mp, os, signal, sys, runlog
        from runlog import _writer
        _writer.FLUSH_INTERVAL = 60  # keep records buffered across the forks
        run = runlog.init(dir={str(home)!r}, id="r")
        for i in range(10):
            run.log({{"loss": float(i)}})

        def child(how):
            for i in range(100):
                runlog.log({{"loss": -1.0, "child": 1.0}})
            run.summary["child"] = 1
            run.config["child"] = 1
            if how == "exit":
                sys.exit(0)
            if how == "raise":
                raise RuntimeError("worker failed")
            # The child dies of SIGTERM as it would without runlog.
            os._exit(0 if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL else 7)

        for how in ("exit", "raise", "_exit"):
            pid = os.fork()
            if pid == 0:
                child(how)  # never returns: SystemExit and the exception end the child the normal way
            _, status = os.waitpid(pid, 0)
            assert os.WEXITSTATUS(status) == (1 if how == "raise" else 0), (how, status)
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # the parent keeps its handler

        def work(i):
            runlog.log({{"worker": float(i)}})
            return i

        with mp.get_context("fork").Pool(2) as pool:
            assert pool.map(work, range(20)) == list(range(20))
        for i in range(10, 20):
            run.log({{"loss": float(i)}})
        run.finish()
        """
    )
    assert res.returncode == 0, res.stderr
    log = log_of(home)  # seqs consecutive, keys defined once, checksums good
    assert log.values("loss") == [float(i) for i in range(20)]
    assert set(log.points) == {"loss"} and log.summaries == [] and log.configs == []
    assert [s["status"] for s in log.statuses] == ["finished"]
    assert log.torn == 0 and log.skipped == 0


def test_threads_lose_nothing(home: Path) -> None:
    run = runlog.init(dir=str(home))
    n = 3000

    def worker(t: int) -> None:
        for j in range(n):
            if j % 2:
                run.log({f"t{t}": float(j), "shared": float(t)})
            else:
                run.log({f"t{t}": float(j)}, step=j)
            if j % 500 == 0:
                run.summary[f"s{t}"] = j

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    run.finish()
    log = run_log(run)  # asserts seqs 1, 2, 3, … in file order
    for t in range(8):
        assert sorted(log.values(f"t{t}")) == [float(j) for j in range(n)]
    assert len(log.values("shared")) == 8 * n // 2
    assert log.torn == 0 and log.skipped == 0


def test_attach_under_the_runner(home: Path, tmp_path: Path) -> None:
    """RUNLOG_RUN_ID: write run.py-<pid>-<n>.log in the runner's run folder
    instead of creating a run, with config from RUNLOG_CONFIG."""
    folder = home / "runs" / "runner01"
    main = runlog.init(dir=str(home), id="runner01", name="from-runner", project="p")
    main.finish()
    cfg = tmp_path / "config.json"
    cfg.write_text('{"lr": 0.001, "layers": 2}')
    res = run_script(
        """
        import os, runlog
        run = runlog.init(project="ignored", config={"layers": 4})
        assert run.id == "runner01" and run.name == "from-runner", (run.id, run.name)
        assert run.config.as_dict() == {"lr": 0.001, "layers": 4}
        runlog.log({"loss": 1.0})
        run2 = runlog.init()  # a second attach in the same process gets its own file
        runlog.log({"loss": 2.0})
        print(os.getpid())
        """,
        RUNLOG_HOME=str(home),
        RUNLOG_RUN_ID="runner01",
        RUNLOG_CONFIG=str(cfg),
    )
    assert res.returncode == 0, res.stderr
    pid = res.stdout.strip()
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".log") == [
        "run.log", f"run.py-{pid}-1.log", f"run.py-{pid}-2.log"]
    a = read_log(folder / f"run.py-{pid}-1.log")
    # What the script said of the run goes in the header, to fill what the runner left empty.
    assert list(a.header) == ["format", "id", "time", "host", "pid", "project", "command", "writer", "attach"]
    assert a.header["project"] == "ignored"
    assert a.header["id"] == "runner01" and a.header["attach"] is True and a.header["pid"] == int(pid)
    assert a.configs == [{"lr": 0.001, "layers": 4}] and a.values("loss") == [1.0]
    assert a.status["status"] == "finished"
    b = read_log(folder / f"run.py-{pid}-2.log")
    assert b.configs == [] and b.values("loss") == [2.0]
    assert len(list(folder.glob("config.json"))) == 1


def test_ranks(home: Path) -> None:
    """Only rank 0 logs by default; with all_ranks every rank logs its own
    run, in one group that all ranks derive alike."""
    script = f"""
        import runlog
        run = runlog.init(dir={str(home)!r}, project="p", name="ddp", config={{"lr": 1}})
        run.log({{"loss": 1.0}})
        print(run.disabled, run.name, run.group)
        """
    env = {"WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}
    r0 = run_script(script, RANK="0", LOCAL_RANK="0", **env)
    r1 = run_script(script, RANK="1", LOCAL_RANK="1", **env)
    assert r0.stdout.split() == ["False", "ddp"]  # no group
    assert r1.stdout.split() == ["True", "ddp"]
    assert len(list((home / "runs").iterdir())) == 1
    outs = [run_script(script, RANK=str(r), LOCAL_RANK=str(r), RUNLOG_ALL_RANKS="1", **env).stdout.split()
            for r in (0, 1)]
    assert [o[:2] for o in outs] == [["False", "ddp-rank0"], ["False", "ddp-rank1"]]
    assert outs[0][2] == outs[1][2] and outs[0][2].startswith("ddp-ddp-")
    other = run_script(script, RANK="0", RUNLOG_ALL_RANKS="1", **dict(env, MASTER_PORT="29501")).stdout.split()
    assert other[2] != outs[0][2]  # another launch, another group
    logs = [read_log(p / "run.log") for p in (home / "runs").iterdir()]
    ranked = [lg for lg in logs if lg.header.get("group") == outs[0][2]]
    assert sorted(lg.configs[0]["distributed"]["rank"] for lg in ranked) == [0, 1]
    assert ranked[0].configs[0]["distributed"]["world_size"] == 2 and ranked[0].configs[0]["lr"] == 1


def test_disabled_run_is_cheap(home: Path) -> None:
    run = runlog.init(dir=str(home), mode="disabled")
    t = time.perf_counter()
    for _ in range(100_000):
        run.log({"a": 1.0})
    assert time.perf_counter() - t < 0.5
    assert not (home / "runs").exists()

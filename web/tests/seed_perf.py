"""Synthetic runs for the UI's performance figures (tests/perf.mjs), written
with runlog's Python client (clients/python, standard library only).

    python3 seed_perf.py runs HOME [N]      # N runs (default 1000), a sweep of small ones
    python3 seed_perf.py series HOME [R P]  # R runs (default 20) of P points (default 100000)

The curves are made up — shaped like training losses, with noise — and so
are the configs; they are real runs of the store in every other respect.
Their wallclock times are those of this script, which logs a whole run in
a fraction of a second.
"""

import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))

import runlog  # noqa: E402


def sweep(home, n):
    rnd = random.Random(1)
    for i in range(n):
        lr = 10 ** rnd.uniform(-4, -1.5)
        cfg = {
            "lr": lr,
            "batch_size": rnd.choice([16, 32, 64, 128]),
            "model": {"d_model": rnd.choice([128, 256, 512]), "n_layers": rnd.choice([2, 4, 6, 8])},
            "warmup_steps": rnd.choice([100, 500, 1000]),
            "seed": i,
        }
        run = runlog.init(dir=home, project=f"sweep-{i % 4}", name=f"synthetic-{i:04d}", config=cfg,
                          tags=["synthetic", rnd.choice(["a", "b", "c"])], mode="offline")
        floor = 1.2 + rnd.random()
        for s in range(0, 1001, 50):
            run.log({"train_loss": floor + 3 * math.exp(-s * lr * 2) + rnd.gauss(0, 0.05), "learning_rate": lr}, step=s)
        run.log({"val_loss": floor + 3 * math.exp(-1000 * lr * 2) + 0.05}, step=1000)
        run.summary["best_val_loss"] = floor + 0.05
        run.finish(exit_code=1 if i % 97 == 5 else 0)


def curves(home, runs, points):
    for r in range(runs):
        rnd = random.Random(100 + r)
        lr = 3e-4 * (1 + r / 4)
        run = runlog.init(dir=home, project="long", name=f"long-{r:02d}", config={"lr": lr, "seed": r},
                          tags=["synthetic"], mode="offline")
        floor, tau = 0.8 + 0.05 * r, points / (3 + r / 5)
        val_every = max(1, points // 100)
        log = run.log
        gauss = rnd.gauss
        for s in range(points):
            y = floor + 3.2 * math.exp(-s / tau) + gauss(0, 0.08)
            if s % val_every == 0:
                log({"train_loss": y, "val_loss": y + 0.05, "learning_rate": lr * min(1, s / 2000) * (0.5 + 0.5 * math.cos(math.pi * s / points))}, step=s)
            else:
                log({"train_loss": y}, step=s)
        run.finish()


def main():
    what, home = sys.argv[1], sys.argv[2]
    os.environ["RUNLOG_URL"] = "-"
    if what == "runs":
        sweep(home, int(sys.argv[3]) if len(sys.argv) > 3 else 1000)
    elif what == "series":
        curves(home, int(sys.argv[3]) if len(sys.argv) > 3 else 20, int(sys.argv[4]) if len(sys.argv) > 4 else 100_000)
    else:
        sys.exit(f"seed_perf.py: {what}: want runs or series")


if __name__ == "__main__":
    main()

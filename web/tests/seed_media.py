"""Runs with rich values, logged with the Python client, for the browser
tests of the media panels (tests/media.test.mjs) and the performance script
(tests/perf.mjs).

    python3 seed_media.py HOME sweep     three runs of an lr sweep: losses, a text
                                         sample and images at every evaluation (64
                                         at the last), a histogram per 50 steps, a
                                         table with image cells, an HTML report
    python3 seed_media.py HOME hostile   one run whose key, text, table cell and
                                         HTML hold <script> and <img onerror>
    python3 seed_media.py HOME text N    N runs with a text sample every 100 steps
    python3 seed_media.py HOME many N    a run with N histogram keys (layer00 …), 3 steps
    python3 seed_media.py HOME live FILE a run that logs a sample and an image at
                                         step 0, waits for FILE to exist, logs
                                         them at step 100 and finishes

Standard library only (no NumPy): images are PNG files this script writes
and logs by path, histograms are lists of numbers. Every value is
deterministic, so the tests can check what the UI shows against it.
"""

import math
import os
import random
import struct
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
import runlog  # noqa: E402

EVERY = 200  # evaluation interval: text, images, table, HTML
LAST = 1000

# What a script would do if it ran: set a flag the tests read back.
PAYLOAD = "window.__pwned=(window.__pwned||'')+'{0};'"
HOSTILE = '<script>{0}</script><img src=x onerror="{1}">'


def hostile(where):
    return HOSTILE.format(PAYLOAD.format(where + "-script"), PAYLOAD.format(where + "-img"))


def png(w, h, seed):
    """An RGB PNG of w×h pixels: a gradient tinted by seed."""
    rnd = random.Random(seed)
    tint = [rnd.randrange(256) for _ in range(3)]
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            rows += bytes(((x * 255 // max(1, w - 1) + tint[0]) % 256, (y * 255 // max(1, h - 1) + tint[1]) % 256, tint[2]))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")


def image(tmp, w, h, seed, caption=None):
    path = os.path.join(tmp, f"{w}x{h}-{seed}.png")
    with open(path, "wb") as f:
        f.write(png(w, h, seed))
    return runlog.Image(path, caption=caption)


def val_loss(lr_i, step):
    """The val loss the sweep's run lr_i logs at step (the tests check the UI shows it)."""
    return round(3.2 * math.exp(-step * (lr_i + 1) / 900) + 1.1, 4)


def sample(name, step):
    words = ["the", "little", "model", "saw", "a", "red", "ball", "and", "smiled", "once", "upon", "a", "time"]
    rnd = random.Random(f"{name}-{step}")
    return f"[{name} @ {step}] Once upon a time, " + " ".join(rnd.choice(words) for _ in range(30)) + ".\nThe end."


def sweep(home):
    tmp = tempfile.mkdtemp()
    for i, lr in enumerate(["1e-3", "3e-3", "1e-2"]):
        name = f"lr{lr}"
        run = runlog.init(dir=home, project="media", group="lr-sweep", name=name, config={"lr": float(lr)})
        rnd = random.Random(i)
        for step in range(0, LAST + 1, 50):
            row = {"train_loss": val_loss(i, step) - 0.1}
            # Gradient norms: a spread that narrows and drifts as training goes.
            grads = [rnd.gauss(1.0 - step / 2000, 0.5 * math.exp(-step / 800) + 0.05) for _ in range(2000)]
            if step == 500:
                grads += [float("nan"), float("inf")]
            row["grad_norm/layer0"] = runlog.Histogram(grads, num_bins=48)
            if step % EVERY == 0:
                row["val_loss"] = val_loss(i, step)
                row["sample"] = sample(name, step)
                n = 64 if step == LAST else 4
                row["samples"] = [image(tmp, 32, 32, step * 100 + k + i, caption=f"sample {k}") for k in range(n)]
                table = runlog.Table(columns=["prompt", "completion", "score", "picture"])
                for k, prompt in enumerate(["Once", "A dog", "The sun"]):
                    table.add_data(prompt, sample(name, step)[:40], round(0.9 - 0.1 * k + step / 10000, 4) if k != 1 else float("nan"), image(tmp, 16, 16, k))
                table.add_data("row 10", "last", 0.05, None)
                row["predictions"] = table
                row["report"] = runlog.Html(f"<h1>Evaluation at step {step}</h1><p>val loss {val_loss(i, step)}</p>")
            run.log(row, step=step)
        runlog.finish()


def hostile_run(home):
    tmp = tempfile.mkdtemp()
    run = runlog.init(dir=home, project="media", name="hostile")
    for step in (0, 100):
        table = runlog.Table(columns=["prompt", hostile("column")])
        table.add_data(hostile("cell"), 1)
        table.add_data("plain", 2)
        run.log({
            "val_loss": 1.0,
            "sample": "story " + hostile("text"),
            hostile("key"): "the key's name is hostile",
            "predictions": table,
            "report": runlog.Html("<h1>report</h1>" + hostile("html") + "<script>try{parent.__pwned=(parent.__pwned||'')+'html-parent;'}catch(e){}</script>"),
            "samples": [image(tmp, 8, 8, 1, caption=hostile("caption"))],
        }, step=step)
    runlog.finish()


def text_runs(home, n):
    for i in range(n):
        run = runlog.init(dir=home, project="text", group="text-sweep", name=f"text-{i}", config={"seed": i})
        for step in range(0, LAST + 1, 100):
            run.log({"val_loss": val_loss(i % 3, step), "sample": sample(f"text-{i}", step) * 4}, step=step)
        runlog.finish()


def many_run(home, n):
    run = runlog.init(dir=home, project="media", name="many")
    for step in (0, 10, 20):
        run.log({f"layer{i:02d}": runlog.Histogram([j * (i + 1) + step for j in range(50)], num_bins=10) for i in range(n)}, step=step)
    runlog.finish()


def live_run(home, signal):
    import time

    tmp = tempfile.mkdtemp()
    run = runlog.init(dir=home, project="media", name="live")
    run.log({"val_loss": 2.0, "sample": "first sample", "samples": [image(tmp, 8, 8, 1)]}, step=0)
    deadline = time.time() + 120
    while not os.path.exists(signal) and time.time() < deadline:
        time.sleep(0.1)
    run.log({"val_loss": 1.5, "sample": "second sample", "samples": [image(tmp, 8, 8, 2), image(tmp, 8, 8, 3)]}, step=100)
    runlog.finish()


if __name__ == "__main__":
    home, kind = sys.argv[1], sys.argv[2]
    if kind == "sweep":
        sweep(home)
    elif kind == "hostile":
        hostile_run(home)
    elif kind == "many":
        many_run(home, int(sys.argv[3]))
    elif kind == "live":
        live_run(home, sys.argv[3])
    elif kind == "text":
        text_runs(home, int(sys.argv[3]))
    else:
        sys.exit(f"seed_media.py: unknown kind {kind!r}: sweep, hostile, text N, many N or live FILE")

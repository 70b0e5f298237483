"""log_batch load from the unmodified MLflow client, for `runlog-bench compat`.

Usage: loadgen.py TRACKING_URI CLIENTS SECONDS BATCH

Starts CLIENTS processes. Each creates a run in the default experiment,
waits for the others, then calls MlflowClient().log_batch with BATCH metrics
(10 keys, BATCH/10 steps) until SECONDS have passed. Prints one JSON line:
{"points": N, "seconds": S, "batches": B, "errors": E}.
"""

import json
import multiprocessing as mp
import sys
import time


def worker(uri, barrier, seconds, batch, out):
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    run_id = client.create_run("0").info.run_id
    keys = [f"m{k}" for k in range(10)]
    barrier.wait()
    start = time.time()
    points = batches = errors = step = 0
    while time.time() - start < seconds:
        ts = int(time.time() * 1000)
        metrics = [Metric(keys[i % 10], float(step + i), ts, step + i // 10) for i in range(batch)]
        try:
            client.log_batch(run_id, metrics=metrics)
            points += batch
            batches += 1
        except Exception as e:  # counted, and reported by the caller
            errors += 1
            print(f"log_batch: {e}", file=sys.stderr)
        step += batch // 10
    out.put((points, batches, errors, start, time.time()))


def main():
    uri, clients, seconds, batch = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    barrier = mp.Barrier(clients)
    out = mp.Queue()
    procs = [mp.Process(target=worker, args=(uri, barrier, seconds, batch, out)) for _ in range(clients)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    start = min(r[3] for r in results)
    end = max(r[4] for r in results)
    print(json.dumps({
        "points": sum(r[0] for r in results),
        "batches": sum(r[1] for r in results),
        "errors": sum(r[2] for r in results),
        "seconds": end - start,
    }))


if __name__ == "__main__":
    main()

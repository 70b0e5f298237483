"""Drives runlog's MLflow tracking API with the unmodified MLflow client.

Run by internal/mlflow/client_test.go, which starts the server and sets:
  MLFLOW_TRACKING_URI  the runlog server
  RUNLOG_HOME          its home
  RUNLOG_BIN           a runlog binary, to read back what runlog stored
  RESULT_FILE          where to write the ids of the runs made, as JSON

It logs params, metrics (with steps, NaN and infinities, a batch of 1,000, a
retried batch), tags, a note, an artifact and a nested run, finishes, then
reads everything back through the client (search_runs, get_run,
get_metric_history, artifacts) and through `runlog show --json`.
"""

import math
import os
import sys
import tempfile
import time

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from _client_common import check, finish, runlog_show

EXPERIMENT = "mlflow-client-test"


def main():
    client = MlflowClient()
    exp = mlflow.set_experiment(EXPERIMENT)
    check(exp.lifecycle_stage == "active", f"experiment stage {exp.lifecycle_stage}")
    again = mlflow.set_experiment(EXPERIMENT)
    check(again.experiment_id == exp.experiment_id, "set_experiment twice gives the same experiment")

    with mlflow.start_run(run_name="parent") as parent:
        pid = parent.info.run_id
        check(parent.info.artifact_uri.startswith("mlflow-artifacts:/"), parent.info.artifact_uri)
        mlflow.log_params({"lr": 0.001, "optimizer": "adam", "layers": 4})
        mlflow.log_param("optimizer", "adam")  # the same value again is fine
        try:
            mlflow.log_param("optimizer", "sgd")
            check(False, "changing a param must fail")
        except MlflowException as e:
            check(e.error_code == "INVALID_PARAMETER_VALUE", f"changed param: {e.error_code}")
        mlflow.set_tags({"team": "nlp", "baseline": ""})
        mlflow.set_tag("mlflow.note.content", "first try")
        for step in range(50):
            mlflow.log_metrics({"train_loss": 4.0 / (step + 1), "learning_rate": 1e-3}, step=step)
        mlflow.log_metric("val_loss", float("nan"), step=10)
        mlflow.log_metric("val_loss", 2.5, step=20)
        mlflow.log_metric("grad_norm", float("inf"), step=3)
        mlflow.log_metric("grad_norm", float("-inf"), step=4)
        now = int(time.time() * 1000)
        batch = [Metric("batch_metric", i * 0.5, now + i, i) for i in range(1000)]
        client.log_batch(pid, metrics=batch)
        retried = [Metric("retried", 1.0, now, s) for s in range(10)]
        client.log_batch(pid, metrics=retried)
        client.log_batch(pid, metrics=retried)  # as a retry after a lost response
        client.log_batch(pid, params=[Param("batch_param", "x")], tags=[RunTag("stage", "pretrain")])
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "notes.txt")
            with open(path, "w") as f:
                f.write("hello from mlflow\n")
            mlflow.log_artifact(path)
            mlflow.log_artifact(path, artifact_path="sub/dir")
        with mlflow.start_run(run_name="child", nested=True) as child:
            cid = child.info.run_id
            mlflow.log_metric("child_metric", 1.0, step=0)
        mlflow.set_tag("temporary", "yes")
        client.delete_tag(pid, "temporary")

    # Read back through the client.
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT], output_format="list")
    check({r.info.run_id for r in runs} == {pid, cid}, f"search_runs found {[r.info.run_id for r in runs]}")
    found = mlflow.search_runs(experiment_names=[EXPERIMENT], filter_string="params.optimizer = 'adam'", output_format="list")
    check([r.info.run_id for r in found] == [pid], "filter on a param")
    found = mlflow.search_runs(experiment_names=[EXPERIMENT], filter_string="metrics.train_loss < 0.1 AND tags.team = 'nlp'", output_format="list")
    check([r.info.run_id for r in found] == [pid], "filter on a metric and a tag")
    found = mlflow.search_runs(experiment_names=[EXPERIMENT], filter_string="attributes.run_name LIKE 'ch%'", output_format="list")
    check([r.info.run_id for r in found] == [cid], "filter on the run name")
    ordered = mlflow.search_runs(experiment_names=[EXPERIMENT], order_by=["attributes.run_name ASC"], output_format="list")
    check([r.info.run_name for r in ordered] == ["child", "parent"], "order_by run name")
    paged = client.search_runs([exp.experiment_id], max_results=1)
    check(len(paged) == 1 and paged.token, "a page of one run has a next page token")
    rest = client.search_runs([exp.experiment_id], max_results=1, page_token=paged.token)
    check(len(rest) == 1 and rest[0].info.run_id != paged[0].info.run_id, "the next page")

    run = client.get_run(pid)
    check(run.info.status == "FINISHED", f"status {run.info.status}")
    check(run.info.run_name == "parent", run.info.run_name)
    check(run.data.params == {"lr": "0.001", "optimizer": "adam", "layers": "4", "batch_param": "x"}, f"params {run.data.params}")
    check(run.data.metrics["train_loss"] == 4.0 / 50, f"latest train_loss {run.data.metrics['train_loss']}")
    check(run.data.metrics["val_loss"] == 2.5, "latest val_loss")
    check(run.data.metrics["grad_norm"] == float("-inf"), "-Infinity round trip")
    tags = run.data.tags
    for k, v in {"team": "nlp", "baseline": "", "stage": "pretrain", "mlflow.runName": "parent",
                 "mlflow.note.content": "first try"}.items():
        check(tags.get(k) == v, f"tag {k}={tags.get(k)!r}, want {v!r}")
    check("temporary" not in tags, "deleted tag")
    check("mlflow.source.name" in tags and "mlflow.user" in tags, f"system tags {sorted(tags)}")
    child_run = client.get_run(cid)
    check(child_run.data.tags.get("mlflow.parentRunId") == pid, "nested run's parent")

    hist = client.get_metric_history(pid, "batch_metric")
    check(len(hist) == 1000, f"history of batch_metric has {len(hist)} points")
    check([m.step for m in hist] == list(range(1000)), "steps of batch_metric")
    check(all(m.value == m.step * 0.5 and m.timestamp == now + m.step for m in hist), "values and timestamps")
    vals = [m.value for m in client.get_metric_history(pid, "val_loss")]
    check(len(vals) == 2 and math.isnan(vals[0]) and vals[1] == 2.5, f"val_loss history {vals}")
    check(len(client.get_metric_history(pid, "retried")) == 10, "a retried batch is stored once")
    check(len(client.get_metric_history(pid, "train_loss")) == 50, "train_loss history")

    arts = client.list_artifacts(pid)
    check(sorted(a.path for a in arts) == ["notes.txt", "sub"], f"artifacts {[a.path for a in arts]}")
    check([a.path for a in client.list_artifacts(pid, "sub/dir")] == ["sub/dir/notes.txt"], "nested artifacts")
    with tempfile.TemporaryDirectory() as d:
        local = client.download_artifacts(pid, "notes.txt", d)
        with open(local) as f:
            check(f.read() == "hello from mlflow\n", "downloaded artifact")

    # Read back through runlog.
    s = runlog_show(pid)
    check(s["name"] == "parent" and s["project"] == EXPERIMENT, f"runlog name/project {s['name']}/{s['project']}")
    check(s["status"] == "finished", f"runlog status {s['status']}")
    check(s["config"] == {"lr": "0.001", "optimizer": "adam", "layers": "4", "batch_param": "x"}, f"runlog config {s['config']}")
    check(s["metrics"]["batch_metric"]["count"] == 1000, "runlog batch_metric count")
    check(s["metrics"]["train_loss"]["count"] == 50 and s["metrics"]["train_loss"]["final_step"] == 49, "runlog train_loss")
    check(s["metrics"]["val_loss"]["nan_count"] == 1, "runlog keeps NaN")
    check(s["metrics"]["grad_norm"]["inf_count"] == 2, "runlog keeps infinities")
    check(s["metrics"]["retried"]["count"] == 10, "runlog stored the retried batch once")
    check("team=nlp" in s["tags"] and "baseline" in s["tags"] and "stage=pretrain" in s["tags"], f"runlog tags {s['tags']}")
    check(s["notes"] == "first try", f"runlog notes {s.get('notes')}")
    paths = sorted(a["path"] for a in s["artifacts"])
    check(paths == ["artifacts/notes.txt", "artifacts/sub/dir/notes.txt"], f"runlog artifacts {paths}")
    c = runlog_show(cid)
    check(c["name"] == "child" and c["metrics"]["child_metric"]["count"] == 1, "runlog child run")

    finish({"experiment_id": exp.experiment_id, "parent": pid, "child": cid}, "mlflow client test: ")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)

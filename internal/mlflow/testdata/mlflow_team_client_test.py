"""Drives the MLflow API of a runlog team server with the unmodified client.

Run by internal/mlflow/team_client_test.go, which starts two replicas of a
team server on one PostgreSQL database and one S3 bucket, nginx in front
of them (round robin: consecutive calls go to either replica), and sets:
  MLFLOW_TRACKING_URI  nginx
  SECOND_URI           the second replica, alone
  RESULT_FILE          where to write the run's id and the artifact's sha256

It logs params, metrics, a batch, tags, an artifact and a text through
nginx, then reads all of it back through the second replica alone: the
run, its metric history, a search, the artifact listing, and the artifact
itself, whose sha256 must be the uploaded file's.
"""

import os
import tempfile
import time

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from _client_common import check, finish, sha256


def main():
    mlflow.set_experiment("team-client-test")
    src = tempfile.mkdtemp()
    ckpt = os.path.join(src, "model.ckpt")
    with open(ckpt, "wb") as f:
        f.write(os.urandom(3 << 20))
    want = sha256(ckpt)

    with mlflow.start_run(run_name="team") as run:
        rid = run.info.run_id
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"batch_size": 32, "optimizer": "adam"})
        mlflow.set_tag("team", "vision")
        for step in range(50):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=49)
        now = int(time.time() * 1000)
        MlflowClient().log_batch(
            rid,
            metrics=[Metric("batch_metric", float(i), now, i) for i in range(200)],
            params=[Param("layers", "12")],
            tags=[RunTag("stage", "pretrain")],
        )
        mlflow.log_artifact(ckpt, artifact_path="checkpoints")
        mlflow.log_text("hello from a team server", "notes/hello.txt")

    second = MlflowClient(tracking_uri=os.environ["SECOND_URI"])
    got = second.get_run(rid)
    check(got.info.status == "FINISHED", f"status {got.info.status}")
    check(got.info.run_name == "team", f"run name {got.info.run_name}")
    check(got.data.params == {"lr": "0.01", "batch_size": "32", "optimizer": "adam", "layers": "12"}, f"params {got.data.params}")
    check(got.data.tags.get("team") == "vision" and got.data.tags.get("stage") == "pretrain", f"tags {got.data.tags}")
    check(got.data.metrics.get("loss") == 1.0 / 50 and got.data.metrics.get("acc") == 0.9, f"metrics {got.data.metrics}")

    history = second.get_metric_history(rid, "loss")
    check(len(history) == 50, f"{len(history)} points of loss")
    check(sorted(m.step for m in history) == list(range(50)), "steps of loss")
    check(len(second.get_metric_history(rid, "batch_metric")) == 200, "batch_metric")

    exp = second.get_experiment_by_name("team-client-test")
    check(exp is not None and exp.experiment_id == got.info.experiment_id, f"experiment {exp}")
    found = second.search_runs([exp.experiment_id], filter_string="params.lr = '0.01' and metrics.acc > 0.5")
    check([r.info.run_id for r in found] == [rid], f"search found {[r.info.run_id for r in found]}")

    top = sorted((f.path, f.is_dir) for f in second.list_artifacts(rid))
    check(top == [("checkpoints", True), ("notes", True)], f"artifacts {top}")
    listed = second.list_artifacts(rid, "checkpoints")
    check([(f.path, f.file_size) for f in listed] == [("checkpoints/model.ckpt", 3 << 20)], f"checkpoints {listed}")
    dst = tempfile.mkdtemp()
    path = second.download_artifacts(rid, "checkpoints/model.ckpt", dst)
    check(sha256(path) == want, "sha256 of the downloaded checkpoint")
    text = mlflow.artifacts.load_text(f"runs:/{rid}/notes/hello.txt")
    check(text == "hello from a team server", f"text {text!r}")

    finish({"run": rid, "sha256": want}, "team: ")


if __name__ == "__main__":
    main()

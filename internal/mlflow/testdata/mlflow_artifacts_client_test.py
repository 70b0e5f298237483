"""Drives runlog's MLflow artifacts API with the unmodified MLflow client.

Run by internal/mlflow/artifacts_client_test.go, which starts `runlog ui`'s
server (its body limit included) and sets:
  MLFLOW_TRACKING_URI  the runlog server
  RUNLOG_HOME          its home
  RUNLOG_BIN           a runlog binary, to read back what runlog stored
  RESULT_FILE          where to write the run id and the checkpoint's sha256

It logs a 40 MiB checkpoint (over the server's 32 MiB limit on other
bodies), once plainly and once with the client's proxy multipart upload
turned on (the server says it has none, and the client falls back to one
PUT), downloads it back and compares sha256s, downloads the whole artifact
root with download_artifacts(run_id, artifact_path="."), and checks that
an HTML artifact downloads as it was uploaded.
"""

import json
import os
import tempfile

import mlflow
from mlflow.tracking import MlflowClient

from _client_common import check, finish, runlog_show, sha256


def main():
    client = MlflowClient()
    mlflow.set_experiment("mlflow-artifacts-client-test")
    src = tempfile.mkdtemp()
    ckpt = os.path.join(src, "model.ckpt")
    with open(ckpt, "wb") as f:
        f.write(os.urandom(40 << 20))
    want = sha256(ckpt)
    page = os.path.join(src, "report.html")
    with open(page, "w") as f:
        f.write("<script>fetch('/api/2.0/mlflow/runs/search')</script>")

    with mlflow.start_run(run_name="artifacts") as run:
        rid = run.info.run_id
        mlflow.log_artifact(ckpt, artifact_path="checkpoints")
        mlflow.log_artifact(page)
        # With proxy multipart upload on, the client asks mpu/create, hears
        # that the server has none, and falls back to one PUT.
        os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"] = "true"
        os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"] = str(1 << 20)
        try:
            mlflow.log_artifact(ckpt, artifact_path="multipart")
        finally:
            del os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"]
            del os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"]

    top = sorted((f.path, f.is_dir) for f in client.list_artifacts(rid))
    check(top == [("checkpoints", True), ("multipart", True), ("report.html", False)], f"list_artifacts {top}")
    sub = [(f.path, f.file_size) for f in client.list_artifacts(rid, "checkpoints")]
    check(sub == [("checkpoints/model.ckpt", 40 << 20)], f"list_artifacts checkpoints {sub}")

    dst = tempfile.mkdtemp()
    got = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="checkpoints/model.ckpt", dst_path=dst)
    check(sha256(got) == want, "the checkpoint downloaded is the one uploaded")

    everything = mlflow.artifacts.download_artifacts(run_id=rid, artifact_path=".", dst_path=tempfile.mkdtemp())
    files = sorted(
        os.path.relpath(os.path.join(d, n), everything) for d, _, names in os.walk(everything) for n in names
    )
    check(files == ["checkpoints/model.ckpt", "multipart/model.ckpt", "report.html"], f"download of '.': {files}")
    check(sha256(os.path.join(everything, "multipart", "model.ckpt")) == want, "the multipart fallback upload is whole")
    with open(os.path.join(everything, "report.html")) as f:
        check("<script>" in f.read(), "the HTML artifact downloads as uploaded")

    shown = runlog_show(rid)
    check(want in json.dumps(shown), "runlog show lists the checkpoint's sha256")

    finish({"run": rid, "sha256": want})


if __name__ == "__main__":
    main()

"""Logs images, texts, tables and dicts with the unmodified MLflow client
and checks that runlog keeps each as the artifact MLflow stores and as
runlog's rich value.

Run by internal/mlflow/media_client_test.go, which starts `runlog ui`'s
server and sets MLFLOW_TRACKING_URI, RUNLOG_HOME, RUNLOG_BIN and
RESULT_FILE. Needs numpy, pandas and pillow (requirements.txt).
"""

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient
from PIL import Image

from _client_common import check, finish, runlog_show


def main():
    client = MlflowClient()
    mlflow.set_experiment("mlflow-media-client-test")
    with mlflow.start_run(run_name="media") as run:
        rid = run.info.run_id
        for step in (0, 100):
            mlflow.log_metric("loss", 3 - step / 100, step=step)
            img = np.zeros((6, 8, 3), np.uint8)
            img[:, : 2 + step // 50] = 255
            # log_image with key and step (MLflow 2.12+): the key and step
            # are in the file's name.
            mlflow.log_image(img, key="val/samples", step=step)
        mlflow.log_image(Image.new("RGB", (5, 4), (0, 200, 0)), artifact_file="plots/green.png")
        mlflow.log_text("Once upon a time <script>alert(1)</script>", "samples/story.txt")
        mlflow.log_dict({"lr": 0.001, "layers": [64, 64]}, "config/extra.json")
        mlflow.log_dict({"lr": 0.001}, "config/extra.yaml")
        mlflow.log_table(
            {"prompt": ["Once", "<b>bold</b>"], "score": [0.5, float("nan")],
             "picture": [Image.new("RGB", (3, 3)), Image.new("RGB", (3, 3), (9, 9, 9))]},
            artifact_file="preds.json",
        )

    # MLflow's own view: every file is an artifact, as MLflow stores it.
    top = sorted(f.path for f in client.list_artifacts(rid))
    check(top == ["config", "images", "plots", "preds.json", "samples", "table_images"], f"list_artifacts {top}")
    images = [f.path for f in client.list_artifacts(rid, "images")]
    check(len(images) == 4 and sum(p.endswith("+compressed.webp") for p in images) == 2, f"images/ {images}")
    text = mlflow.artifacts.load_text(f"runs:/{rid}/samples/story.txt")
    check(text == "Once upon a time <script>alert(1)</script>", f"load_text {text!r}")
    check(mlflow.artifacts.load_dict(f"runs:/{rid}/config/extra.json") == {"lr": 0.001, "layers": [64, 64]}, "load_dict")
    table = client.load_table(mlflow.get_experiment_by_name("mlflow-media-client-test").experiment_id,
                              artifact_file="preds.json", run_ids=[rid])
    check(list(table["prompt"]) == ["Once", "<b>bold</b>"], f"load_table {table}")

    # runlog's view: the rich values.
    media = {(m["key"], m["kind"]): m for m in runlog_show(rid)["media"]}
    check(("val/samples", "image") in media and media[("val/samples", "image")]["count"] == 2, f"media {sorted(media)}")
    check(media[("val/samples", "image")]["last_step"] == 100, f"val/samples {media[('val/samples', 'image')]}")
    check(("plots/green", "image") in media, f"media {sorted(media)}")
    check(media.get(("samples/story", "text"), {}).get("last_text") == "Once upon a time <script>alert(1)</script>", f"story {media}")
    check(("config/extra", "text") in media, f"log_dict: {sorted(media)}")
    check(("preds", "table") in media, f"log_table: {sorted(media)}")
    check(not any(k.startswith("table_images") or k.endswith("compressed") for k, _ in media), f"thumbnails and table cells: {sorted(media)}")
    finish({"run": rid})


if __name__ == "__main__":
    main()

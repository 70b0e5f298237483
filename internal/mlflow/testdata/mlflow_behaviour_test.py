"""Checks that runlog's MLflow API behaves as MLflow's server does, with the
unmodified MLflow client (issue 12).

Run by internal/mlflow/behaviour_client_test.go, which starts the server and
sets MLFLOW_TRACKING_URI, RUNLOG_HOME, RUNLOG_BIN and RESULT_FILE (where the
ids of the runs made go, as JSON).

It covers: a parent run id that does not exist, the history of a key never
logged, search_experiments' default order, MLflow's wording for refused
values, negative steps, get_metric_history_bulk_interval, a custom
artifact_location, a logged model (mlflow.pyfunc.log_model of a tiny
python_model) and a dataset input (mlflow.data.from_numpy).
"""

import os
import tempfile

import requests

import mlflow
import mlflow.pyfunc
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from _client_common import check, finish, runlog_show


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input + self.n


def main():
    client = MlflowClient()
    uri = os.environ["MLFLOW_TRACKING_URI"]
    result = {}

    # search_experiments: newest first, then by id; the default experiment,
    # made first, is last.
    ids = [client.create_experiment(f"order-{i}") for i in range(3)]
    client.delete_experiment(ids[1])
    listed = [e.experiment_id for e in client.search_experiments()]
    check(listed[:2] == [ids[2], ids[0]], f"search_experiments order {listed}, want {ids[2]}, {ids[0]} first")
    check(listed[-1] == "0", f"the default experiment is last: {listed}")

    # A custom artifact_location is refused, not silently changed.
    try:
        client.create_experiment("elsewhere", artifact_location="/tmp/somewhere")
        check(False, "a custom artifact_location must be refused")
    except MlflowException as e:
        check(e.error_code == "INVALID_PARAMETER_VALUE", f"artifact_location: {e.error_code}")
        check("artifact_location" in e.message, e.message)

    exp = mlflow.set_experiment("behaviour")
    # A parent that does not exist is stored as given.
    missing_parent = "0123456789abcdef0123456789abcdef"
    orphan = client.create_run(exp.experiment_id, tags={"mlflow.parentRunId": missing_parent})
    got = client.get_run(orphan.info.run_id)
    check(got.data.tags.get("mlflow.parentRunId") == missing_parent, f"parent tag {got.data.tags}")
    client.set_terminated(orphan.info.run_id)

    with mlflow.start_run(run_name="behaviour") as run:
        rid = run.info.run_id
        result["run"] = rid
        # A key never logged has an empty history.
        check(client.get_metric_history(rid, "never_logged") == [], "history of an unlogged key")

        # Negative steps are kept.
        mlflow.log_metric("loss", 9.0, step=-1)
        for step in range(200):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        hist = client.get_metric_history(rid, "loss")
        check([m.step for m in hist][:3] == [-1, 0, 1], f"steps {[m.step for m in hist][:3]}")
        check(hist[0].value == 9.0, "the value at step -1")

        # Bulk interval: sampled, first and last kept, in a step range.
        sampled = client.get_metric_history_bulk_interval([rid], "loss", max_results=10) \
            if hasattr(client, "get_metric_history_bulk_interval") else None
        resp = requests.get(f"{uri}/api/2.0/mlflow/metrics/get-history-bulk-interval",
                            params={"run_ids": [rid], "metric_key": "loss", "max_results": 10}, timeout=30)
        check(resp.status_code == 200, f"bulk interval: {resp.status_code} {resp.text}")
        steps = [m["step"] for m in resp.json()["metrics"]]
        check(len(steps) == 10 and steps[0] == -1 and steps[-1] == 199, f"bulk interval steps {steps}")
        check(all(m["run_id"] == rid for m in resp.json()["metrics"]), "bulk interval run ids")
        if sampled is not None:
            check([m.step for m in sampled] == steps, "the client's bulk interval")
        resp = requests.get(f"{uri}/api/2.0/mlflow/metrics/get-history-bulk-interval",
                            params={"run_ids": [rid], "metric_key": "loss", "start_step": 10, "end_step": 19,
                                    "max_results": 100}, timeout=30)
        check([m["step"] for m in resp.json()["metrics"]] == list(range(10, 20)), resp.text)

        # MLflow's wording for refused values.
        resp = requests.post(f"{uri}/api/2.0/mlflow/runs/set-tag", json={"run_id": 31, "key": "k", "value": "v"},
                             timeout=30)
        msg = resp.json()["message"]
        check(resp.status_code == 400 and "Invalid value 31 for parameter 'run_id' supplied" in msg, msg)
        check("Go" not in msg and "runIDRequest" not in msg, msg)
        resp = requests.post(f"{uri}/api/2.0/mlflow/runs/set-tag", json={"run_id": rid, "value": "v"}, timeout=30)
        msg = resp.json()["message"]
        check("Missing value for required parameter 'key'" in msg, msg)

        # A dataset input.
        import numpy as np

        features = np.arange(12, dtype=np.float64).reshape(4, 3)
        dataset = mlflow.data.from_numpy(features, source="data/train.npy", name="train")
        mlflow.log_input(dataset, context="training")
        inputs = client.get_run(rid).inputs.dataset_inputs
        check(len(inputs) == 1 and inputs[0].dataset.name == "train", f"dataset inputs {inputs}")
        check(inputs[0].dataset.digest == dataset.digest, "dataset digest")
        check({t.key: t.value for t in inputs[0].tags}.get("mlflow.data.context") == "training", "dataset context")

        # A logged model: mlflow.pyfunc.log_model of a tiny python_model.
        info = mlflow.pyfunc.log_model(name="adder", python_model=AddN(2), pip_requirements=[])
        result["model"] = info.model_id
        model = client.get_logged_model(info.model_id)
        check(model.source_run_id == rid and model.name == "adder", f"logged model {model}")
        check(str(model.status) == "READY", f"model status {model.status}")
        found = client.search_logged_models(experiment_ids=[exp.experiment_id])
        check([m.model_id for m in found] == [info.model_id], f"search_logged_models {found}")
        loaded = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
        check(list(loaded.predict(np.array([1.0, 2.0]))) == [3.0, 4.0], "the loaded model predicts")

    shown = runlog_show(rid)
    kinds = {a["path"]: a["kind"] for a in shown["artifacts"]}
    check(kinds.get(f"artifacts/models/{info.model_id}") == "model", f"runlog show artifacts {kinds}")
    datasets = (shown.get("summary") or {}).get("datasets") or {}
    check(datasets.get("train", {}).get("digest") == dataset.digest, f"runlog show datasets {datasets}")
    check(datasets["train"].get("tags", {}).get("context") == "training", f"dataset context {datasets}")
    finish(result)


if __name__ == "__main__":
    main()

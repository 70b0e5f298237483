-- 6: what the MLflow API keeps on a team server beside the runs
-- (docs/mlflow-and-tensorboard.md): the experiment registry
-- ("experiments") and one document per logged model ("models/<id>"), JSON
-- as a home keeps them in <home>/mlflow/. A change reads and rewrites a
-- document with its row locked (UpdateMLflowDocument). An empty body is a
-- row made only to be locked: no document.
CREATE TABLE mlflow_documents (
	name    text COLLATE "C" PRIMARY KEY,
	body    bytea NOT NULL,
	updated timestamptz NOT NULL DEFAULT now()
);

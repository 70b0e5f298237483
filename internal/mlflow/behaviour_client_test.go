package mlflow

import (
	"context"
	"os"
	"testing"
)

// TestRealClientBehaviour drives the handler with the unmodified MLflow
// client through testdata/mlflow_behaviour_test.py: where runlog behaves
// as MLflow's server does (issue 12), logged models and dataset inputs. It
// runs with the Python in RUNLOG_MLFLOW_PYTHON (the pinned client of
// testdata/requirements.txt) and again with the one in
// RUNLOG_MLFLOW_PYTHON_LATEST (the newest client, testdata/
// requirements-latest.txt) when that is set.
func TestRealClientBehaviour(t *testing.T) {
	pythons := map[string]string{"pinned": os.Getenv("RUNLOG_MLFLOW_PYTHON"), "latest": os.Getenv("RUNLOG_MLFLOW_PYTHON_LATEST")}
	if pythons["pinned"] == "" && pythons["latest"] == "" {
		t.Skip(noClientPython)
	}
	bin := buildRunlog(t)
	for _, name := range []string{"pinned", "latest"} {
		python := pythons[name]
		if python == "" {
			continue
		}
		t.Run(name, func(t *testing.T) { runBehaviourScript(t, python, bin) })
	}
}

func runBehaviourScript(t *testing.T, python, bin string) {
	st, home, url := serveHandler(t)
	var ids struct{ Run, Model string }
	runClientScript(t, python, "mlflow_behaviour_test.py", url, home, bin, &ids)
	arts, err := st.Artifacts(context.Background(), ids.Run)
	if err != nil {
		t.Fatal(err)
	}
	var model bool
	for _, a := range arts {
		if a.Kind == "model" && a.Path == modelFolder(ids.Model) && a.Size > 0 {
			model = true
		}
	}
	if !model {
		t.Errorf("no artifact of kind model for %s among %+v", ids.Model, arts)
	}
}

package mlflow

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/store/sqlite"
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
		t.Skip("RUNLOG_MLFLOW_PYTHON is not set: to run the real MLflow client, " +
			"pip install -r internal/mlflow/testdata/requirements.txt into a virtualenv and set RUNLOG_MLFLOW_PYTHON to its python")
	}
	bin := filepath.Join(t.TempDir(), "runlog")
	build := exec.Command("go", "build", "-o", bin, "github.com/runlog/runlog/cmd/runlog")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build runlog: %v\n%s", err, out)
	}
	for _, name := range []string{"pinned", "latest"} {
		python := pythons[name]
		if python == "" {
			continue
		}
		t.Run(name, func(t *testing.T) { runBehaviourScript(t, python, bin) })
	}
}

func runBehaviourScript(t *testing.T, python, bin string) {
	home := t.TempDir()
	st, err := sqlite.Open(filepath.Join(home, "runlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := NewHandler(st, home, Options{Warn: func(err error) { t.Log(err) }})
	mux := http.NewServeMux()
	mux.Handle(TrackingPrefix, h)
	mux.Handle(ArtifactsPrefix, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	result := filepath.Join(t.TempDir(), "result.json")
	script, err := filepath.Abs(filepath.Join("testdata", "mlflow_behaviour_test.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script)
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+srv.URL, "RUNLOG_HOME="+home, "RUNLOG_BIN="+bin,
		"RESULT_FILE="+result, "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0", "GIT_PYTHON_REFRESH=quiet")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the MLflow client script failed: %v", err)
	}
	raw, err := os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	var ids struct{ Run, Model string }
	if err := json.Unmarshal(raw, &ids); err != nil {
		t.Fatal(err)
	}
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

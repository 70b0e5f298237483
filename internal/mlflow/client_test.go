package mlflow

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// TestRealClient drives the handler with the unmodified MLflow client:
// testdata/mlflow_client_test.py logs through it, reads back through the
// client and through `runlog show --json`, and this test then checks the
// store. It needs the Python of a virtualenv with
// testdata/requirements.txt installed, in RUNLOG_MLFLOW_PYTHON.
func TestRealClient(t *testing.T) {
	python := os.Getenv("RUNLOG_MLFLOW_PYTHON")
	if python == "" {
		t.Skip("RUNLOG_MLFLOW_PYTHON is not set: to run the real MLflow client, " +
			"pip install -r internal/mlflow/testdata/requirements.txt into a virtualenv and set RUNLOG_MLFLOW_PYTHON to its python")
	}
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

	bin := filepath.Join(t.TempDir(), "runlog")
	build := exec.Command("go", "build", "-o", bin, "github.com/runlog/runlog/cmd/runlog")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build runlog: %v\n%s", err, out)
	}
	result := filepath.Join(t.TempDir(), "result.json")
	script, err := filepath.Abs(filepath.Join("testdata", "mlflow_client_test.py"))
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
	var ids struct{ Parent, Child string }
	if err := json.Unmarshal(raw, &ids); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	parent, err := st.Run(ctx, ids.Parent)
	if err != nil {
		t.Fatal(err)
	}
	child, err := st.Run(ctx, ids.Child)
	if err != nil {
		t.Fatal(err)
	}
	if child.Parent != parent.ID || child.Name != "child" || child.Project != "mlflow-client-test" {
		t.Errorf("child run: parent %q name %q project %q; want parent %s, child, mlflow-client-test", child.Parent, child.Name, child.Project, parent.ID)
	}
	if parent.Status != "finished" || !slices.Contains(parent.Tags, "team=nlp") {
		t.Errorf("parent run: status %q tags %v", parent.Status, parent.Tags)
	}
	pts, err := st.Points(ctx, parent.ID, "batch_metric", store.PointsOptions{})
	if err != nil || pts.Len() != 1000 {
		t.Errorf("batch_metric: %d points, %v; want 1000", pts.Len(), err)
	}
	if _, err := os.Stat(filepath.Join(parent.Path, "artifacts", "notes.txt")); err != nil {
		t.Errorf("artifact: %v", err)
	}
}

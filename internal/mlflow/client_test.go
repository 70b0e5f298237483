package mlflow

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/store"
)

// TestRealClient drives the handler with the unmodified MLflow client:
// testdata/mlflow_client_test.py logs through it, reads back through the
// client and through `runlog show --json`, and this test then checks the
// store. It needs the Python of a virtualenv with
// testdata/requirements.txt installed, in RUNLOG_MLFLOW_PYTHON.
func TestRealClient(t *testing.T) {
	python := clientPython(t)
	st, home, url := serveHandler(t)
	var ids struct{ Parent, Child string }
	runClientScript(t, python, "mlflow_client_test.py", url, home, buildRunlog(t), &ids)

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

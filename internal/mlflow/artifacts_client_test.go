package mlflow

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRealClientArtifacts drives the artifacts API with the unmodified
// MLflow client, behind the server `runlog ui` runs (its 32 MiB body limit
// included): testdata/mlflow_artifacts_client_test.py uploads a 40 MiB
// checkpoint, also through the client's multipart path, downloads it and
// the whole artifact root back and compares sha256s. It needs the Python
// of a virtualenv with testdata/requirements.txt installed, in
// RUNLOG_MLFLOW_PYTHON.
func TestRealClientArtifacts(t *testing.T) {
	python := clientPython(t)
	var mpuCreates atomic.Int64
	st, home, url := serveRunlog(t, "", func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, ArtifactsPrefix+"mpu/create/") {
				mpuCreates.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	var res struct{ Run, SHA256 string }
	runClientScript(t, python, "mlflow_artifacts_client_test.py", url, home, buildRunlog(t), &res)
	if mpuCreates.Load() != 1 {
		t.Errorf("the client asked mpu/create %d times; want once, for the upload with multipart on", mpuCreates.Load())
	}
	arts, err := st.Artifacts(t.Context(), res.Run)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, a := range arts {
		if a.SHA256 == res.SHA256 && a.Size == 40<<20 {
			found[a.Path] = true
		}
	}
	if !found["artifacts/checkpoints/model.ckpt"] || !found["artifacts/multipart/model.ckpt"] {
		t.Errorf("artifact records %+v: want both checkpoints with sha256 %s", arts, res.SHA256)
	}
}

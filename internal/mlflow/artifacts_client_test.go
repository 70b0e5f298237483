package mlflow

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	runlogserver "github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store"
)

// TestRealClientArtifacts drives the artifacts API with the unmodified
// MLflow client, behind the server `runlog ui` runs (its 32 MiB body limit
// included): testdata/mlflow_artifacts_client_test.py uploads a 40 MiB
// checkpoint, also through the client's multipart path, downloads it and
// the whole artifact root back and compares sha256s. It needs the Python
// of a virtualenv with testdata/requirements.txt installed, in
// RUNLOG_MLFLOW_PYTHON.
func TestRealClientArtifacts(t *testing.T) {
	python := os.Getenv("RUNLOG_MLFLOW_PYTHON")
	if python == "" {
		t.Skip("RUNLOG_MLFLOW_PYTHON is not set: to run the real MLflow client, " +
			"pip install -r internal/mlflow/testdata/requirements.txt into a virtualenv and set RUNLOG_MLFLOW_PYTHON to its python")
	}
	home := t.TempDir()
	var st store.Store
	srv, err := runlogserver.New(runlogserver.Options{
		Home: home, Addr: "127.0.0.1:0", Logf: t.Logf,
		Mounts: func(s store.Store) map[string]http.Handler {
			st = s
			h := NewHandler(s, home, Options{Warn: func(err error) { t.Log(err) }})
			return map[string]http.Handler{TrackingPrefix: h, ArtifactsPrefix: h}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var mpuCreates atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ArtifactsPrefix+"mpu/create/") {
			mpuCreates.Add(1)
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()

	bin := filepath.Join(t.TempDir(), "runlog")
	build := exec.Command("go", "build", "-o", bin, "github.com/runlog/runlog/cmd/runlog")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build runlog: %v\n%s", err, out)
	}
	result := filepath.Join(t.TempDir(), "result.json")
	script, err := filepath.Abs(filepath.Join("testdata", "mlflow_artifacts_client_test.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script)
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+ts.URL, "RUNLOG_HOME="+home, "RUNLOG_BIN="+bin,
		"RESULT_FILE="+result, "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0", "GIT_PYTHON_REFRESH=quiet")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the MLflow client script failed: %v", err)
	}
	if mpuCreates.Load() != 1 {
		t.Errorf("the client asked mpu/create %d times; want once, for the upload with multipart on", mpuCreates.Load())
	}
	raw, err := os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Run, SHA256 string }
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
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

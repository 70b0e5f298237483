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

	"github.com/runlog/runlog/internal/ingest"
	runlogserver "github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

func decodeRunID(t testing.TB, body []byte) string {
	t.Helper()
	var out struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Run.Info.RunID == "" {
		t.Fatalf("runs/create answered %s (%v)", body, err)
	}
	return out.Run.Info.RunID
}

func ingestHome(st store.Store, home string) (ingest.Result, error) {
	return ingest.Home(context.Background(), st, home, ingest.Options{})
}

// noClientPython is why a real-client test skips.
const noClientPython = "RUNLOG_MLFLOW_PYTHON is not set: to run the real MLflow client, " +
	"pip install -r internal/mlflow/testdata/requirements.txt into a virtualenv and set RUNLOG_MLFLOW_PYTHON to its python"

// clientPython returns the Python of the pinned MLflow client, in
// RUNLOG_MLFLOW_PYTHON, and skips t when it is not set.
func clientPython(t *testing.T) string {
	t.Helper()
	python := os.Getenv("RUNLOG_MLFLOW_PYTHON")
	if python == "" {
		t.Skip(noClientPython)
	}
	return python
}

// serveHandler serves a Handler, alone, over the store of a new home, until
// t ends.
func serveHandler(t *testing.T) (st *sqlite.DB, home, url string) {
	t.Helper()
	home = t.TempDir()
	st, err := sqlite.Open(filepath.Join(home, "runlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := NewHandler(st, home, Options{Warn: func(err error) { t.Log(err) }})
	mux := http.NewServeMux()
	mux.Handle(TrackingPrefix, h)
	mux.Handle(ArtifactsPrefix, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return st, home, srv.URL
}

// serveRunlog serves a Handler mounted in the server `runlog ui` runs (its
// token and body limits included) over a new home, until t ends. wrap, if
// not nil, sees every request first.
func serveRunlog(t testing.TB, token string, wrap func(http.Handler) http.Handler) (st store.Store, home, url string) {
	t.Helper()
	home = t.TempDir()
	srv, err := runlogserver.New(runlogserver.Options{
		Home: home, Addr: "127.0.0.1:0", Token: token, Logf: t.Logf,
		Mounts: func(s store.Store) map[string]http.Handler {
			st = s
			h := NewHandler(s, home, Options{Warn: func(err error) { t.Log(err) }})
			return map[string]http.Handler{TrackingPrefix: h, ArtifactsPrefix: h}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	var h http.Handler = srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return st, home, ts.URL
}

// buildRunlog builds cmd/runlog, for the scripts to read back what runlog
// stored, and returns the binary's path.
func buildRunlog(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "runlog")
	build := exec.Command("go", "build", "-o", bin, "github.com/runlog/runlog/cmd/runlog")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build runlog: %v\n%s", err, out)
	}
	return bin
}

// clientEnv is the environment of an MLflow client that talks to url and
// fails at once rather than retrying, plus more.
func clientEnv(url string, more ...string) []string {
	env := append(os.Environ(), "MLFLOW_TRACKING_URI="+url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0", "GIT_PYTHON_REFRESH=quiet")
	return append(env, more...)
}

// runClientScript runs testdata/<script> with python against the server at
// url over home, with the runlog binary bin, and decodes the JSON the
// script leaves in RESULT_FILE into result.
func runClientScript(t *testing.T, python, script, url, home, bin string, result any) {
	t.Helper()
	runScript(t, python, script, url, result, "RUNLOG_HOME="+home, "RUNLOG_BIN="+bin)
}

// runScript runs testdata/<script> with python as an MLflow client of the
// server at url, with the variables of env besides, and decodes the JSON
// the script leaves in RESULT_FILE into result.
func runScript(t *testing.T, python, script, url string, result any, env ...string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	resultFile := filepath.Join(t.TempDir(), "result.json")
	cmd := exec.Command(python, path)
	cmd.Env = clientEnv(url, append(env, "RESULT_FILE="+resultFile)...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the MLflow client script failed: %v", err)
	}
	raw, err := os.ReadFile(resultFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, result); err != nil {
		t.Fatal(err)
	}
}

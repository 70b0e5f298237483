package mlflow

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	runlogserver "github.com/runlog/runlog/internal/server"
	"github.com/runlog/runlog/internal/store"
)

// authScript asks a runlog server behind a token for experiments with the
// unmodified MLflow client and prints what the client made of the answer.
const authScript = `
import json, sys
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
try:
    MlflowClient().search_experiments()
    print(json.dumps({"ok": True}))
except MlflowException as e:
    print(json.dumps({"ok": False, "error_code": e.error_code, "message": e.message}))
`

// TestRealClientUnauthenticated: behind `runlog ui`'s token, the MLflow
// client told a wrong token reports UNAUTHENTICATED and the server's
// reason (not an INTERNAL_ERROR), and with the right token it works. It
// needs RUNLOG_MLFLOW_PYTHON, as TestRealClient does.
func TestRealClientUnauthenticated(t *testing.T) {
	python := os.Getenv("RUNLOG_MLFLOW_PYTHON")
	if python == "" {
		t.Skip("RUNLOG_MLFLOW_PYTHON is not set: to run the real MLflow client, " +
			"pip install -r internal/mlflow/testdata/requirements.txt into a virtualenv and set RUNLOG_MLFLOW_PYTHON to its python")
	}
	const token = "0123456789abcdef0123456789abcdef"
	home := t.TempDir()
	srv, err := runlogserver.New(runlogserver.Options{
		Home: home, Addr: "127.0.0.1:0", Token: token, Logf: t.Logf,
		Mounts: func(s store.Store) map[string]http.Handler {
			h := NewHandler(s, home, Options{Warn: func(err error) { t.Log(err) }})
			return map[string]http.Handler{TrackingPrefix: h, ArtifactsPrefix: h}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{"wrong token", "nope", false},
		{"no token", "", false},
		{"right token", token, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(python, "-c", authScript)
			cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+ts.URL, "MLFLOW_TRACKING_TOKEN="+tt.token,
				"MLFLOW_HTTP_REQUEST_MAX_RETRIES=0", "GIT_PYTHON_REFRESH=quiet")
			cmd.Dir = t.TempDir()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("the MLflow client script failed: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			var got struct {
				OK        bool
				ErrorCode string `json:"error_code"`
				Message   string
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.OK != tt.ok {
				t.Fatalf("client: %+v", got)
			}
			if !tt.ok && (got.ErrorCode != "UNAUTHENTICATED" || !strings.Contains(got.Message, "missing or wrong token")) {
				t.Errorf("the client reports %s: %q; want UNAUTHENTICATED with the server's reason", got.ErrorCode, got.Message)
			}
		})
	}
}

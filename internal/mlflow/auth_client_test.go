package mlflow

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
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
	python := clientPython(t)
	const token = "0123456789abcdef0123456789abcdef"
	_, _, url := serveRunlog(t, token, nil)
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
			cmd.Env = clientEnv(url, "MLFLOW_TRACKING_TOKEN="+tt.token)
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

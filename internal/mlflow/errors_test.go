package mlflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/runlog/runlog/internal/httpapi"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store"
)

// TestFail checks the one mapping of MLflow errors to answers: each kind
// of error a route returns, its status and its {"error_code", "message"}.
func TestFail(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"MLflow error", invalidf("Missing value for required parameter 'run_id'"), 400, codeInvalidParameter, "Missing value for required parameter 'run_id'"},
		{"already exists", errorf(codeAlreadyExists, "Experiment 'x' already exists"), 400, codeAlreadyExists, "Experiment 'x' already exists"},
		{"no endpoint", errorf(codeEndpointNotFound, "No API endpoint"), 404, codeEndpointNotFound, "No API endpoint"},
		{"wrapped MLflow error", fmt.Errorf("log: %w", errorf(codeConflict, "busy")), 409, codeConflict, "busy"},
		{"unknown run", fmt.Errorf("run x: %w", store.ErrNotFound), 404, codeNotFound, "run x: not found"},
		{"invalid record", fmt.Errorf("metric: %w", runfmt.ErrInvalid), 400, codeInvalidParameter, ""},
		{"read-only home", store.ErrReadOnly, 403, codePermission, ""},
		{"store full", store.ErrFull, 503, codeUnavailable, ""},
		{"disk full", fmt.Errorf("write: %w", syscall.ENOSPC), 503, codeUnavailable, "write: no space left on device"},
		{"store busy", store.ErrConflict, 503, codeUnavailable, ""},
		{"anything else", errors.New("disk on fire"), 500, codeInternal, "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h := func(w http.ResponseWriter, r *http.Request) error { return tt.err }
			httpapi.Handle(h, fail).ServeHTTP(rec, httptest.NewRequest("POST", TrackingPrefix+"runs/create", nil))
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body.String(), err)
			}
			msg := tt.msg
			if msg == "" {
				msg = tt.err.Error()
			}
			if rec.Code != tt.status || got["error_code"] != tt.code || got["message"] != msg || len(got) != 2 {
				t.Errorf("answer %d %v, want %d {error_code: %s, message: %s}", rec.Code, got, tt.status, tt.code, msg)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

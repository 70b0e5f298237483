package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/analyze"
	"github.com/runlog/runlog/internal/httpapi"
	"github.com/runlog/runlog/internal/runfs"
	"github.com/runlog/runlog/internal/store"
)

// TestFail checks the one mapping of /api/v1 errors to answers: each kind
// of error a handler returns, its status and its body.
func TestFail(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		err    error
		ctx    context.Context
		status int
		body   string // the whole JSON answer
		logged bool
	}{
		{"bad request", badRequest("limit: %v", "not an integer"), nil, 400, `{"error":"limit: not an integer"}`, false},
		{"status of its own", &httpError{http.StatusNotFound, "run x has no folder"}, nil, 404, `{"error":"run x has no folder"}`, false},
		{"unknown run", fmt.Errorf("run %q: %w", "nope", store.ErrNotFound), nil, 404, `{"error":"run \"nope\": not found"}`, false},
		{"ambiguous prefix", &store.AmbiguousError{Ref: "k", IDs: []string{"k1", "k2"}, Names: []string{"a", "b"}}, nil, 400, "", false},
		{"bad target", fmt.Errorf("%w: no run compared logged %q", analyze.ErrTarget, "acc"), nil, 400, "", false},
		{"a link out of the run folder", fmt.Errorf("training.log: %w", runfs.ErrOutside), nil, 400, `{"error":"training.log: path leads outside the run folder"}`, false},
		{"a folder where a file was asked for", fmt.Errorf("artifacts: %w", runfs.ErrNotFile), nil, 400, `{"error":"artifacts: not a regular file"}`, false},
		{"read-only home", fmt.Errorf("append: %w", store.ErrReadOnly), nil, 503, `{"error":"the server's home is read-only"}`, false},
		{"body over the limit", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 32}), nil, 413, `{"error":"request body over the limit of 32 bytes"}`, false},
		{"batch after the end", &conflictError{offset: 90, size: 64}, nil, 409,
			`{"size":64,"error":"batch starts at offset 90 but the server holds 64 bytes: resend from 64"}`, false},
		{"client gone", errors.New("write: broken pipe"), canceled, 200, "", false},
		{"internal", errors.New("disk on fire"), nil, 500, `{"error":"internal error; the server's log says more"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged []string
			s := &Server{opts: Options{Logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}}
			r := httptest.NewRequest("GET", "/api/v1/runs", nil)
			if tt.ctx != nil {
				r = r.WithContext(tt.ctx)
			}
			rec := httptest.NewRecorder()
			httpapi.Handle(func(w http.ResponseWriter, r *http.Request) error { return tt.err }, s.fail).ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			body := strings.TrimSuffix(rec.Body.String(), "\n")
			switch {
			case tt.ctx != nil:
				if body != "" {
					t.Errorf("answered a gone client with %q", body)
				}
			case tt.body == "":
				if want, _ := json.Marshal(errorBody{tt.err.Error()}); body != string(want) {
					t.Errorf("body %s, want %s", body, want)
				}
			case body != tt.body:
				t.Errorf("body %s, want %s", body, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); tt.ctx == nil && ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if (len(logged) > 0) != tt.logged {
				t.Errorf("logged %q, want logged %v", logged, tt.logged)
			}
		})
	}
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/server"
)

// TestLsJSONIsTheAPIRow checks that `runlog ls --json` and GET
// /api/v1/runs give the same JSON for the same run: both print
// summary.Row.
func TestLsJSONIsTheAPIRow(t *testing.T) {
	home := fixtureHome(t)
	now := time.Now()
	var out, errb bytes.Buffer
	root := newRoot(&env{stdout: &out, stderr: &errb, now: func() time.Time { return now }})
	root.SetArgs([]string{"--home", home, "ls", "--json"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, errb.String())
	}
	var ls []json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &ls); err != nil {
		t.Fatal(err)
	}

	srv, err := server.New(server.Options{Home: home, Logf: t.Logf, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/runs", nil)
	req.Host = "127.0.0.1"
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/runs: %d %s", rec.Code, rec.Body.String())
	}
	var api struct{ Runs []json.RawMessage }
	if err := json.Unmarshal(rec.Body.Bytes(), &api); err != nil {
		t.Fatal(err)
	}

	if len(ls) != 2 || len(api.Runs) != len(ls) {
		t.Fatalf("ls --json gave %d runs, the API %d; want 2 each", len(ls), len(api.Runs))
	}
	for i := range ls { // both newest first
		var a, b bytes.Buffer
		json.Compact(&a, ls[i])
		json.Compact(&b, api.Runs[i])
		if a.String() != b.String() {
			t.Errorf("run %d:\nls --json %s\nAPI       %s", i, a.String(), b.String())
		}
	}
	// What scripts read: the times as RFC 3339 strings, every key present.
	var first map[string]any
	json.Unmarshal(ls[0], &first)
	for _, k := range []string{"start_time", "last_time"} {
		if s, ok := first[k].(string); !ok || len(s) != len("2025-11-27T08:00:00.000Z") {
			t.Errorf("%s = %#v, want an RFC 3339 string", k, first[k])
		}
	}
	for _, k := range []string{"group", "exit_code", "host", "end_time", "hypothesis", "path", "config", "summary", "metrics"} {
		if _, ok := first[k]; !ok {
			t.Errorf("no key %s in %s", k, ls[0])
		}
	}
}

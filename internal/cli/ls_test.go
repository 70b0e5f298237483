package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog"
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

// groupHome returns a home with a sweep of 3 learning rates × 2 seeds in
// group "lr-sweep", logged with the Go client, 40 steps each; the run with
// lr 0.1 and seed 1 diverges (NaN) at step 20.
func groupHome(t *testing.T) (home string, ids []string) {
	t.Helper()
	home = t.TempDir()
	for _, lr := range []float64{0.001, 0.01, 0.1} {
		for seed := range 2 {
			r, err := runlog.Init(runlog.Options{Home: home, Project: "sweep", Group: "lr-sweep", DisableGit: true,
				Name:   fmt.Sprintf("lr%g-s%d", lr, seed),
				Config: map[string]any{"lr": lr, "seed": seed, "sweep": "lr-sweep"}})
			if err != nil {
				t.Fatal(err)
			}
			rate := map[float64]float64{0.001: 0.5, 0.01: 2, 0.1: 3}[lr]
			for s := int64(0); s <= 40; s++ {
				loss := 1 + 3*math.Exp(-float64(s)*rate/40) + 0.1*float64(seed)
				if lr == 0.1 && seed == 1 && s >= 20 {
					loss = math.NaN()
				}
				v := map[string]float64{"train_loss": loss}
				if s%10 == 0 {
					v["val_loss"] = loss + 0.05
				}
				if err := r.LogStep(s, v); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Finish(0); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID())
		}
	}
	return home, ids
}

func TestLsGroupBy(t *testing.T) {
	home, _ := groupHome(t)
	tests := []struct {
		args []string
		want []string // lines start with these, in order
	}{
		{[]string{"--group-by", "lr"}, []string{"LR     RUNS  FINISHED  TRAIN LOSS (MEAN)", "0.001  2     2", "0.01   2     2", "0.1    2     2"}},
		{[]string{"--group-by", "group"}, []string{"GROUP     RUNS  FINISHED", "lr-sweep  6     6"}},
		{[]string{"--group-by", "lr,seed"}, []string{"LR     SEED  RUNS", "0.001  0     1", "0.001  1     1", "0.01   0     1"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := lines(mustRun(t, home, append([]string{"ls"}, tt.args...)...))
			if len(got) < len(tt.want) {
				t.Fatalf("ls %v:\n%s", tt.args, strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("line %d %q, want it to start with %q\n%s", i, got[i], w, strings.Join(got, "\n"))
				}
			}
		})
	}
	out := mustRun(t, home, "ls", "--group-by", "lr")
	if !strings.Contains(out, "[1 NaN]") {
		t.Errorf("ls --group-by lr does not count the diverged run:\n%s", out)
	}
	if _, _, err := run(t, home, "ls", "--group-by", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("ls --group-by nope: %v", err)
	}
}

// TestLsWhere checks that ls --where lists the runs whose config
// satisfies it, newest first, with --limit and --group-by, and refuses
// what the store cannot evaluate with a message that says what it takes.
func TestLsWhere(t *testing.T) {
	home, _ := groupHome(t)
	names := func(args ...string) []string {
		t.Helper()
		var out []string
		for _, l := range lines(mustRun(t, home, append([]string{"ls"}, args...)...))[1:] {
			out = append(out, strings.Fields(l)[1])
		}
		return out
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--where", "config.lr > 5e-3"}, "lr0.1-s1 lr0.1-s0 lr0.01-s1 lr0.01-s0"},
		{[]string{"--where", "config.lr > 5e-3 and not config.seed >= 1"}, "lr0.1-s0 lr0.01-s0"},
		{[]string{"--where", "config.lr < 0.005 or config.lr >= 0.1", "-n", "2"}, "lr0.1-s1 lr0.1-s0"},
		{[]string{"--where", "config.sweep > 1"}, ""}, // a string does not compare
		{[]string{"--where", "config.missing > 1"}, ""},
	} {
		if got := strings.Join(names(tc.args...), " "); got != tc.want {
			t.Errorf("ls %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	got := lines(mustRun(t, home, "ls", "--where", "config.lr <= 0.01", "--group-by", "lr"))
	if len(got) != 3 || !strings.HasPrefix(got[1], "0.001  2") || !strings.HasPrefix(got[2], "0.01   2") {
		t.Errorf("ls --where config.lr <= 0.01 --group-by lr:\n%s", strings.Join(got, "\n"))
	}
	for _, bad := range []struct{ where, says string }{
		{"config.sweep = lr-sweep", "only comparisons of config values with numbers"},
		{"config.lr >", "at the end: expected a value"},
	} {
		if _, _, err := run(t, home, "ls", "--where", bad.where); err == nil || !strings.Contains(err.Error(), bad.says) || !strings.HasPrefix(err.Error(), "--where: ") {
			t.Errorf("ls --where %q: %v, want an error saying %q", bad.where, err, bad.says)
		}
	}
}

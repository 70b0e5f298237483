package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runlog/runlog"
)

// sweepHome returns a home with two runs of project "sweep" logged with the
// Go client: lr-1e-2 reaches val_loss 2.0 at step 20, lr-3e-3 at step 40.
func sweepHome(t *testing.T) (home string, ids []string) {
	t.Helper()
	home = t.TempDir()
	for _, lr := range []float64{0.01, 0.003} {
		name := map[float64]string{0.01: "lr-1e-2", 0.003: "lr-3e-3"}[lr]
		r, err := runlog.Init(runlog.Options{Home: home, Project: "sweep", Name: name, DisableGit: true,
			Hypothesis: "lr " + name[3:] + " converges", Config: map[string]any{"lr": lr, "model": map[string]any{"d": 64}}})
		if err != nil {
			t.Fatal(err)
		}
		slope := map[float64]float64{0.01: 0.1, 0.003: 0.05}[lr]
		for s := int64(0); s <= 60; s++ {
			v := map[string]float64{"train_loss": 4 - float64(s)*slope/2, "grad_norm": 1, "tokens_per_sec": 1000}
			if s%10 == 0 {
				v["val_loss"] = 4 - float64(s)*slope
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
	return home, ids
}

func TestCompare(t *testing.T) {
	home, ids := sweepHome(t)
	out := mustRun(t, home, "compare", "lr-1e-2", "lr-3e-3", "--target", "val_loss=2", "--at-step", "25")
	for _, want := range []string{"lr-1e-2 (baseline)", "lr-3e-3", ids[0], "config (keys that differ)", "0.003",
		"time to val_loss ≤ 2", "step 20 · ", "step 40 · ", "more steps", "at step 25 (interpolated)", "1.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("line wider than the 100 columns of the output: %q", line)
		}
	}

	md := mustRun(t, home, "compare", ids[0], ids[1], "--target", "val_loss=2", "--markdown")
	if !strings.HasPrefix(md, "| | lr-1e-2 (baseline) | lr-3e-3 |\n|---|---|---|\n") || !strings.Contains(md, "| **time to val_loss ≤ 2** | | |") {
		t.Errorf("compare --markdown:\n%s", md)
	}

	var js struct {
		Baseline string `json:"baseline"`
		Runs     []struct {
			ID      string `json:"id"`
			Targets []struct {
				Step    int64 `json:"step"`
				Speedup struct {
					Steps float64 `json:"steps"`
				} `json:"speedup"`
			} `json:"targets"`
		} `json:"runs"`
		Config []struct {
			Key    string             `json:"key"`
			Values map[string]float64 `json:"values"`
		} `json:"config_diff"`
	}
	out = mustRun(t, home, "compare", "lr-1e-2", "lr-3e-3", "--baseline", "lr-3e-3", "--target", "val_loss=2", "--json")
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("compare --json: %v\n%s", err, out)
	}
	if js.Baseline != ids[1] || len(js.Runs) != 2 || js.Runs[0].Targets[0].Step != 20 || js.Runs[0].Targets[0].Speedup.Steps != 2 {
		t.Errorf("compare --json --baseline lr-3e-3: %+v", js)
	}
	if len(js.Config) != 1 || js.Config[0].Key != "lr" || js.Config[0].Values[ids[1]] != 0.003 {
		t.Errorf("config diff %+v, want lr only", js.Config)
	}

	// A baseline not among the runs named is put first.
	out = mustRun(t, home, "compare", "lr-1e-2", "--baseline", "lr-3e-3", "--json")
	json.Unmarshal([]byte(out), &js)
	if len(js.Runs) != 2 || js.Runs[0].ID != ids[1] {
		t.Errorf("compare A --baseline B: runs %+v, want B first", js.Runs)
	}
}

func TestCompareErrors(t *testing.T) {
	home, _ := sweepHome(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--target", "val_los=2"}, `no run compared logged "val_los"; keys they logged: grad_norm, tokens_per_sec, train_loss, val_loss`},
		{[]string{"--target", "grad_norm=0.5"}, "cannot tell whether grad_norm should go down or up; write grad_norm<=0.5 or grad_norm>=0.5"},
		{[]string{"--target", "val_loss"}, "write KEY=VALUE"},
		{[]string{"--smooth", "1"}, "α must be at least 0 and less than 1"},
		{[]string{"--at-time", "soon"}, "--at-time: invalid time \"soon\""},
		{[]string{"--at-step", "-3"}, "steps start at 0"},
		{[]string{"--json", "--markdown"}, "exclude each other"},
		{[]string{"--baseline", "nope"}, "--baseline: "},
		{[]string{"nope"}, "runlog ls"},
	}
	for _, tt := range tests {
		_, _, err := run(t, home, append([]string{"compare", "lr-1e-2", "lr-3e-3"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compare %v: %v; want an error saying %q", tt.args, err, tt.want)
		}
	}
	out := mustRun(t, home, "compare", "lr-1e-2", "lr-3e-3", "--target", "grad_norm<=0.5")
	if !strings.Contains(out, "not reached; best 1 at step 0") {
		t.Errorf("a target no run reaches:\n%s", out)
	}
}

func TestCompareGroupBy(t *testing.T) {
	home, ids := groupHome(t)
	args := append([]string{"compare"}, ids...)
	out := mustRun(t, home, append(args, "--group-by", "lr", "--target", "val_loss=2.5")...)
	got := strings.Split(out, "\n")
	for i, want := range []string{"   lr     n          status      train_loss final", "★  0.01   2", "   0.001  2", "   0.1    2 (1 NaN)"} {
		if i >= len(got) || !strings.HasPrefix(got[i], want) {
			t.Errorf("line %d, want %q:\n%s", i, want, out)
		}
	}
	if n := len(lines(out)); n > 12 {
		t.Errorf("compare --group-by of 6 runs printed %d lines:\n%s", n, out)
	}
	md := mustRun(t, home, append(args, "--group-by", "lr", "--band", "minmax", "--markdown")...)
	if !strings.HasPrefix(md, "|  | lr | n | status |") || !strings.Contains(md, "minimum–maximum") {
		t.Errorf("compare --group-by --markdown:\n%s", md)
	}
	var js struct {
		Groups []struct {
			Label string   `json:"label"`
			Runs  []string `json:"runs"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, home, append(args, "--group-by", "group", "--json")...)), &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Groups) != 1 || js.Groups[0].Label != "lr-sweep" || len(js.Groups[0].Runs) != 6 {
		t.Errorf("compare --group-by group --json: %+v", js)
	}
	if _, _, err := run(t, home, append(args, "--group-by", "lr", "--band", "iqr")...); err == nil {
		t.Error("--band iqr accepted")
	}
}

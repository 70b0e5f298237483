package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/testfs"
)

// run runs the runlog command with args against home and returns its
// output, its warnings and its error.
func run(t *testing.T, home string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, now: time.Now}
	root := newRoot(e)
	root.SetArgs(append([]string{"--home", home}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func mustRun(t *testing.T, home string, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, home, args...)
	if err != nil {
		t.Fatalf("runlog %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// fixtureHome returns a home holding the run-log fixtures as runs.
func fixtureHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	for id, name := range map[string]string{"k3v9x2ab": "basic", "r7m2q4zz": "resume"} {
		data, err := os.ReadFile(filepath.Join("..", "runfmt", "testdata", name+".runlog"))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(home, "runs", id)
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, "run.log"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func TestLsNoHome(t *testing.T) {
	_, _, err := run(t, filepath.Join(t.TempDir(), "missing"), "ls")
	if err == nil || !strings.Contains(err.Error(), "no runlog home") || !strings.Contains(err.Error(), "RUNLOG_HOME") {
		t.Fatalf("ls without a home: %v; want an error saying where to look", err)
	}
}

func TestLs(t *testing.T) {
	home := fixtureHome(t)
	out := mustRun(t, home, "ls")
	for _, want := range []string{"ID", "k3v9x2ab", "baseline-17m", "failed", "r7m2q4zz", "finished", "1h01m"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls output lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 3 {
		t.Errorf("ls printed %d lines, want a header and 2 runs:\n%s", lines, out)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--status", "failed"}, []string{"k3v9x2ab"}},
		{[]string{"--status", "finished"}, []string{"r7m2q4zz"}},
		{[]string{"--tag", "cs336"}, []string{"k3v9x2ab"}},
		{[]string{"--name", "RESUM"}, []string{"r7m2q4zz"}},
		{[]string{"--project", "nope"}, nil},
	}
	for _, tt := range tests {
		out := mustRun(t, home, append([]string{"ls", "--json"}, tt.args...)...)
		var runs []map[string]any
		if err := json.Unmarshal([]byte(out), &runs); err != nil {
			t.Fatalf("ls --json %v: %v\n%s", tt.args, err, out)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r["id"].(string))
		}
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ls %v = %v, want %v", tt.args, ids, tt.want)
		}
	}
	if _, _, err := run(t, home, "ls", "--status", "sleeping"); err == nil || !strings.Contains(err.Error(), "crashed") {
		t.Errorf("unknown status: %v; want the valid ones listed", err)
	}
}

func TestLsShowsCrashedRun(t *testing.T) {
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, Name: "dies"})
	if err != nil {
		t.Fatal(err)
	}
	r.Log(map[string]float64{"loss": 1})
	// The process "dies": nothing more is written. Seen from three minutes
	// later, its heartbeat is stale.
	r.Finish(0)
	os.Remove(filepath.Join(r.Dir(), "run.log"))
	data := killedLog(t)
	os.WriteFile(filepath.Join(r.Dir(), "run.log"), data, 0o644)

	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &bytes.Buffer{}, now: func() time.Time { return time.Now().Add(3 * time.Minute) }}
	root := newRoot(e)
	root.SetArgs([]string{"--home", home, "ls", "--status", "crashed"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "crashed") || !strings.Contains(out.String(), "dies") {
		t.Errorf("a run without heartbeat for 3 minutes is not shown as crashed:\n%s", out.String())
	}
}

// killedLog returns a run.log of a run that logged and then stopped
// without a status record, as after kill -9.
func killedLog(t *testing.T) []byte {
	home := t.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, ID: "victim", Name: "dies"})
	if err != nil {
		t.Fatal(err)
	}
	r.Log(map[string]float64{"loss": 1})
	r.Finish(0)
	data, _ := os.ReadFile(filepath.Join(r.Dir(), "run.log"))
	// Cut the status record off the end.
	i := bytes.LastIndex(data, []byte(`{"status"`))
	return data[:i-17]
}

func TestShow(t *testing.T) {
	home := fixtureHome(t)
	out := mustRun(t, home, "show", "k3v9")
	for _, want := range []string{
		"baseline-17m", "failed (exit 1)", "tinystories", "gpu-box", "9fceb02d0a (main, dirty)",
		"FloatingPointError: loss is NaN", "model.d_model", "512", "train_loss", "NaN", "-Inf",
		"val/perplexity (ünïcode)", "best checkpoint", "checkpoints/step_000001.pt", "train_loss is NaN",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, home, "show", "resumed", "--json")
	var s map[string]any
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	if s["active_time"] != 80.0 || s["wallclock_time"] != 3640.0 || s["segments"] != 2.0 {
		t.Errorf("times of the resumed run: active %v wallclock %v segments %v", s["active_time"], s["wallclock_time"], s["segments"])
	}
	for _, ref := range []string{"nothing", ""} {
		if _, _, err := run(t, home, "show", ref); err == nil || !strings.Contains(err.Error(), "runlog ls") {
			t.Errorf("show %q: %v; want a hint to list runs", ref, err)
		}
	}
}

func TestExport(t *testing.T) {
	home := fixtureHome(t)
	dir := t.TempDir()
	out := mustRun(t, home, "export", "k3v9x2ab", "-o", dir)
	for _, f := range []string{"config.json", "metrics.csv", "metrics.json", "summary.json"} {
		if !strings.Contains(out, filepath.Join(dir, f)) {
			t.Errorf("export did not report writing %s:\n%s", f, out)
		}
	}
	f, err := os.Open(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "step,wallclock_time,elapsed_time,train_loss,val_loss,val_perplexity,learning_rate,tokens_per_sec,val/perplexity (ünïcode)"
	if got := strings.Join(rows[0], ","); got != wantHeader {
		t.Fatalf("header\n got %s\nwant %s", got, wantHeader)
	}
	// step 0 at 0.25 s after the start; val keys empty until step 1.
	if got := strings.Join(rows[1], ","); got != "0,0.25,0,6.914499759674072,,,0.00012,8543.2," {
		t.Errorf("row 0 = %s", got)
	}
	if got := strings.Join(rows[2], ","); got != "1,0.5,0.01,6.5,5.25,,0.00024,8621.5,190.56626845863" {
		t.Errorf("row 1 = %s", got)
	}
	// Non-finite values round-trip exactly through the CSV.
	want := map[int][]float64{3: {math.NaN(), math.Copysign(0, -1), math.Inf(1)}, 4: {math.Inf(-1), 1e-300, math.MaxFloat64}}
	for row, vals := range want {
		for i, col := range []int{3, 6, 7} {
			v, err := strconv.ParseFloat(rows[row][col], 64)
			if err != nil || math.Float64bits(v) != math.Float64bits(vals[i]) && !(math.IsNaN(v) && math.IsNaN(vals[i])) {
				t.Errorf("row %d col %d = %q, want %v", row, col, rows[row][col], vals[i])
			}
		}
	}

	var mj struct {
		Columns []string         `json:"columns"`
		Metrics []map[string]any `json:"metrics"`
	}
	data, _ := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err := json.Unmarshal(data, &mj); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	if len(mj.Metrics) != 4 || mj.Metrics[2]["train_loss"] != "NaN" || mj.Metrics[3]["train_loss"] != "-Infinity" ||
		mj.Metrics[2]["tokens_per_sec"] != "Infinity" {
		t.Errorf("metrics.json rows %v", mj.Metrics)
	}
	if _, ok := mj.Metrics[0]["val_loss"]; ok {
		t.Error("metrics.json row 0 has val_loss, which was not logged at step 0")
	}

	var sum map[string]any
	data, _ = os.ReadFile(filepath.Join(dir, "summary.json"))
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	metrics := sum["metrics"].(map[string]any)
	tl := metrics["train_loss"].(map[string]any)
	if tl["initial"] != 6.914499759674072 || tl["final"] != "-Infinity" || tl["nan_count"] != 1.0 || sum["total_steps"] != 4.0 {
		t.Errorf("summary train_loss %v, total steps %v", tl, sum["total_steps"])
	}
	if vl := metrics["val_loss"].(map[string]any); vl["best"] != 5.25 || vl["best_step"] != 1.0 || vl["goal"] != "minimize" {
		t.Errorf("summary val_loss %v", vl)
	}
	if b := sum["best_checkpoint"].(map[string]any); b["path"] != "checkpoints/step_000001.pt" || b["value"] != 5.25 {
		t.Errorf("best checkpoint %v", b)
	}
	if v := sum["summary"].(map[string]any); v["note"] != "diverged at step 2" || v["best_seen"] != "NaN" {
		t.Errorf("user summary %v", v)
	}

	// Without -o, the files go into the run folder.
	out = mustRun(t, home, "export", "resumed", "--format", "csv")
	if !strings.Contains(out, filepath.Join(home, "runs", "r7m2q4zz", "metrics.csv")) || strings.Contains(out, "metrics.json") {
		t.Errorf("export --format csv wrote:\n%s", out)
	}
	if _, _, err := run(t, home, "export", "resumed", "--format", "xml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestIndexCommand(t *testing.T) {
	home := fixtureHome(t)
	out := mustRun(t, home, "index")
	if !strings.HasPrefix(out, "2 runs, 2 with new data, 0 removed; 31 records, 22 points") {
		t.Errorf("index: %s", out)
	}
	out = mustRun(t, home, "index")
	if !strings.HasPrefix(out, "2 runs, 0 with new data") {
		t.Errorf("second index: %s", out)
	}
	out = mustRun(t, home, "index", "--rebuild")
	if !strings.HasPrefix(out, "2 runs, 2 with new data") {
		t.Errorf("index --rebuild: %s", out)
	}
}

func TestTornTailIsReported(t *testing.T) {
	home := fixtureHome(t)
	path := filepath.Join(home, "runs", "k3v9x2ab", "run.log")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-5], 0o644)
	old := time.Now().Add(-time.Minute)
	os.Chtimes(path, old, old)
	out, warn, err := run(t, home, "ls")
	if err != nil {
		t.Fatalf("ls with a torn run.log failed: %v", err)
	}
	if !strings.Contains(warn, "incomplete last record") || !strings.Contains(warn, path) {
		t.Errorf("torn tail not reported: %q", warn)
	}
	if !strings.Contains(out, "k3v9x2ab") || !strings.Contains(out, "crashed") {
		t.Errorf("the run whose status record was torn should be listed as crashed:\n%s", out)
	}
}

// TestReadOnlyHome lists the runs of a home that cannot be written — an
// archive, a read-only mount — from what was indexed before, with a
// warning.
func TestReadOnlyHome(t *testing.T) {
	home := fixtureHome(t)
	mustRun(t, home, "index")
	testfs.ReadOnly(t, home, filepath.Join(home, "runlog.db"))
	out, warn, err := run(t, home, "ls")
	if err != nil {
		t.Fatalf("ls in a read-only home: %v", err)
	}
	if !strings.Contains(out, "k3v9x2ab") || !strings.Contains(warn, "read-only") {
		t.Errorf("ls in a read-only home:\n%s\nwarnings: %s", out, warn)
	}
}

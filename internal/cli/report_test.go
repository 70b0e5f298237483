package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runlog/runlog/internal/store"
)

// fakePlots stands in for the chart package: it writes loss_curves.png
// into dir and counts its calls.
func fakePlots(t *testing.T) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	old := plotFiles
	plotFiles = func(ctx context.Context, st store.Store, runs []store.Run, dir string) ([]string, error) {
		calls.Add(1)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, "loss_curves.png")
		return []string{p}, os.WriteFile(p, []byte("png"), 0o644)
	}
	t.Cleanup(func() { plotFiles = old })
	return &calls
}

func TestReport(t *testing.T) {
	calls := fakePlots(t)
	home, ids := sweepHome(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "log", "EXPERIMENT_LOG.md")
	out := mustRun(t, home, "report", "--project", "sweep", "--target", "val_loss=2", "-o", file)
	if out != "wrote "+file+": 2 runs, 3 plots\n" {
		t.Errorf("report printed %q", out)
	}
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"`runlog report --project sweep --target val_loss=2 --output " + file + "`",
		"[lr-1e-2](#run-" + ids[0] + ")",
		"![lr-3e-3: loss by step and by wallclock time](plots/" + ids[1] + "/loss_curves.png)",
		"![All runs: loss by step and by wallclock time](plots/all/loss_curves.png)",
		"| lr | 0.003 | 0.01 |",
		"- Time to val\\_loss ≤ 2: step 40 · ",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("%d plot calls, want 3 (two runs and all)", calls.Load())
	}

	// Text in a keep block survives; plots of finished runs are not drawn
	// again, the plot of all runs is.
	edited := strings.Replace(string(doc), "_What the runs showed, and what to try next._", "lr 1e-2 wins.", 1)
	os.WriteFile(file, []byte(edited), 0o644)
	mustRun(t, home, "report", "--project", "sweep", "--target", "val_loss=2", "-o", file)
	doc, _ = os.ReadFile(file)
	if string(doc) != edited {
		t.Errorf("regenerating changed the log:\n%s", doc)
	}
	if calls.Load() != 4 {
		t.Errorf("%d plot calls after regenerating, want 4", calls.Load())
	}
	if _, err := os.Stat(file + ".bak"); err == nil {
		t.Error("a copy was kept though nothing outside the blocks changed")
	}

	// Text outside the blocks is replaced, after a copy.
	outside := strings.Replace(string(doc), "## Summary", "## Summary (mine)", 1)
	os.WriteFile(file, []byte(outside), 0o644)
	_, stderr, err := run(t, home, "report", "--project", "sweep", "-o", file, "--no-plots")
	if err != nil || !strings.Contains(stderr, "edited outside its runlog:keep blocks") {
		t.Errorf("report over an edited file: %v, %q", err, stderr)
	}
	if bak, _ := os.ReadFile(file + ".bak"); string(bak) != outside {
		t.Error("the edited file was not copied to .bak")
	}
	doc, _ = os.ReadFile(file)
	if !strings.Contains(string(doc), "lr 1e-2 wins.") || strings.Contains(string(doc), "(mine)") || strings.Contains(string(doc), "plots/") {
		t.Errorf("regenerated log:\n%s", doc)
	}
}

func TestReportForeignFile(t *testing.T) {
	fakePlots(t)
	home, _ := sweepHome(t)
	file := filepath.Join(t.TempDir(), "EXPERIMENT_LOG.md")
	mine := "# My log\n\n<!-- runlog:keep findings -->\nhand-written finding\n<!-- /runlog:keep -->\n"
	os.WriteFile(file, []byte(mine), 0o644)
	if _, _, err := run(t, home, "report", "-o", file); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("report over a file it did not write: %v; want a refusal naming --force", err)
	}
	mustRun(t, home, "report", "-o", file, "--force")
	doc, _ := os.ReadFile(file)
	if bak, _ := os.ReadFile(file + ".bak"); string(bak) != mine || !strings.Contains(string(doc), "hand-written finding") {
		t.Errorf("--force: backup %v, log:\n%s", string(bak) == mine, doc)
	}

	// -o - prints the log and touches no file.
	out := mustRun(t, home, "report", "lr-3e-3", "lr-1e-2", "-o", "-")
	if !strings.HasPrefix(out, "# Experiment log\n") || !strings.Contains(out, "### <a name=") || strings.Contains(out, "plots/") {
		t.Errorf("report -o -:\n%s", out)
	}
	if i, j := strings.Index(out, "1. lr-3e-3"), strings.Index(out, "2. lr-1e-2"); i < 0 || j < i {
		t.Error("runs named are not in the order given")
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "lr-1e-2", "--project", "sweep"}, "not both"},
		{[]string{"report", "--project", "nope"}, `no runs in project "nope"`},
	} {
		if _, _, err := run(t, home, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v; want %q", tt.args, err, tt.want)
		}
	}
}

func TestReportSweep(t *testing.T) {
	home, _ := groupHome(t)
	out := filepath.Join(t.TempDir(), "EXPERIMENT_LOG.md")
	msg := mustRun(t, home, "report", "--project", "sweep", "--target", "val_loss=2.5", "-o", out)
	if !strings.Contains(msg, "6 runs, 2 plots") {
		t.Errorf("report said %q, want the group's 2 plots and none per run", msg)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for _, want := range []string{"### Group lr-sweep: 6 runs by lr", "| ★ | 0.01 | 2 |", "(plots/group-lr-sweep/loss_curves.png)",
		"(plots/group-lr-sweep/val_loss_vs_lr.png)", "<details><summary>The 6 runs of lr-sweep", "| # | Run | lr | seed |"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, f := range []string{"loss_curves.png", "val_loss_vs_lr.png"} {
		if w, h := pngSize(t, filepath.Join(filepath.Dir(out), "plots", "group-lr-sweep", f)); w == 0 || h == 0 {
			t.Errorf("%s: %dx%d", f, w, h)
		}
	}
	if strings.Count(s, "\n") > 400 {
		t.Errorf("the report of a 6-run sweep is %d lines", strings.Count(s, "\n"))
	}
}

package runner

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/runfmt"
)

func newTestMonitor(t *testing.T, opt Options) (*monitor, *[]string) {
	t.Helper()
	run, err := runlog.Init(runlog.Options{Home: t.TempDir(), DisableGit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Finish(0) })
	var stops []string
	return newMonitor(run, &opt, func(r string) { stops = append(stops, r) }, func(string) {}), &stops
}

// TestRetentionKeepsBest registers checkpoints with validation losses and
// checks which files --keep-last 2 --keep-best deletes.
func TestRetentionKeepsBest(t *testing.T) {
	m, _ := newTestMonitor(t, Options{KeepLast: 2, KeepBest: true})
	losses := []float64{3.0, 1.5, 2.0, 2.5, 1.9, 2.2}
	for i, l := range losses {
		rel := filepath.Join("checkpoints", "c"+string(rune('0'+i)))
		os.MkdirAll(filepath.Join(m.dir, "checkpoints"), 0o755)
		os.WriteFile(filepath.Join(m.dir, rel), []byte("w"), 0o644)
		step := int64(i * 100)
		m.addCheckpoint(runfmt.Artifact{Path: rel, Kind: "checkpoint", Step: &step, Metadata: map[string]any{"val_loss": l}})
	}
	var left []string
	entries, _ := os.ReadDir(filepath.Join(m.dir, "checkpoints"))
	for _, e := range entries {
		left = append(left, e.Name())
	}
	// The last two (c4, c5) and the best (c1, val_loss 1.5) remain.
	if strings.Join(left, ",") != "c1,c4,c5" {
		t.Errorf("checkpoints left: %v, want c1 (best), c4, c5 (last two)", left)
	}
	// A checkpoint outside the run folder is never deleted.
	outside := filepath.Join(t.TempDir(), "mine.pt")
	os.WriteFile(outside, []byte("w"), 0o644)
	m2, _ := newTestMonitor(t, Options{KeepLast: 1})
	m2.addCheckpoint(runfmt.Artifact{Path: outside, Kind: "checkpoint"})
	m2.addCheckpoint(runfmt.Artifact{Path: "checkpoints/x", Kind: "checkpoint"})
	if _, err := os.Stat(outside); err != nil {
		t.Error("a checkpoint outside the run folder was deleted")
	}
}

func TestNaNAndSpikeAlerts(t *testing.T) {
	m, stops := newTestMonitor(t, Options{StopOnNaN: true, SpikeFactor: 5})
	for s := int64(0); s < 30; s++ {
		m.observe(s, map[string]float64{"train_loss": 2 + 0.01*float64(s%3), "lr": 1e-3})
	}
	m.observe(30, map[string]float64{"train_loss": 50}) // a spike
	m.observe(31, map[string]float64{"train_loss": 60}) // the same spike: no second alert
	if len(*stops) != 0 {
		t.Fatalf("stopped on a spike: %v", *stops)
	}
	m.observe(40, map[string]float64{"train_loss": math.NaN()})
	m.observe(41, map[string]float64{"train_loss": math.NaN()})
	if len(*stops) != 1 || !strings.Contains((*stops)[0], "train_loss became NaN at step 40") {
		t.Errorf("stops %v, want one for the NaN at step 40", *stops)
	}
	if !strings.Contains(m.status(100), "step 41/100 (41%)") {
		t.Errorf("status %q", m.status(100))
	}
	m.run.Finish(0)
	data, _ := os.ReadFile(filepath.Join(m.dir, "run.log"))
	if n := strings.Count(string(data), `"kind":"alert"`); n != 2 {
		t.Errorf("%d alerts in run.log, want 2 (one spike, one NaN)", n)
	}
}

func TestStatusLine(t *testing.T) {
	m, _ := newTestMonitor(t, Options{})
	m.started = time.Now().Add(-90 * time.Second)
	m.observe(100, map[string]float64{"train_loss": 2.5})
	m.rate = []stepAt{{time.Now().Add(-10 * time.Second), 0}, {time.Now(), 100}}
	m.observe(100, map[string]float64{"val_loss": 2.75})
	got := m.status(1100)
	for _, want := range []string{"step 100/1100 (9%)", "train_loss 2.5", "val_loss 2.75", "10 steps/s", "ETA 1m40s", "1m30s"} {
		if !strings.Contains(got, want) {
			t.Errorf("status %q lacks %q", got, want)
		}
	}
}

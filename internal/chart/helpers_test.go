package chart

import (
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// logWriter writes a run.log with chosen times, so that charts of it are
// the same on every machine. The zero value is ready for header.
type logWriter struct{ log *runfmttest.Log }

func (w *logWriter) header(id, name string, t float64) {
	w.log = runfmttest.New(runfmt.Header{ID: id, Name: name, Project: "test", Time: t})
}

// metrics logs values (keys in name order) at step and time t.
func (w *logWriter) metrics(step int64, t float64, values map[string]float64) {
	w.log.Metrics(step, t, values)
}

func (w *logWriter) json(typ runfmt.Type, v any) { w.log.JSON(typ, v) }

// writeRun writes run.log of run id into home.
func writeRun(t testing.TB, home, id string, w *logWriter) {
	t.Helper()
	w.log.WriteRun(t, home, id)
}

// openHome indexes home and returns its store and runs, by id.
func openHome(t testing.TB, home string) (*sqlite.DB, map[string]store.Run) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := ingest.Home(ctx, st, home, ingest.Options{Warn: func(err error) { t.Log(err) }}); err != nil {
		t.Fatal(err)
	}
	runs, err := st.Runs(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.Run{}
	for _, r := range runs {
		full, err := st.Run(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		byID[r.ID] = full
	}
	return st, byID
}

// trainingRun writes a run like the tiny LM's: a train loss and learning
// rate at every step, a validation loss every evalEvery steps, a step
// every 50 ms from t0; lrScale scales its learning rate and how fast its
// loss falls. A value of the train loss can be replaced by bad.
func trainingRun(t testing.TB, home, id, name string, t0 float64, steps, evalEvery int, lrScale float64, bad map[int]float64) {
	t.Helper()
	var w logWriter
	w.header(id, name, t0)
	for s := range steps + 1 {
		tm := t0 + 0.25 + 0.05*float64(s)
		loss := 1 + 3*math.Exp(-float64(s)*lrScale/float64(steps)*4) + 0.05*math.Sin(float64(s)*1.7)
		if v, ok := bad[s]; ok {
			loss = v
		}
		vals := map[string]float64{"train_loss": loss, "learning_rate": 1e-3 * lrScale * math.Min(1, float64(s+1)/10)}
		if s%evalEvery == 0 {
			vals["val_loss"] = 1.05 + 3*math.Exp(-float64(s)*lrScale/float64(steps)*4)
		}
		w.metrics(int64(s), tm, vals)
	}
	w.json(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: t0 + 0.3 + 0.05*float64(steps)})
	writeRun(t, home, id, &w)
}

// twoRuns returns a store holding two training runs of 200 steps with
// learning rates differing 3×, the second slower per step in time.
func twoRuns(t testing.TB) (*sqlite.DB, []store.Run) {
	t.Helper()
	home := t.TempDir()
	trainingRun(t, home, "run1aaaa", "lr-1e-2", 1764201600, 200, 25, 1, nil)
	trainingRun(t, home, "run2bbbb", "lr-3e-3", 1764205200, 200, 25, 1.0/3, nil)
	st, runs := openHome(t, home)
	return st, []store.Run{runs["run1aaaa"], runs["run2bbbb"]}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

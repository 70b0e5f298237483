package analyze

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The test runs are written record by record with runfmttest, so that
// every time is exact: the clients take the wall time themselves.

// t0 is when the first test run started: 2025-11-27 00:00 UTC.
const t0 = 1764201600.0

// now is the time the tests look at the runs from.
var now = time.Unix(int64(t0)+10000, 0)

// Three runs of a made-up learning-rate sweep:
//
//   - base0001 "lr-1e-2": steps 0–120 every 0.5 s from t0+1; train_loss
//     falls by 0.03 a step from 4, with one lucky minibatch of 0.5 at step
//     10; val_loss every 20 steps reaches 2.0 at step 60 (wallclock 31 s).
//   - fast0002 "lr-3e-2", forked from base0001: steps every 0.25 s; val_loss
//     reaches 2.0 at step 40 (11 s): 31/11 = 2.818× faster.
//   - resm0003 "lr-3e-3": one step a second from t0+2000 to step 50, dead
//     for 1,000 s, resumed from step 40; val_loss reaches 2.0 at step 80,
//     at wallclock 1,091 s but active 91 s. A superseded val_loss of 1.0 at
//     step 50 of the first segment must not count.
func writeRuns(t *testing.T, home string) {
	t.Helper()
	val := map[int64]float64{0: 4, 20: 3, 40: 2.5, 60: 2, 80: 1.8, 100: 1.7, 120: 1.65}
	b := runfmttest.New(runfmt.Header{ID: "base0001", Name: "lr-1e-2", Project: "sweep", Time: t0, Tags: []string{"baseline"},
		Hypothesis: "lr 1e-2 gets val_loss < 2 in 60 steps", Notes: "first try", Command: []string{"python", "train.py", "--lr", "1e-2"}}).
		Config(`{"lr":0.01,"model":{"d":64,"layers":2},"opt":"adamw","batch_size":8}`)
	for s := int64(0); s <= 120; s++ {
		tl := 4 - 0.03*float64(s)
		if s == 10 {
			tl = 0.5
		}
		kv := []any{"train_loss", tl, "tokens_per_sec", 1000.0}
		if v, ok := val[s]; ok {
			kv = append(kv, "val_loss", v)
		}
		b.Point(s, t0+1+0.5*float64(s), kv...)
	}
	b.Finish(t0+62).WriteRun(t, home, "base0001")

	val = map[int64]float64{0: 4, 20: 2.5, 40: 2, 60: 1.9, 80: 1.6, 100: 1.5, 120: 1.45}
	t1 := t0 + 1000
	f := runfmttest.New(runfmt.Header{ID: "fast0002", Name: "lr-3e-2", Project: "sweep", Time: t1, Parent: "base0001"}).
		Config(`{"lr":0.03,"model":{"d":128,"layers":2},"batch_size":8}`)
	for s := int64(0); s <= 120; s++ {
		kv := []any{"train_loss", 4 - 0.025*float64(s), "tokens_per_sec", 2000.0}
		if v, ok := val[s]; ok {
			kv = append(kv, "val_loss", v)
		}
		f.Point(s, t1+1+0.25*float64(s), kv...)
	}
	f.Finish(t1+32).WriteRun(t, home, "fast0002")

	t2 := t0 + 2000
	r := runfmttest.New(runfmt.Header{ID: "resm0003", Name: "lr-3e-3", Project: "sweep", Time: t2, Tags: []string{"resumed", "slow"}}).
		Config(`{"lr":0.003,"model":{"d":64,"layers":2},"opt":"adamw","batch_size":8}`)
	val = map[int64]float64{0: 4, 20: 3, 40: 2.6, 50: 1.0, 60: 2.3, 80: 1.95, 100: 1.9}
	for s := int64(0); s <= 50; s++ {
		kv := []any{"train_loss", 4 - 0.02*float64(s)}
		if v, ok := val[s]; ok {
			kv = append(kv, "val_loss", v)
		}
		r.Point(s, t2+1+float64(s), kv...)
	}
	r.JSON(runfmt.TypeResume, runfmt.Resume{Time: t2 + 1051, Host: "box"})
	r.JSON(runfmt.TypeRewind, runfmt.Rewind{Time: t2 + 1051, Step: 40})
	for s := int64(41); s <= 100; s++ {
		kv := []any{"train_loss", 4 - 0.02*float64(s)}
		if v, ok := val[s]; ok && s != 50 {
			kv = append(kv, "val_loss", v)
		}
		r.Point(s, t2+1051+float64(s-40), kv...)
	}
	r.Finish(t2+1111).WriteRun(t, home, "resm0003")
}

// openRuns writes the test runs into a new home, indexes them and returns
// the store and the runs by id.
func openRuns(t *testing.T) (store.Store, map[string]store.Run) {
	t.Helper()
	home := t.TempDir()
	writeRuns(t, home)
	db, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := ingest.Home(ctx, db, home, ingest.Options{Warn: func(err error) { t.Errorf("index: %v", err) }}); err != nil {
		t.Fatal(err)
	}
	runs := map[string]store.Run{}
	for _, id := range []string{"base0001", "fast0002", "resm0003"} {
		r, err := db.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		runs[id] = r
	}
	return db, runs
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

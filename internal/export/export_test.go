package export

import (
	"bytes"
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The runs are written record by record with runfmttest, so that every
// time is exact and the exported files are the same on every machine.

// t0 is when the test runs started: 2025-11-27 00:00 UTC.
const t0 = 1764201600.0

// now is the time the runs are exported at.
var now = time.Unix(int64(t0)+10000, 0)

func ptr[T any](v T) *T { return &v }

// resumedRun writes a run that crashed after step 5 and was resumed from its
// checkpoint: two segments, a validation loss every few steps, a gradient
// norm that is NaN, +Inf and -Inf at some steps, a step logged twice, a
// user summary, an alert and two checkpoints.
func resumedRun(t *testing.T, home, id string) {
	l := runfmttest.New(runfmt.Header{ID: id, Name: "resumed", Project: "test", Tags: []string{"golden"}, Time: t0, Host: "box"})
	l.Config(`{"lr":0.001,"model":{"layers":2,"d":64}}`)
	l.JSON(runfmt.TypeDefine, runfmt.Define{Key: "eval/acc", Goal: runfmt.GoalMaximize})
	grad := []float64{math.NaN(), 1.5, 1.25, math.Inf(1), math.Inf(-1), 0.75}
	for s := range 6 {
		tm := t0 + 1 + 0.5*float64(s)
		kv := []any{"train_loss", 4 - 0.5*float64(s), "learning_rate", 1e-3 * float64(s+1) / 6, "grad_norm", grad[s]}
		if s == 2 || s == 5 {
			kv = append(kv, "val_loss", 4.25-0.5*float64(s))
		}
		l.Point(int64(s), tm, kv...)
	}
	l.JSON(runfmt.TypeArtifact, runfmt.Artifact{Path: "checkpoints/step5.pt", Kind: runfmt.KindCheckpoint, Step: ptr(int64(5)),
		Time: t0 + 3.75, Size: 1024, Metadata: map[string]any{"val_loss": 1.75}})
	l.JSON(runfmt.TypeEvent, runfmt.Event{Kind: runfmt.EventAlert, Time: t0 + 3.75, Step: ptr(int64(4)), Level: "warn", Title: "grad_norm is -Inf"})
	// The process dies here; a new one resumes the run 100 s later.
	l.JSON(runfmt.TypeResume, runfmt.Resume{Time: t0 + 100, Host: "box"})
	for s := 6; s < 9; s++ {
		tm := t0 + 100 + 0.5*float64(s-5)
		l.Point(int64(s), tm, "train_loss", 4-0.5*float64(s), "learning_rate", 1e-3, "grad_norm", 0.5)
	}
	l.Point(7, t0+101.75, "train_loss", 0.625) // step 7 again: the later value wins
	l.Point(8, t0+101.75, "val_loss", 0.5, "eval/acc", 0.875)
	l.JSON(runfmt.TypeArtifact, runfmt.Artifact{Path: "checkpoints/step8.pt", Kind: runfmt.KindCheckpoint, Step: ptr(int64(8)),
		Time: t0 + 102, Size: 1024, Metadata: map[string]any{"val_loss": 0.5}})
	l.JSON(runfmt.TypeSummary, map[string]any{"tokens_seen": 36864, "note": "resumed once"})
	l.JSON(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: t0 + 102.5, ExitCode: ptr(0)})
	l.WriteRun(t, home, id)
}

// edgeRun writes a run whose steps reach both ends of int64: a run may log
// any step, -2⁶³ to 2⁶³-1.
func edgeRun(t *testing.T, home, id string) {
	l := runfmttest.New(runfmt.Header{ID: id, Name: "edge", Project: "test", Time: t0})
	l.Point(math.MinInt64, t0+1, "loss", 3.0)
	l.Point(-1, t0+2, "loss", 2.5)
	l.Point(0, t0+3, "loss", 2.0)
	l.Point(1, t0+4, "loss", 1.5)
	l.Point(1<<62, t0+5, "loss", 1.0)
	l.Point(math.MaxInt64, t0+6, "loss", 0.5, "val_loss", 0.75)
	l.JSON(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: t0 + 7})
	l.WriteRun(t, home, id)
}

// openHome indexes home into a new store and returns it.
func openHome(t *testing.T, home string) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := ingest.Home(context.Background(), st, home, ingest.Options{Warn: func(err error) { t.Error(err) }}); err != nil {
		t.Fatal(err)
	}
	return st
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestFilesGolden(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	resumedRun(t, home, "exp1aaaa")
	edgeRun(t, home, "exp2bbbb")
	st := openHome(t, home)
	ctx := context.Background()
	for _, tc := range []struct {
		id, dir string
		files   []string
	}{
		{"exp1aaaa", "resumed", []string{layout.ConfigFile, layout.MetricsCSV, layout.MetricsJSON, layout.SummaryJSON}},
		// The summary of the edge run is left out: its total_steps, the
		// greatest step plus one, does not fit an int64.
		{"exp2bbbb", "edge", []string{layout.ConfigFile, layout.MetricsCSV, layout.MetricsJSON}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			r, err := st.Run(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			written, err := Files(ctx, st, r, Options{Dir: out, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(written) != 4 {
				t.Errorf("Files wrote %q, want config, metrics.csv, metrics.json and summary.json", written)
			}
			for _, name := range tc.files {
				got, err := os.ReadFile(filepath.Join(out, name))
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(tc.dir, name), got)
			}
		})
	}
}

// TestLoadKeepsEveryPoint checks that the table holds a row for every step
// that the store holds a point at, the greatest step a run may log included.
func TestLoadKeepsEveryPoint(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	resumedRun(t, home, "exp1aaaa")
	edgeRun(t, home, "exp2bbbb")
	st := openHome(t, home)
	ctx := context.Background()
	for _, id := range []string{"exp1aaaa", "exp2bbbb"} {
		r, err := st.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := Load(ctx, st, r)
		if err != nil {
			t.Fatal(err)
		}
		row := map[int64]int{}
		for i, s := range tab.Steps {
			if i > 0 && s <= tab.Steps[i-1] {
				t.Errorf("%s: step %d after %d: rows are not in step order", id, s, tab.Steps[i-1])
			}
			row[s] = i
		}
		for k, key := range tab.Keys {
			pts, err := st.Points(ctx, id, key, store.PointsOptions{})
			if err != nil {
				continue // a seed column the run did not log
			}
			for j, s := range pts.Steps {
				i, ok := row[s]
				if !ok || !tab.Present[k][i] {
					t.Errorf("%s: %s at step %d is not in the table", id, key, s)
					continue
				}
				last := j == pts.Len()-1 || pts.Steps[j+1] != s
				if got := tab.Values[k][i]; last && math.Float64bits(got) != math.Float64bits(pts.Values[j]) {
					t.Errorf("%s: %s at step %d = %v, want %v", id, key, s, got, pts.Values[j])
				}
			}
		}
	}
}

// TestWriteMaxStep checks the greatest step in both metrics files without a
// store: step 2⁶³-1 was once the end marker of the merge and was dropped.
func TestWriteMaxStep(t *testing.T) {
	t.Parallel()
	tab := &Table{Run: store.Run{ID: "x", Start: t0}, Keys: []string{"loss"}}
	tab.merge([]series.Points{{Steps: []int64{0, math.MaxInt64}, Times: []int64{t0 * 1000, t0*1000 + 500}, Values: []float64{1, 2}}})
	var csv, js bytes.Buffer
	if err := tab.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n0,0,0,1\n", "\n9223372036854775807,0.5,0.01,2\n"} {
		if !strings.Contains(csv.String(), want) {
			t.Errorf("metrics.csv lacks %q:\n%s", want, csv.String())
		}
	}
	if want := `{"step":9223372036854775807,`; !strings.Contains(js.String(), want) {
		t.Errorf("metrics.json lacks %q:\n%s", want, js.String())
	}
}

func TestAppendCSVFloat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{0.1, "0.1"},
		{1e21, "1e+21"},
		{5e-324, "5e-324"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
	} {
		if got := string(AppendCSVFloat(nil, tc.v)); got != tc.want {
			t.Errorf("AppendCSVFloat(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

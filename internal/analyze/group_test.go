package analyze

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/store/sqlite"
)

// writeSweep writes a sweep of 3 learning rates × 2 seeds, group
// "lr-sweep", 100 steps each a second apart: train_loss falls with the
// learning rate, a little higher for seed 1; val_loss every 20 steps. The
// run lr=0.1 seed=1 diverges at step 50 (NaN from there on). Plus one run
// outside the sweep.
func writeSweep(t *testing.T, home string) []string {
	t.Helper()
	var ids []string
	for i, lr := range []float64{0.001, 0.01, 0.1} {
		for seed := range 2 {
			id := fmt.Sprintf("swp%d%d000", i, seed)
			start := t0 + float64(i*2+seed)*1000
			l := runfmttest.New(runfmt.Header{ID: id, Name: fmt.Sprintf("lr%g-s%d", lr, seed), Project: "sweep", Group: "lr-sweep", Time: start}).
				Config(fmt.Sprintf(`{"lr":%g,"seed":%d,"sweep":"lr-sweep","batch_size":8}`, lr, seed))
			rate := map[float64]float64{0.001: 0.5, 0.01: 2, 0.1: 3}[lr]
			for s := int64(0); s <= 100; s++ {
				tl := 1 + 3*math.Exp(-float64(s)*rate/100) + 0.1*float64(seed)
				if lr == 0.1 && seed == 1 && s >= 50 {
					tl = math.NaN()
				}
				kv := []any{"train_loss", tl}
				if s%20 == 0 {
					kv = append(kv, "val_loss", tl+0.05)
				}
				l.Point(s, start+1+float64(s), kv...)
			}
			l.Finish(start+102).WriteRun(t, home, id)
			ids = append(ids, id)
		}
	}
	runfmttest.New(runfmt.Header{ID: "solo0001", Name: "solo", Project: "sweep", Time: t0 + 9000}).
		Config(`{"lr":0.01,"seed":0,"batch_size":16}`).
		Point(0, t0+9001, "train_loss", 4.0).Point(10, t0+9011, "train_loss", 3.0).
		Finish(t0+9012).WriteRun(t, home, "solo0001")
	return ids
}

func openSweep(t *testing.T) (store.Store, []store.Run) {
	t.Helper()
	home := t.TempDir()
	ids := writeSweep(t, home)
	db, err := sqlite.Open(layout.Store(home))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := ingest.Home(ctx, db, home, ingest.Options{Warn: func(err error) { t.Errorf("index: %v", err) }}); err != nil {
		t.Fatal(err)
	}
	var runs []store.Run
	for _, id := range ids {
		r, err := db.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	return db, runs
}

func TestGroupRuns(t *testing.T) {
	_, runs := openSweep(t)
	tests := []struct {
		keys   []string
		labels []string
		sizes  []int
		err    string
	}{
		{[]string{"lr"}, []string{"0.001", "0.01", "0.1"}, []int{2, 2, 2}, ""},
		{[]string{"group"}, []string{"lr-sweep"}, []int{6}, ""},
		{[]string{"seed", "lr"}, []string{"seed=0, lr=0.001", "seed=0, lr=0.01", "seed=0, lr=0.1", "seed=1, lr=0.001", "seed=1, lr=0.01", "seed=1, lr=0.1"}, []int{1, 1, 1, 1, 1, 1}, ""},
		{[]string{"config.lr"}, []string{"0.001", "0.01", "0.1"}, []int{2, 2, 2}, ""},
		{[]string{"nope"}, nil, nil, `no run has the config key "nope"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			groups, err := GroupRuns(runs, tt.keys)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			var sizes []int
			for _, g := range groups {
				labels, sizes = append(labels, g.Label(tt.keys)), append(sizes, len(g.Members))
			}
			if !slices.Equal(labels, tt.labels) || !slices.Equal(sizes, tt.sizes) {
				t.Errorf("groups %q sizes %v, want %q %v", labels, sizes, tt.labels, tt.sizes)
			}
		})
	}
	if got := ParseGroupBy([]string{"lr, seed", "lr", ""}); !slices.Equal(got, []string{"lr", "seed"}) {
		t.Errorf("ParseGroupBy = %q", got)
	}
	keys, err := SweepKeys(runs)
	if err != nil || !slices.Equal(keys, []string{"lr"}) {
		t.Errorf("SweepKeys = %q, %v; want lr (not the seed)", keys, err)
	}
}

func TestCompareGroupBy(t *testing.T) {
	st, runs := openSweep(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		opt    Options
		minmax bool
		golden string
	}{
		{"plain", Options{Alpha: DefaultAlpha, Now: now}, false, "compare-group.txt"},
		{"target, min-max", Options{Alpha: DefaultAlpha, Now: now, Targets: []Target{{Key: "val_loss", Value: 2}}}, true, "compare-group-target.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compare(ctx, st, runs, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			gc, err := c.GroupBy([]string{"lr"}, tt.minmax)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := gc.Text(&b, 100); err != nil {
				t.Fatal(err)
			}
			b.WriteString("\n--- markdown\n\n")
			gc.Markdown(&b)
			b.WriteString("\n--- json\n\n")
			gc.JSON(&b)
			golden(t, tt.golden, b.Bytes())
		})
	}

	// The numbers: lr=0.1 has one run that diverged, counted apart.
	c, _ := Compare(ctx, st, runs, Options{Now: now})
	gc, _ := c.GroupBy([]string{"lr"}, false)
	for _, g := range gc.Groups {
		if g.Label != "0.1" {
			continue
		}
		if f := g.Final[0]; f.N != 1 || f.NaN != 1 {
			t.Errorf("lr=0.1 train_loss final: %+v, want 1 counted and 1 NaN", f)
		}
	}
	if gc.Groups[gc.Best].Label != "0.01" {
		t.Errorf("best group %q, want 0.01 (lowest val_loss of the groups where no run diverged)", gc.Groups[gc.Best].Label)
	}
}

func TestReportGroupSet(t *testing.T) {
	st, runs := openSweep(t)
	ctx := context.Background()
	solo, err := st.Run(ctx, "solo0001")
	if err != nil {
		t.Fatal(err)
	}
	all := append(runs, solo)
	opt := ReportOptions{Now: now, Alpha: DefaultAlpha, Targets: []Target{{Key: "val_loss", Value: 2}},
		Plots: map[string][]string{GroupSetKey("lr-sweep"): {"plots/group-lr-sweep/loss_curves.png", "plots/group-lr-sweep/val_loss_vs_lr.png"}}}
	doc, err := Report(ctx, st, all, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "EXPERIMENT_LOG-sweep.md", doc)
	s := string(doc)
	head, folded, ok := strings.Cut(s, "<details><summary>The 6 runs of lr-sweep")
	if !ok {
		t.Fatal("the sweep's runs are not folded")
	}
	sweep := head[strings.Index(head, "### Group lr-sweep"):]
	if n := strings.Count(sweep, "\n"); n > 30 {
		t.Errorf("the sweep's section is %d lines before its folded runs", n)
	}
	for _, want := range []string{"| ★ | 0.01 | 2 |", "val_loss_vs_lr.png", "| # | Run | batch_size | lr | seed |"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !strings.Contains(folded, `name="run-swp00000"`) || !strings.Contains(s, `name="run-solo0001"`) {
		t.Error("runs' own sections missing")
	}
}

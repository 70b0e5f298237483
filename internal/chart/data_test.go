package chart

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

func TestLoad(t *testing.T) {
	st, runs := twoRuns(t)
	ctx := context.Background()
	axes := []series.Axis{series.AxisStep, series.AxisWallclock}
	curves, err := Load(ctx, st, runs, Request{Keys: []string{"train_loss", "val_loss", "missing"}, Axes: axes, Buckets: 20})
	if err != nil {
		t.Fatal(err)
	}
	// by run, key, axis; a key a run lacks has no curve
	var got []string
	for _, c := range curves {
		got = append(got, runs[c.Run].ID+"/"+c.Key+"/"+string(c.Axis))
	}
	want := []string{
		"run1aaaa/train_loss/step", "run1aaaa/train_loss/wallclock", "run1aaaa/val_loss/step", "run1aaaa/val_loss/wallclock",
		"run2bbbb/train_loss/step", "run2bbbb/train_loss/wallclock", "run2bbbb/val_loss/step", "run2bbbb/val_loss/wallclock",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("curves\n got %v\nwant %v", got, want)
	}
	for _, c := range curves {
		n := 201
		if c.Key == "val_loss" {
			n = 9
		}
		if c.Points != n {
			t.Errorf("%s %s: %d points, want %d", c.Key, c.Axis, c.Points, n)
		}
		if c.Raw.Len() > 4*20+4 || c.Raw.Len() > n {
			t.Errorf("%s %s: %d points after downsampling to 20 buckets", c.Key, c.Axis, c.Raw.Len())
		}
		if !slices.IsSorted(c.Raw.X) {
			t.Errorf("%s %s: x not ascending", c.Key, c.Axis)
		}
		last := c.Raw.X[c.Raw.Len()-1]
		switch c.Axis {
		case series.AxisStep:
			if last != 200 {
				t.Errorf("step axis ends at %v", last)
			}
		case series.AxisWallclock: // 0.25 s after the start, 50 ms a step
			if math.Abs(last-10.25) > 1e-3 {
				t.Errorf("wallclock axis ends at %v, want 10.25", last)
			}
		}
		if c.Smoothed.Len() != 0 {
			t.Errorf("smoothed without Smooth")
		}
	}
}

func TestLoadSmooth(t *testing.T) {
	st, runs := twoRuns(t)
	curves, err := Load(context.Background(), st, runs[:1], Request{Keys: []string{"train_loss", "val_loss"},
		Axes: []series.Axis{series.AxisStep}, Buckets: 1000, Smooth: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	train, val := curves[0], curves[1]
	if val.Smoothed.Len() != 0 {
		t.Errorf("a validation loss of %d points was smoothed", val.Points)
	}
	if train.Smoothed.Len() != train.Raw.Len() {
		t.Fatalf("smoothed %d points of %d", train.Smoothed.Len(), train.Raw.Len())
	}
	want := series.EMA(train.Raw.X, train.Raw.Y, 0.9, false) // no downsampling at 1000 buckets
	for i, y := range train.Smoothed.Y {
		if math.Abs(y-want[i]) > 1e-12 {
			t.Fatalf("smoothed[%d] = %v, want %v", i, y, want[i])
		}
	}
}

func TestLoadDivergedAndSuperseded(t *testing.T) {
	home := t.TempDir()
	var w logWriter
	w.header("divrun01", "diverges", 1764201600)
	for s := range 10 {
		w.metrics(int64(s), 1764201600+float64(s), map[string]float64{"train_loss": 5 - float64(s)/10})
	}
	// Resumed from step 4: steps 5–9 above are superseded.
	w.json(runfmt.TypeResume, runfmt.Resume{Time: 1764201700})
	w.json(runfmt.TypeRewind, runfmt.Rewind{Time: 1764201700, Step: 4})
	for s := 5; s < 10; s++ {
		v := 3.0
		if s == 7 {
			v = math.NaN()
		}
		if s == 8 {
			v = math.Inf(1)
		}
		w.metrics(int64(s), 1764201700+float64(s), map[string]float64{"train_loss": v})
	}
	writeRun(t, home, "divrun01", &w)
	st, runs := openHome(t, home)
	r := runs["divrun01"]
	curves, err := Load(context.Background(), st, []store.Run{r}, Request{Keys: []string{"train_loss"},
		Axes: []series.Axis{series.AxisStep, series.AxisActive}, Buckets: 100})
	if err != nil {
		t.Fatal(err)
	}
	c := curves[0]
	if c.Points != 10 {
		t.Errorf("%d points; want 10: superseded points are not drawn", c.Points)
	}
	for i, x := range c.Raw.X {
		if x >= 5 && c.Raw.Y[i] > 4 && !math.IsInf(c.Raw.Y[i], 0) {
			t.Errorf("superseded point at step %v (value %v) is drawn", x, c.Raw.Y[i])
		}
	}
	if d := c.Diverged; d == nil || d.Step != 7 || !math.IsNaN(d.Value) {
		t.Errorf("diverged = %+v, want NaN at step 7", d)
	}
	// Active time leaves out the 100 s the run lay dead.
	active := curves[1]
	if last := active.Raw.X[active.Raw.Len()-1]; last > 20 {
		t.Errorf("active time of the last point = %v s, want the dead time left out", last)
	}
}

func TestLossKeys(t *testing.T) {
	home := t.TempDir()
	for id, keys := range map[string][]string{
		"a0000001": {"loss", "eval/loss", "learning_rate"},
		"a0000002": {"train/loss", "lr"},
		"a0000003": {"mlm_loss", "nsp_loss", "acc"},
		"a0000004": {"acc"},
	} {
		var w logWriter
		w.header(id, id, 1764201600)
		vals := map[string]float64{}
		for _, k := range keys {
			vals[k] = 1
		}
		w.metrics(0, 1764201601, vals)
		writeRun(t, home, id, &w)
	}
	st, runs := openHome(t, home)
	ctx := context.Background()
	tests := []struct {
		ids  []string
		loss []string
		lr   string
	}{
		{[]string{"a0000001"}, []string{"loss", "eval/loss"}, "learning_rate"},
		{[]string{"a0000002"}, []string{"train/loss"}, "lr"},
		{[]string{"a0000001", "a0000002"}, []string{"train/loss", "eval/loss"}, "learning_rate"},
		{[]string{"a0000003"}, []string{"mlm_loss", "nsp_loss"}, ""},
		{[]string{"a0000004"}, nil, ""},
	}
	for _, tt := range tests {
		var rs []store.Run
		for _, id := range tt.ids {
			rs = append(rs, runs[id])
		}
		loss, err := LossKeys(ctx, st, rs)
		if err != nil {
			t.Fatal(err)
		}
		lr, err := LRKey(ctx, st, rs)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(loss, tt.loss) || lr != tt.lr {
			t.Errorf("%v: loss keys %v, lr key %q; want %v, %q", tt.ids, loss, lr, tt.loss, tt.lr)
		}
	}
}

func TestCurveSortsUnorderedTimes(t *testing.T) {
	xs := []float64{0, 2, 1, 3}
	ys := []float64{10, 12, 11, 13}
	c := curve(xs, ys, []int64{0, 1, 2, 3}, series.AxisWallclock, Request{Buckets: 10})
	if !slices.Equal(c.Raw.X, []float64{0, 1, 2, 3}) || !slices.Equal(c.Raw.Y, []float64{10, 11, 12, 13}) {
		t.Errorf("curve = %v %v, want sorted by x with its values", c.Raw.X, c.Raw.Y)
	}
}

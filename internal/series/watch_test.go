package series

import (
	"math"
	"reflect"
	"strconv"
	"testing"
)

func TestWatch(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	flat := func(n int, v float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	type obs struct {
		key string
		v   []float64 // at steps 0, 1, …
	}
	tests := []struct {
		name   string
		factor float64
		obs    []obs
		want   []string // rule key step
	}{
		{"finite losses raise nothing", 10, []obs{{"loss", flat(200, 1)}}, nil},
		{"first NaN only", 10, []obs{{"loss", []float64{1, 2, nan, 3, nan}}}, []string{"nonfinite loss 2"}},
		{"Inf is non-finite", 10, []obs{{"train/loss", []float64{1, inf}}}, []string{"nonfinite train/loss 1"}},
		{"each key once", 10, []obs{{"loss", []float64{nan}}, {"val_loss", []float64{1, nan}}}, []string{"nonfinite loss 0", "nonfinite val_loss 1"}},
		{"keys without loss are not watched", 10, []obs{{"lr", []float64{nan}}, {"acc", append(flat(20, 1), 100)}}, nil},
		{"spike after the warmup", 10, []obs{{"loss", append(flat(20, 1), 11)}}, []string{"spike loss 20"}},
		{"no spike at the factor", 10, []obs{{"loss", append(flat(20, 1), 10)}}, nil},
		{"no spike before the warmup", 10, []obs{{"loss", append(flat(SpikeWarmup-2, 1), 100)}}, nil},
		{"first value after the warmup", 10, []obs{{"loss", append(flat(SpikeWarmup-1, 1), 100)}}, []string{"spike loss 9"}},
		{"one alert per spike", 10, []obs{{"loss", append(append(flat(20, 1), flat(5, 50)...), flat(90, 1)...)}}, []string{"spike loss 20"}},
		{"a later spike", 10, []obs{{"loss", append(append(append(flat(20, 1), 50), flat(120, 1)...), 50)}}, []string{"spike loss 20", "spike loss 141"}},
		{"factor 0: no spikes", 0, []obs{{"loss", append(flat(20, 1), 1e9, nan)}}, []string{"nonfinite loss 21"}},
		{"non-positive median", 10, []obs{{"loss", append(flat(20, 0), 5)}}, nil},
		{"NaN leaves the window alone", 10, []obs{{"loss", append(append(flat(20, 1), nan), 11)}}, []string{"nonfinite loss 20", "spike loss 21"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWatch(tt.factor)
			var got []string
			for _, o := range tt.obs {
				for step, v := range o.v {
					if a, ok := w.Observe(o.key, int64(step), v); ok {
						got = append(got, a.Rule+" "+a.Key+" "+strconv.FormatInt(a.Step, 10))
					}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("alerts %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWatchTexts pins the titles and texts: a derived alert is matched to
// the one `runlog run` recorded by its title.
func TestWatchTexts(t *testing.T) {
	tests := []struct {
		a           Alert
		title, text string
	}{
		{Alert{Rule: RuleNonFinite, Key: "loss", Step: 7, Value: math.NaN()}, "loss is NaN", "loss became NaN at step 7"},
		{Alert{Rule: RuleNonFinite, Key: "loss", Step: 7, Value: math.Inf(-1)}, "loss is -Inf", "loss became -Inf at step 7"},
		{Alert{Rule: RuleSpike, Key: "loss", Step: 20, Value: 11, Median: 1}, "loss spiked to 11", "loss was 11 at step 20, 11.0× its recent median 1"},
	}
	for _, tt := range tests {
		if got := tt.a.Title(); got != tt.title {
			t.Errorf("title %q, want %q", got, tt.title)
		}
		if got := tt.a.Text(); got != tt.text {
			t.Errorf("text %q, want %q", got, tt.text)
		}
	}
}

package analyze

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
)

// DefaultAlpha is the weight of the exponential moving average that
// smooths every curve except validation metrics before a value is read off
// it (time to target, values at a time or step). It is TensorBoard's
// smoothing slider: each logged point weighs 1-α, so α = 0.9 averages over
// about the last 10 points — enough to keep one lucky minibatch from
// "reaching" a target, little enough to lag only a few points behind.
// Validation metrics are not smoothed: each point is already a mean over
// an evaluation set, and they are logged sparsely, so an average would lag
// by whole evaluation intervals.
const DefaultAlpha = 0.9

// ErrTarget is wrapped by errors about a --target that cannot be used.
var ErrTarget = errors.New("invalid target")

// Target is a value a metric should reach.
type Target struct {
	Key   string
	Value float64
	// Goal is runfmt.GoalMinimize (reached at or below Value) or
	// runfmt.GoalMaximize (at or above); "" until Compare resolves it
	// from the key's goal.
	Goal string
}

// String returns the target as people write it: "val_loss ≤ 2".
func (t Target) String() string {
	op := "="
	switch t.Goal {
	case runfmt.GoalMinimize:
		op = "≤"
	case runfmt.GoalMaximize:
		op = "≥"
	}
	return t.Key + " " + op + " " + num(t.Value)
}

// ParseTarget reads a target: "key=value" reaches value in the key's own
// direction (its goal: down for losses), "key<=value" and "key>=value" say
// the direction.
func ParseTarget(s string) (Target, error) {
	i := strings.LastIndexByte(s, '=')
	if i <= 0 || i == len(s)-1 {
		return Target{}, fmt.Errorf("%w %q: write KEY=VALUE, such as val_loss=2.0 (or KEY<=VALUE, KEY>=VALUE)", ErrTarget, s)
	}
	key, val := s[:i], strings.TrimSpace(s[i+1:])
	t := Target{}
	switch {
	case strings.HasSuffix(key, "<"):
		key, t.Goal = key[:len(key)-1], runfmt.GoalMinimize
	case strings.HasSuffix(key, ">"):
		key, t.Goal = key[:len(key)-1], runfmt.GoalMaximize
	}
	t.Key = strings.TrimSpace(key)
	v, err := strconv.ParseFloat(val, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Target{}, fmt.Errorf("%w %q: %q is not a number", ErrTarget, s, val)
	}
	t.Value = v
	if t.Key == "" {
		return Target{}, fmt.Errorf("%w %q: no metric key before the =", ErrTarget, s)
	}
	return t, nil
}

// Goal returns how a key is judged: its declared goal, else the store's
// rule for validation metrics (docs/storage.md), else minimize for keys
// that name a loss, perplexity or error and maximize for keys that name an
// accuracy or score. It returns "" when the name says nothing.
func Goal(key, declared string) string {
	if g := series.Goal(key, declared); g != "" {
		return g
	}
	last := strings.ToLower(key[strings.LastIndexByte(key, '/')+1:])
	for _, part := range strings.FieldsFunc(last, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' }) {
		switch part {
		case "loss", "nll", "perplexity", "ppl", "error", "err", "wer", "cer", "mse", "mae", "rmse", "bpc", "bpb":
			return runfmt.GoalMinimize
		case "acc", "accuracy", "f1", "auc", "bleu", "rouge", "precision", "recall", "reward", "score":
			return runfmt.GoalMaximize
		}
	}
	return ""
}

// alphaFor returns the smoothing of key's curve: none for validation
// metrics, alpha for the rest (see DefaultAlpha).
func alphaFor(key string, alpha float64) float64 {
	if series.IsValidationKey(key) {
		return 0
	}
	return alpha
}

// curve is a series of one run ready to be read off: its points in step
// order with their x on every axis, and the values smoothed.
type curve struct {
	steps  []int64
	stepX  []float64
	wall   []float64 // seconds since the run first started
	active []float64 // seconds the run's processes had run
	y      []float64 // smoothed values (raw when alpha is 0)
}

// newCurve prepares points of a run that first started at startMs and ran
// in segs. Points come in step order, and so — a rewind having superseded
// the points it replaced — in time order; clock steps backwards are
// flattened so that times never decrease, as reading off needs.
func newCurve(p series.Points, startMs int64, segs []series.Segment, alpha float64) *curve {
	c := &curve{
		steps:  p.Steps,
		stepX:  series.X(p, series.AxisStep, startMs, segs),
		wall:   series.X(p, series.AxisWallclock, startMs, segs),
		active: series.X(p, series.AxisActive, startMs, segs),
	}
	for _, xs := range [][]float64{c.wall, c.active} {
		for i := 1; i < len(xs); i++ {
			xs[i] = max(xs[i], xs[i-1])
		}
	}
	c.y = series.EMA(c.stepX, p.Values, alpha, true)
	return c
}

// Reach is when a run's curve reached a target.
type Reach struct {
	Logged    bool // the run logged the key
	Reached   bool
	Step      int64   // the first logged step at which the smoothed curve reached the target
	Wallclock float64 // seconds since the run first started, at that point
	Active    float64 // seconds the run's processes had run, at that point
	Value     float64 // the smoothed value there
	// Best is the smoothed curve's best value, with its step, for a run
	// that did not reach the target.
	Best     float64
	BestStep int64
	// Speed-ups relative to the baseline: the baseline's wallclock time,
	// active time and steps to the target over this run's. NaN when either
	// did not reach it.
	SpeedupWallclock, SpeedupActive, SpeedupSteps float64
}

// reach finds the first point at which c reaches t. The point is the first
// one logged at or past the target: between two logged points nothing is
// known, so the time is not interpolated.
func (c *curve) reach(t Target) Reach {
	r := Reach{Logged: true, SpeedupWallclock: math.NaN(), SpeedupActive: math.NaN(), SpeedupSteps: math.NaN()}
	lower := t.Goal != runfmt.GoalMaximize
	if i, ok := series.FirstReach(c.y, t.Value, lower); ok {
		r.Reached, r.Step, r.Wallclock, r.Active, r.Value = true, c.steps[i], c.wall[i], c.active[i], c.y[i]
		return r
	}
	r.Best, r.BestStep = math.NaN(), -1
	for i, y := range c.y {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		if math.IsNaN(r.Best) || lower && y < r.Best || !lower && y > r.Best {
			r.Best, r.BestStep = y, c.steps[i]
		}
	}
	return r
}

// at returns the smoothed curve's value at x on axis (step or wallclock),
// interpolated linearly between the logged points around it; ok is false
// outside the points' range.
func (c *curve) at(axis series.Axis, x float64) (float64, bool) {
	xs := c.stepX
	if axis == series.AxisWallclock {
		xs = c.wall
	}
	return series.Interp(xs, c.y, x)
}

// ratio returns base/run for costs to a target: how many times faster the
// run got there. Reaching it at cost 0 is infinitely fast, unless the
// baseline did too.
func ratio(base, run float64) float64 {
	switch {
	case run == 0 && base == 0:
		return 1
	case run == 0:
		return math.Inf(1)
	}
	return base / run
}

// describe says in words when a run reached a target, for tables.
func (r Reach) describe() string {
	switch {
	case !r.Logged:
		return "not logged"
	case r.Reached:
		s := fmt.Sprintf("step %d · %s", r.Step, duration(r.Wallclock))
		if math.Abs(r.Active-r.Wallclock) >= 0.05*max(1, r.Wallclock) {
			s += " (active " + duration(r.Active) + ")"
		}
		return s
	case math.IsNaN(r.Best):
		return "not reached; no finite value"
	}
	return fmt.Sprintf("not reached; best %s at step %d", num(r.Best), r.BestStep)
}

// Package analyze compares runs and writes the experiment log: config
// diffs, final and best values, the time each run took to reach a target
// and the speed-up over a baseline, values at equal wallclock time and at
// equal step, and EXPERIMENT_LOG.md, regenerated from the runs with what
// people wrote in it kept.
//
// Everything read off a curve uses the shared series math
// (internal/series): x-axes, the debiased EMA, interpolation, first reach.
package analyze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
	"github.com/runlog/runlog/internal/summary"
)

// Options say what Compare computes.
type Options struct {
	// Baseline is the index in runs of the run the others are measured
	// against.
	Baseline int
	// Keys are the metrics to show; none means the run's train and
	// validation loss (series.TrainLossKeys, series.ValLossKeys).
	Keys    []string
	Targets []Target
	AtTimes []float64 // wallclock seconds
	AtSteps []int64
	// Alpha smooths every curve but validation metrics before a value is
	// read off it; see DefaultAlpha. 0 is no smoothing.
	Alpha float64
	Now   time.Time // for telling crashed runs from running ones
}

// Comparison is what Compare found.
type Comparison struct {
	Baseline int
	Runs     []Result
	Keys     []string // metrics shown
	Config   []ConfigDiff
	Targets  []Target // with their goal resolved
	AtTimes  []float64
	AtSteps  []int64
	Alpha    float64
}

// Result is what Compare found about one run.
type Result struct {
	Run          store.Run
	Status       string
	Wallclock    float64
	Active       float64
	TokensPerSec float64   // the mean of the run's throughput series; NaN if none
	Metrics      []Metric  // by Comparison.Keys
	Reaches      []Reach   // by Comparison.Targets
	AtTime       []float64 // [i*len(Keys)+k]: key k at AtTimes[i]; NaN where not known
	AtStep       []float64 // likewise for AtSteps
}

// Metric is the final and best value of one metric of a run.
type Metric struct {
	Logged    bool
	Final     float64
	FinalStep int64
	Best      float64 // NaN when the key has no goal
	BestStep  int64
	Goal      string
	// Diverged is true when some current point of the key is NaN or
	// infinite.
	Diverged bool
}

// ThroughputKeys are the keys under which runs log tokens per second, in
// order of preference.
var ThroughputKeys = []string{"tokens_per_sec", "tokens_per_second", "tokens/s", "tok/s", "throughput/tokens_per_sec", "perf/tokens_per_sec"}

// Compare compares runs: each run's results, its config against the
// baseline's, and its speed to every target against the baseline's.
func Compare(ctx context.Context, st store.Store, runs []store.Run, opt Options) (*Comparison, error) {
	if len(runs) == 0 {
		return nil, errors.New("compare: no runs")
	}
	if opt.Baseline < 0 || opt.Baseline >= len(runs) {
		return nil, fmt.Errorf("compare: baseline %d out of range", opt.Baseline)
	}
	c := &Comparison{Baseline: opt.Baseline, AtTimes: opt.AtTimes, AtSteps: opt.AtSteps, Alpha: opt.Alpha}
	sers := make([]map[string]store.Series, len(runs))
	for i, r := range runs {
		ss, err := st.Series(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("read series of run %s: %w", r.ID, err)
		}
		sers[i] = make(map[string]store.Series, len(ss))
		for _, s := range ss {
			if s.Stats.Count > 0 {
				sers[i][s.Key] = s
			}
		}
	}
	c.Keys = opt.Keys
	if len(c.Keys) == 0 {
		c.Keys = defaultKeys(sers)
	}
	targets, err := resolveTargets(opt.Targets, sers)
	if err != nil {
		return nil, err
	}
	c.Targets = targets
	configs := make([]json.RawMessage, len(runs))
	for i, r := range runs {
		configs[i] = r.Config
	}
	if c.Config, err = DiffConfigs(configs, opt.Baseline); err != nil {
		return nil, err
	}
	for i, r := range runs {
		res, err := c.result(ctx, st, r, sers[i], opt)
		if err != nil {
			return nil, err
		}
		c.Runs = append(c.Runs, res)
	}
	c.speedups()
	return c, nil
}

// defaultKeys returns the first train and validation loss key any run
// logged.
func defaultKeys(sers []map[string]store.Series) []string {
	var keys []string
	for _, list := range [][]string{series.TrainLossKeys, series.ValLossKeys} {
	next:
		for _, k := range list {
			for _, s := range sers {
				if _, ok := s[k]; ok {
					keys = append(keys, k)
					break next
				}
			}
		}
	}
	return keys
}

// resolveTargets checks that some run logged each target's key and gives
// each target without a direction its key's goal.
func resolveTargets(ts []Target, sers []map[string]store.Series) ([]Target, error) {
	out := make([]Target, len(ts))
	for i, t := range ts {
		declared, logged := "", false
		for _, s := range sers {
			if ser, ok := s[t.Key]; ok {
				logged = true
				if ser.Goal != "" {
					declared = ser.Goal
				}
			}
		}
		if !logged {
			return nil, fmt.Errorf("%w: no run compared logged %q; keys they logged: %s", ErrTarget, t.Key, strings.Join(loggedKeys(sers), ", "))
		}
		if t.Goal == "" {
			t.Goal = Goal(t.Key, declared)
		}
		if t.Goal == "" {
			return nil, fmt.Errorf("%w %s=%s: runlog cannot tell whether %s should go down or up; write %s<=%s or %s>=%s",
				ErrTarget, t.Key, num(t.Value), t.Key, t.Key, num(t.Value), t.Key, num(t.Value))
		}
		out[i] = t
	}
	return out, nil
}

func loggedKeys(sers []map[string]store.Series) []string {
	var keys []string
	for _, s := range sers {
		for k := range s {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// result computes what Compare shows about run r, whose series are ser.
func (c *Comparison) result(ctx context.Context, st store.Store, r store.Run, ser map[string]store.Series, opt Options) (Result, error) {
	res := Result{Run: r, Status: summary.Status(&r, opt.Now), Wallclock: r.Wallclock(), Active: r.Active, TokensPerSec: math.NaN()}
	for _, k := range ThroughputKeys {
		if s, ok := ser[k]; ok {
			res.TokensPerSec = s.Stats.Mean()
			break
		}
	}
	for _, k := range c.Keys {
		res.Metrics = append(res.Metrics, metricOf(k, ser))
	}
	// Points are read only for the curves something is read off.
	need := map[string]bool{}
	for _, t := range c.Targets {
		need[t.Key] = true
	}
	if len(c.AtTimes)+len(c.AtSteps) > 0 {
		for _, k := range c.Keys {
			need[k] = true
		}
	}
	curves := map[string]*curve{}
	if len(need) > 0 {
		segs, err := summary.Segments(ctx, st, r.ID)
		if err != nil {
			return res, fmt.Errorf("read segments of run %s: %w", r.ID, err)
		}
		startMs := int64(math.Round(r.Start * 1000))
		for k := range need {
			if _, ok := ser[k]; !ok {
				continue
			}
			p, err := st.Points(ctx, r.ID, k, store.PointsOptions{})
			if err != nil {
				return res, fmt.Errorf("read %s of run %s: %w", k, r.ID, err)
			}
			curves[k] = newCurve(p, startMs, segs, alphaFor(k, c.Alpha))
		}
	}
	for _, t := range c.Targets {
		if cv := curves[t.Key]; cv != nil {
			res.Reaches = append(res.Reaches, cv.reach(t))
		} else {
			res.Reaches = append(res.Reaches, Reach{SpeedupWallclock: math.NaN(), SpeedupActive: math.NaN(), SpeedupSteps: math.NaN()})
		}
	}
	readOff := func(axis series.Axis, xs []float64) []float64 {
		out := make([]float64, 0, len(xs)*len(c.Keys))
		for _, x := range xs {
			for _, k := range c.Keys {
				v := math.NaN()
				if cv := curves[k]; cv != nil {
					v, _ = cv.at(axis, x)
				}
				out = append(out, v)
			}
		}
		return out
	}
	res.AtTime = readOff(series.AxisWallclock, c.AtTimes)
	steps := make([]float64, len(c.AtSteps))
	for i, s := range c.AtSteps {
		steps[i] = float64(s)
	}
	res.AtStep = readOff(series.AxisStep, steps)
	return res, nil
}

// metricOf returns the final and best value of key among ser.
func metricOf(key string, ser map[string]store.Series) Metric {
	s, ok := ser[key]
	if !ok {
		return Metric{Final: math.NaN(), Best: math.NaN(), FinalStep: -1, BestStep: -1}
	}
	m := Metric{Logged: true, Final: s.Stats.Last.Value, FinalStep: s.Stats.Last.Step, Best: math.NaN(), BestStep: -1, Goal: Goal(key, s.Goal),
		Diverged: s.Stats.NaN+s.Stats.Inf > 0}
	if s.Stats.HasExtremes() {
		switch m.Goal {
		case runfmt.GoalMinimize:
			m.Best, m.BestStep = s.Stats.Min.Value, s.Stats.Min.Step
		case runfmt.GoalMaximize:
			m.Best, m.BestStep = s.Stats.Max.Value, s.Stats.Max.Step
		}
	}
	return m
}

// speedups sets every run's speed-up to each target over the baseline's.
func (c *Comparison) speedups() {
	for t := range c.Targets {
		base := c.Runs[c.Baseline].Reaches[t]
		if !base.Reached {
			continue
		}
		for i := range c.Runs {
			r := &c.Runs[i].Reaches[t]
			if !r.Reached {
				continue
			}
			r.SpeedupWallclock = ratio(base.Wallclock, r.Wallclock)
			r.SpeedupActive = ratio(base.Active, r.Active)
			r.SpeedupSteps = ratio(float64(base.Step), float64(r.Step))
		}
	}
}

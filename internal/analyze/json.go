package analyze

import (
	"encoding/json"
	"io"
	"math"

	"github.com/runlog/runlog/internal/runfmt"
)

// The JSON form of a comparison. Field names are stable: scripts read
// them. Non-finite numbers are the strings "NaN", "Infinity" and
// "-Infinity"; a value that does not exist (a run that did not log a key,
// a time past a run's end) is null or left out.
type (
	jsonComparison struct {
		Baseline  string                  `json:"baseline"` // run id
		Keys      []string                `json:"keys"`
		Smoothing map[string]runfmt.Float `json:"smoothing"` // EMA α per key read off a curve; 0 is none
		Targets   []jsonTarget            `json:"targets"`
		AtTimes   []runfmt.Float          `json:"at_wallclock_times"`
		AtSteps   []int64                 `json:"at_steps"`
		Config    []jsonConfigDiff        `json:"config_diff"`
		Runs      []jsonRun               `json:"runs"`
	}
	jsonTarget struct {
		Key   string       `json:"key"`
		Value runfmt.Float `json:"value"`
		Goal  string       `json:"goal"`
	}
	jsonConfigDiff struct {
		Key    string                     `json:"key"`
		Values map[string]json.RawMessage `json:"values"` // by run id; runs without the key are left out
	}
	jsonRun struct {
		ID           string                `json:"id"`
		Name         string                `json:"name"`
		Project      string                `json:"project"`
		Status       string                `json:"status"`
		Baseline     bool                  `json:"baseline"`
		LastStep     int64                 `json:"last_step"`
		Wallclock    runfmt.Float          `json:"wallclock_time"`
		Active       runfmt.Float          `json:"active_time"`
		TokensPerSec *runfmt.Float         `json:"tokens_per_sec"`
		Metrics      map[string]jsonMetric `json:"metrics"`
		Targets      []jsonReach           `json:"targets"`
		AtTimes      []jsonAt              `json:"at_wallclock"`
		AtSteps      []jsonAt              `json:"at_step"`
	}
	jsonMetric struct {
		Final     runfmt.Float  `json:"final"`
		FinalStep int64         `json:"final_step"`
		Best      *runfmt.Float `json:"best"`
		BestStep  *int64        `json:"best_step"`
		Goal      string        `json:"goal,omitempty"`
	}
	jsonReach struct {
		Key       string        `json:"key"`
		Value     runfmt.Float  `json:"target"`
		Logged    bool          `json:"logged"`
		Reached   bool          `json:"reached"`
		Step      *int64        `json:"step,omitempty"`
		Wallclock *runfmt.Float `json:"wallclock_time,omitempty"`
		Active    *runfmt.Float `json:"active_time,omitempty"`
		Smoothed  *runfmt.Float `json:"value,omitempty"`
		Best      *runfmt.Float `json:"best,omitempty"`
		BestStep  *int64        `json:"best_step,omitempty"`
		Speedup   *jsonSpeedup  `json:"speedup,omitempty"`
	}
	jsonSpeedup struct {
		Wallclock runfmt.Float `json:"wallclock"`
		Active    runfmt.Float `json:"active"`
		Steps     runfmt.Float `json:"steps"`
	}
	jsonAt struct {
		Wallclock *runfmt.Float            `json:"wallclock_time,omitempty"`
		Step      *int64                   `json:"step,omitempty"`
		Values    map[string]*runfmt.Float `json:"values"`
	}
)

func fp(v float64) *runfmt.Float { f := runfmt.Float(v); return &f }

func ip(v int64) *int64 { return &v }

// JSON writes the comparison as indented JSON.
func (c *Comparison) JSON(w io.Writer) error {
	out := jsonComparison{
		Baseline: c.Runs[c.Baseline].Run.ID, Keys: nonNil(c.Keys), Smoothing: map[string]runfmt.Float{},
		Targets: []jsonTarget{}, AtTimes: []runfmt.Float{}, AtSteps: nonNil(c.AtSteps), Config: []jsonConfigDiff{},
	}
	for _, t := range c.Targets {
		out.Targets = append(out.Targets, jsonTarget{t.Key, runfmt.Float(t.Value), t.Goal})
		out.Smoothing[t.Key] = runfmt.Float(alphaFor(t.Key, c.Alpha))
	}
	if len(c.AtTimes)+len(c.AtSteps) > 0 {
		for _, k := range c.Keys {
			out.Smoothing[k] = runfmt.Float(alphaFor(k, c.Alpha))
		}
	}
	for _, t := range c.AtTimes {
		out.AtTimes = append(out.AtTimes, runfmt.Float(t))
	}
	for _, d := range c.Config {
		jd := jsonConfigDiff{Key: d.Key, Values: map[string]json.RawMessage{}}
		for i, v := range d.Values {
			if v != "" {
				jd.Values[c.Runs[i].Run.ID] = json.RawMessage(v)
			}
		}
		out.Config = append(out.Config, jd)
	}
	for i := range c.Runs {
		out.Runs = append(out.Runs, c.jsonRun(i))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func (c *Comparison) jsonRun(i int) jsonRun {
	r := &c.Runs[i]
	jr := jsonRun{
		ID: r.Run.ID, Name: r.Run.Name, Project: r.Run.Project, Status: r.Status, Baseline: i == c.Baseline,
		LastStep: r.Run.MaxStep, Wallclock: runfmt.Float(round3(r.Wallclock)), Active: runfmt.Float(round3(r.Active)),
		Metrics: map[string]jsonMetric{}, Targets: []jsonReach{}, AtTimes: []jsonAt{}, AtSteps: []jsonAt{},
	}
	if !math.IsNaN(r.TokensPerSec) {
		jr.TokensPerSec = fp(r.TokensPerSec)
	}
	for k, key := range c.Keys {
		m := r.Metrics[k]
		if !m.Logged {
			continue
		}
		jm := jsonMetric{Final: runfmt.Float(m.Final), FinalStep: m.FinalStep, Goal: m.Goal}
		if m.BestStep >= 0 {
			jm.Best, jm.BestStep = fp(m.Best), ip(m.BestStep)
		}
		jr.Metrics[key] = jm
	}
	for t, tg := range c.Targets {
		rc := r.Reaches[t]
		jt := jsonReach{Key: tg.Key, Value: runfmt.Float(tg.Value), Logged: rc.Logged, Reached: rc.Reached}
		switch {
		case rc.Reached:
			jt.Step, jt.Wallclock, jt.Active, jt.Smoothed = ip(rc.Step), fp(round3(rc.Wallclock)), fp(round3(rc.Active)), fp(rc.Value)
			if !math.IsNaN(rc.SpeedupWallclock) {
				jt.Speedup = &jsonSpeedup{runfmt.Float(rc.SpeedupWallclock), runfmt.Float(rc.SpeedupActive), runfmt.Float(rc.SpeedupSteps)}
			}
		case rc.Logged && rc.BestStep >= 0:
			jt.Best, jt.BestStep = fp(rc.Best), ip(rc.BestStep)
		}
		jr.Targets = append(jr.Targets, jt)
	}
	values := func(vals []float64, i int) map[string]*runfmt.Float {
		m := map[string]*runfmt.Float{}
		for k, key := range c.Keys {
			if v := vals[i*len(c.Keys)+k]; !math.IsNaN(v) {
				m[key] = fp(v)
			} else {
				m[key] = nil
			}
		}
		return m
	}
	for i, t := range c.AtTimes {
		jr.AtTimes = append(jr.AtTimes, jsonAt{Wallclock: fp(t), Values: values(r.AtTime, i)})
	}
	for i, s := range c.AtSteps {
		jr.AtSteps = append(jr.AtSteps, jsonAt{Step: ip(s), Values: values(r.AtStep, i)})
	}
	return jr
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

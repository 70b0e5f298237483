// Package summary assembles what runlog says about one run — its identity,
// its times, the statistics of every series, the best checkpoint and the
// values the run set itself — from what the store holds. The same summary
// is shown by `runlog show`, written to summary.json and served by the API.
package summary

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// StaleAfter is how long a running run may go without a record before it
// is shown as crashed. Writers heartbeat every 10 s while a run is alive.
const StaleAfter = 2 * time.Minute

// Status returns the status to show for r at time now: a running run whose
// heartbeat is older than StaleAfter is crashed.
func Status(r *store.Run, now time.Time) string {
	if r.Status == runfmt.StatusRunning && now.Sub(unix(r.Last)) > StaleAfter {
		return runfmt.StatusCrashed
	}
	return r.Status
}

func unix(t float64) time.Time {
	sec, frac := math.Modf(t)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// Summary is what runlog says about one run. Its JSON form is the content
// of summary.json.
type Summary struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Project     string            `json:"project"`
	Group       string            `json:"group,omitempty"`
	Tags        []string          `json:"tags"`
	Notes       string            `json:"notes,omitempty"`
	Hypothesis  string            `json:"hypothesis,omitempty"`
	Status      string            `json:"status"`
	ExitCode    *int              `json:"exit_code,omitempty"`
	Error       string            `json:"error,omitempty"`
	Start       string            `json:"start_time"`
	End         string            `json:"end_time,omitempty"`
	Host        string            `json:"host,omitempty"`
	User        string            `json:"user,omitempty"`
	Command     []string          `json:"command,omitempty"`
	Dir         string            `json:"cwd,omitempty"`
	Git         *runfmt.Git       `json:"git,omitempty"`
	Env         map[string]string `json:"environment,omitempty"`
	TotalSteps  int64             `json:"total_steps"`
	Wallclock   float64           `json:"wallclock_time"`
	Active      float64           `json:"active_time"`
	Elapsed     float64           `json:"elapsed_time"`
	Segments    int               `json:"segments"`
	Values      map[string]any    `json:"summary"`
	Metrics     map[string]Metric `json:"metrics"`
	Best        *Checkpoint       `json:"best_checkpoint,omitempty"`
	Checkpoints int               `json:"checkpoints"` // current ones: not superseded by a rewind
	Alerts      int               `json:"alerts"`
}

// Metric holds the statistics of one series.
type Metric struct {
	Count       int64         `json:"count"`
	NaN         int64         `json:"nan_count,omitempty"`
	Inf         int64         `json:"inf_count,omitempty"`
	Initial     runfmt.Float  `json:"initial"`
	InitialStep int64         `json:"initial_step"`
	Final       runfmt.Float  `json:"final"`
	FinalStep   int64         `json:"final_step"`
	Min         *runfmt.Float `json:"min,omitempty"`
	MinStep     int64         `json:"min_step"`
	Max         *runfmt.Float `json:"max,omitempty"`
	MaxStep     int64         `json:"max_step"`
	Mean        runfmt.Float  `json:"mean"`
	Goal        string        `json:"goal,omitempty"`
	Best        *runfmt.Float `json:"best,omitempty"`
	BestStep    *int64        `json:"best_step,omitempty"`
}

// Checkpoint is a checkpoint file of a run and what it scored.
type Checkpoint struct {
	Path     string         `json:"path"`
	Step     *int64         `json:"step,omitempty"`
	Size     int64          `json:"size"`
	SHA256   string         `json:"sha256,omitempty"`
	Key      string         `json:"key,omitempty"`
	Value    *runfmt.Float  `json:"value,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Build assembles the summary of run r from its series, artifacts and
// events.
func Build(r store.Run, ser []store.Series, arts []store.Artifact, events []store.Event, now time.Time) Summary {
	s := Summary{
		ID: r.ID, Name: r.Name, Project: r.Project, Group: r.Group, Tags: r.Tags, Notes: r.Notes,
		Hypothesis: r.Hypothesis, Status: Status(&r, now), ExitCode: r.ExitCode, Error: r.Error,
		Start: formatTime(r.Start), Host: r.Host, User: r.User, Command: r.Command, Dir: r.Dir, Git: r.Git,
		Env: r.Env, TotalSteps: totalSteps(r.MaxStep), Wallclock: round3(r.Wallclock()), Active: round3(r.Active),
		Elapsed: round3(r.Wallclock() / 60), Segments: r.Segments,
		Values: map[string]any{}, Metrics: map[string]Metric{},
	}
	if s.Tags == nil {
		s.Tags = []string{}
	}
	if r.End > 0 {
		s.End = formatTime(r.End)
	}
	for _, sr := range ser {
		if sr.Stats.Count == 0 {
			continue
		}
		m := metric(sr)
		s.Metrics[sr.Key] = m
		s.Values[sr.Key] = m.Final
	}
	var user map[string]any
	if json.Unmarshal(r.Summary, &user) == nil {
		for k, v := range user {
			s.Values[k] = v // values the run set win over computed ones
		}
	}
	for _, a := range arts {
		if a.Kind == runfmt.KindCheckpoint && !a.Superseded {
			s.Checkpoints++
		}
	}
	s.Best = bestCheckpoint(s.Metrics, arts)
	for _, e := range events {
		if e.Kind == runfmt.EventAlert {
			s.Alerts++
		}
	}
	return s
}

func metric(sr store.Series) Metric {
	st := sr.Stats
	m := Metric{
		Count: st.Count, NaN: st.NaN, Inf: st.Inf,
		Initial: runfmt.Float(st.First.Value), InitialStep: st.First.Step,
		Final: runfmt.Float(st.Last.Value), FinalStep: st.Last.Step,
		Mean: runfmt.Float(st.Mean()), Goal: series.Goal(sr.Key, sr.Goal),
	}
	if st.HasExtremes() {
		lo, hi := runfmt.Float(st.Min.Value), runfmt.Float(st.Max.Value)
		m.Min, m.MinStep, m.Max, m.MaxStep = &lo, st.Min.Step, &hi, st.Max.Step
		var best series.Point
		switch m.Goal {
		case runfmt.GoalMinimize:
			best = st.Min
		case runfmt.GoalMaximize:
			best = st.Max
		default:
			return m
		}
		v, step := runfmt.Float(best.Value), best.Step
		m.Best, m.BestStep = &v, &step
	}
	return m
}

// bestCheckpoint picks the checkpoint with the best validation score: by
// the score recorded in its metadata when there is one, else the checkpoint
// taken at the step of the best validation value.
func bestCheckpoint(metrics map[string]Metric, arts []store.Artifact) *Checkpoint {
	var ckpts []store.Artifact
	for _, a := range arts {
		if a.Kind == runfmt.KindCheckpoint && !a.Superseded { // not of an abandoned attempt
			ckpts = append(ckpts, a)
		}
	}
	if len(ckpts) == 0 {
		return nil
	}
	key := primaryKey(metrics, ckpts)
	if key == "" {
		return nil
	}
	goal := metrics[key].Goal
	if goal == "" {
		goal = series.Goal(key, "")
	}
	if goal == "" {
		goal = runfmt.GoalMinimize
	}
	var best *Checkpoint
	for _, a := range ckpts {
		v, ok := a.Metadata[key].(float64)
		if !ok || math.IsNaN(v) {
			continue
		}
		if best == nil || (goal == runfmt.GoalMinimize && v < float64(*best.Value)) || (goal == runfmt.GoalMaximize && v > float64(*best.Value)) {
			best = checkpoint(a, key, v)
		}
	}
	if best != nil {
		return best
	}
	if m, ok := metrics[key]; ok && m.BestStep != nil {
		for _, a := range ckpts {
			if a.Step != nil && *a.Step == *m.BestStep {
				return checkpoint(a, key, float64(*m.Best))
			}
		}
	}
	return nil
}

func checkpoint(a store.Artifact, key string, v float64) *Checkpoint {
	f := runfmt.Float(v)
	return &Checkpoint{Path: a.Path, Step: a.Step, Size: a.Size, SHA256: a.SHA256, Key: key, Value: &f, Metadata: runfmt.Finite(a.Metadata).(map[string]any)}
}

// primaryKey returns the validation key that judges checkpoints: the first
// of the usual validation-loss keys found in checkpoint metadata or among
// the series, else any metadata key with a goal.
func primaryKey(metrics map[string]Metric, ckpts []store.Artifact) string {
	inMeta := map[string]bool{}
	for _, a := range ckpts {
		for k := range a.Metadata {
			inMeta[k] = true
		}
	}
	for _, k := range series.ValLossKeys {
		if inMeta[k] {
			return k
		}
	}
	var keys []string
	for k := range inMeta {
		if series.Goal(k, metrics[k].Goal) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		return keys[0]
	}
	for _, k := range series.ValLossKeys {
		if _, ok := metrics[k]; ok {
			return k
		}
	}
	return ""
}

func formatTime(t float64) string {
	if t <= 0 {
		return ""
	}
	return unix(t).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Segments returns the process segments of a run in unix milliseconds, as
// the series math takes them.
func Segments(ctx context.Context, st store.Store, runID string) ([]series.Segment, error) {
	segs, err := st.Segments(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make([]series.Segment, len(segs))
	for i, s := range segs {
		out[i] = series.Segment{Start: int64(math.Round(s.Start * 1000)), Last: int64(math.Round(s.Last * 1000))}
	}
	return out, nil
}

// Load builds the summary of run r from what the store holds.
func Load(ctx context.Context, st store.Store, r store.Run, now time.Time) (Summary, error) {
	ser, err := st.Series(ctx, r.ID)
	if err != nil {
		return Summary{}, err
	}
	arts, err := st.Artifacts(ctx, r.ID)
	if err != nil {
		return Summary{}, err
	}
	evs, err := Events(ctx, st, r.ID)
	if err != nil {
		return Summary{}, err
	}
	return Build(r, ser, arts, evs, now), nil
}

// totalSteps is the number of steps 0 to maxStep, which saturates instead
// of overflowing at the greatest step a run may log.
func totalSteps(maxStep int64) int64 {
	if maxStep == math.MaxInt64 {
		return math.MaxInt64
	}
	return maxStep + 1
}

// Events returns a run's events as views show them: a derived alert that
// repeats one a writer recorded (ingest stores both, so that what it
// stores does not depend on the order it read them in) is left out.
func Events(ctx context.Context, st store.Store, runID string) ([]store.Event, error) {
	evs, err := st.Events(ctx, runID)
	if err != nil {
		return nil, err
	}
	return ingest.DropDuplicateAlerts(evs), nil
}

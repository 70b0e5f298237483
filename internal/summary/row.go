package summary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// Row is a run as a list of runs gives it: each element of `runlog ls
// --json` and of GET /api/v1/runs (RunRow in docs/api/openapi.yaml). Both
// print this one type, so that a script reads the same keys from either.
// Every key is always present; what a run lacks is null, "" or {}.
type Row struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Project    string          `json:"project"`
	Group      string          `json:"group"`
	Tags       []string        `json:"tags"`
	Status     string          `json:"status"`
	ExitCode   *int            `json:"exit_code"`
	Host       string          `json:"host"`
	Start      Time            `json:"start_time"`
	End        Time            `json:"end_time"` // null while running
	Last       Time            `json:"last_time"`
	LastStep   *int64          `json:"last_step"` // null before the first step
	Wallclock  float64         `json:"wallclock_time"`
	Active     float64         `json:"active_time"`
	TrainLoss  *Point          `json:"train_loss"`
	ValLoss    *Point          `json:"val_loss"`
	Hypothesis string          `json:"hypothesis"`
	Archived   bool            `json:"archived"` // hidden from default listings
	Path       string          `json:"path"`
	Config     json.RawMessage `json:"config"`
	Summary    json.RawMessage `json:"summary"` // the values the run set
	// Metrics holds the final value of each series of the run: of all of
	// them, unless MoreMetrics says the run has more than RowSeriesLimit.
	Metrics map[string]runfmt.Float `json:"metrics"`
	// MoreMetrics is true when Metrics holds only the loss series and the
	// first RowSeriesLimit series by key.
	MoreMetrics bool `json:"more_metrics,omitempty"`
	// Best holds the best value of each series in Metrics that has one:
	// the lowest of a loss or a series whose goal is to minimize, the
	// highest of one whose goal is to maximize (series.BestGoal).
	Best map[string]runfmt.Float `json:"best"`
}

// RowSeriesLimit bounds the series a row carries the final values of, so
// that listing a run that logged a million keys costs what listing any
// other run does.
const RowSeriesLimit = 200

// RowSeries returns the series of run id whose final values its row
// carries — its loss series and the first RowSeriesLimit by key — and
// whether it has more.
func RowSeries(ctx context.Context, st store.Store, id string) ([]store.Series, bool, error) {
	ser, more, err := RowsSeries(ctx, st, []string{id})
	return ser[id], more[id], err
}

// RowsSeries is RowSeries of many runs, in as few queries as the store
// can.
func RowsSeries(ctx context.Context, st store.Store, ids []string) (map[string][]store.Series, map[string]bool, error) {
	first, more, err := st.FirstSeries(ctx, ids, RowSeriesLimit)
	if err != nil {
		return nil, nil, err
	}
	lossKeys := append(slices.Clone(series.TrainLossKeys), series.ValLossKeys...)
	for id := range more {
		// The losses the row shows on their own, wherever they sort.
		loss, _, err := st.FindSeries(ctx, id, store.SeriesQuery{Keys: lossKeys})
		if err != nil {
			return nil, nil, err
		}
		ser := first[id]
		for _, l := range loss {
			if l.Key > ser[len(ser)-1].Key {
				ser = append(ser, l)
			}
		}
		first[id] = ser
	}
	return first, more, nil
}

// Point is a value of a series at a step.
type Point struct {
	Step  int64        `json:"step"`
	Value runfmt.Float `json:"value"`
}

// NewRow returns the row of run r as listed at time now, with the final
// values of its series ser. r must hold its config and summary: Store.Run
// fills both, Store.Runs leaves the summary out.
func NewRow(r *store.Run, ser []store.Series, now time.Time) Row {
	row := Row{
		ID: r.ID, Name: r.Name, Project: r.Project, Group: r.Group, Tags: r.Tags, Status: Status(r, now),
		ExitCode: r.ExitCode, Host: r.Host, Start: Time(r.Start), End: Time(r.End), Last: Time(r.Last),
		Wallclock: round3(r.Wallclock()), Active: round3(r.Active), TrainLoss: pointOf(r.TrainLoss),
		ValLoss: pointOf(r.ValLoss), Hypothesis: r.Hypothesis, Archived: r.Archived, Path: r.Path, Config: r.Config, Summary: r.Summary,
		Metrics: make(map[string]runfmt.Float, len(ser)), Best: map[string]runfmt.Float{},
	}
	if row.Tags == nil {
		row.Tags = []string{}
	}
	if r.MaxStep >= 0 {
		step := r.MaxStep
		row.LastStep = &step
	}
	if len(row.Config) == 0 {
		row.Config = json.RawMessage("{}")
	}
	if len(row.Summary) == 0 {
		row.Summary = json.RawMessage("{}")
	}
	for _, sr := range ser {
		if sr.Stats.Count == 0 {
			continue
		}
		row.Metrics[sr.Key] = runfmt.Float(sr.Stats.Last.Value)
		if !sr.Stats.HasExtremes() {
			continue
		}
		switch series.BestGoal(sr.Key, sr.Goal) {
		case runfmt.GoalMinimize:
			row.Best[sr.Key] = runfmt.Float(sr.Stats.Min.Value)
		case runfmt.GoalMaximize:
			row.Best[sr.Key] = runfmt.Float(sr.Stats.Max.Value)
		}
	}
	return row
}

func pointOf(p *series.Point) *Point {
	if p == nil {
		return nil
	}
	return &Point{p.Step, runfmt.Float(p.Value)}
}

// Time is a time in unix seconds whose JSON is the RFC 3339 string of
// summary.json, in UTC to the millisecond ("2025-11-27T08:00:00.000Z"),
// or null for zero. Such strings sort as the times do.
type Time float64

// MarshalJSON writes t as an RFC 3339 string, or null for zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t <= 0 {
		return []byte("null"), nil
	}
	return json.Marshal(formatTime(float64(t)))
}

// UnmarshalJSON reads an RFC 3339 string or null.
func (t *Time) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*t = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	if s == "" {
		*t = 0
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time: %w", err)
	}
	*t = Time(float64(v.UnixMicro()) / 1e6)
	return nil
}

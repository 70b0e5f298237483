package summary

import (
	"math"
	"testing"
	"time"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/series"
	"github.com/runlog/runlog/internal/store"
)

// testStart is when the test runs started: 2025-11-27 00:00 UTC.
const testStart = 1764201600.0

func atSec(sec float64) time.Time { return unix(testStart + sec) }

func TestStatus(t *testing.T) {
	t.Parallel()
	stale := StaleAfter.Seconds()
	for _, tc := range []struct {
		name   string
		status string
		last   float64 // seconds after testStart
		now    float64 // seconds after testStart
		want   string
	}{
		{"running, fresh heartbeat", runfmt.StatusRunning, 10, 20, runfmt.StatusRunning},
		{"running, heartbeat exactly StaleAfter old", runfmt.StatusRunning, 10, 10 + stale, runfmt.StatusRunning},
		{"running, heartbeat just over StaleAfter old", runfmt.StatusRunning, 10, 10 + stale + 0.001, runfmt.StatusCrashed},
		{"running, heartbeat an hour old", runfmt.StatusRunning, 10, 3600, runfmt.StatusCrashed},
		{"running, clock behind the heartbeat", runfmt.StatusRunning, 10, 0, runfmt.StatusRunning},
		{"finished long ago", runfmt.StatusFinished, 10, 1e6, runfmt.StatusFinished},
		{"failed long ago", runfmt.StatusFailed, 10, 1e6, runfmt.StatusFailed},
		{"killed long ago", runfmt.StatusKilled, 10, 1e6, runfmt.StatusKilled},
		{"crashed as stored", runfmt.StatusCrashed, 10, 20, runfmt.StatusCrashed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := store.Run{Status: tc.status, Start: testStart, Last: testStart + tc.last}
			if got := Status(&r, atSec(tc.now)); got != tc.want {
				t.Errorf("Status = %q, want %q", got, tc.want)
			}
		})
	}
}

// seriesStats returns the statistics of points logged at steps 0, 1, … with the
// given values.
func seriesStats(values ...float64) series.Stats {
	var st series.Stats
	for i, v := range values {
		st.Add(int64(i), int64(testStart*1000)+int64(i)*1000, v)
	}
	return st
}

func TestBuild(t *testing.T) {
	t.Parallel()
	step := func(s int64) *int64 { return &s }
	ckpt := func(s int64, meta map[string]any) store.Artifact {
		return store.Artifact{Artifact: runfmt.Artifact{Path: "ckpt", Kind: runfmt.KindCheckpoint, Step: step(s), Size: 10, Metadata: meta}}
	}
	base := store.Run{ID: "abc", Name: "n", Project: "p", Status: runfmt.StatusFinished, Start: testStart, End: testStart + 60, Last: testStart + 60,
		MaxStep: 3, Active: 30, Segments: 2, Summary: []byte(`{"train_loss": "user", "extra": 1}`)}
	train := store.Series{Key: "train_loss", Stats: seriesStats(4, 3, 2, 1)}
	for _, tc := range []struct {
		name      string
		ser       []store.Series
		arts      []store.Artifact
		wantBest  string  // key of the best checkpoint's score, "" for none
		wantValue float64 // its value
		wantStep  int64   // its step
		wantVal   bool    // whether metrics holds val_loss with a best value
	}{
		{name: "no validation loss, no checkpoints", ser: []store.Series{train}},
		{name: "no validation loss, checkpoints without scores", ser: []store.Series{train},
			arts: []store.Artifact{ckpt(1, nil), ckpt(3, nil)}},
		{name: "validation loss, best checkpoint by step", wantVal: true,
			ser:  []store.Series{train, {Key: "val_loss", Stats: seriesStats(5, 2, 3, 4)}},
			arts: []store.Artifact{ckpt(1, nil), ckpt(3, nil)}, wantBest: "val_loss", wantValue: 2, wantStep: 1},
		{name: "validation loss, best checkpoint by its metadata", wantVal: true,
			ser:      []store.Series{train, {Key: "val_loss", Stats: seriesStats(5, 2, 3, 4)}},
			arts:     []store.Artifact{ckpt(1, map[string]any{"val_loss": 2.5}), ckpt(3, map[string]any{"val_loss": 1.5})},
			wantBest: "val_loss", wantValue: 1.5, wantStep: 3},
		{name: "validation loss, no checkpoint at its best step", wantVal: true,
			ser:  []store.Series{train, {Key: "val_loss", Stats: seriesStats(5, 2, 3, 4)}},
			arts: []store.Artifact{ckpt(3, nil)}},
		{name: "validation loss all NaN", ser: []store.Series{train, {Key: "val_loss", Stats: seriesStats(math.NaN(), math.NaN())}},
			arts: []store.Artifact{ckpt(1, nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Build(base, tc.ser, tc.arts, nil, atSec(1e6))
			if s.Status != runfmt.StatusFinished || s.TotalSteps != 4 || s.Segments != 2 || s.Active != 30 || s.Wallclock != 60 || s.Elapsed != 1 {
				t.Errorf("status %q, total steps %d, segments %d, active %v, wallclock %v, elapsed %v; want finished, 4, 2, 30, 60, 1",
					s.Status, s.TotalSteps, s.Segments, s.Active, s.Wallclock, s.Elapsed)
			}
			if s.Start != "2025-11-27T00:00:00.000Z" || s.End != "2025-11-27T00:01:00.000Z" {
				t.Errorf("times %q to %q", s.Start, s.End)
			}
			if s.Values["train_loss"] != "user" || s.Values["extra"] != 1.0 {
				t.Errorf("values the run set do not win over computed ones: %v", s.Values)
			}
			if s.Checkpoints != len(tc.arts) {
				t.Errorf("%d checkpoints, want %d", s.Checkpoints, len(tc.arts))
			}
			if m := s.Metrics["train_loss"]; m.Count != 4 || m.Goal != "" || m.Best != nil || float64(m.Final) != 1 || m.FinalStep != 3 {
				t.Errorf("train_loss metric %+v", m)
			}
			v, ok := s.Metrics["val_loss"]
			if hasBest := ok && v.Best != nil; hasBest != tc.wantVal {
				t.Errorf("val_loss has a best value: %v, want %v (%+v)", hasBest, tc.wantVal, v)
			}
			if ok && v.Goal != runfmt.GoalMinimize {
				t.Errorf("val_loss goal %q, want minimize", v.Goal)
			}
			if tc.wantBest == "" {
				if s.Best != nil {
					t.Errorf("best checkpoint %+v, want none", s.Best)
				}
				return
			}
			if s.Best == nil {
				t.Fatal("no best checkpoint")
			}
			if s.Best.Key != tc.wantBest || float64(*s.Best.Value) != tc.wantValue || *s.Best.Step != tc.wantStep {
				t.Errorf("best checkpoint %s = %v at step %d, want %s = %v at step %d",
					s.Best.Key, *s.Best.Value, *s.Best.Step, tc.wantBest, tc.wantValue, tc.wantStep)
			}
		})
	}
}

func TestBuildSkipsSupersededAndCountsAlerts(t *testing.T) {
	t.Parallel()
	s1 := int64(1)
	arts := []store.Artifact{
		{Artifact: runfmt.Artifact{Path: "a", Kind: runfmt.KindCheckpoint, Step: &s1, Metadata: map[string]any{"val_loss": 0.1}}, Superseded: true},
		{Artifact: runfmt.Artifact{Path: "b", Kind: runfmt.KindCheckpoint, Step: &s1, Metadata: map[string]any{"val_loss": 0.2}}},
		{Artifact: runfmt.Artifact{Path: "c", Kind: runfmt.KindPlot}},
	}
	events := []store.Event{
		{Event: runfmt.Event{Kind: runfmt.EventAlert}},
		{Event: runfmt.Event{Kind: runfmt.EventNote}},
		{Event: runfmt.Event{Kind: runfmt.EventAlert}},
	}
	s := Build(store.Run{ID: "x", Status: runfmt.StatusRunning, Start: testStart, Last: testStart, MaxStep: -1}, nil, arts, events, atSec(1))
	if s.Checkpoints != 1 || s.Best == nil || s.Best.Path != "b" {
		t.Errorf("checkpoints %d, best %+v; want 1, b", s.Checkpoints, s.Best)
	}
	if s.Alerts != 2 {
		t.Errorf("%d alerts, want 2", s.Alerts)
	}
	if s.TotalSteps != 0 || s.End != "" || s.Status != runfmt.StatusRunning || s.Tags == nil {
		t.Errorf("total steps %d, end %q, status %q, tags %v; want 0, \"\", running, []", s.TotalSteps, s.End, s.Status, s.Tags)
	}
}

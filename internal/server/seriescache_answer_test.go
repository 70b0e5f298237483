package server

import (
	"context"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
)

// TestSeriesAnswerKeptUntilTheRunChanges asks for the same series twice,
// the second answered from the kept answer, then logs more points: the
// next answer has them.
func TestSeriesAnswerKeptUntilTheRunChanges(t *testing.T) {
	home := t.TempDir()
	log := runfmttest.New(runfmt.Header{Format: 1, ID: "live", Name: "live", Time: 1764201600})
	for step := range 10 {
		log.Point(int64(step), 1764201600+float64(step), "loss", float64(10-step))
	}
	log.WriteRun(t, home, "live")
	s, ts := newTestServer(t, home, Options{})
	url := "/api/v1/runs/live/series?keys=loss&points=0"
	total := func() int {
		t.Helper()
		a := decode[seriesAnswer](t, do(t, ts.URL, scenario{url: url}))
		return a.Series[0].Total
	}
	if n := total(); n != 10 {
		t.Fatalf("%d points, want 10", n)
	}
	if n := total(); n != 10 {
		t.Fatalf("kept answer: %d points, want 10", n)
	}
	if len(s.seriesBodies.byKey) != 1 {
		t.Fatalf("%d answers kept, want 1", len(s.seriesBodies.byKey))
	}
	for step := 10; step < 15; step++ {
		log.Point(int64(step), 1764201600+float64(step), "loss", float64(10-step))
	}
	log.WriteRun(t, home, "live")
	if _, err := s.index(context.Background(), newWarnings(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if n := total(); n != 15 {
		t.Fatalf("after the run changed: %d points, want 15 (a stale answer?)", n)
	}
}

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

// TestGroupsAnswerKeptUntilARunChanges does the same for /api/v1/groups.
func TestGroupsAnswerKeptUntilARunChanges(t *testing.T) {
	home := t.TempDir()
	log := runfmttest.New(runfmt.Header{Format: 1, ID: "g1", Name: "g1", Group: "sweep", Time: 1764201600})
	for step := range 10 {
		log.Point(int64(step), 1764201600+float64(step), "loss", float64(10-step))
	}
	log.WriteRun(t, home, "g1")
	s, ts := newTestServer(t, home, Options{})
	url := "/api/v1/groups?runs=g1&by=group&keys=loss&points=2000"
	points := func() int {
		t.Helper()
		a := decode[struct {
			Groups []struct {
				Series []struct {
					X []float64 `json:"x"`
				} `json:"series"`
			} `json:"groups"`
		}](t, do(t, ts.URL, scenario{url: url}))
		if len(a.Groups) != 1 || len(a.Groups[0].Series) != 1 {
			t.Fatalf("answer %+v", a)
		}
		return len(a.Groups[0].Series[0].X)
	}
	first := points()
	if again := points(); again != first || len(s.groupBodies.byKey) != 1 {
		t.Fatalf("kept answer: %d points (first %d), %d kept", again, first, len(s.groupBodies.byKey))
	}
	for step := 10; step < 15; step++ {
		log.Point(int64(step), 1764201600+float64(step), "loss", float64(10-step))
	}
	log.WriteRun(t, home, "g1")
	if _, err := s.index(context.Background(), newWarnings(t.Logf)); err != nil {
		t.Fatal(err)
	}
	if n := points(); n <= first {
		t.Fatalf("after the run changed: %d points, first %d (a stale answer?)", n, first)
	}
}

package server

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"testing"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/series"
)

type seriesAnswer struct {
	X      string `json:"x"`
	Series []struct {
		Key         string    `json:"key"`
		Total       int       `json:"total"`
		Downsampled bool      `json:"downsampled"`
		X           []float64 `json:"x"`
		Y           []any     `json:"y"`
		Steps       []int64   `json:"steps"`
	} `json:"series"`
}

func TestSeries(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	base := "/api/v1/runs/" + ids["sweep-a"] + "/series?"
	runScenarios(t, ts.URL, []scenario{
		{name: "all points", url: base + "keys=train_loss&points=0", check: func(t *testing.T, body []byte) {
			a := decode[seriesAnswer](t, body)
			s := a.Series[0]
			if a.X != "step" || s.Total != 1000 || s.Downsampled || len(s.X) != 1000 || len(s.Y) != 1000 || s.Steps[999] != 999 || s.X[999] != 999 {
				t.Errorf("x %s total %d down %v len %d", a.X, s.Total, s.Downsampled, len(s.X))
			}
		}},
		{name: "downsampled keeps the spike", url: base + "keys=train_loss,val_loss&points=100", check: func(t *testing.T, body []byte) {
			a := decode[seriesAnswer](t, body)
			if len(a.Series) != 2 {
				t.Fatalf("%d series", len(a.Series))
			}
			s := a.Series[0]
			if s.Total != 1000 || !s.Downsampled || len(s.X) > 110 || len(s.X) < 50 {
				t.Fatalf("total %d downsampled %v, %d points", s.Total, s.Downsampled, len(s.X))
			}
			spike := false
			for i, y := range s.Y {
				if float64(s.Steps[i]) != s.X[i] {
					t.Errorf("point %d: step %d at x %v", i, s.Steps[i], s.X[i])
				}
				if y == 50.0 && s.Steps[i] == 500 {
					spike = true
				}
			}
			if !spike {
				t.Error("the spike at step 500 was lost")
			}
			if v := a.Series[1]; v.Key != "val_loss" || v.Total != 10 || v.Downsampled {
				t.Errorf("val_loss: %+v", v)
			}
		}},
		{name: "x range", url: base + "keys=train_loss&from=100&to=199.5&points=0", check: func(t *testing.T, body []byte) {
			s := decode[seriesAnswer](t, body).Series[0]
			if s.Total != 100 || s.X[0] != 100 || s.X[99] != 199 {
				t.Errorf("range: total %d, first %v, last %v", s.Total, s.X[0], s.X[len(s.X)-1])
			}
		}},
		{name: "wallclock axis", url: base + "keys=train_loss&x=wallclock&points=0", check: func(t *testing.T, body []byte) {
			a := decode[seriesAnswer](t, body)
			s := a.Series[0]
			if a.X != "wallclock" || s.X[0] < 0 || s.X[0] > 5 || s.Steps[0] != 0 {
				t.Errorf("wallclock: %v, first x %v", a.X, s.X[0])
			}
		}},
		{name: "time axis", url: base + "keys=train_loss&x=time&points=10", check: func(t *testing.T, body []byte) {
			s := decode[seriesAnswer](t, body).Series[0]
			if s.X[0] < 1.7e9 || !s.Downsampled {
				t.Errorf("time axis: first x %v", s.X[0])
			}
		}},
		{name: "active axis", url: base + "keys=train_loss&x=active&points=0", contains: []string{`"x":"active"`}},
		{name: "non-finite values", url: "/api/v1/runs/" + fixtureBasic + "/series?keys=" + url.QueryEscape("train_loss,val/perplexity (ünïcode)"),
			contains: []string{`"NaN"`, `"-Infinity"`, `"key":"val/perplexity (ünïcode)"`}},
		{name: "key with a comma, and a missing key", url: base + "key=" + url.QueryEscape("a,b") + "&keys=train_loss&points=1",
			check: func(t *testing.T, body []byte) {
				a := decode[seriesAnswer](t, body)
				if a.Series[0].Key != "train_loss" || a.Series[1].Key != "a,b" || a.Series[1].Total != 0 {
					t.Errorf("%+v", a.Series)
				}
			}},
		{name: "no such series", url: base + "keys=nothing", status: 200,
			check: func(t *testing.T, body []byte) {
				if a := decode[seriesAnswer](t, body); len(a.Series) != 1 || a.Series[0].Total != 0 {
					t.Errorf("a key the run did not log: %s", body)
				}
			}},
		{name: "no keys", url: base, status: 400},
		{name: "bad axis", url: base + "keys=train_loss&x=epoch", status: 400},
		{name: "bad range", url: base + "keys=train_loss&from=abc", status: 400},
		{name: "unknown run", url: "/api/v1/runs/nope/series?keys=train_loss", status: 404},
	})
}

func TestSeriesCacheFollowsChanges(t *testing.T) {
	home, ids := seedHome(t)
	s, ts := newTestServer(t, home, Options{})
	url := "/api/v1/runs/" + ids["sweep-a"] + "/series?keys=train_loss&points=0"
	first := decode[seriesAnswer](t, do(t, ts.URL, scenario{url: url})).Series[0]
	if first.Total != 1000 {
		t.Fatalf("total %d", first.Total)
	}
	s.gens.mu.Lock()
	s.gens.gen[ids["sweep-a"]]++ // as the indexer does when the run changes
	s.gens.mu.Unlock()
	s.series.mu.Lock()
	entries := s.series.lru.Len()
	s.series.mu.Unlock()
	again := decode[seriesAnswer](t, do(t, ts.URL, scenario{url: url})).Series[0]
	if again.Total != 1000 || entries != 1 {
		t.Fatalf("after a change: total %d, %d cache entries", again.Total, entries)
	}
	s.series.mu.Lock()
	defer s.series.mu.Unlock()
	if s.series.lru.Len() != 1 || s.series.size <= 0 {
		t.Errorf("cache: %d entries, %d bytes", s.series.lru.Len(), s.series.size)
	}
}

func TestSeriesCacheEvicts(t *testing.T) {
	c := newSeriesCache(1000)
	for i := range 5 {
		e := &seriesEntry{key: seriesKey{"r", string(rune('a' + i))}, size: 400}
		c.mu.Lock()
		c.byKey[e.key] = c.lru.PushFront(e)
		c.size += e.size
		c.evictLocked()
		c.mu.Unlock()
	}
	if c.lru.Len() != 2 || c.size != 800 {
		t.Errorf("%d entries, %d bytes; want the 2 newest", c.lru.Len(), c.size)
	}
	if _, ok := c.byKey[seriesKey{"r", "e"}]; !ok {
		t.Error("the newest entry was evicted")
	}
}

func TestStepsOf(t *testing.T) {
	xs := []float64{0, 1, 1, 2, 3}
	ys := []float64{5, math.NaN(), 7, 7, 1}
	steps := []int64{10, 11, 12, 13, 14}
	got := stepsOf(xs, ys, steps, []float64{0, 1, 2, 3}, []float64{5, math.NaN(), 7, 1})
	want := []int64{10, 11, 13, 14}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("stepsOf = %v, want %v", got, want)
		}
	}
}

// BenchmarkSeries measures the series endpoint on a 1 M-point series asked
// for 2,000 points: cold (decoding the series) and from the cache.
func BenchmarkSeries(b *testing.B) {
	home := b.TempDir()
	r, err := runlog.Init(runlog.Options{Home: home, DisableGit: true, URL: "-"})
	if err != nil {
		b.Fatal(err)
	}
	for step := range int64(1_000_000) {
		r.LogStep(step, map[string]float64{"train_loss": math.Sin(float64(step) / 1000)})
	}
	r.Finish(0)
	s, ts := newTestServer(b, home, Options{})
	u := ts.URL + "/api/v1/runs/" + r.ID() + "/series?keys=train_loss&points=2000"
	get := func() {
		resp, err := http.Get(u)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.Status)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			s.series.mu.Lock()
			s.series.lru.Init()
			clear(s.series.byKey)
			s.series.size = 0
			s.series.mu.Unlock()
			get()
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			get()
		}
	})
}

func TestSeriesCacheRefreshedWhenARunChanges(t *testing.T) {
	home, ids := seedHome(t)
	s, ts := newTestServer(t, home, Options{})
	id := ids["sweep-a"]
	do(t, ts.URL, scenario{url: "/api/v1/runs/" + id + "/series?keys=train_loss&x=wallclock"})
	s.gens.mu.Lock()
	s.gens.gen[id]++
	s.gens.mu.Unlock()
	s.series.refresh(context.Background(), s.db, []string{id}, s.gens.of)
	s.series.mu.Lock()
	defer s.series.mu.Unlock()
	el, ok := s.series.byKey[seriesKey{id, "train_loss"}]
	if !ok {
		t.Fatal("the entry is gone")
	}
	e := el.Value.(*seriesEntry)
	if e.gen != s.gens.of(id) || e.axes[series.AxisWallclock] == nil {
		t.Errorf("after refresh: generation %d (want %d), axes %v", e.gen, s.gens.of(id), e.axes)
	}
}

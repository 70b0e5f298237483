package server

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/runfmt/runfmttest"
	"github.com/runlog/runlog/internal/summary"
)

// TestManyKeys browses a run with more series than a page holds: the run
// detail lists a page of them with series_more, pages on with
// series_after and searches with series_q; its row in the list carries a
// bounded number of final values, and a query or sort still reaches any
// series.
func TestManyKeys(t *testing.T) {
	home := t.TempDir()
	const n = 2500
	key := func(i int) string { return fmt.Sprintf("layer%04d/grad_norm", i) }
	log := runfmttest.New(runfmt.Header{Format: 1, ID: "many", Name: "many", Time: 1764201600})
	for step := range 2 {
		values := map[string]float64{"train_loss": 2 - float64(step), "zz_val_loss": 1}
		for i := range n {
			values[key(i)] = float64(i*10 + step)
		}
		log.Metrics(int64(step), 1764201600+float64(step), values)
	}
	log.Finish(1764201610).WriteRun(t, home, "many")
	// Newer, so that it would come first if the sort could not see the
	// big run's series.
	runfmttest.New(runfmt.Header{Format: 1, ID: "small", Name: "small", Time: 1764201700}).
		Point(0, 1764201700, "train_loss", 3.0).Finish(1764201701).WriteRun(t, home, "small")
	_, ts := newTestServer(t, home, Options{})

	type detail struct {
		Series []struct {
			Key   string `json:"key"`
			Count int64  `json:"count"`
		} `json:"series"`
		SeriesMore bool           `json:"series_more"`
		Metrics    map[string]any `json:"metrics"`
	}
	keysOf := func(d detail) []string {
		var out []string
		for _, s := range d.Series {
			out = append(out, s.Key)
		}
		return out
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "first page", url: "/api/v1/runs/many", check: func(t *testing.T, body []byte) {
			d := decode[detail](t, body)
			if len(d.Series) != 1000 || !d.SeriesMore || d.Series[0].Key != key(0) || d.Series[0].Count != 2 {
				t.Errorf("%d series from %q, more %v", len(d.Series), keysOf(d)[:1], d.SeriesMore)
			}
			if _, ok := d.Metrics["train_loss"]; !ok {
				t.Errorf("the summary lacks the train loss, which sorts after the page: %v", len(d.Metrics))
			}
		}},
		{name: "last page", url: "/api/v1/runs/many?series_limit=1000&series_after=" + url.QueryEscape(key(1999)), check: func(t *testing.T, body []byte) {
			d := decode[detail](t, body)
			ks := keysOf(d)
			if len(ks) != 502 || d.SeriesMore || ks[0] != key(2000) || ks[len(ks)-1] != "zz_val_loss" {
				t.Errorf("%d series, more %v, from %v", len(ks), d.SeriesMore, ks[:1])
			}
		}},
		{name: "search", url: "/api/v1/runs/many?series_q=LAYER012", check: func(t *testing.T, body []byte) {
			d := decode[detail](t, body)
			if ks := keysOf(d); len(ks) != 10 || ks[0] != key(120) || d.SeriesMore {
				t.Errorf("search found %v, more %v", ks, d.SeriesMore)
			}
		}},
		{name: "series_limit is bounded", url: "/api/v1/runs/many?series_limit=100000", status: 400, contains: []string{"series_limit"}},
		{name: "the row carries a bounded number of metrics", url: "/api/v1/runs?q=" + url.QueryEscape("name = many"), check: func(t *testing.T, body []byte) {
			a := decode[struct {
				Runs []struct {
					Metrics     map[string]any `json:"metrics"`
					MoreMetrics bool           `json:"more_metrics"`
				} `json:"runs"`
				SummaryKeys []string `json:"summary_keys"`
			}](t, body)
			if len(a.Runs) != 1 {
				t.Fatalf("%d runs", len(a.Runs))
			}
			r := a.Runs[0]
			if !r.MoreMetrics || len(r.Metrics) > summary.RowSeriesLimit+2 || r.Metrics["train_loss"] == nil {
				t.Errorf("%d metrics, more %v, train_loss %v", len(r.Metrics), r.MoreMetrics, r.Metrics["train_loss"])
			}
			if len(a.SummaryKeys) > summary.RowSeriesLimit+2 {
				t.Errorf("%d summary keys", len(a.SummaryKeys))
			}
		}},
		{name: "a query reaches a series past the row's", url: "/api/v1/runs?q=" + url.QueryEscape(`summary.layer2400/grad_norm > 24000`), check: func(t *testing.T, body []byte) {
			a := decode[runsAnswer](t, body)
			if names(a) != "many" {
				t.Errorf("runs %q", names(a))
			}
		}},
		{name: "a sort reaches it too", url: "/api/v1/runs?order=asc&sort=" + url.QueryEscape("metric.layer2400/grad_norm.max"), check: func(t *testing.T, body []byte) {
			a := decode[runsAnswer](t, body)
			if !strings.HasPrefix(names(a), "many,") {
				t.Errorf("runs %q: the run with the series comes first", names(a))
			}
		}},
	})
}

package server

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type runsAnswer struct {
	Runs []struct {
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Status    string          `json:"status"`
		LastStep  *int64          `json:"last_step"`
		Config    json.RawMessage `json:"config"`
		Summary   map[string]any  `json:"summary"`
		Metrics   map[string]any  `json:"metrics"`
		TrainLoss *struct {
			Step  int64 `json:"step"`
			Value any   `json:"value"`
		} `json:"train_loss"`
	} `json:"runs"`
	Total       int      `json:"total"`
	ConfigKeys  []string `json:"config_keys"`
	SummaryKeys []string `json:"summary_keys"`
}

func names(a runsAnswer) string {
	var out []string
	for _, r := range a.Runs {
		out = append(out, r.Name)
	}
	return strings.Join(out, ",")
}

func TestListRuns(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	q := func(s string) string { return "/api/v1/runs?q=" + url.QueryEscape(s) }
	want := func(total int, list string) func(*testing.T, []byte) {
		return func(t *testing.T, body []byte) {
			a := decode[runsAnswer](t, body)
			if a.Total != total || names(a) != list {
				t.Errorf("total %d, runs %q; want %d, %q", a.Total, names(a), total, list)
			}
		}
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "all, newest first", url: "/api/v1/runs", check: func(t *testing.T, body []byte) {
			a := decode[runsAnswer](t, body)
			if a.Total != 4 || len(a.Runs) != 4 || a.Runs[0].Name != xssName || a.Runs[1].Name != "sweep-a" {
				t.Errorf("runs %q", names(a))
			}
			if !strings.Contains(strings.Join(a.ConfigKeys, " "), "model.d") || !strings.Contains(strings.Join(a.SummaryKeys, " "), "final_note") ||
				slices.Contains(a.ConfigKeys, "") {
				t.Errorf("keys %v %v", a.ConfigKeys, a.SummaryKeys)
			}
			for _, r := range a.Runs {
				if r.ID == fixtureBasic && (r.Metrics["tokens_per_sec"] != 1.7976931348623157e308 || r.Metrics["train_loss"] != "-Infinity") {
					t.Errorf("final values of the basic fixture: %v", r.Metrics)
				}
				if r.ID == fixtureBasic && (r.Status != "failed" || r.TrainLoss == nil || r.TrainLoss.Value != "-Infinity") {
					t.Errorf("fixture run: %+v", r)
				}
			}
		}},
		{name: "project", url: "/api/v1/runs?project=tinystories", check: want(2, "baseline-17m,resumed")},
		{name: "status", url: "/api/v1/runs?status=failed", check: want(1, "baseline-17m")},
		{name: "bad status", url: "/api/v1/runs?status=done", status: 400},
		{name: "tag", url: "/api/v1/runs?tag=good", check: want(1, "sweep-a")},
		{name: "name substring", url: "/api/v1/runs?name=SWEEP", check: want(1, "sweep-a")},
		{name: "config condition", url: q("config.lr > 1e-3 and project = sweep"), check: want(1, "sweep-a")},
		{name: "nested config", url: q("config.model.d = 64"), check: want(1, "sweep-a")},
		{name: "summary set", url: q("summary.final_note = ok"), check: want(1, "sweep-a")},
		{name: "summary falls back to the final value", url: q("summary.train_loss < 2 and summary.train_loss > 0"), check: want(1, "sweep-a")},
		{name: "metric stat", url: q("metric.train_loss.max >= 50"), check: want(1, "sweep-a")},
		{name: "metric best", url: q("metric.val_loss.best < 1.5"), check: want(1, "sweep-a")},
		{name: "bare word", url: q("baseline"), check: want(1, "baseline-17m")},
		{name: "quoted value", url: q(`name = "sweep-a"`), check: want(1, "sweep-a")},
		{name: "tag condition", url: q("tag = good and status != failed"), check: want(1, "sweep-a")},
		{name: "substring", url: q("name ~ SWE"), check: want(1, "sweep-a")},
		{name: "unknown field", url: q("colour = red"), status: 400, contains: []string{"unknown field"}},
		{name: "bad operator", url: q("config.lr => 1"), status: 400},
		{name: "sort by config ascending", url: "/api/v1/runs?sort=config.lr&order=asc&q=project%3Dsweep", check: want(2, xssName+",sweep-a")},
		{name: "sort by summary descending", url: "/api/v1/runs?sort=summary.train_loss&q=project%3Dsweep", check: want(2, xssName+",sweep-a")},
		{name: "sort by last step, missing last", url: "/api/v1/runs?sort=last_step&order=asc", check: func(t *testing.T, body []byte) {
			a := decode[runsAnswer](t, body)
			for i := 1; i < len(a.Runs); i++ {
				if a.Runs[i-1].LastStep != nil && a.Runs[i].LastStep != nil && *a.Runs[i-1].LastStep > *a.Runs[i].LastStep {
					t.Errorf("not ascending: %q", names(a))
				}
			}
		}},
		{name: "pagination", url: "/api/v1/runs?limit=1&offset=1", check: want(4, "sweep-a")},
		{name: "limit over the maximum", url: "/api/v1/runs?limit=10001", status: 400},
		{name: "html in names and notes is JSON text", url: "/api/v1/runs?q=project%3Dsweep",
			contains: []string{`\u003cimg src=x onerror=alert(1)\u003e`, `\u003ci\u003eh\u003c/i\u003e`, `\u003cimg src=y\u003e`},
			absent:   []string{"<img", "<i>", "<b>"}},
	})
	_ = ids
}

func TestGetRun(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	type detail struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Notes    string `json:"notes"`
		Status   string `json:"status"`
		Path     string `json:"path"`
		Segments []any  `json:"segments"`
		Series   []struct {
			Key   string `json:"key"`
			Count int64  `json:"count"`
		} `json:"series"`
		Artifacts []struct {
			Path       string `json:"path"`
			Superseded bool   `json:"superseded"`
		} `json:"artifacts"`
		Events  []map[string]any          `json:"events"`
		Metrics map[string]map[string]any `json:"metrics"`
		Config  map[string]any            `json:"config"`
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "by id", url: "/api/v1/runs/" + ids["sweep-a"], check: func(t *testing.T, body []byte) {
			d := decode[detail](t, body)
			if d.ID != ids["sweep-a"] || d.Status != "finished" || len(d.Series) != 2 || d.Series[0].Key != "train_loss" ||
				d.Series[0].Count != 1000 || len(d.Artifacts) != 1 || len(d.Segments) != 1 || d.Config["lr"] != 0.01 {
				t.Errorf("detail %+v", d)
			}
		}},
		{name: "by name", url: "/api/v1/runs/sweep-a", contains: []string{`"name":"sweep-a"`}},
		{name: "by prefix", url: "/api/v1/runs/k3v9", contains: []string{`"id":"k3v9x2ab"`, `"best_checkpoint"`, `"alerts":1`}},
		{name: "non-finite values", url: "/api/v1/runs/" + fixtureBasic, contains: []string{`"NaN"`, `"-Infinity"`}},
		{name: "resumed run", url: "/api/v1/runs/" + fixtureResume, check: func(t *testing.T, body []byte) {
			d := decode[detail](t, body)
			if len(d.Segments) != 2 {
				t.Errorf("segments %v", d.Segments)
			}
		}},
		{name: "html stays text", url: "/api/v1/runs/" + ids["xss"], check: func(t *testing.T, body []byte) {
			d := decode[detail](t, body)
			if d.Name != xssName || d.Notes != xssNotes {
				t.Errorf("name %q notes %q", d.Name, d.Notes)
			}
		}, absent: []string{"<img", "<script"}},
		{name: "unknown", url: "/api/v1/runs/nosuchrun", status: 404, contains: []string{`"error"`}},
	})
}

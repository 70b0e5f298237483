package server

import (
	"net/url"
	"testing"
)

func TestCompare(t *testing.T) {
	home, ids := seedHome(t)
	_, ts := newTestServer(t, home, Options{})
	type answer struct {
		Baseline string `json:"baseline"`
		Runs     []struct {
			ID       string `json:"id"`
			Baseline bool   `json:"baseline"`
		} `json:"runs"`
		Config []struct {
			Key string `json:"key"`
		} `json:"config_diff"`
	}
	runs := "runs=" + ids["sweep-a"] + "," + ids["xss"]
	runScenarios(t, ts.URL, []scenario{
		{name: "two runs", url: "/api/v1/compare?" + runs, check: func(t *testing.T, body []byte) {
			a := decode[answer](t, body)
			if a.Baseline != ids["sweep-a"] || len(a.Runs) != 2 || !a.Runs[0].Baseline || len(a.Config) == 0 {
				t.Errorf("%+v", a)
			}
		}, absent: []string{"<img"}, contains: []string{`\u003cimg src=x`}},
		{name: "targets and values at", url: "/api/v1/compare?" + runs + "&target=" + url.QueryEscape("train_loss=2") + "&at_time=1s&at_step=10&smooth=0",
			contains: []string{`"targets":[{"key":"train_loss"`, `"at_step":[{"step":10`}},
		{name: "by name, repeated", url: "/api/v1/compare?runs=sweep-a&runs=sweep-a", contains: []string{`"baseline":"` + ids["sweep-a"]}},
		{name: "no runs", url: "/api/v1/compare", status: 400},
		{name: "bad target", url: "/api/v1/compare?" + runs + "&target=nothing", status: 400},
		{name: "bad smoothing", url: "/api/v1/compare?" + runs + "&smooth=1", status: 400},
		{name: "bad step", url: "/api/v1/compare?" + runs + "&at_step=-1", status: 400},
		{name: "unknown run", url: "/api/v1/compare?runs=nope", status: 404},
	})
}

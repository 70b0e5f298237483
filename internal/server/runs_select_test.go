package server

import (
	"fmt"
	"slices"
	"testing"

	"github.com/runlog/runlog"
)

// runsSelectAnswer is what the runs table's project picker and its
// select-all read from GET /api/v1/runs.
type runsSelectAnswer struct {
	Runs     []struct{ ID, Name, Group string } `json:"runs"`
	IDs      []string                           `json:"ids"`
	Total    int                                `json:"total"`
	Projects []projectCount                     `json:"projects"`
}

func TestListRunsProjectsAndIDs(t *testing.T) {
	home, ids := seedHome(t)
	for i, lr := range []float64{1e-3, 3e-3, 1e-2} {
		r, err := runlog.Init(runlog.Options{Home: home, Project: "vision", Name: fmt.Sprintf("lr-%d", i), Group: "lrsweep",
			Config: map[string]any{"lr": lr, "sweep": map[string]any{"name": "lrsweep", "member": i}}, DisableGit: true, URL: "-"})
		if err != nil {
			t.Fatal(err)
		}
		r.LogStep(0, map[string]float64{"train_loss": 3 - float64(i)})
		if err := r.Finish(0); err != nil {
			t.Fatal(err)
		}
		ids[fmt.Sprintf("lr-%d", i)] = r.ID()
	}
	_, ts := newTestServer(t, home, Options{})
	allProjects := []projectCount{{"sweep", 2}, {"tinystories", 2}, {"vision", 3}}
	projects := func(t *testing.T, a runsSelectAnswer) {
		if !slices.Equal(a.Projects, allProjects) {
			t.Errorf("projects %v, want %v", a.Projects, allProjects)
		}
	}
	runScenarios(t, ts.URL, []scenario{
		{name: "every project, counted", url: "/api/v1/runs?limit=1", check: func(t *testing.T, body []byte) {
			a := decode[runsSelectAnswer](t, body)
			projects(t, a)
			if a.Total != 7 || len(a.Runs) != 1 || a.IDs != nil {
				t.Errorf("total %d, %d rows, ids %v", a.Total, len(a.Runs), a.IDs)
			}
		}},
		{name: "one project still lists them all", url: "/api/v1/runs?project=vision&q=config.lr+>+2e-3", check: func(t *testing.T, body []byte) {
			a := decode[runsSelectAnswer](t, body)
			projects(t, a)
			if a.Total != 2 || a.Runs[0].Group != "lrsweep" {
				t.Errorf("total %d, runs %+v", a.Total, a.Runs)
			}
		}},
		{name: "ids of every match, past limit and offset, in order", url: "/api/v1/runs?ids_only=1&project=vision&sort=name&order=desc&limit=1&offset=1", check: func(t *testing.T, body []byte) {
			a := decode[runsSelectAnswer](t, body)
			projects(t, a)
			want := []string{ids["lr-2"], ids["lr-1"], ids["lr-0"]}
			if !slices.Equal(a.IDs, want) || a.Total != 3 || len(a.Runs) != 0 {
				t.Errorf("ids %v, total %d, %d rows; want %v", a.IDs, a.Total, len(a.Runs), want)
			}
		}},
		{name: "a group's runs", url: "/api/v1/runs?ids_only=1&group=lrsweep&sort=name&order=asc", check: func(t *testing.T, body []byte) {
			a := decode[runsSelectAnswer](t, body)
			if want := []string{ids["lr-0"], ids["lr-1"], ids["lr-2"]}; !slices.Equal(a.IDs, want) {
				t.Errorf("ids %v, want %v", a.IDs, want)
			}
		}},
		{name: "an unknown group matches none", url: "/api/v1/runs?group=nope", check: func(t *testing.T, body []byte) {
			if a := decode[runsSelectAnswer](t, body); a.Total != 0 || len(a.Runs) != 0 {
				t.Errorf("total %d", a.Total)
			}
		}},
		{name: "bad ids_only", url: "/api/v1/runs?ids_only=yes", status: 400},
	})
}
